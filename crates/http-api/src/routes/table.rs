//! The registered endpoints as data: one list drives the actix registration, the auth
//! middleware's route lookup (which runs before actix routes), the 404/405 fallback, the metrics'
//! route label and the tests that check the OpenAPI document and the scope table.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{guard, web, FromRequest, Handler, Resource, Responder, Route};

use crate::errors::ApiError;

/// One method on one path, with its handler.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    /// Whether HEAD is answered like this GET. False for a GET that changes state (the
    /// rotation, a new protocol): a monitor or link checker sending HEAD must not consume a
    /// turn or a number, so HEAD there is a 405.
    pub head: bool,
    route: Route,
}

impl Endpoint {
    /// `handler` answers `method` on `path` (a GET endpoint also answers HEAD).
    pub fn new<F, Args>(method: Method, path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let head = method == Method::GET;
        Self::build(method, path, head, handler)
    }

    /// A GET endpoint that changes state: `handler` answers GET on `path`, and HEAD is a 405.
    pub fn changing_state<F, Args>(path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::build(Method::GET, path, false, handler)
    }

    fn build<F, Args>(method: Method, path: &'static str, head: bool, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::route()
            .guard(method_guard(method.clone(), head))
            .to(handler);
        Self {
            method,
            path,
            head,
            route,
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Whether a request's method is `method` (HEAD counts as GET, as in Starlette, where `head`).
fn answers(method: &Method, head: bool, requested: &Method) -> bool {
    requested == method || (head && *requested == Method::HEAD && *method == Method::GET)
}

fn method_guard(method: Method, head: bool) -> impl guard::Guard {
    guard::fn_guard(move |ctx| answers(&method, head, &ctx.head().method))
}

/// The answer to HEAD on a GET that changes state.
async fn refuse_head() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        allowed: vec![Method::GET],
    })
}

/// Groups endpoints into actix resources, one per path, in the order of first appearance. Each
/// resource is guarded by its methods, so a request whose method a resource does not answer
/// falls through to later resources with a matching path (Starlette's behaviour: `PUT
/// /consultor/da-vez` reaches `PUT /consultor/{consultor_id}`), and finally to the fallback,
/// which answers 405 or 404.
///
/// A resource whose GET changes state keeps HEAD for itself and answers it 405, so HEAD never
/// falls through to a later pattern (`HEAD /consultor/da-vez` is not `GET /consultor/{id}`).
pub fn resources(endpoints: Vec<Endpoint>) -> Vec<Resource> {
    let mut groups: Vec<(&'static str, Vec<Method>, bool, Vec<Route>)> = Vec::new();
    for endpoint in endpoints {
        let refuses_head = endpoint.method == Method::GET && !endpoint.head;
        match groups
            .iter_mut()
            .find(|(path, _, _, _)| *path == endpoint.path)
        {
            Some((_, methods, refuses, routes)) => {
                methods.push(endpoint.method);
                *refuses |= refuses_head;
                routes.push(endpoint.route);
            }
            None => groups.push((
                endpoint.path,
                vec![endpoint.method],
                refuses_head,
                vec![endpoint.route],
            )),
        }
    }
    groups
        .into_iter()
        .map(|(path, methods, refuses_head, mut routes)| {
            if refuses_head {
                routes.push(web::route().guard(guard::Head()).to(refuse_head));
            }
            let resource = web::resource(path).guard(guard::fn_guard(move |ctx| {
                let requested = &ctx.head().method;
                methods
                    .iter()
                    .any(|method| answers(method, method == Method::GET, requested))
            }));
            routes
                .into_iter()
                .fold(resource, |resource, route| resource.route(route))
        })
        .collect()
}

/// The endpoints' methods and path patterns, for lookups before (or without) actix routing.
#[derive(Debug)]
pub struct RouteTable {
    entries: Vec<(Method, &'static str, bool, ResourceDef)>,
}

impl RouteTable {
    /// The table of `endpoints`, in registration order.
    pub fn new(endpoints: &[Endpoint]) -> Self {
        Self {
            entries: endpoints
                .iter()
                .map(|endpoint| {
                    (
                        endpoint.method.clone(),
                        endpoint.path,
                        endpoint.head,
                        ResourceDef::new(endpoint.path),
                    )
                })
                .collect(),
        }
    }

    /// The pattern of the endpoint that will answer `method` on `path`, as actix will route it.
    /// None for HEAD on a GET that changes state (answered 405 with no key, like any other
    /// method a path does not answer).
    pub fn find(&self, method: &Method, path: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|(m, _, _, def)| answers(m, *m == Method::GET, method) && def.is_match(path))
            .filter(|(m, _, head, _)| m == method || *head)
            .map(|(_, pattern, _, _)| *pattern)
    }

    /// The first pattern matching `path` with any method.
    pub fn find_any_method(&self, path: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|(_, _, _, def)| def.is_match(path))
            .map(|(_, pattern, _, _)| *pattern)
    }

    /// Every method some endpoint answers on `path` (for 405 and its `Allow` header).
    pub fn methods_for(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = Vec::new();
        for (method, _, _, def) in &self.entries {
            if def.is_match(path) && !methods.contains(method) {
                methods.push(method.clone());
            }
        }
        methods
    }

    /// Every `(method, pattern)`, in registration order.
    pub fn routes(&self) -> Vec<(Method, &'static str)> {
        self.entries
            .iter()
            .map(|(method, pattern, _, _)| (method.clone(), *pattern))
            .collect()
    }
}

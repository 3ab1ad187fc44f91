//! The registered endpoints as data: one list drives the actix registration, the auth
//! middleware's route lookup (which runs before actix routes), the 404/405 fallback, the metrics'
//! route label and the tests that check the OpenAPI document and the scope table.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{guard, web, FromRequest, Handler, Resource, Responder, Route};

/// One method on one path, with its handler.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
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
        let route = web::route().guard(method_guard(method.clone())).to(handler);
        Self {
            method,
            path,
            route,
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Whether a request's method is `method` (HEAD counts as GET, as in Starlette).
fn answers(method: &Method, requested: &Method) -> bool {
    requested == method || (*requested == Method::HEAD && *method == Method::GET)
}

fn method_guard(method: Method) -> impl guard::Guard {
    guard::fn_guard(move |ctx| answers(&method, &ctx.head().method))
}

/// Groups endpoints into actix resources, one per path, in the order of first appearance. Each
/// resource is guarded by its methods, so a request whose method a resource does not answer
/// falls through to later resources with a matching path (Starlette's behaviour: `PUT
/// /consultor/da-vez` reaches `PUT /consultor/{consultor_id}`), and finally to the fallback,
/// which answers 405 or 404.
pub fn resources(endpoints: Vec<Endpoint>) -> Vec<Resource> {
    let mut groups: Vec<(&'static str, Vec<Method>, Vec<Route>)> = Vec::new();
    for endpoint in endpoints {
        match groups
            .iter_mut()
            .find(|(path, _, _)| *path == endpoint.path)
        {
            Some((_, methods, routes)) => {
                methods.push(endpoint.method);
                routes.push(endpoint.route);
            }
            None => groups.push((endpoint.path, vec![endpoint.method], vec![endpoint.route])),
        }
    }
    groups
        .into_iter()
        .map(|(path, methods, routes)| {
            let resource = web::resource(path).guard(guard::fn_guard(move |ctx| {
                methods
                    .iter()
                    .any(|method| answers(method, &ctx.head().method))
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
    entries: Vec<(Method, &'static str, ResourceDef)>,
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
                        ResourceDef::new(endpoint.path),
                    )
                })
                .collect(),
        }
    }

    /// The pattern of the endpoint that will answer `method` on `path`, as actix will route it.
    pub fn find(&self, method: &Method, path: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|(m, _, def)| answers(m, method) && def.is_match(path))
            .map(|(_, pattern, _)| *pattern)
    }

    /// The first pattern matching `path` with any method.
    pub fn find_any_method(&self, path: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|(_, _, def)| def.is_match(path))
            .map(|(_, pattern, _)| *pattern)
    }

    /// Every method some endpoint answers on `path` (for 405 and its `Allow` header).
    pub fn methods_for(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = Vec::new();
        for (method, _, def) in &self.entries {
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
            .map(|(method, pattern, _)| (method.clone(), *pattern))
            .collect()
    }
}

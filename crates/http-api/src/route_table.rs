//! The registered routes as data, filled by the registration itself ([`crate::routes`]): the
//! 404/405 fallback's `Allow` list and the route label of metrics and logs. Nothing here decides
//! who may call a route, and nothing here is written by hand.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::HttpRequest;

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The routes' methods and path patterns, in registration order.
#[derive(Debug, Default)]
pub struct RouteTable {
    entries: Vec<(Method, String, ResourceDef)>,
}

impl RouteTable {
    /// Records that `method` is answered on `pattern` (after every route registered before).
    pub fn push(&mut self, method: Method, pattern: &str) {
        let def = ResourceDef::new(pattern);
        self.entries.push((method, pattern.to_owned(), def));
    }

    /// The pattern of the route that answers `method` on `path` (HEAD as GET), as actix routes.
    pub fn find(&self, method: &Method, path: &str) -> Option<&str> {
        let method = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.entries
            .iter()
            .find(|(m, _, def)| m == method && def.is_match(path))
            .map(|(_, pattern, _)| pattern.as_str())
    }

    /// The first pattern matching `path` with any method.
    pub fn find_any_method(&self, path: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, _, def)| def.is_match(path))
            .map(|(_, pattern, _)| pattern.as_str())
    }

    /// Every method some route answers on `path` (for 405 and its `Allow` header).
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
    pub fn routes(&self) -> Vec<(Method, String)> {
        self.entries
            .iter()
            .map(|(method, pattern, _)| (method.clone(), pattern.clone()))
            .collect()
    }

    /// The route label of metrics and logs: the pattern of the route `method path` reaches,
    /// else of a route on that path with another method (a 405), else [`UNMATCHED_ROUTE`].
    pub fn label(&self, method: &Method, path: &str) -> String {
        self.find(method, path)
            .or_else(|| self.find_any_method(path))
            .unwrap_or(UNMATCHED_ROUTE)
            .to_owned()
    }
}

/// The route label of `req` (see [`RouteTable::label`]); [`UNMATCHED_ROUTE`] without a table.
pub fn route_label(req: &HttpRequest) -> String {
    req.app_data::<actix_web::web::Data<RouteTable>>()
        .map_or_else(
            || UNMATCHED_ROUTE.to_owned(),
            |table| table.label(req.method(), req.match_info().as_str()),
        )
}

//! The endpoints: one file per resource family, thin handlers (DTO → domain → service → DTO).
//!
//! Each endpoint is declared once, at its handler: the actix route attribute gives its method and
//! path (`#[get("/consultores", wrap = "Require::of::<Self>()")]`), the `#[utoipa::path]`
//! attribute above it its OpenAPI entry and the key scopes it accepts (`security(...)`, see
//! [`crate::scopes`]). [`register`] lists the handlers in routing order; the OpenAPI document
//! ([`openapi`]) and the [`RouteTable`] of the 404/405 fallback and the route labels are
//! collected from that registration.

pub mod api_keys;
pub mod audit;
pub mod consultants;
mod doc_parts;
pub mod docs;
pub mod fallback;
pub mod health;
pub mod metrics;
pub mod outbound;
pub mod protocols;
pub mod queue;
pub mod reports;
pub mod rotation;
pub mod webhooks;

use std::sync::OnceLock;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::Method;
use actix_web::{web, App, FromRequest, Handler, Responder};
use utoipa::openapi::path::HttpMethod;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, OpenApiFactory};

use crate::route_table::RouteTable;
use crate::scopes::Access;

/// Registers every endpoint, in routing order, and records each in `table`.
/// `/consultor/da-vez` comes before `/consultor/{consultor_id}` so the rotation is not taken for
/// a consultant id.
pub fn register(config: &mut ServiceConfig<'_>, table: &mut RouteTable) {
    let mut routes = Registry { config, table };
    routes
        .api(consultants::list)
        .api(consultants::create)
        .api(rotation::assign_next)
        .api(consultants::get)
        .api(consultants::update)
        .api(consultants::delete)
        .api(consultants::connection)
        .api(audit::connection_history)
        .api(protocols::list)
        .api(protocols::get)
        .api(protocols::update)
        .api(protocols::generate)
        .api(protocols::create)
        .api(queue::create)
        .api(queue::list)
        .api(queue::get)
        .api(queue::cancel)
        .api(api_keys::create)
        .api(api_keys::list)
        .api(api_keys::revoke)
        .api(audit::list)
        .api(reports::assignments)
        .api(webhooks::pipedrive)
        .api(outbound::create)
        .api(outbound::list)
        .api(outbound::remove)
        .api(outbound::deliveries)
        .api(health::health)
        .api(health::ready)
        .api(metrics::scrape);
    // The documentation itself: public, and not in the document it serves.
    routes
        .plain(docs::OPENAPI_PATH, docs::openapi_json)
        .plain(docs::INDEX_PATH, docs::index)
        .plain(docs::ASSETS_PATH, docs::asset);
}

/// The paths served for the documentation itself, which the OpenAPI document does not list.
pub const DOCUMENTATION_PATHS: &[&str] = &[docs::OPENAPI_PATH, docs::INDEX_PATH, docs::ASSETS_PATH];

/// Registers handlers with their OpenAPI entries and records their routes.
struct Registry<'r, 'c> {
    config: &'r mut ServiceConfig<'c>,
    table: &'r mut RouteTable,
}

impl Registry<'_, '_> {
    fn api<H>(&mut self, handler: H) -> &mut Self
    where
        H: HttpServiceFactory + OpenApiFactory + utoipa::Path + 'static,
    {
        let path = H::path();
        for method in H::methods() {
            self.table.push(actix_method(&method), &path);
        }
        self.config.service(handler);
        self
    }

    /// A public GET outside the OpenAPI document.
    fn plain<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.table.push(Method::GET, path);
        self.config
            .map(|config| config.route(path, web::get().to(handler)));
        self
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// The routes as [`register`] records them.
pub fn route_table() -> RouteTable {
    let mut table = RouteTable::default();
    let _ = App::new()
        .into_utoipa_app()
        .configure(|config| register(config, &mut table));
    table
}

/// The OpenAPI document, collected from the registration: each operation with its security and
/// `x-scopes` ([`crate::openapi::secure_operations`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut table = RouteTable::default();
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(crate::openapi::base())
        .configure(|config| register(config, &mut table))
        .split_for_parts();
    crate::openapi::secure_operations(&mut document);
    document
}

/// What the route `method path` (a pattern, HEAD as GET) declares it needs (the documentation is
/// public); a route that does not exist needs `admin`. The operations page asks this before offering an action.
pub fn access_of(method: &Method, path: &str) -> Access {
    static ACCESS: OnceLock<Vec<(Method, String, Access)>> = OnceLock::new();
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    if *method == Method::GET && DOCUMENTATION_PATHS.contains(&path) {
        return Access::Public;
    }
    ACCESS
        .get_or_init(|| {
            let (_, document) = App::new()
                .into_utoipa_app()
                .configure(|config| register(config, &mut RouteTable::default()))
                .split_for_parts();
            document
                .paths
                .paths
                .iter()
                .flat_map(|(path, item)| {
                    [
                        (Method::GET, item.get.as_ref()),
                        (Method::POST, item.post.as_ref()),
                        (Method::PUT, item.put.as_ref()),
                        (Method::DELETE, item.delete.as_ref()),
                    ]
                    .into_iter()
                    .filter_map(move |(method, operation)| {
                        operation.map(|operation| {
                            (method, path.clone(), Access::of_operation(operation))
                        })
                    })
                })
                .collect()
        })
        .iter()
        .find(|(m, pattern, _)| m == method && pattern == path)
        .map_or_else(Access::admin, |(_, _, access)| access.clone())
}

//! The actix application (one factory used by the server and by the tests) and the server.

use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, KeepAlive, Method};
use actix_web::middleware::{from_fn, Condition};
use actix_web::web::Data;
use actix_web::{web, App, HttpServer};

use crate::routes::{self, fallback::fallback, RouteTable};
use crate::settings::HttpSettings;
use crate::state::ApiState;
use crate::{auth, error_body, extractor_errors, logging, metrics, request_id};

/// The whole application: state, routes and middleware. Middleware, outermost first:
/// request id → access log → metrics → JSON error bodies → CORS → auth → routes.
pub fn app(
    state: ApiState,
    settings: HttpSettings,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody<Error = impl std::fmt::Debug> + 'static>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let endpoints = routes::endpoints();
    let table = RouteTable::new(&endpoints);
    let cors_enabled = !settings.cors_origins.is_empty();
    let cors = cors(&settings.cors_origins);
    let limit = settings.payload_limit_bytes;
    let app = App::new()
        .app_data(extractor_errors::json_config(limit))
        .app_data(extractor_errors::payload_config(limit))
        .app_data(extractor_errors::query_config())
        .app_data(extractor_errors::path_config())
        .app_data(Data::new(state))
        .app_data(Data::new(settings))
        .app_data(Data::new(table))
        .wrap(from_fn(auth::authenticate))
        .wrap(Condition::new(cors_enabled, cors))
        .wrap(from_fn(error_body::normalize))
        .wrap(from_fn(metrics::record))
        .wrap(from_fn(logging::log))
        .wrap(from_fn(request_id::assign));
    routes::table::resources(endpoints)
        .into_iter()
        .fold(app, |app, resource| app.service(resource))
        .default_service(web::to(fallback))
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static(auth::API_KEY_HEADER),
            crate::idempotency::IDEMPOTENCY_KEY_HEADER,
            request_id::REQUEST_ID_HEADER,
        ])
        .expose_headers([
            request_id::REQUEST_ID_HEADER,
            crate::idempotency::IDEMPOTENCY_REPLAYED_HEADER,
        ])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// Binds the application to `listener`. The server stops gracefully on SIGTERM/SIGINT: it stops
/// accepting, lets in-flight requests finish for up to `shutdown_timeout`, then returns.
pub fn build_server(
    listener: std::net::TcpListener,
    state: ApiState,
    settings: HttpSettings,
) -> std::io::Result<Server> {
    let workers = settings.workers.max(1);
    let max_connections = settings.max_connections.max(1);
    let request_timeout = settings.request_timeout;
    let shutdown_timeout = settings.shutdown_timeout.as_secs().max(1);
    let server = HttpServer::new(move || app(state.clone(), settings.clone()))
        .workers(workers)
        .max_connections(max_connections)
        .client_request_timeout(request_timeout)
        .client_disconnect_timeout(Duration::from_secs(5))
        .keep_alive(KeepAlive::Timeout(request_timeout))
        .shutdown_timeout(shutdown_timeout)
        .listen(listener)?
        .run();
    Ok(server)
}

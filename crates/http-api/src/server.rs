//! The actix application (one factory used by the server and by the tests) and the server.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, KeepAlive, Method};
use actix_web::middleware::{from_fn, Condition, Next};
use actix_web::rt::time::{sleep_until, Instant, Sleep};
use actix_web::web::{Bytes, Data};
use actix_web::{web, App, HttpMessage, HttpServer};
use futures_util::Stream;

use utoipa_actix_web::AppExt;

use crate::route_table::RouteTable;
use crate::routes::{self, fallback::fallback};
use crate::settings::HttpSettings;
use crate::state::ApiState;
use crate::{auth, error_body, extractor_errors, head, logging, request_id, request_metrics};

/// The type of what [`app`] and [`app_with`] build: an `impl Trait` type, which stable Rust
/// names only in return position, hence a macro rather than an alias.
macro_rules! application {
    () => {
        App<
            impl ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<impl MessageBody<Error = impl std::fmt::Debug> + 'static>,
                Error = actix_web::Error,
                InitError = (),
            >,
        >
    };
}

/// The whole application: state, routes and middleware. Middleware, outermost first:
/// request body bounds → request id → access log → metrics → JSON error bodies → CORS → HEAD as
/// GET → routes (each wrapped in its own key check, [`auth::Require`]).
pub fn app(state: ApiState, settings: HttpSettings) -> application!() {
    app_with(state, settings, |_| {})
}

/// [`app`] with more services registered by `extra` (another driving adapter, such as the
/// operations page) behind the same middleware, before the 404/405 fallback. They are not
/// wrapped in the `api-key` check: they do their own authentication.
pub fn app_with(
    state: ApiState,
    settings: HttpSettings,
    extra: impl FnOnce(&mut web::ServiceConfig),
) -> application!() {
    let mut table = RouteTable::default();
    let routed = App::new()
        .into_utoipa_app()
        .configure(|config| routes::register(config, &mut table))
        .into_app();
    let cors_enabled = !settings.cors_origins.is_empty();
    let cors = cors(&settings.cors_origins);
    let limit = settings.payload_limit_bytes;
    routed
        .app_data(extractor_errors::json_config(limit))
        .app_data(extractor_errors::payload_config(limit))
        .app_data(extractor_errors::query_config())
        .app_data(extractor_errors::path_config())
        .app_data(Data::new(state))
        .app_data(Data::new(settings))
        .app_data(Data::new(table))
        .wrap(from_fn(head::as_get))
        .wrap(Condition::new(cors_enabled, cors))
        .wrap(from_fn(error_body::normalize))
        .wrap(from_fn(request_metrics::record))
        .wrap(from_fn(logging::log))
        .wrap(from_fn(request_id::assign))
        .wrap(from_fn(bound_request_body))
        .configure(extra)
        .default_service(web::to(fallback))
}

/// Bounds the request body in time, and keeps an unread body from being drained forever.
///
/// - The body must arrive within the request timeout (`REQUEST_TIMEOUT_SECS`), counted from the
///   end of the request head: actix bounds only the head, so without this a client sending one
///   byte now and then holds its connection and its handler for as long as it likes. Past the
///   deadline the body ends with an error (the handler answers 422 `body_incomplete`).
/// - The connection's own body stream stays alive until the response has been written. A body
///   that a handler leaves unread (refused as too large, or not wanted at all) is then seen as
///   unfinished, and the connection is closed after the response. Dropped instead, a chunked
///   body would be read and discarded for as long as the client kept sending it, with no timer
///   at all: one request could hold a worker's connection, and a share of its CPU, forever.
async fn bound_request_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let timeout = req
        .app_data::<Data<HttpSettings>>()
        .map_or(Duration::from_secs(30), |settings| settings.request_timeout);
    let original = Rc::new(RefCell::new(req.take_payload()));
    let timed = TimedPayload {
        inner: original.clone(),
        deadline: Instant::now() + timeout,
        timer: None,
        expired: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(timed),
    });
    let response = next.call(req).await?.map_into_boxed_body();
    Ok(response.map_body(|_, body| {
        BoxBody::new(HoldingPayload {
            body,
            _payload: original,
        })
    }))
}

/// The request body, ended with an error once its deadline has passed.
struct TimedPayload {
    inner: Rc<RefCell<Payload>>,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl Stream for TimedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut *this.inner.borrow_mut()).poll_next(cx) {
            return Poll::Ready(item);
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            this.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "o corpo não chegou dentro do tempo limite da requisição",
            )))));
        }
        Poll::Pending
    }
}

/// A response body that keeps the request's body stream alive until it has been written.
struct HoldingPayload {
    body: BoxBody,
    _payload: Rc<RefCell<Payload>>,
}

impl MessageBody for HoldingPayload {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
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
    build_server_with(listener, state, settings, |_| {})
}

/// [`build_server`] with the services of `extra` (see [`app_with`]) in every worker.
pub fn build_server_with(
    listener: std::net::TcpListener,
    state: ApiState,
    settings: HttpSettings,
    extra: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
) -> std::io::Result<Server> {
    crate::blocking::set_deadline(settings.database_deadline);
    let workers = settings.workers.max(1);
    let max_connections = settings.max_connections.max(1);
    let request_timeout = settings.request_timeout;
    let shutdown_timeout = settings.shutdown_timeout.as_secs().max(1);
    let server = HttpServer::new(move || {
        let extra = extra.clone();
        app_with(state.clone(), settings.clone(), move |config| extra(config))
    })
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

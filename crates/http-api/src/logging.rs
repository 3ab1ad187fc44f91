//! Structured access logs through the application's `slog::Logger` (JSON lines in production):
//!
//! - `request`: request_id, method, path, query (parameters, with anything that looks like a key
//!   redacted, see [`crate::redact`]);
//! - `response`: request_id, method, path, status, elapsed_ms, route (the matched pattern);
//! - `error` (5xx only): request_id, method, path, status, error (the cause chain).
//!
//! Headers are never logged, so neither is the `api-key`. Bodies only with `log_bodies`, their
//! secret fields redacted; a response body that fails part-way still fails for the client (the
//! part read, then the error), never turns into a shorter success.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{Error, HttpMessage};
use futures_util::StreamExt;
use slog::{error, info, o, Logger};

use crate::errors::{cause_chain, ApiError};
use crate::redact;
use crate::request_id::RequestId;
use crate::route_table::route_label;
use crate::settings::HttpSettings;
use crate::state::ApiState;

/// Requests under this path (the operations page) never have their bodies logged.
pub const PAGE_PREFIX: &str = "/painel";

/// Bodies logged with `log_bodies` are cut to this many bytes.
const MAX_LOGGED_BODY_BYTES: usize = 4096;

/// The middleware.
pub async fn log(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let logger = req.app_data::<Data<ApiState>>().map_or_else(
        || Logger::root(slog::Discard, o!()),
        |state| state.logger.clone(),
    );
    // The operations page's bodies are never logged: its sign-in form carries an API key, its
    // forms and pages the session's CSRF token.
    let log_bodies = req
        .app_data::<Data<HttpSettings>>()
        .is_some_and(|settings| settings.log_bodies)
        && !req.path().starts_with(PAGE_PREFIX);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let query = redact::query(req.query_string());
    let route = route_label(req.request());

    if log_bodies {
        let limit = req
            .app_data::<Data<HttpSettings>>()
            .map_or(HttpSettings::DEFAULT_PAYLOAD_LIMIT_BYTES, |s| {
                s.payload_limit_bytes
            });
        let (bytes, rest) = peek_body(&mut req, limit).await;
        info!(logger, "request";
            "request_id" => &request_id, "method" => &method, "path" => &path,
            "query" => &query, "body" => printable(&bytes));
        req.set_payload(rest);
    } else {
        info!(logger, "request";
            "request_id" => &request_id, "method" => &method, "path" => &path, "query" => &query);
    }

    let mut response = next.call(req).await?.map_into_boxed_body();
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;

    if log_bodies {
        let (request, http_response) = response.into_parts();
        let (head, body) = http_response.into_parts();
        let (bytes, failure, body) = read_body(body).await;
        info!(logger, "response";
            "request_id" => &request_id, "method" => &method, "path" => &path,
            "status" => status, "elapsed_ms" => elapsed_ms, "route" => &route,
            "body" => printable(&bytes), "body_error" => failure);
        response = ServiceResponse::new(request, head.set_body(body));
    } else {
        info!(logger, "response";
            "request_id" => &request_id, "method" => &method, "path" => &path,
            "status" => status, "elapsed_ms" => elapsed_ms, "route" => &route);
    }

    if response.status().is_server_error() {
        let chain = response.response().error().map_or_else(
            || format!("HTTP {status}"),
            |error| match error.as_error::<ApiError>() {
                Some(api_error) => cause_chain(api_error),
                None => error.to_string(),
            },
        );
        error!(logger, "error";
            "request_id" => &request_id, "method" => &method, "path" => &path,
            "status" => status, "error" => chain);
    }
    Ok(response)
}

/// Reads up to `limit + 1` bytes of the body for the log and gives back a payload that replays
/// them followed by whatever was not read.
async fn peek_body(req: &mut ServiceRequest, limit: usize) -> (Bytes, Payload) {
    let mut payload = req.take_payload();
    let mut seen = BytesMut::new();
    let mut failure = None;
    while seen.len() <= limit {
        match payload.next().await {
            Some(Ok(chunk)) => seen.extend_from_slice(&chunk),
            Some(Err(error)) => {
                failure = Some(error);
                break;
            }
            None => break,
        }
    }
    let seen = seen.freeze();
    let head = futures_util::stream::once(futures_util::future::ready(Ok(seen.clone())));
    let rest: Payload =
        match failure {
            Some(error) => Payload::Stream {
                payload: Box::pin(head.chain(futures_util::stream::once(
                    futures_util::future::ready(Err(error)),
                ))),
            },
            None => Payload::Stream {
                payload: Box::pin(head.chain(payload)),
            },
        };
    (seen, rest)
}

fn printable(bytes: &[u8]) -> String {
    redact::body(bytes, MAX_LOGGED_BODY_BYTES)
}

/// Reads a response body whole for the log: the bytes, the failure that ended it early (if
/// any), and a body for the client that sends the same bytes and, after them, the same failure.
async fn read_body(mut body: BoxBody) -> (Bytes, Option<String>, BoxBody) {
    let mut seen = BytesMut::new();
    loop {
        match std::future::poll_fn(|cx| body.as_pin_mut().poll_next(cx)).await {
            Some(Ok(chunk)) => seen.extend_from_slice(&chunk),
            Some(Err(error)) => {
                let seen = seen.freeze();
                let failure = error.to_string();
                let replay = FailingBody {
                    head: Some(seen.clone()),
                    error: Some(error),
                };
                return (seen, Some(failure), BoxBody::new(replay));
            }
            None => {
                let seen = seen.freeze();
                return (seen.clone(), None, BoxBody::new(seen));
            }
        }
    }
}

/// A body that yields its head, then fails.
struct FailingBody {
    head: Option<Bytes>,
    error: Option<Box<dyn std::error::Error>>,
}

impl MessageBody for FailingBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take().filter(|head| !head.is_empty()) {
            return Poll::Ready(Some(Ok(head)));
        }
        Poll::Ready(this.error.take().map(Err))
    }
}

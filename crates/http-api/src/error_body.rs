//! The last word on error bodies: whatever produced an error response (a handler, an extractor,
//! actix itself, CORS), the client gets JSON with a `detail`. A 500 never shows its cause, only
//! `{"detail": "Erro interno", "request_id": "..."}`.
//!
//! The services inside never fail with `Err`: handlers and extractors turn their errors into
//! responses, and auth and CORS answer with error responses. (Keeping a clone of the request to
//! build a response from an `Err` would break actix's routing, which needs the request unshared.)

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::Error;
use serde_json::Value;

use crate::errors::{json_detail, INTERNAL_DETAIL};
use crate::request_id::RequestId;

/// The middleware.
pub async fn normalize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        let request_id = RequestId::of(response.request());
        let body = serde_json::json!({ "detail": INTERNAL_DETAIL, "request_id": request_id });
        return Ok(replace_body(response, &body));
    }
    if (status.is_client_error() || status.is_server_error())
        && !has_content_type(&response, "application/json")
        // The operations page answers its errors with pages of its own (never with a cause).
        && !has_content_type(&response, "text/html")
    {
        let text = status.canonical_reason().unwrap_or("Erro");
        return Ok(replace_body(response, &json_detail(text)));
    }
    Ok(response)
}

/// Whether the `Content-Type` of `response` starts with `media_type`.
fn has_content_type(response: &ServiceResponse<BoxBody>, media_type: &str) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(media_type))
}

/// Swaps the body, keeping status, headers and the error (for the log).
fn replace_body(response: ServiceResponse<BoxBody>, body: &Value) -> ServiceResponse<BoxBody> {
    let bytes = body.to_string();
    let (request, response) = response.into_parts();
    let mut response = response.set_body(BoxBody::new(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().remove(header::CONTENT_LENGTH);
    ServiceResponse::new(request, response)
}

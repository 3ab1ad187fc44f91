//! HEAD: answered like GET (as Starlette does), except on a GET that changes state (the
//! rotation, a new protocol), where a monitor or link checker sending HEAD must not consume a
//! turn or a number: there it is a 405.
//!
//! [`as_get`] runs last before routing and routes a HEAD as a GET, remembering it was a HEAD (the
//! server still sends no body: the connection knows the request's method). A state-changing GET
//! wraps itself in [`refuse`]. The access log and the metrics, which run earlier, still see HEAD.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use crate::errors::ApiError;

/// In a request's extensions: it arrived as HEAD.
#[derive(Debug, Clone, Copy)]
struct ArrivedAsHead;

/// The application's middleware: HEAD is routed as GET.
pub async fn as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(ArrivedAsHead);
    }
    next.call(req).await
}

/// A state-changing GET's middleware: HEAD is a 405 (`Allow: GET`).
pub async fn refuse(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, Error> {
    if req.extensions().get::<ArrivedAsHead>().is_some() {
        let refused = ApiError::MethodNotAllowed {
            allowed: vec![Method::GET],
        };
        return Ok(req.error_response(refused).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

//! Every request gets an id: the client's `X-Request-Id` when it is 1 to 128 visible ASCII
//! characters, else a new UUID v7 (time-ordered and unique across replicas). The id is in the
//! request's extensions for the other middleware and on every response.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};

/// The header that carries the id, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-given id that is kept.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// A request's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `req` (empty if the middleware did not run, which only happens in unit tests).
    pub fn of(req: &HttpRequest) -> String {
        req.extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default()
    }

    fn from_client(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let sane = (1..=MAX_REQUEST_ID_CHARS).contains(&bytes.len())
            && bytes.iter().all(|b| b.is_ascii_graphic());
        sane.then(|| Self(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

/// The middleware: picks the id, then stamps it on the response (errors included).
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(RequestId::from_client)
        .unwrap_or_else(RequestId::generate);
    req.extensions_mut().insert(id.clone());
    let mut response = next.call(req).await?.map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_kept_only_when_sane() {
        let keep = |text: &str| RequestId::from_client(&HeaderValue::from_str(text).unwrap());
        assert_eq!(keep("abc-123"), Some(RequestId("abc-123".to_owned())));
        assert_eq!(keep(&"x".repeat(128)).map(|id| id.0.len()), Some(128));
        assert_eq!(keep(&"x".repeat(129)), None);
        assert_eq!(keep(""), None);
        assert_eq!(keep("com espaço"), None);
    }

    #[test]
    fn generated_ids_are_unique_uuids() {
        let first = RequestId::generate();
        let second = RequestId::generate();
        assert_ne!(first, second);
        assert!(uuid::Uuid::parse_str(&first.0).is_ok());
    }
}

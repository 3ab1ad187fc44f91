//! Error handlers for actix's own extractors (`web::Json`, `web::Bytes`, `web::Query`,
//! `web::Path`). The handlers of this crate read inputs with [`crate::input`] instead, but should
//! one of actix's extractors ever be used, its failures still answer in the service's JSON shapes
//! (413 with a `detail`, 422 with a list) instead of actix's plain text.

use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::web::{JsonConfig, PathConfig, PayloadConfig, QueryConfig};
use actix_web::HttpRequest;
use serde_json::Value;

use crate::errors::ApiError;
use crate::validation::{FieldError, Loc, Place, WireRule};

/// `web::Json` with the body limit and JSON errors.
pub fn json_config(limit: usize) -> JsonConfig {
    JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _: &HttpRequest| json_error(error).into())
}

/// `web::Bytes` / `String` with the body limit.
pub fn payload_config(limit: usize) -> PayloadConfig {
    PayloadConfig::new(limit)
}

/// `web::Query` with 422 errors.
pub fn query_config() -> QueryConfig {
    QueryConfig::default().error_handler(|_: QueryPayloadError, _: &HttpRequest| {
        invalid(Loc::root(Place::Query), WireRule::ObjectType).into()
    })
}

/// `web::Path` with 422 errors.
pub fn path_config() -> PathConfig {
    PathConfig::default().error_handler(|_: PathError, _: &HttpRequest| {
        invalid(Loc::root(Place::Path), WireRule::IntParsing).into()
    })
}

fn json_error(error: JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { .. }
        | JsonPayloadError::Overflow { .. }
        | JsonPayloadError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        JsonPayloadError::ContentType => invalid(Loc::root(Place::Body), WireRule::ObjectType),
        _ => invalid(Loc::root(Place::Body), WireRule::JsonInvalid),
    }
}

fn invalid(loc: Loc, rule: WireRule) -> ApiError {
    ApiError::Validation(vec![FieldError::rule(rule, loc, Value::Null)])
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;

    use super::*;

    #[test]
    fn oversized_json_is_413_and_bad_json_is_422() {
        let too_big = json_error(JsonPayloadError::Overflow { limit: 10 });
        assert_eq!(too_big.status_code(), 413);
        let serde_error = serde_json::from_str::<Value>("{").unwrap_err();
        let malformed = json_error(JsonPayloadError::Deserialize(serde_error));
        assert_eq!(malformed.status_code(), 422);
    }
}

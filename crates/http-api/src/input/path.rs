//! Integer ids in the path: a non-integer or one outside 64 bits is a 422 at `["path", name]`.

use actix_web::HttpRequest;
use serde_json::Value;

use super::lax::parse_int;
use super::JsonBody;
use crate::errors::ApiError;
use crate::validation::{FieldError, Loc, Place, Problems};

/// The integer id in path segment `name`.
pub fn id(req: &HttpRequest, name: &'static str) -> Result<i64, FieldError> {
    let raw = req.match_info().get(name).unwrap_or_default();
    parse_int(raw).map_err(|rule| {
        FieldError::rule(
            rule,
            Loc::field(Place::Path, name),
            Value::String(raw.to_owned()),
        )
    })
}

/// The integer id in path segment `name`, or the 422 naming it.
pub fn required_id(req: &HttpRequest, name: &'static str) -> Result<i64, ApiError> {
    Ok(id(req, name)?)
}

/// The integer id in path segment `name` and what `parse` reads after it (query or body), or the
/// 422 listing the problems of both, the path's first.
pub fn id_and<T>(
    req: &HttpRequest,
    name: &'static str,
    parse: impl FnOnce(&mut Problems) -> Option<T>,
) -> Result<(i64, T), ApiError> {
    Problems::collect(|problems| {
        let id = problems.take(id(req, name));
        let value = parse(problems);
        id.zip(value)
    })
}

/// The integer id in path segment `name` and the body as `parse` reads it, or the 422 listing
/// the problems of both, the path's first.
pub fn id_and_body<T>(
    req: &HttpRequest,
    name: &'static str,
    body: &JsonBody,
    parse: impl FnOnce(&JsonBody, &mut Problems) -> Option<T>,
) -> Result<(i64, T), ApiError> {
    id_and(req, name, |problems| parse(body, problems))
}

//! Integer ids in the path: a non-integer or one outside 64 bits is a 422 at `["path", name]`.

use actix_web::HttpRequest;
use serde_json::Value;

use super::lax::parse_int;
use crate::validation::{FieldError, Loc, Place};

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

//! `Idempotency-Key`: the claim a request makes on a key. The persistence adapter stores the
//! first answer under (caller, key) atomically with the work, and replays it for a retry with the
//! same fingerprint.

use actix_web::http::header::HeaderName;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, Utc};
use consultores_domain::{IdempotencyClaim, IdempotencyKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::errors::ApiError;
use crate::input::{JsonBody, QueryParams};
use crate::validation::{FieldError, Loc, Place, Problems};

/// The request header.
pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header set on replays.
pub const IDEMPOTENCY_REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotency-replayed");

/// The claim of `req`, if it sends a key: scoped to the caller, fingerprinted by method, path,
/// query (as the handler reads it) and body (canonical JSON). An invalid key is a 422 at
/// `["header", "idempotency-key"]`.
pub fn claim(
    req: &HttpRequest,
    caller: &Caller,
    body: Option<&JsonBody>,
    now: DateTime<Utc>,
) -> Result<Option<IdempotencyClaim>, FieldError> {
    let Some(value) = req.headers().get(&IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let raw = String::from_utf8_lossy(value.as_bytes());
    let key = IdempotencyKey::parse(&raw).map_err(|problem| {
        FieldError::invalid(
            &problem,
            Loc::field(Place::Header, "idempotency-key"),
            Value::String(raw.clone().into_owned()),
        )
    })?;
    let fingerprint = fingerprint(req, body);
    Ok(Some(IdempotencyClaim::new(
        caller.idempotency_scope(),
        key,
        fingerprint,
        now,
    )))
}

/// The claim of `req` over `body` and the body as `parse` reads it, or the 422 listing the
/// problems of both, the header's first.
pub fn claim_and_body<T>(
    req: &HttpRequest,
    caller: &Caller,
    body: &JsonBody,
    now: DateTime<Utc>,
    parse: impl FnOnce(&JsonBody, &mut Problems) -> Option<T>,
) -> Result<(Option<IdempotencyClaim>, T), ApiError> {
    Problems::collect(|problems| {
        let claim = problems.take(claim(req, caller, Some(body), now)).flatten();
        parse(body, problems).map(|value| (claim, value))
    })
}

/// A 200 under way, marked as a replay (`Idempotency-Replayed: true`) when it is the stored
/// answer of an earlier request.
pub fn replayable(replayed: bool) -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    if replayed {
        response.insert_header((IDEMPOTENCY_REPLAYED_HEADER, "true"));
    }
    response
}

/// SHA-256 (hex) of method, path, query and canonical body. The query is what the handler
/// reads: the last value of each name, sorted by name. Sorting every pair instead would give
/// `?idioma=en&idioma=pt` (read as `pt`) and `?idioma=pt&idioma=en` (read as `en`) one
/// fingerprint, and one would replay the other's answer.
pub fn fingerprint(req: &HttpRequest, body: Option<&JsonBody>) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(QueryParams::of(req).effective())
        .finish();
    let body = body.map(JsonBody::canonical).unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [req.method().as_str(), req.path(), &query, &body] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

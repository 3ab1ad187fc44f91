//! The request body as JSON, read with the payload limit: larger bodies are 413 whether the
//! client announced their size or not; malformed JSON is a 422 `json_invalid`.
//!
//! Like FastAPI, JSON is parsed when the `Content-Type` is absent, `application/json` or
//! `application/*+json`; any other content type leaves the body as text, which then fails the
//! object check with a 422.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde_json::Value;

use crate::errors::ApiError;
use crate::settings::HttpSettings;
use crate::validation::{FieldError, Loc, Place, WireRule};

/// A request body as FastAPI would hand it to validation.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonBody {
    /// No body at all (or an empty one).
    Missing,
    /// A JSON document (not necessarily an object).
    Json(Value),
    /// A body sent with a non-JSON content type, as (lossy) text.
    NotJson(String),
}

impl JsonBody {
    /// The canonical bytes of the body for fingerprints: JSON with object keys sorted, so
    /// formatting and key order do not matter.
    pub fn canonical(&self) -> String {
        match self {
            Self::Missing => String::new(),
            Self::Json(value) => canonical_json(value),
            Self::NotJson(text) => text.clone(),
        }
    }
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<Data<HttpSettings>>()
            .map_or(HttpSettings::DEFAULT_PAYLOAD_LIMIT_BYTES, |settings| {
                settings.payload_limit_bytes
            });
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        let json = is_json(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if announced.is_some_and(|length| length > limit as u64) {
                return Err(ApiError::PayloadTooLarge);
            }
            let bytes = read_limited(&mut payload, limit).await?;
            decode(&bytes, json)
        })
    }
}

async fn read_limited(payload: &mut Payload, limit: usize) -> Result<Bytes, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| match error {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge,
            other => ApiError::Validation(vec![FieldError::new(
                "body_incomplete",
                Loc::root(Place::Body),
                format!("corpo da requisição incompleto ({other})"),
                Value::Null,
            )]),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn decode(bytes: &[u8], json: bool) -> Result<JsonBody, ApiError> {
    if bytes.is_empty() {
        return Ok(JsonBody::Missing);
    }
    if !json {
        return Ok(JsonBody::NotJson(
            String::from_utf8_lossy(bytes).into_owned(),
        ));
    }
    serde_json::from_slice(bytes)
        .map(JsonBody::Json)
        .map_err(|_| {
            ApiError::Validation(vec![FieldError::rule(
                WireRule::JsonInvalid,
                Loc::root(Place::Body),
                Value::Object(serde_json::Map::new()),
            )])
        })
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence.is_empty() {
        return true;
    }
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

/// JSON text with every object's keys sorted.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|key| (key.clone(), sorted(&map[key])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    // serde_json's map keeps insertion order only with `preserve_order`; inserting in sorted
    // order gives sorted output either way.
    sorted(value).to_string()
}

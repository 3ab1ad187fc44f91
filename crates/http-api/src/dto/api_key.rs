//! API keys on the wire (`/api-keys`, admin only).

use std::str::FromStr;

use consultores_domain::{ApiKey, ApiKeyScope, NewApiKey};
use serde::Serialize;
use utoipa::ToSchema;
use validator::Validate;

use super::time::timestamp;
use super::{check_shape, trimmed, WireFields};
use crate::input::{JsonBody, ObjectReader, Presence};
use crate::validation::{FieldError, Loc, Place, Problems};

super::wire_enum_schema! {
    /// The scope of a key: `admin` (everything), `distribuicao` (the rotation, protocols and every
    /// read), `leitura` (every read).
    ScopeWire as "Escopo" = consultores_domain::ApiKeyScope
}

/// A stored key, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3,
    "description": "chatbot do site",
    "scope": "distribuicao",
    "created_at": "2026-11-29T14:30:00.123456+00:00",
    "last_used_at": null,
    "revoked_at": null
}))]
pub struct ApiKeyResponse {
    pub id: i64,
    pub description: Option<String>,
    #[schema(value_type = ScopeWire)]
    pub scope: &'static str,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id.0,
            description: key.description,
            scope: key.scope.as_str(),
            created_at: timestamp(&key.created_at),
            last_used_at: key.last_used_at.as_ref().map(timestamp),
            revoked_at: key.revoked_at.as_ref().map(timestamp),
        }
    }
}

/// A key just created: the only answer that ever shows its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3,
    "key": "c0nsult0res_3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
    "description": "chatbot do site",
    "scope": "distribuicao",
    "created_at": "2026-11-29T14:30:00.123456+00:00"
}))]
pub struct ApiKeyCreatedResponse {
    pub id: i64,
    /// The secret, shown once.
    pub key: String,
    pub description: Option<String>,
    #[schema(value_type = ScopeWire)]
    pub scope: &'static str,
    pub created_at: String,
}

impl ApiKeyCreatedResponse {
    pub fn new(key: ApiKey, secret: String) -> Self {
        Self {
            id: key.id.0,
            key: secret,
            description: key.description,
            scope: key.scope.as_str(),
            created_at: timestamp(&key.created_at),
        }
    }
}

/// Body of `POST /api-keys`. `scope` defaults to `leitura`, the least privilege.
#[derive(Debug, Default, Validate, ToSchema)]
#[schema(example = json!({"description": "chatbot do site", "scope": "distribuicao"}))]
pub struct ApiKeyCreateRequest {
    /// Who or what uses the key; at most 255 characters.
    #[schema(value_type = Option<String>, max_length = 255)]
    #[validate(length(max = 255))]
    pub description: Option<String>,
    #[schema(value_type = ScopeWire, required = false, default = "leitura")]
    pub scope: Option<String>,
}

impl WireFields for ApiKeyCreateRequest {
    const FIELDS: &'static [(&'static str, &'static str)] =
        &[("description", "description"), ("scope", "scope")];
}

impl ApiKeyCreateRequest {
    /// Reads, checks and parses the body of `POST /api-keys`.
    pub fn parse(body: &JsonBody, problems: &mut Problems) -> Option<NewApiKey> {
        Self::read_in_order(body, problems, Self::parse_into)
    }

    fn parse_into(body: &JsonBody, problems: &mut Problems) -> Option<NewApiKey> {
        let mut reader = ObjectReader::open(body, problems)?;
        let dto = Self {
            description: reader
                .string("description", Presence::Nullable)
                .map(trimmed)
                .value(),
            scope: reader.string("scope", Presence::Optional).value(),
        };
        check_shape(&dto, &mut reader);
        let scope = match dto.scope {
            None => Some(ApiKeyScope::Read),
            Some(raw) => match ApiKeyScope::from_str(&raw) {
                Ok(scope) => Some(scope),
                Err(problem) => {
                    let input = reader.raw("scope");
                    reader.problems().push(FieldError::invalid(
                        &problem,
                        Loc::field(Place::Body, "scope"),
                        input,
                    ));
                    None
                }
            },
        };
        let description = dto.description.filter(|text| !text.is_empty());
        if !reader.problems().is_empty() {
            return None;
        }
        Some(NewApiKey {
            description,
            scope: scope?,
        })
    }
}

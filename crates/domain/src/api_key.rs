//! API keys: who may call the service, and with which scope.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::InvalidValue;

/// An API key's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ApiKeyId(pub i64);

/// What a key may do. v6 had one shared all-powerful key, so keys carried over from v6 and the
/// configured `AUTHENTICATION_API_KEY` are `Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    Admin,
    Distribuicao,
    Leitura,
}

impl ApiKeyScope {
    pub const ALL: [ApiKeyScope; 3] = [Self::Admin, Self::Distribuicao, Self::Leitura];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Distribuicao => "distribuicao",
            Self::Leitura => "leitura",
        }
    }
}

impl FromStr for ApiKeyScope {
    type Err = InvalidValue;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(InvalidValue::NotAllowed {
                allowed: "admin, distribuicao, leitura",
            })
    }
}

impl fmt::Display for ApiKeyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored key. The secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub description: Option<String>,
    pub scope: ApiKeyScope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key to create. The store generates the secret and returns it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub description: Option<String>,
    pub scope: ApiKeyScope,
}

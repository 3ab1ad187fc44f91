//! API keys: who may call the service, and with which scope.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An API key's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ApiKeyId(pub i64);

wire_names! {
    /// What a key may do. v6 had one shared all-powerful key, so keys carried over from v6 and the
    /// configured `AUTHENTICATION_API_KEY` are `Admin`.
    pub enum ApiKeyScope {
        #[strum(serialize = "admin")]
        Admin,
        #[strum(serialize = "distribuicao")]
        Distribution,
        #[strum(serialize = "leitura")]
        Read,
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::values::InvalidValue;

    #[test]
    fn scope_parses_every_name_and_round_trips() {
        assert_wire_names_round_trip!(ApiKeyScope);
        assert_eq!(
            "distribuicao".parse::<ApiKeyScope>(),
            Ok(ApiKeyScope::Distribution)
        );
    }

    #[test]
    fn scope_rejects_unknown_names_listing_the_allowed_ones() {
        for raw in ["", "Admin", "distribuição", "root"] {
            assert_eq!(
                raw.parse::<ApiKeyScope>(),
                Err(InvalidValue::NotAllowed {
                    allowed: "admin, distribuicao, leitura"
                }),
                "{raw:?}"
            );
        }
    }
}

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
    use crate::values::tests::serde_probe::{from_str, to_plain, Plain};
    use crate::values::InvalidValue;

    #[test]
    fn scope_parses_every_name_and_round_trips() {
        for scope in ApiKeyScope::all() {
            assert_eq!(scope.as_str().parse::<ApiKeyScope>(), Ok(scope));
            assert_eq!(scope.to_string(), scope.as_str());
            assert_eq!(to_plain(&scope), Plain::Str(scope.as_str().to_owned()));
            assert_eq!(from_str::<ApiKeyScope>(scope.as_str()).unwrap(), scope);
        }
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

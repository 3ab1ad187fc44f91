//! Sessions of the operations page: who signed in (the API key, by id and description, never
//! the key itself), with which scope, and the token that every form must carry back (CSRF).

use crate::api_key::{ApiKeyId, ApiKeyScope};
use crate::audit::Actor;

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// The stored key signed in with; `None` for the configured key (`AUTHENTICATION_API_KEY`).
    pub api_key_id: Option<ApiKeyId>,
    /// The key's description, recorded as the actor of every change made in the session.
    pub key_description: Option<String>,
    pub scope: ApiKeyScope,
    /// The CSRF token of the session's forms.
    pub csrf_token: String,
}

impl WebSession {
    /// The actor of a change made in this session, as the API would record the same key.
    pub fn actor(&self, request_id: impl Into<String>) -> Actor {
        match self.api_key_id {
            Some(id) => Actor::stored_key(id, self.key_description.as_deref(), request_id),
            None => Actor::configured_key(request_id),
        }
    }
}

/// The hash (hex SHA-256) of a session cookie's token: what the store keys sessions by, so a
/// read of the store does not give anyone a session.
#[derive(Clone, PartialEq, Eq)]
pub struct WebSessionToken(pub String);

impl std::fmt::Debug for WebSessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebSessionToken(<redacted>)")
    }
}

//! The authenticated caller of a route, put in the request's extensions by the key check
//! ([`crate::auth::Require`]), and the extractors handlers take it with.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use consultores_domain::{Actor, ApiKeyId, ApiKeyScope};
use futures_util::future::{ready, Ready};

use crate::errors::ApiError;
use crate::request_id::RequestId;

/// Which key made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerIdentity {
    /// The key from the settings.
    Configured,
    /// A key from the store.
    Stored(ApiKeyId),
}

/// The authenticated caller of a protected route, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub identity: CallerIdentity,
    pub scope: ApiKeyScope,
    /// A stored key's description (for the record of operations).
    pub description: Option<String>,
}

impl Caller {
    /// The caller as the record of operations names it, for the request `request_id`: the key's
    /// id and description, never the key.
    pub fn actor(&self, request_id: impl Into<String>) -> Actor {
        match self.identity {
            CallerIdentity::Configured => Actor::configured_key(request_id),
            CallerIdentity::Stored(id) => {
                Actor::stored_key(id, self.description.as_deref(), request_id)
            }
        }
    }

    /// The caller's identity as an idempotency scope: `config` or `key:<id>`.
    pub fn idempotency_scope(&self) -> String {
        match self.identity {
            CallerIdentity::Configured => "config".to_owned(),
            CallerIdentity::Stored(id) => format!("key:{}", id.0),
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Caller>().cloned().ok_or_else(|| {
            ApiError::internal("a protected handler ran without an authenticated caller")
        }))
    }
}

/// Who performs the current request, for the ports that change state: the authenticated caller
/// and the request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting(pub Actor);

impl FromRequest for Acting {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = req.extensions().get::<Caller>().cloned();
        ready(
            caller
                .map(|caller| Acting(caller.actor(RequestId::of(req))))
                .ok_or_else(|| {
                    ApiError::internal(
                        "a state-changing handler ran without an authenticated caller",
                    )
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_scopes_name_the_key() {
        let configured = Caller {
            identity: CallerIdentity::Configured,
            scope: ApiKeyScope::Admin,
            description: None,
        };
        let stored = Caller {
            identity: CallerIdentity::Stored(ApiKeyId(12)),
            scope: ApiKeyScope::Read,
            description: Some("robô".to_owned()),
        };
        assert_eq!(configured.idempotency_scope(), "config");
        assert_eq!(stored.idempotency_scope(), "key:12");
    }

    #[test]
    fn actors_name_the_key_by_id_and_description() {
        let configured = Caller {
            identity: CallerIdentity::Configured,
            scope: ApiKeyScope::Admin,
            description: None,
        };
        assert_eq!(configured.actor("r-1"), Actor::configured_key("r-1"));
        let stored = Caller {
            identity: CallerIdentity::Stored(ApiKeyId(12)),
            scope: ApiKeyScope::Read,
            description: Some("robô".to_owned()),
        };
        let actor = stored.actor("r-2");
        assert_eq!(actor.api_key_id, Some(ApiKeyId(12)));
        assert_eq!(actor.api_key_description, "robô");
        assert_eq!(actor.request_id, "r-2");
    }
}

//! The `api-key` middleware: finds the route a request will reach (before actix routes it),
//! looks up what the route needs in [`crate::scopes`], authenticates the key and checks its
//! scope. Missing or wrong key: 401; a valid key outside the route's scopes: 403.
//!
//! The configured key (`AUTHENTICATION_API_KEY`) is compared in constant time over SHA-256
//! digests of both sides, so neither its content nor its length leaks through timing; stored
//! keys are hashed and looked up by the store, at most once per few seconds for a key that
//! works and not at all past a client address's allowance of wrong keys
//! ([`crate::auth_costs`]).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use consultores_domain::{Actor, ApiKeyId, ApiKeyScope};
use futures_util::future::{ready, Ready};

use crate::blocking;
use crate::errors::ApiError;
use crate::request_id::RequestId;
use crate::routes::RouteTable;
use crate::scopes::{self, Access};
use crate::settings::HttpSettings;
use crate::state::ApiState;

/// The header that carries the key (v6's name).
pub const API_KEY_HEADER: &str = "api-key";

/// Keys longer than this are refused without a lookup.
pub const MAX_API_KEY_BYTES: usize = 512;

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

/// The middleware.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let access = {
        let Some(table) = req.app_data::<Data<RouteTable>>() else {
            return Ok(req.error_response(ApiError::internal("route table missing")));
        };
        // Unknown routes go on to the fallback (404/405) without asking for a key.
        match table.find(req.method(), req.match_info().as_str()) {
            Some(pattern) => scopes::access_of(req.method(), pattern),
            None => Access::Public,
        }
    };
    let metrics_public = req
        .app_data::<Data<HttpSettings>>()
        .is_some_and(|settings| settings.metrics_public);
    let required = match access {
        // Basic auth is the handler's business (it answers 401 or 404 itself).
        Access::Public | Access::BasicAuth => None,
        Access::Metrics if metrics_public => None,
        other => Some(other.scopes()),
    };
    if let Some(allowed) = required {
        let caller = match identify(&req).await {
            Ok(caller) => caller,
            Err(error) => return Ok(req.error_response(error)),
        };
        if !allowed.contains(&caller.scope) {
            return Ok(req.error_response(ApiError::Forbidden));
        }
        req.extensions_mut().insert(caller);
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

async fn identify(req: &ServiceRequest) -> Result<Caller, ApiError> {
    let presented = req
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_API_KEY_BYTES)
        .ok_or(ApiError::Unauthorized)?
        .to_owned();
    let settings = req
        .app_data::<Data<HttpSettings>>()
        .ok_or_else(|| ApiError::internal("settings missing"))?;
    let costs = settings.auth_costs;
    let configured = settings
        .configured_api_key
        .clone()
        .filter(|key| !key.is_empty());
    if configured.is_some_and(|configured| same_secret(&presented, &configured)) {
        return Ok(Caller {
            identity: CallerIdentity::Configured,
            scope: ApiKeyScope::Admin,
            description: None,
        });
    }
    let state = req
        .app_data::<Data<ApiState>>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    if let Some(caller) = state.verified_keys.get(&presented, costs.verified_for) {
        return Ok(caller);
    }
    let address = req.peer_addr().map(|address| address.ip());
    if address.is_some_and(|address| state.failed_attempts.exhausted(address, &costs)) {
        // Too many wrong keys from here lately: refused without a database lookup.
        return Err(ApiError::Unauthorized);
    }
    let store = state.api_keys.clone();
    let now = state.distribution.now();
    let checked = presented.clone();
    let found = blocking::run(move || store.authenticate(&checked, now)).await?;
    match found {
        Some(key) => {
            let caller = Caller {
                identity: CallerIdentity::Stored(key.id),
                scope: key.scope,
                description: key.description,
            };
            state.verified_keys.insert(&presented, &caller);
            Ok(caller)
        }
        None => {
            if let Some(address) = address {
                state.failed_attempts.record(address, &costs);
            }
            Err(ApiError::Unauthorized)
        }
    }
}

/// Constant-time equality of two secrets of any lengths (also used by the operations page's
/// sign-in): the domain's one compare.
pub use consultores_domain::same_secret;

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
            scope: ApiKeyScope::Leitura,
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
            scope: ApiKeyScope::Leitura,
            description: Some("robô".to_owned()),
        };
        let actor = stored.actor("r-2");
        assert_eq!(actor.api_key_id, Some(ApiKeyId(12)));
        assert_eq!(actor.api_key_description, "robô");
        assert_eq!(actor.request_id, "r-2");
    }
}

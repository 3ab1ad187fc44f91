//! The `api-key` check: [`Require`], wrapped around each route, authenticates the key and checks
//! its scope against what the route's handler declares ([`crate::scopes`]). Missing or wrong
//! key: 401; a valid key outside the route's scopes: 403.
//!
//! The configured key (`AUTHENTICATION_API_KEY`) is compared in constant time over SHA-256
//! digests of both sides, so neither its content nor its length leaks through timing; stored
//! keys are hashed and looked up by the store, at most once per few seconds for a key that
//! works and not at all past a client address's allowance of wrong keys
//! ([`crate::auth_costs`]).

use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::web::Data;
use actix_web::{Error, HttpMessage};
use consultores_domain::ApiKeyScope;
use futures_util::future::{ready, LocalBoxFuture, Ready};

pub use crate::caller::{Acting, Caller, CallerIdentity};

use crate::blocking;
use crate::errors::ApiError;
use crate::scopes::Access;
use crate::settings::HttpSettings;
use crate::state::ApiState;

/// The header that carries the key (v6's name).
pub const API_KEY_HEADER: &str = "api-key";

/// Keys longer than this are refused without a lookup.
pub const MAX_API_KEY_BYTES: usize = 512;

/// A route's key check, wrapped around the route by its handler's route attribute
/// (`wrap = "Require::of::<Self>()"`): it runs after routing and before the handler's
/// extractors, with the access the handler's `#[utoipa::path]` declares
/// ([`Access::of_operation`]). Missing or wrong key: 401; a valid key outside the route's
/// scopes: 403; otherwise the [`Caller`] goes into the request's extensions.
#[derive(Debug, Clone)]
pub struct Require(Rc<Access>);

impl Require {
    /// The access declared by the OpenAPI operation of `P` (a handler).
    pub fn of<P: utoipa::Path>() -> Self {
        Self(Rc::new(Access::of_operation(&P::operation())))
    }
}

impl<S, B> Transform<S, ServiceRequest> for Require
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = RequireService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireService {
            service: Rc::new(service),
            access: self.0.clone(),
        }))
    }
}

/// The service of [`Require`].
#[derive(Debug)]
pub struct RequireService<S> {
    service: Rc<S>,
    access: Rc<Access>,
}

impl<S, B> Service<ServiceRequest> for RequireService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let access = self.access.clone();
        Box::pin(async move {
            let metrics_public = req
                .app_data::<Data<HttpSettings>>()
                .is_some_and(|settings| settings.metrics_public);
            let required = match access.as_ref() {
                // Basic auth is the handler's business (it answers 401 or 404 itself).
                Access::Public | Access::BasicAuth => None,
                Access::Metrics(_) if metrics_public => None,
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
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        })
    }
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

//! `/api-keys`: creating, listing and revoking scoped keys (admin only).

use crate::auth::Require;
use actix_web::web::Data;
use actix_web::{delete, get, post};
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::{ApiKeyId, DomainError};

use crate::auth::Acting;
use crate::blocking;
use crate::dto::api_key::{ApiKeyCreateRequest, ApiKeyCreatedResponse, ApiKeyResponse};
use crate::errors::{ApiError, DetailResponse, ValidationErrorResponse};
use crate::input::{path, JsonBody};
use crate::routes::doc_parts::{BodyTooLarge, InvalidId};
use crate::state::ApiState;
use crate::validation::Problems;

/// The path parameter of a key's id.
pub(crate) const API_KEY_ID: &str = "api_key_id";

/// Creates a key; the answer is the only time its secret is shown.
#[utoipa::path(
    operation_id = "criar_api_key",
    tag = "api-keys",
    security(("api-key" = ["admin"])),
    request_body = ApiKeyCreateRequest,
    responses(
        (status = 200, description = "The new key, with its secret.", body = ApiKeyCreatedResponse),
        BodyTooLarge,
        (status = 422, description = "Invalid body.", body = ValidationErrorResponse),
    )
)]
#[post("/api-keys", wrap = "Require::of::<Self>()")]
pub async fn create(
    state: Data<ApiState>,
    Acting(actor): Acting,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let new = Problems::collect(|problems| ApiKeyCreateRequest::parse(&body, problems))?;
    let store = state.api_keys.clone();
    let now = state.distribution.now();
    let (key, secret) = blocking::run(move || store.create(&new, now, &actor)).await?;
    Ok(HttpResponse::Ok().json(ApiKeyCreatedResponse::new(key, secret)))
}

/// Every key, revoked ones included, without secrets.
#[utoipa::path(
    operation_id = "listar_api_keys",
    tag = "api-keys",
    security(("api-key" = ["admin"])),
    responses(
        (status = 200, description = "The keys, by id.", body = Vec<ApiKeyResponse>),
    )
)]
#[get("/api-keys", wrap = "Require::of::<Self>()")]
pub async fn list(state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let store = state.api_keys.clone();
    let keys = blocking::run(move || store.list()).await?;
    let body: Vec<ApiKeyResponse> = keys.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Revokes a key: it stops working at once.
#[utoipa::path(
    operation_id = "revogar_api_key",
    tag = "api-keys",
    security(("api-key" = ["admin"])),
    params(("api_key_id" = i64, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "Revoked.", body = DetailResponse,
            example = json!({"detail": "Chave de API revogada com sucesso"})),
        (status = 404, description = "No such active key.", body = DetailResponse,
            example = json!({"detail": "Chave de API não encontrada"})),
        InvalidId,
    )
)]
#[delete("/api-keys/{api_key_id}", wrap = "Require::of::<Self>()")]
pub async fn revoke(
    req: HttpRequest,
    state: Data<ApiState>,
    Acting(actor): Acting,
) -> Result<HttpResponse, ApiError> {
    let id = path::required_id(&req, API_KEY_ID)?;
    let store = state.api_keys.clone();
    let now = state.distribution.now();
    let revoked = blocking::run(move || store.revoke(ApiKeyId(id), now, &actor)).await?;
    // Refused at once here; other replicas stop trusting it within `AuthCosts::verified_for`.
    state.verified_keys.forget(ApiKeyId(id));
    if revoked {
        Ok(HttpResponse::Ok().json(DetailResponse::new("Chave de API revogada com sucesso")))
    } else {
        Err(DomainError::ApiKeyNotFound.into())
    }
}

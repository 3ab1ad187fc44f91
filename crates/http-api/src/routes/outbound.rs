//! `/webhooks`: outbound webhooks' subscriptions and their delivery logs (`admin`).

use crate::auth::Require;
use actix_web::web::Data;
use actix_web::{delete, get, post};
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::{DomainError, WebhookId};

use crate::auth::Acting;
use crate::blocking;
use crate::dto::outbound::{DeliveryResponse, WebhookCreateRequest, WebhookResponse};
use crate::errors::{ApiError, DetailResponse, ValidationErrorResponse};
use crate::input::{path, JsonBody, QueryParams};
use crate::routes::doc_parts::{BodyTooLarge, InvalidId};
use crate::state::{ApiState, WebhookApi};
use crate::validation::{FieldError, Loc, Place, Problems};

const WEBHOOK_ID: &str = "webhook_id";

/// The message of a 404 for an unknown subscription.
pub const WEBHOOK_NOT_FOUND: &str = "Webhook não encontrado";

fn api(state: &ApiState) -> Result<WebhookApi, ApiError> {
    state.webhooks.clone().ok_or(ApiError::NotFound)
}

fn not_found() -> ApiError {
    ApiError::Domain(DomainError::WebhookNotFound)
}

/// Subscribes a URL to events; the answer carries the signing secret, shown only here.
#[utoipa::path(
    operation_id = "criar_webhook",
    tag = "webhooks",
    security(("api-key" = ["admin"])),
    request_body = WebhookCreateRequest,
    responses(
        (status = 200, description = "The subscription, with its `segredo` (shown only now).", body = WebhookResponse),
        BodyTooLarge,
        (status = 422, description = "Invalid `url`, `eventos` or `descricao`.", body = ValidationErrorResponse),
    )
)]
#[post("/webhooks", wrap = "Require::of::<Self>()")]
pub async fn create(
    state: Data<ApiState>,
    Acting(actor): Acting,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let api = api(&state)?;
    let new = Problems::collect(|problems| WebhookCreateRequest::parse(&body, problems))?;
    let secret = api.secrets.generate();
    let (webhook, secret) = blocking::run(move || {
        let now = chrono::Utc::now();
        let webhook = api.store.create_webhook(&new, &secret, now, &actor)?;
        Ok((webhook, secret))
    })
    .await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::new(webhook, Some(&secret))))
}

/// Subscriptions, by id (never with their secrets).
#[utoipa::path(
    operation_id = "listar_webhooks",
    tag = "webhooks",
    security(("api-key" = ["admin"])),
    responses((status = 200, description = "Every subscription not removed.", body = Vec<WebhookResponse>)),
)]
#[get("/webhooks", wrap = "Require::of::<Self>()")]
pub async fn list(state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let api = api(&state)?;
    let webhooks = blocking::run(move || api.store.list_webhooks()).await?;
    let body: Vec<WebhookResponse> = webhooks
        .into_iter()
        .map(|webhook| WebhookResponse::new(webhook, None))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Removes a subscription; its pending deliveries are dropped.
#[utoipa::path(
    operation_id = "remover_webhook",
    tag = "webhooks",
    security(("api-key" = ["admin"])),
    params(("webhook_id" = i64, Path, description = "The subscription's id.")),
    responses(
        (status = 200, description = "Removed.", body = DetailResponse,
            example = json!({"detail": "Webhook removido com sucesso"})),
        (status = 404, description = "No such subscription.", body = DetailResponse,
            example = json!({"detail": "Webhook não encontrado"})),
        InvalidId,
    )
)]
#[delete("/webhooks/{webhook_id}", wrap = "Require::of::<Self>()")]
pub async fn remove(
    req: HttpRequest,
    state: Data<ApiState>,
    Acting(actor): Acting,
) -> Result<HttpResponse, ApiError> {
    let api = api(&state)?;
    let id = path::required_id(&req, WEBHOOK_ID)?;
    let removed = blocking::run(move || {
        api.store
            .remove_webhook(WebhookId(id), chrono::Utc::now(), &actor)
    })
    .await?;
    if !removed {
        return Err(not_found());
    }
    Ok(HttpResponse::Ok().json(DetailResponse::new("Webhook removido com sucesso")))
}

/// A subscription's newest deliveries.
#[utoipa::path(
    operation_id = "entregas_webhook",
    tag = "webhooks",
    security(("api-key" = ["admin"])),
    params(
        ("webhook_id" = i64, Path, description = "The subscription's id."),
        ("limit" = Option<i64>, Query, description = "How many, newest first: 1 to 1000 (default 100).", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "Newest first.", body = Vec<DeliveryResponse>),
        (status = 404, description = "No such subscription.", body = DetailResponse),
        (status = 422, description = "Invalid id or `limit`.", body = ValidationErrorResponse),
    )
)]
#[get("/webhooks/{webhook_id}/entregas", wrap = "Require::of::<Self>()")]
pub async fn deliveries(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let api = api(&state)?;
    let (id, limit) = path::id_and(&req, WEBHOOK_ID, |problems| {
        match QueryParams::of(&req).int("limit", problems).value() {
            None => Some(100),
            Some(limit) if (1..=1000).contains(&limit) => u32::try_from(limit).ok(),
            Some(limit) => {
                problems.push(FieldError::new(
                    "value_error.range",
                    Loc::field(Place::Query, "limit"),
                    "deve estar entre 1 e 1000",
                    serde_json::Value::from(limit),
                ));
                None
            }
        }
    })?;
    let records = blocking::run(move || api.store.deliveries(WebhookId(id), limit))
        .await?
        .ok_or_else(not_found)?;
    let body: Vec<DeliveryResponse> = records.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

//! `POST /webhooks/pipedrive`: Pipedrive's webhook deliveries (extension).
//!
//! Not behind an `api-key`: Pipedrive cannot send one. Pipedrive webhooks are unsigned; HTTP
//! basic auth with the credentials of `PIPEDRIVE_WEBHOOK_USER`/`PIPEDRIVE_WEBHOOK_PASSWORD` is
//! their protection (checked in constant time, before the body is read). Without those
//! credentials configured the route answers 404 `{"detail": "Not Found"}`, as if it did not
//! exist.
//!
//! The answer comes within milliseconds: the delivery is only parsed and recorded (once per
//! event: a redelivery is acknowledged and dropped); the background worker assigns the record
//! later. Pipedrive counts slow or non-2xx answers against the webhook and retries them.

use crate::auth::Require;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::post;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};
use serde_json::Value;

use crate::blocking;
use crate::errors::{ApiError, DetailResponse, ValidationErrorResponse};
use crate::input::JsonBody;
use crate::pipedrive::WebhookIntake;
use crate::routes::doc_parts::BodyTooLarge;
use crate::state::ApiState;
use crate::validation::{FieldError, Loc, Place, WireRule};

/// The answer to every accepted delivery.
pub const RECEIVED_DETAIL: &str = "recebido";

/// A caller that presented the webhook's basic-auth credentials; the webhook settings.
#[derive(Debug)]
pub struct WebhookCaller(WebhookIntake);

impl FromRequest for WebhookCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let intake = req
            .app_data::<Data<ApiState>>()
            .and_then(|state| state.pipedrive.as_ref())
            .and_then(|integration| integration.webhook.clone());
        let Some(intake) = intake else {
            return ready(Err(ApiError::NotFound));
        };
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        ready(if intake.credentials.accept(authorization) {
            Ok(Self(intake))
        } else {
            Err(ApiError::BadCredentials)
        })
    }
}

/// Records one Pipedrive webhook v2 delivery for the background worker.
#[utoipa::path(
    operation_id = "webhook_pipedrive",
    tag = "pipedrive",
    security(("pipedrive-webhook" = [])),
    request_body(
        content = Object,
        description = "A Pipedrive webhook v2 delivery (`meta`, `data`, `previous`). Created deals and leads are handed to the next consultant in the language of the configured custom field (or the default language); every other event is recorded and ignored.",
        example = json!({
            "meta": {"action": "create", "entity": "deal", "entity_id": "42", "attempt": 1,
                     "id": "6f1c9a2e-8b4d-4f3a-a7e5-1d2c3b4a5f60", "version": "2.0"},
            "data": {"id": 42, "owner_id": 1001, "title": "Site: pedido de orçamento",
                     "custom_fields": {"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678": {"type": "varchar", "value": "es"}}},
            "previous": null
        })
    ),
    responses(
        (status = 200, description = "Recorded (or a redelivery of an event already recorded).", body = DetailResponse,
            example = json!({"detail": "recebido"})),
        (status = 401, description = "Missing or wrong basic-auth credentials.", body = DetailResponse,
            example = json!({"detail": "Credenciais inválidas"})),
        (status = 404, description = "The webhook is not configured (`PIPEDRIVE_WEBHOOK_USER`/`PIPEDRIVE_WEBHOOK_PASSWORD`).", body = DetailResponse,
            example = json!({"detail": "Not Found"})),
        BodyTooLarge,
        (status = 422, description = "Not a Pipedrive webhook v2 delivery.", body = ValidationErrorResponse),
    )
)]
#[post("/webhooks/pipedrive", wrap = "Require::of::<Self>()")]
pub async fn pipedrive(
    state: Data<ApiState>,
    WebhookCaller(intake): WebhookCaller,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let bytes = match &body {
        JsonBody::Json(value) => serde_json::to_vec(value).map_err(ApiError::internal)?,
        JsonBody::Missing => return Err(invalid(WireRule::Missing, Value::Null)),
        JsonBody::NotJson(text) => {
            return Err(invalid(WireRule::JsonInvalid, Value::String(text.clone())))
        }
    };
    let event = intake.decoder.decode(&bytes).map_err(|error| {
        ApiError::Validation(vec![FieldError::new(
            "value_error.pipedrive_webhook",
            Loc::root(Place::Body),
            error.to_string(),
            Value::Null,
        )])
    })?;
    let now = state.distribution.now();
    let inbox = intake.inbox.clone();
    let new = blocking::run(move || inbox.record(&event, now)).await?;
    state.metrics.webhook_received(new);
    Ok(HttpResponse::Ok().json(DetailResponse::new(RECEIVED_DETAIL)))
}

fn invalid(rule: WireRule, input: Value) -> ApiError {
    ApiError::Validation(vec![FieldError::rule(rule, Loc::root(Place::Body), input)])
}

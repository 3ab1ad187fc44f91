//! Outbound webhooks on the wire (`/webhooks`).

use consultores_domain::{DeliveryRecord, NewWebhook, Webhook, WebhookEvent, WebhookSecret};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::time::timestamp;
use crate::input::{JsonBody, ObjectReader, Presence, Slot};
use crate::validation::{FieldError, Loc, Place, Problems};

/// The longest `url` and `descricao` accepted.
const MAX_URL_CHARS: usize = 2000;
const MAX_DESCRIPTION_CHARS: usize = 255;

super::wire_enum_schema! {
    /// `eventos` values.
    WebhookEventWire as "EventoWebhook" = consultores_domain::WebhookEvent
}

/// A subscription (its secret is shown only by `POST /webhooks`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Webhook, example = json!({
    "id": 3, "url": "https://crm.exemplo.com/ganchos/consultores", "eventos": ["atribuicao"],
    "descricao": "CRM interno", "ativo": true, "created_at": "2026-11-29T14:30:00.123456+00:00"
}))]
pub struct WebhookResponse {
    pub id: i64,
    pub url: String,
    #[schema(value_type = Vec<WebhookEventWire>)]
    #[serde(rename = "eventos")]
    pub events: Vec<&'static str>,
    #[serde(rename = "descricao")]
    pub description: Option<String>,
    #[serde(rename = "ativo")]
    pub active: bool,
    pub created_at: String,
    /// `whsec_` + base64 of 32 random bytes: shown once, in the answer of `POST /webhooks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(rename = "segredo")]
    pub secret: Option<String>,
}

impl WebhookResponse {
    pub fn new(webhook: Webhook, secret: Option<&WebhookSecret>) -> Self {
        Self {
            id: webhook.id.0,
            url: webhook.url,
            events: webhook.events.iter().map(|event| event.as_str()).collect(),
            description: webhook.description,
            active: webhook.active,
            created_at: timestamp(&webhook.created_at),
            secret: secret.map(|secret| secret.expose().to_owned()),
        }
    }
}

/// One delivery of a subscription.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EntregaWebhook)]
pub struct DeliveryResponse {
    pub id: i64,
    #[schema(value_type = WebhookEventWire)]
    #[serde(rename = "evento")]
    pub event: &'static str,
    /// `pendente`, `entregue` or `falhou`.
    #[serde(rename = "estado")]
    pub state: &'static str,
    #[serde(rename = "tentativas")]
    pub attempts: u32,
    /// The receiver's last HTTP status, if it answered.
    #[serde(rename = "ultimo_status")]
    pub last_status: Option<u16>,
    #[serde(rename = "ultimo_erro")]
    pub last_error: Option<String>,
    /// When the next try is due (`null` once delivered or failed).
    #[serde(rename = "proxima_tentativa")]
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

impl From<DeliveryRecord> for DeliveryResponse {
    fn from(record: DeliveryRecord) -> Self {
        Self {
            id: record.id.0,
            event: record.event.as_str(),
            state: record.status.as_str(),
            attempts: record.attempts,
            last_status: record.last_status,
            last_error: record.last_error,
            next_attempt_at: record.next_attempt.as_ref().map(timestamp),
            created_at: timestamp(&record.created_at),
        }
    }
}

/// Body of `POST /webhooks`.
#[derive(Debug, Default, ToSchema)]
#[schema(as = NovoWebhook, example = json!({
    "url": "https://crm.exemplo.com/ganchos/consultores",
    "eventos": ["atribuicao", "fila.expirada"],
    "descricao": "CRM interno"
}))]
pub struct WebhookCreateRequest {
    /// `https://…` (or `http://…` on a private network), at most 2,000 characters.
    #[schema(value_type = String)]
    pub url: Option<String>,
    /// At least one of `atribuicao`, `fila.expirada`, `protocolo.atualizado`, `consultor.conexao`.
    #[schema(rename = "eventos", value_type = Vec<WebhookEventWire>)]
    pub events: Option<Vec<String>>,
    /// At most 255 characters.
    #[schema(rename = "descricao", value_type = Option<String>)]
    pub description: Option<String>,
}

impl WebhookCreateRequest {
    /// Reads, checks and parses the body of `POST /webhooks`.
    pub fn parse(body: &JsonBody, problems: &mut Problems) -> Option<NewWebhook> {
        let new = Self::parse_into(body, problems);
        problems.order_fields(Place::Body, &["url", "eventos", "descricao"]);
        new
    }

    fn parse_into(body: &JsonBody, problems: &mut Problems) -> Option<NewWebhook> {
        let mut reader = ObjectReader::open(body, problems)?;
        let url = match reader.string("url", Presence::Required) {
            Slot::Set(raw) => check_url(&raw, &mut reader),
            _ => None,
        };
        let events = match reader.string_list("eventos", Presence::Required) {
            Slot::Set(names) => events(&names, &mut reader),
            _ => None,
        };
        let description = match reader.string("descricao", Presence::Nullable) {
            Slot::Set(text) if text.chars().count() > MAX_DESCRIPTION_CHARS => {
                reader.problems().push(FieldError::new(
                    "string_too_long",
                    Loc::field(Place::Body, "descricao"),
                    "deve ter no máximo 255 caracteres",
                    Value::String(text),
                ));
                return None;
            }
            Slot::Set(text) => Some(text),
            _ => None,
        };
        if !reader.problems().is_empty() {
            return None;
        }
        Some(NewWebhook {
            url: url?,
            events: events?,
            description,
        })
    }
}

fn check_url(raw: &str, reader: &mut ObjectReader<'_>) -> Option<String> {
    let usable = raw.chars().count() <= MAX_URL_CHARS
        && url::Url::parse(raw)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .is_some();
    if usable {
        return Some(raw.to_owned());
    }
    reader.problems().push(FieldError::new(
        "url_parsing",
        Loc::field(Place::Body, "url"),
        "deve ser uma URL http:// ou https:// de até 2000 caracteres",
        Value::String(raw.to_owned()),
    ));
    None
}

fn events(names: &[String], reader: &mut ObjectReader<'_>) -> Option<Vec<WebhookEvent>> {
    if names.is_empty() {
        reader.problems().push(FieldError::new(
            "too_short",
            Loc::field(Place::Body, "eventos"),
            "deve ter no mínimo 1 item(ns)",
            Value::Array(Vec::new()),
        ));
        return None;
    }
    let mut events: Vec<WebhookEvent> = Vec::new();
    let mut failed = false;
    for (index, name) in names.iter().enumerate() {
        match name.parse::<WebhookEvent>() {
            Ok(event) if !events.contains(&event) => events.push(event),
            Ok(_) => {}
            Err(problem) => {
                failed = true;
                reader.problems().push(FieldError::invalid(
                    &problem,
                    Loc::field(Place::Body, "eventos").index(index),
                    Value::String(name.clone()),
                ));
            }
        }
    }
    (!failed).then_some(events)
}

//! Pipedrive webhook v2 payloads, parsed into what the service acts on. Pure: no I/O.
//!
//! Format (<https://pipedrive.readme.io/docs/guide-for-webhooks-v2>, "Webhook format" and
//! "Webhook's meta block"; <https://pipedrive.readme.io/docs/webhooks-v2-migration-guide>,
//! "Custom fields format in webhooks v2"):
//!
//! ```json
//! { "meta": { "action": "create", "entity": "deal", "entity_id": "8", "attempt": 1,
//!             "id": "…event uuid…", "change_source": "app", "user_id": "12415231",
//!             "version": "2.0", … },
//!   "data": { "id": 8, "owner_id": 12415231, "custom_fields": { "<40-char key>": {…} }, … },
//!   "previous": null }
//! ```
//!
//! `data` is the record after the event (`null` on delete); `previous` holds only the fields that
//! changed (`null` on create). Pipedrive sends ids in `meta` as strings, and retries a delivery
//! up to 3 times (`attempt` 2–4) when the answer is not a 2xx within 10 seconds.

use std::fmt;

use consultores_domain::{CrmTarget, PipedriveUserId};
use serde_json::{Map, Number, Value};

/// For an enum of known wire names plus `Other(String)` for any name this service does not know:
/// reading a wire name, writing it back (`Other` as received) and displaying it.
macro_rules! open_wire_names {
    ($name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        impl $name {
            fn parse(text: &str) -> Self {
                match text {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The wire name, as Pipedrive sends it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// What happened to the record (`meta.action`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAction {
    /// `create`: a new record.
    Create,
    /// `change`: an update (also the surviving record of a merge).
    Change,
    /// `delete`: a removal.
    Delete,
    /// An action this service does not know; kept so it can be recorded.
    Other(String),
}

open_wire_names!(WebhookAction {
    Create => "create",
    Change => "change",
    Delete => "delete",
});

/// The kind of record (`meta.entity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEntity {
    /// `deal`
    Deal,
    /// `lead` (v2 only; ids are UUIDs)
    Lead,
    /// `person`
    Person,
    /// Any other entity (`activity`, `note`, `organization`, …).
    Other(String),
}

open_wire_names!(WebhookEntity {
    Deal => "deal",
    Lead => "lead",
    Person => "person",
});

/// The value of one custom field in a webhook v2 payload.
///
/// Webhooks v2 wrap each value with its type (`{"type": "varchar", "value": "…"}`); single and
/// multiple option fields carry only option ids (`{"type": "enum", "id": 17}`), whose labels come
/// from `GET /api/v1/dealFields` (see [`crate::PipedriveClient::field_options`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomFieldValue {
    /// A text-like value (`varchar`, `text`, `varchar_auto`, `phone`, `date`, …).
    Text(String),
    /// A number (`double`, `monetary`).
    Number(Number),
    /// A single option (`enum`): the option id.
    Option(i64),
    /// Multiple options (`set`): the option ids.
    Options(Vec<i64>),
    /// Anything else (address parts, ranges, user/person/org references), as sent.
    Other(Value),
}

impl CustomFieldValue {
    /// The text of a text-like value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    fn from_wire(value: &Value) -> Option<Self> {
        match value {
            Value::Null => None,
            Value::String(text) => Some(Self::Text(text.clone())),
            // Untyped values are the shape of API answers (records read by the catch-up), where
            // an option field holds its option id; webhooks v2 type every value.
            Value::Number(number) => Some(
                number
                    .as_i64()
                    .map_or_else(|| Self::Number(number.clone()), Self::Option),
            ),
            Value::Object(fields) => Self::from_typed(fields, value),
            other => Some(Self::Other(other.clone())),
        }
    }

    fn from_typed(fields: &Map<String, Value>, whole: &Value) -> Option<Self> {
        let kind = fields.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "enum" => fields.get("id").and_then(as_i64).map(Self::Option),
            "set" => {
                let ids = fields
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|values| {
                        values
                            .iter()
                            .filter_map(|option| option.get("id").and_then(as_i64))
                            .collect()
                    })
                    .unwrap_or_default();
                Some(Self::Options(ids))
            }
            // Address and range values carry more than `value`; keep them whole.
            "address" | "daterange" | "timerange" | "monetary" => Some(Self::Other(whole.clone())),
            _ => match fields.get("value") {
                Some(Value::Null) => None,
                Some(Value::String(text)) => Some(Self::Text(text.clone())),
                Some(Value::Number(number)) => Some(Self::Number(number.clone())),
                _ => Some(Self::Other(whole.clone())),
            },
        }
    }
}

/// A webhook v2 delivery, parsed. Unknown actions and entities are kept (not errors), so the
/// endpoint can record and acknowledge every delivery; only a payload without the fields that
/// identify the event is rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// `meta.action`
    pub action: WebhookAction,
    /// `meta.entity`
    pub entity: WebhookEntity,
    /// `meta.entity_id`: a number for deals and persons, a UUID for leads (always a string here).
    pub entity_id: String,
    /// `meta.attempt`: 1 on the first delivery, up to 4 on retries (1 when absent).
    pub attempt: u32,
    /// `meta.id`: the id of the event.
    pub event_id: Option<String>,
    /// `meta.change_source`: `app` (web app) or `api` (an API call, such as ours).
    pub change_source: Option<String>,
    /// `meta.user_id`: the user whose action triggered the event.
    pub user_id: Option<i64>,
    /// `meta.merged_to_id`: on the delete event of a record merged into another (webhooks v2
    /// send a delete for the merged record and a change for the one it was merged into), the
    /// id of the surviving record.
    pub merged_to_id: Option<String>,
    /// `data`: the record after the event (`Null` on delete).
    pub data: Value,
    /// `previous`: the changed fields before the event (`None` on create).
    pub previous: Option<Value>,
}

/// Why a body is not a usable webhook v2 payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookPayloadError {
    /// Not JSON, or not a JSON object.
    #[error("o corpo do webhook não é um JSON válido: {0}")]
    InvalidJson(String),
    /// A field that identifies the event is missing or empty.
    #[error("o webhook não tem o campo {0}")]
    MissingField(&'static str),
    /// A webhook of another version (v1 sends `meta.v`, `meta.object` and `current`).
    #[error("webhook na versão {0}; registre o webhook na versão 2.0")]
    UnsupportedVersion(String),
}

impl WebhookEvent {
    /// Parses a delivery body.
    pub fn parse(body: &[u8]) -> Result<Self, WebhookPayloadError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| WebhookPayloadError::InvalidJson(error.to_string()))?;
        Self::from_value(value)
    }

    /// Parses a delivery already read as JSON.
    pub fn from_value(mut value: Value) -> Result<Self, WebhookPayloadError> {
        let body = value
            .as_object_mut()
            .ok_or_else(|| WebhookPayloadError::InvalidJson("não é um objeto".into()))?;
        let meta = body
            .get("meta")
            .and_then(Value::as_object)
            .ok_or(WebhookPayloadError::MissingField("meta"))?;

        if let Some(version) = meta.get("version").and_then(id_text) {
            if !version.starts_with('2') {
                return Err(WebhookPayloadError::UnsupportedVersion(version));
            }
        } else if meta.contains_key("v") || meta.contains_key("object") {
            let version = meta
                .get("v")
                .and_then(id_text)
                .unwrap_or_else(|| "1".into());
            return Err(WebhookPayloadError::UnsupportedVersion(version));
        }

        let action = meta
            .get("action")
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(WebhookAction::parse)
            .ok_or(WebhookPayloadError::MissingField("meta.action"))?;
        let entity = meta
            .get("entity")
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(WebhookEntity::parse)
            .ok_or(WebhookPayloadError::MissingField("meta.entity"))?;
        let attempt = meta
            .get("attempt")
            .and_then(Value::as_u64)
            .and_then(|attempt| u32::try_from(attempt).ok())
            .unwrap_or(1);
        let event_id = meta.get("id").and_then(id_text);
        let change_source = meta
            .get("change_source")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let user_id = meta.get("user_id").and_then(as_i64);
        let merged_to_id = meta.get("merged_to_id").and_then(id_text);

        let data = body.remove("data").unwrap_or(Value::Null);
        let previous = body.remove("previous").filter(|value| !value.is_null());
        let entity_id = body
            .get("meta")
            .and_then(|meta| meta.get("entity_id"))
            .and_then(id_text)
            // Older deliveries may lack `entity_id`; the record's own id says the same.
            .or_else(|| data.get("id").and_then(id_text))
            .or_else(|| {
                previous
                    .as_ref()
                    .and_then(|p| p.get("id"))
                    .and_then(id_text)
            })
            .ok_or(WebhookPayloadError::MissingField("meta.entity_id"))?;

        Ok(Self {
            action,
            entity,
            entity_id,
            attempt,
            event_id,
            change_source,
            user_id,
            merged_to_id,
            data,
            previous,
        })
    }

    /// The deal, lead or person this event is about, whatever the action.
    pub fn record(&self) -> Option<CrmTarget> {
        match self.entity {
            WebhookEntity::Deal => positive_id(&self.entity_id).map(CrmTarget::Deal),
            WebhookEntity::Lead => Some(CrmTarget::Lead(self.entity_id.clone())),
            WebhookEntity::Person => positive_id(&self.entity_id).map(CrmTarget::Person),
            WebhookEntity::Other(_) => None,
        }
    }

    /// The record to hand to a consultant: a newly created deal or lead. `None` for every other
    /// event (changes, deletes, other entities), which the service only records.
    pub fn target(&self) -> Option<CrmTarget> {
        let assignable = matches!(self.entity, WebhookEntity::Deal | WebhookEntity::Lead);
        if self.action == WebhookAction::Create && assignable {
            self.record()
        } else {
            None
        }
    }

    /// The owner of the record after the event (`data.owner_id`).
    pub fn owner_id(&self) -> Option<PipedriveUserId> {
        user_id_in(&self.data)
    }

    /// The owner before the event, when the event changed it (`previous.owner_id`).
    pub fn previous_owner_id(&self) -> Option<PipedriveUserId> {
        self.previous.as_ref().and_then(user_id_in)
    }

    /// The value of a custom field (its 40-character key) in `data.custom_fields`; `None` when
    /// the field is absent or empty. A key found at the top level of `data` (the shape of API
    /// responses before v2) is read too.
    pub fn custom_field(&self, key: &str) -> Option<CustomFieldValue> {
        self.data
            .get("custom_fields")
            .and_then(|fields| fields.get(key))
            .or_else(|| self.data.get(key))
            .and_then(CustomFieldValue::from_wire)
    }

    /// True when this is the change event of an owner update to `user`: action `change`, the
    /// owner is among the changed fields, and the new owner is `user`. After the service makes a
    /// consultant the owner, Pipedrive sends exactly this event; recognising it avoids a loop.
    pub fn is_owner_change_to(&self, user: PipedriveUserId) -> bool {
        let owner_changed = self
            .previous
            .as_ref()
            .is_some_and(|previous| previous.get("owner_id").is_some());
        self.action == WebhookAction::Change && owner_changed && self.owner_id() == Some(user)
    }

    /// The record this one was converted from, when Pipedrive says: a deal's `source_lead_id`
    /// (a lead converted to a deal), a lead's `source_deal_id` (a deal converted to a lead).
    pub fn converted_from(&self) -> Option<CrmTarget> {
        match self.entity {
            WebhookEntity::Deal => self
                .data
                .get("source_lead_id")
                .and_then(Value::as_str)
                .and_then(|uuid| CrmTarget::lead(uuid).ok()),
            WebhookEntity::Lead => self
                .data
                .get("source_deal_id")
                .and_then(as_i64)
                .and_then(|id| CrmTarget::deal(id).ok()),
            _ => None,
        }
    }

    /// True when the change event moved the record to another owner than `previous.owner_id`.
    pub fn changed_owner(&self) -> bool {
        self.action == WebhookAction::Change
            && self.previous_owner_id().is_some()
            && self.owner_id().is_some()
            && self.previous_owner_id() != self.owner_id()
    }

    /// A key naming the event, equal across redeliveries of it: `create:deal:8`. Pipedrive
    /// redelivers an event when our answer was slow or not 2xx, so the endpoint stores events
    /// under this key and assigns each created record once.
    pub fn dedup_key(&self) -> String {
        format!("{}:{}:{}", self.action, self.entity, self.entity_id)
    }
}

fn user_id_in(record: &Value) -> Option<PipedriveUserId> {
    record
        .get("owner_id")
        .and_then(as_i64)
        .and_then(|id| PipedriveUserId::new(id).ok())
}

fn positive_id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|id| *id > 0)
}

/// An integer sent as a number or as a string (v2 `meta` sends ids as strings).
fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// An id sent as a string or a number, as a non-empty string.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

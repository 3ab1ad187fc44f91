//! The record of operations (`auditoria`): who changed what, when, and how.
//!
//! Every state-changing operation of the service writes exactly one [`AuditEntry`] in the same
//! transaction as the change, so the record and the data can never disagree: a failed or
//! rejected operation leaves no entry, an idempotent replay writes none, and an operation that
//! changes nothing (a switch to the state already stored, a PUT of the stored values) writes
//! none either: the record lists changes.
//!
//! An entry names the caller by its API key's id and description (never the key itself), the
//! request id, the [`AuditAction`], the entity and its id, and the changed fields only, each as
//! `{"antes": …, "depois": …}` under its wire name.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::api_key::ApiKeyId;

mod page;

pub use page::{AuditFilter, AuditPage, AuditPageRequest};

/// Who performs an operation: passed to every port method that changes state, and written to
/// its audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The stored API key's id; `None` for the configured key and for the command line.
    pub api_key_id: Option<ApiKeyId>,
    /// The key's description at the time of the operation ([`Actor::CONFIGURED_KEY`] for the
    /// configured key, [`Actor::CLI`] for the command line, empty for a stored key without one).
    pub api_key_description: String,
    /// The request id (`X-Request-Id`), or an id generated for a command-line run.
    pub request_id: String,
}

impl Actor {
    /// The description recorded for the key configured in `AUTHENTICATION_API_KEY`.
    pub const CONFIGURED_KEY: &'static str = "AUTHENTICATION_API_KEY";
    /// The description recorded for operations run from the command line.
    pub const CLI: &'static str = "cli";
    /// The description recorded for what the service does by itself at start-up.
    pub const STARTUP: &'static str = "startup";
    /// The description recorded for assignments made from Pipedrive webhooks.
    pub const PIPEDRIVE_WEBHOOK: &'static str = "pipedrive-webhook";
    /// The description recorded for what the waiting queue's dispatcher does by itself.
    pub const QUEUE: &'static str = "fila";

    /// The key configured in `AUTHENTICATION_API_KEY` (it has no id).
    pub fn configured_key(request_id: impl Into<String>) -> Self {
        Self {
            api_key_id: None,
            api_key_description: Self::CONFIGURED_KEY.to_owned(),
            request_id: request_id.into(),
        }
    }

    /// A key stored in the database.
    pub fn stored_key(
        id: ApiKeyId,
        description: Option<&str>,
        request_id: impl Into<String>,
    ) -> Self {
        Self {
            api_key_id: Some(id),
            api_key_description: description.unwrap_or_default().to_owned(),
            request_id: request_id.into(),
        }
    }

    /// The command line (`consultores api-key …`).
    pub fn cli(request_id: impl Into<String>) -> Self {
        Self {
            api_key_id: None,
            api_key_description: Self::CLI.to_owned(),
            request_id: request_id.into(),
        }
    }

    /// The waiting queue's dispatcher (assignments of queued contacts, expirations).
    pub fn queue(request_id: impl Into<String>) -> Self {
        Self {
            api_key_id: None,
            api_key_description: Self::QUEUE.to_owned(),
            request_id: request_id.into(),
        }
    }

    /// The service itself at start-up (e.g. the admin key generated on a first start).
    pub fn startup(request_id: impl Into<String>) -> Self {
        Self {
            api_key_id: None,
            api_key_description: Self::STARTUP.to_owned(),
            request_id: request_id.into(),
        }
    }
}

wire_names! {
    /// What an audit entry records (`acao`).
    pub enum AuditAction {
        /// `POST /consultor`.
        #[strum(serialize = "consultor.criado")]
        ConsultantCreated,
        /// `PUT /consultor/{id}` that does not change `status_online`.
        #[strum(serialize = "consultor.atualizado")]
        ConsultantUpdated,
        /// `DELETE /consultor/{id}`.
        #[strum(serialize = "consultor.removido")]
        ConsultantRemoved,
        /// Any change of `status_online`: `PUT /consultor/{id}/connection`, or a `PUT
        /// /consultor/{id}` whose changes include `status_online` (its other changed fields are in
        /// the same entry).
        #[strum(serialize = "consultor.conexao")]
        ConsultantConnection,
        /// `POST /protocolo` and `GET /gerar-protocolo`.
        #[strum(serialize = "protocolo.criado")]
        ProtocolCreated,
        /// `PUT /protocolo/{id}`.
        #[strum(serialize = "protocolo.atualizado")]
        ProtocolUpdated,
        /// `GET /consultor/da-vez`: recorded on the consultant who got the contact, with the
        /// protocol opened for it.
        #[strum(serialize = "atribuicao")]
        Assignment,
        /// `POST /api-keys`, `consultores api-key create`.
        #[strum(serialize = "api_key.criada")]
        ApiKeyCreated,
        /// `DELETE /api-keys/{id}`, `consultores api-key revoke`.
        #[strum(serialize = "api_key.revogada")]
        ApiKeyRevoked,
        /// `POST /fila`.
        #[strum(serialize = "fila.criada")]
        WaitingEntryCreated,
        /// A queue entry handed to a consultant (with the protocol opened for it; the assignment
        /// itself is also recorded as `atribuicao` on the consultant).
        #[strum(serialize = "fila.atribuida")]
        WaitingEntryAssigned,
        /// `DELETE /fila/{id}`.
        #[strum(serialize = "fila.cancelada")]
        WaitingEntryCancelled,
        /// A queue entry past its maximum wait.
        #[strum(serialize = "fila.expirada")]
        WaitingEntryExpired,
        /// `POST /webhooks` (never with the secret).
        #[strum(serialize = "webhook.criado")]
        WebhookCreated,
        /// `DELETE /webhooks/{id}`.
        #[strum(serialize = "webhook.removido")]
        WebhookRemoved,
    }
}

impl AuditAction {
    /// The kind of entity this action is recorded on.
    pub fn entity(self) -> AuditEntity {
        match self {
            Self::ConsultantCreated
            | Self::ConsultantUpdated
            | Self::ConsultantRemoved
            | Self::ConsultantConnection
            | Self::Assignment => AuditEntity::Consultant,
            Self::ProtocolCreated | Self::ProtocolUpdated => AuditEntity::Protocol,
            Self::ApiKeyCreated | Self::ApiKeyRevoked => AuditEntity::ApiKey,
            Self::WaitingEntryCreated
            | Self::WaitingEntryAssigned
            | Self::WaitingEntryCancelled
            | Self::WaitingEntryExpired => AuditEntity::WaitingEntry,
            Self::WebhookCreated | Self::WebhookRemoved => AuditEntity::Webhook,
        }
    }
}

wire_names! {
    /// The kind of thing an audit entry is about (`entidade`).
    pub enum AuditEntity {
        #[strum(serialize = "consultor")]
        Consultant,
        #[strum(serialize = "protocolo")]
        Protocol,
        #[strum(serialize = "api_key")]
        ApiKey,
        #[strum(serialize = "fila")]
        WaitingEntry,
        #[strum(serialize = "webhook")]
        Webhook,
    }
}

/// A field's value before or after a change, as JSON sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AuditValue {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
}

impl AuditValue {
    /// A timestamp in the wire's form (`2026-11-29T14:30:00.123456+00:00`).
    pub fn time(at: DateTime<Utc>) -> Self {
        Self::Text(audit_timestamp(&at))
    }

    /// `Null` for `None`, else the value.
    pub fn optional<T: Into<AuditValue>>(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }

    pub fn is_null(&self) -> bool {
        *self == Self::Null
    }
}

/// The form timestamps take inside [`AuditChanges`] (the wire's: UTC, microseconds, `+00:00`).
pub fn audit_timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

impl From<bool> for AuditValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<i64> for AuditValue {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<&str> for AuditValue {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for AuditValue {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<Vec<String>> for AuditValue {
    fn from(value: Vec<String>) -> Self {
        Self::List(value)
    }
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    #[serde(rename = "antes")]
    pub before: AuditValue,
    #[serde(rename = "depois")]
    pub after: AuditValue,
}

/// The changed fields of one operation, by wire name: serialized as
/// `{"status_online": {"antes": false, "depois": true}}`. Only fields whose value differs are
/// ever kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditChanges(BTreeMap<String, FieldChange>);

impl AuditChanges {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` if `before` and `after` differ.
    pub fn record(
        &mut self,
        field: &str,
        before: impl Into<AuditValue>,
        after: impl Into<AuditValue>,
    ) -> &mut Self {
        let (before, after) = (before.into(), after.into());
        if before != after {
            self.0
                .insert(field.to_owned(), FieldChange { before, after });
        }
        self
    }

    /// Records a field of something new (`antes` is null); a null value is no change.
    pub fn created(&mut self, field: &str, value: impl Into<AuditValue>) -> &mut Self {
        self.record(field, AuditValue::Null, value)
    }

    pub fn get(&self, field: &str) -> Option<&FieldChange> {
        self.0.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The changed fields' names, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// An audit entry's id: strictly increasing in insertion order, the key of keyset pagination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AuditEntryId(pub i64);

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    /// When the operation happened (`em`).
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: AuditAction,
    pub entity: AuditEntity,
    pub entity_id: i64,
    pub changes: AuditChanges,
}

impl AuditEntry {
    /// `status_online` after this operation, when the operation set it (a connection switch, or
    /// a consultant's creation).
    pub fn online_after(&self) -> Option<bool> {
        match self
            .changes
            .get("status_online")
            .map(|change| &change.after)
        {
            Some(AuditValue::Bool(online)) => Some(*online),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

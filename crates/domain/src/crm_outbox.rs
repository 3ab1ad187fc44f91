//! The CRM outbox: what the rotation decided to tell the CRM (make the consultant the owner of a
//! deal, lead or person; note which protocol was opened for whom), written in the same
//! transaction as the assignment and delivered later by a background worker.
//!
//! Writing the actions with the assignment means nothing is lost (a crash after COMMIT leaves
//! them pending; a rollback leaves none) and the rotation never waits on the CRM. Each action is
//! one [`OutboxItem`]; its [`DeliveryState`] is what clients see under `pipedrive.acoes`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crm::CrmTarget;
use crate::error::DomainError;
use crate::protocol::ProtocolId;
use crate::values::{InvalidValue, PipedriveUserId, ProtocolNumber};

/// The text of the note added to the CRM record, with `{numero}` and `{consultor}` standing for
/// the protocol number and the consultant's name. The persistence adapter fills it in inside the
/// assignment's own statement (PostgreSQL) or transaction (SQLite), so it binds this template
/// rather than writing the text twice.
pub const ASSIGNMENT_NOTE_TEMPLATE: &str =
    "Protocolo {numero} — atendimento atribuído a {consultor}";

/// The note for a protocol opened for a consultant: "Protocolo #00042 — atendimento atribuído a
/// João Silva". `{numero}` is replaced first, so a name that happens to contain `{numero}` is
/// kept as written (the same order as the SQL of the persistence adapter).
pub fn assignment_note(number: &ProtocolNumber, consultant_name: &str) -> String {
    ASSIGNMENT_NOTE_TEMPLATE
        .replace("{numero}", &number.to_string())
        .replace("{consultor}", consultant_name)
}

/// An outbox item's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutboxItemId(pub i64);

wire_names! {
    /// The kinds of CRM action, with their wire and stored names.
    pub enum CrmActionKind {
        /// Make the consultant's CRM user the owner of the record (`definir_responsavel`).
        #[strum(serialize = "definir_responsavel")]
        SetOwner,
        /// Add a note to the record (`adicionar_nota`).
        #[strum(serialize = "adicionar_nota")]
        AddNote,
    }
}

/// One action to perform in the CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmAction {
    /// Make this CRM user the owner of the record.
    SetOwner(PipedriveUserId),
    /// Add a note with this plain text to the record.
    AddNote(String),
}

impl CrmAction {
    /// The kind of this action.
    pub fn kind(&self) -> CrmActionKind {
        match self {
            Self::SetOwner(_) => CrmActionKind::SetOwner,
            Self::AddNote(_) => CrmActionKind::AddNote,
        }
    }
}

wire_names! {
    /// The kinds of CRM record, with their wire and stored names (Pipedrive's entity names).
    pub enum CrmTargetKind {
        #[strum(serialize = "deal")]
        Deal,
        #[strum(serialize = "lead")]
        Lead,
        #[strum(serialize = "person")]
        Person,
    }
}

impl CrmTarget {
    /// A deal by its (positive) id.
    pub fn deal(id: i64) -> Result<Self, InvalidValue> {
        positive(id).map(Self::Deal)
    }

    /// A person by its (positive) id.
    pub fn person(id: i64) -> Result<Self, InvalidValue> {
        positive(id).map(Self::Person)
    }

    /// A lead by its UUID (`8-4-4-4-12` hexadecimal digits, any case; kept lowercase).
    pub fn lead(uuid: &str) -> Result<Self, InvalidValue> {
        parse_uuid(uuid).map(Self::Lead)
    }

    /// Rebuilds a target from its stored kind and id text.
    pub fn from_parts(kind: CrmTargetKind, id: &str) -> Result<Self, InvalidValue> {
        match kind {
            CrmTargetKind::Deal => {
                Self::deal(id.trim().parse().map_err(|_| InvalidValue::NotPositive)?)
            }
            CrmTargetKind::Person => {
                Self::person(id.trim().parse().map_err(|_| InvalidValue::NotPositive)?)
            }
            CrmTargetKind::Lead => Self::lead(id),
        }
    }

    /// The kind of record.
    pub fn kind(&self) -> CrmTargetKind {
        match self {
            Self::Deal(_) => CrmTargetKind::Deal,
            Self::Lead(_) => CrmTargetKind::Lead,
            Self::Person(_) => CrmTargetKind::Person,
        }
    }

    /// The record's id as text (a number for deals and persons, a UUID for leads).
    pub fn id_text(&self) -> String {
        match self {
            Self::Deal(id) | Self::Person(id) => id.to_string(),
            Self::Lead(uuid) => uuid.clone(),
        }
    }
}

fn positive(id: i64) -> Result<i64, InvalidValue> {
    if id > 0 {
        Ok(id)
    } else {
        Err(InvalidValue::NotPositive)
    }
}

/// A UUID in its canonical text form, lowercased.
fn parse_uuid(raw: &str) -> Result<String, InvalidValue> {
    let text = raw.trim();
    let bytes = text.as_bytes();
    let canonical = bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        });
    if canonical {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(InvalidValue::NotAUuid)
    }
}

wire_names! {
    /// The stored and wire names of a [`DeliveryState`] (`estado`).
    pub enum DeliveryStateName {
        #[strum(serialize = "pendente")]
        Pending,
        #[strum(serialize = "concluido")]
        Done,
        #[strum(serialize = "falhou")]
        Failed,
    }
}

/// Where an action stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet (`pendente`): waiting for the worker, or for a retry after a temporary
    /// failure, whose reason is `last_error`.
    Pending { last_error: Option<String> },
    /// Delivered (`concluido`).
    Done,
    /// Given up (`falhou`): a permanent error, or temporary ones for too long.
    Failed { reason: String },
}

impl DeliveryState {
    /// The stored and wire name's variant.
    pub fn name(&self) -> DeliveryStateName {
        match self {
            Self::Pending { .. } => DeliveryStateName::Pending,
            Self::Done => DeliveryStateName::Done,
            Self::Failed { .. } => DeliveryStateName::Failed,
        }
    }

    /// The stored and wire name: `pendente`, `concluido`, `falhou`.
    pub fn as_str(&self) -> &'static str {
        self.name().as_str()
    }

    /// Why it failed, or why the last try of a pending action did not succeed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Pending { last_error } => last_error.as_deref(),
            Self::Done => None,
            Self::Failed { reason } => Some(reason),
        }
    }

    /// Rebuilds a state from its stored name and reason.
    pub fn from_parts(state: &str, reason: Option<String>) -> Result<Self, InvalidValue> {
        Ok(match state.parse()? {
            DeliveryStateName::Pending => Self::Pending { last_error: reason },
            DeliveryStateName::Done => Self::Done,
            DeliveryStateName::Failed => Self::Failed {
                reason: reason.unwrap_or_default(),
            },
        })
    }
}

/// One action of a protocol and where it stands: what `pipedrive.acoes` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StatusRecord", try_from = "StatusRecord")]
pub struct CrmActionStatus {
    pub action: CrmActionKind,
    pub target: CrmTarget,
    pub state: DeliveryState,
    /// Tries made so far.
    pub attempts: u32,
}

/// The serde form of [`CrmActionStatus`] (kept inside stored idempotent answers).
#[derive(Serialize, Deserialize)]
struct StatusRecord {
    #[serde(rename = "acao")]
    action: CrmActionKind,
    #[serde(rename = "alvo")]
    target_kind: CrmTargetKind,
    #[serde(rename = "alvo_id")]
    target_id: String,
    #[serde(rename = "estado")]
    state: DeliveryStateName,
    #[serde(rename = "motivo")]
    reason: Option<String>,
    #[serde(rename = "tentativas", default)]
    attempts: u32,
}

impl From<CrmActionStatus> for StatusRecord {
    fn from(status: CrmActionStatus) -> Self {
        Self {
            action: status.action,
            target_kind: status.target.kind(),
            target_id: status.target.id_text(),
            state: status.state.name(),
            reason: status.state.reason().map(str::to_owned),
            attempts: status.attempts,
        }
    }
}

impl TryFrom<StatusRecord> for CrmActionStatus {
    type Error = InvalidValue;

    fn try_from(record: StatusRecord) -> Result<Self, Self::Error> {
        Ok(Self {
            action: record.action,
            target: CrmTarget::from_parts(record.target_kind, &record.target_id)?,
            state: DeliveryState::from_parts(record.state.as_str(), record.reason)?,
            attempts: record.attempts,
        })
    }
}

/// The claim a worker holds on an item: its id and the end of the lease it was given. Claims
/// taken one after the other on one item always have different lease ends (a new claim starts
/// when the previous lease has ended), so the pair identifies one claim: settling an item with a
/// claim that has expired and been taken over by another worker changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutboxClaim {
    pub id: OutboxItemId,
    pub lease_until: DateTime<Utc>,
}

/// A pending action claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: OutboxItemId,
    /// The end of this worker's lease on the item (as stored).
    pub lease_until: DateTime<Utc>,
    /// The protocol whose assignment decided the action.
    pub protocol_id: Option<ProtocolId>,
    pub target: CrmTarget,
    pub action: CrmAction,
    /// Tries made before this one.
    pub attempts: u32,
    /// When the assignment wrote it.
    pub created_at: DateTime<Utc>,
    /// For a note: the CRM user the same assignment made the owner (the consultant), whom the
    /// note may be written as.
    pub note_author: Option<PipedriveUserId>,
}

impl OutboxItem {
    /// The claim this worker holds on the item.
    pub fn claim(&self) -> OutboxClaim {
        OutboxClaim {
            id: self.id,
            lease_until: self.lease_until,
        }
    }
}

/// The stored CRM actions. Every method reports a store that cannot be reached as
/// [`DomainError::Unavailable`]. Items are written by the assignment (see
/// [`crate::ports::AssignmentPort`]), whose audit entry records the decision; this port delivers
/// and reports them. Delivery progress is kept on the items themselves (state, attempts, reason)
/// and is not an audited operation: no [`crate::Actor`] performs it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmOutbox: Send + Sync {
    /// Claims up to `limit` items that are pending, due (`next attempt ≤ now`) and not leased
    /// (no lease, or one that ended at or before `now`), oldest first, and leases them until
    /// `lease_until`. A leased item is invisible to every other claim until its lease ends or it
    /// is completed, rescheduled, failed or released, so several workers (on several replicas)
    /// never deliver one item at the same time; a worker that dies leaves its items to be
    /// claimed again when the lease ends.
    ///
    /// An item whose stored row cannot be turned into an action (e.g. an owner id of 0 adopted
    /// from v6) is not returned: it is marked `falhou` with the reason in the same claim, so it
    /// never blocks the items after it.
    ///
    /// The settling methods below change an item only while the caller's claim is the one the
    /// item holds (same lease end, still pending): a worker whose lease ran out and whose item
    /// was claimed again by another worker changes nothing.
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, DomainError>;

    /// Marks a delivered item `concluido` after `attempts` tries (the lease ends).
    fn complete(
        &self,
        claim: OutboxClaim,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// Keeps an item pending after `attempts` tries, due again at `next_attempt_at`, with the
    /// reason of the last failure (the lease ends).
    fn reschedule(
        &self,
        claim: OutboxClaim,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        last_error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// Marks an item `falhou` after `attempts` tries, with the reason (the lease ends).
    fn fail(
        &self,
        claim: OutboxClaim,
        attempts: u32,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// Ends the lease of a claimed item that was not tried (the worker is pausing or stopping),
    /// due again at `next_attempt_at`; its attempts and last error stay as they were.
    fn release(
        &self,
        claim: OutboxClaim,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// The actions of a protocol and where they stand, in the order they were written (owner
    /// first, then the note). Empty when the protocol has none.
    fn states_for_protocol(
        &self,
        protocol: ProtocolId,
    ) -> Result<Vec<CrmActionStatus>, DomainError>;

    /// How many items are pending (for `/metrics` and the logs).
    fn pending_count(&self) -> Result<u64, DomainError>;

    /// The owner this service last made of `target` successfully, if any: used to recognise the
    /// CRM's change event that echoes our own update.
    fn last_owner_set(&self, target: &CrmTarget) -> Result<Option<PipedriveUserId>, DomainError>;

    /// The protocol of the latest assignment that queued actions for `target`, if any: the
    /// protocol a record keeps when it is converted (lead → deal) or changes owner in the CRM.
    fn latest_protocol(&self, target: &CrmTarget) -> Result<Option<ProtocolId>, DomainError>;

    /// Gives up every pending action for `target` (`falhou` with `reason`): the record was
    /// deleted or merged into another in the CRM. Returns how many were cancelled. An action a
    /// worker is delivering right now is cancelled too; its worker's settlement then changes
    /// nothing.
    fn cancel_pending(
        &self,
        target: &CrmTarget,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, DomainError>;
}

/// Whether the CRM asked for a pause of every call (a spent rate budget, a 429, a block).
/// Implemented by the CRM adapter from its answers (and, for Pipedrive, the pause every replica
/// shares through the database).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmThrottle: Send + Sync {
    /// How long to wait before the next call, when the budget is spent; `None` to go on.
    fn pause(&self) -> Option<Duration>;
}

/// When to try a failed action again. Implemented by the CRM adapter's backoff.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RetryPolicy: Send + Sync {
    /// The wait after `attempt` failed tries (1 = the first try failed), at least
    /// `retry_after_secs` when the CRM said how long to wait.
    fn next_delay(&self, attempt: u32, retry_after_secs: Option<u64>) -> Duration;
}

#[cfg(test)]
mod tests;

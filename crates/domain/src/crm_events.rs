//! Events the CRM sends (Pipedrive webhooks): recorded as they arrive, answered at once, and
//! processed by the background worker (a created deal or lead is handed to the next consultant).
//!
//! Each event is stored under a deduplication key that is the same for every redelivery of it,
//! so a redelivered webhook is recorded (and assigned) once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::protocol::ProtocolId;
use crate::waiting::WaitingEntryId;

/// A recorded event's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CrmEventId(pub i64);

/// An event to record, as the CRM adapter decoded it from a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCrmEvent {
    /// Equal for every redelivery of one event (e.g. `create:deal:42`); unique in the store.
    pub key: String,
    /// What happened (`create`, `change`, `delete`, …).
    pub action: String,
    /// The kind of record (`deal`, `lead`, `person`, …).
    pub entity: String,
    /// The record's id as the CRM sent it.
    pub entity_id: String,
    /// Which delivery of the event this is (1 = the first).
    pub attempt: u32,
    /// The delivery body (JSON), kept for processing and for the record.
    pub payload: String,
}

/// The claim a worker holds on an event: its id and the end of its lease (see
/// [`crate::OutboxClaim`]: the pair identifies one claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CrmEventClaim {
    pub id: CrmEventId,
    pub lease_until: DateTime<Utc>,
}

/// A recorded event, claimed for processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmEvent {
    pub id: CrmEventId,
    /// The end of this worker's lease on the event (as stored).
    pub lease_until: DateTime<Utc>,
    pub key: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub attempt: u32,
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

impl CrmEvent {
    /// The claim this worker holds on the event.
    pub fn claim(&self) -> CrmEventClaim {
        CrmEventClaim {
            id: self.id,
            lease_until: self.lease_until,
        }
    }
}

wire_names! {
    /// The stored states of an event (`estado`): `pendente` until processed, then the state of its
    /// [`CrmEventOutcome`].
    pub enum CrmEventState {
        #[strum(serialize = "pendente")]
        Pending,
        #[strum(serialize = "concluido")]
        Done,
        #[strum(serialize = "ignorado")]
        Ignored,
        #[strum(serialize = "falhou")]
        Failed,
    }
}

/// How processing an event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmEventOutcome {
    /// The record was handed to a consultant: this protocol was opened (`concluido`).
    Assigned { protocol: ProtocolId },
    /// Nothing to do (`ignorado`): not a created deal or lead, or the echo of our own update.
    Ignored { reason: String },
    /// The event concerns a protocol already open, which it was recorded on (`concluido`, with
    /// the reason and the protocol): a deal converted from a lead keeps the lead's protocol; an
    /// owner changed by a person in the CRM.
    Linked {
        protocol: ProtocolId,
        reason: String,
    },
    /// It could not be processed (`falhou`): no usable language, nobody available without a
    /// waiting queue, …
    Failed { reason: String },
    /// Nobody was available: the record waits in the queue (`concluido`, with the entry named
    /// in the reason) and goes to the first consultant who frees up.
    Queued {
        entry: WaitingEntryId,
        reason: String,
    },
}

impl CrmEventOutcome {
    /// The stored state's variant.
    pub fn stored_state(&self) -> CrmEventState {
        match self {
            Self::Assigned { .. } | Self::Linked { .. } | Self::Queued { .. } => {
                CrmEventState::Done
            }
            Self::Ignored { .. } => CrmEventState::Ignored,
            Self::Failed { .. } => CrmEventState::Failed,
        }
    }

    /// The stored state: `concluido`, `ignorado` or `falhou`.
    pub fn state(&self) -> &'static str {
        self.stored_state().as_str()
    }

    /// The reason recorded with the state (none for an assignment).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Assigned { .. } => None,
            Self::Ignored { reason }
            | Self::Failed { reason }
            | Self::Linked { reason, .. }
            | Self::Queued { reason, .. } => Some(reason),
        }
    }

    /// The protocol opened, for an assignment.
    pub fn protocol(&self) -> Option<ProtocolId> {
        match self {
            Self::Assigned { protocol } | Self::Linked { protocol, .. } => Some(*protocol),
            _ => None,
        }
    }
}

/// Why a webhook delivery cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCrmEvent(pub String);

/// Turns the body of a webhook delivery into an event to record. Implemented by the CRM adapter,
/// which knows the payload format; pure (no I/O), so the endpoint can call it on the request path.
pub trait CrmEventDecoder: Send + Sync {
    /// The event in `body`, or why the body is not a usable delivery.
    fn decode(&self, body: &[u8]) -> Result<NewCrmEvent, InvalidCrmEvent>;
}

/// The recorded CRM events. Every method reports a store that cannot be reached as
/// [`DomainError::Unavailable`]. The events are their own record (state, reason, protocol); the
/// assignment an event causes is audited like any other, by the actor `pipedrive-webhook`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmEventInbox: Send + Sync {
    /// Records an event as pending, unless one with the same key exists; `true` when it was new.
    /// Safe under concurrent redeliveries: exactly one of them gets `true`.
    fn record(&self, event: &NewCrmEvent, now: DateTime<Utc>) -> Result<bool, DomainError>;

    /// When the latest event with this action and entity (`create`, `deal`) was received, if
    /// any: where a catch-up of missed events starts.
    fn last_received(
        &self,
        action: &str,
        entity: &str,
    ) -> Result<Option<DateTime<Utc>>, DomainError>;

    /// Claims up to `limit` pending events that are not leased (no lease, or one that ended at or
    /// before `now`), oldest first, and leases them until `lease_until` (as
    /// [`crate::CrmOutbox::claim_due`] does for actions).
    fn claim_pending(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<CrmEvent>, DomainError>;

    /// Records how processing ended (state, reason, protocol) and ends the lease; nothing
    /// changes unless `claim` is still the event's (a lease that ran out and was taken over by
    /// another worker).
    fn finish(
        &self,
        claim: CrmEventClaim,
        outcome: &CrmEventOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// Leaves an event pending, not to be claimed before `retry_at`, noting why (a temporary
    /// failure: the store or the CRM did not answer); only while `claim` is the event's.
    fn defer(
        &self,
        claim: CrmEventClaim,
        retry_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_have_stored_states_reasons_and_protocols() {
        let assigned = CrmEventOutcome::Assigned {
            protocol: ProtocolId(42),
        };
        assert_eq!(assigned.state(), "concluido");
        assert_eq!(assigned.reason(), None);
        assert_eq!(assigned.protocol(), Some(ProtocolId(42)));
        let ignored = CrmEventOutcome::Ignored {
            reason: "eco".into(),
        };
        assert_eq!(ignored.state(), "ignorado");
        assert_eq!(ignored.reason(), Some("eco"));
        assert_eq!(ignored.protocol(), None);
        let failed = CrmEventOutcome::Failed {
            reason: "idioma".into(),
        };
        assert_eq!(failed.state(), "falhou");
        assert_eq!(failed.reason(), Some("idioma"));
    }
}

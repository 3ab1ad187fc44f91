//! The CRM port (Pipedrive): making a consultant the owner of a deal, lead or person, and noting
//! which protocol was opened for whom.

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::values::PipedriveUserId;

/// A CRM record the rotation can hand to a consultant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmTarget {
    Deal(i64),
    /// Pipedrive leads are identified by a UUID.
    Lead(String),
    Person(i64),
}

/// A CRM user, as listed for operators filling `id_pipedrive`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmUser {
    pub id: PipedriveUserId,
    pub name: String,
    pub email: Option<String>,
    pub active: bool,
}

/// Why a CRM call failed, split by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// Worth retrying later (network error, timeout, 5xx, 429). `retry_after_secs` is the wait the
    /// CRM asked for, when it said.
    #[error("falha temporária: {reason}")]
    Transient {
        reason: String,
        retry_after_secs: Option<u64>,
    },
    /// Retrying will not help (bad token, unknown record, invalid payload).
    #[error("falha permanente: {reason}")]
    Permanent { reason: String },
}

/// The operations the service performs in the CRM. Calls block; callers run them off the
/// request path.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmGateway: Send + Sync {
    fn set_owner(&self, target: &CrmTarget, owner: PipedriveUserId) -> Result<(), CrmError>;
    fn add_note(&self, target: &CrmTarget, content: &str) -> Result<(), CrmError>;
    /// Adds a note written as `author` when the adapter is configured to (the CRM may require
    /// an admin token); as [`CrmGateway::add_note`] otherwise.
    fn add_note_as(
        &self,
        target: &CrmTarget,
        content: &str,
        author: PipedriveUserId,
    ) -> Result<(), CrmError> {
        let _ = author;
        self.add_note(target, content)
    }
    fn list_users(&self) -> Result<Vec<CrmUser>, CrmError>;
}

/// A pause of every call to the CRM that the CRM asked for (a spent rate budget, a 429, a
/// block), shared by every replica: they use one API token and one budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmPause {
    /// No call before this instant.
    pub until: DateTime<Utc>,
    /// The answer that asked for it.
    pub reason: String,
}

/// Where the shared pause is kept (the database every replica uses). Every method reports a
/// store that cannot be reached as [`DomainError::Unavailable`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmPauseStore: Send + Sync {
    /// Makes every replica wait until `until`, with the reason; a pause already stored that
    /// ends later is kept (pauses are only ever extended).
    fn extend_pause(
        &self,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// The stored pause, when it ends after `now`.
    fn current_pause(&self, now: DateTime<Utc>) -> Result<Option<CrmPause>, DomainError>;
}

//! The ports the domain needs from the outside world. Persistence adapters implement them for
//! each backend; the services use them. All calls block: the HTTP adapter runs them off its
//! async workers.
//!
//! Every method reports a store that cannot be reached as [`DomainError::Unavailable`].
//!
//! Every method that changes state takes the [`Actor`] performing it and writes one audit entry
//! (see [`crate::audit`]) in the same transaction as the change: the entry exists if and only
//! if the change was committed, and an operation that changes nothing writes none.

use chrono::{DateTime, Utc};

use crate::api_key::{ApiKey, ApiKeyId, NewApiKey};
use crate::audit::{Actor, AuditFilter, AuditPage, AuditPageRequest};
use crate::consultant::{
    Consultant, ConsultantFilter, ConsultantId, ConsultantPatch, NewConsultant,
};
use crate::crm::CrmTarget;
use crate::distribution::Assignment;
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::protocol::{
    NewProtocol, Protocol, ProtocolFilter, ProtocolId, ProtocolPatch, ProtocolSearch,
};
use crate::report::{DailyCount, ReportRequest};
use crate::values::Language;
use crate::web_session::{WebSession, WebSessionToken};

/// Consultants, with soft delete: a deleted consultant is never returned by `get` or `list`, but
/// stays in the store so their protocols keep pointing at them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ConsultantRepository: Send + Sync {
    /// Stores a new consultant with `last_served_at = now` (newcomers join the back of the queue).
    /// An email already used by a non-deleted consultant (case-insensitive) is
    /// [`DomainError::EmailTaken`]. Audited as `consultor.criado`.
    fn create(
        &self,
        new: &NewConsultant,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Consultant, DomainError>;

    /// A non-deleted consultant by id.
    fn get(&self, id: ConsultantId) -> Result<Option<Consultant>, DomainError>;

    /// Non-deleted consultants matching `filter`, by ascending id.
    fn list(&self, filter: &ConsultantFilter) -> Result<Vec<Consultant>, DomainError>;

    /// At most `limit` of [`ConsultantRepository::list`]'s consultants, those with an id above
    /// `after` (a keyset page: a listing read page by page holds one page at a time).
    fn list_after(
        &self,
        filter: &ConsultantFilter,
        after: Option<ConsultantId>,
        limit: usize,
    ) -> Result<Vec<Consultant>, DomainError> {
        Ok(self
            .list(filter)?
            .into_iter()
            .filter(|consultant| after.is_none_or(|after| consultant.id > after))
            .take(limit)
            .collect())
    }

    /// Applies `patch` to a non-deleted consultant and returns the result, or `None` if there is
    /// no such consultant. Email conflicts are [`DomainError::EmailTaken`]. Audited at `now` as
    /// `consultor.conexao` when `status_online` changes, else as `consultor.atualizado`; a patch
    /// that changes no stored value writes nothing.
    fn update(
        &self,
        id: ConsultantId,
        patch: &ConsultantPatch,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Consultant>, DomainError>;

    /// Marks a consultant deleted; `false` if there was no such (non-deleted) consultant.
    /// Audited as `consultor.removido`.
    fn soft_delete(
        &self,
        id: ConsultantId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, DomainError>;
}

/// Protocols. Numbers come from one counter, in the same transaction as the insert, so they are
/// unique and gapless: a failed insert consumes no number.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ProtocolRepository: Send + Sync {
    /// Opens a protocol with the next number. A `consultant_id` that names no non-deleted
    /// consultant is [`DomainError::ConsultantNotFound`] (checked in the same transaction). With a
    /// claim, a retry of the same request returns the stored protocol instead of a new one, and a
    /// different request under the same key is [`DomainError::IdempotencyKeyReused`]. Audited as
    /// `protocolo.criado` (a replay writes nothing).
    fn create(
        &self,
        new: &NewProtocol,
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
    ) -> Result<Recorded<Protocol>, DomainError>;

    fn get(&self, id: ProtocolId) -> Result<Option<Protocol>, DomainError>;

    /// A page of protocols by ascending id.
    fn list(&self, filter: &ProtocolFilter) -> Result<Vec<Protocol>, DomainError>;

    /// The protocols matching every criterion of `search`, newest first.
    fn search(&self, search: &ProtocolSearch) -> Result<Vec<Protocol>, DomainError>;

    /// Applies `patch`; `None` if the protocol does not exist. Reassigning to a consultant that is
    /// unknown or deleted is [`DomainError::ConsultantNotFound`]. Audited as
    /// `protocolo.atualizado`; a patch that changes no stored value writes nothing (not even
    /// `updated_at`).
    fn update(
        &self,
        id: ProtocolId,
        patch: &ProtocolPatch,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Protocol>, DomainError>;
}

/// The arguments of one [`AssignmentPort::assign_first`] call, for
/// [`AssignmentPort::assign_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRequest {
    pub languages: Vec<Language>,
    pub now: DateTime<Utc>,
    pub claim: Option<IdempotencyClaim>,
    pub actor: Actor,
    pub crm: Option<CrmTarget>,
}

/// The rotation's one atomic step.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AssignmentPort: Send + Sync {
    /// In one transaction: picks the head of the queue at `now` for the first of `languages`
    /// (the requested language, then its alternatives in order) in which anyone is eligible (the
    /// terms and order of [`crate::distribution::first_head`]: switches, hours, leave, daily and
    /// open limits, queue key), stamps its `last_served_at` and moves its queue key
    /// ([`crate::routing::next_queue_key`]), counts the assignment in its daily counter and open
    /// protocols, takes the next protocol number and opens a protocol for it in the language
    /// served. Nobody eligible in any of them is [`DomainError::NoneAvailable`] (naming the
    /// first) and changes nothing. Idempotency claims behave as in
    /// [`ProtocolRepository::create`]. Audited as `atribuicao` on the consultant chosen, in the
    /// same transaction (a replay writes nothing).
    ///
    /// With a `crm` target (passed only when the CRM integration is on) and a chosen consultant
    /// who has a CRM user (`id_pipedrive`), the same transaction also writes two outbox items
    /// (see [`crate::CrmOutbox`]): make that user the owner of the record, then add the note of
    /// [`crate::assignment_note`]; [`Assignment::crm_actions`] lists them, pending. A consultant
    /// without a CRM user gives an empty list; no target gives `None`. A replay writes nothing
    /// and returns the first answer, actions included.
    fn assign_first(
        &self,
        languages: &[Language],
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm: Option<CrmTarget>,
    ) -> Result<Recorded<Assignment>, DomainError>;

    /// The requests of `batch`, in order, as if each were an [`AssignmentPort::assign_first`]
    /// call made after the one before it returned: one result per request, in the same order.
    /// A request's own failure (nobody available, a reused key) is its result alone; a failure
    /// of the whole batch (the store unreachable) is every request's. An adapter overrides it
    /// to run the batch in one transaction (see [`crate::services::AssignmentBatcher`]).
    fn assign_batch(
        &self,
        batch: Vec<AssignmentRequest>,
    ) -> Vec<Result<Recorded<Assignment>, DomainError>> {
        batch
            .into_iter()
            .map(|request| {
                self.assign_first(
                    &request.languages,
                    request.now,
                    request.claim,
                    &request.actor,
                    request.crm,
                )
            })
            .collect()
    }

    /// [`AssignmentPort::assign_first`] with one language.
    fn assign_next(
        &self,
        language: &Language,
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm: Option<CrmTarget>,
    ) -> Result<Recorded<Assignment>, DomainError> {
        self.assign_first(std::slice::from_ref(language), now, claim, actor, crm)
    }

    /// The consultants who could become available for `languages` by the clock alone: not
    /// deleted, active, in the rotation, online and speaking one of them (any order).
    fn rotation_candidates(&self, languages: &[Language]) -> Result<Vec<Consultant>, DomainError>;

    /// Contacts waiting in the queue for `languages` (`aguardando`). The waiting queue does
    /// not exist yet: 0 until it does.
    fn waiting_contacts(&self, languages: &[Language]) -> Result<u64, DomainError>;
}

/// API keys, stored hashed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ApiKeyStore: Send + Sync {
    /// The active key whose secret is `presented`, recording its use; `None` for an unknown or
    /// revoked secret.
    fn authenticate(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, DomainError>;

    /// Creates a key and returns it with its secret: the only time the secret is visible.
    /// Audited as `api_key.criada` (without the secret or its hash).
    fn create(
        &self,
        new: &NewApiKey,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<(ApiKey, String), DomainError>;

    /// Every key, revoked ones included, by id.
    fn list(&self) -> Result<Vec<ApiKey>, DomainError>;

    /// Revokes a key; `false` if no such key exists or it was already revoked. Audited as
    /// `api_key.revogada`.
    fn revoke(&self, id: ApiKeyId, now: DateTime<Utc>, actor: &Actor) -> Result<bool, DomainError>;

    /// Whether any active key exists (start-up uses it to decide whether to generate one).
    fn any_active(&self) -> Result<bool, DomainError>;
}

/// The record of operations, for reading and for retention.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AuditLog: Send + Sync {
    /// A page of entries matching `filter`, newest (highest id) first.
    fn list(&self, filter: &AuditFilter) -> Result<AuditPage, DomainError>;

    /// A page of the entries that set a consultant's `status_online` (`consultor.conexao`, and
    /// `consultor.criado` for the initial state), newest first; `None` if no consultant with
    /// this id ever existed (a deleted consultant keeps their history).
    fn connection_history(
        &self,
        consultant: ConsultantId,
        page: &AuditPageRequest,
    ) -> Result<Option<AuditPage>, DomainError>;

    /// Deletes at most `batch` entries recorded before `cutoff`, oldest first, in one short
    /// transaction, and returns how many. Call it again until it returns 0; never deletes an
    /// entry recorded at or after `cutoff`.
    fn prune(&self, cutoff: DateTime<Utc>, batch: u32) -> Result<usize, DomainError>;
}

/// Sessions of the operations page, stored so that every replica knows them. Only a hash of
/// the session token is stored.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait WebSessionStore: Send + Sync {
    /// Stores a new session at `now`, and deletes sessions idle since before `now - idle`.
    fn create(
        &self,
        token: &WebSessionToken,
        session: &WebSession,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<(), DomainError>;

    /// The session of `token` if it was used after `now - idle` and its key (a stored key) is
    /// still active; marks it used at `now`.
    fn touch(
        &self,
        token: &WebSessionToken,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<WebSession>, DomainError>;

    /// Ends the session of `token` (sign-out); nothing if there is none.
    fn delete(&self, token: &WebSessionToken) -> Result<(), DomainError>;
}

/// Counts for the reports, computed by the store.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ReportStore: Send + Sync {
    /// Rotation assignments (protocols with a language, in `request.language` when given) per
    /// consultant per day of `request.days` (a protocol belongs to the day whose `[start, end)`
    /// holds its `created_at`), with each consultant's stored name, removed consultants
    /// included; only non-zero counts.
    fn assignment_counts(&self, request: &ReportRequest) -> Result<Vec<DailyCount>, DomainError>;
}

/// The state of a store's connection pool, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max_size: u32,
}

/// Health of the store, for `/ready` and `/metrics`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait StoreHealth: Send + Sync {
    /// Answers `Ok` when the store responds to a trivial query, [`DomainError::Unavailable`]
    /// otherwise (within the pool's checkout timeout).
    fn ping(&self) -> Result<(), DomainError>;
    fn pool_state(&self) -> PoolState;
}

/// The idempotency records' housekeeping: a background job deletes the records whose window is
/// over (they are ignored, and replaced, anyway), so the store holds about one window of keys.
#[cfg_attr(test, mockall::automock)]
pub trait IdempotencyHousekeeping: Send + Sync {
    /// Deletes the records whose window ended at or before `now`; returns how many.
    fn purge_expired_idempotency_keys(&self, now: DateTime<Utc>) -> Result<usize, DomainError>;
}

/// The per-language queues' upkeep: a background job lets the store reclaim the entries that
/// assignments leave behind. Every assignment moves its consultant to the back of their queues,
/// and on PostgreSQL the entry it leaves stays in the head index until a VACUUM: the next head
/// lookups step over all of them, so without this an assignment slows down with every one made
/// since the last VACUUM (bench/RESULTS.md). Correctness never depends on it.
#[cfg_attr(test, mockall::automock)]
pub trait QueueHousekeeping: Send + Sync {
    /// Reclaims what the queues' entries left behind, if the store needs it.
    fn tidy_queues(&self) -> Result<(), DomainError>;
}

/// Availability evaluated ahead of the assignments: a background job applies the availability
/// changes that are due (a shift that started, a consultant marked to be evaluated by a write)
/// in small steps, so an assignment rarely finds any left to apply. Correctness never depends
/// on it: the assignment applies whatever is still due.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AvailabilityUpkeep: Send + Sync {
    /// Applies at most `limit` of the availability changes due at `now`, in one transaction;
    /// returns how many consultants it evaluated (fewer than `limit`: nothing else was due).
    fn apply_due_availability(&self, now: DateTime<Utc>, limit: u32) -> Result<usize, DomainError>;
}

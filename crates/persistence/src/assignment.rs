//! [`AssignmentPort`]: the rotation's one atomic step (pick the head of the queue, stamp it,
//! number a protocol, open it).
//!
//! Every `assign_first` call goes through this process's batcher and runs inside a batch
//! transaction (`batch.rs`): the calls gathered while the previous batch was in flight share
//! one transaction, one round trip (`consultores_atribuir_lote`, which runs the step below
//! once per request, in order) and one COMMIT. What follows describes one request's step.
//!
//! # Locking design (PostgreSQL)
//!
//! Gapless numbering already serialises every assignment: each one increments the single counter
//! row, and nobody can take the next number before the previous holder commits or rolls back.
//! So the counter row lock IS the global serialisation point, and everything else is built
//! around it, in one READ COMMITTED transaction:
//!
//! 1. (with an `Idempotency-Key`) claim the key: a transaction-scoped advisory lock and a read
//!    of its live record (`idempotency.rs`; a batch's keys together, inside the batch statement
//!    when none repeats). A concurrent twin waits here, on the key, before it touches the
//!    counter.
//! 2. ONE round trip, the function `consultores_atribuir` ([`ASSIGN`]; migration
//!    `2026-07-01-000003_atribuir`: the routing rules, alternative languages, the waiting queue
//!    and outbound webhooks; its head lookup redefined in `2026-10-01-000000_fila_por_idioma`,
//!    its step split out in `2026-11-01-000000_atribuir_mais_barato`, run by the batch
//!    itself since `2026-11-20-000000_atribuir_lote_direto`, with less work per request since
//!    `2026-11-25-000000_atribuir_lote_por_lote`), which runs its statements on plans it caches
//!    per session (index scans: the function disables sequential ones):
//!    - `SELECT … FROM controle_protocolo … FOR NO KEY UPDATE`: takes the counter row lock
//!      and reads the last number and stamp (once per batch). Every assignment and every
//!      protocol creation takes it, and takes it before any consultant row lock, so the lock
//!      order is always key → counter → consultant: no deadlock is possible. The number itself
//!      (the next one, with the stamp rule below) is taken once the head is found, so a request
//!      with nobody eligible takes none; the batch writes the last number and stamp back once,
//!      after its last request.
//!    - Availability that changed since the last assignment is applied first (consultants whose
//!      `proxima_mudanca` is due: a shift start, local midnight, or marked by a write path; two
//!      probes of partial indexes, usually empty, read once per batch and compared with each
//!      request's `now`, read again after an evaluation): they enter or leave the per-language
//!      queue `consultor_fila`, which holds only who may be available now.
//!    - A statement per language tried (the requested one, then the alternatives), which (the
//!      function being volatile) gets a fresh READ COMMITTED snapshot that sees every
//!      assignment committed before the lock was granted: the first entry of that language's
//!      queue (`ORDER BY chave_fila NULLS FIRST, consultor_id LIMIT 1`, one index probe), its
//!      consultant's row locked (`FOR UPDATE`: the row lock only makes a concurrent
//!      `PUT /consultor` wait), then the routing rules (hours, leave, daily and open limits)
//!      re-checked on the row the lock returned (its latest version, which nobody else can
//!      change until the commit), and the language by the stamp's own statement (a fresh
//!      snapshot); a stale entry is re-evaluated (removed) and the next one tried, never
//!      served. Then the stamp (time, queue key, daily counter), the protocol, one statement for
//!      the key of its queue entries and its audit entry (`atribuicao`) and, with a CRM target
//!      (Pipedrive integration on) and a consultant with an `id_pipedrive`, the outbox items
//!      (owner, then note) — in the batch's transaction, so they commit or roll back together.
//! 3. COMMIT, after the answer has been read back into domain values (and stored under the
//!    idempotency key, if any). A stored row the domain cannot read thus rolls the assignment
//!    back rather than committing it and answering 500 (a retry would assign again); the price
//!    is the COMMIT round trip under the counter lock, also without a key.
//!
//! The stamp is `now`, or 1 µs after the previous holder's stamp when that is later. Callers
//! read the clock before queueing for the lock, so their `now` values arrive out of order under a
//! burst; stamps taken under the lock strictly increase in commit order, which is what keeps the
//! queue fair (each of K consultants gets exactly n of K×n calls) across threads and replicas
//! with skewed clocks.
//!
//! The waiting queue (`dispatch.rs`) calls the same step with origin `fila`; every other caller
//! says `da-vez` (or `pipedrive`), and while contacts wait in a language the step finds nobody
//! there for them (on SQLite the same check in Rust), so the rotation never jumps a waiting
//! contact. The `atribuicao` outbound webhook deliveries are written in the same step.
//!
//! No `SKIP LOCKED`: it exists to let concurrent pickers take different rows (which is why the
//! outbox worker does use it, on its independent items: see `crm_outbox.rs`), but here the
//! pickers are already serialised, and under a burst it would skip rows locked by transactions
//! about to commit, answering "nobody available" while consultants are free and breaking queue
//! order (v6's bug). No table lock, no DDL at request time. The counter lock is held for the
//! rest of the function and its commit (with a key: plus storing the answer and the COMMIT round
//! trip): that bounds the throughput of the whole rotation, across all replicas. The
//! function exists for that bound: as two statements sent from here, the lock was also held for
//! a round trip and for planning the CTE statement, which took longer than running it
//! (bench/RESULTS.md). Nobody eligible: no number is taken (gapless) and the function raises
//! (in a batch, the item has no row).
//!
//! # SQLite
//!
//! SQLite has no DML in CTEs and no time zones, and only one writer at a time anyway: the same
//! steps run as separate statements inside `BEGIN IMMEDIATE`, which takes the database's write
//! lock up front (serialising assignments, as the counter row lock does on PostgreSQL), while
//! the process-wide writer mutex queues this process's writers in order. The head is found as on
//! PostgreSQL, with the rules evaluated by the domain's own functions (`sqlite_queue.rs`,
//! migration `2026-11-15-000000_fila_por_idioma`): the due evaluations applied, then the first
//! entry of the language's queue `consultor_fila`, re-checked, a stale entry removed. The number
//! is taken once someone is found; after the stamp the consultant is evaluated again, which
//! moves the key of their entries (or removes them at a limit reached). The audit entry is one
//! more INSERT in that transaction, and so are the outbox items when there is a CRM target.
//!
//! # The audit entry
//!
//! Recorded on the consultant chosen (`entidade = 'consultor'`, so a consultant's assignments are
//! one index range), at the stamp, with `ultimo_atendimento` before and after and the protocol
//! opened (`protocolo_id`, `numero_protocolo`, `idioma`, whose `antes` is null). Both backends
//! write the same fields; PostgreSQL writes the JSON text in SQL (as `jsonb` prints it), SQLite
//! with serde.

use chrono::{DateTime, Utc};
use consultores_domain::routing::next_queue_key;
use consultores_domain::{
    assignment_note, Actor, Assignment, AssignmentPort, AssignmentRequest, AuditAction,
    AuditChanges, AuditValue, Consultant, CrmTarget, DomainError, IdempotencyClaim, Language,
    PipedriveUserId, Priority, ProtocolStatus, Recorded, WebhookEvent, Zone,
    ASSIGNMENT_NOTE_TEMPLATE,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::audit::NewAuditRow;
use crate::cached_sql::cached_sql;
use crate::crm_outbox::insert_assignment_actions;
use crate::database::Database;
use crate::error::StoreError;
use crate::faults::FaultPoint;
use crate::models::{consultants_with_languages, ProtocolRow};
use crate::queries::{CounterQuery, Queries, RowLocks};
use crate::schema::protocolos;
use crate::sql_types::{Timestamp, UtcTimestamp};
use crate::webhooks::{assignment_data, WebhookOutbox};

mod rows;
pub(crate) use rows::AssignedWithCrmRow;

/// The stamp of the consultant served on SQLite: time, queue key and daily counter. The
/// columns the rest of the step reads from the row (name, contacts, CRM id) are the ones it read
/// as the head, which this statement leaves alone.
const SQLITE_STAMP: &str = "UPDATE consultores SET ultimo_atendimento = ?, chave_fila = ?, \
     atendimentos_dia = ?, atendimentos_no_dia = ? WHERE id = ?";

/// The message `consultores_atribuir` raises (SQLSTATE P0002) when nobody is eligible.
const NOBODY_AVAILABLE: &str = "NOBODY_AVAILABLE";

/// The whole assignment on PostgreSQL, one round trip: the function `consultores_atribuir`
/// (migration `2026-07-01-000003_atribuir`, head lookup `2026-10-01-000000_fila_por_idioma`,
/// step `2026-11-01-000000_atribuir_mais_barato`) locks the counter row, then picks the head
/// for the first language with anyone eligible under the routing rules, stamps it, moves its
/// queue key and daily counter, and opens the protocol with its audit entry and, with a CRM
/// target, the outbox items, on plans it caches per session. `$1` the languages in order, `$2`
/// now, `$3` the default zone, `$4`–`$8` the audit entry (key id or NULL, its description,
/// request id, action, entity), `$9`–`$11` the CRM target kind, its id and the note template
/// ([`consultores_domain::ASSIGNMENT_NOTE_TEMPLATE`], filled in the order of
/// [`consultores_domain::assignment_note`]), all NULL without a target, `$12` the origin
/// ([`Origin`]). Nobody eligible raises [`NOBODY_AVAILABLE`], no number taken.
pub(crate) const ASSIGN: &str =
    "SELECT * FROM consultores_atribuir($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// A batch of assignments in one round trip (migration `2026-10-15-000000_atribuir_lote`, see
/// `batch.rs`): the arguments of [`ASSIGN`] as arrays, one element per request (its languages
/// comma-separated), except the zone, the audit action and entity and the note template.
pub(crate) const ASSIGN_BATCH: &str =
    "SELECT * FROM consultores_atribuir_lote($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// [`ASSIGN_BATCH`] claiming the requests' keys first (each request's scope and key, NULL
/// without one; migration `2026-11-28-000000_chaves_sem_escrita`): a request whose key has a
/// live record gets no row.
pub(crate) const ASSIGN_BATCH_WITH_KEYS: &str = "SELECT * FROM \
    consultores_atribuir_lote_com_chaves($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// Where an assignment comes from (`p_origem` of `consultores_atribuir`, migration
/// `2026-07-01-000003_atribuir`). While contacts wait in a language, only the queue's
/// dispatcher may assign in it: the rotation finds nobody there, so it cannot jump them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `da-vez`: blocked by waiting entries.
    Rotation,
    /// A Pipedrive webhook's record: blocked by waiting entries, like `da-vez`.
    Pipedrive,
    /// The waiting queue serving its entries.
    Queue,
}

impl Origin {
    /// The rotation's origin for `actor`: assignments made from Pipedrive webhooks carry their
    /// actor (the port has no other way to tell).
    pub(crate) fn of_rotation(actor: &Actor) -> Self {
        if actor.api_key_description == Actor::PIPEDRIVE_WEBHOOK && actor.api_key_id.is_none() {
            Self::Pipedrive
        } else {
            Self::Rotation
        }
    }

    /// `origem` of the `atribuicao` event.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Rotation => "da-vez",
            Self::Pipedrive => "pipedrive",
            Self::Queue => "fila",
        }
    }
}

/// One call of `consultores_atribuir` on the caller's connection (inside the caller's
/// transaction). Nobody eligible in any of `languages` is [`DomainError::NoneAvailable`].
pub(crate) fn assign_in_postgres(
    conn: &mut PgConnection,
    languages: &[Language],
    now: DateTime<Utc>,
    actor: &Actor,
    crm: Option<&CrmTarget>,
    origin: Origin,
    default_zone: Zone,
) -> Result<Assignment, StoreError> {
    let audited = NewAuditRow::new(actor, AuditAction::Assignment, 0, now, &AuditChanges::new())?;
    let codes: Vec<&str> = languages.iter().map(Language::as_str).collect();
    let row = cached_sql(ASSIGN)
        .bind::<Array<Text>, _>(codes)
        .bind::<UtcTimestamp, _>(Timestamp(now))
        .bind::<Text, _>(default_zone.name())
        .bind::<Nullable<BigInt>, _>(audited.key_id)
        .bind::<Text, _>(&audited.key_description)
        .bind::<Text, _>(&audited.request_id)
        .bind::<Text, _>(audited.action)
        .bind::<Text, _>(audited.entity)
        .bind::<Nullable<Text>, _>(crm.map(|target| target.kind().as_str()))
        .bind::<Nullable<Text>, _>(crm.map(CrmTarget::id_text))
        .bind::<Nullable<Text>, _>(crm.map(|_| ASSIGNMENT_NOTE_TEMPLATE))
        .bind::<Text, _>(origin.as_str())
        .get_result::<AssignedWithCrmRow>(conn);
    match row {
        Ok(row) => row.into_domain(crm, default_zone),
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message() == NOBODY_AVAILABLE =>
        {
            Err(nobody_available(languages))
        }
        Err(error) => Err(error.into()),
    }
}

impl Database {
    /// The assignment's statements on SQLite, inside the caller's immediate transaction (or a
    /// savepoint of it). Nobody eligible is [`DomainError::NoneAvailable`].
    pub(crate) fn assign_in_sqlite(
        &self,
        conn: &mut SqliteConnection,
        languages: &[Language],
        now: DateTime<Utc>,
        actor: &Actor,
        crm: Option<&CrmTarget>,
        origin: Origin,
    ) -> Result<Assignment, StoreError> {
        // Availability changed by the clock or by a write since the last assignment first.
        crate::sqlite_queue::apply_due(conn, self.default_time_zone(), now, self.faults())?;
        let mut found = None;
        for language in languages {
            // Contacts waiting in this language go first: only the dispatcher serves them.
            if origin != Origin::Queue && crate::waiting::blocks(conn, language, now)? {
                continue;
            }
            if let Some(head) = self.sqlite_head(conn, language, now)? {
                found = Some((head, language));
                break;
            }
        }
        let Some((head, language)) = found else {
            return Err(nobody_available(languages));
        };
        // The number once someone is found: nobody available takes none.
        let taken = conn.take_protocol_number(now)?;
        self.faults().check(FaultPoint::AfterCounter, conn)?;
        let rules = head.stored_rules().into_domain(self.default_time_zone())?;
        let today = rules.local_date(now);
        let served_today = head.workload().assignments_on(today);
        let stamped = cached_sql(SQLITE_STAMP)
            .bind::<UtcTimestamp, _>(Timestamp(taken.stamp))
            .bind::<BigInt, _>(next_queue_key(
                head.queue_key,
                taken.stamp.timestamp_micros(),
                rules.weight,
            ))
            .bind::<diesel::sql_types::Date, _>(today)
            .bind::<diesel::sql_types::Integer, _>(
                i32::try_from(served_today + 1).unwrap_or(i32::MAX),
            )
            .bind::<BigInt, _>(head.id)
            .execute(conn)?;
        if stamped != 1 {
            return Err(StoreError::internal("the consultant to stamp vanished"));
        }
        self.faults().check(FaultPoint::AfterWrite, conn)?;
        let number = taken.number.to_string();
        let opened = diesel::insert_into(protocolos::table)
            .values(ProtocolRow {
                id: 0,
                number,
                consultant_id: Some(head.id),
                language: Some(language.as_str().to_owned()),
                description: None,
                priority: Priority::Normal.as_str().to_owned(),
                status: ProtocolStatus::Open.as_str().to_owned(),
                created_at: Timestamp(taken.stamp),
                updated_at: Timestamp(taken.stamp),
            })
            .returning(ProtocolRow::as_returning())
            .get_result(conn)?;
        conn.queue_event_with(WebhookEvent::Assignment, taken.stamp, || {
            assignment_data(origin.as_str(), &opened, &head)
        })?;
        let mut changes = AuditChanges::new();
        changes
            .record(
                "ultimo_atendimento",
                AuditValue::optional(head.last_served_at.map(|t| AuditValue::time(t.0))),
                AuditValue::time(taken.stamp),
            )
            .created("protocolo_id", opened.id)
            .created("numero_protocolo", opened.number.as_str())
            .created("idioma", AuditValue::optional(opened.language.clone()));
        conn.insert_audit(&NewAuditRow::new(
            actor,
            AuditAction::Assignment,
            head.id,
            taken.stamp,
            &changes,
        )?)?;
        // An adopted id_pipedrive of 0 or less names nobody: no owner change is queued.
        let owner = head
            .pipedrive_user_id
            .and_then(|id| PipedriveUserId::new(id).ok());
        let crm_actions = match (crm, owner) {
            (None, _) => None,
            (Some(_), None) => Some(Vec::new()),
            (Some(target), Some(owner)) => {
                let note = assignment_note(&taken.number, &head.name);
                Some(insert_assignment_actions(
                    conn,
                    opened.id,
                    target,
                    owner,
                    &note,
                    taken.stamp,
                )?)
            }
        };
        // Read back after the insert: the trigger has counted the new open protocol.
        let stamped = conn
            .lock_live_consultant(head.id)?
            .ok_or_else(|| StoreError::internal("the stamped consultant vanished"))?;
        // The key and the counters moved (and the trigger marked the consultant for that):
        // evaluated now, so their entries carry the new key, or leave at a limit reached.
        crate::sqlite_queue::reevaluate_served(conn, &stamped, self.default_time_zone(), now)?;
        let languages = conn.languages_of(&[head.id])?;
        let consultant =
            consultants_with_languages(vec![stamped], languages, self.default_time_zone())?
                .pop()
                .ok_or_else(|| StoreError::internal("the stamped consultant vanished"))?;
        Ok(Assignment {
            consultant,
            protocol: opened.into_domain()?,
            crm_actions,
        })
    }
}

/// Nobody eligible in any of `languages`: named by the first (the one requested).
pub(crate) fn nobody_available(languages: &[Language]) -> StoreError {
    match languages.first() {
        Some(first) => DomainError::NoneAvailable(first.clone()).into(),
        None => StoreError::internal("an assignment was asked for no language"),
    }
}

impl AssignmentPort for Database {
    /// Through this process's batcher: run with the calls made meanwhile in one transaction
    /// (`batch.rs`).
    fn assign_first(
        &self,
        languages: &[Language],
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm: Option<CrmTarget>,
    ) -> Result<Recorded<Assignment>, DomainError> {
        let request = AssignmentRequest {
            languages: languages.to_vec(),
            now,
            claim,
            actor: actor.clone(),
            crm,
        };
        self.assignment_batcher().assign(self, request)
    }

    fn assign_batch(
        &self,
        batch: Vec<AssignmentRequest>,
    ) -> Vec<Result<Recorded<Assignment>, DomainError>> {
        crate::batch::assign_batch(self, batch)
    }

    fn rotation_candidates(&self, languages: &[Language]) -> Result<Vec<Consultant>, DomainError> {
        Ok(self.rotation_candidates_of(languages)?)
    }

    fn waiting_contacts(&self, languages: &[Language]) -> Result<u64, DomainError> {
        consultores_domain::WaitingQueue::waiting_count(self, languages, Utc::now())
    }
}

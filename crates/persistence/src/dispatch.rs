//! [`WaitingQueue`] on both backends: the transactions that queue, serve, expire and cancel
//! entries.
//!
//! # Order and exactly-once across replicas
//!
//! Queueing and serving start by taking the rotation's serialisation point, the protocol
//! counter row (PostgreSQL: `SELECT … FOR UPDATE`; SQLite: `BEGIN IMMEDIATE` already holds the
//! write lock), so they run one at a time with each other and with every assignment, whatever
//! the replica: the lock order stays key → counter → consultant (→ queue entry). Under it a
//! pass reads the waiting entries in arrival order and serves each through the rotation's own
//! atomic step, inside a savepoint: nobody free in a language rolls back only that attempt
//! (the counter number is not consumed: gapless) and the language is not tried again in the
//! pass. An entry is locked before it is served, so a concurrent cancel either wins (the entry is
//! skipped) or waits for the pass. The entry is marked `atribuido` in the same transaction as
//! its protocol: it is assigned exactly once.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use consultores_domain::{
    audit_timestamp, Actor, Assignment, AuditAction, AuditChanges, AuditValue, CrmTarget,
    DispatchRound, DomainError, IdempotencyClaim, Language, NewWaitingEntry, Recorded, ServedEntry,
    WaitingEntry, WaitingEntryId, WaitingFilter, WaitingLanguages, WaitingPage, WaitingQueue,
    WaitingState, WebhookEvent,
};
use diesel::prelude::*;
use diesel::Connection;

use crate::audit::NewAuditRow;
use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::idempotency::{record, replay};
use crate::schema::fila;
use crate::sql_types::Timestamp;
use crate::waiting::{
    count_accepting, page, stored_alternatives, WaitingColumns, WaitingRow, WaitingStatements,
};
use crate::webhooks::WebhookOutbox;

mod backends;
use backends::{QueueAssignment, QueueLocks, QueueTurn};

/// The rotation's atomic step, as the queue calls it on one backend.
type Assign<'a, C> =
    dyn FnMut(&mut C, &Language, Option<&CrmTarget>) -> Result<Assignment, StoreError> + 'a;

/// Tries `languages` in order (skipping those already `exhausted`), each attempt in a savepoint;
/// the first that finds someone wins. A language that finds nobody joins `exhausted`.
fn serve<C>(
    conn: &mut C,
    languages: &WaitingLanguages,
    crm: Option<&CrmTarget>,
    exhausted: &mut HashSet<Language>,
    assign: &mut Assign<'_, C>,
) -> Result<Option<(Language, Assignment)>, StoreError>
where
    C: Connection,
{
    for language in languages.in_order() {
        if exhausted.contains(language) {
            continue;
        }
        match conn.transaction(|conn| assign(conn, language, crm)) {
            Ok(assignment) => return Ok(Some((language.clone(), assignment))),
            Err(StoreError::Domain(DomainError::NoneAvailable(_))) => {
                exhausted.insert(language.clone());
            }
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Records the hand-off of entry `row` in the caller's transaction: the entry, the protocol's
/// description and priority, and the audit entry `fila.atribuida`.
fn record_served<C: WaitingStatements>(
    conn: &mut C,
    row: &WaitingRow,
    language: &Language,
    assignment: &Assignment,
    actor: &Actor,
) -> Result<(), StoreError> {
    let protocol = &assignment.protocol;
    let at = protocol.created_at;
    conn.mark_assigned(row.id, protocol.id.0, at)?;
    conn.describe_protocol(protocol.id.0, row.description.as_deref(), &row.priority)?;
    let mut changes = AuditChanges::new();
    changes
        .record(
            "estado",
            WaitingState::Waiting.as_str(),
            WaitingState::Assigned.as_str(),
        )
        .created("protocolo_id", protocol.id.0)
        .created("numero_protocolo", protocol.number.to_string())
        .created("consultor_id", assignment.consultant.id.0)
        .created("idioma_atendido", language.as_str());
    conn.insert_audit(&NewAuditRow::new(
        actor,
        AuditAction::WaitingEntryAssigned,
        row.id,
        at,
        &changes,
    )?)
}

fn enqueue_in<C>(
    conn: &mut C,
    new: &NewWaitingEntry,
    now: DateTime<Utc>,
    claim: Option<&IdempotencyClaim>,
    actor: &Actor,
    crm_enabled: bool,
    assign: &mut Assign<'_, C>,
) -> Result<Recorded<i64>, StoreError>
where
    C: Connection + WaitingStatements + QueueLocks,
{
    if let Some(id) = replay::<i64>(conn, claim, now)? {
        return Ok(Recorded::replayed(id));
    }
    conn.lock_rotation()?;
    let someone_ahead = conn
        .waiting(now)?
        .iter()
        .any(|(_, waiting)| waiting.competes_with(&new.languages));
    let crm = new.crm.as_ref().filter(|_| crm_enabled);
    let served = if someone_ahead {
        None
    } else {
        serve(conn, &new.languages, crm, &mut HashSet::new(), assign)?
    };
    let row = conn.insert_waiting(&WaitingColumns {
        language: new.languages.primary().as_str().to_owned(),
        alternatives: stored_alternatives(&new.languages),
        reference: new.reference.clone(),
        description: new.description.as_ref().map(|d| d.as_str().to_owned()),
        priority: new.priority.as_str().to_owned(),
        crm_kind: new
            .crm
            .as_ref()
            .map(|target| target.kind().as_str().to_owned()),
        crm_target: new.crm.as_ref().map(CrmTarget::id_text),
        state: WaitingState::Waiting.as_str().to_owned(),
        created_at: Timestamp(now),
        expires_at: Timestamp(now + new.max_wait.as_duration()),
        assigned_at: None,
        protocol_id: None,
    })?;
    let mut changes = AuditChanges::new();
    changes
        .created("idioma", row.language.as_str())
        .created(
            "alternativas",
            AuditValue::List(
                new.languages
                    .alternatives()
                    .iter()
                    .map(|l| l.as_str().to_owned())
                    .collect(),
            ),
        )
        .created("referencia", AuditValue::optional(row.reference.clone()))
        .created("prioridade", row.priority.as_str())
        .created("expira_em", AuditValue::time(row.expires_at.0));
    if let Some(target) = &new.crm {
        changes.created(&format!("{}_id", target.kind().as_str()), target.id_text());
    }
    conn.insert_audit(&NewAuditRow::new(
        actor,
        AuditAction::WaitingEntryCreated,
        row.id,
        now,
        &changes,
    )?)?;
    if let Some((language, assignment)) = served {
        record_served(conn, &row, &language, &assignment, actor)?;
    }
    record(conn, claim, now, &row.id)?;
    Ok(Recorded::fresh(row.id))
}

fn dispatch_in<C>(
    conn: &mut C,
    now: DateTime<Utc>,
    actor: &Actor,
    crm_enabled: bool,
    batch: u32,
    assign: &mut Assign<'_, C>,
) -> Result<DispatchRound, StoreError>
where
    C: Connection + WaitingStatements + QueueLocks + WebhookOutbox,
{
    let mut round = DispatchRound::default();
    conn.lock_rotation()?;
    for row in conn.expire_due(now)? {
        let mut changes = AuditChanges::new();
        changes.record(
            "estado",
            WaitingState::Waiting.as_str(),
            WaitingState::Expired.as_str(),
        );
        conn.insert_audit(&NewAuditRow::new(
            actor,
            AuditAction::WaitingEntryExpired,
            row.id,
            now,
            &changes,
        )?)?;
        let data = serde_json::json!({"fila": {
            "id": row.id,
            "idioma": row.language,
            "alternativas": row.languages()?.alternatives().iter().map(Language::as_str).collect::<Vec<_>>(),
            "referencia": row.reference,
            "criado_em": audit_timestamp(&row.created_at.0),
            "expira_em": audit_timestamp(&row.expires_at.0),
        }});
        conn.queue_event(WebhookEvent::QueueExpired, now, data)?;
        round.expired.push(row.languages()?.primary().clone());
    }
    let mut exhausted = HashSet::new();
    for (id, languages) in conn.waiting(now)? {
        if languages
            .in_order()
            .all(|language| exhausted.contains(language))
        {
            continue;
        }
        if round.served.len() >= batch as usize {
            round.more = true;
            break;
        }
        // Cancelled since it was read: skip it.
        let Some(row) = conn
            .lock_entry(id.0)?
            .filter(|row| row.state == WaitingState::Waiting.as_str())
        else {
            continue;
        };
        let crm = row.crm()?.filter(|_| crm_enabled);
        if let Some((language, assignment)) =
            serve(conn, &languages, crm.as_ref(), &mut exhausted, assign)?
        {
            record_served(conn, &row, &language, &assignment, actor)?;
            round.served.push(ServedEntry {
                id,
                language,
                waited: assignment.protocol.created_at - row.created_at.0,
            });
        }
    }
    Ok(round)
}

fn cancel_in<C>(
    conn: &mut C,
    id: WaitingEntryId,
    now: DateTime<Utc>,
    actor: &Actor,
) -> Result<(), StoreError>
where
    C: WaitingStatements + QueueLocks,
{
    let row = conn
        .lock_entry(id.0)?
        .ok_or(DomainError::WaitingEntryNotFound)?;
    if row.state == WaitingState::Assigned.as_str() {
        return Err(DomainError::AlreadyAssigned.into());
    }
    if row.state != WaitingState::Waiting.as_str() {
        return Ok(());
    }
    conn.close_waiting(row.id, WaitingState::Cancelled.as_str(), now)?;
    let mut changes = AuditChanges::new();
    changes.record(
        "estado",
        WaitingState::Waiting.as_str(),
        WaitingState::Cancelled.as_str(),
    );
    conn.insert_audit(&NewAuditRow::new(
        actor,
        AuditAction::WaitingEntryCancelled,
        row.id,
        now,
        &changes,
    )?)
}

impl Database {
    fn read_entry(
        &self,
        id: WaitingEntryId,
        now: DateTime<Utc>,
    ) -> Result<Option<WaitingEntry>, StoreError> {
        with_connection!(self, |conn| {
            match conn.waiting_row(id.0)? {
                None => Ok(None),
                Some(row) => Ok(conn
                    .hydrate(vec![row], now, self.default_time_zone())?
                    .pop()),
            }
        })
    }

    /// The rotation's atomic step for queue entries, at `now` by `actor`.
    fn queue_assigner<'a, C: QueueAssignment>(
        &'a self,
        now: DateTime<Utc>,
        actor: &'a Actor,
    ) -> impl FnMut(&mut C, &Language, Option<&CrmTarget>) -> Result<Assignment, StoreError> + 'a
    {
        move |conn, language, crm| {
            let turn = QueueTurn {
                language,
                now,
                actor,
                crm,
            };
            conn.assign_queued(self, turn)
        }
    }

    fn existing_entry(&self, id: i64, now: DateTime<Utc>) -> Result<WaitingEntry, StoreError> {
        self.read_entry(WaitingEntryId(id), now)?
            .ok_or_else(|| StoreError::internal(format!("queue entry {id} vanished")))
    }
}

impl WaitingQueue for Database {
    fn enqueue(
        &self,
        new: &NewWaitingEntry,
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm_enabled: bool,
    ) -> Result<Recorded<WaitingEntry>, DomainError> {
        let claim = claim.as_ref();
        let write = || -> Result<_, StoreError> {
            write_transaction!(self, |conn| {
                enqueue_in(
                    conn,
                    new,
                    now,
                    claim,
                    actor,
                    crm_enabled,
                    &mut self.queue_assigner(now, actor),
                )
            })
        };
        let recorded = write()?;
        let entry = self.existing_entry(recorded.value, now)?;
        Ok(Recorded {
            value: entry,
            replayed: recorded.replayed,
        })
    }

    fn get(
        &self,
        id: WaitingEntryId,
        now: DateTime<Utc>,
    ) -> Result<Option<WaitingEntry>, DomainError> {
        Ok(self.read_entry(id, now)?)
    }

    fn list(&self, filter: &WaitingFilter, now: DateTime<Utc>) -> Result<WaitingPage, DomainError> {
        let load = || -> Result<Vec<WaitingEntry>, StoreError> {
            with_connection!(self, |conn| {
                let rows = conn.waiting_rows(filter)?;
                conn.hydrate(rows, now, self.default_time_zone())
            })
        };
        Ok(page(load()?, filter.limit))
    }

    fn cancel(
        &self,
        id: WaitingEntryId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<WaitingEntry, DomainError> {
        let write = || -> Result<(), StoreError> {
            write_transaction!(self, |conn| cancel_in(conn, id, now, actor))
        };
        write()?;
        Ok(self.existing_entry(id.0, now)?)
    }

    fn dispatch(
        &self,
        now: DateTime<Utc>,
        actor: &Actor,
        crm_enabled: bool,
        batch: u32,
    ) -> Result<DispatchRound, DomainError> {
        // Most passes find nobody waiting: answer those without taking the rotation's lock.
        let nothing_waits = || -> Result<bool, StoreError> {
            with_connection!(self, |conn| {
                let any = fila::table
                    .filter(fila::estado.eq(WaitingState::Waiting.as_str()))
                    .select(fila::id)
                    .first::<i64>(conn)
                    .optional()?;
                Ok(any.is_none())
            })
        };
        let nothing_to_do = nothing_waits()?;
        if nothing_to_do {
            return Ok(DispatchRound::default());
        }
        let write = || -> Result<_, StoreError> {
            write_transaction!(self, |conn| {
                dispatch_in(
                    conn,
                    now,
                    actor,
                    crm_enabled,
                    batch,
                    &mut self.queue_assigner(now, actor),
                )
            })
        };
        let round = write()?;
        Ok(round)
    }

    fn waiting_count(
        &self,
        languages: &[Language],
        now: DateTime<Utc>,
    ) -> Result<u64, DomainError> {
        let load = || -> Result<_, StoreError> { with_connection!(self, |conn| conn.waiting(now)) };
        let waiting = load()?;
        Ok(count_accepting(&waiting, languages))
    }

    fn waiting_by_language(&self) -> Result<Vec<(Language, u64)>, DomainError> {
        let load = || -> Result<Vec<(String, i64)>, StoreError> {
            with_connection!(self, |conn| {
                Ok(fila::table
                    .filter(fila::estado.eq(WaitingState::Waiting.as_str()))
                    .group_by(fila::idioma)
                    .select((fila::idioma, diesel::dsl::count_star()))
                    .load(conn)?)
            })
        };
        let counts = load()?;
        counts
            .into_iter()
            .map(|(code, count)| {
                let language = Language::parse(&code).map_err(|error| {
                    DomainError::internal(format!("stored queue language {code:?}: {error}"))
                })?;
                Ok((language, u64::try_from(count).unwrap_or_default()))
            })
            .collect()
    }
}

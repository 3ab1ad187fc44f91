//! [`CrmOutbox`] on both backends: the CRM actions the rotation decided, delivered by the
//! background worker.
//!
//! # Claiming
//!
//! Items are independent work (unlike the rotation, where every caller wants the same head of
//! the queue), so a claim takes what no one else holds: on PostgreSQL `SELECT … FOR UPDATE SKIP
//! LOCKED` in a short transaction that sets the lease (`bloqueado_ate`) and commits. The row
//! locks only keep two claims from taking the same row at the same instant; the lease, visible
//! after COMMIT, keeps the row away from every other claim while its worker calls the CRM
//! (outside any transaction: no lock is held during the network call). On SQLite the claim runs
//! inside `BEGIN IMMEDIATE`, which keeps every other writer out, with the same lease.
//!
//! A worker that dies leaves its leased items behind; they are claimed again when the lease ends
//! (at-least-once delivery; the lease is far longer than a round).
//!
//! # Writing items
//!
//! The assignment writes its items in its own transaction (`assignment.rs`): on PostgreSQL inside
//! its one statement, on SQLite with [`insert_assignment_actions`].

use chrono::{DateTime, SubsecRound, Utc};
use consultores_domain::{
    CrmActionKind, CrmActionStatus, CrmOutbox, CrmTarget, DeliveryState, DeliveryStateName,
    DomainError, OutboxClaim, OutboxItem, PipedriveUserId, ProtocolId,
};
use diesel::prelude::*;
use diesel::SqliteConnection;

use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::schema::crm_outbox;
use crate::sql_types::Timestamp;

mod queries;
mod rows;

use queries::{note_authors, ClaimQuery};
pub(crate) use rows::OutboxRow;
use rows::StatusRow;

/// The longest error text kept with an item.
const MAX_ERROR_CHARS: usize = 1_000;

/// A new `crm_outbox` row.
#[derive(Debug, Insertable)]
#[diesel(table_name = crm_outbox)]
struct NewOutboxRow<'a> {
    #[diesel(column_name = protocolo_id)]
    protocol_id: Option<i64>,
    #[diesel(column_name = acao)]
    action: &'static str,
    #[diesel(column_name = alvo_tipo)]
    target_kind: &'static str,
    #[diesel(column_name = alvo_id)]
    target_id: &'a str,
    owner_id: Option<i64>,
    #[diesel(column_name = conteudo)]
    content: Option<&'a str>,
    #[diesel(column_name = estado)]
    state: &'static str,
    #[diesel(column_name = tentativas)]
    attempts: i32,
    #[diesel(column_name = proxima_tentativa)]
    next_attempt: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// Writes the actions of an assignment (owner, then note) in the caller's transaction, due at
/// once, and returns their states. The PostgreSQL assignment writes the same rows inside its one
/// function `consultores_atribuir` instead (see `assignment.rs`).
pub(crate) fn insert_assignment_actions(
    conn: &mut SqliteConnection,
    protocol_id: i64,
    target: &CrmTarget,
    owner: PipedriveUserId,
    note: &str,
    at: DateTime<Utc>,
) -> Result<Vec<CrmActionStatus>, StoreError> {
    let target_id = target.id_text();
    let row = |action: CrmActionKind| NewOutboxRow {
        protocol_id: Some(protocol_id),
        action: action.as_str(),
        target_kind: target.kind().as_str(),
        target_id: &target_id,
        owner_id: (action == CrmActionKind::SetOwner).then_some(owner.get()),
        content: (action == CrmActionKind::AddNote).then_some(note),
        state: DeliveryStateName::Pending.as_str(),
        attempts: 0,
        next_attempt: Timestamp(at),
        created_at: Timestamp(at),
        updated_at: Timestamp(at),
    };
    // Two statements, in this order, so ids (and delivery) go owner first.
    for action in [CrmActionKind::SetOwner, CrmActionKind::AddNote] {
        diesel::insert_into(crm_outbox::table)
            .values(row(action))
            .execute(conn)?;
    }
    Ok(fresh_statuses(target))
}

/// The states of the two actions an assignment has just written.
pub(crate) fn fresh_statuses(target: &CrmTarget) -> Vec<CrmActionStatus> {
    [CrmActionKind::SetOwner, CrmActionKind::AddNote]
        .into_iter()
        .map(|action| CrmActionStatus {
            action,
            target: target.clone(),
            state: DeliveryState::Pending { last_error: None },
            attempts: 0,
        })
        .collect()
}

/// How a claimed item's try went.
#[derive(Debug, Clone, Copy)]
enum Settlement<'a> {
    Done {
        attempts: u32,
    },
    Retry {
        attempts: u32,
        at: DateTime<Utc>,
        error: &'a str,
    },
    Failed {
        attempts: u32,
        reason: &'a str,
    },
    Untried {
        at: DateTime<Utc>,
    },
}

/// The first `max` characters of an error text.
fn clip(text: &str) -> &str {
    crate::audit::prefix(text, MAX_ERROR_CHARS)
}

fn attempts_column(attempts: u32) -> i32 {
    i32::try_from(attempts).unwrap_or(i32::MAX)
}

/// The outbox items on `$target` (whose id as stored is `$target_id`).
macro_rules! actions_on {
    ($target:expr, $target_id:expr) => {
        crm_outbox::table
            .filter(crm_outbox::alvo_tipo.eq($target.kind().as_str()))
            .filter(crm_outbox::alvo_id.eq(&$target_id))
    };
}

impl Database {
    fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // The lease end identifies the claim when it is settled: keep it as the store keeps it.
        let lease_until = lease_until.trunc_subsecs(6);
        let mut items = write_transaction!(self, |conn| {
            let rows = conn.claimable(now, limit)?;
            let mut items = Vec::with_capacity(rows.len());
            let mut unusable = Vec::new();
            for row in rows {
                let id = row.id;
                match row.into_domain(lease_until) {
                    Ok(item) => items.push(item),
                    Err(reason) => unusable.push((id, reason)),
                }
            }
            let ids: Vec<i64> = items.iter().map(|item| item.id.0).collect();
            if !ids.is_empty() {
                diesel::update(crm_outbox::table.filter(crm_outbox::id.eq_any(&ids)))
                    .set((
                        crm_outbox::bloqueado_ate.eq(Some(Timestamp(lease_until))),
                        crm_outbox::updated_at.eq(Timestamp(now)),
                    ))
                    .execute(conn)?;
            }
            note_authors(conn, &mut items)?;
            // A row no worker can deliver fails here, once, instead of failing every claim that
            // meets it (and with it the whole batch) forever.
            for (id, reason) in &unusable {
                diesel::update(crm_outbox::table.filter(crm_outbox::id.eq(id)))
                    .set((
                        crm_outbox::estado.eq(DeliveryStateName::Failed.as_str()),
                        crm_outbox::ultimo_erro.eq(Some(clip(reason))),
                        crm_outbox::bloqueado_ate.eq(None::<Timestamp>),
                        crm_outbox::updated_at.eq(Timestamp(now)),
                    ))
                    .execute(conn)?;
            }
            Ok(items)
        })?;
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    /// Ends a pending item's lease, recording how its try went.
    fn settle_outbox(
        &self,
        claim: OutboxClaim,
        settlement: Settlement<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let lease_ends = crm_outbox::bloqueado_ate.eq(None::<Timestamp>);
        let updated = crm_outbox::updated_at.eq(Timestamp(now));
        write_transaction!(self, |conn| {
            // Only while this claim is the item's: a lease that ran out may have been taken over.
            let item = crm_outbox::table
                .filter(crm_outbox::id.eq(claim.id.0))
                .filter(crm_outbox::estado.eq(DeliveryStateName::Pending.as_str()))
                .filter(crm_outbox::bloqueado_ate.eq(Timestamp(claim.lease_until)));
            let statement = diesel::update(item);
            match settlement {
                Settlement::Done { attempts } => statement
                    .set((
                        crm_outbox::estado.eq(DeliveryStateName::Done.as_str()),
                        crm_outbox::tentativas.eq(attempts_column(attempts)),
                        lease_ends,
                        updated,
                    ))
                    .execute(conn)?,
                Settlement::Retry {
                    attempts,
                    at,
                    error,
                } => statement
                    .set((
                        crm_outbox::tentativas.eq(attempts_column(attempts)),
                        crm_outbox::proxima_tentativa.eq(Timestamp(at)),
                        crm_outbox::ultimo_erro.eq(Some(clip(error))),
                        lease_ends,
                        updated,
                    ))
                    .execute(conn)?,
                Settlement::Failed { attempts, reason } => statement
                    .set((
                        crm_outbox::estado.eq(DeliveryStateName::Failed.as_str()),
                        crm_outbox::tentativas.eq(attempts_column(attempts)),
                        crm_outbox::ultimo_erro.eq(Some(clip(reason))),
                        lease_ends,
                        updated,
                    ))
                    .execute(conn)?,
                Settlement::Untried { at } => statement
                    .set((
                        crm_outbox::proxima_tentativa.eq(Timestamp(at)),
                        lease_ends,
                        updated,
                    ))
                    .execute(conn)?,
            };
            Ok(())
        })
    }

    fn outbox_states(&self, protocol: ProtocolId) -> Result<Vec<CrmActionStatus>, StoreError> {
        let rows: Vec<StatusRow> = with_connection!(self, |conn| {
            crm_outbox::table
                .filter(crm_outbox::protocolo_id.eq(protocol.0))
                .order(crm_outbox::id.asc())
                .select(StatusRow::as_select())
                .load(conn)?
        });
        rows.into_iter().map(StatusRow::into_domain).collect()
    }

    fn outbox_pending(&self) -> Result<u64, StoreError> {
        let count: i64 = with_connection!(self, |conn| {
            crm_outbox::table
                .filter(crm_outbox::estado.eq(DeliveryStateName::Pending.as_str()))
                .count()
                .get_result(conn)?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn outbox_last_owner(&self, target: &CrmTarget) -> Result<Option<i64>, StoreError> {
        let target_id = target.id_text();
        let owner: Option<Option<i64>> = with_connection!(self, |conn| {
            actions_on!(target, target_id)
                .filter(crm_outbox::acao.eq(CrmActionKind::SetOwner.as_str()))
                .order(crm_outbox::id.desc())
                .select(crm_outbox::owner_id)
                .first(conn)
                .optional()?
        });
        Ok(owner.flatten())
    }
}

impl Database {
    fn outbox_latest_protocol(&self, target: &CrmTarget) -> Result<Option<i64>, StoreError> {
        let target_id = target.id_text();
        let protocol: Option<Option<i64>> = with_connection!(self, |conn| {
            actions_on!(target, target_id)
                .filter(crm_outbox::protocolo_id.is_not_null())
                .order(crm_outbox::id.desc())
                .select(crm_outbox::protocolo_id)
                .first(conn)
                .optional()?
        });
        Ok(protocol.flatten())
    }

    fn outbox_cancel(
        &self,
        target: &CrmTarget,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let target_id = target.id_text();
        let cancelled = write_transaction!(self, |conn| {
            Ok(diesel::update(
                actions_on!(target, target_id)
                    .filter(crm_outbox::estado.eq(DeliveryStateName::Pending.as_str())),
            )
            .set((
                crm_outbox::estado.eq(DeliveryStateName::Failed.as_str()),
                crm_outbox::ultimo_erro.eq(Some(clip(reason))),
                crm_outbox::bloqueado_ate.eq(None::<Timestamp>),
                crm_outbox::updated_at.eq(Timestamp(now)),
            ))
            .execute(conn)?)
        })?;
        Ok(u64::try_from(cancelled).unwrap_or(0))
    }
}

impl CrmOutbox for Database {
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, DomainError> {
        Ok(self.claim_outbox(now, lease_until, limit)?)
    }

    fn complete(
        &self,
        claim: OutboxClaim,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        Ok(self.settle_outbox(claim, Settlement::Done { attempts }, now)?)
    }

    fn reschedule(
        &self,
        claim: OutboxClaim,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        last_error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let settlement = Settlement::Retry {
            attempts,
            at: next_attempt_at,
            error: last_error,
        };
        Ok(self.settle_outbox(claim, settlement, now)?)
    }

    fn fail(
        &self,
        claim: OutboxClaim,
        attempts: u32,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        Ok(self.settle_outbox(claim, Settlement::Failed { attempts, reason }, now)?)
    }

    fn release(
        &self,
        claim: OutboxClaim,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        Ok(self.settle_outbox(
            claim,
            Settlement::Untried {
                at: next_attempt_at,
            },
            now,
        )?)
    }

    fn states_for_protocol(
        &self,
        protocol: ProtocolId,
    ) -> Result<Vec<CrmActionStatus>, DomainError> {
        Ok(self.outbox_states(protocol)?)
    }

    fn pending_count(&self) -> Result<u64, DomainError> {
        Ok(self.outbox_pending()?)
    }

    fn last_owner_set(&self, target: &CrmTarget) -> Result<Option<PipedriveUserId>, DomainError> {
        Ok(self
            .outbox_last_owner(target)?
            .and_then(|owner| PipedriveUserId::new(owner).ok()))
    }

    fn latest_protocol(&self, target: &CrmTarget) -> Result<Option<ProtocolId>, DomainError> {
        Ok(self.outbox_latest_protocol(target)?.map(ProtocolId))
    }

    fn cancel_pending(
        &self,
        target: &CrmTarget,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, DomainError> {
        Ok(self.outbox_cancel(target, reason, now)?)
    }
}

//! [`CrmEventInbox`] on both backends: the Pipedrive webhook deliveries, recorded under their
//! deduplication key (`chave`, unique) and claimed by the worker with a lease, as the outbox
//! items are (see `crm_outbox.rs`).

use chrono::{DateTime, SubsecRound, Utc};
use consultores_domain::{
    CrmEvent, CrmEventClaim, CrmEventId, CrmEventInbox, CrmEventOutcome, CrmEventState,
    DomainError, NewCrmEvent,
};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::audit::prefix;
use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::schema::pipedrive_webhook_eventos as eventos;
use crate::sql_types::Timestamp;

/// Column widths of the texts that come from outside.
const MAX_KEY_CHARS: usize = 255;
const MAX_NAME_CHARS: usize = 30;
const MAX_ID_CHARS: usize = 64;
const MAX_REASON_CHARS: usize = 1_000;

/// A new `pipedrive_webhook_eventos` row.
#[derive(Debug, Insertable)]
#[diesel(table_name = eventos)]
struct NewEventRow<'a> {
    #[diesel(column_name = chave)]
    key: &'a str,
    #[diesel(column_name = acao)]
    action: &'a str,
    #[diesel(column_name = entidade)]
    entity: &'a str,
    #[diesel(column_name = entidade_id)]
    entity_id: &'a str,
    #[diesel(column_name = tentativa)]
    attempt: i32,
    payload: &'a str,
    #[diesel(column_name = estado)]
    state: &'static str,
    #[diesel(column_name = recebido_em)]
    received_at: Timestamp,
}

/// An event as the worker needs it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = eventos)]
struct EventRow {
    id: i64,
    #[diesel(column_name = chave)]
    key: String,
    #[diesel(column_name = acao)]
    action: String,
    #[diesel(column_name = entidade)]
    entity: String,
    #[diesel(column_name = entidade_id)]
    entity_id: String,
    #[diesel(column_name = tentativa)]
    attempt: i32,
    payload: String,
    #[diesel(column_name = recebido_em)]
    received_at: Timestamp,
}

impl EventRow {
    fn into_domain(self, lease_until: DateTime<Utc>) -> CrmEvent {
        CrmEvent {
            id: CrmEventId(self.id),
            lease_until,
            key: self.key,
            action: self.action,
            entity: self.entity,
            entity_id: self.entity_id,
            attempt: u32::try_from(self.attempt).unwrap_or(1),
            payload: self.payload,
            received_at: self.received_at.0,
        }
    }
}

/// Selecting claimable events differs per backend (row locks on PostgreSQL only).
trait ClaimEvents {
    fn claimable_events(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError>;
}

/// Pending and not leased, oldest first.
macro_rules! claimable_events {
    ($now:expr, $limit:expr) => {
        eventos::table
            .filter(eventos::estado.eq(CrmEventState::Pending.as_str()))
            .filter(
                eventos::bloqueado_ate
                    .is_null()
                    .or(eventos::bloqueado_ate.le(Timestamp($now))),
            )
            .order(eventos::id.asc())
            .limit(i64::from($limit))
            .select(EventRow::as_select())
    };
}

impl ClaimEvents for PgConnection {
    fn claimable_events(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        Ok(claimable_events!(now, limit)
            .for_update()
            .skip_locked()
            .load(self)?)
    }
}

impl ClaimEvents for SqliteConnection {
    fn claimable_events(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        Ok(claimable_events!(now, limit).load(self)?)
    }
}

/// The event `$claim` names, while still pending under that claim's lease: a later claim of it
/// (after the lease ran out) changes the lease and leaves this one nothing to update.
macro_rules! still_leased_by {
    ($claim:expr) => {
        eventos::table
            .filter(eventos::id.eq($claim.id.0))
            .filter(eventos::estado.eq(CrmEventState::Pending.as_str()))
            .filter(eventos::bloqueado_ate.eq(Timestamp($claim.lease_until)))
    };
}

impl Database {
    fn record_event(&self, event: &NewCrmEvent, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let row = NewEventRow {
            key: prefix(&event.key, MAX_KEY_CHARS),
            action: prefix(&event.action, MAX_NAME_CHARS),
            entity: prefix(&event.entity, MAX_NAME_CHARS),
            entity_id: prefix(&event.entity_id, MAX_ID_CHARS),
            attempt: i32::try_from(event.attempt).unwrap_or(i32::MAX),
            payload: &event.payload,
            state: CrmEventState::Pending.as_str(),
            received_at: Timestamp(now),
        };
        let inserted = write_transaction!(self, |conn| {
            Ok(diesel::insert_into(eventos::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(conn)?)
        })?;
        Ok(inserted == 1)
    }

    fn last_event_received(
        &self,
        action: &str,
        entity: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let latest: Option<Timestamp> = with_connection!(self, |conn| {
            eventos::table
                .filter(eventos::acao.eq(action))
                .filter(eventos::entidade.eq(entity))
                // Ids grow with time: the newest match is found walking the primary key back.
                .order(eventos::id.desc())
                .select(eventos::recebido_em)
                .first(conn)
                .optional()?
        });
        Ok(latest.map(|at| at.0))
    }

    fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<CrmEvent>, StoreError> {
        // The lease end identifies the claim when it is settled: keep it as the store keeps it.
        let lease_until = lease_until.trunc_subsecs(6);
        let mut rows = write_transaction!(self, |conn| {
            let rows = conn.claimable_events(now, limit)?;
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            if !ids.is_empty() {
                diesel::update(eventos::table.filter(eventos::id.eq_any(&ids)))
                    .set(eventos::bloqueado_ate.eq(Some(Timestamp(lease_until))))
                    .execute(conn)?;
            }
            Ok(rows)
        })?;
        rows.sort_by_key(|row| row.id);
        Ok(rows
            .into_iter()
            .map(|row| row.into_domain(lease_until))
            .collect())
    }

    fn finish_event(
        &self,
        claim: CrmEventClaim,
        outcome: &CrmEventOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let reason = outcome.reason().map(|text| prefix(text, MAX_REASON_CHARS));
        write_transaction!(self, |conn| {
            diesel::update(still_leased_by!(claim))
                .set((
                    eventos::estado.eq(outcome.state()),
                    eventos::motivo.eq(reason),
                    eventos::protocolo_id.eq(outcome.protocol().map(|protocol| protocol.0)),
                    eventos::processado_em.eq(Some(Timestamp(now))),
                    eventos::bloqueado_ate.eq(None::<Timestamp>),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    fn defer_event(
        &self,
        claim: CrmEventClaim,
        retry_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let reason = prefix(reason, MAX_REASON_CHARS);
        write_transaction!(self, |conn| {
            diesel::update(still_leased_by!(claim))
                .set((
                    eventos::motivo.eq(Some(reason)),
                    eventos::bloqueado_ate.eq(Some(Timestamp(retry_at))),
                ))
                .execute(conn)?;
            Ok(())
        })
    }
}

impl CrmEventInbox for Database {
    fn record(&self, event: &NewCrmEvent, now: DateTime<Utc>) -> Result<bool, DomainError> {
        Ok(self.record_event(event, now)?)
    }

    fn last_received(
        &self,
        action: &str,
        entity: &str,
    ) -> Result<Option<DateTime<Utc>>, DomainError> {
        Ok(self.last_event_received(action, entity)?)
    }

    fn claim_pending(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<CrmEvent>, DomainError> {
        Ok(self.claim_events(now, lease_until, limit)?)
    }

    fn finish(
        &self,
        claim: CrmEventClaim,
        outcome: &CrmEventOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        Ok(self.finish_event(claim, outcome, now)?)
    }

    fn defer(
        &self,
        claim: CrmEventClaim,
        retry_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), DomainError> {
        Ok(self.defer_event(claim, retry_at, reason)?)
    }
}

//! Availability evaluated off the request path (migration `2026-11-15-000001_fuso_padrao`).
//!
//! On PostgreSQL a language's queue holds only who may be available now, and the assignment
//! first applies every availability change that is due (`consultores.proxima_mudanca`), under
//! the protocol counter's lock. Two things here keep that work off the assignments:
//!
//! * [`Database::apply_due_availability`]: a chunk of the due changes, in the assignment's lock
//!   order (`consultores_fila_adiantar`), for start-up and a periodic job. Any number of
//!   replicas may run it at once: chunks and assignments take turns on the counter row.
//! * [`Database::record_default_time_zone`]: the default zone the queue was evaluated with is
//!   recorded on the counter row; when `DEFAULT_TIME_ZONE` changed, every consultant without a
//!   zone of their own is marked to be evaluated again, in the same transaction.
//!
//! SQLite does the same with the domain's functions (`sqlite_queue`), under its writer lock.

use chrono::{DateTime, Utc};
use consultores_domain::{AvailabilityUpkeep, DomainError, Zone};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::database::{write_transaction, Database};
use crate::error::StoreError;
use crate::faults::Faults;
use crate::sql_types::{Timestamp, UtcTimestamp};

/// What start-up found when it recorded the configured default zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultZoneRecord {
    /// The zone recorded is the one configured: nothing was marked.
    Unchanged,
    /// Another zone (or none) was recorded: the configured one is now, and `marked`
    /// consultants without a zone of their own were marked to be evaluated again.
    Changed {
        /// The zone recorded before, `None` when no service had recorded one.
        previous: Option<String>,
        marked: usize,
    },
}

#[derive(QueryableByName)]
struct RecordedZone {
    #[diesel(sql_type = Nullable<Text>)]
    fuso_padrao: Option<String>,
}

#[derive(QueryableByName)]
struct Evaluated {
    #[diesel(sql_type = Integer)]
    value: i32,
}

/// The statements of [`Database::record_default_time_zone`] that differ per backend.
trait ZoneRecordQueries {
    /// The recorded zone, with the counter row locked until the transaction ends.
    fn lock_recorded_zone(&mut self) -> Result<Option<String>, StoreError>;
    fn write_recorded_zone(&mut self, zone: &str) -> Result<(), StoreError>;
    /// Marks every consultant without a zone of their own to be evaluated; returns how many.
    fn mark_without_own_zone(&mut self) -> Result<usize, StoreError>;
}

fn missing_counter() -> StoreError {
    StoreError::internal(
        "the protocol counter row (controle_protocolo id 1) is missing: run the migrations",
    )
}

impl ZoneRecordQueries for PgConnection {
    fn lock_recorded_zone(&mut self) -> Result<Option<String>, StoreError> {
        // The counter row first, as every assignment takes it: the marking below then waits
        // for no assignment, and no assignment evaluates under the old zone meanwhile.
        diesel::sql_query(
            "SELECT fuso_padrao FROM controle_protocolo WHERE id = 1 FOR NO KEY UPDATE",
        )
        .get_result::<RecordedZone>(self)
        .optional()?
        .map(|row| row.fuso_padrao)
        .ok_or_else(missing_counter)
    }

    fn write_recorded_zone(&mut self, zone: &str) -> Result<(), StoreError> {
        diesel::sql_query("UPDATE controle_protocolo SET fuso_padrao = $1 WHERE id = 1")
            .bind::<Text, _>(zone)
            .execute(self)?;
        Ok(())
    }

    fn mark_without_own_zone(&mut self) -> Result<usize, StoreError> {
        // Rows locked in id order first, the order of every other multi-row lock on
        // consultores. A removed consultant is never available, whatever the zone.
        diesel::sql_query(
            "SELECT id FROM consultores \
             WHERE fuso_horario IS NULL AND removido_em IS NULL ORDER BY id FOR UPDATE",
        )
        .execute(self)?;
        Ok(diesel::sql_query(
            "UPDATE consultores \
             SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL \
             WHERE fuso_horario IS NULL AND removido_em IS NULL",
        )
        .execute(self)?)
    }
}

impl ZoneRecordQueries for SqliteConnection {
    fn lock_recorded_zone(&mut self) -> Result<Option<String>, StoreError> {
        // The immediate transaction already excludes every other writer.
        diesel::sql_query("SELECT fuso_padrao FROM controle_protocolo WHERE id = 1")
            .get_result::<RecordedZone>(self)
            .optional()?
            .map(|row| row.fuso_padrao)
            .ok_or_else(missing_counter)
    }

    fn write_recorded_zone(&mut self, zone: &str) -> Result<(), StoreError> {
        diesel::sql_query("UPDATE controle_protocolo SET fuso_padrao = ? WHERE id = 1")
            .bind::<Text, _>(zone)
            .execute(self)?;
        Ok(())
    }

    fn mark_without_own_zone(&mut self) -> Result<usize, StoreError> {
        crate::sqlite_queue::mark_all_without_own_zone(self)
    }
}

impl Database {
    /// Records the configured default zone (`DEFAULT_TIME_ZONE`) as the one availability is
    /// evaluated with. When another zone (or none) was recorded, in the same transaction,
    /// every consultant without a zone of their own (and not removed) is marked to be
    /// evaluated again, so one who is within their hours under the new zone is served at once
    /// and one who is not leaves the queue. Call it at start-up, after the migrations.
    pub fn record_default_time_zone(&self) -> Result<DefaultZoneRecord, DomainError> {
        let zone = self.default_time_zone().name();
        let record = || -> Result<DefaultZoneRecord, StoreError> {
            write_transaction!(self, |conn| {
                let previous = conn.lock_recorded_zone()?;
                if previous.as_deref() == Some(zone) {
                    return Ok(DefaultZoneRecord::Unchanged);
                }
                conn.write_recorded_zone(zone)?;
                let marked = conn.mark_without_own_zone()?;
                Ok(DefaultZoneRecord::Changed { previous, marked })
            })
        };
        Ok(record()?)
    }

    /// Applies at most `limit` of the availability changes due at `now` (PostgreSQL:
    /// `consultores_fila_adiantar`, the counter row locked first, then the consultants in id
    /// order, as an assignment locks them), in one transaction; returns how many consultants
    /// were evaluated, fewer than `limit` when nothing else was due. SQLite: the same with the
    /// domain's functions, in its write transaction.
    pub fn apply_due_availability(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<usize, DomainError> {
        let limit = limit.max(1);
        let zone = self.default_time_zone();
        let apply = || -> Result<usize, StoreError> {
            write_transaction!(self, |conn| conn.apply_due_chunk(
                now,
                zone,
                limit,
                self.faults()
            ))
        };
        Ok(apply()?)
    }
}

/// One chunk of due changes per backend.
trait DueChunk {
    fn apply_due_chunk(
        &mut self,
        now: DateTime<Utc>,
        zone: Zone,
        limit: u32,
        faults: &Faults,
    ) -> Result<usize, StoreError>;
}

impl DueChunk for PgConnection {
    fn apply_due_chunk(
        &mut self,
        now: DateTime<Utc>,
        zone: Zone,
        limit: u32,
        _faults: &Faults,
    ) -> Result<usize, StoreError> {
        let evaluated = diesel::sql_query("SELECT consultores_fila_adiantar($1, $2, $3) AS value")
            .bind::<UtcTimestamp, _>(Timestamp(now))
            .bind::<Text, _>(zone.name())
            .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
            .get_result::<Evaluated>(self)?;
        Ok(usize::try_from(evaluated.value).unwrap_or(0))
    }
}

impl DueChunk for SqliteConnection {
    fn apply_due_chunk(
        &mut self,
        now: DateTime<Utc>,
        zone: Zone,
        limit: u32,
        faults: &Faults,
    ) -> Result<usize, StoreError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        crate::sqlite_queue::apply_due_at_most(self, zone, now, faults, limit)
    }
}

impl AvailabilityUpkeep for Database {
    fn apply_due_availability(&self, now: DateTime<Utc>, limit: u32) -> Result<usize, DomainError> {
        Database::apply_due_availability(self, now, limit)
    }
}

//! Statements shared by several ports, written once and compiled for both connection types.

use chrono::{DateTime, Utc};
use consultores_domain::ProtocolNumber;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::audit::NewAuditRow;
use crate::cached_sql::cached_sql;
use crate::error::StoreError;
use crate::faults::Interruptible;
use crate::idempotency::KeyClaims;
use crate::models::{ConsultantRow, LanguageRow, ProtocolRow};
use crate::schema::{auditoria, consultor_idiomas, consultores, protocolos};
use crate::sql_types::Timestamp;

/// Ids per `IN (…)` list: far below SQLite's and PostgreSQL's limits on bound parameters.
const IDS_PER_QUERY: usize = 5_000;

/// A protocol number taken from the counter, and the instant of the write that took it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TakenNumber {
    pub number: ProtocolNumber,
    pub stamp: DateTime<Utc>,
}

#[derive(Debug, QueryableByName)]
struct CounterRow {
    #[diesel(sql_type = diesel::sql_types::BigInt, column_name = ultimo_numero)]
    last_number: i64,
    #[diesel(sql_type = crate::sql_types::UtcTimestamp)]
    updated_at: Timestamp,
}

fn missing_counter() -> StoreError {
    StoreError::internal(
        "the protocol counter row (controle_protocolo id 1) is missing: run the migrations",
    )
}

fn taken(counter: i64, stamp: DateTime<Utc>) -> Result<TakenNumber, StoreError> {
    ProtocolNumber::from_counter(counter)
        .map(|number| TakenNumber { number, stamp })
        .map_err(|error| StoreError::internal(format!("protocol counter {counter}: {error}")))
}

/// Shared statements; every method runs on the caller's connection (and transaction).
pub(crate) trait Queries: Interruptible + CounterQuery + RowLocks + KeyClaims {
    /// Whether a consultant exists and is not deleted.
    fn consultant_is_live(&mut self, id: i64) -> Result<bool, StoreError>;

    /// The language rows of these consultants, by consultant and position.
    fn languages_of(&mut self, ids: &[i64]) -> Result<Vec<LanguageRow>, StoreError>;

    /// Adds an audit row in the caller's transaction (it commits or rolls back with the change
    /// it records).
    fn insert_audit(&mut self, row: &NewAuditRow<'_>) -> Result<(), StoreError>;

    /// Makes `rows` a consultant's languages in place: rows of dropped languages are deleted,
    /// kept ones only get their new position, new ones are inserted. A reorder is never a
    /// removal and a re-insertion of the same language.
    fn replace_languages(
        &mut self,
        consultant: i64,
        rows: &[LanguageRow],
    ) -> Result<(), StoreError>;
}

macro_rules! impl_queries {
    ($($conn:ty),+) => {$(
        impl Queries for $conn {
            fn replace_languages(
                &mut self,
                consultant: i64,
                rows: &[LanguageRow],
            ) -> Result<(), StoreError> {
                use consultor_idiomas::dsl as l;
                let kept: Vec<&str> = rows.iter().map(|row| row.language.as_str()).collect();
                diesel::delete(
                    l::consultor_idiomas
                        .filter(l::consultor_id.eq(consultant))
                        .filter(l::idioma.ne_all(&kept)),
                )
                .execute(self)?;
                for row in rows {
                    let moved = diesel::update(
                        l::consultor_idiomas
                            .filter(l::consultor_id.eq(consultant))
                            .filter(l::idioma.eq(&row.language)),
                    )
                    .set(l::posicao.eq(row.position))
                    .execute(self)?;
                    if moved == 0 {
                        diesel::insert_into(l::consultor_idiomas)
                            .values(row)
                            .execute(self)?;
                    }
                }
                Ok(())
            }

            fn consultant_is_live(&mut self, id: i64) -> Result<bool, StoreError> {
                let found = consultores::table
                    .filter(consultores::id.eq(id))
                    .filter(consultores::removido_em.is_null())
                    .select(consultores::id)
                    .first::<i64>(self)
                    .optional()?;
                Ok(found.is_some())
            }

            fn languages_of(&mut self, ids: &[i64]) -> Result<Vec<LanguageRow>, StoreError> {
                // One consultant by `=`: SQLite prepares an `IN` list again on every call, and
                // single reads (a consultant, the one an assignment served) are hot paths.
                if let [id] = ids {
                    return Ok(consultor_idiomas::table
                        .filter(consultor_idiomas::consultor_id.eq(*id))
                        .order(consultor_idiomas::posicao)
                        .select(LanguageRow::as_select())
                        .load(self)?);
                }
                let mut rows = Vec::with_capacity(ids.len() * 2);
                for chunk in ids.chunks(IDS_PER_QUERY) {
                    rows.extend(
                        consultor_idiomas::table
                            .filter(consultor_idiomas::consultor_id.eq_any(chunk))
                            .order((consultor_idiomas::consultor_id, consultor_idiomas::posicao))
                            .select(LanguageRow::as_select())
                            .load(self)?,
                    );
                }
                Ok(rows)
            }

            fn insert_audit(&mut self, row: &NewAuditRow<'_>) -> Result<(), StoreError> {
                diesel::insert_into(auditoria::table).values(row).execute(self)?;
                Ok(())
            }
        }
    )+};
}

impl_queries!(PgConnection, SqliteConnection);

impl CounterQuery for PgConnection {
    fn take_protocol_number(&mut self, now: DateTime<Utc>) -> Result<TakenNumber, StoreError> {
        let row = diesel::sql_query(
            "UPDATE controle_protocolo \
             SET ultimo_numero = ultimo_numero + 1, \
                 updated_at = GREATEST(LEAST($1, clock_timestamp() + INTERVAL '1 second'), \
                                       updated_at + INTERVAL '1 microsecond') \
             WHERE id = 1 \
             RETURNING ultimo_numero, updated_at",
        )
        .bind::<crate::sql_types::UtcTimestamp, _>(Timestamp(now))
        .get_result::<CounterRow>(self)
        .optional()?
        .ok_or_else(missing_counter)?;
        taken(row.last_number, row.updated_at.0)
    }
}

/// The counter's next number, and the stamp of the previous holder (the live row, id 1, is
/// created by the migrations, never at request time).
const TAKE_NUMBER: &str = "UPDATE controle_protocolo SET ultimo_numero = ultimo_numero + 1 \
     WHERE id = 1 RETURNING ultimo_numero, updated_at";

/// The stamp of the number just taken.
const STAMP_COUNTER: &str = "UPDATE controle_protocolo SET updated_at = ? WHERE id = 1";

impl CounterQuery for SqliteConnection {
    fn take_protocol_number(&mut self, now: DateTime<Utc>) -> Result<TakenNumber, StoreError> {
        // Inside BEGIN IMMEDIATE nobody else writes, so two statements are as good as one.
        let row = cached_sql(TAKE_NUMBER)
            .get_result::<CounterRow>(self)
            .optional()?
            .ok_or_else(missing_counter)?;
        // SQLite runs in this process: its clock is this host's.
        let now = now.min(Utc::now() + CLOCK_ALLOWANCE);
        let stamp = now.max(row.updated_at.0 + chrono::Duration::microseconds(1));
        cached_sql(STAMP_COUNTER)
            .bind::<crate::sql_types::UtcTimestamp, _>(Timestamp(stamp))
            .execute(self)?;
        taken(row.last_number, stamp)
    }
}

/// How far ahead of the database's clock a caller's `now` may be (the SQL says `1 second`).
pub const CLOCK_ALLOWANCE: chrono::Duration = chrono::Duration::seconds(1);

/// The counter statement differs per backend (SQL interval arithmetic).
pub(crate) trait CounterQuery {
    /// Increments the protocol counter and returns the new number with the instant to stamp
    /// this write with. On PostgreSQL this takes the counter row's lock until the transaction
    /// ends.
    ///
    /// The instant is `now`, unless an earlier holder of the counter stamped a time at or after
    /// it: then it is 1 µs after that one. Callers read their clock before waiting for the lock,
    /// so under a burst `now` values arrive out of order; stamping them as they came would put a
    /// consultant served last back at the head of the queue. Stamps taken under the counter lock
    /// strictly increase in commit order, across threads and replicas (whatever their clock skew).
    ///
    /// `now` counts for at most the database's clock plus [`CLOCK_ALLOWANCE`]: stamps never go
    /// back, so one caller whose clock ran ahead would otherwise push every later stamp (and
    /// audit time, and retention cutoff) into the future for good. The PostgreSQL function
    /// `consultores_atribuir` applies the same bound.
    fn take_protocol_number(&mut self, now: DateTime<Utc>) -> Result<TakenNumber, StoreError>;
}

/// Reading a row to change it: on PostgreSQL `SELECT … FOR UPDATE`, so the values read are the
/// ones the change replaces (a concurrent writer of the same row waits until COMMIT), which makes
/// the audit entry's `antes` exact; on SQLite a plain read, as `BEGIN IMMEDIATE` already keeps
/// every other writer out.
pub(crate) trait RowLocks {
    /// A consultant that is not deleted, locked.
    fn lock_live_consultant(&mut self, id: i64) -> Result<Option<ConsultantRow>, StoreError>;

    /// A protocol, locked.
    fn lock_protocol(&mut self, id: i64) -> Result<Option<ProtocolRow>, StoreError>;
}

/// The rows of an outbox table (`estado`, `proxima_tentativa`, `bloqueado_ate`, `id`) in state
/// `$pending`, due at `$now` and not leased: the first `$limit` in due order. Both outboxes (CRM
/// actions, webhook deliveries) claim from it.
macro_rules! due_and_unleased {
    ($table:ident, $pending:expr, $now:expr, $limit:expr) => {
        $table::table
            .filter($table::estado.eq($pending))
            .filter($table::proxima_tentativa.le($crate::sql_types::Timestamp($now)))
            .filter(
                $table::bloqueado_ate
                    .is_null()
                    .or($table::bloqueado_ate.le($crate::sql_types::Timestamp($now))),
            )
            .order(($table::proxima_tentativa.asc(), $table::id.asc()))
            .limit(i64::from($limit))
    };
}
pub(crate) use due_and_unleased;

/// The consultant `$id` unless removed.
macro_rules! live_consultant {
    ($id:expr) => {
        consultores::table
            .filter(consultores::id.eq($id))
            .filter(consultores::removido_em.is_null())
            .select(ConsultantRow::as_select())
    };
}

impl RowLocks for PgConnection {
    fn lock_live_consultant(&mut self, id: i64) -> Result<Option<ConsultantRow>, StoreError> {
        Ok(live_consultant!(id).for_update().first(self).optional()?)
    }

    fn lock_protocol(&mut self, id: i64) -> Result<Option<ProtocolRow>, StoreError> {
        let protocol = protocolos::table.find(id).select(ProtocolRow::as_select());
        Ok(protocol.for_update().first(self).optional()?)
    }
}

// `get_result`, not `first`: at most one row matches anyway, and SQLite re-prepares a statement
// with a bound `LIMIT` on every call (the plan may depend on its value).
impl RowLocks for SqliteConnection {
    fn lock_live_consultant(&mut self, id: i64) -> Result<Option<ConsultantRow>, StoreError> {
        Ok(live_consultant!(id).get_result(self).optional()?)
    }

    fn lock_protocol(&mut self, id: i64) -> Result<Option<ProtocolRow>, StoreError> {
        let protocol = protocolos::table.find(id).select(ProtocolRow::as_select());
        Ok(protocol.get_result(self).optional()?)
    }
}

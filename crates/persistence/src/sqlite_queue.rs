//! The per-language queue on SQLite (migration `2026-11-15-000000_fila_por_idioma`): the twin of
//! PostgreSQL's `consultores_fila_sincronizar` and of the head lookup in
//! `consultores_atribuir_lote`, with the rules evaluated by the domain's functions (SQLite knows
//! no time zones). Everything here runs inside an immediate transaction: the assignment's, or a
//! chunk of the upkeep applied ahead (`availability_upkeep.rs`).
//!
//! `consultor_fila` holds one entry per language of each consultant believed available now, with
//! their queue key; `consultores.proxima_mudanca` says when a consultant out of the queue must be
//! evaluated again (`'-infinity'`: as soon as possible, set by the migration's triggers on every
//! write that may change their availability). An assignment applies the due evaluations first,
//! then reads the head of a language's queue (one index probe) and re-checks it: an entry gone
//! stale by the clock (a shift ended) is removed, never served.

use chrono::{DateTime, Utc};
use consultores_domain::{Language, Zone};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::SqliteConnection;

use crate::cached_sql::cached_sql;
use crate::error::StoreError;
use crate::faults::Faults;
use crate::models::ConsultantRow;
use crate::schema::{consultor_idiomas, consultores};
use crate::sql_types::{Timestamp, UtcTimestamp};

/// `proxima_mudanca` of a consultant to be evaluated by the next assignment.
const TO_EVALUATE: &str = "-infinity";

/// The head of a language's queue: never served first (NULL sorts first), then the oldest key,
/// ties by the lower id. Served by the index `consultor_fila_cabeca_idx` alone.
pub const SQLITE_HEAD: &str = "\
SELECT consultor_id AS value FROM consultor_fila
WHERE idioma = ?
ORDER BY chave_fila ASC, consultor_id ASC
LIMIT 1";

/// Consultants whose evaluation is due at `?`: marked or past their next clock change, and
/// evaluated at an instant later than `?` (a caller whose clock is behind). Each a range probe
/// of a partial index, usually empty; two statements, as SQLite plans their `UNION … ORDER BY`
/// as two scans of the table.
pub const SQLITE_DUE: [&str; 2] = [
    "SELECT id AS value FROM consultores WHERE proxima_mudanca <= ?",
    "SELECT id AS value FROM consultores WHERE disponibilidade_avaliada_em > ?",
];

/// Deletes a consultant's entries.
const DELETE_ENTRIES: &str = "DELETE FROM consultor_fila WHERE consultor_id = ?";

/// One entry per language of a consultant (the second placeholder), with their key (the first).
const INSERT_ENTRIES: &str = "INSERT INTO consultor_fila (consultor_id, idioma, chave_fila) \
     SELECT consultor_id, idioma, ? FROM consultor_idiomas WHERE consultor_id = ?";

/// Moves the key of a consultant's entries.
const MOVE_ENTRIES: &str = "UPDATE consultor_fila SET chave_fila = ? WHERE consultor_id = ?";

/// Stores when to evaluate a consultant next, and when this evaluation was made.
const STORE_EVALUATION: &str =
    "UPDATE consultores SET proxima_mudanca = ?, disponibilidade_avaliada_em = ? WHERE id = ?";

fn store_evaluation(
    conn: &mut SqliteConnection,
    id: i64,
    next: Option<String>,
    evaluated_at: Option<String>,
) -> Result<(), StoreError> {
    cached_sql(STORE_EVALUATION)
        .bind::<Nullable<Text>, _>(next)
        .bind::<Nullable<Text>, _>(evaluated_at)
        .bind::<BigInt, _>(id)
        .execute(conn)?;
    Ok(())
}

/// Rows evaluated per statement when many are due (e.g. after the migration marks everyone).
const IDS_PER_QUERY: usize = 1_000;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// Where a consultant stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// In the queue of each of their languages.
    Available,
    /// Out of the queue until the instant (the clock may change it then), or until a write.
    Out(Option<DateTime<Utc>>),
}

fn verdict(
    row: &ConsultantRow,
    default_zone: Zone,
    now: DateTime<Utc>,
) -> Result<Verdict, StoreError> {
    if row.deleted_at.is_some() || !row.active || !row.in_rotation || !row.online {
        return Ok(Verdict::Out(None));
    }
    let rules = row.stored_rules().into_domain(default_zone)?;
    let workload = row.workload();
    Ok(match rules.blocking_rule(&workload, now) {
        None => Verdict::Available,
        Some(_) => Verdict::Out(rules.next_clock_change(&workload, now)),
    })
}

/// Stores `row`'s evaluation at `now`: their entries (deleted, then one per language with their
/// key when available, so an entry of a language they no longer speak cannot survive) and when
/// to evaluate them next.
fn evaluate(
    conn: &mut SqliteConnection,
    row: &ConsultantRow,
    default_zone: Zone,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let verdict = verdict(row, default_zone, now)?;
    cached_sql(DELETE_ENTRIES)
        .bind::<BigInt, _>(row.id)
        .execute(conn)?;
    let (next, evaluated_at) = match verdict {
        Verdict::Available => {
            cached_sql(INSERT_ENTRIES)
                .bind::<Nullable<BigInt>, _>(row.queue_key)
                .bind::<BigInt, _>(row.id)
                .execute(conn)?;
            (None, None)
        }
        Verdict::Out(None) => (None, None),
        Verdict::Out(Some(next)) => (
            Some(Timestamp(next).sqlite_text()),
            Some(Timestamp(now).sqlite_text()),
        ),
    };
    store_evaluation(conn, row.id, next, evaluated_at)
}

/// Evaluates every consultant whose evaluation is due at `now` (see [`SQLITE_DUE`]), in id order.
pub(crate) fn apply_due(
    conn: &mut SqliteConnection,
    default_zone: Zone,
    now: DateTime<Utc>,
    faults: &Faults,
) -> Result<(), StoreError> {
    apply_due_at_most(conn, default_zone, now, faults, usize::MAX).map(drop)
}

/// Evaluates at most `limit` of the consultants whose evaluation is due at `now`, lowest ids
/// first; returns how many it evaluated (fewer than `limit`: nothing else was due).
pub(crate) fn apply_due_at_most(
    conn: &mut SqliteConnection,
    default_zone: Zone,
    now: DateTime<Utc>,
    faults: &Faults,
    limit: usize,
) -> Result<usize, StoreError> {
    let mut ids = Vec::new();
    for due in SQLITE_DUE {
        ids.extend(
            cached_sql(due)
                .bind::<UtcTimestamp, _>(Timestamp(now))
                .load::<Id>(conn)?
                .into_iter()
                .map(|id| id.value),
        );
    }
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(limit);
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let rows: Vec<ConsultantRow> = consultores::table
            .filter(consultores::id.eq_any(chunk))
            .select(ConsultantRow::as_select())
            .load(conn)?;
        faults.count_queue_rows(rows.len());
        for row in &rows {
            evaluate(conn, row, default_zone, now)?;
        }
    }
    Ok(ids.len())
}

/// Re-evaluates the consultant just served at `now` (`row` read after their key and counters
/// moved): still available, their entries take the new key (the head's re-check saw the
/// language, and nothing else in this transaction changed them); otherwise (a limit reached)
/// they leave the queue. Either way the mark the stamp's trigger set is replaced.
pub(crate) fn reevaluate_served(
    conn: &mut SqliteConnection,
    row: &ConsultantRow,
    default_zone: Zone,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if verdict(row, default_zone, now)? != Verdict::Available {
        return evaluate(conn, row, default_zone, now);
    }
    cached_sql(MOVE_ENTRIES)
        .bind::<Nullable<BigInt>, _>(row.queue_key)
        .bind::<BigInt, _>(row.id)
        .execute(conn)?;
    store_evaluation(conn, row.id, None, None)
}

/// The head of `language`'s queue at `now`, due evaluations already applied: the first entry,
/// its consultant's switches, rules and language re-checked; a stale entry is re-evaluated
/// (which removes it) and the next one tried.
pub(crate) fn head(
    conn: &mut SqliteConnection,
    language: &Language,
    default_zone: Zone,
    now: DateTime<Utc>,
    faults: &Faults,
) -> Result<Option<ConsultantRow>, StoreError> {
    loop {
        let Some(Id { value: id }) = cached_sql(SQLITE_HEAD)
            .bind::<Text, _>(language.as_str())
            .get_result::<Id>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        // `get_result`, not `first`: a bound `LIMIT` would re-prepare the statement every time.
        let row: ConsultantRow = consultores::table
            .find(id)
            .select(ConsultantRow::as_select())
            .get_result(conn)?;
        faults.count_queue_rows(1);
        let speaks = diesel::select(diesel::dsl::exists(
            consultor_idiomas::table
                .filter(consultor_idiomas::consultor_id.eq(id))
                .filter(consultor_idiomas::idioma.eq(language.as_str())),
        ))
        .get_result::<bool>(conn)?;
        if speaks && verdict(&row, default_zone, now)? == Verdict::Available {
            return Ok(Some(row));
        }
        // Stale: removed (or, speaking no longer, its other entries rewritten), never served.
        evaluate(conn, &row, default_zone, now)?;
    }
}

/// Marks every consultant without a zone of their own (and not removed) to be evaluated by the
/// next assignment: their availability follows the service's default zone, which changed.
/// Called at start-up when `DEFAULT_TIME_ZONE` changed; returns how many were marked.
pub(crate) fn mark_all_without_own_zone(conn: &mut SqliteConnection) -> Result<usize, StoreError> {
    Ok(diesel::sql_query(
        "UPDATE consultores SET proxima_mudanca = ?, disponibilidade_avaliada_em = NULL \
         WHERE fuso_horario IS NULL AND removido_em IS NULL",
    )
    .bind::<Text, _>(TO_EVALUATE)
    .execute(conn)?)
}

//! [`ReportStore`] on both backends: rotation assignments per consultant per local day.
//!
//! SQLite has no time-zone functions, so the database is given each local day as the UTC range
//! it covers (computed by the caller) and counts the protocols of each range, reading
//! `protocolos_atribuicoes_idx`, an index over exactly the rotation's protocols (time, consultant,
//! language): the work grows with the protocols inside the period, not with the table.

use consultores_domain::{
    ConsultantId, DailyCount, DomainError, LocalDay, ReportRequest, ReportStore,
};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::database::{Backend, Database, Pools};
use crate::error::StoreError;
use crate::sql_types::Timestamp;

#[derive(Debug, QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt, column_name = consultor_id)]
    consultant_id: i64,
    #[diesel(sql_type = Text, column_name = nome)]
    name: String,
    #[diesel(sql_type = BigInt, column_name = dia)]
    day: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One instant as a literal of `backend` (generated from a `DateTime`, never from user text).
fn instant_literal(backend: Backend, instant: Timestamp) -> String {
    match backend {
        Backend::Postgres => format!("'{}'::timestamptz", instant.sqlite_text()),
        Backend::Sqlite => format!("'{}'", instant.sqlite_text()),
    }
}

/// The statement for `days`; `$1`/`?` is the language when `filtered`.
///
/// PostgreSQL reads the period in one range scan and finds each protocol's day with
/// `width_bucket` over the days' starts. SQLite has no such function: the days drive a
/// `CROSS JOIN` (its planner keeps the left table outside), one range scan per day.
fn statement(backend: Backend, days: &[LocalDay], filtered: bool) -> String {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return String::new();
    };
    let counted = match backend {
        Backend::Postgres => {
            let starts: Vec<String> = days
                .iter()
                .map(|day| instant_literal(backend, Timestamp(day.start)))
                .collect();
            format!(
                "SELECT p.consultor_id AS consultor_id, \
                        width_bucket(p.created_at, ARRAY[{starts}]) - 1 AS dia, COUNT(*) AS n \
                 FROM protocolos p \
                 WHERE p.created_at >= {from} AND p.created_at < {to} \
                   AND p.idioma IS NOT NULL AND p.consultor_id IS NOT NULL {language} \
                 GROUP BY 1, 2",
                starts = starts.join(", "),
                from = instant_literal(backend, Timestamp(first.start)),
                to = instant_literal(backend, Timestamp(last.end)),
                language = if filtered { "AND p.idioma = $1" } else { "" },
            )
        }
        Backend::Sqlite => {
            let values: Vec<String> = days
                .iter()
                .enumerate()
                .map(|(index, day)| {
                    format!(
                        "({index}, {}, {})",
                        instant_literal(backend, Timestamp(day.start)),
                        instant_literal(backend, Timestamp(day.end))
                    )
                })
                .collect();
            format!(
                "WITH dias (i, inicio, fim) AS (VALUES {values}) \
                 SELECT p.consultor_id AS consultor_id, d.i AS dia, COUNT(*) AS n \
                 FROM dias d CROSS JOIN protocolos p \
                 WHERE p.created_at >= d.inicio AND p.created_at < d.fim \
                   AND p.idioma IS NOT NULL AND p.consultor_id IS NOT NULL {language} \
                 GROUP BY p.consultor_id, d.i",
                values = values.join(", "),
                language = if filtered { "AND p.idioma = ?" } else { "" },
            )
        }
    };
    format!(
        "SELECT c.id AS consultor_id, c.nome AS nome, CAST(t.dia AS BIGINT) AS dia, \
                CAST(t.n AS BIGINT) AS n \
         FROM ({counted}) t JOIN consultores c ON c.id = t.consultor_id \
         ORDER BY c.id, t.dia"
    )
}

/// Loads the rows of `sql` on either backend's connection, binding the language if any.
macro_rules! load {
    ($conn:expr, $sql:expr, $language:expr) => {{
        let query = diesel::sql_query($sql).into_boxed();
        match $language {
            Some(language) => query.bind::<Text, _>(language).load::<CountRow>($conn),
            None => query.load::<CountRow>($conn),
        }
    }};
}

impl Database {
    fn count_assignments(&self, request: &ReportRequest) -> Result<Vec<DailyCount>, StoreError> {
        if request.days.is_empty() {
            return Ok(Vec::new());
        }
        let sql = statement(self.backend(), &request.days, request.language.is_some());
        let language = request.language.as_ref().map(|l| l.as_str().to_owned());
        let rows: Vec<CountRow> = match self.pools() {
            Pools::Postgres(pool, session) => {
                let mut conn = pool.get()?;
                // A year of 1,000 consultants is 366,000 groups: room to aggregate them in
                // memory, and no JIT compilation for a statement that differs on every call.
                conn.build_transaction()
                    .read_only()
                    .run(|conn| -> Result<_, StoreError> {
                        session.begin(conn)?;
                        diesel::sql_query("SET LOCAL work_mem = '64MB'").execute(conn)?;
                        diesel::sql_query("SET LOCAL jit = off").execute(conn)?;
                        Ok(load!(conn, &sql, language)?)
                    })?
            }
            Pools::Sqlite(pool) => {
                let mut conn = pool.get()?;
                load!(&mut *conn, &sql, language)?
            }
        };
        Ok(rows
            .into_iter()
            .map(|row| DailyCount {
                consultant_id: ConsultantId(row.consultant_id),
                name: row.name,
                day: usize::try_from(row.day).unwrap_or(usize::MAX),
                count: u64::try_from(row.n).unwrap_or(0),
            })
            .collect())
    }
}

impl ReportStore for Database {
    fn assignment_counts(&self, request: &ReportRequest) -> Result<Vec<DailyCount>, DomainError> {
        Ok(self.count_assignments(request)?)
    }
}

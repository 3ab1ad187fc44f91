//! [`ReportStore`] on both backends: rotation assignments per consultant per local day.
//!
//! SQLite has no time-zone functions, so the database is given each local day as the UTC range
//! it covers (computed by the caller) and counts the protocols of each range. The days drive the
//! join (`CROSS JOIN` keeps them the outer loop on SQLite, whose planner takes it as an order
//! hint), so each day is one range scan of `protocolos_atribuicoes_idx`, an index over exactly
//! the rotation's protocols: the work grows with the protocols inside the period, not the table.

use consultores_domain::{
    ConsultantId, DailyCount, DomainError, LocalDay, ReportRequest, ReportStore,
};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::database::{with_connection, Backend, Database};
use crate::error::StoreError;
use crate::sql_types::Timestamp;

#[derive(Debug, QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    consultor_id: i64,
    #[diesel(sql_type = Text)]
    nome: String,
    #[diesel(sql_type = BigInt)]
    dia: i64,
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
fn statement(backend: Backend, days: &[LocalDay], filtered: bool) -> String {
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
    let language = match (filtered, backend) {
        (false, _) => "",
        (true, Backend::Postgres) => "AND p.idioma = $1",
        (true, Backend::Sqlite) => "AND p.idioma = ?",
    };
    format!(
        "WITH dias (i, inicio, fim) AS (VALUES {values}) \
         SELECT c.id AS consultor_id, c.nome AS nome, CAST(t.dia AS BIGINT) AS dia, \
                CAST(t.n AS BIGINT) AS n \
         FROM (SELECT p.consultor_id AS consultor_id, d.i AS dia, COUNT(*) AS n \
               FROM dias d CROSS JOIN protocolos p \
               WHERE p.created_at >= d.inicio AND p.created_at < d.fim \
                 AND p.idioma IS NOT NULL AND p.consultor_id IS NOT NULL {language} \
               GROUP BY p.consultor_id, d.i) t \
         JOIN consultores c ON c.id = t.consultor_id \
         ORDER BY c.id, t.dia",
        values = values.join(", ")
    )
}

impl Database {
    fn count_assignments(&self, request: &ReportRequest) -> Result<Vec<DailyCount>, StoreError> {
        if request.days.is_empty() {
            return Ok(Vec::new());
        }
        let sql = statement(self.backend(), &request.days, request.language.is_some());
        let rows: Vec<CountRow> = with_connection!(self, |conn| {
            let query = diesel::sql_query(&sql).into_boxed();
            match &request.language {
                Some(language) => query
                    .bind::<Text, _>(language.as_str().to_owned())
                    .load(conn)?,
                None => query.load(conn)?,
            }
        });
        Ok(rows
            .into_iter()
            .map(|row| DailyCount {
                consultant_id: ConsultantId(row.consultor_id),
                name: row.nome,
                day: usize::try_from(row.dia).unwrap_or(usize::MAX),
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

//! Reads of the rotation outside PostgreSQL's assignment function: the queue head on SQLite
//! (walked in order, the rules applied with the domain's functions) and the candidates of the
//! "nobody free" answer.

use chrono::{DateTime, Utc};
use consultores_domain::{Consultant, Language};
use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::SqliteConnection;

use crate::database::{with_connection, Database};
use crate::error::StoreError;
use crate::models::{consultants_with_languages, ConsultantRow};
use crate::queries::Queries;
use crate::schema::{consultor_idiomas, consultores};

/// The consultants every switch lets in (not removed, active, in the rotation, online) with a
/// language row matching `$language`: a macro, as the query's type differs by predicate.
macro_rules! switched_on_speaking {
    ($language:expr) => {
        consultores::table
            .filter(consultores::removido_em.is_null())
            .filter(consultores::status_ativo)
            .filter(consultores::status_ativo_sequencial)
            .filter(consultores::status_online)
            .filter(exists(
                consultor_idiomas::table
                    .filter(consultor_idiomas::consultor_id.eq(consultores::id))
                    .filter($language),
            ))
    };
}

impl Database {
    /// The head of the queue for `language` at `now` on SQLite: walks the eligible switches in
    /// queue order (the partial index `consultores_fila_idx`; SQLite sorts NULLs first, the
    /// policy's "never served goes first") and applies the time rules in the service, since
    /// SQLite knows no time zones. Runs inside the assignment's immediate transaction.
    pub(crate) fn sqlite_head(
        &self,
        conn: &mut SqliteConnection,
        language: &Language,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsultantRow>, StoreError> {
        const PAGE: i64 = 256;
        let mut offset = 0;
        loop {
            let page: Vec<ConsultantRow> =
                switched_on_speaking!(consultor_idiomas::idioma.eq(language.as_str()))
                    .order((consultores::chave_fila.asc(), consultores::id.asc()))
                    .select(ConsultantRow::as_select())
                    .limit(PAGE)
                    .offset(offset)
                    .load(conn)?;
            let last_page = i64::try_from(page.len()).unwrap_or(PAGE) < PAGE;
            for row in page {
                let rules = row.stored_rules().into_domain(self.default_time_zone())?;
                if rules.blocking_rule(&row.workload(), now).is_none() {
                    return Ok(Some(row));
                }
            }
            if last_page {
                return Ok(None);
            }
            offset += PAGE;
        }
    }

    pub(crate) fn rotation_candidates_of(
        &self,
        languages: &[Language],
    ) -> Result<Vec<Consultant>, StoreError> {
        let codes: Vec<String> = languages.iter().map(|l| l.as_str().to_owned()).collect();
        with_connection!(self, |conn| {
            let rows: Vec<ConsultantRow> =
                switched_on_speaking!(consultor_idiomas::idioma.eq_any(codes.clone()))
                    .select(ConsultantRow::as_select())
                    .load(conn)?;
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            let languages = conn.languages_of(&ids)?;
            consultants_with_languages(rows, languages, self.default_time_zone())
        })
    }
}

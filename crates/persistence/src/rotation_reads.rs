//! Reads of the rotation outside PostgreSQL's assignment function: the queue head on SQLite
//! (the language's queue, `sqlite_queue.rs`) and the candidates of the "nobody free" answer.

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
    /// The head of the queue for `language` at `now` on SQLite, inside the assignment's
    /// immediate transaction, once [`crate::sqlite_queue::apply_due`] has run: the first entry of
    /// the language's queue `consultor_fila` (one index probe), its rules re-checked with the
    /// domain's functions (SQLite knows no time zones); a stale entry is removed and the next
    /// one tried.
    pub(crate) fn sqlite_head(
        &self,
        conn: &mut SqliteConnection,
        language: &Language,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsultantRow>, StoreError> {
        crate::sqlite_queue::head(conn, language, self.default_time_zone(), now, self.faults())
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

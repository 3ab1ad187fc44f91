//! The waiting queue's table (`fila`): rows, the statements both backends share, and the reads
//! of [`WaitingQueue`]. The transactions that change the queue (enqueue, dispatch, cancel) are
//! in `dispatch.rs`.
//!
//! Waiting entries are few (contacts nobody could take yet) and the partial index
//! `fila_aguardando_idx` holds only them, so questions about them ("does an entry wait in
//! language L", positions, counts) load the waiting entries' languages and answer in Rust with
//! the domain's own rules ([`WaitingLanguages`], [`positions`]).
//!
//! [`WaitingQueue`]: consultores_domain::WaitingQueue

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use consultores_domain::waiting::positions;
use consultores_domain::{
    CrmTarget, Language, Protocol, WaitingEntry, WaitingEntryId, WaitingFilter, WaitingLanguages,
    WaitingPage, WaitingState, Zone,
};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::cached_sql::cached_sql;
use crate::error::StoreError;
use crate::models::{consultants_with_languages, ConsultantRow, ProtocolRow};
use crate::queries::Queries;
use crate::schema::{consultores, fila, protocolos};
use crate::sql_types::Timestamp;

/// The columns of a `fila` row besides its id: what queuing a contact writes.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fila)]
pub(crate) struct WaitingColumns {
    #[diesel(column_name = idioma)]
    pub language: String,
    #[diesel(column_name = alternativas)]
    pub alternatives: String,
    #[diesel(column_name = referencia)]
    pub reference: Option<String>,
    #[diesel(column_name = descricao)]
    pub description: Option<String>,
    #[diesel(column_name = prioridade)]
    pub priority: String,
    #[diesel(column_name = crm_tipo)]
    pub crm_kind: Option<String>,
    #[diesel(column_name = crm_alvo)]
    pub crm_target: Option<String>,
    #[diesel(column_name = estado)]
    pub state: String,
    #[diesel(column_name = criado_em)]
    pub created_at: Timestamp,
    #[diesel(column_name = expira_em)]
    pub expires_at: Timestamp,
    #[diesel(column_name = atribuido_em)]
    pub assigned_at: Option<Timestamp>,
    #[diesel(column_name = protocolo_id)]
    pub protocol_id: Option<i64>,
}

/// A `fila` row: its id and [`WaitingColumns`], whose fields it lends.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = fila)]
pub(crate) struct WaitingRow {
    pub id: i64,
    #[diesel(embed)]
    pub columns: WaitingColumns,
}

impl std::ops::Deref for WaitingRow {
    type Target = WaitingColumns;

    fn deref(&self) -> &WaitingColumns {
        &self.columns
    }
}

/// The stored form of the alternatives: comma-separated, in order (`''` for none).
pub(crate) fn stored_alternatives(languages: &WaitingLanguages) -> String {
    languages
        .alternatives()
        .iter()
        .map(Language::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

impl WaitingRow {
    pub fn languages(&self) -> Result<WaitingLanguages, StoreError> {
        let broken = |error: &dyn std::fmt::Display| {
            StoreError::internal(format!(
                "queue entry {}: stored languages: {error}",
                self.id
            ))
        };
        let primary = Language::parse(&self.language).map_err(|error| broken(&error))?;
        let alternatives = self
            .alternatives
            .split(',')
            .filter(|code| !code.is_empty())
            .map(Language::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| broken(&error))?;
        WaitingLanguages::new(primary, alternatives).map_err(|error| broken(&error))
    }

    pub fn crm(&self) -> Result<Option<CrmTarget>, StoreError> {
        let (Some(kind), Some(id)) = (&self.crm_kind, &self.crm_target) else {
            return Ok(None);
        };
        let broken = |error: &dyn std::fmt::Display| {
            StoreError::internal(format!(
                "queue entry {}: stored CRM target: {error}",
                self.id
            ))
        };
        let kind = kind.parse().map_err(|error| broken(&error))?;
        CrmTarget::from_parts(kind, id)
            .map(Some)
            .map_err(|error| broken(&error))
    }

    fn into_domain(
        self,
        position: Option<u64>,
        protocol: Option<Protocol>,
        consultant: Option<consultores_domain::Consultant>,
    ) -> Result<WaitingEntry, StoreError> {
        let id = self.id;
        let broken = move |what: &str, error: &dyn std::fmt::Display| {
            StoreError::internal(format!("queue entry {id}: stored {what}: {error}"))
        };
        Ok(WaitingEntry {
            id: WaitingEntryId(self.id),
            languages: self.languages()?,
            crm: self.crm()?,
            priority: self
                .priority
                .parse()
                .map_err(|error| broken("prioridade", &error))?,
            state: self
                .state
                .parse()
                .map_err(|error| broken("estado", &error))?,
            reference: self.columns.reference,
            description: self.columns.description,
            position,
            created_at: self.columns.created_at.0,
            expires_at: self.columns.expires_at.0,
            assigned_at: self.columns.assigned_at.map(|t| t.0),
            protocol,
            consultant,
        })
    }
}

/// The statements of the queue, one body for both backends.
pub(crate) trait WaitingStatements: Queries {
    /// The entries waiting and not expired at `now`, by arrival (id).
    fn waiting(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(WaitingEntryId, WaitingLanguages)>, StoreError>;

    /// Rows by id (any state).
    fn waiting_row(&mut self, id: i64) -> Result<Option<WaitingRow>, StoreError>;

    /// A page of rows by ascending id.
    fn waiting_rows(&mut self, filter: &WaitingFilter) -> Result<Vec<WaitingRow>, StoreError>;

    /// Inserts a row and returns it.
    fn insert_waiting(&mut self, row: &WaitingColumns) -> Result<WaitingRow, StoreError>;

    /// Marks a waiting entry assigned to `protocol` (opened at `at`).
    fn mark_assigned(
        &mut self,
        id: i64,
        protocol: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Gives the protocol opened for an entry the entry's description and priority.
    fn describe_protocol(
        &mut self,
        protocol: i64,
        description: Option<&str>,
        priority: &str,
    ) -> Result<(), StoreError>;

    /// Moves a waiting entry to `state` (cancelled or expired) at `at`.
    fn close_waiting(
        &mut self,
        id: i64,
        state: &'static str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Expires every waiting entry whose deadline is at or before `now`; returns them.
    fn expire_due(&mut self, now: DateTime<Utc>) -> Result<Vec<WaitingRow>, StoreError>;

    /// The rows with their positions (as of `now`), protocols and consultants (read with
    /// `zone` as the default time zone).
    fn hydrate(
        &mut self,
        rows: Vec<WaitingRow>,
        now: DateTime<Utc>,
        zone: Zone,
    ) -> Result<Vec<WaitingEntry>, StoreError>;
}

macro_rules! impl_waiting_statements {
    ($($conn:ty),+) => {$(
        impl WaitingStatements for $conn {
            fn waiting(
                &mut self,
                now: DateTime<Utc>,
            ) -> Result<Vec<(WaitingEntryId, WaitingLanguages)>, StoreError> {
                fila::table
                    .filter(fila::estado.eq(WaitingState::Waiting.as_str()))
                    .filter(fila::expira_em.gt(Timestamp(now)))
                    .order(fila::id.asc())
                    .select(WaitingRow::as_select())
                    .load(self)?
                    .into_iter()
                    .map(|row| Ok((WaitingEntryId(row.id), row.languages()?)))
                    .collect()
            }

            fn waiting_row(&mut self, id: i64) -> Result<Option<WaitingRow>, StoreError> {
                let entry = fila::table.find(id).select(WaitingRow::as_select());
                Ok(entry.first(self).optional()?)
            }

            fn waiting_rows(
                &mut self,
                filter: &WaitingFilter,
            ) -> Result<Vec<WaitingRow>, StoreError> {
                let mut query = fila::table
                    .select(WaitingRow::as_select())
                    .order(fila::id.asc())
                    .limit(i64::from(filter.limit) + 1)
                    .into_boxed();
                if let Some(after) = filter.after {
                    query = query.filter(fila::id.gt(after.0));
                }
                if let Some(state) = filter.state {
                    query = query.filter(fila::estado.eq(state.as_str()));
                }
                if let Some(language) = &filter.language {
                    query = query.filter(fila::idioma.eq(language.as_str()));
                }
                Ok(query.load(self)?)
            }

            fn insert_waiting(
                &mut self,
                row: &WaitingColumns,
            ) -> Result<WaitingRow, StoreError> {
                Ok(diesel::insert_into(fila::table)
                    .values(row)
                    .returning(WaitingRow::as_returning())
                    .get_result(self)?)
            }

            fn mark_assigned(
                &mut self,
                id: i64,
                protocol: i64,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                diesel::update(fila::table.find(id))
                    .set((
                        fila::estado.eq(WaitingState::Assigned.as_str()),
                        fila::protocolo_id.eq(Some(protocol)),
                        fila::atribuido_em.eq(Some(Timestamp(at))),
                        fila::encerrado_em.eq(Some(Timestamp(at))),
                    ))
                    .execute(self)?;
                Ok(())
            }

            fn describe_protocol(
                &mut self,
                protocol: i64,
                description: Option<&str>,
                priority: &str,
            ) -> Result<(), StoreError> {
                diesel::update(protocolos::table.find(protocol))
                    .set((
                        protocolos::descricao.eq(description),
                        protocolos::prioridade.eq(priority),
                    ))
                    .execute(self)?;
                Ok(())
            }

            fn close_waiting(
                &mut self,
                id: i64,
                state: &'static str,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                diesel::update(fila::table.find(id).filter(fila::estado.eq(WaitingState::Waiting.as_str())))
                    .set((fila::estado.eq(state), fila::encerrado_em.eq(Some(Timestamp(at)))))
                    .execute(self)?;
                Ok(())
            }

            fn expire_due(&mut self, now: DateTime<Utc>) -> Result<Vec<WaitingRow>, StoreError> {
                Ok(diesel::update(
                    fila::table
                        .filter(fila::estado.eq(WaitingState::Waiting.as_str()))
                        .filter(fila::expira_em.le(Timestamp(now))),
                )
                .set((fila::estado.eq(WaitingState::Expired.as_str()), fila::encerrado_em.eq(Some(Timestamp(now)))))
                .returning(WaitingRow::as_returning())
                .get_results(self)?)
            }

            fn hydrate(
                &mut self,
                rows: Vec<WaitingRow>,
                now: DateTime<Utc>,
                zone: Zone,
            ) -> Result<Vec<WaitingEntry>, StoreError> {
                let positions: HashMap<WaitingEntryId, u64> = if rows
                    .iter()
                    .any(|row| row.state == WaitingState::Waiting.as_str())
                {
                    positions(&self.waiting(now)?).into_iter().collect()
                } else {
                    HashMap::new()
                };
                let protocol_ids: Vec<i64> = rows.iter().filter_map(|row| row.protocol_id).collect();
                let protocols: Vec<Protocol> = if protocol_ids.is_empty() {
                    Vec::new()
                } else {
                    protocolos::table
                        .filter(protocolos::id.eq_any(&protocol_ids))
                        .select(ProtocolRow::as_select())
                        .load(self)?
                        .into_iter()
                        .map(ProtocolRow::into_domain)
                        .collect::<Result<_, _>>()?
                };
                let consultant_ids: Vec<i64> =
                    protocols.iter().filter_map(|p| p.consultant_id.map(|c| c.0)).collect();
                let consultants = if consultant_ids.is_empty() {
                    Vec::new()
                } else {
                    let found = consultores::table
                        .filter(consultores::id.eq_any(&consultant_ids))
                        .select(ConsultantRow::as_select())
                        .load(self)?;
                    let languages = self.languages_of(&consultant_ids)?;
                    consultants_with_languages(found, languages, zone)?
                };
                rows.into_iter()
                    .map(|row| {
                        let position = positions.get(&WaitingEntryId(row.id)).copied();
                        let protocol = row
                            .protocol_id
                            .and_then(|id| protocols.iter().find(|p| p.id.0 == id).cloned());
                        let consultant = protocol
                            .as_ref()
                            .and_then(|p| p.consultant_id)
                            .and_then(|id| consultants.iter().find(|c| c.id == id).cloned());
                        row.into_domain(position, protocol, consultant)
                    })
                    .collect()
            }
        }
    )+};
}

impl_waiting_statements!(PgConnection, SqliteConnection);

/// Whether an entry waits (not expired at `now`) in `language`: the rotation must then find
/// nobody there. The SQLite half of the check `consultores_atribuir` makes on PostgreSQL.
pub(crate) fn blocks(
    conn: &mut SqliteConnection,
    language: &Language,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // Usually nobody waits: one probe of the partial index, on a statement prepared once.
    let anyone = cached_sql(ANYONE_WAITING)
        .bind::<crate::sql_types::UtcTimestamp, _>(Timestamp(now))
        .get_result::<Waits>(conn)?;
    if !anyone.value {
        return Ok(false);
    }
    Ok(conn
        .waiting(now)?
        .iter()
        .any(|(_, languages)| languages.accepts(language)))
}

/// Whether any entry waits, not expired at `?`. The state is written in the text: a bound value
/// compared with the partial index's constant would make SQLite re-prepare the statement at
/// every call.
const ANYONE_WAITING: &str =
    "SELECT EXISTS (SELECT 1 FROM fila WHERE estado = 'aguardando' AND expira_em > ?) AS value";

#[derive(QueryableByName)]
struct Waits {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    value: bool,
}

/// How many of `waiting` accept any of `languages`.
pub(crate) fn count_accepting(
    waiting: &[(WaitingEntryId, WaitingLanguages)],
    languages: &[Language],
) -> u64 {
    waiting
        .iter()
        .filter(|(_, accepted)| languages.iter().any(|language| accepted.accepts(language)))
        .count() as u64
}

/// Splits a page of `limit + 1` rows into the page and its next cursor.
pub(crate) fn page(mut entries: Vec<WaitingEntry>, limit: u32) -> WaitingPage {
    let limit = limit as usize;
    let next_cursor = if entries.len() > limit {
        entries.truncate(limit);
        entries.last().map(|entry| entry.id)
    } else {
        None
    };
    WaitingPage {
        entries,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_probe_names_the_waiting_state() {
        let state = format!("estado = '{}'", WaitingState::Waiting.as_str());
        assert!(ANYONE_WAITING.contains(&state));
    }
}

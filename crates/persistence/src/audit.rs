//! [`AuditLog`] on both backends, and the audit rows that every write transaction of the other
//! ports adds through [`Queries::insert_audit`] (the PostgreSQL assignment writes its row inside
//! its one statement instead: see `assignment.rs`).
//!
//! Keyset pagination, newest first: `ORDER BY id DESC LIMIT n + 1` with `id < cursor`. The
//! primary key serves the unfiltered listing, `auditoria_entidade_idx (entidade, entidade_id,
//! id)` and `auditoria_acao_idx (acao, id)` the filtered ones, and the partial
//! `auditoria_conexao_idx` the connection history; each page is one index range scan, however
//! large the table.
//!
//! [`Queries::insert_audit`]: crate::queries::Queries::insert_audit

use chrono::{DateTime, Utc};
use consultores_domain::{
    Actor, ApiKeyId, AuditAction, AuditChanges, AuditEntity, AuditEntry, AuditEntryId, AuditFilter,
    AuditLog, AuditPage, AuditPageRequest, AuditValue, ConsultantId, DomainError,
};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use crate::database::{with_connection, write_transaction, Backend, Database};
use crate::error::StoreError;
use crate::schema::{auditoria, consultores};
use crate::sql_types::{Timestamp, UtcTimestamp};

/// The actions the connection history lists, written literally so that both planners match the
/// predicate of the partial index `auditoria_conexao_idx` (a bound parameter would not).
const CONNECTION_ACTIONS: &str = "acao IN ('consultor.criado', 'consultor.conexao')";

/// One batch of the retention pruning: `$1` the cutoff, `$2` the batch size.
const PRUNE_POSTGRES: &str = "DELETE FROM auditoria WHERE em < $1 \
     AND id IN (SELECT id FROM auditoria ORDER BY id LIMIT $2)";
const PRUNE_SQLITE: &str = "DELETE FROM auditoria WHERE em < ? \
     AND id IN (SELECT id FROM auditoria ORDER BY id LIMIT ?)";

/// The longest key description an audit row keeps (the column's width).
const MAX_DESCRIPTION_CHARS: usize = 255;

/// The longest request id an audit row keeps (the column's width; the HTTP adapter keeps ids of
/// at most 128 characters anyway).
const MAX_REQUEST_ID_CHARS: usize = 128;

/// A new `auditoria` row.
#[derive(Debug, Insertable)]
#[diesel(table_name = auditoria)]
pub(crate) struct NewAuditRow<'a> {
    #[diesel(column_name = em)]
    pub at: Timestamp,
    #[diesel(column_name = chave_id)]
    pub key_id: Option<i64>,
    #[diesel(column_name = chave_descricao)]
    pub key_description: &'a str,
    pub request_id: &'a str,
    #[diesel(column_name = acao)]
    pub action: &'static str,
    #[diesel(column_name = entidade)]
    pub entity: &'static str,
    #[diesel(column_name = entidade_id)]
    pub entity_id: i64,
    #[diesel(column_name = alteracoes)]
    pub changes: String,
}

impl<'a> NewAuditRow<'a> {
    /// The row recording `action` by `actor` on entity `entity_id` at `at`.
    pub fn new(
        actor: &'a Actor,
        action: AuditAction,
        entity_id: i64,
        at: DateTime<Utc>,
        changes: &AuditChanges,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            at: Timestamp(at),
            key_id: actor.api_key_id.map(|id| id.0),
            key_description: prefix(&actor.api_key_description, MAX_DESCRIPTION_CHARS),
            request_id: prefix(&actor.request_id, MAX_REQUEST_ID_CHARS),
            action: action.as_str(),
            entity: action.entity().as_str(),
            entity_id,
            changes: serde_json::to_string(changes).map_err(|error| {
                StoreError::internal(format!("cannot encode the audit changes: {error}"))
            })?,
        })
    }
}

impl<'a> NewAuditRow<'a> {
    /// The row recording that `action` stamped `field` (null before) with `at`: a removal or a
    /// revocation.
    pub fn stamped(
        actor: &'a Actor,
        action: AuditAction,
        entity_id: i64,
        field: &str,
        at: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let mut changes = AuditChanges::new();
        changes.created(field, AuditValue::time(at));
        Self::new(actor, action, entity_id, at, &changes)
    }
}

/// The first `max` characters of `text`.
pub(crate) fn prefix(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(end, _)| &text[..end])
}

/// An `auditoria` row.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = auditoria)]
struct AuditRow {
    id: i64,
    #[diesel(column_name = em)]
    at: Timestamp,
    #[diesel(column_name = chave_id)]
    key_id: Option<i64>,
    #[diesel(column_name = chave_descricao)]
    key_description: String,
    request_id: String,
    #[diesel(column_name = acao)]
    action: String,
    #[diesel(column_name = entidade)]
    entity: String,
    #[diesel(column_name = entidade_id)]
    entity_id: i64,
    #[diesel(column_name = alteracoes)]
    changes: String,
}

impl AuditRow {
    fn into_domain(self) -> Result<AuditEntry, StoreError> {
        let id = self.id;
        let broken = move |what: &str, error: &dyn std::fmt::Display| {
            StoreError::internal(format!("audit entry {id}: stored {what}: {error}"))
        };
        Ok(AuditEntry {
            id: AuditEntryId(self.id),
            at: self.at.0,
            actor: Actor {
                api_key_id: self.key_id.map(ApiKeyId),
                api_key_description: self.key_description,
                request_id: self.request_id,
            },
            action: self
                .action
                .parse()
                .map_err(|error| broken("acao", &error))?,
            entity: self
                .entity
                .parse::<AuditEntity>()
                .map_err(|error| broken("entidade", &error))?,
            entity_id: self.entity_id,
            changes: serde_json::from_str(&self.changes)
                .map_err(|error| broken("alteracoes", &error))?,
        })
    }
}

fn into_page(rows: Vec<AuditRow>, limit: u32) -> Result<AuditPage, StoreError> {
    let entries = rows
        .into_iter()
        .map(AuditRow::into_domain)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AuditPage::from_fetched(entries, limit))
}

impl Database {
    fn list_audit(&self, filter: &AuditFilter) -> Result<AuditPage, StoreError> {
        let page = filter.page;
        let rows: Vec<AuditRow> = with_connection!(self, |conn| {
            let mut query = auditoria::table
                .select(AuditRow::as_select())
                .order(auditoria::id.desc())
                .limit(i64::from(page.limit) + 1)
                .into_boxed();
            if let Some(entity) = filter.entity {
                query = query.filter(auditoria::entidade.eq(entity.as_str()));
            }
            if let Some(entity_id) = filter.entity_id {
                query = query.filter(auditoria::entidade_id.eq(entity_id));
            }
            if let Some(action) = filter.action {
                // A literal, not a bound parameter: actions range from 80 % of the rows
                // (`atribuicao`) to a handful, and the right plan differs (walk the primary key
                // and filter, or walk `auditoria_acao_idx`). With a parameter, a cached generic
                // plan could walk the whole table for a rare action; with the value in the text
                // the planner always sees it. Safe: the text comes from a closed enum.
                query = query.filter(diesel::dsl::sql::<Bool>(&format!(
                    "auditoria.acao = '{}'",
                    action.as_str()
                )));
            }
            if let Some(since) = filter.since {
                query = query.filter(auditoria::em.ge(Timestamp(since)));
            }
            if let Some(until) = filter.until {
                query = query.filter(auditoria::em.lt(Timestamp(until)));
            }
            if let Some(before) = page.before {
                query = query.filter(auditoria::id.lt(before.0));
            }
            query.load(conn)?
        });
        into_page(rows, page.limit)
    }

    fn consultant_connection_history(
        &self,
        consultant: ConsultantId,
        page: &AuditPageRequest,
    ) -> Result<Option<AuditPage>, StoreError> {
        let rows: Option<Vec<AuditRow>> = with_connection!(self, |conn| {
            // Deleted consultants included: their history stays readable.
            let existed = consultores::table
                .find(consultant.0)
                .select(consultores::id)
                .first::<i64>(conn)
                .optional()?
                .is_some();
            if existed {
                let mut query = auditoria::table
                    .select(AuditRow::as_select())
                    .filter(diesel::dsl::sql::<Bool>(CONNECTION_ACTIONS))
                    .filter(auditoria::entidade_id.eq(consultant.0))
                    .filter(auditoria::entidade.eq(AuditEntity::Consultant.as_str()))
                    .order(auditoria::id.desc())
                    .limit(i64::from(page.limit) + 1)
                    .into_boxed();
                if let Some(before) = page.before {
                    query = query.filter(auditoria::id.lt(before.0));
                }
                Some(query.load(conn)?)
            } else {
                None
            }
        });
        rows.map(|rows| into_page(rows, page.limit)).transpose()
    }

    /// One batch: among the `batch` oldest rows (by id), those recorded before `cutoff`. Rows
    /// are recorded in nearly increasing `em` order, so the rows to prune are a prefix of the
    /// table by id: each batch is an index range scan of the primary key plus `batch` deletes
    /// by key, in its own short transaction (row locks only, never the table).
    fn prune_audit(&self, cutoff: DateTime<Utc>, batch: u32) -> Result<usize, StoreError> {
        let statement = match self.backend() {
            Backend::Postgres => PRUNE_POSTGRES,
            Backend::Sqlite => PRUNE_SQLITE,
        };
        write_transaction!(self, |conn| {
            Ok(diesel::sql_query(statement)
                .bind::<UtcTimestamp, _>(Timestamp(cutoff))
                .bind::<BigInt, _>(i64::from(batch))
                .execute(conn)?)
        })
    }
}

impl AuditLog for Database {
    fn list(&self, filter: &AuditFilter) -> Result<AuditPage, DomainError> {
        Ok(self.list_audit(filter)?)
    }

    fn connection_history(
        &self,
        consultant: ConsultantId,
        page: &AuditPageRequest,
    ) -> Result<Option<AuditPage>, DomainError> {
        Ok(self.consultant_connection_history(consultant, page)?)
    }

    fn prune(&self, cutoff: DateTime<Utc>, batch: u32) -> Result<usize, DomainError> {
        Ok(self.prune_audit(cutoff, batch)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_count_characters_not_bytes() {
        assert_eq!(prefix("ação", 2), "aç");
        assert_eq!(prefix("ação", 10), "ação");
        assert_eq!(prefix("", 3), "");
    }
}

//! [`ProtocolRepository`] on both backends.

use chrono::{DateTime, Utc};
use consultores_domain::{
    Actor, AuditAction, DomainError, IdempotencyClaim, NewProtocol, Protocol, ProtocolFilter,
    ProtocolId, ProtocolPatch, ProtocolRepository, ProtocolSearch, ProtocolStatus, Recorded,
    WebhookEvent,
};
use diesel::prelude::*;

use crate::audit::NewAuditRow;
use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::faults::FaultPoint;
use crate::idempotency::{record, replay};
use crate::models::{audit_created, audit_diff, ProtocolChanges, ProtocolRow};
use crate::queries::{CounterQuery, Queries, RowLocks};
use crate::schema::protocolos;
use crate::sql_types::Timestamp;
use crate::webhooks::{protocol_data, WebhookOutbox};

impl Database {
    /// Lock order, as in every write that numbers a protocol: idempotency key, then the counter
    /// row (see `assignment.rs`). The consultant check comes before the counter so the counter
    /// lock is held for the INSERT and COMMIT only.
    fn create_protocol(
        &self,
        new: &NewProtocol,
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
        actor: &Actor,
    ) -> Result<Recorded<Protocol>, StoreError> {
        write_transaction!(self, |conn| {
            if let Some(previous) = replay::<Protocol>(conn, claim, now)? {
                return Ok(Recorded::replayed(previous));
            }
            self.faults().check(FaultPoint::AfterClaim, conn)?;
            if let Some(consultant) = new.consultant_id {
                if !conn.consultant_is_live(consultant.0)? {
                    return Err(DomainError::ConsultantNotFound.into());
                }
            }
            let taken = conn.take_protocol_number(now)?;
            let number = taken.number.to_string();
            self.faults().check(FaultPoint::AfterCounter, conn)?;
            let row = diesel::insert_into(protocolos::table)
                .values(ProtocolRow {
                    id: 0,
                    number,
                    consultant_id: new.consultant_id.map(|id| id.0),
                    language: None,
                    description: new.description.as_ref().map(|d| d.as_str().to_owned()),
                    priority: new.priority.as_str().to_owned(),
                    status: ProtocolStatus::default().as_str().to_owned(),
                    created_at: Timestamp(taken.stamp),
                    updated_at: Timestamp(taken.stamp),
                })
                .returning(ProtocolRow::as_returning())
                .get_result(conn)?;
            conn.insert_audit(&NewAuditRow::new(
                actor,
                AuditAction::ProtocolCreated,
                row.id,
                taken.stamp,
                &audit_created(row.audit_values()),
            )?)?;
            self.faults().check(FaultPoint::AfterWrite, conn)?;
            let protocol = row.into_domain()?;
            record(conn, claim, now, &protocol)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            Ok(Recorded::fresh(protocol))
        })
    }

    fn get_protocol(&self, id: ProtocolId) -> Result<Option<Protocol>, StoreError> {
        with_connection!(self, |conn| {
            protocolos::table
                .find(id.0)
                .select(ProtocolRow::as_select())
                .first(conn)
                .optional()?
                .map(ProtocolRow::into_domain)
                .transpose()
        })
    }

    fn list_protocols(&self, filter: &ProtocolFilter) -> Result<Vec<Protocol>, StoreError> {
        let offset = i64::try_from(filter.skip).unwrap_or(i64::MAX);
        with_connection!(self, |conn| {
            let mut query = protocolos::table
                .select(ProtocolRow::as_select())
                .order(protocolos::id.asc())
                .offset(offset)
                .limit(i64::from(filter.limit))
                .into_boxed();
            if let Some(consultant) = filter.consultant_id {
                query = query.filter(protocolos::consultor_id.eq(consultant.0));
            }
            let rows: Vec<ProtocolRow> = query.load(conn)?;
            Ok(self
                .unreadable()
                .keep_readable(rows.into_iter().map(ProtocolRow::into_domain)))
        })
    }

    /// Newest first: the primary key walked backwards, each criterion a filter (the number and
    /// the consultant have indexes of their own).
    fn search_protocols(&self, search: &ProtocolSearch) -> Result<Vec<Protocol>, StoreError> {
        with_connection!(self, |conn| {
            let mut query = protocolos::table
                .select(ProtocolRow::as_select())
                .order(protocolos::id.desc())
                .limit(i64::from(search.limit))
                .into_boxed();
            if let Some(number) = search.number {
                query = query.filter(protocolos::numero.eq(number.to_string()));
            }
            if let Some(consultant) = search.consultant_id {
                query = query.filter(protocolos::consultor_id.eq(consultant.0));
            }
            if let Some(status) = search.status {
                query = query.filter(protocolos::status.eq(status.as_str()));
            }
            if let Some(from) = search.created_from {
                query = query.filter(protocolos::created_at.ge(Timestamp(from)));
            }
            if let Some(until) = search.created_until {
                query = query.filter(protocolos::created_at.lt(Timestamp(until)));
            }
            query
                .load(conn)?
                .into_iter()
                .map(ProtocolRow::into_domain)
                .collect()
        })
    }

    /// Locks the protocol, compares the patch with what is stored, and writes (the row with a new
    /// `updated_at`, one audit entry) only if a stored value changes.
    fn update_protocol(
        &self,
        id: ProtocolId,
        patch: &ProtocolPatch,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Protocol>, StoreError> {
        let changes = ProtocolChanges {
            description: patch
                .description
                .as_ref()
                .map(|description| description.as_ref().map(|d| d.as_str())),
            priority: patch.priority.map(|priority| priority.as_str()),
            status: patch.status.map(|status| status.as_str()),
            consultant_id: patch.consultant_id.map(|consultant| Some(consultant.0)),
            updated_at: Timestamp(now),
        };
        write_transaction!(self, |conn| {
            let Some(before) = conn.lock_protocol(id.0)? else {
                return Ok(None);
            };
            if let Some(consultant) = patch.consultant_id {
                if !conn.consultant_is_live(consultant.0)? {
                    return Err(DomainError::ConsultantNotFound.into());
                }
            }
            let planned = audit_diff(
                before.audit_values(),
                changes.applied_to(&before).audit_values(),
            );
            if planned.is_empty() {
                // Nothing to change: no write (not even `updated_at`), no audit entry.
                return before.into_domain().map(Some);
            }
            let after = diesel::update(protocolos::table.find(before.id))
                .set(&changes)
                .returning(ProtocolRow::as_returning())
                .get_result(conn)?;
            let recorded = audit_diff(before.audit_values(), after.audit_values());
            conn.insert_audit(&NewAuditRow::new(
                actor,
                AuditAction::ProtocolUpdated,
                after.id,
                now,
                &recorded,
            )?)?;
            let data = serde_json::json!({
                "protocolo": protocol_data(&after),
                "alteracoes": recorded,
            });
            conn.queue_event(WebhookEvent::ProtocolUpdated, now, data)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            after.into_domain().map(Some)
        })
    }
}

impl ProtocolRepository for Database {
    fn create(
        &self,
        new: &NewProtocol,
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
    ) -> Result<Recorded<Protocol>, DomainError> {
        Ok(self.create_protocol(new, now, claim.as_ref(), actor)?)
    }

    fn get(&self, id: ProtocolId) -> Result<Option<Protocol>, DomainError> {
        Ok(self.get_protocol(id)?)
    }

    fn list(&self, filter: &ProtocolFilter) -> Result<Vec<Protocol>, DomainError> {
        Ok(self.list_protocols(filter)?)
    }

    fn search(&self, search: &ProtocolSearch) -> Result<Vec<Protocol>, DomainError> {
        Ok(self.search_protocols(search)?)
    }

    fn update(
        &self,
        id: ProtocolId,
        patch: &ProtocolPatch,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Protocol>, DomainError> {
        Ok(self.update_protocol(id, patch, now, actor)?)
    }
}

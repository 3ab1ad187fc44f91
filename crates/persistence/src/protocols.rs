//! [`ProtocolRepository`] on both backends.

use chrono::{DateTime, Utc};
use consultores_domain::{
    DomainError, IdempotencyClaim, NewProtocol, Protocol, ProtocolFilter, ProtocolId,
    ProtocolPatch, ProtocolRepository, ProtocolStatus, Recorded,
};
use diesel::prelude::*;

use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::faults::FaultPoint;
use crate::idempotency::{record, replay};
use crate::models::{NewProtocolRow, ProtocolChanges, ProtocolRow};
use crate::queries::{CounterQuery, Queries};
use crate::schema::protocolos;
use crate::sql_types::Timestamp;

impl Database {
    /// Lock order, as in every write that numbers a protocol: idempotency key, then the counter
    /// row (see `assignment.rs`). The consultant check comes before the counter so the counter
    /// lock is held for the INSERT and COMMIT only.
    fn create_protocol(
        &self,
        new: &NewProtocol,
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
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
                .values(NewProtocolRow {
                    numero: &number,
                    consultor_id: new.consultant_id.map(|id| id.0),
                    idioma: None,
                    descricao: new.description.as_ref().map(|d| d.as_str()),
                    prioridade: new.priority.as_str(),
                    status: ProtocolStatus::default().as_str(),
                    created_at: Timestamp(taken.stamp),
                    updated_at: Timestamp(taken.stamp),
                })
                .returning(ProtocolRow::as_returning())
                .get_result(conn)?;
            self.faults().check(FaultPoint::AfterWrite, conn)?;
            let protocol = row.into_domain()?;
            record(conn, claim, &protocol)?;
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
            query
                .load(conn)?
                .into_iter()
                .map(ProtocolRow::into_domain)
                .collect()
        })
    }

    fn update_protocol(
        &self,
        id: ProtocolId,
        patch: &ProtocolPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Protocol>, StoreError> {
        let changes = ProtocolChanges {
            descricao: patch
                .description
                .as_ref()
                .map(|description| description.as_ref().map(|d| d.as_str())),
            prioridade: patch.priority.map(|priority| priority.as_str()),
            status: patch.status.map(|status| status.as_str()),
            consultor_id: patch.consultant_id.map(|consultant| Some(consultant.0)),
            updated_at: Timestamp(now),
        };
        write_transaction!(self, |conn| {
            let exists = protocolos::table
                .find(id.0)
                .select(protocolos::id)
                .first::<i64>(conn)
                .optional()?
                .is_some();
            if !exists {
                return Ok(None);
            }
            if let Some(consultant) = patch.consultant_id {
                if !conn.consultant_is_live(consultant.0)? {
                    return Err(DomainError::ConsultantNotFound.into());
                }
            }
            diesel::update(protocolos::table.find(id.0))
                .set(&changes)
                .returning(ProtocolRow::as_returning())
                .get_result(conn)
                .optional()?
                .map(ProtocolRow::into_domain)
                .transpose()
        })
    }
}

impl ProtocolRepository for Database {
    fn create(
        &self,
        new: &NewProtocol,
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Recorded<Protocol>, DomainError> {
        Ok(self.create_protocol(new, now, claim.as_ref())?)
    }

    fn get(&self, id: ProtocolId) -> Result<Option<Protocol>, DomainError> {
        Ok(self.get_protocol(id)?)
    }

    fn list(&self, filter: &ProtocolFilter) -> Result<Vec<Protocol>, DomainError> {
        Ok(self.list_protocols(filter)?)
    }

    fn update(
        &self,
        id: ProtocolId,
        patch: &ProtocolPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Protocol>, DomainError> {
        Ok(self.update_protocol(id, patch, now)?)
    }
}

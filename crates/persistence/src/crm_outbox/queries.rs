//! The queries that differ per backend: selecting claimable items (row locks skipped on
//! PostgreSQL only) and reading the owners the notes' assignments set.

use chrono::{DateTime, Utc};
use consultores_domain::{
    CrmAction, CrmActionKind, DeliveryStateName, OutboxItem, PipedriveUserId,
};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use super::OutboxRow;
use crate::error::StoreError;
use crate::queries::due_and_unleased;
use crate::schema::crm_outbox;

/// Selecting claimable items differs per backend (row locks on PostgreSQL only).
pub(super) trait ClaimQuery {
    fn claimable(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxRow>, StoreError>;
}

/// Pending, due, not leased; in due order.
macro_rules! claimable_items {
    ($now:expr, $limit:expr) => {
        due_and_unleased!(
            crm_outbox,
            DeliveryStateName::Pending.as_str(),
            $now,
            $limit
        )
        .select(OutboxRow::as_select())
    };
}

impl ClaimQuery for PgConnection {
    fn claimable(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(claimable_items!(now, limit)
            .for_update()
            .skip_locked()
            .load(self)?)
    }
}

impl ClaimQuery for SqliteConnection {
    fn claimable(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(claimable_items!(now, limit).load(self)?)
    }
}

/// An owner update's `(protocolo_id, owner_id)`.
type ProtocolOwner = (Option<i64>, Option<i64>);

/// The owner updates of some protocols.
pub(super) trait OwnersQuery {
    fn owners_of(&mut self, protocols: &[i64]) -> Result<Vec<ProtocolOwner>, StoreError>;
}

macro_rules! owners_of {
    ($conn:expr, $protocols:expr) => {
        Ok(crm_outbox::table
            .filter(crm_outbox::protocolo_id.eq_any($protocols))
            .filter(crm_outbox::acao.eq(CrmActionKind::SetOwner.as_str()))
            .select((crm_outbox::protocolo_id, crm_outbox::owner_id))
            .load($conn)?)
    };
}

impl OwnersQuery for PgConnection {
    fn owners_of(&mut self, protocols: &[i64]) -> Result<Vec<ProtocolOwner>, StoreError> {
        owners_of!(self, protocols)
    }
}

impl OwnersQuery for SqliteConnection {
    fn owners_of(&mut self, protocols: &[i64]) -> Result<Vec<ProtocolOwner>, StoreError> {
        owners_of!(self, protocols)
    }
}

/// Fills in each note's author: the owner the note's assignment set (the same protocol's owner
/// update), in one query.
pub(super) fn note_authors(
    conn: &mut impl OwnersQuery,
    items: &mut [OutboxItem],
) -> Result<(), StoreError> {
    let is_note = |item: &OutboxItem| matches!(item.action, CrmAction::AddNote(_));
    let protocols: Vec<i64> = items
        .iter()
        .filter(|item| is_note(item))
        .filter_map(|item| item.protocol_id.map(|protocol| protocol.0))
        .collect();
    if protocols.is_empty() {
        return Ok(());
    }
    let owners = conn.owners_of(&protocols)?;
    for item in items.iter_mut().filter(|item| is_note(item)) {
        let protocol = item.protocol_id.map(|protocol| protocol.0);
        item.note_author = owners
            .iter()
            .find(|(owner_protocol, _)| *owner_protocol == protocol)
            .and_then(|(_, owner)| owner.and_then(|owner| PipedriveUserId::new(owner).ok()));
    }
    Ok(())
}

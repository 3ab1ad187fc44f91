//! The two queue steps that differ by backend: the rotation's atomic step for one entry, and
//! the locks a pass takes.

use chrono::{DateTime, Utc};
use consultores_domain::{Actor, Assignment, CrmTarget, Language};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::assignment::{assign_in_postgres, Origin};
use crate::database::Database;
use crate::error::StoreError;
use crate::schema::fila;
use crate::waiting::{WaitingRow, WaitingStatements};

/// What the rotation's atomic step needs of a queue entry besides the database.
pub(super) struct QueueTurn<'a> {
    pub language: &'a Language,
    pub now: DateTime<Utc>,
    pub actor: &'a Actor,
    pub crm: Option<&'a CrmTarget>,
}

/// The rotation's atomic step for a queue entry (origin `fila`, one language), on either
/// backend's connection.
pub(super) trait QueueAssignment {
    fn assign_queued(&mut self, db: &Database, turn: QueueTurn) -> Result<Assignment, StoreError>;
}

impl QueueAssignment for PgConnection {
    fn assign_queued(&mut self, db: &Database, turn: QueueTurn) -> Result<Assignment, StoreError> {
        let languages = std::slice::from_ref(turn.language);
        let zone = db.default_time_zone();
        let (now, actor, crm) = (turn.now, turn.actor, turn.crm);
        assign_in_postgres(self, languages, now, actor, crm, Origin::Queue, zone)
    }
}

impl QueueAssignment for SqliteConnection {
    fn assign_queued(&mut self, db: &Database, turn: QueueTurn) -> Result<Assignment, StoreError> {
        let languages = std::slice::from_ref(turn.language);
        let (now, actor, crm) = (turn.now, turn.actor, turn.crm);
        db.assign_in_sqlite(self, languages, now, actor, crm, Origin::Queue)
    }
}

/// Taking the rotation's serialisation point and locking one entry.
pub(super) trait QueueLocks {
    /// The protocol counter row, until the transaction ends (no-op on SQLite: `BEGIN
    /// IMMEDIATE` already keeps every other writer out).
    fn lock_rotation(&mut self) -> Result<(), StoreError>;

    /// An entry in any state, locked until the transaction ends on PostgreSQL.
    fn lock_entry(&mut self, id: i64) -> Result<Option<WaitingRow>, StoreError>;
}

impl QueueLocks for PgConnection {
    fn lock_rotation(&mut self) -> Result<(), StoreError> {
        diesel::sql_query("SELECT id FROM controle_protocolo WHERE id = 1 FOR UPDATE")
            .execute(self)?;
        Ok(())
    }

    fn lock_entry(&mut self, id: i64) -> Result<Option<WaitingRow>, StoreError> {
        let entry = fila::table.find(id).select(WaitingRow::as_select());
        Ok(entry.for_update().first(self).optional()?)
    }
}

impl QueueLocks for SqliteConnection {
    fn lock_rotation(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn lock_entry(&mut self, id: i64) -> Result<Option<WaitingRow>, StoreError> {
        self.waiting_row(id)
    }
}

//! [`QueueHousekeeping`]: the per-language queues' dead entries reclaimed.
//!
//! Every assignment gives its consultant a larger key in each of their queues
//! (`consultor_fila`), and on PostgreSQL the entry with the old key stays in the head index
//! (`consultor_fila_cabeca_idx`) until a VACUUM: it is the dead entry just before the head, so
//! every later head lookup steps over it and all the others left since the last VACUUM. With 50
//! consultants they share a page that PostgreSQL cleans on its own; with 10,000 the head moves
//! across pages that nothing writes again, and da-vez lost a quarter of its throughput in 16
//! seconds of load (bench/RESULTS.md). Autovacuum runs at most once a minute per database, and
//! may be off. So the service vacuums that table itself, every second (`app/src/housekeeping.rs`):
//! a few milliseconds when there is nothing to reclaim (pages all-visible are skipped),
//! `SKIP_LOCKED` so replicas never queue behind each other's, one statement outside any
//! transaction (so behind PgBouncer in transaction mode too). A role that does not own the table
//! gets PostgreSQL's warning and nothing is done. SQLite removes an index entry when its row
//! changes: nothing to do.

use consultores_domain::{DomainError, QueueHousekeeping};
use diesel::connection::SimpleConnection;

use crate::database::{Database, Pools};
use crate::error::StoreError;

impl Database {
    fn vacuum_queues(&self) -> Result<(), StoreError> {
        match self.pools() {
            Pools::Postgres(pool, _) => {
                pool.get()?
                    .batch_execute("VACUUM (SKIP_LOCKED) consultor_fila")?;
                Ok(())
            }
            Pools::Sqlite(_) => Ok(()),
        }
    }
}

impl QueueHousekeeping for Database {
    fn tidy_queues(&self) -> Result<(), DomainError> {
        Ok(self.vacuum_queues()?)
    }
}

//! [`StoreHealth`]: readiness and pool metrics.

use consultores_domain::{DomainError, PoolState, StoreHealth};
use diesel::RunQueryDsl;

use crate::database::{with_connection, Database, Pools};
use crate::error::StoreError;

impl Database {
    fn ping_store(&self) -> Result<(), StoreError> {
        with_connection!(self, |conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
    }
}

impl StoreHealth for Database {
    fn ping(&self) -> Result<(), DomainError> {
        Ok(self.ping_store()?)
    }

    fn pool_state(&self) -> PoolState {
        let (state, max_size) = match self.pools() {
            Pools::Postgres(pool, _) => (pool.state(), pool.max_size()),
            Pools::Sqlite(pool) => (pool.state(), pool.max_size()),
        };
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max_size,
        }
    }
}

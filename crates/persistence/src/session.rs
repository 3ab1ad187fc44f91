//! What every PostgreSQL session works under (timeouts, isolation), and the connection that
//! applies migrations.
//!
//! On a direct connection the settings are session state, set once per connection. Behind a
//! pooler in transaction mode (PgBouncer) consecutive transactions of one client land on
//! different server sessions, and a session's state would leak into other clients'
//! transactions: there every transaction sets them again with `SET LOCAL`, prepared statements
//! are unnamed (Diesel's statement cache off), and migrations hold a transaction-scoped lock.

use std::sync::Arc;

use diesel::connection::{CacheSize, SimpleConnection};
use diesel::prelude::*;
use diesel::r2d2::CustomizeConnection;
use diesel::PgConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use crate::database::PoolSettings;
use crate::error::{PersistenceError, StoreError};

/// An arbitrary constant naming the advisory lock that lets one replica migrate at a time.
const MIGRATION_LOCK: i64 = 0x636f_6e73_756c_746f;

/// The PostgreSQL URL and the settings of its sessions. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PgSession {
    inner: Arc<Settings>,
}

#[derive(Debug)]
struct Settings {
    url: String,
    pooler: bool,
    /// Run once per connection (direct connections).
    per_session: String,
    /// Run at the start of every transaction (behind a pooler).
    per_transaction: String,
}

impl PgSession {
    pub(crate) fn new(url: String, settings: &PoolSettings) -> Self {
        // libpq's TLS is OpenSSL, which by default frees its state in an atexit handler while
        // pool threads may still be in a handshake: the process would crash on its way out
        // (`consultores migrate` did). Initialising it first without that handler avoids it.
        openssl_sys::init();
        let statement = settings.statement_timeout.as_millis();
        let lock = settings.lock_timeout.as_millis();
        // A replica that stalls inside a transaction (frozen process, lost network) would keep
        // the protocol counter locked and stop every other replica's assignments; the server
        // ends such a session after a minute, which rolls it back. READ COMMITTED whatever the
        // server's default, also for single statements sent without BEGIN: the assignment
        // function relies on a fresh snapshot per statement.
        let per_session = format!(
            "SET idle_in_transaction_session_timeout = '60s'; \
             SET default_transaction_isolation = 'read committed'; \
             SET statement_timeout = '{statement}ms'; SET lock_timeout = '{lock}ms'"
        );
        // Behind a pooler every transaction begins READ COMMITTED explicitly (see `read` and
        // `write_transaction!`), so only the timeouts remain.
        let per_transaction = format!(
            "SET LOCAL idle_in_transaction_session_timeout = '60s'; \
             SET LOCAL statement_timeout = '{statement}ms'; SET LOCAL lock_timeout = '{lock}ms'"
        );
        Self {
            inner: Arc::new(Settings {
                url,
                pooler: settings.transaction_pooler,
                per_session,
                per_transaction,
            }),
        }
    }

    /// Called first thing inside every transaction: behind a pooler, sets the timeouts for
    /// this transaction; on a direct connection the session already has them.
    pub(crate) fn begin(&self, conn: &mut PgConnection) -> QueryResult<()> {
        if self.inner.pooler {
            conn.batch_execute(&self.inner.per_transaction)
        } else {
            Ok(())
        }
    }

    /// Runs `body` (reads, single statements): directly on a direct connection, inside a READ
    /// COMMITTED transaction that sets the timeouts behind a pooler.
    pub(crate) fn read<T>(
        &self,
        conn: &mut PgConnection,
        body: impl FnOnce(&mut PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.inner.pooler {
            conn.build_transaction().read_committed().run(|conn| {
                self.begin(conn)?;
                body(conn)
            })
        } else {
            body(conn)
        }
    }

    /// Applies the pending migrations on a connection of its own, in one transaction that
    /// holds a transaction-scoped advisory lock (replicas starting together take turns; a
    /// pooler cannot lose the lock, and a failure leaves the schema as it was). The
    /// connection error decides whether start-up retries: only a database that is not up yet.
    pub(crate) fn migrate(
        &self,
        migrations: EmbeddedMigrations,
    ) -> Result<Vec<String>, PersistenceError> {
        let mut conn = PgConnection::establish(&self.inner.url).map_err(connection_error)?;
        if self.inner.pooler {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        conn.transaction(
            |conn| -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                    .execute(conn)?;
                let applied = conn.run_pending_migrations(migrations)?;
                Ok(applied.iter().map(ToString::to_string).collect())
            },
        )
        .map_err(|error| {
            let message = one_line(&error.to_string());
            match error.downcast_ref::<diesel::result::Error>() {
                Some(error) if crate::error::is_unavailable(error) => {
                    PersistenceError::Unavailable(message)
                }
                _ => PersistenceError::Migration(message),
            }
        })
    }
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PgSession {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        if self.inner.pooler {
            // Unnamed statements, parsed and executed in one round trip: a named one prepared
            // on one server session does not exist on the next.
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
            Ok(())
        } else {
            conn.batch_execute(&self.inner.per_session)
                .map_err(diesel::r2d2::Error::QueryError)
        }
    }
}

/// A failed connection attempt: `Unavailable` (retried at start-up) when the database is not
/// up yet or not reachable yet; `Unusable` (start-up stops at once) when it answered and the
/// URL cannot work (TLS mode or certificate, credentials, unknown database, bad parameter).
pub(crate) fn connection_error(error: ConnectionError) -> PersistenceError {
    let message = one_line(&error.to_string());
    if is_transient(&message) {
        PersistenceError::Unavailable(message)
    } else {
        PersistenceError::Unusable(message)
    }
}

/// Whether a libpq connection failure says "not up yet": refused, timed out, unreachable,
/// starting or stopping, out of connection slots, or a pooler that cannot reach its server.
pub(crate) fn is_transient(message: &str) -> bool {
    const TRANSIENT: &[&str] = &[
        "Connection refused",
        "Connection reset",
        "Connection timed out",
        "timeout expired",
        "No route to host",
        "Network is unreachable",
        "could not translate host name",
        "Temporary failure in name resolution",
        "Name or service not known",
        "server closed the connection unexpectedly",
        "the database system is starting up",
        "the database system is shutting down",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
        "the database system is not accepting connections",
        "too many clients",
        "remaining connection slots are reserved",
        "no more connections allowed",
        "pgbouncer cannot connect to server",
        "server login has been failing",
        "query_wait_timeout",
    ];
    TRANSIENT.iter().any(|needle| message.contains(needle))
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_database_that_is_not_up_yet_is_transient() {
        for message in [
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the \
             server running on that host and accepting TCP/IP connections?",
            "connection to server at \"db\" (10.0.0.5), port 5432 failed: timeout expired",
            "could not translate host name \"db\" to address: Temporary failure in name \
             resolution",
            "connection to server at \"db\", port 5432 failed: FATAL:  the database system is \
             starting up",
        ] {
            assert!(is_transient(message), "{message}");
        }
        for message in [
            "invalid sslmode value: \"required\"",
            "sslmode value \"require\" invalid when SSL support is not compiled in",
            "connection to server at \"db\", port 5432 failed: SSL error: certificate verify \
             failed",
            "connection to server at \"db\", port 5432 failed: server certificate for \
             \"localhost\" does not match host name \"db\"",
            "connection to server at \"db\", port 5432 failed: FATAL:  password authentication \
             failed for user \"app\"",
            "invalid connection option \"pool\"",
        ] {
            assert!(!is_transient(message), "{message}");
        }
    }

    #[test]
    fn libpq_messages_become_one_line() {
        assert_eq!(one_line("a\n\tb  c\n"), "a b c");
    }
}

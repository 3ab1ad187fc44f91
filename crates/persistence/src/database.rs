//! [`Database`]: the backend picked from `DATABASE_URL`, its connection pool, and the helpers
//! that run one query body on either backend.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use consultores_domain::Zone;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::PersistenceError;
use crate::faults::Faults;
use crate::url::{self, Target};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// An arbitrary constant naming the advisory lock that lets one replica migrate at a time.
const MIGRATION_LOCK: i64 = 0x636f_6e73_756c_746f;

/// Size and checkout timeout of the connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections open at once (at least 1).
    pub max_size: u32,
    /// How long a caller waits for a connection before getting `Unavailable`; also bounds the
    /// TCP handshake to PostgreSQL.
    pub connect_timeout: Duration,
}

impl Default for PoolSettings {
    /// 16 connections, 5 seconds.
    fn default() -> Self {
        Self {
            max_size: 16,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (production; any number of replicas on one database).
    Postgres,
    /// An SQLite file (the embedded default; one node).
    Sqlite,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        })
    }
}

pub(crate) type PgPool = Pool<ConnectionManager<PgConnection>>;
pub(crate) type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// The pool of the chosen backend.
pub(crate) enum Pools {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

struct Inner {
    pools: Pools,
    /// Serialises this process's SQLite write transactions (see [`Database::sqlite_writer`]).
    sqlite_writer: Mutex<()>,
    faults: Faults,
}

/// The store: a connection pool on PostgreSQL or SQLite. Cheap to clone (the pool is shared);
/// implements every persistence port of the domain.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
    /// The zone of consultants without one of their own (`DEFAULT_TIME_ZONE`).
    default_zone: Zone,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.pools() {
            Pools::Postgres(pool) => pool.state(),
            Pools::Sqlite(pool) => pool.state(),
        };
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("connections", &state.connections)
            .field("idle", &state.idle_connections)
            .finish()
    }
}

/// Runs `$body` with `$conn` bound to a pooled `&mut PgConnection` or `&mut SqliteConnection`:
/// one query body, compiled once per backend. The enclosing function returns
/// `Result<_, StoreError>` (a failed checkout is `Unavailable`).
macro_rules! with_connection {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pools() {
            $crate::database::Pools::Postgres(pool) => {
                let mut pooled = pool.get()?;
                let $conn: &mut ::diesel::PgConnection = &mut pooled;
                $body
            }
            $crate::database::Pools::Sqlite(pool) => {
                let mut pooled = pool.get()?;
                let $conn: &mut ::diesel::SqliteConnection = &mut pooled;
                $body
            }
        }
    };
}

/// Runs `$body` (returning `Result<_, StoreError>`) in a write transaction: on PostgreSQL
/// READ COMMITTED (set explicitly, whatever the server default); on SQLite `BEGIN IMMEDIATE`
/// while holding this process's SQLite writer lock. An error rolls everything back.
macro_rules! write_transaction {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pools() {
            $crate::database::Pools::Postgres(pool) => {
                let mut pooled = pool.get()?;
                pooled.build_transaction().read_committed().run(
                    |$conn: &mut ::diesel::PgConnection| -> Result<_, $crate::error::StoreError> {
                        $body
                    },
                )
            }
            $crate::database::Pools::Sqlite(pool) => {
                let _writer = $db.sqlite_writer();
                let mut pooled = pool.get()?;
                pooled.immediate_transaction(
                    |$conn: &mut ::diesel::SqliteConnection| -> Result<_, $crate::error::StoreError> {
                        $body
                    },
                )
            }
        }
    };
}

pub(crate) use {with_connection, write_transaction};

impl Database {
    /// Parses `postgres://…`, `postgresql://…`, `sqlite://path`, `sqlite:path` or a bare path
    /// ending in `.db` and builds the pool. The pool is built WITHOUT requiring the database to be
    /// up (r2d2 `build_unchecked`), so the service can start and answer 503 while PostgreSQL is
    /// down; it connects by itself once the database answers. A SQLite file (and its directory)
    /// is created if missing, in WAL mode, with a busy timeout and foreign keys on.
    pub fn connect(url: &str, settings: &PoolSettings) -> Result<Database, PersistenceError> {
        let timeout = settings.connect_timeout.max(Duration::from_millis(10));
        let max_size = settings.max_size.max(1);
        let pools = match url::parse(url, timeout)? {
            Target::Postgres(url) => Pools::Postgres(
                Pool::builder()
                    .max_size(max_size)
                    .connection_timeout(timeout)
                    .connection_customizer(Box::new(PostgresSession))
                    .build_unchecked(ConnectionManager::new(url)),
            ),
            Target::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| {
                        PersistenceError::CreateDirectory {
                            path: parent.to_owned(),
                            source,
                        }
                    })?;
                }
                let path = path.to_str().ok_or_else(|| PersistenceError::InvalidUrl {
                    reason: "the SQLite path is not valid UTF-8".to_owned(),
                })?;
                let pragmas = SqlitePragmas {
                    busy_timeout: timeout.max(Duration::from_secs(5)),
                };
                // Creates the file and switches it to WAL now, so a bad path fails at start-up
                // and the pool's connections all find the database in WAL mode.
                let mut first = SqliteConnection::establish(path).map_err(|error| {
                    PersistenceError::Unavailable(format!("cannot open the SQLite file: {error}"))
                })?;
                pragmas.apply(&mut first).map_err(|error| {
                    PersistenceError::Unavailable(format!("cannot set up the SQLite file: {error}"))
                })?;
                drop(first);
                Pools::Sqlite(
                    Pool::builder()
                        .max_size(max_size)
                        .connection_timeout(timeout)
                        .connection_customizer(Box::new(pragmas))
                        .build_unchecked(ConnectionManager::new(path)),
                )
            }
        };
        Ok(Database {
            inner: Arc::new(Inner {
                pools,
                sqlite_writer: Mutex::new(()),
                faults: Faults::default(),
            }),
            default_zone: Zone::default(),
        })
    }

    /// The backend this database runs on.
    pub fn backend(&self) -> Backend {
        match self.pools() {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the pending embedded migrations and returns their versions (empty when the schema
    /// is up to date: running it again changes nothing). On PostgreSQL the first migration adopts
    /// a v6 database in place. Replicas starting together take turns (an advisory lock).
    pub fn run_migrations(&self) -> Result<Vec<String>, PersistenceError> {
        let unavailable = |error: r2d2::Error| PersistenceError::Unavailable(error.to_string());
        let failed = |error: Box<dyn std::error::Error + Send + Sync>| {
            PersistenceError::Migration(error.to_string().replace('\n', " "))
        };
        let versions: Vec<String> = match self.pools() {
            Pools::Postgres(pool) => {
                let mut conn = pool.get().map_err(unavailable)?;
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .execute(&mut *conn)
                    .map_err(|error| {
                        if crate::error::is_unavailable(&error) {
                            PersistenceError::Unavailable(error.to_string())
                        } else {
                            PersistenceError::Migration(error.to_string())
                        }
                    })?;
                let applied = conn
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|versions| versions.iter().map(ToString::to_string).collect());
                let unlocked =
                    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                        .execute(&mut *conn);
                let applied = applied.map_err(failed)?;
                unlocked.map_err(|error| PersistenceError::Migration(error.to_string()))?;
                applied
            }
            Pools::Sqlite(pool) => {
                let _writer = self.sqlite_writer();
                let mut conn = pool.get().map_err(unavailable)?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|versions| versions.iter().map(ToString::to_string).collect())
                    .map_err(failed)?
            }
        };
        Ok(versions)
    }

    /// Deletes idempotency records whose window ended at or before `now` and returns how many.
    /// Expired records are ignored (and replaced) anyway; call this periodically (e.g. hourly)
    /// so the table stays small.
    pub fn purge_expired_idempotency_keys(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, consultores_domain::DomainError> {
        use crate::schema::idempotency_keys::dsl as k;
        let purge = || -> Result<usize, crate::error::StoreError> {
            write_transaction!(self, |conn| {
                Ok(diesel::delete(
                    k::idempotency_keys.filter(k::expires_at.le(crate::sql_types::Timestamp(now))),
                )
                .execute(conn)?)
            })
        };
        Ok(purge()?)
    }

    /// This store with `zone` as the zone of consultants who have none of their own (the
    /// default is `America/Sao_Paulo`).
    pub fn with_default_time_zone(mut self, zone: Zone) -> Self {
        self.default_zone = zone;
        self
    }

    /// The zone of consultants who have none of their own.
    pub fn default_time_zone(&self) -> Zone {
        self.default_zone
    }

    pub(crate) fn pools(&self) -> &Pools {
        &self.inner.pools
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// SQLite admits one writer at a time per file. Without this lock, concurrent requests of
    /// this process would all try `BEGIN IMMEDIATE` and spin on SQLITE_BUSY (each retry sleeping
    /// inside SQLite's busy handler, unfairly, and failing with "database is locked" once the
    /// timeout runs out); with it they queue here in order, and the busy timeout only has to
    /// cover other processes. Poisoning is ignored: the guarded value is `()`, and a panic
    /// inside a transaction has already rolled it back.
    pub(crate) fn sqlite_writer(&self) -> MutexGuard<'_, ()> {
        self.inner
            .sqlite_writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Per-session settings of every PostgreSQL connection.
#[derive(Debug)]
struct PostgresSession;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PostgresSession {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        // A replica that stalls inside a transaction (frozen process, lost network) would keep
        // the protocol counter locked and stop every other replica's assignments; the server
        // ends such a session after a minute, which rolls it back. READ COMMITTED whatever the
        // server's default, also for single statements sent without BEGIN: the assignment
        // function relies on a fresh snapshot per statement.
        conn.batch_execute(
            "SET idle_in_transaction_session_timeout = '60s'; \
             SET default_transaction_isolation = 'read committed'",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The PRAGMAs every SQLite connection needs.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas {
    busy_timeout: Duration,
}

impl SqlitePragmas {
    fn apply(&self, conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON;",
            self.busy_timeout.as_millis()
        ))
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

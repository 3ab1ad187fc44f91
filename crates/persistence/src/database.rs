//! [`Database`]: the backend picked from `DATABASE_URL`, its connection pool, and the helpers
//! that run one query body on either backend.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use consultores_domain::{AssignmentBatcher, Zone};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{PersistenceError, StoreError};
use crate::faults::Faults;
use crate::session::PgSession;
use crate::unreadable::{UnreadableRowReport, UnreadableRows};
use crate::url::{self, Target};
use crate::writer_lock::{WriterLock, WriterTurn};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The connection pool and the limits every PostgreSQL session works under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections open at once (at least 1).
    pub max_size: u32,
    /// How long a caller waits for a connection before getting `Unavailable`; also bounds the
    /// TCP handshake to PostgreSQL.
    pub connect_timeout: Duration,
    /// PostgreSQL `statement_timeout`: a statement running longer is cancelled (the caller
    /// gets `Unavailable`); also the connections' `tcp_user_timeout`.
    pub statement_timeout: Duration,
    /// PostgreSQL `lock_timeout`: a statement waiting longer for a row lock (the protocol
    /// counter held by a stuck session) is cancelled (the caller gets `Unavailable`).
    pub lock_timeout: Duration,
    /// PostgreSQL is reached through a pooler in transaction mode (PgBouncer, a provider's
    /// pooler): no state is kept between transactions (no named prepared statements, settings
    /// per transaction with `SET LOCAL`, migrations under a transaction-scoped lock).
    pub transaction_pooler: bool,
}

impl Default for PoolSettings {
    /// 16 connections, 5 seconds to get one, statements cut at 10 s, lock waits at 5 s, a
    /// direct connection.
    fn default() -> Self {
        Self {
            max_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(5),
            transaction_pooler: false,
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

pub(crate) type PgPool = Pool<PgManager>;

thread_local! {
    /// Set just before dropping a pooled PostgreSQL connection that must not go back to the
    /// pool (see [`PgManager`]); read (and cleared) by the pool as the connection comes back,
    /// on the same thread.
    static DISCARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Diesel's PostgreSQL connection manager, without r2d2's `SELECT 1` on every checkout (the
/// pool is built with `test_on_check_out(false)`), and able to discard a connection whose
/// server session is gone: libpq only notices when the next statement fails, and Diesel
/// counts a connection as broken only inside a transaction. A caller that meets a dead
/// connection discards it ([`retry_if_lost`]).
#[derive(Debug)]
pub(crate) struct PgManager(ConnectionManager<PgConnection>);

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        DISCARD.with(|discard| discard.replace(false)) || self.0.has_broken(conn)
    }
}

/// Drops `conn` and keeps the pool from handing it out again.
pub(crate) fn discard(conn: r2d2::PooledConnection<PgManager>) {
    DISCARD.with(|discard| discard.set(true));
    drop(conn);
}

/// Runs `work` on a pooled connection. `work` says whether it got past the point where
/// anything could have been done (e.g. its `BEGIN`); when it did not, and the error says the
/// connection is gone (the server restarted, or terminated the session), the connection is
/// discarded and `work` runs again on another, as many times as the pool has connections (all
/// of them may have died together) plus one (a new one).
pub(crate) fn retry_if_lost<T>(
    pool: &PgPool,
    mut work: impl FnMut(&mut PgConnection) -> (Result<T, StoreError>, bool),
) -> Result<T, StoreError> {
    let mut attempts = pool.max_size() + 1;
    loop {
        let mut conn = pool.get()?;
        let (outcome, entered) = work(&mut conn);
        match outcome {
            Err(StoreError::Diesel(error))
                if !entered && attempts > 1 && crate::error::is_connection_lost(&error) =>
            {
                discard(conn);
                attempts -= 1;
            }
            outcome => return outcome,
        }
    }
}
pub(crate) type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// The pool of the chosen backend (with, on PostgreSQL, its sessions' settings).
pub(crate) enum Pools {
    Postgres(PgPool, PgSession),
    Sqlite(SqlitePool),
}

struct Inner {
    pools: Pools,
    /// Serialises this process's SQLite write transactions (see [`Database::sqlite_writer`]).
    sqlite_writer: WriterLock,
    faults: Faults,
    unreadable: UnreadableRows,
    /// Gathers this process's concurrent assignments into batches (`batch.rs`).
    assignments: AssignmentBatcher,
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
            Pools::Postgres(pool, _) => pool.state(),
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
            $crate::database::Pools::Postgres(pool, session) => {
                // A read (or one statement) may run again on another connection when the
                // server had closed this one: nothing it sent was executed.
                $crate::database::retry_if_lost(pool, |pooled| {
                    let read = session.read(
                        pooled,
                        |$conn: &mut ::diesel::PgConnection| -> Result<_, $crate::error::StoreError> {
                            Ok($body)
                        },
                    );
                    (read, false)
                })?
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
/// READ COMMITTED (set explicitly, whatever the server default) with the session's timeouts
/// (see `session.rs`); on SQLite `BEGIN IMMEDIATE`
/// while holding this process's SQLite writer lock. An error rolls everything back.
macro_rules! write_transaction {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pools() {
            $crate::database::Pools::Postgres(pool, session) => {
                // Run again on another connection only when `BEGIN` found this one closed.
                $crate::database::retry_if_lost(pool, |pooled| {
                    let mut entered = false;
                    let outcome = pooled.build_transaction().read_committed().run(
                        |$conn: &mut ::diesel::PgConnection| -> Result<_, $crate::error::StoreError> {
                            entered = true;
                            session.begin($conn)?;
                            $body
                        },
                    );
                    (outcome, entered)
                })
            }
            $crate::database::Pools::Sqlite(pool) => {
                let _writer = $db.sqlite_writer()?;
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
    /// ending in `.db` and builds the pool. A PostgreSQL URL with a parameter libpq does not
    /// know or an `sslmode` it does not honour is refused here, before any connection attempt. The pool is built WITHOUT requiring the database to be
    /// up (r2d2 `build_unchecked`), so the service can start and answer 503 while PostgreSQL is
    /// down; it connects by itself once the database answers. A SQLite file (and its directory)
    /// is created if missing, in WAL mode, with a busy timeout and foreign keys on.
    pub fn connect(url: &str, settings: &PoolSettings) -> Result<Database, PersistenceError> {
        let timeout = settings.connect_timeout.max(Duration::from_millis(10));
        let max_size = settings.max_size.max(1);
        let pools = match url::parse(url, settings)? {
            Target::Postgres(url) => {
                let session = PgSession::new(url.clone(), settings);
                Pools::Postgres(
                    Pool::builder()
                        .max_size(max_size)
                        .connection_timeout(timeout)
                        .test_on_check_out(false)
                        .connection_customizer(Box::new(session.clone()))
                        .build_unchecked(PgManager(ConnectionManager::new(url))),
                    session,
                )
            }
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
                sqlite_writer: WriterLock::new(timeout),
                faults: Faults::default(),
                unreadable: UnreadableRows::default(),
                assignments: AssignmentBatcher::default(),
            }),
            default_zone: Zone::default(),
        })
    }

    /// The backend this database runs on.
    pub fn backend(&self) -> Backend {
        match self.pools() {
            Pools::Postgres(..) => Backend::Postgres,
            Pools::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the pending embedded migrations and returns their versions (empty when the schema
    /// is up to date: running it again changes nothing). On PostgreSQL the first migration adopts
    /// a v6 database in place, and the API keys it adopted are then hashed with argon2id.
    /// Replicas starting together take turns (an advisory lock); on PostgreSQL all pending
    /// migrations apply in one transaction, on a connection of their own (see `session.rs`): a
    /// URL that can never work is `Unusable`, a database not up yet `Unavailable`.
    pub fn run_migrations(&self) -> Result<Vec<String>, PersistenceError> {
        let unavailable = |error: r2d2::Error| PersistenceError::Unavailable(error.to_string());
        let failed = |error: Box<dyn std::error::Error + Send + Sync>| {
            PersistenceError::Migration(error.to_string().replace('\n', " "))
        };
        let versions: Vec<String> = match self.pools() {
            Pools::Postgres(_, session) => session.migrate(POSTGRES_MIGRATIONS)?,
            Pools::Sqlite(pool) => {
                let _writer = self.sqlite_writer().map_err(|error| {
                    PersistenceError::Unavailable(
                        consultores_domain::DomainError::from(error).to_string(),
                    )
                })?;
                let mut conn = pool.get().map_err(unavailable)?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|versions| versions.iter().map(ToString::to_string).collect())
                    .map_err(failed)?
            }
        };
        // Keys adopted from v6 wait in plain text for their slow hash, which SQL cannot compute.
        self.hash_adopted_keys().map_err(|error| {
            PersistenceError::Migration(format!(
                "hashing the API keys adopted from v6: {}",
                consultores_domain::DomainError::from(error)
            ))
        })?;
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

    pub(crate) fn assignment_batcher(&self) -> &AssignmentBatcher {
        &self.inner.assignments
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Sends a description of every row a listing leaves out, because the domain cannot read it,
    /// to `report` (set once, at start-up).
    pub fn report_unreadable_rows(&self, report: UnreadableRowReport) {
        self.inner.unreadable.set(report);
    }

    pub(crate) fn unreadable(&self) -> &UnreadableRows {
        &self.inner.unreadable
    }

    /// This process's turn to write to SQLite (see [`crate::writer_lock`]): waits at most the
    /// pool's checkout timeout, then fails as unavailable.
    pub(crate) fn sqlite_writer(&self) -> Result<WriterTurn<'_>, StoreError> {
        self.inner.sqlite_writer.turn()
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

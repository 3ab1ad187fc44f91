//! Test helpers (feature `testing`): a fresh, migrated database per test on either backend, raw
//! SQL for fixtures and checks, and fault injection inside write transactions.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each [`TestDatabase`] creates its own
//! database there and drops it when dropped, so tests run in parallel. When no PostgreSQL
//! answers, [`TestDatabase::postgres`] panics with instructions: a missing server is a failure,
//! never a skipped test.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use consultores_domain::ConsultantId;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::PgConnection;

use crate::database::{with_connection, write_transaction, Backend, Database, PoolSettings};
use crate::error::StoreError;
use crate::schema::consultores;
use crate::sql_types::Timestamp;

pub use crate::faults::{FaultAction, FaultPoint};

/// The queue-head query inside the PostgreSQL function `consultores_atribuir_lote` (migration
/// `2026-10-01-000000_fila_por_idioma`: one queue per language holding only who may be available
/// now; the head's id in a subquery and its row read by it since
/// `2026-11-25-000000_atribuir_lote_por_lote`), for looking at its query plan: EXPLAIN cannot
/// see into a PL/pgSQL function. `$1` is the language; the routing rules are checked by the
/// function on the columns this returns, the language by its stamp. Keep it in step with the
/// function.
pub const POSTGRES_ASSIGNMENT_STATEMENT: &str = "\
SELECT c.id, c.nome::TEXT, c.email::TEXT, c.telefone::TEXT, c.status_ativo,
       c.status_ativo_sequencial, c.status_online, c.ultimo_atendimento, c.id_pipedrive, c.peso,
       c.limite_diario, c.limite_abertos, c.fuso_horario, c.horarios, c.ausencias, c.chave_fila,
       c.atendimentos_dia, c.atendimentos_no_dia, c.protocolos_abertos, c.removido_em,
       c.proxima_mudanca
FROM consultores c
WHERE c.id = (SELECT f.consultor_id FROM consultor_fila f
              WHERE f.idioma = $1
              ORDER BY f.chave_fila ASC NULLS FIRST, f.consultor_id ASC
              LIMIT 1)
FOR UPDATE OF c";

/// The re-check of the routing rules on the head row picked by [`POSTGRES_ASSIGNMENT_STATEMENT`]
/// (`$1` the consultant, `$2` now, `$3` the default zone, `$4` the language): the terms the
/// function checks, as one statement.
pub const POSTGRES_HEAD_RECHECK: &str = "\
SELECT 1 FROM consultores c
WHERE c.id = $1 AND consultores_elegivel(c, $2, $3)
  AND EXISTS (SELECT 1 FROM consultor_idiomas ci WHERE ci.consultor_id = c.id AND ci.idioma = $4)";

/// The head read of a language's queue on SQLite (`?` the language; migration
/// `2026-11-15-000000_fila_por_idioma`), for looking at its query plan.
pub use crate::sqlite_queue::SQLITE_HEAD as SQLITE_HEAD_STATEMENT;

/// The probes of the evaluations due on SQLite (`?` now), for looking at their query plans.
pub use crate::sqlite_queue::SQLITE_DUE as SQLITE_DUE_STATEMENTS;

/// The server used when `TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

/// Pool settings for tests: small pools (many test databases share one server), generous
/// checkout timeout (threads queue on the pool in concurrency tests).
pub fn test_pool_settings() -> PoolSettings {
    PoolSettings {
        max_size: 8,
        connect_timeout: Duration::from_secs(30),
        ..PoolSettings::default()
    }
}

/// Now, truncated to the microsecond precision both backends store, so values read back compare
/// equal to the ones written.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    database: Option<Database>,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Postgres { admin_url: String, name: String },
    Sqlite { path: PathBuf },
}

#[derive(QueryableByName)]
struct I64Value {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = Text)]
    value: String,
}

fn unique_name() -> String {
    format!(
        "consultores_test_{}_{}_{:08x}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

fn admin_url() -> String {
    let raw = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned());
    let mut url = url::Url::parse(raw.trim())
        .unwrap_or_else(|error| panic!("TEST_DATABASE_URL is not a valid URL: {error}"));
    if !url.query_pairs().any(|(key, _)| key == "connect_timeout") {
        url.query_pairs_mut().append_pair("connect_timeout", "5");
    }
    url.into()
}

/// Whether the process that named a test database (`consultores_test_<pid>_…`) is gone.
fn left_by_dead_process(name: &str) -> bool {
    name.strip_prefix("consultores_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// Removes test databases and files left by test processes that were killed before their
/// `Drop` ran (once per process; PostgreSQL only when it runs on this machine, where the pid
/// check means something).
fn sweep_leftovers(admin: &mut PgConnection, admin_url: &str) {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| {
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let database_file = [".db", ".db-wal", ".db-shm"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix));
                if database_file && left_by_dead_process(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let local = url::Url::parse(admin_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .is_some_and(|host| {
                ["127.0.0.1", "localhost", "::1", "[::1]"].contains(&host.as_str())
            });
        if !local {
            return;
        }
        let names: Vec<String> = diesel::sql_query(
            "SELECT datname AS value FROM pg_database WHERE datname LIKE 'consultores_test_%'",
        )
        .load::<TextValue>(admin)
        .map(|rows| rows.into_iter().map(|row| row.value).collect())
        .unwrap_or_default();
        for name in names.iter().filter(|name| left_by_dead_process(name)) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    });
}

fn admin_connection(admin_url: &str) -> PgConnection {
    PgConnection::establish(admin_url).unwrap_or_else(|error| {
        let mut shown = url::Url::parse(admin_url).ok();
        if let Some(url) = shown.as_mut() {
            let _ = url.set_password(None);
        }
        let shown = shown.map_or_else(String::new, |url| url.to_string());
        panic!(
            "these tests need a real PostgreSQL server, and none answers at {shown}: {error}\n\
             Start one on this machine (e.g. `pg_ctlcluster 15 main start`, or \
             `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`), or \
             set TEST_DATABASE_URL=postgres://user:password@host:port/postgres to a server where \
             that role may CREATE DATABASE."
        )
    })
}

impl TestDatabase {
    /// A fresh, migrated PostgreSQL database.
    pub fn postgres() -> Self {
        Self::postgres_with(test_pool_settings())
    }

    /// A fresh, migrated PostgreSQL database with its own pool settings.
    pub fn postgres_with(settings: PoolSettings) -> Self {
        let test = Self::postgres_unmigrated_with(settings);
        test.migrate();
        test
    }

    /// A fresh, EMPTY PostgreSQL database (no migrations run): for building a v6 database to
    /// adopt.
    pub fn postgres_unmigrated() -> Self {
        Self::postgres_unmigrated_with(test_pool_settings())
    }

    fn postgres_unmigrated_with(settings: PoolSettings) -> Self {
        let admin_url = admin_url();
        let name = unique_name();
        let mut admin = admin_connection(&admin_url);
        sweep_leftovers(&mut admin, &admin_url);
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|error| panic!("cannot create the test database {name}: {error}"));
        let mut url = url::Url::parse(&admin_url)
            .unwrap_or_else(|error| panic!("TEST_DATABASE_URL is not a valid URL: {error}"));
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let database = Database::connect(&url, &settings)
            .unwrap_or_else(|error| panic!("cannot connect to {name}: {error}"));
        Self {
            database: Some(database),
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// A fresh, migrated SQLite file in the temporary directory (deleted on drop).
    pub fn sqlite() -> Self {
        Self::sqlite_with(test_pool_settings())
    }

    /// A fresh, migrated SQLite file with its own pool settings.
    pub fn sqlite_with(settings: PoolSettings) -> Self {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}", path.display());
        let database = Database::connect(&url, &settings)
            .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
        let test = Self {
            database: Some(database),
            url,
            cleanup: Cleanup::Sqlite { path },
        };
        test.migrate();
        test
    }

    /// The database under test (a cheap clone sharing the pool).
    pub fn database(&self) -> Database {
        match &self.database {
            Some(database) => database.clone(),
            None => unreachable!("the database lives until the TestDatabase is dropped"),
        }
    }

    /// The URL of the database under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend of the database under test.
    pub fn backend(&self) -> Backend {
        self.database().backend()
    }

    /// Runs the migrations (again); returns the versions applied.
    pub fn migrate(&self) -> Vec<String> {
        self.database()
            .run_migrations()
            .unwrap_or_else(|error| panic!("migrations failed: {error}"))
    }

    /// Runs raw SQL statements (fixtures), panicking on error.
    pub fn execute(&self, sql: &str) {
        self.try_execute(sql)
            .unwrap_or_else(|error| panic!("SQL failed: {error}\n{sql}"));
    }

    /// Runs raw SQL statements, returning the database's error as text.
    pub fn try_execute(&self, sql: &str) -> Result<(), String> {
        let run = || -> Result<(), StoreError> {
            let database = self.database();
            with_connection!(database, |conn| {
                conn.batch_execute(sql)?;
                Ok(())
            })
        };
        run().map_err(|error| format!("{error:?}"))
    }

    /// The `value` column (cast it to BIGINT) of the first row of `sql`.
    pub fn query_i64(&self, sql: &str) -> i64 {
        let run = || -> Result<i64, StoreError> {
            let database = self.database();
            with_connection!(database, |conn| {
                Ok(diesel::sql_query(sql).get_result::<I64Value>(conn)?.value)
            })
        };
        run().unwrap_or_else(|error| panic!("query failed: {error:?}\n{sql}"))
    }

    /// The `value` column (text) of every row of `sql`.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        let run = || -> Result<Vec<String>, StoreError> {
            let database = self.database();
            with_connection!(database, |conn| {
                Ok(diesel::sql_query(sql)
                    .load::<TextValue>(conn)?
                    .into_iter()
                    .map(|row| row.value)
                    .collect())
            })
        };
        run().unwrap_or_else(|error| panic!("query failed: {error:?}\n{sql}"))
    }

    /// The `detail` lines of SQLite's `EXPLAIN QUERY PLAN` for `sql` with its `?` parameters
    /// bound to `text`. Panics on PostgreSQL.
    pub fn sqlite_query_plan(&self, sql: &str, text: &str) -> Vec<String> {
        #[derive(QueryableByName)]
        struct PlanLine {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        assert_eq!(self.backend(), Backend::Sqlite, "SQLite only");
        let run = || -> Result<Vec<String>, StoreError> {
            let database = self.database();
            let crate::database::Pools::Sqlite(pool) = database.pools() else {
                return Err(StoreError::internal("SQLite only"));
            };
            let mut conn = pool.get()?;
            Ok(diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .bind::<Text, _>(text)
                .load::<PlanLine>(&mut conn)?
                .into_iter()
                .map(|line| line.detail)
                .collect())
        };
        run().unwrap_or_else(|error| panic!("query failed: {error:?}\n{sql}"))
    }

    /// Sets a consultant's `ultimo_atendimento` and, as peso 1 would, their queue key.
    pub fn set_last_served(&self, id: ConsultantId, at: Option<DateTime<Utc>>) {
        self.update_consultant_column(id, at.map(Timestamp), true);
    }

    /// Sets or clears a consultant's `removido_em` directly.
    pub fn set_deleted_at(&self, id: ConsultantId, at: Option<DateTime<Utc>>) {
        self.update_consultant_column(id, at.map(Timestamp), false);
    }

    fn update_consultant_column(
        &self,
        id: ConsultantId,
        value: Option<Timestamp>,
        last_served: bool,
    ) {
        let run = || -> Result<(), StoreError> {
            let database = self.database();
            let target = consultores::table.filter(consultores::id.eq(id.0));
            write_transaction!(database, |conn| {
                if last_served {
                    // With peso 1 the queue key is the last assignment's time.
                    diesel::update(target)
                        .set((
                            consultores::ultimo_atendimento.eq(value),
                            consultores::chave_fila.eq(value.map(|t| t.0.timestamp_micros())),
                        ))
                        .execute(conn)?;
                } else {
                    diesel::update(target)
                        .set(consultores::removido_em.eq(value))
                        .execute(conn)?;
                }
                Ok(())
            })
        };
        run().unwrap_or_else(|error| panic!("cannot update consultant {id:?}: {error:?}"));
    }

    /// Runs `during` while this process's SQLite writer turn is held (as by a long write), so
    /// every other writer of this database must wait. Panics on PostgreSQL.
    pub fn holding_the_sqlite_writer<T>(&self, during: impl FnOnce() -> T) -> T {
        assert_eq!(self.backend(), Backend::Sqlite, "SQLite only");
        let database = self.database();
        let _turn = database
            .sqlite_writer()
            .unwrap_or_else(|error| panic!("no writer turn: {error:?}"));
        during()
    }

    /// The consultant rows the SQLite queue upkeep (due evaluations, head re-checks) has read
    /// on this database so far.
    pub fn sqlite_queue_rows_read(&self) -> usize {
        self.database().faults().queue_rows_read()
    }

    /// Marks every SQLite consultant without a zone of their own to be evaluated (as when
    /// `DEFAULT_TIME_ZONE` changed). Panics on PostgreSQL.
    pub fn mark_all_without_own_zone(&self) {
        assert_eq!(self.backend(), Backend::Sqlite, "SQLite only");
        let run = || -> Result<(), StoreError> {
            let database = self.database();
            let crate::database::Pools::Sqlite(pool) = database.pools() else {
                return Err(StoreError::internal("SQLite only"));
            };
            let _writer = database.sqlite_writer()?;
            let mut conn = pool.get()?;
            conn.immediate_transaction(crate::sqlite_queue::mark_all_without_own_zone)
                .map(drop)
        };
        run().unwrap_or_else(|error| panic!("cannot mark: {error:?}"));
    }

    /// Makes the next write transaction that reaches `point` do `action` (once).
    pub fn inject_fault(&self, point: FaultPoint, action: FaultAction) {
        self.database().faults().arm(point, action);
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The pool goes first so its connections close before the database is dropped.
        drop(self.database.take());
        match &self.cleanup {
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
            Cleanup::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }
}

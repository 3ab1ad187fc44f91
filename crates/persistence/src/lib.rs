//! Persistence adapter: Diesel on PostgreSQL and embedded SQLite.
//!
//! INTERFACE CONTRACT (other crates rely on exactly these items; the implementation may add more):
//!
//! ```ignore
//! pub struct PoolSettings { pub max_size: u32, pub connect_timeout: std::time::Duration }
//! impl Default for PoolSettings  // max_size 16, timeout 5 s
//!
//! #[derive(Clone)] pub struct Database { .. }      // cheap to clone (Arc inside)
//! impl Database {
//!     /// Parses `postgres://…`, `postgresql://…` or `sqlite://path` (file created if missing,
//!     /// WAL, busy timeout, foreign keys); builds the pool WITHOUT requiring the database to be
//!     /// up (r2d2 `build_unchecked`), so the service can start and answer 503 while it is down.
//!     pub fn connect(url: &str, pool: &PoolSettings) -> Result<Database, PersistenceError>;
//!     pub fn backend(&self) -> Backend;             // Backend::{Postgres, Sqlite}
//!     pub fn run_migrations(&self) -> Result<Vec<String>, PersistenceError>; // applied versions
//! }
//! impl ConsultantRepository for Database
//! impl ProtocolRepository for Database
//! impl AssignmentPort for Database
//! impl ApiKeyStore for Database
//! impl StoreHealth for Database      // ping = SELECT 1 (Unavailable when down), pool_state
//! pub mod testing (feature "testing"): TestDatabase::postgres() / ::sqlite() — a fresh, migrated
//!     database per test (PostgreSQL: CREATE DATABASE from TEST_DATABASE_URL, dropped on Drop;
//!     SQLite: a temp file), exposing `.database() -> Database` and `.url() -> &str`.
//! pub enum PersistenceError  // thiserror; Display is one clear line for start-up errors
//! ```

//! Persistence adapter of the consultores service: every port of `consultores-domain` on Diesel 2,
//! over two real backends that share one schema and one set of queries:
//!
//! * **PostgreSQL** (production; any number of service replicas on one database), and
//! * **SQLite** (the embedded default: a single file, WAL mode).
//!
//! [`Database`] is the entry point: [`Database::connect`] picks the backend from `DATABASE_URL`,
//! [`Database::run_migrations`] brings the schema up to date (adopting a v6 database in place),
//! and the value implements [`ConsultantRepository`], [`ProtocolRepository`], [`AssignmentPort`],
//! [`ApiKeyStore`], [`AuditLog`], [`StoreHealth`], and for the Pipedrive integration
//! [`CrmOutbox`] (`crm_outbox`, written by the assignment) and [`CrmEventInbox`]
//! (`pipedrive_webhook_eventos`), [`ReportStore`] (the assignments report) and
//! [`WebSessionStore`] (sessions of the operations page). All calls block;
//! run them off async executors.
//!
//! Every SQL statement of the service lives in this crate. The atomic assignment, the part that
//! decides fairness and gapless numbering, is in `assignment.rs` with its locking design.
//!
//! [`ConsultantRepository`]: consultores_domain::ConsultantRepository
//! [`ProtocolRepository`]: consultores_domain::ProtocolRepository
//! [`AssignmentPort`]: consultores_domain::AssignmentPort
//! [`ApiKeyStore`]: consultores_domain::ApiKeyStore
//! [`AuditLog`]: consultores_domain::AuditLog
//! [`StoreHealth`]: consultores_domain::StoreHealth
//! [`CrmOutbox`]: consultores_domain::CrmOutbox
//! [`CrmEventInbox`]: consultores_domain::CrmEventInbox
//! [`ReportStore`]: consultores_domain::ReportStore
//! [`WebSessionStore`]: consultores_domain::WebSessionStore

mod adopted_keys;
mod api_keys;
mod assignment;
mod audit;
mod availability_upkeep;
mod batch;
mod cached_sql;
mod consultants;
mod crm_events;
mod crm_outbox;
mod crm_pause;
mod database;
mod dispatch;
mod error;
mod faults;
mod health;
mod idempotency;
mod models;
mod protocols;
mod queries;
mod queue_upkeep;
mod reports;
mod rotation_reads;
mod routing_columns;
mod schema;
mod session;
mod sql_types;
mod sqlite_queue;
mod unreadable;
mod url;
mod waiting;
mod web_sessions;
mod webhooks;
mod writer_lock;

#[cfg(feature = "testing")]
pub mod testing;

pub use availability_upkeep::DefaultZoneRecord;
pub use database::{Backend, Database, PoolSettings};
pub use error::{PersistenceError, DATABASE_URL_FORMS};
pub use queries::CLOCK_ALLOWANCE;
pub use unreadable::UnreadableRowReport;
pub use url::check_database_url;

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
//! (`pipedrive_webhook_eventos`). All calls block; run them off async executors.
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

mod api_keys;
mod assignment;
mod audit;
mod consultants;
mod crm_events;
mod crm_outbox;
mod database;
mod error;
mod faults;
mod health;
mod idempotency;
mod models;
mod protocols;
mod queries;
mod rotation_reads;
mod routing_columns;
mod schema;
mod sql_types;
mod url;

#[cfg(feature = "testing")]
pub mod testing;

pub use database::{Backend, Database, PoolSettings};
pub use error::PersistenceError;

//! Persistence tests on real PostgreSQL (from `TEST_DATABASE_URL`) and real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod adoption;
mod audit;
mod availability_upkeep;
mod batching;
mod check_constraints;
mod common;
mod concurrency;
mod contract;
mod crm;
mod faults;
mod hardening;
mod language_queue;
mod limits;
mod policy;
mod queue;
mod reports;
mod routing;
mod upgrades;
mod web_sessions;
mod webhooks;

//! The HTTP API against real persistence: every test runs on SQLite and on PostgreSQL.

// A test crate: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use consultores_test_support::on_both_backends;

mod audit;
mod auth;
mod auth_costs;
mod consultants;
mod docs;
mod idempotency;
mod logging;
mod metrics;
mod modules;
mod outbound;
mod pipedrive;
mod protocols;
mod queue;
mod reports;
mod rotation;
mod routing;
mod transport;

//! The operations page against real persistence (SQLite and PostgreSQL): sign-in, sessions,
//! CSRF, scopes, escaping and the record of operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use consultores_test_support::on_both_backends;
mod pages;
mod rules;
mod security;

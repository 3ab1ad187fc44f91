//! Test support for the actix tests of `consultores-http` (`tests/api`) and `consultores-web`
//! (`tests/painel`): run a test on both real backends, capture the app's JSON log lines, build
//! the API's state over a test database, requests to the JSON API. A dev-dependency only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

use std::io;
use std::sync::{Arc, Mutex};

use actix_web::http::Method;
use actix_web::test::TestRequest;
use consultores_domain::{
    ApiKeyStore, AuditService, Clock, ConsultantService, DispatchSignal, DistributionService,
    ProtocolService, ReportService, StoreHealth, WaitingQueueService,
};
use consultores_http::ApiState;
use consultores_persistence::testing::TestDatabase;
use consultores_persistence::Database;
use serde_json::Value;
use slog::Drain;

/// Which real database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// A fresh database of this backend (dropped with the value).
    pub fn database(self) -> TestDatabase {
        match self {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres(),
        }
    }
}

/// Runs each test body once on SQLite and once on PostgreSQL, as the actix tests
/// `name::on_sqlite` and `name::on_postgres`. The body sees `backend`, a [`Backend`]. The calling
/// crate needs `actix-web` (for `#[actix_web::test]`).
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_web::test]
            async fn on_sqlite() {
                let $backend = $crate::Backend::Sqlite;
                $body
            }

            #[actix_web::test]
            async fn on_postgres() {
                let $backend = $crate::Backend::Postgres;
                $body
            }
        }
    )*};
}

/// The log lines an app under test writes (JSON lines, see [`Logs::logger`]).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs").finish_non_exhaustive()
    }
}

impl io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// A JSON logger (the service's format) that writes here.
    pub fn logger(&self) -> slog::Logger {
        let drain = slog_json::Json::new(self.clone())
            .add_default_keys()
            .build()
            .fuse();
        slog::Logger::root(Mutex::new(drain).fuse(), slog::o!())
    }

    /// The raw text written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Every line, parsed (a line that is not a JSON object fails the test).
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line)
                    .unwrap_or_else(|error| panic!("log line is not JSON ({error}): {line}"));
                assert!(value.is_object(), "log line is not an object: {line}");
                value
            })
            .collect()
    }

    /// The lines with message `msg` about request `request_id`.
    pub fn of(&self, msg: &str, request_id: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|line| line["msg"] == msg && line["request_id"] == request_id)
            .collect()
    }
}

/// The API's state over `database` (every port), reading the time from `clock` and logging to
/// `logs`, as the binary wires it (without the optional webhooks and Pipedrive parts).
pub fn api_state(database: &Database, clock: Arc<dyn Clock>, logs: &Logs) -> ApiState {
    let store = Arc::new(database.clone());
    api_state_with_ports(database, clock, logs, store.clone(), store)
}

/// [`api_state`] with these key store and health ports (e.g. wrappers that count calls).
pub fn api_state_with_ports(
    database: &Database,
    clock: Arc<dyn Clock>,
    logs: &Logs,
    api_keys: Arc<dyn ApiKeyStore>,
    health: Arc<dyn StoreHealth>,
) -> ApiState {
    let store = Arc::new(database.clone());
    ApiState::new(
        ConsultantService::new(store.clone(), clock.clone()),
        DistributionService::new(store.clone(), clock.clone()),
        ProtocolService::new(store.clone(), clock.clone()),
        AuditService::new(store.clone(), clock.clone()),
        ReportService::new(store.clone(), store.clone()),
        WaitingQueueService::new(store, clock, DispatchSignal::new()),
        api_keys,
        health,
        logs.logger(),
    )
}

/// A request to the JSON API with `key` as its `api-key` and `body`, if any, as JSON.
pub fn api_request(method: Method, path: &str, key: &str, body: Option<Value>) -> TestRequest {
    let request = TestRequest::default()
        .method(method)
        .uri(path)
        .insert_header(("api-key", key));
    match body {
        Some(body) => request.set_json(body),
        None => request,
    }
}

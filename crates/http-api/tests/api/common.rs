//! The test harness: the real application (`consultores_http::app`) over a real, fresh database
//! (SQLite file or PostgreSQL database), driven through actix's test service, with its log lines
//! captured as JSON.

#![allow(dead_code)]

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::web::Bytes;
use consultores_domain::{Actor, ApiKeyScope, ApiKeyStore, Clock, NewApiKey, SystemClock};
use consultores_http::{ApiState, HttpSettings};
use consultores_persistence::testing::TestDatabase;
use serde_json::{json, Value};

/// The configured key (`AUTHENTICATION_API_KEY`) of every test app: scope admin.
pub const ADMIN_KEY: &str = "chave-de-teste-admin-0123456789";

pub use consultores_test_support::{api_request, Backend, Logs};

/// An answer of the app.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (fails the test if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}); status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts the 404 of a rotation that found nobody: the detail, when someone will next be
    /// available (returned) and no contacts waiting.
    #[track_caller]
    pub fn expect_nobody_free(&self, detail: &str) -> Value {
        self.expect(404);
        let body = self.json();
        assert_eq!(body["detail"], detail, "{body}");
        assert_eq!(body["aguardando"], 0, "{body}");
        assert_eq!(body.as_object().map(|o| o.len()), Some(3), "{body}");
        body["proximo_disponivel"].clone()
    }

    /// Asserts a `{"detail": "<text>"}` answer with `status`.
    #[track_caller]
    pub fn expect_detail(&self, status: u16, detail: &str) {
        self.expect(status);
        assert_eq!(self.json(), json!({ "detail": detail }));
    }

    /// Asserts a 422 and returns its items.
    #[track_caller]
    pub fn expect_422(&self) -> Vec<Value> {
        self.expect(422);
        let body = self.json();
        let items = body["detail"]
            .as_array()
            .unwrap_or_else(|| panic!("422 without a detail list: {body}"))
            .clone();
        assert!(!items.is_empty());
        for item in &items {
            assert!(item["type"].is_string(), "{item}");
            assert!(item["msg"].is_string(), "{item}");
            assert!(item["loc"].is_array(), "{item}");
            assert!(item.get("input").is_some(), "{item}");
        }
        items
    }

    /// Asserts a 422 whose items are exactly at `locs` (in order), returning the items.
    #[track_caller]
    pub fn expect_422_at(&self, locs: &[Value]) -> Vec<Value> {
        let items = self.expect_422();
        let found: Vec<Value> = items.iter().map(|item| item["loc"].clone()).collect();
        assert_eq!(found, locs, "422 items: {items:?}");
        items
    }
}

/// The app under test, its database and its logs.
pub struct TestApp<S> {
    pub service: S,
    pub database: TestDatabase,
    pub logs: Logs,
}

/// Settings of test apps: the configured admin key, everything else default.
pub fn settings() -> HttpSettings {
    HttpSettings {
        configured_api_key: Some(ADMIN_KEY.to_owned()),
        ..HttpSettings::default()
    }
}

/// A fresh database of `backend`.
pub fn database(backend: Backend) -> TestDatabase {
    backend.database()
}

/// The state of the app over `database`, logging to `logs`.
pub fn state(database: &consultores_persistence::Database, logs: &Logs) -> ApiState {
    state_with_clock(database, logs, Arc::new(SystemClock))
}

/// The state of the app over `database`, logging to `logs`, with these key store and health
/// ports (e.g. wrappers that count calls).
pub fn state_with_ports(
    database: &consultores_persistence::Database,
    logs: &Logs,
    api_keys: Arc<dyn consultores_domain::ApiKeyStore>,
    health: Arc<dyn consultores_domain::StoreHealth>,
) -> ApiState {
    consultores_test_support::api_state_with_ports(
        database,
        Arc::new(SystemClock),
        logs,
        api_keys,
        health,
    )
}

/// The state of the app over `database`, logging to `logs`, reading the time from `clock`.
pub fn state_with_clock(
    database: &consultores_persistence::Database,
    logs: &Logs,
    clock: Arc<dyn Clock>,
) -> ApiState {
    consultores_test_support::api_state(database, clock, logs).with_webhooks(
        consultores_http::WebhookApi {
            store: Arc::new(database.clone()),
            secrets: Arc::new(consultores_webhooks::RandomSecrets),
        },
    )
}

/// The type of a started test app: an `impl Trait` type, which only return positions name.
macro_rules! test_app {
    () => {
        TestApp<
            impl Service<
                actix_http::Request,
                Response = ServiceResponse<impl MessageBody>,
                Error = actix_web::Error,
            >,
        >
    };
}

/// Starts the app on a fresh database with default test settings.
pub async fn start(backend: Backend) -> test_app!() {
    start_with(backend, settings()).await
}

/// Starts the app on a fresh database with default test settings, reading the time from
/// `clock`.
pub async fn start_with_clock(backend: Backend, clock: Arc<dyn Clock>) -> test_app!() {
    start_over(backend, settings(), |database, logs| {
        state_with_clock(database, logs, clock)
    })
    .await
}

/// Starts the app on a fresh database with `settings`.
pub async fn start_with(backend: Backend, settings: HttpSettings) -> test_app!() {
    start_over(backend, settings, state).await
}

/// Starts the app with `settings` on a fresh database of `backend`, its state made by `state`.
async fn start_over(
    backend: Backend,
    settings: HttpSettings,
    state: impl FnOnce(&consultores_persistence::Database, &Logs) -> ApiState,
) -> test_app!() {
    let database = self::database(backend);
    let logs = Logs::default();
    let state = state(&database.database(), &logs);
    let service = test::init_service(consultores_http::app(state, settings)).await;
    TestApp {
        service,
        database,
        logs,
    }
}

impl<S, B> TestApp<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// Sends `request` as is.
    pub async fn send(&self, request: TestRequest) -> Reply {
        self.send_raw(request.to_request()).await
    }

    /// Sends an already built request (to tamper with its headers).
    pub async fn send_raw(&self, request: actix_http::Request) -> Reply {
        let response = test::call_service(&self.service, request).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = test::read_body(response).await;
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `method path` with the admin key and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(api_request(method, path, ADMIN_KEY, body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Registers a consultant from `body`, returning its id.
    pub async fn consultant(&self, body: Value) -> i64 {
        let reply = self.post("/consultor", body).await;
        reply.expect(200);
        reply.json()["id"].as_i64().unwrap()
    }

    /// Registers an online consultant named `name` speaking `languages`.
    pub async fn online_consultant(&self, name: &str, languages: &[&str]) -> i64 {
        self.consultant(json!({ "nome": name, "idiomas": languages, "status_online": true }))
            .await
    }

    /// A stored key of `scope` described as "teste <scope>", returning `(id, secret)`.
    pub fn key(&self, scope: ApiKeyScope) -> (i64, String) {
        let store = self.database.database();
        let (key, secret) = store
            .create(
                &NewApiKey {
                    description: Some(format!("teste {scope}")),
                    scope,
                },
                chrono::Utc::now(),
                &Actor::cli("harness"),
            )
            .unwrap();
        (key.id.0, secret)
    }
}

/// A request with `key` as its `api-key`.
pub fn with_key(method: Method, path: &str, key: &str) -> TestRequest {
    api_request(method, path, key, None)
}

/// Where fields `names` of `place` (`"body"`, `"query"`, …) are, as 422 items give `loc`.
pub fn fields(place: &str, names: &[&str]) -> Vec<Value> {
    names.iter().map(|name| json!([place, name])).collect()
}

/// Asserts that the consultant `body` has every routing rule at its default.
pub fn assert_default_rules(body: &Value) {
    assert_eq!(body["peso"], 1);
    assert_eq!(body["limite_diario"], Value::Null);
    assert_eq!(body["limite_abertos"], Value::Null);
    assert_eq!(body["fuso_horario"], "America/Sao_Paulo");
    assert_eq!(body["horarios"], Value::Null);
    assert_eq!(body["ausencias"], Value::Null);
}

/// Whether `text` is an RFC 3339 UTC timestamp with microseconds and `+00:00`.
pub fn is_wire_timestamp(text: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddddd+00:00";
    text.len() == SHAPE.len()
        && text.bytes().zip(SHAPE).all(|(byte, &expected)| {
            if expected == b'd' {
                byte.is_ascii_digit()
            } else {
                byte == expected
            }
        })
}

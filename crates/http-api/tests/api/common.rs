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
use consultores_domain::{
    Actor, ApiKeyScope, ApiKeyStore, AuditService, Clock, ConsultantService, DispatchSignal,
    DistributionService, NewApiKey, ProtocolService, ReportService, SystemClock,
    WaitingQueueService,
};
use consultores_http::{ApiState, HttpSettings};
use consultores_persistence::testing::TestDatabase;
use serde_json::{json, Value};

/// The configured key (`AUTHENTICATION_API_KEY`) of every test app: scope admin.
pub const ADMIN_KEY: &str = "chave-de-teste-admin-0123456789";

pub use consultores_test_support::{Backend, Logs};

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
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    ApiState::new(
        ConsultantService::new(Arc::new(database.clone()), clock.clone()),
        DistributionService::new(Arc::new(database.clone()), clock.clone()),
        ProtocolService::new(Arc::new(database.clone()), clock.clone()),
        AuditService::new(Arc::new(database.clone()), clock.clone()),
        ReportService::new(Arc::new(database.clone()), Arc::new(database.clone())),
        WaitingQueueService::new(Arc::new(database.clone()), clock, DispatchSignal::new()),
        api_keys,
        health,
        logs.logger(),
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

/// Starts the app on a fresh database with default test settings.
pub async fn start(
    backend: Backend,
) -> TestApp<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    start_with(backend, settings()).await
}

/// Starts the app on a fresh database with default test settings, reading the time from
/// `clock`.
pub async fn start_with_clock(
    backend: Backend,
    clock: Arc<dyn Clock>,
) -> TestApp<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let database = self::database(backend);
    let logs = Logs::default();
    let state = state_with_clock(&database.database(), &logs, clock);
    let service = test::init_service(consultores_http::app(state, settings())).await;
    TestApp {
        service,
        database,
        logs,
    }
}

/// Starts the app on a fresh database with `settings`.
pub async fn start_with(
    backend: Backend,
    settings: HttpSettings,
) -> TestApp<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
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
        let mut request = TestRequest::default()
            .method(method)
            .uri(path)
            .insert_header(("api-key", ADMIN_KEY));
        if let Some(body) = body {
            request = request.set_json(body);
        }
        self.send(request).await
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
    TestRequest::default()
        .method(method)
        .uri(path)
        .insert_header(("api-key", key))
}

/// Whether `text` is an RFC 3339 UTC timestamp with microseconds and `+00:00`.
pub fn is_wire_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    bytes.len() == 32
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && bytes[19] == b'.'
        && digits(20..26)
        && &text[26..] == "+00:00"
}

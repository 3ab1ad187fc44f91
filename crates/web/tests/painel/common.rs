//! The page and the JSON API in one test app over a fresh database, and a browser-like client
//! that keeps the session cookie and the CSRF token.

use std::cell::RefCell;
use std::sync::Arc;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use consultores_domain::{
    Actor, ApiKeyScope, ApiKeyStore, AuditService, Clock, ConsultantService, DispatchSignal,
    NewApiKey, ProtocolService, ReportService, SystemClock, WaitingQueueService,
};
use consultores_http::HttpSettings;
use consultores_persistence::testing::TestDatabase;
use consultores_web::{WebSettings, WebState};
use serde_json::Value;

pub const ADMIN_KEY: &str = "chave-admin-do-teste-painel";

pub use consultores_test_support::{Backend, Logs};

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self
    }

    pub fn location(&self) -> String {
        self.header("location").unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The value of the first `name="csrf"` field.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        self.body[start..start + 64].to_owned()
    }
}

/// The app, its database and the browser's cookies.
pub struct Painel<S> {
    service: S,
    pub database: TestDatabase,
    pub logs: Logs,
    cookies: RefCell<Vec<(String, String)>>,
}

pub async fn start(
    backend: Backend,
) -> Painel<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    start_with(backend, false).await
}

/// [`start`], logging request and response bodies when `log_bodies`.
pub async fn start_with(
    backend: Backend,
    log_bodies: bool,
) -> Painel<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let logs = Logs::default();
    let database = backend.database();
    let db = database.database();
    let store = Arc::new(db.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let api = consultores_test_support::api_state(&db, clock.clone(), &logs);
    let page = WebState {
        consultants: ConsultantService::new(store.clone(), clock.clone()),
        protocols: ProtocolService::new(store.clone(), clock.clone()),
        reports: ReportService::new(store.clone(), store.clone()),
        audit: AuditService::new(store.clone(), clock.clone()),
        waiting: WaitingQueueService::new(store.clone(), clock.clone(), DispatchSignal::new()),
        api_keys: store.clone(),
        sessions: store,
        clock,
        settings: WebSettings {
            configured_api_key: Some(ADMIN_KEY.to_owned()),
            ..WebSettings::default()
        },
    };
    let settings = HttpSettings {
        configured_api_key: Some(ADMIN_KEY.to_owned()),
        log_bodies,
        ..HttpSettings::default()
    };
    let service = test::init_service(consultores_http::app_with(
        api,
        settings,
        consultores_web::configure(page),
    ))
    .await;
    Painel {
        service,
        database,
        logs,
        cookies: RefCell::new(Vec::new()),
    }
}

impl<S, B> Painel<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// Sends `request` with the browser's cookies, and keeps the cookies it sets.
    pub async fn send(&self, mut request: TestRequest) -> Reply {
        let jar: Vec<String> = self
            .cookies
            .borrow()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if !jar.is_empty() {
            request = request.insert_header(("cookie", jar.join("; ")));
        }
        let response = test::call_service(&self.service, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        let reply = Reply {
            status,
            headers,
            body,
        };
        for cookie in reply.cookies() {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.borrow_mut();
            jar.retain(|(existing, _)| existing != name);
            if !cookie.contains("Max-Age=0") {
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(TestRequest::get().uri(path)).await
    }

    /// A form post of `pairs`.
    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.send(
            TestRequest::post()
                .uri(path)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(body),
        )
        .await
    }

    /// The JSON API with the configured admin key (no cookies).
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let request = consultores_test_support::api_request(method, path, ADMIN_KEY, body);
        let response = test::call_service(&self.service, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Signs in with `key` through the form; returns the answer to the form's post.
    pub async fn sign_in(&self, key: &str) -> Reply {
        let form = self.get("/painel/entrar").await;
        form.expect(200);
        let csrf = form.csrf();
        self.post(
            "/painel/entrar",
            &[("csrf", &csrf), ("proximo", "/painel/fila"), ("chave", key)],
        )
        .await
    }

    /// A stored key of `scope` described as `description`; returns its secret.
    pub fn key(&self, scope: ApiKeyScope, description: &str) -> String {
        let (_, secret) = self
            .database
            .database()
            .create(
                &NewApiKey {
                    description: Some(description.to_owned()),
                    scope,
                },
                chrono::Utc::now(),
                &Actor::cli("teste"),
            )
            .unwrap();
        secret
    }

    /// Registers an online consultant through the API; returns its id.
    pub async fn consultant(&self, name: &str, languages: &[&str]) -> i64 {
        let reply = self
            .api(
                Method::POST,
                "/consultor",
                Some(
                    serde_json::json!({"nome": name, "idiomas": languages, "status_online": true}),
                ),
            )
            .await;
        reply.expect(200);
        reply.json()["id"].as_i64().unwrap()
    }

    /// Number of audit entries.
    pub fn audit_entries(&self) -> i64 {
        self.database
            .query_i64("SELECT CAST(count(*) AS BIGINT) AS value FROM auditoria")
    }
}

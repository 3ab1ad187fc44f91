//! The client against a local server that answers like Pipedrive's documented API.
#![allow(clippy::unwrap_used)] // test support: failing loudly is the point

use std::time::Duration;

use consultores_domain::{CrmError, CrmGateway, CrmTarget, CrmUser, PipedriveUserId};
use consultores_pipedrive::{
    setup_webhooks, FieldOption, PipedriveClient, PipedriveConfig, RateLimit, SetupStep,
};
use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{body_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const LEAD: &str = "adf21080-0e10-11eb-879b-05d71fb426ec";

/// A local Pipedrive and a way to call the blocking client next to it.
struct FakePipedrive {
    server: MockServer,
}

impl FakePipedrive {
    async fn start() -> Self {
        Self {
            server: MockServer::start().await,
        }
    }

    fn config(&self, timeout: Duration) -> PipedriveConfig {
        PipedriveConfig::new(TOKEN, Url::parse(&self.server.uri()).unwrap()).with_timeout(timeout)
    }

    /// Runs `call` with a fresh client on a blocking thread: the blocking client owns a runtime
    /// of its own and must neither run nor be dropped on the async test's threads.
    async fn call<T, F>(&self, call: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&PipedriveClient) -> T + Send + 'static,
    {
        self.call_with_timeout(Duration::from_secs(5), call).await
    }

    async fn call_with_timeout<T, F>(&self, timeout: Duration, call: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&PipedriveClient) -> T + Send + 'static,
    {
        let config = self.config(timeout);
        tokio::task::spawn_blocking(move || {
            let client = PipedriveClient::new(config).unwrap();
            call(&client)
        })
        .await
        .unwrap()
    }

    async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap()
    }

    /// Every request carried the token in its header and nowhere in its URL.
    async fn assert_token_only_in_header(&self) {
        let requests = self.requests().await;
        assert!(!requests.is_empty());
        for request in requests {
            assert_eq!(request.headers.get("x-api-token").unwrap(), TOKEN);
            assert!(
                !request.url.as_str().contains(TOKEN),
                "token in URL: {}",
                request.url
            );
            assert!(request.url.query_pairs().all(|(key, _)| key != "api_token"));
        }
    }

    /// A fake answering every request `mock` matches with `response`.
    async fn answering(mock: MockBuilder, response: ResponseTemplate) -> Self {
        let pipedrive = Self::start().await;
        pipedrive.answer(mock, response).await;
        pipedrive
    }

    /// A fake answering `verb` requests to `path_text` with Pipedrive's error `status`.
    async fn failing(verb: &str, path_text: &str, status: u16, error: &str) -> Self {
        let mock = Mock::given(method(verb)).and(path(path_text));
        Self::answering(mock, pipedrive_error(status, error)).await
    }

    async fn answer(&self, mock: MockBuilder, response: ResponseTemplate) {
        mock.respond_with(response).mount(&self.server).await;
    }

    /// Like `answer`, and the fake fails the test unless exactly one request matched.
    async fn answer_once(&self, mock: MockBuilder, response: ResponseTemplate) {
        mock.respond_with(response)
            .expect(1)
            .mount(&self.server)
            .await;
    }

    /// The call most tests make: deal 42 to user 7.
    async fn set_deal_owner(&self) -> Result<(), CrmError> {
        self.call(|client| client.set_owner(&CrmTarget::Deal(42), user(7)))
            .await
    }
}

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": data}))
}

fn pipedrive_error(status: u16, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "success": false,
        "error": error,
        "error_info": "Please check developers.pipedrive.com",
        "data": null,
        "additional_data": null
    }))
}

/// `response` with the headers of Pipedrive's burst window: 40 calls per 2 seconds, `remaining`
/// of them left.
fn with_burst_window(response: ResponseTemplate, remaining: &str) -> ResponseTemplate {
    response
        .insert_header("x-ratelimit-limit", "40")
        .insert_header("x-ratelimit-remaining", remaining)
        .insert_header("x-ratelimit-reset", "2")
}

fn field_options(options: &[(i64, &str)]) -> Vec<FieldOption> {
    options
        .iter()
        .map(|(id, label)| FieldOption {
            id: *id,
            label: (*label).into(),
        })
        .collect()
}

fn permanent(reason: &str) -> CrmError {
    CrmError::Permanent {
        reason: reason.into(),
    }
}

fn user(id: i64) -> PipedriveUserId {
    PipedriveUserId::new(id).unwrap()
}

fn owner_update(path_text: &str, owner: i64) -> MockBuilder {
    Mock::given(method("PATCH"))
        .and(path(path_text))
        .and(header("x-api-token", TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"owner_id": owner})))
}

fn note(body: Value) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path("/api/v1/notes"))
        .and(header("x-api-token", TOKEN))
        .and(body_json(body))
}

/// Sets the owner of `target` (whose id is `id`) to user 7 where Pipedrive expects it at
/// `path_text`: it succeeds, with the token only in the header.
async fn assert_sets_owner(target: CrmTarget, path_text: &str, id: Value) {
    let pipedrive = FakePipedrive::start().await;
    pipedrive
        .answer_once(
            owner_update(path_text, 7),
            ok(json!({"id": id, "owner_id": 7})),
        )
        .await;

    let result = pipedrive
        .call(move |client| client.set_owner(&target, user(7)))
        .await;

    assert_eq!(result, Ok(()));
    pipedrive.assert_token_only_in_header().await;
}

#[tokio::test]
async fn sets_the_owner_of_a_deal_through_the_v2_endpoint() {
    assert_sets_owner(CrmTarget::Deal(42), "/api/v2/deals/42", json!(42)).await;
}

#[tokio::test]
async fn sets_the_owner_of_a_person_through_the_v2_endpoint() {
    assert_sets_owner(CrmTarget::Person(17), "/api/v2/persons/17", json!(17)).await;
}

#[tokio::test]
async fn sets_the_owner_of_a_lead_through_the_v1_endpoint() {
    let lead_path = format!("/api/v1/leads/{LEAD}");
    assert_sets_owner(CrmTarget::Lead(LEAD.into()), &lead_path, json!(LEAD)).await;
}

#[tokio::test]
async fn a_lead_id_cannot_escape_its_path_segment() {
    let pipedrive = FakePipedrive::answering(Mock::given(method("PATCH")), ok(json!({}))).await;

    pipedrive
        .call(|client| client.set_owner(&CrmTarget::Lead("../deals/1".into()), user(7)))
        .await
        .unwrap();

    let requests = pipedrive.requests().await;
    assert_eq!(requests[0].url.path(), "/api/v1/leads/..%2Fdeals%2F1");
}

/// Adds `text` as a note on `target` where Pipedrive expects `content` on the record named by
/// `record`: it succeeds, with the token only in the header.
async fn assert_adds_note(target: CrmTarget, text: &'static str, content: &str, record: Value) {
    let mut sent = record.clone();
    sent["content"] = json!(content);
    let pipedrive = FakePipedrive::start().await;
    pipedrive.answer_once(note(sent), ok(record)).await;

    let result = pipedrive
        .call(move |client| client.add_note(&target, text))
        .await;

    assert_eq!(result, Ok(()));
    pipedrive.assert_token_only_in_header().await;
}

#[tokio::test]
async fn adds_a_note_to_a_deal() {
    let text = "Protocolo #00042 — atendimento atribuído a João Silva";
    assert_adds_note(CrmTarget::Deal(42), text, text, json!({"deal_id": 42})).await;
}

#[tokio::test]
async fn adds_a_note_to_a_lead() {
    let text = "Protocolo #00043 — atendimento atribuído a Ana";
    assert_adds_note(
        CrmTarget::Lead(LEAD.into()),
        text,
        text,
        json!({"lead_id": LEAD}),
    )
    .await;
}

#[tokio::test]
async fn adds_a_note_to_a_person_with_html_escaped() {
    assert_adds_note(
        CrmTarget::Person(17),
        "Protocolo #00044 — atendimento atribuído a Ana & Bia",
        "Protocolo #00044 — atendimento atribuído a Ana &amp; Bia",
        json!({"person_id": 17}),
    )
    .await;
}

#[tokio::test]
async fn a_bad_token_is_a_permanent_error_that_never_shows_the_token() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("PATCH")),
        pipedrive_error(401, "unauthorized access"),
    )
    .await;

    let result = pipedrive.set_deal_owner().await;

    let Err(CrmError::Permanent { reason }) = result else {
        panic!("expected a permanent error, got {result:?}");
    };
    assert!(reason.contains("401"), "{reason}");
    assert!(reason.contains("unauthorized access"), "{reason}");
    assert!(!reason.contains(TOKEN));
}

#[tokio::test]
async fn an_unknown_deal_is_a_permanent_error() {
    let pipedrive =
        FakePipedrive::failing("PATCH", "/api/v2/deals/999", 404, "Deal not found").await;

    let result = pipedrive
        .call(|client| client.set_owner(&CrmTarget::Deal(999), user(7)))
        .await;

    assert_eq!(
        result,
        Err(permanent(
            "Pipedrive respondeu 404 Not Found: Deal not found"
        ))
    );
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("POST")),
        pipedrive_error(429, "Request over limit")
            .insert_header("retry-after", "7")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", "2"),
    )
    .await;

    let result = pipedrive
        .call(|client| client.add_note(&CrmTarget::Deal(42), "nota"))
        .await;

    assert_eq!(
        result,
        Err(CrmError::Transient {
            reason: "Pipedrive respondeu 429 Too Many Requests: Request over limit".into(),
            retry_after_secs: Some(7),
        })
    );
}

#[tokio::test]
async fn too_many_requests_without_retry_after_waits_for_the_burst_window() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("PATCH")),
        with_burst_window(ResponseTemplate::new(429), "0"),
    )
    .await;

    let (result, state) = pipedrive
        .call(|client| {
            let result = client.set_owner(&CrmTarget::Deal(42), user(7));
            (result, client.last_rate_limit())
        })
        .await;

    assert!(
        matches!(
            result,
            Err(CrmError::Transient {
                retry_after_secs: Some(2),
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(
        state,
        Some(RateLimit {
            remaining: Some(0),
            reset_secs: Some(2),
            daily_left: None
        })
    );
}

#[tokio::test]
async fn a_spent_daily_budget_waits_until_it_resets() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("PATCH")),
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-remaining", "30")
            .insert_header("x-daily-requests-left", "0"),
    )
    .await;

    let result = pipedrive.set_deal_owner().await;

    let Err(CrmError::Transient {
        retry_after_secs: Some(wait),
        ..
    }) = result
    else {
        panic!("expected a transient error with a wait, got {result:?}");
    };
    assert!((1..=86_400).contains(&wait), "{wait}");
}

/// A 429 that says nothing about how long to wait still pauses every call, longer with each
/// 429 in a row; a success ends the streak.
#[tokio::test]
async fn every_429_asks_for_a_pause_that_grows_while_they_repeat() {
    let pipedrive = FakePipedrive::start().await;
    Mock::given(method("PATCH"))
        .respond_with(pipedrive_error(429, "Request over limit"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&pipedrive.server)
        .await;
    pipedrive
        .answer(
            Mock::given(method("PATCH")),
            ok(json!({"id": 42})).insert_header("x-ratelimit-remaining", "39"),
        )
        .await;

    let (before, first, second, after) = pipedrive
        .call(|client| {
            let before = client.pause_asked();
            let _ = client.set_owner(&CrmTarget::Deal(42), user(7));
            let first = client.pause_asked().unwrap();
            let _ = client.set_owner(&CrmTarget::Deal(42), user(7));
            let second = client.pause_asked().unwrap();
            client.set_owner(&CrmTarget::Deal(42), user(7)).unwrap();
            (before, first, second, client.pause_asked())
        })
        .await;

    assert_eq!(before, None);
    assert!(first.remaining <= Duration::from_secs(2), "{first:?}");
    assert!(second.remaining > Duration::from_secs(2), "{second:?}");
    assert!(second.serial > first.serial);
    assert!(
        second
            .reason
            .starts_with("Pipedrive respondeu 429 Too Many Requests: Request over limit;"),
        "{second:?}"
    );
    assert_eq!(
        after.map(|pause| pause.serial),
        Some(second.serial),
        "a success does not cut a pause short"
    );
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("PATCH")),
        ResponseTemplate::new(500).set_body_string("upstream exploded"),
    )
    .await;

    let result = pipedrive.set_deal_owner().await;

    assert_eq!(
        result,
        Err(CrmError::Transient {
            reason: "Pipedrive respondeu 500 Internal Server Error".into(),
            retry_after_secs: None,
        })
    );
}

#[tokio::test]
async fn a_server_error_then_success_succeeds_on_the_retry() {
    let pipedrive = FakePipedrive::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&pipedrive.server)
        .await;
    pipedrive
        .answer(
            owner_update("/api/v2/deals/42", 7),
            ok(json!({"id": 42, "owner_id": 7})),
        )
        .await;

    let (first, second) = pipedrive
        .call(|client| {
            let target = CrmTarget::Deal(42);
            (
                client.set_owner(&target, user(7)),
                client.set_owner(&target, user(7)),
            )
        })
        .await;

    assert!(
        matches!(first, Err(CrmError::Transient { .. })),
        "{first:?}"
    );
    assert_eq!(second, Ok(()));
}

#[tokio::test]
async fn a_slow_server_beyond_the_timeout_is_transient() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("PATCH")),
        ok(json!({})).set_delay(Duration::from_secs(3)),
    )
    .await;

    let result = pipedrive
        .call_with_timeout(Duration::from_millis(200), |client| {
            client.set_owner(&CrmTarget::Deal(42), user(7))
        })
        .await;

    let Err(CrmError::Transient {
        reason,
        retry_after_secs: None,
    }) = result
    else {
        panic!("expected a transient error, got {result:?}");
    };
    assert!(reason.contains("timeout"), "{reason}");
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base_url = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();

    let result = tokio::task::spawn_blocking(move || {
        let client = PipedriveClient::new(PipedriveConfig::new(TOKEN, base_url)).unwrap();
        client.set_owner(&CrmTarget::Deal(42), user(7))
    })
    .await
    .unwrap();

    let Err(CrmError::Transient { reason, .. }) = result else {
        panic!("expected a transient error, got {result:?}");
    };
    assert!(!reason.contains(TOKEN));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("PATCH")),
        ResponseTemplate::new(301).insert_header("location", "https://elsewhere.example/"),
    )
    .await;

    let result = pipedrive.set_deal_owner().await;

    assert!(
        matches!(result, Err(CrmError::Permanent { .. })),
        "{result:?}"
    );
    assert_eq!(pipedrive.requests().await.len(), 1);
}

#[tokio::test]
async fn remembers_the_rate_limit_of_every_answer() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("PATCH")),
        with_burst_window(ok(json!({"id": 42})), "39")
            .insert_header("x-daily-requests-left", "9999"),
    )
    .await;

    let (before, after) = pipedrive
        .call(|client| {
            let before = client.last_rate_limit();
            client.set_owner(&CrmTarget::Deal(42), user(7)).unwrap();
            (before, client.last_rate_limit())
        })
        .await;

    assert_eq!(before, None);
    let after = after.unwrap();
    assert_eq!(
        after,
        RateLimit {
            remaining: Some(39),
            reset_secs: Some(2),
            daily_left: Some(9999)
        }
    );
    assert_eq!(after.pause(), None);
}

#[tokio::test]
async fn lists_users_with_their_active_flag() {
    let pipedrive = FakePipedrive::start().await;
    pipedrive.answer_once(Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(header("x-api-token", TOKEN)), ok(json!([
            {"id": 7, "name": "João Silva", "email": "joao@acme.com", "active_flag": true, "is_admin": 1},
            {"id": 8, "name": "Ana Souza", "email": "ana@acme.com", "active_flag": false, "is_admin": 0}
        ]))).await;

    let users = pipedrive.call(|client| client.list_users()).await.unwrap();

    assert_eq!(
        users,
        vec![
            CrmUser {
                id: user(7),
                name: "João Silva".into(),
                email: Some("joao@acme.com".into()),
                active: true
            },
            CrmUser {
                id: user(8),
                name: "Ana Souza".into(),
                email: Some("ana@acme.com".into()),
                active: false
            },
        ]
    );
    pipedrive.assert_token_only_in_header().await;
}

#[tokio::test]
async fn lists_users_across_pages_when_pipedrive_paginates() {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("GET"))
            .and(path("/api/v1/users"))
            .and(query_param("start", "1")),
        ok(json!([{"id": 8, "name": "Ana", "active_flag": true}])),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "data": [{"id": 7, "name": "João", "active_flag": true}],
            "additional_data": {"pagination": {"start": 0, "limit": 1, "more_items_in_collection": true, "next_start": 1}}
        })))
        .up_to_n_times(1)
        .mount(&pipedrive.server)
        .await;

    let users = pipedrive.call(|client| client.list_users()).await.unwrap();

    let ids: Vec<i64> = users.iter().map(|user| user.id.get()).collect();
    assert_eq!(ids, vec![7, 8]);
}

#[tokio::test]
async fn registers_a_v2_webhook_with_basic_auth() {
    let pipedrive = FakePipedrive::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/webhooks"))
        .and(header("x-api-token", TOKEN))
        .and(body_json(json!({
            "subscription_url": "https://consultores.acme.com/webhooks/pipedrive",
            "event_action": "create",
            "event_object": "deal",
            "name": "consultores create.deal",
            "version": "2.0",
            "http_auth_user": "pipedrive",
            "http_auth_password": "hook-secret"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "status": "ok",
            "success": true,
            "data": {
                "id": 1234,
                "company_id": 900100,
                "owner_id": 1001,
                "user_id": 1001,
                "event_action": "create",
                "event_object": "deal",
                "subscription_url": "https://consultores.acme.com/webhooks/pipedrive",
                "is_active": 1,
                "http_auth_user": "pipedrive",
                "http_auth_password": "hook-secret",
                "version": "2.0"
            }
        })))
        .expect(1)
        .mount(&pipedrive.server)
        .await;

    let webhook = pipedrive
        .call(|client| {
            client.register_webhook(
                "https://consultores.acme.com/webhooks/pipedrive",
                "pipedrive",
                "hook-secret",
                "create",
                "deal",
            )
        })
        .await
        .unwrap();

    assert_eq!(webhook.id, 1234);
    assert_eq!(webhook.event_action, "create");
    assert_eq!(webhook.event_object, "deal");
    assert_eq!(webhook.version.as_deref(), Some("2.0"));
    assert!(!format!("{webhook:?}").contains("hook-secret"));
}

/// A webhook as `GET /api/v1/webhooks` lists it.
fn listed_webhook(id: i64, url: &str, event: &str, version: &str, active: i64) -> Value {
    let (action, object) = event.split_once('.').unwrap();
    json!({
        "id": id, "company_id": 900100, "owner_id": 1001, "user_id": 1001,
        "event_action": action, "event_object": object, "subscription_url": url,
        "is_active": active, "add_time": "2025-01-10 10:00:00", "remove_time": null,
        "type": "general", "http_auth_user": "pipedrive", "http_auth_password": "hook-secret",
        "remove_reason": null, "last_delivery_time": "2025-03-10 12:00:00",
        "last_http_status": 200, "admin_id": 1001, "version": version,
        "name": format!("consultores {event}")
    })
}

const HOOK_URL: &str = "https://consultores.acme.com/webhooks/pipedrive";

/// The webhook setup against a Pipedrive listing a v1 webhook, an inactive one, a good one and
/// another service's: the steps it took, and the requests Pipedrive received.
async fn setup_over_listed_webhooks() -> (Vec<SetupStep>, Vec<Request>) {
    let pipedrive = FakePipedrive::answering(
        Mock::given(method("GET")).and(path("/api/v1/webhooks")),
        ok(json!([
            listed_webhook(1, HOOK_URL, "create.deal", "1.0", 1),
            listed_webhook(2, HOOK_URL, "create.lead", "2.0", 0),
            listed_webhook(3, HOOK_URL, "change.deal", "2.0", 1),
            listed_webhook(
                4,
                "https://elsewhere.acme.com/hook",
                "create.deal",
                "1.0",
                1
            ),
        ])),
    )
    .await;
    pipedrive
        .answer(Mock::given(method("DELETE")), ok(json!({"id": 0})))
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/webhooks"))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let event = format!(
                "{}.{}",
                body["event_action"].as_str().unwrap(),
                body["event_object"].as_str().unwrap()
            );
            let id = 100 + event_index(&event);
            ResponseTemplate::new(201).set_body_json(json!({
                "success": true,
                "data": listed_webhook(id, HOOK_URL, &event, "2.0", 1)
            }))
        })
        .mount(&pipedrive.server)
        .await;

    let steps = pipedrive
        .call(|client| setup_webhooks(client, HOOK_URL, "pipedrive", "hook-secret"))
        .await
        .unwrap();

    (steps, pipedrive.requests().await)
}

#[tokio::test]
async fn webhook_setup_replaces_v1_and_inactive_webhooks_and_registers_what_is_missing() {
    let (steps, _) = setup_over_listed_webhooks().await;
    let shown: Vec<String> = steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        steps,
        vec![
            SetupStep::Removed {
                webhook: 1,
                events: "create.deal".into(),
                why: "version 1.0, whose payloads the service refuses; replaced by version 2.0"
                    .into()
            },
            SetupStep::Removed {
                webhook: 2,
                events: "create.lead".into(),
                why: "inactive: Pipedrive no longer delivers to it; registered again".into()
            },
            SetupStep::Registered {
                event: "create.deal".into(),
                webhook: 100
            },
            SetupStep::Registered {
                event: "create.lead".into(),
                webhook: 101
            },
            SetupStep::Kept {
                event: "change.deal".into(),
                webhook: 3
            },
            SetupStep::Registered {
                event: "change.lead".into(),
                webhook: 103
            },
            SetupStep::Registered {
                event: "delete.deal".into(),
                webhook: 104
            },
            SetupStep::Registered {
                event: "delete.lead".into(),
                webhook: 105
            },
        ],
        "{shown:#?}"
    );
}

#[tokio::test]
async fn webhook_setup_deletes_only_what_it_replaces_and_registers_version_2_with_credentials() {
    let (_, requests) = setup_over_listed_webhooks().await;
    let deleted: Vec<&str> = requests
        .iter()
        .filter(|request| request.method.as_str() == "DELETE")
        .map(|request| request.url.path())
        .collect();
    assert_eq!(deleted, vec!["/api/v1/webhooks/1", "/api/v1/webhooks/2"]);
    for request in requests
        .iter()
        .filter(|request| request.method.as_str() == "POST")
    {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["version"], "2.0");
        assert_eq!(body["subscription_url"], HOOK_URL);
        assert_eq!(body["http_auth_user"], "pipedrive");
        assert_eq!(body["http_auth_password"], "hook-secret");
    }
}

/// The position of an event in the setup's list (ids of registered webhooks in the fake).
fn event_index(event: &str) -> i64 {
    let events = [
        "create.deal",
        "create.lead",
        "change.deal",
        "change.lead",
        "delete.deal",
        "delete.lead",
    ];
    events.iter().position(|known| *known == event).unwrap() as i64
}

#[tokio::test]
async fn a_webhook_limit_is_a_permanent_error() {
    let pipedrive =
        FakePipedrive::failing("POST", "/api/v1/webhooks", 422, "Webhooks limit reached").await;

    let result = pipedrive
        .call(|client| client.register_webhook("https://x.example/h", "u", "p", "create", "lead"))
        .await;

    let limit_reached = "Pipedrive respondeu 422 Unprocessable Entity: Webhooks limit reached";
    assert_eq!(result, Err(permanent(limit_reached)));
}

#[tokio::test]
async fn lists_existing_webhooks() {
    let pipedrive = FakePipedrive::answering(Mock::given(method("GET"))
        .and(path("/api/v1/webhooks")), ok(json!([
            {"id": 1, "event_action": "create", "event_object": "deal", "subscription_url": "https://x.example/h", "version": "2.0"},
            {"id": 2, "event_action": "create", "event_object": "lead", "subscription_url": "https://x.example/h", "version": "2.0"}
        ]))).await;

    let webhooks = pipedrive
        .call(|client| client.list_webhooks())
        .await
        .unwrap();

    let events: Vec<String> = webhooks
        .iter()
        .map(|hook| format!("{}.{}", hook.event_action, hook.event_object))
        .collect();
    assert_eq!(events, vec!["create.deal", "create.lead"]);
}

#[tokio::test]
async fn reads_the_options_of_a_deal_field() {
    let pipedrive = FakePipedrive::answering(Mock::given(method("GET"))
        .and(path("/api/v1/dealFields"))
        .and(query_param("start", "0")), ok(json!([
            {"id": 12, "key": "title", "name": "Title", "field_type": "varchar"},
            {"id": 13, "key": "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432", "name": "Idioma", "field_type": "enum",
             "options": [{"id": 31, "label": "Espanhol"}, {"id": 32, "label": "Inglês"}]}
        ]))).await;

    let (options, missing) = pipedrive
        .call(|client| {
            (
                client.field_options("f0e1d2c3b4a5968778695a4b3c2d1e0f98765432"),
                client.field_options("no-such-field"),
            )
        })
        .await;

    assert_eq!(
        options,
        Ok(field_options(&[(31, "Espanhol"), (32, "Inglês")]))
    );
    assert!(
        matches!(missing, Err(CrmError::Permanent { .. })),
        "{missing:?}"
    );
}

/// `GET /api/v1/dealFields` as Pipedrive really answers: built-in fields come first, and some of
/// them have options whose ids are strings (`status`: `open`, `won`, `lost`, `deleted`), or
/// options of other shapes. Only the configured field's options matter.
#[tokio::test]
async fn options_of_the_language_field_are_read_past_built_in_fields_with_string_ids() {
    let pipedrive = FakePipedrive::answering(Mock::given(method("GET"))
        .and(path("/api/v1/dealFields")), ok(json!([
            {"id": 12, "key": "title", "name": "Title", "field_type": "varchar", "options": null},
            {"id": 21, "key": "status", "name": "Status", "field_type": "status", "edit_flag": false,
             "options": [{"id": "open", "label": "Open"}, {"id": "lost", "label": "Lost"},
                         {"id": "won", "label": "Won"}, {"id": "deleted", "label": "Deleted"}]},
            {"id": 22, "key": "visible_to", "name": "Visible to", "field_type": "visible_to",
             "options": [{"id": 1, "label": "Owner & followers", "alt_id": "owner"}]},
            {"id": 23, "key": "odd", "name": "Odd", "field_type": "enum", "options": {"unexpected": true}},
            {"id": 13, "key": "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432", "name": "Idioma", "field_type": "enum",
             "options": [{"id": 31, "label": "es", "color": "green"}, {"id": "32", "label": "en"}]}
        ]))).await;

    let options = pipedrive
        .call(|client| client.field_options("f0e1d2c3b4a5968778695a4b3c2d1e0f98765432"))
        .await;

    assert_eq!(options, Ok(field_options(&[(31, "es"), (32, "en")])));
}

#[tokio::test]
async fn the_client_debug_output_hides_the_token() {
    let pipedrive = FakePipedrive::start().await;
    let shown = pipedrive.call(|client| format!("{client:?}")).await;
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(shown.contains("127.0.0.1"), "{shown}");
}

#[tokio::test]
async fn every_request_asks_for_json() {
    let pipedrive = FakePipedrive::start().await;
    pipedrive
        .answer_once(
            Mock::given(method("GET"))
                .and(header_exists("user-agent"))
                .and(header("accept", "application/json")),
            ok(json!([])),
        )
        .await;

    let users = pipedrive.call(|client| client.list_users()).await.unwrap();
    assert!(users.is_empty());
}

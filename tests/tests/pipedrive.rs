//! The Pipedrive integration end to end: the real binary with its background worker, a local
//! server speaking Pipedrive's envelope, a da-vez with a deal and a webhook for a created deal.
//! Its log lines are kept for scripts/check-secrets.sh, which searches them for the token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consultores_tests::{json, Service, ServiceConfig, TestDatabase};
use serde_json::{json, Value};

/// Found by scripts/check-secrets.sh, which fails if it ever appears in a log line.
const PIPEDRIVE_TEST_TOKEN: &str = "e2e0pipedrive0token0000000000000000000001";
const OWNER: i64 = 4242;

#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    token: Option<String>,
    body: String,
}

/// The address `webhook-setup` is run with.
const WEBHOOK_URL: &str = "https://consultores.acme.com/webhooks/pipedrive";

/// A minimal Pipedrive: every call succeeds; the users list has one active user, `OWNER`; the
/// webhooks list has a version 1.0 webhook on [`WEBHOOK_URL`] (webhook 9).
fn fake_pipedrive() -> (String, Arc<Mutex<Vec<Received>>>) {
    fake_pipedrive_blocking(false)
}

/// [`fake_pipedrive`]; with `blocked`, every PATCH gets the HTML 403 page Pipedrive's firewall
/// serves a blocked token.
fn fake_pipedrive_blocking(blocked: bool) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let path = parts.next().unwrap_or_default().to_owned();
            let (mut length, mut token) = (0usize, None);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or((&line, ""));
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "x-api-token" => token = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let data = if path.starts_with("/api/v1/users") {
                json!([{"id": OWNER, "name": "Ana Souza", "email": "ana@exemplo.com", "active_flag": true}])
            } else if method == "GET" && path.starts_with("/api/v1/webhooks") {
                json!([{"id": 9, "event_action": "create", "event_object": "deal",
                        "subscription_url": WEBHOOK_URL, "is_active": 1, "version": "1.0",
                        "http_auth_user": "pipedrive", "last_http_status": 422}])
            } else {
                json!({"id": 1})
            };
            let (status, kind, answer) = if blocked && method == "PATCH" {
                (
                    "403 Forbidden",
                    "text/html; charset=UTF-8",
                    "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title>\
                     </head><body>Sorry, you have been blocked</body></html>"
                        .to_owned(),
                )
            } else {
                let answer = json!({"success": true, "data": data, "additional_data": {}});
                ("200 OK", "application/json", answer.to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{answer}",
                answer.len()
            );
            log.lock().unwrap().push(Received {
                method,
                path,
                token,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
    });
    (base, received)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn owners_and_notes_reach_pipedrive_from_da_vez_and_from_webhooks() {
    let (base, received) = fake_pipedrive();
    let database = TestDatabase::postgres();
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![
        ("PIPEDRIVE_API_TOKEN".into(), PIPEDRIVE_TEST_TOKEN.into()),
        ("PIPEDRIVE_BASE_URL".into(), base),
        ("PIPEDRIVE_WEBHOOK_USER".into(), "pipedrive".into()),
        (
            "PIPEDRIVE_WEBHOOK_PASSWORD".into(),
            "senha-do-webhook".into(),
        ),
        ("PIPEDRIVE_DEFAULT_LANGUAGE".into(), "pt".into()),
        ("LOG_BODIES".into(), "true".into()),
    ];
    let service = Service::start(&config);

    // With bodies logged, a key created over the API is answered but never logged (and
    // scripts/check-secrets.sh searches this service's log for it after the suite).
    let (status, created) = json(service.post("/api-keys", &json!({"scope": "leitura"})));
    assert_eq!(status, 200, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let used = service
        .request(reqwest::Method::GET, "/consultores")
        .header("api-key", &key)
        .send()
        .unwrap();
    assert_eq!(used.status(), 200);
    assert!(
        service
            .stdout_lines()
            .iter()
            .all(|line| !line.contains(&key)),
        "a created key reached the body log"
    );

    let (status, consultant) = json(service.post(
        "/consultor",
        &json!({"nome": "Ana Souza", "idiomas": ["pt"], "id_pipedrive": OWNER}),
    ));
    assert_eq!(status, 200, "{consultant}");
    let id = consultant["id"].as_i64().unwrap();
    service.put(
        &format!("/consultor/{id}/connection?status=true"),
        &json!({}),
    );

    // The rotation with a deal: answered at once, delivered by the worker.
    let (status, answer) = json(service.get("/consultor/da-vez?idioma=pt&deal_id=77"));
    assert_eq!(status, 200, "{answer}");
    let protocol = answer["protocolo_id"].as_i64().unwrap();
    let states = |service: &Service| -> Vec<String> {
        let (_, body) = json(service.get(&format!("/protocolo/{protocol}")));
        body["pipedrive"]["acoes"]
            .as_array()
            .map(|actions| {
                actions
                    .iter()
                    .map(|a| a["estado"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_for("both actions delivered", || {
        states(&service) == ["concluido", "concluido"]
    });
    {
        let calls = received.lock().unwrap();
        let owner = calls
            .iter()
            .find(|c| c.method == "PATCH" && c.path == "/api/v2/deals/77")
            .expect("the deal owner was set");
        assert_eq!(
            serde_json::from_str::<Value>(&owner.body).unwrap()["owner_id"],
            OWNER
        );
        let note = calls
            .iter()
            .find(|c| c.method == "POST" && c.path == "/api/v1/notes")
            .expect("a note was added");
        let note: Value = serde_json::from_str(&note.body).unwrap();
        assert_eq!(note["deal_id"], 77);
        assert!(note["content"]
            .as_str()
            .unwrap()
            .contains(answer["numero_protocolo"].as_str().unwrap()));
        assert!(calls
            .iter()
            .all(|c| c.token.as_deref() == Some(PIPEDRIVE_TEST_TOKEN)));
        assert!(calls.iter().all(|c| !c.path.contains(PIPEDRIVE_TEST_TOKEN)));
    }

    // A created deal announced by webhook is assigned by the worker, once.
    let webhook = json!({
        "meta": {"action": "create", "entity": "deal", "entity_id": "88", "attempt": 1,
                 "id": "evento-88", "version": "2.0"},
        "data": {"id": 88, "owner_id": 1, "title": "Pedido do site", "custom_fields": {}},
        "previous": null
    });
    let client = reqwest::blocking::Client::new();
    for _ in 0..2 {
        let response = client
            .post(service.url("/webhooks/pipedrive"))
            .basic_auth("pipedrive", Some("senha-do-webhook"))
            .json(&webhook)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let wrong = client
        .post(service.url("/webhooks/pipedrive"))
        .basic_auth("pipedrive", Some("errada"))
        .json(&webhook)
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    wait_for("the webhook's deal owner set", || {
        received
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.method == "PATCH" && c.path == "/api/v2/deals/88")
    });
    std::thread::sleep(Duration::from_secs(2));
    let (_, protocols) = json(service.get("/protocolos?limit=1000"));
    assert_eq!(
        protocols.as_array().unwrap().len(),
        2,
        "one per deal: {protocols}"
    );
    let deal_88_patches = received
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.method == "PATCH" && c.path == "/api/v2/deals/88")
        .count();
    assert_eq!(deal_88_patches, 1, "a redelivered webhook assigns once");

    let status = service.terminate();
    assert!(status.success());
}

#[test]
fn webhook_setup_replaces_a_v1_webhook_and_registers_create_change_and_delete() {
    let (base, received) = fake_pipedrive();
    let home =
        std::env::temp_dir().join(format!("consultores-webhook-setup-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let output = std::process::Command::new(consultores_tests::binary())
        .args(["pipedrive", "webhook-setup", "--url", WEBHOOK_URL])
        .current_dir(&home)
        .env("PIPEDRIVE_API_TOKEN", PIPEDRIVE_TEST_TOKEN)
        .env("PIPEDRIVE_BASE_URL", &base)
        .env("PIPEDRIVE_WEBHOOK_USER", "pipedrive")
        .env("PIPEDRIVE_WEBHOOK_PASSWORD", "senha-do-webhook")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("webhook 9 (create.deal) deleted: version 1.0"),
        "{stdout}"
    );
    let calls = received.lock().unwrap();
    let deleted: Vec<&str> = calls
        .iter()
        .filter(|c| c.method == "DELETE")
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(deleted, vec!["/api/v1/webhooks/9"]);
    let registered: Vec<String> = calls
        .iter()
        .filter(|c| c.method == "POST" && c.path == "/api/v1/webhooks")
        .map(|c| {
            let body: Value = serde_json::from_str(&c.body).unwrap();
            assert_eq!(body["version"], "2.0");
            assert_eq!(body["subscription_url"], WEBHOOK_URL);
            format!(
                "{}.{}",
                body["event_action"].as_str().unwrap(),
                body["event_object"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        registered,
        vec![
            "create.deal",
            "create.lead",
            "change.deal",
            "change.lead",
            "delete.deal",
            "delete.lead"
        ]
    );
}

#[test]
fn a_block_page_pauses_deliveries_without_failing_them() {
    let (base, received) = fake_pipedrive_blocking(true);
    let database = TestDatabase::postgres();
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![
        ("PIPEDRIVE_API_TOKEN".into(), PIPEDRIVE_TEST_TOKEN.into()),
        ("PIPEDRIVE_BASE_URL".into(), base),
    ];
    let service = Service::start(&config);
    let (status, consultant) = json(service.post(
        "/consultor",
        &json!({"nome": "Ana Souza", "idiomas": ["pt"], "id_pipedrive": OWNER}),
    ));
    assert_eq!(status, 200, "{consultant}");
    let id = consultant["id"].as_i64().unwrap();
    service.put(
        &format!("/consultor/{id}/connection?status=true"),
        &json!({}),
    );
    let (status, answer) = json(service.get("/consultor/da-vez?idioma=pt&deal_id=77"));
    assert_eq!(status, 200, "{answer}");
    let protocol = answer["protocolo_id"].as_i64().unwrap();

    let actions = |service: &Service| -> Vec<Value> {
        let (_, body) = json(service.get(&format!("/protocolo/{protocol}")));
        body["pipedrive"]["acoes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    wait_for("the owner update tried", || {
        actions(&service)[0]["tentativas"].as_i64() == Some(1)
    });
    std::thread::sleep(Duration::from_secs(2));
    let actions = actions(&service);
    assert_eq!(actions[0]["estado"], "pendente", "{actions:?}");
    assert!(
        actions[0]["motivo"]
            .as_str()
            .unwrap()
            .contains("bloqueio do token"),
        "{actions:?}"
    );
    assert_eq!(actions[1]["estado"], "pendente");
    assert_eq!(actions[1]["tentativas"], 0, "the note waits for the pause");
    let calls = received.lock().unwrap();
    assert_eq!(
        calls.iter().filter(|c| c.method != "GET").count(),
        1,
        "one PATCH, then silence: {:?}",
        calls
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect::<Vec<_>>()
    );
    drop(calls);
    assert_eq!(
        database.query_i64(
            "SELECT CAST(COUNT(*) AS BIGINT) AS value FROM pipedrive_pausa \
             WHERE ate > now() + interval '50 minutes'"
        ),
        1,
        "the pause is shared through the database"
    );
    let status = service.terminate();
    assert!(status.success());
}

//! Outbound webhooks through the real binary: a receiver started here verifies every signature,
//! sees each of the four events, and, after answering 500 for a while, gets the retries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::collections::{HashMap, HashSet};
use std::thread;
use std::time::{Duration, Instant};

use consultores_tests::receiver::{verifies, Receiver};
use consultores_tests::team::{hire, set_online};
use consultores_tests::{json, Service, ServiceConfig, TestDatabase};
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(60);

fn every_event_arrives_signed_and_failures_are_retried(database: &TestDatabase) {
    let service = Service::start(&ServiceConfig::with_database(database.url()));
    let receiver = Receiver::start(500);
    let (status, hook) = json(service.post(
        "/webhooks",
        &json!({"url": receiver.url, "eventos": ["atribuicao", "fila.expirada", "protocolo.atualizado", "consultor.conexao"]}),
    ));
    assert_eq!(status, 200, "{hook}");
    let secret = hook["segredo"].as_str().unwrap().to_owned();

    let joao = hire(&service, "João Silva", &["pt"], true);
    let (status, assigned) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 200, "{assigned}");
    let (status, _) = json(service.put(
        &format!("/protocolo/{}", assigned["protocolo_id"]),
        &json!({"status": "fechado"}),
    ));
    assert_eq!(status, 200);
    set_online(&service, joao.id, false);
    let (status, _) = json(service.post(
        "/fila",
        &json!({"idioma": "pt", "espera_maxima_segundos": 1}),
    ));
    assert_eq!(status, 200);

    // The receiver fails every try for a while: the service keeps retrying.
    let started = Instant::now();
    while receiver.received().len() < 8 {
        assert!(
            started.elapsed() < PATIENCE,
            "no retries: {:?}",
            receiver.received().len()
        );
        thread::sleep(Duration::from_millis(50));
    }
    receiver.answer(204);
    let log_path = format!("/webhooks/{}/entregas", hook["id"]);
    let log = loop {
        let (_, log) = json(service.get(&log_path));
        // Two connection switches (hired online, then offline) and one of each other event.
        let all_delivered = log.as_array().unwrap().len() == 5
            && log
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["estado"] == "entregue");
        if all_delivered {
            break log;
        }
        assert!(started.elapsed() < PATIENCE, "not all delivered: {log}");
        thread::sleep(Duration::from_millis(100));
    };

    let received = receiver.received();
    assert!(
        received.iter().all(|request| verifies(&secret, request)),
        "every signature verifies"
    );
    let mut tries: HashMap<String, usize> = HashMap::new();
    let mut events: HashSet<String> = HashSet::new();
    for request in &received {
        *tries
            .entry(request.headers["webhook-id"].clone())
            .or_default() += 1;
        let body: Value = serde_json::from_str(&request.body).unwrap();
        events.insert(body["type"].as_str().unwrap().to_owned());
        assert!(request.headers["webhook-timestamp"].parse::<i64>().is_ok());
    }
    let expected: HashSet<String> = [
        "atribuicao",
        "fila.expirada",
        "protocolo.atualizado",
        "consultor.conexao",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(events, expected);
    assert!(
        tries.values().any(|count| *count >= 2),
        "some message was retried: {tries:?}"
    );
    let delivered_after_failing: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["tentativas"].as_u64().unwrap() >= 2)
        .collect();
    assert!(!delivered_after_failing.is_empty(), "{log}");
    assert!(delivered_after_failing
        .iter()
        .all(|d| d["ultimo_status"] == 204));
    let assignment = received
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
        .find(|body| body["type"] == "atribuicao")
        .unwrap();
    assert_eq!(assignment["data"]["origem"], "da-vez");
    assert_eq!(assignment["data"]["consultor"]["id"], joao.id);
    assert_eq!(assignment["data"]["protocolo"]["numero"], "#00001");
    let logs = service.stdout_lines().join("\n");
    assert!(!logs.contains(&secret), "the secret is never logged");
}

#[test]
fn on_postgres_every_event_arrives_signed_and_failures_are_retried() {
    every_event_arrives_signed_and_failures_are_retried(&TestDatabase::postgres());
}

#[test]
fn on_sqlite_every_event_arrives_signed_and_failures_are_retried() {
    every_event_arrives_signed_and_failures_are_retried(&TestDatabase::sqlite());
}

/// A receiver that accepts connections and never answers: it costs its own deliveries a timeout
/// and a retry, and nothing else (other subscriptions are delivered meanwhile, assignments go on).
#[test]
fn a_hanging_receiver_delays_nothing_but_its_own_deliveries() {
    let database = TestDatabase::postgres();
    let service = Service::start(&ServiceConfig::with_database(database.url()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging_url = format!("http://{}/", listener.local_addr().unwrap());
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            held.push(stream);
        }
    });
    let healthy = Receiver::start(204);
    let subscribe = |url: &str| {
        let (status, hook) =
            json(service.post("/webhooks", &json!({"url": url, "eventos": ["atribuicao"]})));
        assert_eq!(status, 200, "{hook}");
        hook["id"].as_i64().unwrap()
    };
    let hanging = subscribe(&hanging_url);
    let fine = subscribe(&healthy.url);
    hire(&service, "João Silva", &["pt"], true);
    for _ in 0..3 {
        let (status, _) = json(service.get("/consultor/da-vez?idioma=pt"));
        assert_eq!(status, 200);
    }
    let log = |id: i64| json(service.get(&format!("/webhooks/{id}/entregas"))).1;
    let started = Instant::now();
    while !log(fine)
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["estado"] == "entregue")
    {
        assert!(started.elapsed() < PATIENCE, "{}", log(fine));
        thread::sleep(Duration::from_millis(50));
    }
    // The healthy subscription was served while the hanging one's first tries are still open.
    assert!(
        log(hanging)
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["tentativas"] == 0),
        "{}",
        log(hanging)
    );
    let (status, _) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 200, "assignments go on");
    loop {
        let current = log(hanging);
        let tried = current
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["tentativas"] == 1)
            .count();
        if tried > 0 {
            let first = current
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["tentativas"] == 1)
                .unwrap();
            assert_eq!(first["estado"], "pendente", "retried later");
            assert!(
                first["ultimo_erro"]
                    .as_str()
                    .unwrap()
                    .contains("tempo esgotado"),
                "{first}"
            );
            break;
        }
        assert!(started.elapsed() < PATIENCE, "{current}");
        thread::sleep(Duration::from_millis(100));
    }
}

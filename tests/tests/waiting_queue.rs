//! The waiting queue through the real binary and its dispatcher: a contact waits and goes to the
//! consultant who switches online; arrival order across languages and alternatives; expiry;
//! cancel; behind PgBouncer in transaction mode; and three replicas serving 200 waiting contacts
//! while consultants toggle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::thread;
use std::time::{Duration, Instant};

use consultores_tests::pgbouncer::PgBouncer;
use consultores_tests::team::{hire, set_online};
use consultores_tests::{json, Service, ServiceConfig, TestDatabase};
use serde_json::{json, Value};

/// How long a test waits for the dispatcher before failing: far above the 250 ms tick, so a
/// loaded machine does not fail the test; the latency measured is printed, not asserted.
const PATIENCE: Duration = Duration::from_secs(20);

fn enqueue(service: &Service, body: Value) -> Value {
    let (status, entry) = json(service.post("/fila", &body));
    assert_eq!(status, 200, "POST /fila: {entry}");
    entry
}

fn entry(service: &Service, id: i64) -> Value {
    let (status, entry) = json(service.get(&format!("/fila/{id}")));
    assert_eq!(status, 200, "GET /fila/{id}: {entry}");
    entry
}

/// Polls entry `id` until its `estado` is `state`; returns it and how long that took.
fn wait_for(service: &Service, id: i64, state: &str) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        let current = entry(service, id);
        if current["estado"] == state {
            return (current, started.elapsed());
        }
        assert!(
            started.elapsed() < PATIENCE,
            "entry {id} still {} after {PATIENCE:?}",
            current["estado"]
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn contact_waits_then_goes_to_the_consultant_who_switches_online(config: &ServiceConfig) {
    let service = Service::start(config);
    let joao = hire(&service, "João Silva", &["pt"], false);
    let waiting = enqueue(&service, json!({"idioma": "pt", "referencia": "wa:1"}));
    assert_eq!(waiting["estado"], "aguardando");
    assert_eq!(waiting["posicao"], 1);
    let (status, body) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["aguardando"], 1, "{body}");

    set_online(&service, joao.id, true);
    let (served, latency) = wait_for(&service, waiting["id"].as_i64().unwrap(), "atribuido");
    println!("assigned {latency:?} after the consultant switched online");
    assert_eq!(served["consultor"]["id"], joao.id);
    assert_eq!(served["protocolo"]["numero"], "#00001");
    assert_eq!(served["posicao"], Value::Null);
}

#[test]
fn on_sqlite_a_contact_waits_then_goes_to_the_consultant_who_switches_online() {
    let database = TestDatabase::sqlite();
    contact_waits_then_goes_to_the_consultant_who_switches_online(&ServiceConfig::with_database(
        database.url(),
    ));
}

#[test]
fn on_postgres_a_contact_waits_then_goes_to_the_consultant_who_switches_online() {
    let database = TestDatabase::postgres();
    contact_waits_then_goes_to_the_consultant_who_switches_online(&ServiceConfig::with_database(
        database.url(),
    ));
}

/// The dispatcher keeps no session state: behind PgBouncer in transaction mode (three server
/// connections, migrated through it) a waiting contact is served the same way.
#[test]
fn behind_pgbouncer_a_contact_waits_then_goes_to_the_consultant_who_switches_online() {
    let database = TestDatabase::postgres_unmigrated();
    let bouncer = PgBouncer::start(database.url(), 3);
    let mut config = ServiceConfig::with_database(&bouncer.url_for(database.url()));
    config
        .extra_env
        .push(("DB_TRANSACTION_POOLER".to_owned(), "true".to_owned()));
    contact_waits_then_goes_to_the_consultant_who_switches_online(&config);
}

#[test]
fn contacts_are_served_in_arrival_order_across_two_languages_and_alternatives() {
    let database = TestDatabase::postgres();
    let service = Service::start(&ServiceConfig::with_database(database.url()));
    let ana = hire(&service, "Ana Souza", &["pt"], false);
    let bob = hire(&service, "Bob Smith", &["en"], false);
    let ids: Vec<i64> = [
        json!({"idioma": "pt"}),
        json!({"idioma": "en"}),
        json!({"idioma": "pt", "alternativas": ["en"]}),
        json!({"idioma": "pt"}),
    ]
    .into_iter()
    .map(|body| enqueue(&service, body)["id"].as_i64().unwrap())
    .collect();

    // English frees up first: the English contact, then the one that accepts English.
    set_online(&service, bob.id, true);
    let (first, _) = wait_for(&service, ids[1], "atribuido");
    let (second, _) = wait_for(&service, ids[2], "atribuido");
    assert_eq!(first["protocolo"]["numero"], "#00001");
    assert_eq!(second["protocolo"]["numero"], "#00002");
    assert_eq!(second["protocolo"]["idioma"], "en");
    assert_eq!(entry(&service, ids[0])["estado"], "aguardando");
    set_online(&service, bob.id, false);

    set_online(&service, ana.id, true);
    let (third, _) = wait_for(&service, ids[3], "atribuido");
    let (oldest, _) = wait_for(&service, ids[0], "atribuido");
    assert_eq!(
        oldest["protocolo"]["numero"], "#00003",
        "the oldest Portuguese contact first"
    );
    assert_eq!(third["protocolo"]["numero"], "#00004");
    assert_eq!(oldest["consultor"]["id"], ana.id);
}

#[test]
fn a_contact_expires_after_its_maximum_wait_and_a_cancelled_one_is_never_served() {
    let database = TestDatabase::sqlite();
    let service = Service::start(&ServiceConfig::with_database(database.url()));
    let short = enqueue(
        &service,
        json!({"idioma": "pt", "espera_maxima_segundos": 1}),
    );
    let cancelled = enqueue(&service, json!({"idioma": "pt"}));
    let (status, body) = json(service.delete(&format!("/fila/{}", cancelled["id"])));
    assert_eq!((status, &body["estado"]), (200, &json!("cancelado")));
    let (expired, _) = wait_for(&service, short["id"].as_i64().unwrap(), "expirado");
    assert_eq!(expired["protocolo"], Value::Null);

    // A consultant arriving now gets neither, and da-vez works (nobody waits).
    hire(&service, "João Silva", &["pt"], true);
    let (status, _) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 200);
    assert_eq!(
        entry(&service, cancelled["id"].as_i64().unwrap())["estado"],
        "cancelado"
    );
    let (_, audit) = json(service.get("/auditoria?entidade=fila"));
    let actions: Vec<&str> = audit["itens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["acao"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"fila.expirada") && actions.contains(&"fila.cancelada"));
    let metrics = service.get("/metrics").text().unwrap();
    assert!(
        metrics.contains("consultores_queue_expired_total 1"),
        "{metrics}"
    );
}

/// Three replicas on one database: 4 clients queue 50 contacts each (spread over the replicas)
/// while 4 consultants toggle online and offline through every replica. Every contact is
/// assigned exactly once, in arrival order, with gapless numbers.
#[test]
fn three_replicas_serve_200_waiting_contacts_exactly_once_in_order() {
    let database = TestDatabase::postgres();
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![("LOG_LEVEL".to_owned(), "warning".to_owned())];
    let replicas: Vec<Service> = (0..3).map(|_| Service::start(&config)).collect();
    let consultants: Vec<i64> = (0..4)
        .map(|i| hire(&replicas[0], &format!("Consultor {i}"), &["pt"], false).id)
        .collect();
    thread::scope(|scope| {
        for client in 0..4 {
            let replicas = &replicas;
            scope.spawn(move || {
                for n in 0..50 {
                    enqueue(&replicas[(client + n) % 3], json!({"idioma": "pt"}));
                }
            });
        }
        for (index, id) in consultants.iter().enumerate() {
            let replicas = &replicas;
            scope.spawn(move || {
                for round in 0..20 {
                    set_online(&replicas[(index + round) % 3], *id, round % 2 == 0);
                    thread::sleep(Duration::from_millis(30));
                }
            });
        }
    });
    for (index, id) in consultants.iter().enumerate() {
        set_online(&replicas[index % 3], *id, true);
    }
    let started = Instant::now();
    let entries = loop {
        let (_, page) = json(replicas[1].get("/fila?limit=1000"));
        let entries = page["itens"].as_array().unwrap().clone();
        if entries.iter().all(|e| e["estado"] == "atribuido") {
            break entries;
        }
        assert!(started.elapsed() < PATIENCE, "entries still waiting");
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entries.len(), 200);
    let numbers: Vec<u64> = entries
        .iter()
        .map(|e| {
            e["protocolo"]["numero"].as_str().unwrap()[1..]
                .parse()
                .unwrap()
        })
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(numbers, sorted, "served in arrival order");
    assert_eq!(
        sorted,
        (1..=200).collect::<Vec<u64>>(),
        "each once, gapless"
    );
    let (_, protocols) = json(replicas[2].get("/protocolos?limit=1000"));
    assert_eq!(protocols.as_array().unwrap().len(), 200);
}

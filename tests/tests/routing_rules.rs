//! The routing rules end to end, on the built binary over HTTP, on SQLite and on two replicas
//! sharing PostgreSQL, with `DEFAULT_TIME_ZONE` set: a consultant outside their hours or on
//! leave is skipped and says why, a daily limit of 5 holds under 32 concurrent calls (across
//! replicas), the 404 says when someone will be free, and weights 1/2/3 share contacts 1:2:3.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, Utc};
use consultores_tests::{json, Service, ServiceConfig, TestDatabase};
use serde_json::{json, Value};

const ZONE: &str = "Asia/Tokyo";

fn start(database: &TestDatabase, replicas: usize) -> Vec<Service> {
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![
        ("DEFAULT_TIME_ZONE".to_owned(), ZONE.to_owned()),
        ("LOG_LEVEL".to_owned(), "warning".to_owned()),
    ];
    (0..replicas).map(|_| Service::start(&config)).collect()
}

fn hire(service: &Service, body: Value) -> i64 {
    let (status, answer) = json(service.post("/consultor", &body));
    assert_eq!(status, 200, "{answer}");
    answer["id"].as_i64().unwrap()
}

#[test]
fn routing_rules_on_sqlite() {
    routing_rules(&start(&TestDatabase::sqlite(), 1));
}

#[test]
fn routing_rules_on_two_postgres_replicas() {
    routing_rules(&start(&TestDatabase::postgres(), 2));
}

fn routing_rules(replicas: &[Service]) {
    let admin = &replicas[0];
    let tokyo_now = Utc::now() + Duration::hours(9);
    let another_day = (tokyo_now + Duration::days(3))
        .weekday()
        .number_from_monday();
    let date = |days: i64| {
        (tokyo_now + Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };

    let outside = hire(
        admin,
        json!({
            "nome": "Fora do Horario", "idiomas": ["pt"], "status_online": true,
            "horarios": [{"dia": another_day, "inicio": "09:00", "fim": "18:00"}]
        }),
    );
    let on_leave = hire(
        admin,
        json!({
            "nome": "De Ferias", "idiomas": ["pt"], "status_online": true,
            "ausencias": [{"de": date(-1), "ate": date(1)}]
        }),
    );
    let limited = hire(
        admin,
        json!({
            "nome": "Limite Cinco", "idiomas": ["pt"], "status_online": true, "limite_diario": 5
        }),
    );
    for (id, reason) in [
        (outside, "fora_do_horario"),
        (on_leave, "ausente"),
        (limited, ""),
    ] {
        let (_, body) = json(admin.get(&format!("/consultor/{id}")));
        assert_eq!(body["fuso_horario"], ZONE, "{body}");
        let expected = if reason.is_empty() {
            Value::Null
        } else {
            json!(reason)
        };
        assert_eq!(body["motivo_indisponivel"], expected, "{body}");
    }

    // 32 concurrent calls, spread over the replicas: exactly 5 reach the limited consultant.
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..32)
            .map(|i| {
                let service = &replicas[i % replicas.len()];
                scope.spawn(move || json(service.get("/consultor/da-vez?idioma=pt")))
            })
            .collect();
        calls.into_iter().map(|call| call.join().unwrap()).collect()
    });
    let served: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(served.len(), 5, "{answers:?}");
    assert!(served
        .iter()
        .all(|b| b["consultor_id"] == limited && b["idioma_atendido"] == "pt"));
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 404)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(refused.len(), 27, "{answers:?}");
    for body in refused {
        assert_eq!(body["aguardando"], 0, "{body}");
        // Local midnight in Tokyo, when the limit resets (the earliest of the three).
        let next = body["proximo_disponivel"].as_str().unwrap();
        assert!(next.ends_with("T15:00:00.000000+00:00"), "{next}");
    }
    let (_, body) = json(admin.get(&format!("/consultor/{limited}")));
    assert_eq!(body["atendimentos_hoje"], 5, "{body}");
    assert_eq!(body["protocolos_abertos"], 5, "{body}");
    assert_eq!(body["motivo_indisponivel"], "limite_diario", "{body}");

    // Weights 1, 2, 3 among English speakers: 120 contacts go 20, 40, 60 (within 2 each).
    let weighted: Vec<i64> = (1..=3)
        .map(|peso| {
            hire(
                admin,
                json!({
                    "nome": format!("Peso {peso}"), "idiomas": ["en"], "status_online": true,
                    "peso": peso
                }),
            )
        })
        .collect();
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for i in 0..120 {
        let (status, body) = json(replicas[i % replicas.len()].get("/consultor/da-vez?idioma=en"));
        assert_eq!(status, 200, "{body}");
        *counts
            .entry(body["consultor_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    println!("weights 1/2/3 over 120 contacts: {counts:?}");
    for (id, share) in weighted.iter().zip([20, 40, 60]) {
        assert!((counts[id] - share).abs() <= 2, "{counts:?}");
    }
}

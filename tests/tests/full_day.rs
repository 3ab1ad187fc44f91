//! A working day of a v6 client, against the real binary over real HTTP, on both backends:
//! register consultants, switch them online, rotate through three languages, open and edit
//! protocols, remove a consultant and read their history, restart and find everything there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::HashMap;

use consultores_tests::{json, Service, ServiceConfig, TestDatabase};
use serde_json::{json, Value};

fn full_day(database_url: &str) {
    let config = ServiceConfig::with_database(database_url);
    let service = Service::start(&config);

    // Morning: the team is registered. Newcomers start offline at the back of the queue.
    let team = [
        ("Ana Souza", vec!["pt"]),
        ("Bruno Lima", vec!["pt", "EN"]),
        ("Carla Dias", vec!["pt"]),
        ("Diego Ruiz", vec!["es", "pt"]),
        ("Emma Stone", vec!["en"]),
        ("Felipe Rocha", vec!["es"]),
    ];
    let mut ids = Vec::new();
    for (index, (name, languages)) in team.iter().enumerate() {
        let (status, body) = json(service.post(
            "/consultor",
            &json!({
                "nome": name,
                "email": format!("pessoa{index}@exemplo.com"),
                "telefone": format!("+55119999900{index:02}"),
                "idiomas": languages,
            }),
        ));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status_online"], false);
        assert!(body["ultimo_atendimento"].is_string());
        ids.push(body["id"].as_i64().unwrap());
    }
    let (status, body) = json(service.post(
        "/consultor",
        &json!({"nome": "Outra Pessoa", "email": "PESSOA0@exemplo.com", "idiomas": ["pt"]}),
    ));
    assert_eq!(
        (status, body),
        (400, json!({"detail": "Email já cadastrado"}))
    );

    // Nobody online yet.
    let (status, body) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 404);
    assert_eq!(
        body["detail"],
        "Não há consultor disponível para o idioma pt"
    );

    for id in &ids {
        let (status, body) = json(service.put(
            &format!("/consultor/{id}/connection?status=true"),
            &json!({}),
        ));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status_online"], true);
    }

    // The rotation: per language, everyone eligible gets the same number of contacts.
    let speakers: HashMap<&str, Vec<i64>> = HashMap::from([
        ("pt", vec![ids[0], ids[1], ids[2], ids[3]]),
        ("en", vec![ids[1], ids[4]]),
        ("es", vec![ids[3], ids[5]]),
    ]);
    let mut numbers = Vec::new();
    for (language, members) in &speakers {
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for _ in 0..members.len() * 3 {
            let (status, body) = json(service.get(&format!("/consultor/da-vez?idioma={language}")));
            assert_eq!(status, 200, "{body}");
            *counts
                .entry(body["consultor_id"].as_i64().unwrap())
                .or_default() += 1;
            numbers.push(body["numero_protocolo"].as_str().unwrap().to_owned());
        }
        for member in members {
            assert_eq!(counts.get(member), Some(&3), "{language}: {counts:?}");
        }
    }
    // Numbers are unique and contiguous from #00001.
    let mut sorted = numbers.clone();
    sorted.sort();
    let expected: Vec<String> = (1..=numbers.len()).map(|n| format!("#{n:05}")).collect();
    assert_eq!(sorted, expected);

    // Protocols outside the rotation.
    let (status, body) = json(service.get("/gerar-protocolo"));
    assert_eq!(status, 200);
    let generated = body["numero_protocolo"].as_str().unwrap().to_owned();
    assert_eq!(generated, format!("#{:05}", numbers.len() + 1));
    let (status, manual) = json(service.post(
        "/protocolo",
        &json!({"consultor_id": ids[0], "descricao": "Cliente ligou de novo", "prioridade": "alta"}),
    ));
    assert_eq!(status, 200, "{manual}");
    assert_eq!(manual["prioridade"], "alta");
    assert_eq!(manual["status"], "aberto");
    let manual_id = manual["id"].as_i64().unwrap();
    let (status, edited) = json(service.put(
        &format!("/protocolo/{manual_id}"),
        &json!({"status": "em_andamento", "consultor_id": ids[2]}),
    ));
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["status"], "em_andamento");
    assert_eq!(edited["consultor_id"], ids[2]);
    assert_eq!(edited["descricao"], "Cliente ligou de novo");

    // A consultant leaves: gone from listings and the rotation, their protocols stay.
    let bruno = ids[1];
    let (_, history_before) = json(service.get(&format!("/protocolos?consultor_id={bruno}")));
    let history_before = history_before.as_array().unwrap().clone();
    assert_eq!(history_before.len(), 6, "3 in pt and 3 in en");
    let (status, body) = json(service.delete(&format!("/consultor/{bruno}")));
    assert_eq!(
        (status, body),
        (200, json!({"detail": "Consultor removido com sucesso"}))
    );
    let (status, _) = json(service.get(&format!("/consultor/{bruno}")));
    assert_eq!(status, 404);
    let (_, listed) = json(service.get("/consultores"));
    assert!(listed.as_array().unwrap().iter().all(|c| c["id"] != bruno));
    let (_, history_after) = json(service.get(&format!("/protocolos?consultor_id={bruno}")));
    assert_eq!(history_after.as_array().unwrap(), &history_before);
    for _ in 0..4 {
        let (_, body) = json(service.get("/consultor/da-vez?idioma=en"));
        assert_eq!(body["consultor_id"], ids[4], "only Emma speaks en now");
    }

    // End of the day: a clean stop, then a restart finds everything.
    let (_, all_before) = json(service.get("/protocolos?limit=1000"));
    let (_, consultants_before) = json(service.get("/consultores"));
    let status = service.terminate();
    assert!(
        status.success(),
        "SIGTERM should end with exit code 0, got {status:?}"
    );

    let service = Service::start(&config);
    let (_, all_after) = json(service.get("/protocolos?limit=1000"));
    let (_, consultants_after) = json(service.get("/consultores"));
    assert_eq!(all_after, all_before);
    assert_eq!(consultants_after, consultants_before);
    let (_, body) = json(service.get("/gerar-protocolo"));
    let count = all_before.as_array().unwrap().len();
    assert_eq!(
        body["numero_protocolo"],
        Value::from(format!("#{:05}", count + 1))
    );
}

#[test]
fn a_full_day_on_sqlite_persists_across_restarts() {
    let database = TestDatabase::sqlite();
    full_day(database.url());
}

#[test]
fn a_full_day_on_postgres_persists_across_restarts() {
    let database = TestDatabase::postgres();
    full_day(database.url());
}

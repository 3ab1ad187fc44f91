//! `GET /consultor/da-vez` through HTTP.

use std::collections::HashMap;

use serde_json::json;

use crate::common::{is_wire_timestamp, start};
use crate::on_both_backends;

on_both_backends! {
    async fn the_rotation_answers_the_consultant_and_the_protocol_it_opened(backend) {
        let app = start(backend).await;
        let id = app
            .consultant(json!({
                "nome": "João Silva", "email": "joao@exemplo.com", "telefone": "+5511999999999",
                "idiomas": ["pt", "en"], "status_online": true, "id_pipedrive": 456
            }))
            .await;
        let before = app.get(&format!("/consultor/{id}")).await.json();
        let reply = app.get("/consultor/da-vez?idioma=pt").await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["consultor_id"], id);
        assert_eq!(body["consultor_nome"], "João Silva");
        assert_eq!(body["consultor_email"], "joao@exemplo.com");
        assert_eq!(body["consultor_telefone"], "+5511999999999");
        assert_eq!(body["consultor_idiomas"], json!(["pt", "en"]));
        assert_eq!(body["consultor_status_online"], true);
        assert_eq!(body["consultor_id_pipedrive"], 456);
        assert_eq!(body["numero_protocolo"], "#00001");
        let served = body["consultor_atendimento_iso"].as_str().unwrap();
        assert!(is_wire_timestamp(served), "{served}");
        assert!(served > before["ultimo_atendimento"].as_str().unwrap());
        assert_eq!(body["idioma_atendido"], "pt");
        assert_eq!(body.as_object().unwrap().len(), 11);

        let after = app.get(&format!("/consultor/{id}")).await.json();
        assert_eq!(after["ultimo_atendimento"], served);
        let protocol = app.get(&format!("/protocolo/{}", body["protocolo_id"])).await.json();
        assert_eq!(protocol["numero"], "#00001");
        assert_eq!(protocol["consultor_id"], id);
        assert_eq!(protocol["idioma"], "pt");
    }

    async fn the_language_matches_case_insensitively(backend) {
        let app = start(backend).await;
        let id = app.online_consultant("Ana Souza", &["pt-BR"]).await;
        let body = app.get("/consultor/da-vez?idioma=PT-br").await.json();
        assert_eq!(body["consultor_id"], id);
    }

    async fn a_missing_or_invalid_language_is_a_query_422(backend) {
        let app = start(backend).await;
        let items = app.get("/consultor/da-vez").await.expect_422_at(&[json!(["query", "idioma"])]);
        assert_eq!(items[0]["type"], "missing");
        assert_eq!(items[0]["input"], serde_json::Value::Null);
        for bad in ["p", "português", "p1", "-pt", "pt-br-x", ""] {
            let items = app
                .get(&format!("/consultor/da-vez?idioma={}", urlencode(bad)))
                .await
                .expect_422_at(&[json!(["query", "idioma"])]);
            assert_eq!(items[0]["type"], "value_error.language", "{bad}");
        }
    }

    async fn nobody_eligible_is_404_naming_the_language_and_opens_no_protocol(backend) {
        let app = start(backend).await;
        app.get("/consultor/da-vez?idioma=PT")
            .await
            .expect_nobody_free("Não há consultor disponível para o idioma pt");
        app.online_consultant("Ana Souza", &["en"]).await;
        app.get("/consultor/da-vez?idioma=pt").await.expect(404);
        assert_eq!(app.get("/protocolos").await.json(), json!([]));
        // The next number is still the first: nothing was consumed.
        let generated = app.get("/gerar-protocolo").await.json();
        assert_eq!(generated["numero_protocolo"], "#00001");
    }

    async fn offline_inactive_and_out_of_rotation_consultants_are_skipped(backend) {
        let app = start(backend).await;
        app.consultant(json!({"nome": "Offline Um", "idiomas": ["pt"]})).await;
        app.consultant(json!({"nome": "Inativo Dois", "idiomas": ["pt"], "status_online": true, "status_ativo": false})).await;
        app.consultant(json!({"nome": "Fora Tres", "idiomas": ["pt"], "status_online": true, "status_ativo_sequencial": false})).await;
        let eligible = app.online_consultant("Elegivel Quatro", &["pt"]).await;
        for _ in 0..3 {
            let body = app.get("/consultor/da-vez?idioma=pt").await.json();
            assert_eq!(body["consultor_id"], eligible);
        }
    }

    async fn the_rotation_is_fair_over_eight_consultants(backend) {
        let app = start(backend).await;
        let mut ids = Vec::new();
        for i in 0..8 {
            ids.push(app.online_consultant(&format!("Consultor {i}"), &["pt", "en"]).await);
        }
        let rounds = 4;
        let mut counts: HashMap<i64, usize> = HashMap::new();
        let mut numbers = Vec::new();
        let mut order = Vec::new();
        for _ in 0..(8 * rounds) {
            let body = app.get("/consultor/da-vez?idioma=pt").await.json();
            let id = body["consultor_id"].as_i64().unwrap();
            *counts.entry(id).or_default() += 1;
            order.push(id);
            numbers.push(body["numero_protocolo"].as_str().unwrap().to_owned());
        }
        for id in &ids {
            assert_eq!(counts.get(id), Some(&rounds), "{counts:?}");
        }
        // Newcomers joined the queue in registration order, so each round follows it.
        assert_eq!(&order[..8], ids.as_slice());
        assert_eq!(&order[8..16], ids.as_slice());
        let expected: Vec<String> = (1..=8 * rounds).map(|n| format!("#{n:05}")).collect();
        assert_eq!(numbers, expected);
    }

    async fn concurrent_rotation_calls_get_distinct_numbers_and_stay_fair(backend) {
        let app = start(backend).await;
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(app.online_consultant(&format!("Paralelo {i}"), &["es"]).await);
        }
        let calls = (0..16).map(|_| app.get("/consultor/da-vez?idioma=es"));
        let replies = futures_util::future::join_all(calls).await;
        let mut numbers: Vec<String> = Vec::new();
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for reply in replies {
            reply.expect(200);
            let body = reply.json();
            numbers.push(body["numero_protocolo"].as_str().unwrap().to_owned());
            *counts.entry(body["consultor_id"].as_i64().unwrap()).or_default() += 1;
        }
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), 16);
        for id in &ids {
            assert_eq!(counts.get(id), Some(&4), "{counts:?}");
        }
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

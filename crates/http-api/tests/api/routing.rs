//! Routing rules through HTTP: every invalid value is a 422 at its exact location and stores
//! nothing; rules round-trip and `null` clears them; the rotation skips a consultant outside
//! their hours and tells when someone will be free; `alternativas` and `idioma_atendido`.

use chrono::{Datelike, Duration, Utc};
use serde_json::{json, Value};

use crate::common::{assert_default_rules, is_wire_timestamp, start};
use crate::on_both_backends;

/// An ISO weekday three days from today in São Paulo: never today, whatever the hour.
fn another_day() -> u32 {
    let local = Utc::now() - Duration::hours(3);
    (local + Duration::days(3)).weekday().number_from_monday()
}

on_both_backends! {
    async fn every_invalid_rule_is_a_422_at_its_exact_location_and_nothing_is_stored(backend) {
        let app = start(backend).await;
        let body = json!({
            "nome": "Regina Regras", "idiomas": ["pt"],
            "peso": 101, "limite_diario": 0, "limite_abertos": 10001,
            "fuso_horario": "Lua/Base",
            "horarios": [
                {"dia": 0, "inicio": "08:00", "fim": "12:00"},
                {"dia": 8, "inicio": "25:00", "fim": "12:00"},
                {"dia": 1, "inicio": "12:00", "fim": "12:00"},
                {"dia": 2, "inicio": "08:00"},
                "segunda"
            ],
            "ausencias": [{"de": "2026-12-26", "ate": "2026-12-24"}, {"de": "2026-02-30", "ate": "2026-03-01"}]
        });
        let items = app.post("/consultor", body).await.expect_422_at(&[
            json!(["body", "peso"]),
            json!(["body", "limite_diario"]),
            json!(["body", "limite_abertos"]),
            json!(["body", "fuso_horario"]),
            json!(["body", "horarios", 0, "dia"]),
            json!(["body", "horarios", 1, "dia"]),
            json!(["body", "horarios", 1, "inicio"]),
            json!(["body", "horarios", 2, "fim"]),
            json!(["body", "horarios", 3, "fim"]),
            json!(["body", "horarios", 4]),
            json!(["body", "ausencias", 0, "ate"]),
            json!(["body", "ausencias", 1, "de"]),
        ]);
        assert_eq!(items[0]["input"], 101);
        assert_eq!(items[3]["type"], "value_error.time_zone");
        assert_eq!(items[6]["type"], "value_error.time");
        assert_eq!(items[7]["type"], "value_error.end_not_after_start");
        assert_eq!(items[10]["type"], "value_error.end_before_start");
        assert_eq!(app.get("/consultores").await.json(), json!([]));

        let id = app.online_consultant("Ana Souza", &["pt"]).await;
        let before = app.get(&format!("/consultor/{id}")).await.json();
        app.put(&format!("/consultor/{id}"), json!({"nome": "Outra Ana", "peso": 0}))
            .await
            .expect_422_at(&[json!(["body", "peso"])]);
        app.put(&format!("/consultor/{id}"), json!({"horarios": {"dia": 1}}))
            .await
            .expect_422_at(&[json!(["body", "horarios"])]);
        assert_eq!(app.get(&format!("/consultor/{id}")).await.json(), before);
    }

    async fn rules_round_trip_and_null_brings_back_the_defaults(backend) {
        let app = start(backend).await;
        let id = app.online_consultant("Ana Souza", &["pt"]).await;
        let rules = json!({
            "peso": 3, "limite_diario": 40, "limite_abertos": 7, "fuso_horario": "Europe/Lisbon",
            "horarios": [{"dia": 1, "inicio": "12:00", "fim": "18:00"}, {"dia": 1, "inicio": "08:00", "fim": "12:00"},
                         {"dia": 5, "inicio": "22:00", "fim": "24:00"}],
            "ausencias": [{"de": "2027-12-24", "ate": "2027-12-26"}]
        });
        let body = app.put(&format!("/consultor/{id}"), rules).await.json();
        assert_eq!(body["peso"], 3);
        assert_eq!(body["limite_diario"], 40);
        assert_eq!(body["limite_abertos"], 7);
        assert_eq!(body["fuso_horario"], "Europe/Lisbon");
        // Touching periods merged, in order.
        assert_eq!(body["horarios"], json!([{"dia": 1, "inicio": "08:00", "fim": "18:00"},
                                            {"dia": 5, "inicio": "22:00", "fim": "24:00"}]));
        assert_eq!(body["ausencias"], json!([{"de": "2027-12-24", "ate": "2027-12-26"}]));
        assert_eq!(app.get(&format!("/consultor/{id}")).await.json(), body);

        let cleared = json!({"peso": null, "limite_diario": null, "limite_abertos": null,
                             "fuso_horario": null, "horarios": null, "ausencias": null});
        let body = app.put(&format!("/consultor/{id}"), cleared).await.json();
        assert_default_rules(&body);
        assert_eq!(body["disponivel"], true);
        assert_eq!(body["motivo_indisponivel"], Value::Null);
    }

    async fn a_consultant_outside_their_hours_is_skipped_and_the_404_says_when_they_start(backend) {
        let app = start(backend).await;
        let id = app
            .consultant(json!({
                "nome": "Fora do Horario", "idiomas": ["pt"], "status_online": true,
                "horarios": [{"dia": another_day(), "inicio": "09:00", "fim": "18:00"}]
            }))
            .await;
        let consultant = app.get(&format!("/consultor/{id}")).await.json();
        assert_eq!(consultant["disponivel"], false);
        assert_eq!(consultant["motivo_indisponivel"], "fora_do_horario");
        let next = app
            .get("/consultor/da-vez?idioma=pt")
            .await
            .expect_nobody_free("Não há consultor disponível para o idioma pt");
        let next = next.as_str().unwrap();
        assert!(is_wire_timestamp(next), "{next}");
        // 09:00 in São Paulo (UTC-3) is 12:00 UTC, on the working day.
        assert!(next.ends_with("T12:00:00.000000+00:00"), "{next}");
        let days = (chrono::DateTime::parse_from_rfc3339(next).unwrap().with_timezone(&Utc)
            - Utc::now())
        .num_hours();
        assert!((1..=4 * 24).contains(&days), "{next}");
        assert_eq!(app.get("/protocolos").await.json(), json!([]));
    }

    async fn alternatives_are_tried_in_order_and_the_answer_names_the_language_served(backend) {
        let app = start(backend).await;
        let id = app.online_consultant("Hablante", &["es"]).await;
        let body = app.get("/consultor/da-vez?idioma=pt&alternativas=en,ES").await.json();
        assert_eq!(body["consultor_id"], id);
        assert_eq!(body["idioma_atendido"], "es");
        let protocol = app.get(&format!("/protocolo/{}", body["protocolo_id"])).await.json();
        assert_eq!(protocol["idioma"], "es");
        let consultant = app.get(&format!("/consultor/{id}")).await.json();
        assert_eq!(consultant["atendimentos_hoje"], 1);
        assert_eq!(consultant["protocolos_abertos"], 1);
        let items = app
            .get("/consultor/da-vez?idioma=pt&alternativas=en,p1")
            .await
            .expect_422_at(&[json!(["query", "alternativas", 1])]);
        assert_eq!(items[0]["type"], "value_error.language");
        app.get("/consultor/da-vez?idioma=pt&alternativas=en,fr")
            .await
            .expect_nobody_free("Não há consultor disponível para o idioma pt");
    }
}

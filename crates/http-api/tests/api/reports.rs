//! `GET /relatorios/atribuicoes` over HTTP: rotation assignments per consultant per local day,
//! as JSON and CSV, and its 422s.

use actix_web::http::Method;
use chrono::{Duration, Utc};
use consultores_domain::ApiKeyScope;
use serde_json::json;

use crate::common::{start, with_key};
use crate::on_both_backends;

/// `de=yesterday&ate=tomorrow` in UTC, so every protocol opened now is inside.
fn around_today() -> (String, String, String) {
    let today = Utc::now().date_naive();
    (
        (today - Duration::days(1)).to_string(),
        today.to_string(),
        (today + Duration::days(1)).to_string(),
    )
}

on_both_backends! {
    async fn counts_rotation_assignments_per_consultant_and_day_removed_consultants_included(backend) {
        let app = start(backend).await;
        let ana = app.online_consultant("Ana", &["pt"]).await;
        let bia = app.online_consultant("Bia", &["pt", "en"]).await;
        let caio = app.online_consultant("Caio", &["es"]).await;
        for _ in 0..3 {
            app.get("/consultor/da-vez?idioma=pt").await.expect(200);
        }
        app.get("/consultor/da-vez?idioma=en").await.expect(200);
        // Opened by hand or generated: not the rotation's.
        app.post("/protocolo", json!({"consultor_id": ana})).await.expect(200);
        app.get("/gerar-protocolo").await.expect(200);
        app.delete(&format!("/consultor/{bia}")).await.expect(200);

        let (yesterday, today, tomorrow) = around_today();
        let path = format!("/relatorios/atribuicoes?de={yesterday}&ate={tomorrow}&fuso_horario=UTC");
        let (_, reader) = app.key(ApiKeyScope::Read);
        let reply = app.send(with_key(Method::GET, &path, &reader)).await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["de"], yesterday.as_str());
        assert_eq!(body["ate"], tomorrow.as_str());
        assert_eq!(body["fuso_horario"], "UTC");
        assert_eq!(body["total"], 4);
        let lines = body["consultores"].as_array().unwrap();
        let line = |id: i64| lines.iter().find(|line| line["consultor_id"] == id).unwrap().clone();
        // pt alternates Ana, Bia, Ana; en goes to Bia.
        assert_eq!(line(ana)["total"], 2);
        assert_eq!(line(bia)["total"], 2, "a removed consultant keeps their line");
        assert_eq!(line(bia)["nome"], "Bia");
        assert_eq!(line(caio)["total"], 0, "current consultants appear with zeros");
        assert_eq!(
            line(ana)["por_dia"],
            json!({ yesterday.clone(): 0, today.clone(): 2, tomorrow.clone(): 0 })
        );

        let english = app
            .get(&format!("{path}&idioma=EN"))
            .await;
        english.expect(200);
        let english = english.json();
        assert_eq!(english["total"], 1);
        assert_eq!(english["idioma"], "en");
        let ids: Vec<i64> = english["consultores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line["consultor_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![bia], "only who speaks en or got an en contact");
    }

    async fn the_same_report_comes_as_csv_by_accept_or_formato(backend) {
        let app = start(backend).await;
        let ana = app.online_consultant("Silva, Ana", &["pt"]).await;
        app.get("/consultor/da-vez?idioma=pt").await.expect(200);
        let (_, today, _) = around_today();
        let path = format!("/relatorios/atribuicoes?de={today}&ate={today}&fuso_horario=UTC");
        let expected = format!(
            "consultor_id,nome,data,atribuicoes\r\n{ana},\"Silva, Ana\",{today},1\r\n"
        );
        let by_accept = app
            .send(with_key(Method::GET, &path, crate::common::ADMIN_KEY).insert_header(("Accept", "text/csv")))
            .await;
        by_accept.expect(200);
        assert_eq!(by_accept.text(), expected);
        assert!(by_accept.header("content-type").unwrap().starts_with("text/csv"));
        assert!(by_accept.header("content-disposition").unwrap().contains(".csv"));
        let by_parameter = app.get(&format!("{path}&formato=csv")).await;
        by_parameter.expect(200);
        assert_eq!(by_parameter.text(), expected);
    }

    async fn bad_periods_zones_and_languages_are_422_on_their_own_loc(backend) {
        let app = start(backend).await;
        app.get("/relatorios/atribuicoes")
            .await
            .expect_422_at(&[json!(["query", "de"]), json!(["query", "ate"])]);
        app.get("/relatorios/atribuicoes?de=2026-02-30&ate=2026-03-01")
            .await
            .expect_422_at(&[json!(["query", "de"])]);
        app.get("/relatorios/atribuicoes?de=2026-03-02&ate=2026-03-01")
            .await
            .expect_422_at(&[json!(["query", "ate"])]);
        let items = app
            .get("/relatorios/atribuicoes?de=2025-01-01&ate=2026-01-02")
            .await
            .expect_422_at(&[json!(["query", "ate"])]);
        assert_eq!(items[0]["msg"], "o período pode ter no máximo 366 dias");
        app.get("/relatorios/atribuicoes?de=2025-01-01&ate=2025-12-31&fuso_horario=Brasil/Recife&idioma=p")
            .await
            .expect_422_at(&[json!(["query", "idioma"]), json!(["query", "fuso_horario"])]);
    }
}

//! `/fila` through HTTP (the dispatcher's passes are run by hand here; the end-to-end tests run
//! the binary's own dispatcher).

use actix_web::http::Method;
use consultores_domain::{Actor, ApiKeyScope, WaitingQueue};
use serde_json::{json, Value};

use crate::common::{is_wire_timestamp, start, with_key};
use crate::on_both_backends;

fn dispatch(database: &consultores_persistence::Database) -> usize {
    database
        .dispatch(chrono::Utc::now(), &Actor::queue("teste"), false, 50)
        .unwrap()
        .served
        .len()
}

on_both_backends! {
    async fn a_contact_is_assigned_at_once_when_someone_is_free(backend) {
        let app = start(backend).await;
        let id = app.online_consultant("João Silva", &["pt"]).await;
        let reply = app
            .post("/fila", json!({"idioma": "PT", "referencia": "wa:1", "descricao": "Orçamento", "prioridade": "alta"}))
            .await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["estado"], "atribuido");
        assert_eq!(body["idioma"], "pt");
        assert_eq!(body["alternativas"], json!([]));
        assert_eq!(body["referencia"], "wa:1");
        assert_eq!(body["posicao"], Value::Null);
        assert_eq!(body["consultor"], json!({"id": id, "nome": "João Silva", "email": null, "telefone": null}));
        assert_eq!(body["protocolo"]["numero"], "#00001");
        assert_eq!(body["protocolo"]["descricao"], "Orçamento");
        assert_eq!(body["protocolo"]["prioridade"], "alta");
        for field in ["criado_em", "expira_em", "atribuido_em"] {
            assert!(is_wire_timestamp(body[field].as_str().unwrap()), "{field}");
        }
        let audit = app.get("/auditoria?acao=fila.atribuida").await.json();
        assert_eq!(audit["itens"][0]["entidade"], "fila");
        assert_eq!(audit["itens"][0]["entidade_id"], body["id"]);
    }

    async fn a_contact_waits_da_vez_does_not_jump_it_and_a_pass_serves_it(backend) {
        let app = start(backend).await;
        let body = app.post("/fila", json!({"idioma": "pt", "alternativas": ["en"]})).await.json();
        assert_eq!(body["estado"], "aguardando");
        assert_eq!(body["posicao"], 1);
        assert_eq!(body["alternativas"], json!(["en"]));
        assert_eq!(body["protocolo"], Value::Null);
        let id = body["id"].as_i64().unwrap();

        app.online_consultant("Bob Smith", &["en"]).await;
        app.get("/consultor/da-vez?idioma=en").await.expect(404);
        assert_eq!(dispatch(&app.database.database()), 1);
        let served = app.get(&format!("/fila/{id}")).await.json();
        assert_eq!(served["estado"], "atribuido");
        assert_eq!(served["protocolo"]["idioma"], "en");
        app.get("/consultor/da-vez?idioma=en").await.expect(200);
    }

    async fn the_da_vez_404_counts_the_contacts_waiting_in_the_languages_asked(backend) {
        let app = start(backend).await;
        app.post("/fila", json!({"idioma": "pt", "alternativas": ["en"]})).await.expect(200);
        app.post("/fila", json!({"idioma": "pt"})).await.expect(200);
        let pt = app.get("/consultor/da-vez?idioma=pt").await;
        pt.expect(404);
        assert_eq!(pt.json()["aguardando"], 2);
        let en = app.get("/consultor/da-vez?idioma=en").await.json();
        assert_eq!(en["aguardando"], 1);
        let es = app.get("/consultor/da-vez?idioma=es&alternativas=en").await.json();
        assert_eq!(es["aguardando"], 1);
        let fr = app.get("/consultor/da-vez?idioma=fr").await.json();
        assert_eq!(fr["aguardando"], 0);
    }

    async fn cancel_answers_the_entry_then_409_once_assigned_and_404_when_unknown(backend) {
        let app = start(backend).await;
        let waiting = app.post("/fila", json!({"idioma": "pt"})).await.json();
        let reply = app.delete(&format!("/fila/{}", waiting["id"])).await;
        reply.expect(200);
        assert_eq!(reply.json()["estado"], "cancelado");
        app.online_consultant("João Silva", &["pt"]).await;
        let assigned = app.post("/fila", json!({"idioma": "pt"})).await.json();
        let reply = app.delete(&format!("/fila/{}", assigned["id"])).await;
        reply.expect(409);
        assert_eq!(reply.json(), json!({"detail": "Contato já atribuído"}));
        let reply = app.delete("/fila/999").await;
        reply.expect(404);
        assert_eq!(reply.json(), json!({"detail": "Contato não encontrado na fila"}));
        app.get("/fila/abc").await.expect_422_at(&[json!(["path", "fila_id"])]);
    }

    async fn bad_bodies_are_422_on_each_field_and_queue_nothing(backend) {
        let app = start(backend).await;
        app.post("/fila", json!({})).await.expect_422_at(&[json!(["body", "idioma"])]);
        app.post(
            "/fila",
            json!({
                "idioma": "português", "alternativas": ["en", 3], "prioridade": "máxima",
                "espera_maxima_segundos": 0, "deal_id": 1, "person_id": 2
            }),
        )
        .await
        .expect_422_at(&[
            json!(["body", "idioma"]),
            json!(["body", "alternativas", 1]),
            json!(["body", "prioridade"]),
            json!(["body", "person_id"]),
            json!(["body", "espera_maxima_segundos"]),
        ]);
        let long = "x".repeat(256);
        app.post("/fila", json!({"idioma": "pt", "referencia": long, "espera_maxima_segundos": 604801}))
            .await
            .expect_422_at(&[json!(["body", "referencia"]), json!(["body", "espera_maxima_segundos"])]);
        let page = app.get("/fila").await.json();
        assert_eq!(page["itens"], json!([]));
    }

    async fn the_listing_filters_by_language_and_state_and_pages_by_cursor(backend) {
        let app = start(backend).await;
        for language in ["pt", "en", "pt", "pt"] {
            app.post("/fila", json!({"idioma": language})).await.expect(200);
        }
        let first = app.get("/fila?idioma=pt&estado=aguardando&limit=2").await.json();
        let positions: Vec<&Value> = first["itens"].as_array().unwrap().iter().map(|e| &e["posicao"]).collect();
        assert_eq!(positions, [&json!(1), &json!(2)]);
        let cursor = first["proximo_cursor"].as_str().unwrap().to_owned();
        let second = app.get(&format!("/fila?idioma=pt&limit=2&cursor={cursor}")).await.json();
        assert_eq!(second["itens"].as_array().unwrap().len(), 1);
        assert_eq!(second["proximo_cursor"], Value::Null);
        app.get("/fila?estado=esperando&limit=0")
            .await
            .expect_422_at(&[json!(["query", "estado"]), json!(["query", "limit"])]);
    }

    async fn a_retry_with_the_same_idempotency_key_gets_the_same_entry(backend) {
        let app = start(backend).await;
        let request = || {
            actix_web::test::TestRequest::post()
                .uri("/fila")
                .insert_header(("api-key", crate::common::ADMIN_KEY))
                .insert_header(("Idempotency-Key", "contato-7"))
                .set_json(json!({"idioma": "pt"}))
        };
        let first = app.send(request()).await;
        let again = app.send(request()).await;
        assert_eq!(again.headers.get("Idempotency-Replayed").unwrap(), "true");
        assert_eq!(first.json()["id"], again.json()["id"]);
        assert_eq!(app.get("/fila").await.json()["itens"].as_array().unwrap().len(), 1);
    }

    async fn reading_keys_may_list_but_not_queue_or_cancel(backend) {
        let app = start(backend).await;
        let (_, reader) = app.key(ApiKeyScope::Read);
        app.send(with_key(Method::GET, "/fila", &reader)).await.expect(200);
        app.send(with_key(Method::POST, "/fila", &reader).set_json(json!({"idioma": "pt"})))
            .await
            .expect(403);
        app.send(with_key(Method::DELETE, "/fila/1", &reader)).await.expect(403);
        let (_, distribution) = app.key(ApiKeyScope::Distribution);
        app.send(with_key(Method::POST, "/fila", &distribution).set_json(json!({"idioma": "pt"})))
            .await
            .expect(200);
    }
}

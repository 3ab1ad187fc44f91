//! `Idempotency-Key` on `GET /consultor/da-vez`, `GET /gerar-protocolo` and `POST /protocolo`.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use consultores_domain::ApiKeyScope;
use serde_json::{json, Value};

use crate::common::{start, with_key, ADMIN_KEY};
use crate::on_both_backends;

fn keyed(method: Method, path: &str, key: &str) -> TestRequest {
    with_key(method, path, ADMIN_KEY).insert_header(("Idempotency-Key", key))
}

on_both_backends! {
    async fn a_retried_rotation_call_gets_the_first_answer_and_assigns_nothing_new(backend) {
        let app = start(backend).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        app.online_consultant("Bia Souza", &["pt"]).await;
        let first = app.send(keyed(Method::GET, "/consultor/da-vez?idioma=pt", "pedido-1")).await;
        first.expect(200);
        assert_eq!(first.header("idempotency-replayed"), None);
        let retry = app.send(keyed(Method::GET, "/consultor/da-vez?idioma=pt", "pedido-1")).await;
        retry.expect(200);
        assert_eq!(retry.json(), first.json());
        assert_eq!(retry.header("idempotency-replayed").as_deref(), Some("true"));
        // The retry consumed neither a consultant's turn nor a number.
        let next = app.get("/consultor/da-vez?idioma=pt").await.json();
        assert_ne!(next["consultor_id"], first.json()["consultor_id"]);
        assert_eq!(next["numero_protocolo"], "#00002");
    }

    async fn a_retried_generation_gets_the_same_number(backend) {
        let app = start(backend).await;
        let first = app.send(keyed(Method::GET, "/gerar-protocolo", "gerar-1")).await.json();
        let retry = app.send(keyed(Method::GET, "/gerar-protocolo", "gerar-1")).await;
        assert_eq!(retry.json(), first);
        assert_eq!(retry.header("idempotency-replayed").as_deref(), Some("true"));
        let other = app.send(keyed(Method::GET, "/gerar-protocolo", "gerar-2")).await.json();
        assert_eq!(other["numero_protocolo"], "#00002");
    }

    async fn a_retried_manual_protocol_gets_the_same_protocol_even_with_reordered_json(backend) {
        let app = start(backend).await;
        let id = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"]})).await;
        let first = app
            .send(keyed(Method::POST, "/protocolo", "manual-1")
                .set_payload(format!(r#"{{"consultor_id": {id}, "prioridade": "alta"}}"#)))
            .await;
        first.expect(200);
        let retry = app
            .send(keyed(Method::POST, "/protocolo", "manual-1")
                .set_payload(format!(r#"{{ "prioridade":"alta","consultor_id":{id} }}"#)))
            .await;
        retry.expect(200);
        assert_eq!(retry.json(), first.json());
        assert_eq!(retry.header("idempotency-replayed").as_deref(), Some("true"));
        assert_eq!(app.get("/protocolos").await.json().as_array().unwrap().len(), 1);
    }

    async fn the_same_key_with_other_parameters_is_422(backend) {
        let app = start(backend).await;
        let id = app.online_consultant("Ana Souza", &["pt", "en"]).await;
        app.send(keyed(Method::GET, "/consultor/da-vez?idioma=pt", "reuso")).await.expect(200);
        app.send(keyed(Method::GET, "/consultor/da-vez?idioma=en", "reuso"))
            .await
            .expect_detail(422, "Idempotency-Key já usada com outros parâmetros");
        app.send(keyed(Method::POST, "/protocolo", "corpo").set_json(json!({"consultor_id": id})))
            .await
            .expect(200);
        app.send(keyed(Method::POST, "/protocolo", "corpo").set_json(json!({"consultor_id": id, "prioridade": "alta"})))
            .await
            .expect_detail(422, "Idempotency-Key já usada com outros parâmetros");
    }

    async fn repeated_parameters_are_fingerprinted_as_the_handler_reads_them(backend) {
        let app = start(backend).await;
        let pt = app.online_consultant("Ana Souza", &["pt"]).await;
        let en = app.online_consultant("John Smith", &["en"]).await;
        let first = app.send(keyed(Method::GET, "/consultor/da-vez?idioma=en&idioma=pt", "repetido")).await;
        assert_eq!(first.json()["consultor_id"], pt);
        app.send(keyed(Method::GET, "/consultor/da-vez?idioma=pt&idioma=en", "repetido"))
            .await
            .expect_detail(422, "Idempotency-Key já usada com outros parâmetros");
        // The same effective request, spelled differently, is a replay.
        let retry = app.send(keyed(Method::GET, "/consultor/da-vez?idioma=es&idioma=pt", "repetido")).await;
        assert_eq!(retry.json(), first.json());
        assert_eq!(retry.header("idempotency-replayed").as_deref(), Some("true"));
        assert_eq!(app.get("/consultor/da-vez?idioma=en").await.json()["consultor_id"], en);
    }

    async fn keys_of_different_callers_never_collide(backend) {
        let app = start(backend).await;
        let (_, distribution) = app.key(ApiKeyScope::Distribution);
        let mine = app.send(keyed(Method::GET, "/gerar-protocolo", "mesma-chave")).await.json();
        let theirs = app
            .send(with_key(Method::GET, "/gerar-protocolo", &distribution).insert_header(("Idempotency-Key", "mesma-chave")))
            .await;
        theirs.expect(200);
        assert_eq!(theirs.header("idempotency-replayed"), None);
        assert_ne!(theirs.json()["numero_protocolo"], mine["numero_protocolo"]);
    }

    async fn an_invalid_key_is_a_header_422_reported_with_the_other_problems(backend) {
        let app = start(backend).await;
        let long = "k".repeat(256);
        let items = app
            .send(keyed(Method::GET, "/consultor/da-vez", &long))
            .await
            .expect_422_at(&[json!(["query", "idioma"]), json!(["header", "idempotency-key"])]);
        assert_eq!(items[1]["type"], "string_too_long");
        let items = app
            .send(keyed(Method::GET, "/gerar-protocolo", "chave com acentuação"))
            .await
            .expect_422_at(&[json!(["header", "idempotency-key"])]);
        assert!(items[0]["type"].as_str().unwrap().starts_with("value_error"), "{items:?}");
        app.send(keyed(Method::POST, "/protocolo", &long).set_json(json!({})))
            .await
            .expect_422_at(&[json!(["header", "idempotency-key"]), json!(["body", "consultor_id"])]);
    }

    async fn concurrent_twins_with_one_key_open_one_protocol(backend) {
        let app = start(backend).await;
        for i in 0..3 {
            app.online_consultant(&format!("Gêmeo {i}"), &["pt"]).await;
        }
        let twins = (0..6).map(|_| app.send(keyed(Method::GET, "/consultor/da-vez?idioma=pt", "gemeos")));
        let replies = futures_util::future::join_all(twins).await;
        let successes: Vec<Value> = replies
            .iter()
            .filter(|reply| reply.status == 200)
            .map(|reply| reply.json())
            .collect();
        assert!(!successes.is_empty());
        for reply in &replies {
            // A twin that lost the race may only be told to retry; it never gets a new protocol.
            assert!([200, 409, 422, 503].contains(&reply.status.as_u16()), "{}", reply.text());
        }
        assert!(successes.iter().all(|body| *body == successes[0]));
        assert_eq!(app.get("/protocolos").await.json().as_array().unwrap().len(), 1);
    }

    async fn keys_are_ignored_on_other_routes(backend) {
        let app = start(backend).await;
        let body = json!({"nome": "Ana Souza", "idiomas": ["pt"]});
        app.send(keyed(Method::POST, "/consultor", "x").set_json(body.clone())).await.expect(200);
        let mut second = body;
        second["nome"] = json!("Bia Souza");
        let reply = app.send(keyed(Method::POST, "/consultor", "x").set_json(second)).await;
        reply.expect(200);
        assert_eq!(reply.json()["nome"], "Bia Souza");
    }
}

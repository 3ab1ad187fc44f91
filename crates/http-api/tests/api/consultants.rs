//! `/consultores` and `/consultor/...`.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{self, assert_default_rules, fields, is_wire_timestamp, start, ADMIN_KEY};
use crate::on_both_backends;

fn joao() -> Value {
    json!({
        "nome": "João Silva",
        "email": "joao@exemplo.com",
        "telefone": "+5511999999999",
        "idiomas": ["pt", "en"],
        "id_pipedrive": 456
    })
}

on_both_backends! {
    async fn a_stored_row_the_service_cannot_read_spoils_only_itself(backend) {
        let app = start(backend).await;
        let broken = app.online_consultant("Ana Souza", &["pt"]).await;
        let fine = app.online_consultant("Bia Lima", &["pt"]).await;
        app.database.execute(&format!("UPDATE consultores SET nome = 'Al' WHERE id = {broken}"));
        let listed = app.get("/consultores").await;
        listed.expect(200);
        let ids: Vec<i64> = listed.json().as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [fine]);
        app.get(&format!("/consultor/{broken}")).await.expect(500);
        // The rotation never commits an assignment it cannot answer: nothing stamped, no number.
        app.get("/consultor/da-vez?idioma=pt").await.expect(500);
        assert_eq!(app.get("/gerar-protocolo").await.json()["numero_protocolo"], "#00001");
    }

    async fn creating_a_consultant_answers_200_with_every_field_and_the_v6_defaults(backend) {
        let app = start(backend).await;
        let reply = app.post("/consultor", joao()).await;
        reply.expect(200);
        let body = reply.json();
        assert!(body["id"].as_i64().unwrap() > 0);
        assert_eq!(body["nome"], "João Silva");
        assert_eq!(body["email"], "joao@exemplo.com");
        assert_eq!(body["telefone"], "+5511999999999");
        assert_eq!(body["idiomas"], json!(["pt", "en"]));
        assert_eq!(body["status_ativo"], true);
        assert_eq!(body["status_ativo_sequencial"], true);
        assert_eq!(body["status_online"], false);
        assert_eq!(body["id_pipedrive"], 456);
        // The routing rules at their defaults, and the read-only status (offline).
        assert_default_rules(&body);
        assert_eq!(body["disponivel"], false);
        assert_eq!(body["motivo_indisponivel"], "offline");
        assert_eq!(body["atendimentos_hoje"], 0);
        assert_eq!(body["protocolos_abertos"], 0);
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(fields.len(), 20, "{fields:?}");
    }

    async fn a_new_consultant_joins_the_back_of_the_queue_with_a_microsecond_utc_timestamp(backend) {
        let app = start(backend).await;
        let body = app.post("/consultor", joao()).await.json();
        let served = body["ultimo_atendimento"].as_str().unwrap();
        assert!(is_wire_timestamp(served), "{served}");
    }

    async fn only_nome_and_idiomas_are_required(backend) {
        let app = start(backend).await;
        let reply = app.post("/consultor", json!({"nome": "Ana", "idiomas": ["es"]})).await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["email"], Value::Null);
        assert_eq!(body["telefone"], Value::Null);
        assert_eq!(body["id_pipedrive"], Value::Null);
    }

    async fn an_email_already_used_by_another_consultant_is_400(backend) {
        let app = start(backend).await;
        app.consultant(joao()).await;
        let mut other = joao();
        other["nome"] = json!("Outro João");
        other["email"] = json!("JOAO@exemplo.com");
        app.post("/consultor", other).await.expect_detail(400, "Email já cadastrado");
    }

    async fn missing_required_fields_are_all_listed_with_the_body_as_input(backend) {
        let app = start(backend).await;
        let items = app
            .post("/consultor", json!({"email": "a@b.com"}))
            .await
            .expect_422_at(&[json!(["body", "nome"]), json!(["body", "idiomas"])]);
        for item in &items {
            assert_eq!(item["type"], "missing");
            assert_eq!(item["msg"], "Campo obrigatório");
            assert_eq!(item["input"], json!({"email": "a@b.com"}));
        }
    }

    async fn every_invalid_value_is_listed_in_field_order_with_its_rule(backend) {
        let app = start(backend).await;
        let items = app
            .post(
                "/consultor",
                json!({
                    "nome": "  Jo  ",
                    "email": "não-é-email",
                    "telefone": "11999",
                    "idiomas": ["pt", "português", "e"],
                    "id_pipedrive": 0
                }),
            )
            .await
            .expect_422_at(&[
                json!(["body", "nome"]),
                json!(["body", "email"]),
                json!(["body", "telefone"]),
                json!(["body", "idiomas", 1]),
                json!(["body", "idiomas", 2]),
                json!(["body", "id_pipedrive"]),
            ]);
        assert_eq!(items[0]["type"], "string_too_short");
        assert_eq!(items[0]["msg"], "deve ter no mínimo 3 caracteres");
        assert_eq!(items[0]["input"], "  Jo  ");
        assert_eq!(items[1]["type"], "value_error.email");
        assert_eq!(items[2]["type"], "value_error.phone");
        assert_eq!(items[3]["type"], "value_error.language");
        assert_eq!(items[3]["input"], "português");
        assert_eq!(items[5]["type"], "greater_than_equal");
        assert_eq!(items[5]["input"], 0);
    }

    async fn values_over_their_maximum_length_are_422(backend) {
        let app = start(backend).await;
        let long_name = "x".repeat(256);
        let long_email = format!("{}@exemplo.com", "a".repeat(250));
        let items = app
            .post("/consultor", json!({"nome": long_name, "email": long_email, "idiomas": ["pt"]}))
            .await
            .expect_422_at(&[json!(["body", "nome"]), json!(["body", "email"])]);
        assert_eq!(items[0]["type"], "string_too_long");
        assert_eq!(items[0]["msg"], "deve ter no máximo 255 caracteres");
        assert_eq!(items[1]["type"], "string_too_long");
    }

    async fn wrong_json_types_are_422_with_pydantic_type_codes(backend) {
        let app = start(backend).await;
        let items = app
            .post(
                "/consultor",
                json!({
                    "nome": 5,
                    "email": ["x"],
                    "idiomas": "pt",
                    "status_ativo": "talvez",
                    "status_online": {},
                    "id_pipedrive": 1.5
                }),
            )
            .await
            .expect_422_at(&fields("body", &["nome", "email", "idiomas", "status_ativo", "status_online", "id_pipedrive"]));
        let kinds: Vec<&str> = items.iter().map(|item| item["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["string_type", "string_type", "list_type", "bool_parsing", "bool_type", "int_from_float"]
        );
    }

    async fn a_non_string_language_is_reported_at_its_index(backend) {
        let app = start(backend).await;
        app.post("/consultor", json!({"nome": "Ana Souza", "idiomas": ["pt", 7]}))
            .await
            .expect_422_at(&[json!(["body", "idiomas", 1])]);
    }

    async fn an_empty_language_list_is_422_and_more_than_20_distinct_languages_too(backend) {
        let app = start(backend).await;
        let items = app
            .post("/consultor", json!({"nome": "Ana Souza", "idiomas": []}))
            .await
            .expect_422_at(&[json!(["body", "idiomas"])]);
        assert_eq!(items[0]["type"], "too_short");
        let many: Vec<String> = (0..21)
            .map(|i| format!("a{}", char::from(b'a' + i as u8)))
            .collect();
        let items = app
            .post("/consultor", json!({"nome": "Ana Souza", "idiomas": many}))
            .await
            .expect_422_at(&[json!(["body", "idiomas"])]);
        assert_eq!(items[0]["type"], "too_long");
    }

    async fn languages_are_lowercased_and_duplicates_merged_keeping_the_first(backend) {
        let app = start(backend).await;
        let twenty_five_pt: Vec<&str> = std::iter::repeat_n("PT", 25).collect();
        let body = app
            .post("/consultor", json!({"nome": "Ana Souza", "idiomas": twenty_five_pt}))
            .await
            .json();
        assert_eq!(body["idiomas"], json!(["pt"]));
        let body = app
            .post("/consultor", json!({"nome": "Bia Souza", "idiomas": ["EN", "pt-BR", "en", "Pt-br"]}))
            .await
            .json();
        assert_eq!(body["idiomas"], json!(["en", "pt-br"]));
    }

    async fn lax_booleans_and_integers_in_strings_are_accepted_as_pydantic_does(backend) {
        let app = start(backend).await;
        let reply = app
            .post(
                "/consultor",
                json!({"nome": "Ana Souza", "idiomas": ["pt"], "status_online": "yes",
                       "status_ativo": 1, "id_pipedrive": "456"}),
            )
            .await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["status_online"], true);
        assert_eq!(body["status_ativo"], true);
        assert_eq!(body["id_pipedrive"], 456);
    }

    async fn null_for_a_required_or_non_nullable_field_is_422(backend) {
        let app = start(backend).await;
        let items = app
            .post("/consultor", json!({"nome": null, "idiomas": ["pt"], "status_ativo": null}))
            .await
            .expect_422_at(&[json!(["body", "nome"]), json!(["body", "status_ativo"])]);
        assert_eq!(items[0]["type"], "string_type");
        assert_eq!(items[1]["type"], "bool_type");
        // null for the nullable fields is fine.
        app.post(
            "/consultor",
            json!({"nome": "Ana Souza", "idiomas": ["pt"], "email": null, "telefone": null, "id_pipedrive": null}),
        )
        .await
        .expect(200);
    }

    async fn unknown_fields_are_ignored(backend) {
        let app = start(backend).await;
        let mut body = joao();
        body["cor_favorita"] = json!("azul");
        body["id"] = json!(999);
        let reply = app.post("/consultor", body).await;
        reply.expect(200);
        assert!(reply.json().get("cor_favorita").is_none());
        assert_ne!(reply.json()["id"], 999);
    }

    async fn malformed_json_is_422_json_invalid(backend) {
        let app = start(backend).await;
        let request = TestRequest::post()
            .uri("/consultor")
            .insert_header(("api-key", ADMIN_KEY))
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"nome\": \"Ana\",");
        let items = app.send(request).await.expect_422_at(&[json!(["body"])]);
        assert_eq!(items[0]["type"], "json_invalid");
    }

    async fn a_body_that_is_not_an_object_is_422(backend) {
        let app = start(backend).await;
        let items = app
            .post("/consultor", json!(["nome", "Ana"]))
            .await
            .expect_422_at(&[json!(["body"])]);
        assert_eq!(items[0]["type"], "model_attributes_type");
    }

    async fn a_missing_body_is_422_missing(backend) {
        let app = start(backend).await;
        let request = TestRequest::post()
            .uri("/consultor")
            .insert_header(("api-key", ADMIN_KEY));
        let items = app.send(request).await.expect_422_at(&[json!(["body"])]);
        assert_eq!(items[0]["type"], "missing");
    }

    async fn json_without_a_content_type_is_parsed_and_other_content_types_are_422(backend) {
        let app = start(backend).await;
        let body = serde_json::to_string(&joao()).unwrap();
        let untyped = TestRequest::post()
            .uri("/consultor")
            .insert_header(("api-key", ADMIN_KEY))
            .set_payload(body.clone());
        app.send(untyped).await.expect(200);
        let text = TestRequest::post()
            .uri("/consultor")
            .insert_header(("api-key", ADMIN_KEY))
            .insert_header(("content-type", "text/plain"))
            .set_payload(body.clone());
        let items = app.send(text).await.expect_422_at(&[json!(["body"])]);
        assert_eq!(items[0]["type"], "model_attributes_type");
        let problem_json = TestRequest::post()
            .uri("/consultor")
            .insert_header(("api-key", ADMIN_KEY))
            .insert_header(("content-type", "application/merge-patch+json; charset=utf-8"))
            .set_payload(body.replace("joao@", "joao2@"));
        app.send(problem_json).await.expect(200);
    }

    async fn listing_returns_every_consultant_not_deleted_by_id(backend) {
        let app = start(backend).await;
        let first = app.online_consultant("Ana Souza", &["pt"]).await;
        let second = app.consultant(json!({"nome": "Bia Souza", "idiomas": ["en"]})).await;
        let third = app.online_consultant("Caio Souza", &["pt", "EN"]).await;
        app.delete(&format!("/consultor/{second}")).await.expect(200);
        let reply = app.get("/consultores").await;
        reply.expect(200);
        let ids: Vec<i64> = reply.json().as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [first, third]);
    }

    async fn listing_filters_by_language_online_and_active(backend) {
        let app = start(backend).await;
        let ana = app.online_consultant("Ana Souza", &["pt"]).await;
        let bia = app.consultant(json!({"nome": "Bia Souza", "idiomas": ["en", "pt"]})).await;
        let caio = app
            .consultant(json!({"nome": "Caio Souza", "idiomas": ["en"], "status_ativo": false}))
            .await;
        let ids = |reply: crate::common::Reply| -> Vec<i64> {
            reply.expect(200);
            reply.json().as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
        };
        assert_eq!(ids(app.get("/consultores?idioma=PT").await), [ana, bia]);
        assert_eq!(ids(app.get("/consultores?status_online=true").await), [ana]);
        assert_eq!(ids(app.get("/consultores?status_online=0").await), [bia, caio]);
        assert_eq!(ids(app.get("/consultores?status_ativo=false").await), [caio]);
        assert_eq!(ids(app.get("/consultores?idioma=en&status_ativo=true").await), [bia]);
    }

    async fn listing_with_invalid_filters_lists_each_as_a_query_422(backend) {
        let app = start(backend).await;
        let items = app
            .get("/consultores?idioma=p&status_online=talvez&status_ativo=2")
            .await
            .expect_422_at(&fields("query", &["idioma", "status_online", "status_ativo"]));
        assert_eq!(items[0]["type"], "value_error.language");
        assert_eq!(items[1]["type"], "bool_parsing");
        assert_eq!(items[1]["input"], "talvez");
    }

    async fn getting_a_consultant_answers_it_and_an_unknown_id_is_404(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        let reply = app.get(&format!("/consultor/{id}")).await;
        reply.expect(200);
        assert_eq!(reply.json()["nome"], "João Silva");
        app.get("/consultor/999999").await.expect_detail(404, "Consultor não encontrado");
        app.get("/consultor/0").await.expect_detail(404, "Consultor não encontrado");
        app.get("/consultor/-3").await.expect_detail(404, "Consultor não encontrado");
    }

    async fn path_ids_that_are_not_64_bit_integers_are_422_at_the_path(backend) {
        let app = start(backend).await;
        for (raw, kind) in [
            ("abc", "int_parsing"),
            ("1.5", "int_parsing"),
            ("9223372036854775808", "int_parsing_size"),
            ("99999999999999999999999", "int_parsing_size"),
        ] {
            let items = app
                .get(&format!("/consultor/{raw}"))
                .await
                .expect_422_at(&[json!(["path", "consultor_id"])]);
            assert_eq!(items[0]["type"], kind, "{raw}");
            assert_eq!(items[0]["input"], raw);
        }
        app.get("/consultor/9223372036854775807").await.expect(404);
    }

    async fn updating_changes_only_the_fields_present(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        let before = app.get(&format!("/consultor/{id}")).await.json();
        let reply = app
            .put(&format!("/consultor/{id}"), json!({"idiomas": ["es"], "status_ativo_sequencial": false}))
            .await;
        reply.expect(200);
        let after = reply.json();
        assert_eq!(after["idiomas"], json!(["es"]));
        assert_eq!(after["status_ativo_sequencial"], false);
        for field in ["nome", "email", "telefone", "status_ativo", "status_online", "ultimo_atendimento", "id_pipedrive"] {
            assert_eq!(after[field], before[field], "{field}");
        }
        assert_eq!(app.get(&format!("/consultor/{id}")).await.json(), after);
    }

    async fn an_empty_update_changes_nothing(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        let before = app.get(&format!("/consultor/{id}")).await.json();
        let reply = app.put(&format!("/consultor/{id}"), json!({})).await;
        reply.expect(200);
        assert_eq!(reply.json(), before);
    }

    async fn null_clears_email_telefone_and_id_pipedrive(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        let after = app
            .put(&format!("/consultor/{id}"), json!({"email": null, "telefone": null, "id_pipedrive": null}))
            .await
            .json();
        assert_eq!(after["email"], Value::Null);
        assert_eq!(after["telefone"], Value::Null);
        assert_eq!(after["id_pipedrive"], Value::Null);
        assert_eq!(after["nome"], "João Silva");
    }

    async fn null_for_any_other_field_of_an_update_is_422_and_changes_nothing(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        let before = app.get(&format!("/consultor/{id}")).await.json();
        app.put(
            &format!("/consultor/{id}"),
            json!({"nome": null, "email": null, "idiomas": null, "status_ativo": null,
                   "status_ativo_sequencial": null, "status_online": null}),
        )
        .await
        .expect_422_at(&fields("body", &["nome", "idiomas", "status_ativo", "status_ativo_sequencial", "status_online"]));
        assert_eq!(app.get(&format!("/consultor/{id}")).await.json(), before);
    }

    async fn updating_to_an_email_used_by_another_consultant_is_400(backend) {
        let app = start(backend).await;
        app.consultant(joao()).await;
        let other = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"], "email": "ana@exemplo.com"})).await;
        app.put(&format!("/consultor/{other}"), json!({"email": "joao@exemplo.com"}))
            .await
            .expect_detail(400, "Email já cadastrado");
        // Keeping one's own email is not a conflict.
        app.put(&format!("/consultor/{other}"), json!({"email": "ana@exemplo.com"}))
            .await
            .expect(200);
    }

    async fn updating_an_unknown_consultant_is_404(backend) {
        let app = start(backend).await;
        app.put("/consultor/424242", json!({"nome": "Ninguém Aqui"}))
            .await
            .expect_detail(404, "Consultor não encontrado");
    }

    async fn an_invalid_path_id_and_an_invalid_body_are_reported_together(backend) {
        let app = start(backend).await;
        app.put("/consultor/abc", json!({"nome": "x", "telefone": "123"}))
            .await
            .expect_422_at(&[
                json!(["path", "consultor_id"]),
                json!(["body", "nome"]),
                json!(["body", "telefone"]),
            ]);
    }

    async fn deleting_answers_200_then_the_consultant_is_gone_everywhere(backend) {
        let app = start(backend).await;
        let id = app.online_consultant("Ana Souza", &["pt"]).await;
        app.delete(&format!("/consultor/{id}"))
            .await
            .expect_detail(200, "Consultor removido com sucesso");
        app.get(&format!("/consultor/{id}")).await.expect_detail(404, "Consultor não encontrado");
        app.delete(&format!("/consultor/{id}")).await.expect_detail(404, "Consultor não encontrado");
        app.put(&format!("/consultor/{id}"), json!({"nome": "Outra Ana"})).await.expect(404);
        assert_eq!(app.get("/consultores").await.json(), json!([]));
        let next = app
            .get("/consultor/da-vez?idioma=pt")
            .await
            .expect_nobody_free("Não há consultor disponível para o idioma pt");
        assert_eq!(next, Value::Null);
    }

    async fn deleting_a_consultant_keeps_their_protocols_and_frees_their_email(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        app.put(&format!("/consultor/{id}/connection?status=true"), json!({})).await.expect(200);
        let assignment = app.get("/consultor/da-vez?idioma=pt").await.json();
        let protocol_id = assignment["protocolo_id"].as_i64().unwrap();
        let manual = app.post("/protocolo", json!({"consultor_id": id})).await.json();
        app.delete(&format!("/consultor/{id}")).await.expect(200);
        let kept = app.get(&format!("/protocolo/{protocol_id}")).await;
        kept.expect(200);
        assert_eq!(kept.json()["consultor_id"], id);
        let listed = app.get(&format!("/protocolos?consultor_id={id}")).await.json();
        let ids: Vec<i64> = listed.as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [protocol_id, manual["id"].as_i64().unwrap()]);
        app.consultant(joao()).await;
    }

    async fn the_connection_switch_sets_status_online(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        let on = app.call(Method::PUT, &format!("/consultor/{id}/connection?status=true"), None).await;
        on.expect(200);
        assert_eq!(on.json()["status_online"], true);
        let off = app.call(Method::PUT, &format!("/consultor/{id}/connection?status=OFF"), None).await;
        assert_eq!(off.json()["status_online"], false);
    }

    async fn the_connection_switch_needs_a_boolean_status_and_a_known_consultant(backend) {
        let app = start(backend).await;
        let id = app.consultant(joao()).await;
        let items = app
            .call(Method::PUT, &format!("/consultor/{id}/connection"), None)
            .await
            .expect_422_at(&[json!(["query", "status"])]);
        assert_eq!(items[0]["type"], "missing");
        app.call(Method::PUT, &format!("/consultor/{id}/connection?status=talvez"), None)
            .await
            .expect_422_at(&[json!(["query", "status"])]);
        app.call(Method::PUT, "/consultor/x/connection?status=maybe", None)
            .await
            .expect_422_at(&[json!(["path", "consultor_id"]), json!(["query", "status"])]);
        app.call(Method::PUT, "/consultor/987654/connection?status=true", None)
            .await
            .expect_detail(404, "Consultor não encontrado");
    }

    async fn a_long_list_is_streamed_as_the_same_json_array(backend) {
        let app = start(backend).await;
        // More than one page of the stream (256), plus a deleted one that must not show.
        app.database.execute(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 300) \
             INSERT INTO consultores (nome) SELECT 'Consultor ' || n FROM g",
        );
        app.database.execute(
            "INSERT INTO consultor_idiomas (consultor_id, idioma, posicao) \
             SELECT id, CASE WHEN id % 3 = 0 THEN 'en' ELSE 'pt' END, 0 FROM consultores",
        );
        let deleted = app.online_consultant("Removido", &["pt"]).await;
        app.delete(&format!("/consultor/{deleted}")).await.expect(200);
        let listed = app.get("/consultores").await;
        listed.expect(200);
        let ids: Vec<i64> = listed.json().as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), 300);
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ascending ids");
        // Byte for byte the array of the single-consultant answers.
        let mut expected = String::from("[");
        for (index, id) in ids.iter().enumerate() {
            if index > 0 {
                expected.push(',');
            }
            expected.push_str(&app.get(&format!("/consultor/{id}")).await.text());
        }
        expected.push(']');
        assert_eq!(listed.text(), expected);
        let english = app.get("/consultores?idioma=en").await.json();
        assert_eq!(english.as_array().unwrap().len(), 100);
    }

    async fn other_methods_on_the_rotation_path_are_taken_as_a_consultant_id_like_fastapi(backend) {
        let app = start(backend).await;
        app.put("/consultor/da-vez", json!({"nome": "Ana Souza"}))
            .await
            .expect_422_at(&[json!(["path", "consultor_id"])]);
        app.delete("/consultor/da-vez")
            .await
            .expect_422_at(&[json!(["path", "consultor_id"])]);
    }
}

#[test]
fn the_harness_recognises_wire_timestamps() {
    assert!(common::is_wire_timestamp(
        "2026-11-29T14:30:00.123456+00:00"
    ));
    assert!(!common::is_wire_timestamp("2026-11-29T14:30:00.123456Z"));
    assert!(!common::is_wire_timestamp("2026-11-29T14:30:00+00:00"));
}

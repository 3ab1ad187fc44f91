//! `/protocolos`, `/protocolo/...` and `/gerar-protocolo`.

use serde_json::{json, Value};

use crate::common::{fields, is_wire_timestamp, start};
use crate::on_both_backends;

fn ids(body: &Value) -> Vec<i64> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|protocol| protocol["id"].as_i64().unwrap())
        .collect()
}

on_both_backends! {
    async fn generating_a_protocol_ties_it_to_no_consultant(backend) {
        let app = start(backend).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        let reply = app.get("/gerar-protocolo").await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["numero_protocolo"], "#00001");
        let protocol = app.get(&format!("/protocolo/{}", body["protocolo_id"])).await.json();
        assert_eq!(protocol["consultor_id"], Value::Null);
        assert_eq!(protocol["idioma"], Value::Null);
        assert_eq!(protocol["prioridade"], "normal");
        assert_eq!(protocol["status"], "aberto");
    }

    async fn numbers_are_consecutive_across_every_way_of_opening_a_protocol(backend) {
        let app = start(backend).await;
        let id = app.online_consultant("Ana Souza", &["pt"]).await;
        let first = app.get("/gerar-protocolo").await.json()["numero_protocolo"].clone();
        let second = app.get("/consultor/da-vez?idioma=pt").await.json()["numero_protocolo"].clone();
        let third = app.post("/protocolo", json!({"consultor_id": id})).await.json()["numero"].clone();
        assert_eq!([first, second, third], [json!("#00001"), json!("#00002"), json!("#00003")]);
    }

    async fn opening_a_protocol_by_hand_answers_the_whole_protocol(backend) {
        let app = start(backend).await;
        let id = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"]})).await;
        let reply = app
            .post("/protocolo", json!({"consultor_id": id, "descricao": "Retorno de ligação", "prioridade": "alta"}))
            .await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["numero"], "#00001");
        assert_eq!(body["consultor_id"], id);
        assert_eq!(body["descricao"], "Retorno de ligação");
        assert_eq!(body["prioridade"], "alta");
        assert_eq!(body["status"], "aberto");
        assert_eq!(body["idioma"], Value::Null);
        assert!(is_wire_timestamp(body["created_at"].as_str().unwrap()));
        assert!(is_wire_timestamp(body["updated_at"].as_str().unwrap()));
        assert_eq!(body.as_object().unwrap().len(), 9);
        // It does not touch the rotation.
        let consultant = app.get(&format!("/consultor/{id}")).await.json();
        let registered = app.get("/consultores").await.json()[0]["ultimo_atendimento"].clone();
        assert_eq!(consultant["ultimo_atendimento"], registered);
    }

    async fn opening_a_protocol_for_an_unknown_or_deleted_consultant_is_404(backend) {
        let app = start(backend).await;
        app.post("/protocolo", json!({"consultor_id": 4242}))
            .await
            .expect_detail(404, "Consultor não encontrado");
        let id = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"]})).await;
        app.delete(&format!("/consultor/{id}")).await.expect(200);
        app.post("/protocolo", json!({"consultor_id": id}))
            .await
            .expect_detail(404, "Consultor não encontrado");
        // Nothing was consumed.
        assert_eq!(app.get("/gerar-protocolo").await.json()["numero_protocolo"], "#00001");
    }

    async fn opening_a_protocol_validates_every_field(backend) {
        let app = start(backend).await;
        let items = app
            .post("/protocolo", json!({"descricao": "x".repeat(2001), "prioridade": "altíssima"}))
            .await
            .expect_422_at(&fields("body", &["consultor_id", "descricao", "prioridade"]));
        assert_eq!(items[0]["type"], "missing");
        assert_eq!(items[1]["type"], "string_too_long");
        assert_eq!(items[2]["type"], "enum");
        assert_eq!(items[2]["msg"], "valor não permitido; valores aceitos: baixa, normal, alta, urgente");
        let items = app
            .post("/protocolo", json!({"consultor_id": null, "prioridade": null}))
            .await
            .expect_422_at(&[json!(["body", "consultor_id"]), json!(["body", "prioridade"])]);
        assert_eq!(items[0]["type"], "int_type");
        app.post("/protocolo", json!({"consultor_id": "sete"}))
            .await
            .expect_422_at(&[json!(["body", "consultor_id"])]);
    }

    async fn a_protocol_is_read_by_id_and_unknown_or_invalid_ids_fail(backend) {
        let app = start(backend).await;
        let generated = app.get("/gerar-protocolo").await.json();
        let reply = app.get(&format!("/protocolo/{}", generated["protocolo_id"])).await;
        reply.expect(200);
        assert_eq!(reply.json()["numero"], generated["numero_protocolo"]);
        app.get("/protocolo/777").await.expect_detail(404, "Protocolo não encontrado");
        app.get("/protocolo/x").await.expect_422_at(&[json!(["path", "protocolo_id"])]);
    }

    async fn updating_a_protocol_changes_only_the_fields_present(backend) {
        let app = start(backend).await;
        let ana = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"]})).await;
        let bia = app.consultant(json!({"nome": "Bia Souza", "idiomas": ["pt"]})).await;
        let protocol = app
            .post("/protocolo", json!({"consultor_id": ana, "descricao": "primeiro contato"}))
            .await
            .json();
        let path = format!("/protocolo/{}", protocol["id"]);
        let reply = app.put(&path, json!({"status": "em_andamento", "prioridade": "urgente"})).await;
        reply.expect(200);
        let updated = reply.json();
        assert_eq!(updated["status"], "em_andamento");
        assert_eq!(updated["prioridade"], "urgente");
        assert_eq!(updated["descricao"], "primeiro contato");
        assert_eq!(updated["consultor_id"], ana);
        assert_eq!(updated["numero"], protocol["numero"]);
        assert_eq!(updated["created_at"], protocol["created_at"]);
        assert!(updated["updated_at"].as_str().unwrap() >= protocol["updated_at"].as_str().unwrap());

        let reassigned = app.put(&path, json!({"consultor_id": bia, "descricao": null})).await.json();
        assert_eq!(reassigned["consultor_id"], bia);
        assert_eq!(reassigned["descricao"], Value::Null);
        assert_eq!(app.get(&path).await.json(), reassigned);

        let unchanged = app.put(&path, json!({})).await;
        unchanged.expect(200);
        assert_eq!(unchanged.json(), reassigned);
    }

    async fn updating_a_protocol_refuses_null_and_unknown_values(backend) {
        let app = start(backend).await;
        let protocol = app.get("/gerar-protocolo").await.json();
        let path = format!("/protocolo/{}", protocol["protocolo_id"]);
        let items = app
            .put(&path, json!({"prioridade": null, "status": null, "consultor_id": null}))
            .await
            .expect_422_at(&fields("body", &["prioridade", "status", "consultor_id"]));
        assert_eq!(items[2]["type"], "int_type");
        let items = app
            .put(&path, json!({"status": "closed", "descricao": 5}))
            .await
            .expect_422_at(&[json!(["body", "descricao"]), json!(["body", "status"])]);
        assert_eq!(items[1]["type"], "enum");
        assert_eq!(items[1]["input"], "closed");
    }

    async fn updating_an_unknown_protocol_or_reassigning_to_an_unknown_consultant_is_404(backend) {
        let app = start(backend).await;
        app.put("/protocolo/31337", json!({"status": "fechado"}))
            .await
            .expect_detail(404, "Protocolo não encontrado");
        let protocol = app.get("/gerar-protocolo").await.json();
        app.put(&format!("/protocolo/{}", protocol["protocolo_id"]), json!({"consultor_id": 999}))
            .await
            .expect_detail(404, "Consultor não encontrado");
    }

    async fn listing_pages_by_ascending_id_and_filters_by_consultant(backend) {
        let app = start(backend).await;
        let ana = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"]})).await;
        let mut all = Vec::new();
        for i in 0..5 {
            let body = if i % 2 == 0 {
                app.post("/protocolo", json!({"consultor_id": ana})).await.json()
            } else {
                let generated = app.get("/gerar-protocolo").await.json();
                json!({"id": generated["protocolo_id"]})
            };
            all.push(body["id"].as_i64().unwrap());
        }
        assert_eq!(ids(&app.get("/protocolos").await.json()), all);
        assert_eq!(ids(&app.get("/protocolos?skip=1&limit=2").await.json()), all[1..3]);
        assert_eq!(ids(&app.get("/protocolos?skip=10").await.json()), Vec::<i64>::new());
        assert_eq!(ids(&app.get(&format!("/protocolos?consultor_id={ana}")).await.json()), [all[0], all[2], all[4]]);
        assert_eq!(ids(&app.get("/protocolos?limit=1000").await.json()).len(), 5);
    }

    async fn listing_refuses_skip_below_zero_and_limit_outside_1_to_1000(backend) {
        let app = start(backend).await;
        let items = app
            .get("/protocolos?skip=-1&limit=0")
            .await
            .expect_422_at(&[json!(["query", "skip"]), json!(["query", "limit"])]);
        assert_eq!(items[0]["type"], "greater_than_equal");
        assert_eq!(items[0]["msg"], "deve ser maior ou igual a 0");
        assert_eq!(items[0]["input"], "-1");
        assert_eq!(items[1]["type"], "greater_than_equal");
        let items = app.get("/protocolos?limit=1001").await.expect_422_at(&[json!(["query", "limit"])]);
        assert_eq!(items[0]["type"], "less_than_equal");
        assert_eq!(items[0]["msg"], "deve ser menor ou igual a 1000");
        let items = app
            .get("/protocolos?limit=dez&consultor_id=x&skip=1.5")
            .await
            .expect_422_at(&[json!(["query", "consultor_id"]), json!(["query", "skip"]), json!(["query", "limit"])]);
        assert!(items.iter().all(|item| item["type"] == "int_parsing"));
    }
}

//! The record of operations over HTTP: one entry per state-changing request, naming the key and
//! the request id; none for refused, failed or replayed requests; `GET /auditoria` and
//! `GET /consultor/{id}/historico-conexao`.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use consultores_domain::ApiKeyScope;
use consultores_persistence::testing::{FaultAction, FaultPoint};
use serde_json::{json, Value};

use crate::common::{fields, is_wire_timestamp, start, with_key, Reply, ADMIN_KEY};
use crate::on_both_backends;

/// `method path` with `key`, request id `request_id` and an optional JSON body.
fn request(
    method: Method,
    path: &str,
    key: &str,
    request_id: &str,
    body: Option<Value>,
) -> TestRequest {
    let request = with_key(method, path, key).insert_header(("X-Request-Id", request_id));
    match body {
        Some(body) => request.set_json(body),
        None => request,
    }
}

/// Every entry, newest first (read with the configured admin key).
macro_rules! entries {
    ($app:expr) => {{
        let reply = $app.get("/auditoria?limit=1000").await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["proximo_cursor"], Value::Null);
        body["itens"].as_array().unwrap().clone()
    }};
}

/// The newest entry, after checking that exactly one was added since `before` entries.
macro_rules! one_new_entry {
    ($app:expr, $before:expr) => {{
        let all = entries!($app);
        assert_eq!(all.len(), $before + 1, "exactly one new entry: {all:#?}");
        all[0].clone()
    }};
}

#[track_caller]
fn assert_entry(
    entry: &Value,
    acao: &str,
    entidade: &str,
    entidade_id: i64,
    who: (Value, &str),
    request_id: &str,
) {
    assert_eq!(entry["acao"], acao, "{entry}");
    assert_eq!(entry["entidade"], entidade, "{entry}");
    assert_eq!(entry["entidade_id"], entidade_id, "{entry}");
    assert_eq!(entry["chave_id"], who.0, "{entry}");
    assert_eq!(entry["chave_descricao"], who.1, "{entry}");
    assert_eq!(entry["request_id"], request_id, "{entry}");
    assert!(is_wire_timestamp(entry["em"].as_str().unwrap()), "{entry}");
    assert!(entry["id"].as_i64().unwrap() > 0);
    let fields: Vec<&String> = entry.as_object().unwrap().keys().collect();
    assert_eq!(fields.len(), 9, "{fields:?}");
}

fn id_of(reply: &Reply, field: &str) -> i64 {
    reply.json()[field].as_i64().unwrap()
}

on_both_backends! {
    async fn consultant_requests_record_creation_update_connection_and_removal(backend) {
        let app = start(backend).await;
        let (admin_id, admin) = app.key(ApiKeyScope::Admin);
        let configured = (Value::Null, "AUTHENTICATION_API_KEY");
        let by_admin = (json!(admin_id), "teste admin");
        let mut count = entries!(app).len();
        assert_eq!(count, 1, "the key made by the harness");

        let created = app.send(request(Method::POST, "/consultor", ADMIN_KEY, "req-criar",
            Some(json!({"nome": "João Silva", "idiomas": ["pt"], "email": "joao@exemplo.com"})))).await;
        created.expect(200);
        let joao = id_of(&created, "id");
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "consultor.criado", "consultor", joao, configured.clone(), "req-criar");
        assert_eq!(entry["alteracoes"]["nome"], json!({"antes": null, "depois": "João Silva"}));
        assert_eq!(entry["alteracoes"]["status_online"], json!({"antes": null, "depois": false}));
        assert_eq!(entry["alteracoes"]["idiomas"], json!({"antes": null, "depois": ["pt"]}));
        assert!(entry["alteracoes"].get("telefone").is_none(), "null fields are no change");
        count += 1;

        app.send(request(Method::PUT, &format!("/consultor/{joao}"), &admin, "req-editar",
            Some(json!({"nome": "João P. Silva", "email": "joao@exemplo.com"})))).await.expect(200);
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "consultor.atualizado", "consultor", joao, by_admin.clone(), "req-editar");
        assert_eq!(entry["alteracoes"], json!({"nome": {"antes": "João Silva", "depois": "João P. Silva"}}));
        count += 1;

        app.send(request(Method::PUT, &format!("/consultor/{joao}/connection?status=true"), &admin, "req-online", None))
            .await
            .expect(200);
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "consultor.conexao", "consultor", joao, by_admin, "req-online");
        assert_eq!(entry["alteracoes"], json!({"status_online": {"antes": false, "depois": true}}));
        count += 1;

        app.send(request(Method::DELETE, &format!("/consultor/{joao}"), ADMIN_KEY, "req-remover", None))
            .await
            .expect(200);
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "consultor.removido", "consultor", joao, configured, "req-remover");
        assert_eq!(entry["alteracoes"]["removido_em"]["antes"], Value::Null);
    }

    async fn rotation_and_protocol_requests_record_their_entries(backend) {
        let app = start(backend).await;
        let (robot_id, robot) = app.key(ApiKeyScope::Distribution);
        let by_robot = (json!(robot_id), "teste distribuicao");
        let joao = app.online_consultant("João Silva", &["pt"]).await;
        let mut count = entries!(app).len();
        assert_eq!(count, 2, "the harness's key and João");

        let assigned = app.send(request(Method::GET, "/consultor/da-vez?idioma=pt", &robot, "req-da-vez", None)).await;
        assigned.expect(200);
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "atribuicao", "consultor", joao, by_robot.clone(), "req-da-vez");
        let assigned = assigned.json();
        assert_eq!(entry["alteracoes"]["protocolo_id"], json!({"antes": null, "depois": assigned["protocolo_id"]}));
        assert_eq!(entry["alteracoes"]["numero_protocolo"], json!({"antes": null, "depois": "#00001"}));
        assert_eq!(entry["alteracoes"]["idioma"], json!({"antes": null, "depois": "pt"}));
        assert_eq!(entry["alteracoes"]["ultimo_atendimento"]["depois"], assigned["consultor_atendimento_iso"]);
        count += 1;

        let generated = app.send(request(Method::GET, "/gerar-protocolo", &robot, "req-gerar", None)).await;
        generated.expect(200);
        let generated = id_of(&generated, "protocolo_id");
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "protocolo.criado", "protocolo", generated, by_robot.clone(), "req-gerar");
        assert_eq!(entry["alteracoes"]["numero"], json!({"antes": null, "depois": "#00002"}));
        count += 1;

        let opened = app.send(request(Method::POST, "/protocolo", &robot, "req-abrir",
            Some(json!({"consultor_id": joao, "prioridade": "alta"})))).await;
        opened.expect(200);
        let opened = id_of(&opened, "id");
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "protocolo.criado", "protocolo", opened, by_robot.clone(), "req-abrir");
        assert_eq!(entry["alteracoes"]["consultor_id"], json!({"antes": null, "depois": joao}));
        assert_eq!(entry["alteracoes"]["prioridade"], json!({"antes": null, "depois": "alta"}));
        count += 1;

        app.send(request(Method::PUT, &format!("/protocolo/{opened}"), &robot, "req-andamento",
            Some(json!({"status": "em_andamento", "prioridade": "alta"})))).await.expect(200);
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "protocolo.atualizado", "protocolo", opened, by_robot, "req-andamento");
        assert_eq!(entry["alteracoes"], json!({"status": {"antes": "aberto", "depois": "em_andamento"}}));
    }

    async fn api_key_requests_record_creation_and_revocation(backend) {
        let app = start(backend).await;
        let (admin_id, admin) = app.key(ApiKeyScope::Admin);
        let by_admin = (json!(admin_id), "teste admin");
        let count = entries!(app).len();
        assert_eq!(count, 1, "the key made by the harness");

        let key = app.send(request(Method::POST, "/api-keys", &admin, "req-chave",
            Some(json!({"description": "n8n", "scope": "leitura"})))).await;
        key.expect(200);
        let key_id = id_of(&key, "id");
        let entry = one_new_entry!(app, count);
        assert_entry(&entry, "api_key.criada", "api_key", key_id, by_admin.clone(), "req-chave");
        assert_eq!(entry["alteracoes"], json!({
            "description": {"antes": null, "depois": "n8n"},
            "scope": {"antes": null, "depois": "leitura"}
        }));

        app.send(request(Method::DELETE, &format!("/api-keys/{key_id}"), &admin, "req-revogar", None))
            .await
            .expect(200);
        let entry = one_new_entry!(app, count + 1);
        assert_entry(&entry, "api_key.revogada", "api_key", key_id, by_admin, "req-revogar");
        assert!(entry["alteracoes"]["revoked_at"]["depois"].is_string());
    }

    async fn refused_failed_replayed_and_no_op_requests_record_nothing(backend) {
        let app = start(backend).await;
        let (_, reader) = app.key(ApiKeyScope::Read);
        let ana = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"], "email": "ana@exemplo.com",
            "status_online": true})).await;
        let keyed = |path: &str| {
            with_key(Method::GET, path, ADMIN_KEY).insert_header(("Idempotency-Key", "uma-vez"))
        };
        app.send(keyed("/consultor/da-vez?idioma=pt")).await.expect(200);
        let before = entries!(app).len();

        // 403, 401, 422, 404, 400, 413.
        app.send(with_key(Method::POST, "/consultor", &reader).set_json(json!({"nome": "Bia", "idiomas": ["pt"]})))
            .await
            .expect(403);
        app.send(with_key(Method::DELETE, &format!("/consultor/{ana}"), "errada")).await.expect(401);
        app.post("/consultor", json!({"nome": "X", "idiomas": []})).await.expect(422);
        app.put("/consultor/999", json!({"nome": "Ninguém"})).await.expect(404);
        app.delete("/consultor/999").await.expect(404);
        app.post("/consultor", json!({"nome": "Outra Ana", "idiomas": ["pt"], "email": "ANA@exemplo.com"}))
            .await
            .expect(400);
        app.post("/protocolo", json!({"consultor_id": 999})).await.expect(404);
        app.put("/protocolo/999", json!({"status": "fechado"})).await.expect(404);
        app.get("/consultor/da-vez?idioma=fr").await.expect(404);
        app.delete("/api-keys/999").await.expect(404);
        app.send(
            with_key(Method::POST, "/consultor", ADMIN_KEY)
                .insert_header(("content-type", "application/json"))
                .set_payload(format!(r#"{{"nome": "{}", "idiomas": ["pt"]}}"#, "x".repeat(70_000))),
        )
        .await
        .expect(413);
        // An idempotent replay, and a key reused for another request.
        let replay = app.send(keyed("/consultor/da-vez?idioma=pt")).await;
        replay.expect(200);
        assert_eq!(replay.header("idempotency-replayed").as_deref(), Some("true"));
        app.send(keyed("/consultor/da-vez?idioma=en")).await.expect(422);
        // Changes to what is already stored.
        app.send(TestRequest::put()
                .uri(&format!("/consultor/{ana}/connection?status=true"))
                .insert_header(("api-key", ADMIN_KEY)))
            .await
            .expect(200);
        app.put(&format!("/consultor/{ana}"), json!({"nome": "Ana Souza", "idiomas": ["PT"]})).await.expect(200);
        // Reads.
        for path in ["/consultores", "/protocolos", "/api-keys", "/auditoria",
                     &format!("/consultor/{ana}/historico-conexao")] {
            app.get(path).await.expect(200);
        }
        assert_eq!(entries!(app).len(), before);
    }

    async fn a_database_failure_inside_the_transaction_records_nothing(backend) {
        let app = start(backend).await;
        let ana = app.online_consultant("Ana Souza", &["pt"]).await;
        let before = entries!(app).len();
        for (point, method, path) in [
            (FaultPoint::BeforeCommit, Method::PUT, format!("/consultor/{ana}/connection?status=false")),
            (FaultPoint::AfterWrite, Method::GET, "/consultor/da-vez?idioma=pt".to_owned()),
            (FaultPoint::BeforeCommit, Method::GET, "/gerar-protocolo".to_owned()),
        ] {
            app.database.inject_fault(point, FaultAction::Fail);
            let reply = app.call(method.clone(), &path, None).await;
            reply.expect(500);
            assert_eq!(reply.json()["detail"], "Erro interno");
            assert_eq!(entries!(app).len(), before, "{method} {path}");
        }
        // Nothing is stuck: the same requests then succeed and are recorded.
        app.put(&format!("/consultor/{ana}/connection?status=false"), json!({})).await.expect(200);
        assert_eq!(entries!(app).len(), before + 1);
    }

    async fn no_entry_and_no_audit_answer_shows_a_key(backend) {
        let app = start(backend).await;
        let created = app.post("/api-keys", json!({"description": "integração", "scope": "admin"})).await;
        created.expect(200);
        let secret = created.json()["key"].as_str().unwrap().to_owned();
        let consultant = app.send(with_key(Method::POST, "/consultor", &secret)
            .set_json(json!({"nome": "Caio Prado", "idiomas": ["pt"], "status_online": true}))).await;
        consultant.expect(200);
        let id = id_of(&consultant, "id");
        app.send(with_key(Method::GET, "/consultor/da-vez?idioma=pt", &secret)).await.expect(200);
        app.send(with_key(Method::DELETE, &format!("/api-keys/{}", created.json()["id"]), &secret))
            .await
            .expect(200);
        let listing = app.get("/auditoria").await;
        listing.expect(200);
        let history = app.get(&format!("/consultor/{id}/historico-conexao")).await;
        for text in [listing.text(), history.text()] {
            assert!(!text.contains(&secret));
            assert!(!text.contains(ADMIN_KEY));
            assert!(!text.contains("csk_"));
        }
        assert!(listing.text().contains("integração"));
        let raw = app.database.query_strings(
            "SELECT chave_descricao || request_id || alteracoes AS value FROM auditoria",
        );
        assert!(raw.iter().all(|row| !row.contains(&secret) && !row.contains(ADMIN_KEY)));
    }

    async fn the_audit_listing_filters_and_pages_newest_first(backend) {
        let app = start(backend).await;
        let ana = app.online_consultant("Ana Souza", &["pt"]).await;
        let bia = app.online_consultant("Bia Souza", &["pt"]).await;
        for _ in 0..4 {
            app.get("/consultor/da-vez?idioma=pt").await.expect(200);
        }
        app.put(&format!("/consultor/{ana}/connection?status=false"), json!({})).await.expect(200);
        app.get("/gerar-protocolo").await.expect(200);
        // 2 created, 4 assignments, 1 switch, 1 protocol.
        let all = entries!(app);
        assert_eq!(all.len(), 8);
        let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first: {ids:?}");

        let of_ana = app.get(&format!("/auditoria?entidade=consultor&entidade_id={ana}")).await.json();
        let actions: Vec<&str> = of_ana["itens"].as_array().unwrap().iter().map(|e| e["acao"].as_str().unwrap()).collect();
        assert_eq!(actions, ["consultor.conexao", "atribuicao", "atribuicao", "consultor.criado"]);
        let assignments = app.get("/auditoria?acao=atribuicao").await.json();
        assert_eq!(assignments["itens"].as_array().unwrap().len(), 4);
        let of_bia = app.get(&format!("/auditoria?entidade=consultor&entidade_id={bia}&acao=atribuicao")).await.json();
        assert_eq!(of_bia["itens"].as_array().unwrap().len(), 2);
        let protocols = app.get("/auditoria?entidade=protocolo").await.json();
        assert_eq!(protocols["itens"].as_array().unwrap().len(), 1);
        assert_eq!(app.get("/auditoria?desde=2999-01-01").await.json()["itens"], json!([]));
        assert_eq!(app.get("/auditoria?ate=2000-01-01T00:00:00Z").await.json()["itens"], json!([]));
        let window = app.get("/auditoria?desde=2000-01-01T00:00:00-03:00&ate=2999-01-01").await.json();
        assert_eq!(window["itens"].as_array().unwrap().len(), 8);

        // Pages of 3: 3 + 3 + 2, each entry once, the cursor opaque text.
        let mut seen = Vec::new();
        let mut path = "/auditoria?limit=3".to_owned();
        loop {
            let page = app.get(&path).await;
            page.expect(200);
            let page = page.json();
            seen.extend(page["itens"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
            match &page["proximo_cursor"] {
                Value::String(cursor) => path = format!("/auditoria?limit=3&cursor={cursor}"),
                Value::Null => break,
                other => panic!("proximo_cursor {other}"),
            }
        }
        assert_eq!(seen, ids);
    }

    async fn bad_audit_parameters_are_422_in_the_fastapi_shape(backend) {
        let app = start(backend).await;
        let items = app
            .get("/auditoria?entidade=pessoa&entidade_id=x&acao=apagou&desde=ontem&ate=2026-13-01&limit=0&cursor=abc")
            .await
            .expect_422_at(&fields("query", &["entidade", "entidade_id", "acao", "desde", "ate", "limit", "cursor"]));
        assert_eq!(items[0]["type"], "enum");
        assert_eq!(items[0]["input"], "pessoa");
        assert_eq!(items[1]["type"], "int_parsing");
        assert_eq!(items[5]["type"], "greater_than_equal");
        app.get("/auditoria?limit=1001").await.expect_422_at(&[json!(["query", "limit"])]);
        app.get("/auditoria?limit=1000").await.expect(200);
        app.get("/auditoria?cursor=-5").await.expect_422_at(&[json!(["query", "cursor"])]);
        app.get("/auditoria?entidade_id=7").await.expect_422_at(&[json!(["query", "entidade"])]);
        app.get("/consultor/abc/historico-conexao?limit=0")
            .await
            .expect_422_at(&[json!(["path", "consultor_id"]), json!(["query", "limit"])]);
        app.get("/consultor/99999999999999999999/historico-conexao")
            .await
            .expect_422_at(&[json!(["path", "consultor_id"])]);
    }

    async fn the_connection_history_answers_who_took_a_consultant_out_of_the_rotation(backend) {
        let app = start(backend).await;
        let (manager_id, manager) = app.key(ApiKeyScope::Admin);
        let (_, reader) = app.key(ApiKeyScope::Read);
        let (_, robot) = app.key(ApiKeyScope::Distribution);
        let joao = app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"]})).await;
        app.send(request(Method::PUT, &format!("/consultor/{joao}/connection?status=true"), ADMIN_KEY, "manha", None))
            .await
            .expect(200);
        app.send(request(Method::GET, "/consultor/da-vez?idioma=pt", &robot, "contato", None)).await.expect(200);
        // The manager takes him out with a general edit that also switches status_online.
        app.send(request(Method::PUT, &format!("/consultor/{joao}"), &manager, "tarde",
            Some(json!({"status_online": false, "telefone": "+5511988887777"})))).await.expect(200);

        let history = app.send(with_key(Method::GET, &format!("/consultor/{joao}/historico-conexao"), &reader)).await;
        history.expect(200);
        let history = history.json();
        assert_eq!(history["consultor_id"], joao);
        assert_eq!(history["proximo_cursor"], Value::Null);
        let items = history["itens"].as_array().unwrap();
        let summary: Vec<(bool, &str, &str, &str)> = items
            .iter()
            .map(|item| (
                item["status_online"].as_bool().unwrap(),
                item["chave_descricao"].as_str().unwrap(),
                item["request_id"].as_str().unwrap(),
                item["acao"].as_str().unwrap(),
            ))
            .collect();
        assert_eq!(summary[0], (false, "teste admin", "tarde", "consultor.conexao"));
        assert_eq!(summary[1], (true, "AUTHENTICATION_API_KEY", "manha", "consultor.conexao"));
        assert!(!summary[2].0, "created offline");
        assert_eq!(summary[2].3, "consultor.criado");
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["chave_id"], manager_id);
        assert!(is_wire_timestamp(items[0]["em"].as_str().unwrap()));
        // The same switch in the audit trail, with the other field it changed.
        let trail = app.get(&format!("/auditoria?entidade=consultor&entidade_id={joao}&acao=consultor.conexao&limit=1")).await.json();
        assert_eq!(trail["itens"][0]["alteracoes"], json!({
            "status_online": {"antes": true, "depois": false},
            "telefone": {"antes": null, "depois": "+5511988887777"}
        }));
        assert!(trail["proximo_cursor"].is_string());

        // Pages of one.
        let first = app.get(&format!("/consultor/{joao}/historico-conexao?limit=1")).await.json();
        assert_eq!(first["itens"].as_array().unwrap().len(), 1);
        let cursor = first["proximo_cursor"].as_str().unwrap().to_owned();
        let second = app.get(&format!("/consultor/{joao}/historico-conexao?limit=1&cursor={cursor}")).await.json();
        assert_eq!(second["itens"][0]["request_id"], "manha");

        // Removed consultants keep their history; unknown ones are 404.
        app.delete(&format!("/consultor/{joao}")).await.expect(200);
        let kept = app.get(&format!("/consultor/{joao}/historico-conexao")).await;
        kept.expect(200);
        assert_eq!(kept.json()["itens"].as_array().unwrap().len(), 3);
        app.get("/consultor/999/historico-conexao").await.expect_detail(404, "Consultor não encontrado");
    }

    async fn only_admin_keys_read_the_audit_trail(backend) {
        let app = start(backend).await;
        for scope in [ApiKeyScope::Read, ApiKeyScope::Distribution] {
            let (_, key) = app.key(scope);
            app.send(with_key(Method::GET, "/auditoria", &key))
                .await
                .expect_detail(403, "Acesso negado para esta chave");
        }
        let (_, admin) = app.key(ApiKeyScope::Admin);
        app.send(with_key(Method::GET, "/auditoria", &admin)).await.expect(200);
        app.send(TestRequest::get().uri("/auditoria")).await.expect_detail(401, "API Key inválida");
    }
}

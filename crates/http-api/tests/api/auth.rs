//! `api-key` on every protected route, and the scope matrix: every route × every scope.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use consultores_domain::ApiKeyScope;
use consultores_http::HttpSettings;
use serde_json::{json, Value};

use crate::common::{self, start, start_with, with_key, ADMIN_KEY};
use crate::on_both_backends;

/// Who may call a route, decided here independently of the code's scope table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Anyone,
    Readers,
    Distribution,
    Admins,
    /// No key: the route's own HTTP basic auth (Pipedrive's webhooks).
    Webhook,
}

pub(crate) const DECISIONS: &[(&str, &str, Who)] = &[
    ("GET", "/consultores", Who::Readers),
    ("POST", "/consultor", Who::Admins),
    ("GET", "/consultor/da-vez", Who::Distribution),
    ("GET", "/consultor/{consultor_id}", Who::Readers),
    ("PUT", "/consultor/{consultor_id}", Who::Admins),
    ("DELETE", "/consultor/{consultor_id}", Who::Admins),
    ("PUT", "/consultor/{consultor_id}/connection", Who::Admins),
    // An operational view, not the audit trail: every scope may read it.
    (
        "GET",
        "/consultor/{consultor_id}/historico-conexao",
        Who::Readers,
    ),
    ("GET", "/protocolos", Who::Readers),
    ("GET", "/protocolo/{protocolo_id}", Who::Readers),
    ("PUT", "/protocolo/{protocolo_id}", Who::Distribution),
    ("GET", "/gerar-protocolo", Who::Distribution),
    ("POST", "/protocolo", Who::Distribution),
    // The waiting queue: the rotation's clients queue and cancel; everyone reads.
    ("POST", "/fila", Who::Distribution),
    ("GET", "/fila", Who::Readers),
    ("GET", "/fila/{fila_id}", Who::Readers),
    ("DELETE", "/fila/{fila_id}", Who::Distribution),
    ("POST", "/api-keys", Who::Admins),
    ("GET", "/api-keys", Who::Admins),
    ("DELETE", "/api-keys/{api_key_id}", Who::Admins),
    // The audit trail: admin only (leitura reads every GET but this one).
    ("GET", "/auditoria", Who::Admins),
    // Counts per consultant: every scope, like every other read of consultants.
    ("GET", "/relatorios/atribuicoes", Who::Readers),
    // Called by Pipedrive, which cannot send a key: basic auth, checked by the handler.
    ("POST", "/webhooks/pipedrive", Who::Webhook),
    // Outbound webhooks: admin only.
    ("POST", "/webhooks", Who::Admins),
    ("GET", "/webhooks", Who::Admins),
    ("DELETE", "/webhooks/{webhook_id}", Who::Admins),
    ("GET", "/webhooks/{webhook_id}/entregas", Who::Admins),
    ("GET", "/health", Who::Anyone),
    ("GET", "/ready", Who::Anyone),
    ("GET", "/metrics", Who::Readers),
    ("GET", "/openapi.json", Who::Anyone),
    ("GET", "/docs", Who::Anyone),
    ("GET", "/docs/{tail:.*}", Who::Anyone),
];

pub(crate) fn decision(method: &Method, pattern: &str) -> Who {
    DECISIONS
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == pattern)
        .map(|(_, _, who)| *who)
        .unwrap_or_else(|| panic!("{method} {pattern} has no scope decision in this test: add one"))
}

fn allows(who: Who, scope: ApiKeyScope) -> bool {
    match who {
        Who::Anyone | Who::Readers | Who::Webhook => true,
        Who::Distribution => scope != ApiKeyScope::Read,
        Who::Admins => scope == ApiKeyScope::Admin,
    }
}

/// A concrete request for a route pattern.
fn concrete(method: &Method, pattern: &str, ids: &Ids, key: Option<&str>) -> TestRequest {
    let path = pattern
        .replace("{consultor_id}", &ids.consultant.to_string())
        .replace("{protocolo_id}", &ids.protocol.to_string())
        .replace("{api_key_id}", &ids.api_key.to_string())
        .replace("{tail:.*}", "swagger-ui.css");
    let path = match pattern {
        "/consultor/da-vez" => format!("{path}?idioma=pt"),
        "/consultor/{consultor_id}/connection" => format!("{path}?status=true"),
        "/relatorios/atribuicoes" => format!("{path}?de=2026-11-01&ate=2026-11-30"),
        _ => path,
    };
    let body: Option<Value> = match (method.as_str(), pattern) {
        ("POST", "/consultor") => Some(json!({"nome": "Matriz", "idiomas": ["pt"]})),
        ("PUT", "/consultor/{consultor_id}") => Some(json!({"status_online": true})),
        ("PUT", "/protocolo/{protocolo_id}") => Some(json!({"status": "em_andamento"})),
        ("POST", "/protocolo") => Some(json!({"consultor_id": ids.consultant})),
        ("POST", "/api-keys") => Some(json!({"description": "matriz", "scope": "leitura"})),
        _ => None,
    };
    let mut request = TestRequest::default().method(method.clone()).uri(&path);
    if let Some(key) = key {
        request = request.insert_header(("api-key", key));
    }
    if let Some(body) = body {
        request = request.set_json(body);
    }
    request
}

struct Ids {
    consultant: i64,
    protocol: i64,
    api_key: i64,
}

pub(crate) fn registered_routes() -> Vec<(Method, &'static str)> {
    consultores_http::routes::route_table()
        .routes()
        .into_iter()
        .map(|(method, pattern)| (method, &*Box::leak(pattern.into_boxed_str())))
        .collect()
}

on_both_backends! {
    async fn every_route_answers_each_scope_as_decided(backend) {
        let app = start(backend).await;
        let consultant = app.online_consultant("Ana Souza", &["pt"]).await;
        let protocol = app.get("/gerar-protocolo").await.json()["protocolo_id"].as_i64().unwrap();
        let (api_key, _) = app.key(ApiKeyScope::Read);
        let ids = Ids { consultant, protocol, api_key };
        let keys: Vec<(ApiKeyScope, String)> = [ApiKeyScope::Read, ApiKeyScope::Distribution, ApiKeyScope::Admin]
            .into_iter()
            .map(|scope| (scope, app.key(scope).1))
            .collect();
        let mut checked = 0;
        for (method, pattern) in registered_routes() {
            let who = decision(&method, pattern);
            for (scope, key) in &keys {
                let reply = app.send(concrete(&method, pattern, &ids, Some(key))).await;
                let status = reply.status.as_u16();
                if who == Who::Webhook {
                    // Keys mean nothing here: never a 403, never the api-key 401.
                    assert_ne!(status, 403, "{method} {pattern}: {}", reply.text());
                    assert_ne!(reply.text(), r#"{"detail":"API Key inválida"}"#, "{method} {pattern}");
                } else if allows(who, *scope) {
                    assert!(status != 401 && status != 403,
                        "{method} {pattern} with {scope}: {status} {}", reply.text());
                } else {
                    assert_eq!(status, 403, "{method} {pattern} with {scope}: {}", reply.text());
                    assert_eq!(reply.json(), json!({"detail": "Acesso negado para esta chave"}));
                }
                checked += 1;
            }
        }
        assert_eq!(checked, DECISIONS.len() * 3);
    }

    async fn every_protected_route_refuses_a_missing_wrong_empty_or_huge_key_with_401(backend) {
        let app = start(backend).await;
        let ids = Ids { consultant: 1, protocol: 1, api_key: 1 };
        let huge = "k".repeat(10_000);
        for (method, pattern) in registered_routes() {
            let who = decision(&method, pattern);
            for key in [None, Some("errada"), Some(""), Some(huge.as_str()), Some(&ADMIN_KEY[1..])] {
                let reply = app.send(concrete(&method, pattern, &ids, key)).await;
                if who == Who::Anyone {
                    assert_ne!(reply.status.as_u16(), 401, "{method} {pattern}");
                } else if who == Who::Webhook {
                    assert_ne!(reply.text(), r#"{"detail":"API Key inválida"}"#, "{method} {pattern}");
                } else {
                    reply.expect_detail(401, "API Key inválida");
                }
            }
        }
    }

    async fn the_open_routes_answer_without_a_key(backend) {
        let app = start(backend).await;
        for path in ["/health", "/ready", "/openapi.json", "/docs", "/docs/swagger-ui.css"] {
            app.send(TestRequest::get().uri(path)).await.expect(200);
        }
        app.send(TestRequest::get().uri("/metrics")).await.expect(401);
    }

    async fn metrics_answer_without_a_key_when_configured_public(backend) {
        let settings = HttpSettings { metrics_public: true, ..common::settings() };
        let app = start_with(backend, settings).await;
        app.send(TestRequest::get().uri("/metrics")).await.expect(200);
    }

    async fn a_stored_key_works_until_revoked(backend) {
        let app = start(backend).await;
        let created = app.post("/api-keys", json!({"description": "robô", "scope": "leitura"})).await;
        created.expect(200);
        let created = created.json();
        let secret = created["key"].as_str().unwrap().to_owned();
        app.send(with_key(Method::GET, "/consultores", &secret)).await.expect(200);
        app.delete(&format!("/api-keys/{}", created["id"]))
            .await
            .expect_detail(200, "Chave de API revogada com sucesso");
        app.send(with_key(Method::GET, "/consultores", &secret))
            .await
            .expect_detail(401, "API Key inválida");
        app.delete(&format!("/api-keys/{}", created["id"]))
            .await
            .expect_detail(404, "Chave de API não encontrada");
    }

    async fn without_a_configured_key_only_stored_keys_work(backend) {
        let settings = HttpSettings { configured_api_key: None, ..common::settings() };
        let app = start_with(backend, settings).await;
        app.get("/consultores").await.expect_detail(401, "API Key inválida");
        let (_, admin) = app.key(ApiKeyScope::Admin);
        app.send(with_key(Method::GET, "/consultores", &admin)).await.expect(200);
    }

    async fn creating_a_key_answers_its_secret_once_and_listing_never_shows_it(backend) {
        let app = start(backend).await;
        let created = app.post("/api-keys", json!({"description": "chatbot do site", "scope": "distribuicao"})).await;
        created.expect(200);
        let created = created.json();
        let fields: Vec<&String> = created.as_object().unwrap().keys().collect();
        assert_eq!(fields.len(), 5, "{fields:?}");
        assert_eq!(created["description"], "chatbot do site");
        assert_eq!(created["scope"], "distribuicao");
        assert!(common::is_wire_timestamp(created["created_at"].as_str().unwrap()));
        let secret = created["key"].as_str().unwrap().to_owned();
        assert!(secret.len() >= 32);
        let listed = app.get("/api-keys").await;
        listed.expect(200);
        assert!(!listed.text().contains(&secret));
        let entry = listed.json().as_array().unwrap().iter().find(|k| k["id"] == created["id"]).cloned().unwrap();
        assert_eq!(entry["scope"], "distribuicao");
        assert_eq!(entry["revoked_at"], Value::Null);
        assert!(entry.get("key").is_none());
        // The new key is scoped.
        app.send(with_key(Method::GET, "/gerar-protocolo", &secret)).await.expect(200);
        app.send(with_key(Method::POST, "/consultor", &secret).set_json(json!({"nome": "Ana Souza", "idiomas": ["pt"]})))
            .await
            .expect(403);
    }

    async fn a_new_key_defaults_to_the_least_privileged_scope_and_bad_scopes_are_422(backend) {
        let app = start(backend).await;
        let created = app.post("/api-keys", json!({})).await;
        created.expect(200);
        assert_eq!(created.json()["scope"], "leitura");
        assert_eq!(created.json()["description"], Value::Null);
        let items = app
            .post("/api-keys", json!({"description": "x".repeat(256), "scope": "root"}))
            .await
            .expect_422_at(&[json!(["body", "description"]), json!(["body", "scope"])]);
        assert_eq!(items[1]["type"], "enum");
        app.delete("/api-keys/abc").await.expect_422_at(&[json!(["path", "api_key_id"])]);
    }
}

#[test]
fn every_registered_route_has_a_scope_decision_in_this_test() {
    let routes = registered_routes();
    for (method, pattern) in &routes {
        decision(method, pattern);
    }
    assert_eq!(
        routes.len(),
        DECISIONS.len(),
        "a decision names a route that does not exist"
    );
}

#[test]
fn the_declared_access_of_every_route_agrees_with_the_decisions() {
    use consultores_http::routes::access_of;
    use consultores_http::scopes::Access;
    for (method, pattern, who) in DECISIONS {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let access = access_of(&method, pattern);
        match who {
            Who::Anyone => assert_eq!(access, Access::Public, "{method} {pattern}"),
            Who::Webhook => assert_eq!(access, Access::BasicAuth, "{method} {pattern}"),
            _ if *pattern == "/metrics" => {
                assert!(matches!(access, Access::Metrics(_)), "{access:?}")
            }
            _ => {
                for scope in ApiKeyScope::all() {
                    assert_eq!(
                        access.scopes().contains(&scope),
                        allows(*who, scope),
                        "{method} {pattern} {scope}"
                    );
                }
            }
        }
    }
}

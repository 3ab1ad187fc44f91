//! `/webhooks` (outbound subscriptions) through HTTP.

use actix_web::http::Method;
use consultores_domain::ApiKeyScope;
use serde_json::{json, Value};

use crate::common::{start, with_key};
use crate::on_both_backends;

on_both_backends! {
    async fn the_secret_is_shown_once_and_never_listed(backend) {
        let app = start(backend).await;
        let reply = app
            .post("/webhooks", json!({"url": "https://crm.exemplo.com/g", "eventos": ["atribuicao", "atribuicao", "consultor.conexao"], "descricao": "CRM"}))
            .await;
        reply.expect(200);
        let created = reply.json();
        let secret = created["segredo"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() == 50, "{secret}");
        assert_eq!(created["eventos"], json!(["atribuicao", "consultor.conexao"]));
        assert_eq!(created["ativo"], true);
        let listed = app.get("/webhooks").await.json();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["segredo"], Value::Null);
        assert!(!listed.to_string().contains(secret));
        assert!(!app.logs.text().contains(secret), "the secret is never logged");
        let audit = app.get("/auditoria?acao=webhook.criado").await.json();
        assert_eq!(audit["itens"][0]["entidade"], "webhook");
        assert_eq!(audit["itens"][0]["alteracoes"]["url"]["depois"], "https://crm.exemplo.com/g");
        assert!(!audit.to_string().contains(secret), "nor recorded");
    }

    async fn changes_show_in_the_delivery_log_and_removal_ends_them(backend) {
        let app = start(backend).await;
        let hook = app.post("/webhooks", json!({"url": "http://127.0.0.1:9/", "eventos": ["consultor.conexao"]})).await.json();
        let id = app.online_consultant("João Silva", &["pt"]).await;
        app.put(&format!("/consultor/{id}/connection?status=false"), json!({})).await.expect(200);
        let log = app.get(&format!("/webhooks/{}/entregas?limit=10", hook["id"])).await.json();
        let log = log.as_array().unwrap();
        assert_eq!(log.len(), 1, "switching online at creation is not a connection change");
        assert_eq!(log[0]["evento"], "consultor.conexao");
        assert_eq!(log[0]["estado"], "pendente");
        assert_eq!(log[0]["tentativas"], 0);
        app.delete(&format!("/webhooks/{}", hook["id"])).await.expect_detail(200, "Webhook removido com sucesso");
        app.delete(&format!("/webhooks/{}", hook["id"])).await.expect_detail(404, "Webhook não encontrado");
        let audit = app.get("/auditoria?acao=webhook.removido").await.json();
        assert_eq!(audit["itens"].as_array().unwrap().len(), 1);
        app.get(&format!("/webhooks/{}/entregas", hook["id"])).await.expect(404);
    }

    async fn bad_subscriptions_are_422_and_only_admins_may_manage_them(backend) {
        let app = start(backend).await;
        app.post("/webhooks", json!({"url": "ftp://x", "eventos": ["tudo"]}))
            .await
            .expect_422_at(&[json!(["body", "url"]), json!(["body", "eventos", 0])]);
        app.post("/webhooks", json!({"url": "https://x.com", "eventos": []}))
            .await
            .expect_422_at(&[json!(["body", "eventos"])]);
        app.get("/webhooks/1/entregas?limit=0").await.expect_422_at(&[json!(["query", "limit"])]);
        let (_, distribution) = app.key(ApiKeyScope::Distribution);
        app.send(with_key(Method::GET, "/webhooks", &distribution)).await.expect(403);
    }
}

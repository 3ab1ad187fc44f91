//! What the pages do: the queue in rotation order, switches seen by the API, consultants
//! created with field messages, protocols edited, the report and its CSV, the audit trail.

use actix_web::http::Method;
use consultores_domain::ApiKeyScope;

use crate::common::{start, ADMIN_KEY};
use crate::on_both_backends;

on_both_backends! {
    async fn the_queue_shows_who_is_next_per_language_and_follows_a_da_vez(backend) {
        let painel = start(backend).await;
        painel.consultant("Ana Souza", &["pt"]).await;
        painel.consultant("Bruno Lima", &["pt", "en"]).await;
        let carla = painel.consultant("Carla Dias", &["en"]).await;
        painel.api(Method::PUT, &format!("/consultor/{carla}/connection?status=false"), None).await.expect(200);
        painel.sign_in(ADMIN_KEY).await.expect(303);
        let queue = painel.get("/painel/fila/parcial").await;
        queue.expect(200);
        let body = &queue.body;
        let pt = body.find("Idioma pt").unwrap();
        let (ana, bruno) = (body[pt..].find("Ana Souza").unwrap(), body[pt..].find("Bruno Lima").unwrap());
        assert!(ana < bruno, "Ana waited longest: {body}");
        assert!(body.contains("offline"), "Carla is unavailable with her reason: {body}");
        painel.api(Method::GET, "/consultor/da-vez?idioma=pt", None).await.expect(200);
        let after = painel.get("/painel/fila/parcial").await.body;
        let pt = after.find("Idioma pt").unwrap();
        assert!(after[pt..].find("Bruno Lima").unwrap() < after[pt..].find("Ana Souza").unwrap(), "{after}");
    }

    async fn switching_offline_on_the_page_is_seen_by_the_api_and_audited_with_the_signed_in_key(backend) {
        let painel = start(backend).await;
        let ana = painel.consultant("Ana Souza", &["pt"]).await;
        let key = painel.key(ApiKeyScope::Admin, "coordenação");
        painel.sign_in(&key).await.expect(303);
        let page = painel.get("/painel/consultores").await;
        let csrf = page.csrf();
        let reply = painel
            .post(&format!("/painel/consultores/{ana}/conexao"), &[("status", "false"), ("csrf", &csrf), ("voltar", "/painel/consultores")])
            .await;
        reply.expect(303);
        assert_eq!(reply.location(), "/painel/consultores?ok=offline");
        let seen = painel.api(Method::GET, &format!("/consultor/{ana}"), None).await.json();
        assert_eq!(seen["status_online"], false);
        let audit = painel.api(Method::GET, "/auditoria?acao=consultor.conexao", None).await.json();
        let entry = &audit["itens"][0];
        assert_eq!(entry["chave_descricao"], "coordenação");
        assert_eq!(entry["entidade_id"], ana);
        assert_eq!(entry["alteracoes"]["status_online"]["depois"], false);
    }

    async fn a_consultant_is_created_and_bad_fields_are_explained_next_to_them(backend) {
        let painel = start(backend).await;
        painel.sign_in(ADMIN_KEY).await.expect(303);
        let form = painel.get("/painel/consultores/novo").await;
        let csrf = form.csrf();
        let bad = painel
            .post(
                "/painel/consultores",
                &[("csrf", &csrf), ("nome", "Jo"), ("email", "sem-arroba"), ("telefone", "123"), ("idiomas", ""), ("status_ativo", "on")],
            )
            .await;
        bad.expect(422);
        for field in ["nome", "email", "telefone", "idiomas"] {
            assert!(bad.body.contains(&format!("id=\"{field}-erro\"")), "{field}: {}", bad.body);
        }
        assert_eq!(painel.api(Method::GET, "/consultores", None).await.json().as_array().unwrap().len(), 0);
        let good = painel
            .post(
                "/painel/consultores",
                &[("csrf", &csrf), ("nome", "Joana Prado"), ("email", "joana@exemplo.com"), ("telefone", "+5511988887777"), ("idiomas", "pt, EN"), ("status_ativo", "on"), ("status_ativo_sequencial", "on"), ("status_online", "on")],
            )
            .await;
        good.expect(303);
        let all = painel.api(Method::GET, "/consultores", None).await.json();
        assert_eq!(all[0]["nome"], "Joana Prado");
        assert_eq!(all[0]["idiomas"], serde_json::json!(["pt", "en"]));
        assert_eq!(all[0]["status_online"], true);
        let taken = painel
            .post("/painel/consultores", &[("csrf", &csrf), ("nome", "Outra Joana"), ("email", "JOANA@exemplo.com"), ("idiomas", "pt")])
            .await;
        taken.expect(422);
        assert!(taken.body.contains("Email já cadastrado"));
    }

    async fn a_protocol_is_found_and_edited(backend) {
        let painel = start(backend).await;
        painel.consultant("Ana Souza", &["pt"]).await;
        let assigned = painel.api(Method::GET, "/consultor/da-vez?idioma=pt", None).await.json();
        let id = assigned["protocolo_id"].as_i64().unwrap();
        let number = assigned["numero_protocolo"].as_str().unwrap().to_owned();
        let robot = painel.key(ApiKeyScope::Distribution, "atendimento");
        painel.sign_in(&robot).await.expect(303);
        let found = painel.get(&format!("/painel/protocolos?numero={}", number.trim_start_matches('#'))).await;
        found.expect(200);
        assert!(found.body.contains(&number));
        let none = painel.get("/painel/protocolos?status=fechado").await;
        assert!(!none.body.contains(&number));
        let page = painel.get(&format!("/painel/protocolos/{id}")).await;
        let csrf = page.csrf();
        let too_long = "x".repeat(2001);
        painel
            .post(&format!("/painel/protocolos/{id}"), &[("csrf", &csrf), ("status", "fechado"), ("prioridade", "alta"), ("descricao", &too_long)])
            .await
            .expect(422);
        painel
            .post(&format!("/painel/protocolos/{id}"), &[("csrf", &csrf), ("status", "fechado"), ("prioridade", "alta"), ("descricao", "Cliente atendido")])
            .await
            .expect(303);
        let seen = painel.api(Method::GET, &format!("/protocolo/{id}"), None).await.json();
        assert_eq!(seen["status"], "fechado");
        assert_eq!(seen["prioridade"], "alta");
        assert_eq!(seen["descricao"], "Cliente atendido");
    }

    async fn the_report_page_draws_the_chart_and_downloads_the_csv(backend) {
        let painel = start(backend).await;
        let ana = painel.consultant("Ana Souza", &["pt"]).await;
        painel.api(Method::GET, "/consultor/da-vez?idioma=pt", None).await.expect(200);
        painel.sign_in(ADMIN_KEY).await.expect(303);
        let today = chrono::Utc::now().date_naive();
        let query = format!("de={today}&ate={today}&fuso_horario=UTC");
        let page = painel.get(&format!("/painel/relatorio?{query}")).await;
        page.expect(200);
        assert!(page.body.contains("<svg") && page.body.contains("Ana Souza"));
        let csv = painel.get(&format!("/painel/relatorio.csv?{query}")).await;
        csv.expect(200);
        assert_eq!(csv.body, format!("consultor_id,nome,data,atribuicoes\r\n{ana},Ana Souza,{today},1\r\n"));
        let bad = painel.get("/painel/relatorio?de=2026-01-10&ate=2026-01-01").await;
        bad.expect(422);
        assert!(bad.body.contains("id=\"ate-erro\""));
    }
}

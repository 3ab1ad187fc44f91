//! Sign-in, the session cookie, CSRF, idle expiry, scopes and escaping.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use consultores_domain::ApiKeyScope;

use crate::common::{start, start_with, ADMIN_KEY};
use crate::on_both_backends;

on_both_backends! {
    async fn the_page_never_logs_bodies_even_with_log_bodies_on(backend) {
        let painel = start_with(backend, true).await;
        let key = painel.key(ApiKeyScope::Admin, "coordenação");
        painel.sign_in(&key).await.expect(303);
        let page = painel.get("/painel/fila").await;
        page.expect(200);
        painel.api(Method::GET, "/consultores", None).await.expect(200);
        let logs = painel.logs.text();
        assert!(logs.contains("/painel/entrar") && logs.contains("\"body\""), "{logs}");
        assert!(!logs.contains(&key), "the key was logged: {logs}");
        assert!(!logs.contains(&page.csrf()), "the CSRF token was logged: {logs}");
    }

    async fn a_wrong_key_is_refused_and_a_right_one_opens_a_strict_httponly_session(backend) {
        let painel = start(backend).await;
        let refused = painel.sign_in("chave-errada").await;
        refused.expect(401);
        assert!(refused.body.contains("Chave de API inválida"), "{}", refused.body);
        assert!(!refused.cookies().iter().any(|c| c.starts_with("painel_sessao=")));
        painel.get("/painel/fila").await.expect(303);

        let signed_in = painel.sign_in(ADMIN_KEY).await;
        signed_in.expect(303);
        assert_eq!(signed_in.location(), "/painel/fila");
        let cookie = signed_in
            .cookies()
            .into_iter()
            .find(|c| c.starts_with("painel_sessao="))
            .unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http: {cookie}");
        assert!(!cookie.contains(ADMIN_KEY));
        painel.get("/painel/fila").await.expect(200);
        assert_eq!(
            painel.database.query_i64("SELECT CAST(count(*) AS BIGINT) AS value FROM painel_sessoes"),
            1
        );
        let token = cookie.split(';').next().unwrap().trim_start_matches("painel_sessao=").to_owned();
        let stored = painel.database.query_strings("SELECT token_hash AS value FROM painel_sessoes");
        assert_ne!(stored, vec![token], "only the token's hash is stored");
    }

    async fn behind_https_the_cookie_is_secure(backend) {
        let painel = start(backend).await;
        let form = painel.get("/painel/entrar").await;
        let csrf = form.csrf();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("csrf", csrf.as_str()), ("chave", ADMIN_KEY)])
            .finish();
        let reply = painel
            .send(
                TestRequest::post()
                    .uri("/painel/entrar")
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .insert_header(("x-forwarded-proto", "https"))
                    .set_payload(body),
            )
            .await;
        reply.expect(303);
        assert!(reply.cookies().iter().any(|c| c.starts_with("painel_sessao=") && c.contains("; Secure")));
    }

    async fn a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(backend) {
        let painel = start(backend).await;
        let ana = painel.consultant("Ana Souza", &["pt"]).await;
        painel.sign_in(ADMIN_KEY).await.expect(303);
        let before = painel.audit_entries();
        let path = format!("/painel/consultores/{ana}/conexao");
        painel.post(&path, &[("status", "false"), ("csrf", &"0".repeat(64))]).await.expect(403);
        painel.post(&path, &[("status", "false")]).await.expect(403);
        painel
            .post(&format!("/painel/consultores/{ana}/remover"), &[("csrf", "x")])
            .await
            .expect(403);
        painel
            .post("/painel/consultores", &[("nome", "Intrusa"), ("idiomas", "pt")])
            .await
            .expect(403);
        assert_eq!(painel.audit_entries(), before, "nothing changed");
        let ana_now = painel.api(Method::GET, &format!("/consultor/{ana}"), None).await.json();
        assert_eq!(ana_now["status_online"], true);
        // The sign-in form has its own token too.
        let reply = painel
            .post("/painel/entrar", &[("csrf", "forjado"), ("chave", ADMIN_KEY)])
            .await;
        reply.expect(403);
    }

    async fn an_expired_session_goes_back_to_sign_in_with_the_wanted_page(backend) {
        let painel = start(backend).await;
        painel.sign_in(ADMIN_KEY).await.expect(303);
        painel.get("/painel/protocolos?status=aberto").await.expect(200);
        painel
            .database
            .execute("UPDATE painel_sessoes SET usado_em = '2000-01-01T00:00:00.000000+00:00'");
        let reply = painel.get("/painel/protocolos?status=aberto").await;
        reply.expect(303);
        assert_eq!(
            reply.location(),
            "/painel/entrar?proximo=%2Fpainel%2Fprotocolos%3Fstatus%3Daberto"
        );
        let form = painel.get(&reply.location()).await;
        form.expect(200);
        assert!(form.body.contains("value=\"/painel/protocolos?status=aberto\""), "{}", form.body);
        let csrf = form.csrf();
        let back = painel
            .post(
                "/painel/entrar",
                &[("csrf", &csrf), ("proximo", "/painel/protocolos?status=aberto"), ("chave", ADMIN_KEY)],
            )
            .await;
        back.expect(303);
        assert_eq!(back.location(), "/painel/protocolos?status=aberto");
    }

    async fn sign_out_ends_the_session(backend) {
        let painel = start(backend).await;
        painel.sign_in(ADMIN_KEY).await.expect(303);
        let page = painel.get("/painel/fila").await;
        let csrf = page.csrf();
        let out = painel.post("/painel/sair", &[("csrf", &csrf)]).await;
        out.expect(303);
        assert_eq!(out.location(), "/painel/entrar");
        assert_eq!(
            painel.database.query_i64("SELECT CAST(count(*) AS BIGINT) AS value FROM painel_sessoes"),
            0
        );
        painel.get("/painel/fila").await.expect(303);
    }

    async fn a_leitura_key_sees_no_switch_and_cannot_switch_edit_or_read_the_audit(backend) {
        let painel = start(backend).await;
        let ana = painel.consultant("Ana Souza", &["pt"]).await;
        let protocol = painel.api(Method::GET, "/gerar-protocolo", None).await.json()["protocolo_id"].as_i64().unwrap();
        let reader = painel.key(ApiKeyScope::Read, "leitor");
        painel.sign_in(&reader).await.expect(303);
        let queue = painel.get("/painel/fila").await;
        queue.expect(200);
        assert!(queue.body.contains("Ana Souza"));
        assert!(!queue.body.contains("Deixar offline") && !queue.body.contains("/conexao"));
        assert!(!queue.body.contains("/painel/auditoria"));
        let list = painel.get("/painel/consultores").await;
        assert!(!list.body.contains("Cadastrar consultor") && !list.body.contains("/conexao"));
        let csrf = queue.csrf();
        let before = painel.audit_entries();
        painel
            .post(&format!("/painel/consultores/{ana}/conexao"), &[("status", "false"), ("csrf", &csrf)])
            .await
            .expect(403);
        painel
            .post(
                &format!("/painel/protocolos/{protocol}"),
                &[("status", "fechado"), ("prioridade", "alta"), ("descricao", ""), ("csrf", &csrf)],
            )
            .await
            .expect(403);
        painel.get("/painel/auditoria").await.expect(403);
        painel.get("/painel/consultores/novo").await.expect(403);
        assert_eq!(painel.audit_entries(), before);
    }

    async fn html_in_names_and_descriptions_is_escaped_everywhere(backend) {
        let painel = start(backend).await;
        let evil = "<script>alert(1)</script>";
        painel.consultant(evil, &["pt"]).await;
        let protocol = painel
            .api(Method::GET, "/consultor/da-vez?idioma=pt", None)
            .await
            .json()["protocolo_id"]
            .as_i64()
            .unwrap();
        painel
            .api(Method::PUT, &format!("/protocolo/{protocol}"), Some(serde_json::json!({"descricao": "<img src=x onerror=alert(2)>"})))
            .await
            .expect(200);
        painel.sign_in(ADMIN_KEY).await.expect(303);
        for path in [
            "/painel/fila".to_owned(),
            "/painel/fila/parcial".to_owned(),
            "/painel/consultores".to_owned(),
            "/painel/consultores/1".to_owned(),
            "/painel/protocolos".to_owned(),
            format!("/painel/protocolos/{protocol}"),
            "/painel/relatorio".to_owned(),
            "/painel/auditoria".to_owned(),
        ] {
            let page = painel.get(&path).await;
            page.expect(200);
            assert!(!page.body.contains("<script>alert") && !page.body.contains("<img src=x"), "{path}: {}", page.body);
        }
        let consultant = painel.get("/painel/consultores/1").await;
        assert!(consultant.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let protocol_page = painel.get(&format!("/painel/protocolos/{protocol}")).await;
        assert!(protocol_page.body.contains("&lt;img src=x onerror=alert(2)&gt;"));
    }
}

//! The routing rules on the consultant form (stored, audited, refused with the message next to
//! the field and nothing stored), and the queue and list pages showing availability, counters
//! and the contacts waiting.

use actix_web::http::Method;
use serde_json::json;

use crate::common::{start, ADMIN_KEY};
use crate::on_both_backends;

/// The form's fields for a consultant with rules, plus `extra` (later pairs win).
fn with_rules<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("csrf", csrf),
        ("nome", "Joana Prado"),
        ("idiomas", "pt"),
        ("status_ativo", "on"),
        ("status_ativo_sequencial", "on"),
        ("status_online", "on"),
        ("peso", "3"),
        ("limite_diario", "20"),
        ("limite_abertos", ""),
        ("fuso_horario", "Europe/Lisbon"),
        ("horario-1-1-inicio", "08:00"),
        ("horario-1-1-fim", "12:00"),
        ("horario-1-2-inicio", "13:00"),
        ("horario-1-2-fim", "18:00"),
        ("horario-5-1-inicio", "22:00"),
        ("horario-5-1-fim", "24:00"),
        ("horario-5-2-inicio", ""),
        ("horario-5-2-fim", ""),
        ("ausencia-1-de", "2026-12-24"),
        ("ausencia-1-ate", "2026-12-26"),
        ("ausencia-2-de", ""),
        ("ausencia-2-ate", ""),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

on_both_backends! {
    async fn rules_typed_on_the_form_are_stored_and_audited(backend) {
        let painel = start(backend).await;
        painel.sign_in(ADMIN_KEY).await.expect(303);
        let csrf = painel.get("/painel/consultores/novo").await.csrf();
        painel.post("/painel/consultores", &with_rules(&csrf, &[])).await.expect(303);
        let stored = &painel.api(Method::GET, "/consultores", None).await.json()[0];
        assert_eq!(stored["peso"], 3);
        assert_eq!(stored["limite_diario"], 20);
        assert_eq!(stored["limite_abertos"], serde_json::Value::Null);
        assert_eq!(stored["fuso_horario"], "Europe/Lisbon");
        assert_eq!(
            stored["horarios"],
            json!([
                {"dia": 1, "inicio": "08:00", "fim": "12:00"},
                {"dia": 1, "inicio": "13:00", "fim": "18:00"},
                {"dia": 5, "inicio": "22:00", "fim": "24:00"},
            ])
        );
        assert_eq!(stored["ausencias"], json!([{"de": "2026-12-24", "ate": "2026-12-26"}]));
        let id = stored["id"].as_i64().unwrap();
        let created = painel.api(Method::GET, "/auditoria?acao=consultor.criado", None).await.json();
        assert_eq!(created["itens"][0]["entidade_id"], id);

        // The edit form shows the rules back, and a change is one audited update.
        let form = painel.get(&format!("/painel/consultores/{id}")).await;
        form.expect(200);
        assert!(form.body.contains(r#"name="horario-5-1-fim" type="text" value="24:00""#), "{}", form.body);
        assert!(form.body.contains(r#"value="Europe/Lisbon""#));
        let edited = with_rules(&csrf, &[("peso", "2"), ("horario-1-2-inicio", ""), ("horario-1-2-fim", ""), ("ausencia-1-de", ""), ("ausencia-1-ate", "")]);
        painel.post(&format!("/painel/consultores/{id}"), &edited).await.expect(303);
        let after = painel.api(Method::GET, &format!("/consultor/{id}"), None).await.json();
        assert_eq!(after["peso"], 2);
        assert_eq!(after["horarios"], json!([{"dia": 1, "inicio": "08:00", "fim": "12:00"}, {"dia": 5, "inicio": "22:00", "fim": "24:00"}]));
        assert_eq!(after["ausencias"], serde_json::Value::Null);
        let updated = painel.api(Method::GET, "/auditoria?acao=consultor.atualizado", None).await.json();
        let changes = &updated["itens"][0]["alteracoes"];
        assert_eq!(changes["peso"]["antes"], 3);
        assert_eq!(changes["peso"]["depois"], 2);
        assert!(changes.get("horarios").is_some(), "{changes}");
    }

    async fn bad_hours_zone_or_weight_are_a_422_page_with_the_message_next_to_the_field(backend) {
        let painel = start(backend).await;
        painel.sign_in(ADMIN_KEY).await.expect(303);
        let csrf = painel.get("/painel/consultores/novo").await.csrf();
        let audit_before = painel.audit_entries();
        let bad = painel
            .post(
                "/painel/consultores",
                &with_rules(&csrf, &[
                    ("peso", "0"),
                    ("limite_diario", "muitos"),
                    ("fuso_horario", "Marte/<Olimpo>"),
                    ("horario-1-1-fim", "07:00"),
                    ("horario-1-2-inicio", "25:00"),
                    ("horario-5-2-inicio", "09:00"),
                    ("ausencia-1-ate", "2026-12-20"),
                ]),
            )
            .await;
        bad.expect(422);
        let next_to = |field: &str, message: &str| {
            let marker = format!("id=\"{field}-erro\" role=\"alert\">{message}");
            assert!(bad.body.contains(&marker), "{marker}: {}", bad.body);
        };
        next_to("peso", "deve ser um número inteiro de 1 a 100");
        next_to("limite_diario", "deve ser um número inteiro");
        next_to("fuso_horario", "fuso horário desconhecido");
        next_to("horario-1-1", "fim: deve ser posterior a inicio");
        next_to("horario-1-2", "início: deve ser um horário HH:MM");
        next_to("horario-5-2", "informe o início e o fim");
        next_to("ausencia-1", "até: deve ser igual ou posterior a de");
        // What was typed comes back, escaped.
        assert!(bad.body.contains("value=\"Marte/&lt;Olimpo&gt;\""), "{}", bad.body);
        assert!(!bad.body.contains("<Olimpo>"));
        assert_eq!(painel.api(Method::GET, "/consultores", None).await.json(), json!([]));
        assert_eq!(painel.audit_entries(), audit_before);

        // The same on an edit: 422 and the consultant unchanged.
        let id = painel.consultant("Ana Souza", &["pt"]).await;
        let before = painel.api(Method::GET, &format!("/consultor/{id}"), None).await.json();
        let refused = painel
            .post(&format!("/painel/consultores/{id}"), &with_rules(&csrf, &[("horario-3-1-inicio", "10:00"), ("horario-3-1-fim", "10:00")]))
            .await;
        refused.expect(422);
        assert!(refused.body.contains("id=\"horario-3-1-erro\""), "{}", refused.body);
        assert_eq!(painel.api(Method::GET, &format!("/consultor/{id}"), None).await.json(), before);
    }

    async fn the_queue_and_the_list_show_reasons_counters_and_waiting_contacts(backend) {
        let painel = start(backend).await;
        let ana = painel.consultant("Ana Souza", &["pt"]).await;
        let bruno = painel.consultant("Bruno Lima", &["pt"]).await;
        // Days off around today in any zone.
        let today = chrono::Utc::now().date_naive();
        let leave = json!([{"de": (today - chrono::Days::new(1)).to_string(), "ate": (today + chrono::Days::new(1)).to_string()}]);
        painel.api(Method::PUT, &format!("/consultor/{bruno}"), Some(json!({"ausencias": leave}))).await.expect(200);
        painel.api(Method::GET, "/consultor/da-vez?idioma=pt", None).await.expect(200);
        painel.api(Method::PUT, &format!("/consultor/{ana}"), Some(json!({"limite_diario": 1}))).await.expect(200);
        painel.api(Method::POST, "/fila", Some(json!({"idioma": "pt", "referencia": "contato <1>"}))).await.expect(200);
        painel.sign_in(ADMIN_KEY).await.expect(303);

        let queue = painel.get("/painel/fila/parcial").await;
        queue.expect(200);
        let body = &queue.body;
        assert!(body.contains("Ninguém disponível neste idioma."), "{body}");
        assert!(body.contains(r#"data-motivo="ausente">ausente"#), "{body}");
        assert!(body.contains(r#"data-motivo="limite_diario">limite diário atingido"#), "{body}");
        assert!(body.contains(r#"data-aguardando="pt">Contatos aguardando: 1"#), "{body}");
        assert!(body.contains("<li>contato &lt;1&gt; <span"), "the waiting entry, escaped: {body}");

        let list = painel.get("/painel/consultores").await.body;
        let row = &list[list.find("Ana Souza").unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("limite diário atingido"), "{row}");
        assert_eq!(row.matches(r#"<td class="num ocultar-celular">1</td>"#).count(), 2, "one today, one open: {row}");
        let detail = painel.get(&format!("/painel/consultores/{ana}")).await.body;
        assert!(detail.contains("<dt>Atendimentos da rotação hoje</dt><dd>1</dd>"), "{detail}");
        assert!(detail.contains("<dt>Protocolos abertos</dt><dd>1</dd>"), "{detail}");
        assert!(detail.contains(r#"name="fuso_horario" type="text" value="""#), "the default zone shows blank: {detail}");
    }
}

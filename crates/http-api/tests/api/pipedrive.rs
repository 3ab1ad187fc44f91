//! The Pipedrive integration through HTTP: the rotation with a CRM target, `pipedrive` in the
//! answers, the webhook endpoint, the worker's steps against a local fake Pipedrive (wiremock),
//! and the check of `id_pipedrive`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self, TestRequest};
use consultores_domain::{
    Clock, CrmDeliveryService, CrmUserDirectory, DeliverySettings, DispatchSignal,
    DistributionService, Language, LanguageSource, ProcessorSettings, SystemClock, WaitingQueue,
    WaitingQueueService, WebhookProcessor,
};
use consultores_http::{BasicCredentials, PipedriveIntegration, WebhookIntake};
use consultores_pipedrive::{Backoff, PipedriveClient, PipedriveConfig, WebhookDecoder};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{self, start, Backend, Logs, TestApp};
use crate::on_both_backends;

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const LANGUAGE_FIELD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const OPTION_FIELD: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432";
const LEAD: &str = "adf21080-0e10-11eb-879b-05d71fb426ec";
const WEBHOOK_USER: &str = "pipedrive";
const WEBHOOK_PASSWORD: &str = "s3nh@-do-webhook";

/// How a test app's integration is set up.
#[derive(Clone)]
struct Options {
    webhook: bool,
    languages: LanguageSource,
    /// Where the client sends requests: the fake Pipedrive, or a dead address.
    unreachable: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            webhook: true,
            languages: LanguageSource {
                field: Some(LANGUAGE_FIELD.to_owned()),
                default: None,
            },
            unreachable: false,
        }
    }
}

/// The fake Pipedrive and the worker's two steps, run on the blocking pool like the real worker.
struct Crm {
    server: MockServer,
    delivery: CrmDeliveryService,
    processor: Arc<WebhookProcessor>,
}

impl Crm {
    async fn mount(&self, mock: Mock) {
        mock.mount(&self.server).await;
    }

    /// Answers every owner update (PATCH) and note (POST) with success.
    async fn accept_writes(&self) {
        self.mount(Mock::given(method("PATCH")).respond_with(ok(json!({}))))
            .await;
        self.mount(Mock::given(method("POST")).respond_with(ok(json!({}))))
            .await;
    }

    /// The worker's requests (leaving out the user lists read to check `id_pipedrive`).
    async fn requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|request| request.url.path() != "/api/v1/users")
            .collect()
    }

    /// One turn of the worker: webhook events, then deliveries, until nothing is left to do.
    async fn work(&self) {
        let delivery = self.delivery.clone();
        let processor = self.processor.clone();
        actix_web::rt::task::spawn_blocking(move || {
            for _ in 0..20 {
                let events = processor.process_pending(&|| false).unwrap();
                let round = delivery.deliver_due(&|| false).unwrap();
                if events.claimed == 0 && round.claimed == 0 {
                    return;
                }
            }
        })
        .await
        .unwrap();
    }
}

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": data}))
}

fn pipedrive_error(status: u16, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"success": false, "error": error}))
}

/// The app with the integration on, over a fresh database of `backend`.
async fn start_crm(
    backend: Backend,
    options: Options,
) -> (
    TestApp<
        impl Service<
            actix_http::Request,
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
        >,
    >,
    Crm,
) {
    let server = MockServer::start().await;
    let base = if options.unreachable {
        // A port nobody listens on: connection refused.
        "http://127.0.0.1:9".to_owned()
    } else {
        server.uri()
    };
    let config = PipedriveConfig::new(TOKEN, url::Url::parse(&base).unwrap())
        .with_timeout(Duration::from_secs(5));
    // The blocking client is built off the async test thread.
    let client = actix_web::rt::task::spawn_blocking(move || PipedriveClient::new(config))
        .await
        .unwrap()
        .unwrap();
    let client = Arc::new(client);
    let database = common::database(backend);
    let store = Arc::new(database.database());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let logs = Logs::default();
    let integration = PipedriveIntegration {
        outbox: store.clone(),
        users: Arc::new(CrmUserDirectory::new(
            client.clone(),
            clock.clone(),
            CrmUserDirectory::DEFAULT_TTL,
        )),
        webhook: options.webhook.then(|| WebhookIntake {
            credentials: BasicCredentials::new(WEBHOOK_USER, WEBHOOK_PASSWORD),
            decoder: Arc::new(WebhookDecoder),
            inbox: store.clone(),
        }),
    };
    // The users of the company, for the check of `id_pipedrive` (a test may mount its own list,
    // which wins: this one has the lowest priority).
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(ok(json!([
            {"id": 456, "name": "João Silva", "email": "joao@acme.com", "active_flag": true},
            {"id": 7, "name": "Ana Souza", "email": "ana@acme.com", "active_flag": true}
        ])))
        .with_priority(10)
        .mount(&server)
        .await;
    let state = common::state(&database.database(), &logs).with_pipedrive(integration);
    let service = test::init_service(consultores_http::app(state, common::settings())).await;
    let delivery = CrmDeliveryService::new(
        store.clone(),
        client.clone(),
        client.clone(),
        Arc::new(Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(50),
        )),
        clock.clone(),
        DeliverySettings::DEFAULT,
    );
    let processor = Arc::new(
        WebhookProcessor::new(
            store.clone(),
            store,
            DistributionService::new(Arc::new(database.database()), clock.clone()),
            Arc::new(WebhookDecoder),
            client,
            options.languages,
            clock.clone(),
            ProcessorSettings::DEFAULT,
        )
        // As the service runs it: a record that finds nobody waits in the queue.
        .with_queue(WaitingQueueService::new(
            Arc::new(database.database()),
            clock,
            DispatchSignal::new(),
        )),
    );
    (
        TestApp {
            service,
            database,
            logs,
        },
        Crm {
            server,
            delivery,
            processor,
        },
    )
}

fn webhook(body: &Value) -> TestRequest {
    let credentials = BasicCredentials::new(WEBHOOK_USER, WEBHOOK_PASSWORD);
    TestRequest::post()
        .uri("/webhooks/pipedrive")
        .insert_header(("authorization", credentials.header_value()))
        .set_json(body)
}

fn created_deal(id: i64, language: Value, attempt: u32) -> Value {
    json!({
        "meta": {"action": "create", "entity": "deal", "entity_id": id.to_string(),
                 "attempt": attempt, "id": format!("evento-{id}-{attempt}"),
                 "change_source": "app", "user_id": "1001", "version": "2.0"},
        "data": {"id": id, "owner_id": 1001, "title": "Site: pedido de orçamento",
                 "custom_fields": {LANGUAGE_FIELD: language}},
        "previous": null
    })
}

fn created_lead(uuid: &str, language: &str) -> Value {
    json!({
        "meta": {"action": "create", "entity": "lead", "entity_id": uuid, "attempt": 1,
                 "id": "evento-lead", "version": "2.0"},
        "data": {"id": uuid, "owner_id": 1001, "title": "Lead do site",
                 "custom_fields": {LANGUAGE_FIELD: {"type": "varchar", "value": language}}},
        "previous": null
    })
}

fn text(value: &str) -> Value {
    json!({"type": "varchar", "value": value})
}

/// `acao|alvo|alvo_id|estado|motivo|tentativas` of each action of a `pipedrive` answer field.
fn actions(pipedrive: &Value) -> Vec<String> {
    pipedrive["acoes"]
        .as_array()
        .unwrap_or_else(|| panic!("no acoes in {pipedrive}"))
        .iter()
        .map(|action| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                action["acao"].as_str().unwrap(),
                action["alvo"].as_str().unwrap(),
                action["alvo_id"].as_str().unwrap(),
                action["estado"].as_str().unwrap(),
                action["motivo"].as_str().unwrap_or("-"),
                action["tentativas"]
            )
        })
        .collect()
}

fn events(app_db: &consultores_persistence::testing::TestDatabase) -> Vec<String> {
    app_db.query_strings(
        "SELECT chave || '|' || estado || '|' || coalesce(motivo, '-') || '|' \
         || coalesce(CAST(protocolo_id AS TEXT), '-') AS value \
         FROM pipedrive_webhook_eventos ORDER BY id",
    )
}

fn count(app_db: &consultores_persistence::testing::TestDatabase, table: &str) -> i64 {
    app_db.query_i64(&format!(
        "SELECT CAST(count(*) AS BIGINT) AS value FROM {table}"
    ))
}

/// v6's fields, the protocol id and the language served (extensions).
const V6_FIELDS: [&str; 11] = [
    "consultor_id",
    "consultor_nome",
    "consultor_email",
    "consultor_telefone",
    "consultor_idiomas",
    "consultor_status_online",
    "consultor_atendimento_iso",
    "consultor_id_pipedrive",
    "numero_protocolo",
    "protocolo_id",
    "idioma_atendido",
];

on_both_backends! {
    async fn the_rotation_without_crm_parameters_answers_as_in_v6(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        let body = app.get("/consultor/da-vez?idioma=pt").await.json();
        let mut fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut expected = V6_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(fields, expected, "no pipedrive field without a CRM parameter");
        let protocol = app.get(&format!("/protocolo/{}", body["protocolo_id"])).await.json();
        assert!(protocol.get("pipedrive").is_none(), "{protocol}");
        assert_eq!(count(&app.database, "crm_outbox"), 0);
        crm.work().await;
        assert!(crm.requests().await.is_empty());
    }

    async fn a_deal_is_handed_over_owner_then_note_through_the_worker(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        let reply = app.get("/consultor/da-vez?idioma=pt&deal_id=42").await;
        reply.expect(200);
        let body = reply.json();
        assert_eq!(body["numero_protocolo"], "#00001");
        assert_eq!(
            actions(&body["pipedrive"]),
            vec![
                "definir_responsavel|deal|42|pendente|-|0",
                "adicionar_nota|deal|42|pendente|-|0",
            ]
        );
        let path_of_protocol = format!("/protocolo/{}", body["protocolo_id"]);
        assert_eq!(app.get(&path_of_protocol).await.json()["pipedrive"], body["pipedrive"]);

        crm.mount(
            Mock::given(method("PATCH"))
                .and(path("/api/v2/deals/42"))
                .and(header("x-api-token", TOKEN))
                .and(body_json(json!({"owner_id": 456})))
                .respond_with(ok(json!({"id": 42, "owner_id": 456})))
                .expect(1),
        )
        .await;
        crm.mount(
            Mock::given(method("POST"))
                .and(path("/api/v1/notes"))
                .and(header("x-api-token", TOKEN))
                .and(body_json(json!({
                    "content": "Protocolo #00001 — atendimento atribuído a João Silva",
                    "deal_id": 42
                })))
                .respond_with(ok(json!({"id": 1})))
                .expect(1),
        )
        .await;
        crm.work().await;
        crm.server.verify().await;
        let requests = crm.requests().await;
        assert_eq!(requests[0].url.path(), "/api/v2/deals/42", "owner first");
        assert_eq!(
            actions(&app.get(&path_of_protocol).await.json()["pipedrive"]),
            vec![
                "definir_responsavel|deal|42|concluido|-|1",
                "adicionar_nota|deal|42|concluido|-|1",
            ]
        );
    }

    async fn leads_and_persons_are_handed_over_too(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        crm.accept_writes().await;
        let lead = app.get(&format!("/consultor/da-vez?idioma=pt&lead_id={}", LEAD.to_uppercase())).await.json();
        assert_eq!(actions(&lead["pipedrive"])[0], format!("definir_responsavel|lead|{LEAD}|pendente|-|0"));
        let person = app.get("/consultor/da-vez?idioma=pt&person_id=17").await.json();
        assert_eq!(actions(&person["pipedrive"])[1], "adicionar_nota|person|17|pendente|-|0");
        crm.work().await;
        let seen: Vec<(String, String, Value)> = crm
            .requests()
            .await
            .iter()
            .map(|r| (r.method.to_string(), r.url.path().to_owned(), serde_json::from_slice(&r.body).unwrap()))
            .collect();
        assert!(seen.contains(&("PATCH".into(), format!("/api/v1/leads/{LEAD}"), json!({"owner_id": 456}))), "{seen:?}");
        assert!(seen.contains(&("POST".into(), "/api/v1/notes".into(),
            json!({"content": "Protocolo #00001 — atendimento atribuído a João Silva", "lead_id": LEAD}))), "{seen:?}");
        assert!(seen.contains(&("PATCH".into(), "/api/v2/persons/17".into(), json!({"owner_id": 456}))), "{seen:?}");
        assert!(seen.contains(&("POST".into(), "/api/v1/notes".into(),
            json!({"content": "Protocolo #00002 — atendimento atribuído a João Silva", "person_id": 17}))), "{seen:?}");
        assert_eq!(seen.len(), 4);
    }

    async fn a_failed_action_shows_its_reason_on_the_protocol(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        crm.mount(Mock::given(method("PATCH")).respond_with(pipedrive_error(404, "Deal not found"))).await;
        crm.mount(Mock::given(method("POST")).respond_with(ok(json!({})))).await;
        let body = app.get("/consultor/da-vez?idioma=pt&deal_id=999").await.json();
        crm.work().await;
        let protocol = app.get(&format!("/protocolo/{}", body["protocolo_id"])).await.json();
        assert_eq!(
            actions(&protocol["pipedrive"]),
            vec![
                "definir_responsavel|deal|999|falhou|Pipedrive respondeu 404 Not Found: Deal not found|1",
                "adicionar_nota|deal|999|concluido|-|1",
            ]
        );
    }

    async fn a_consultant_without_id_pipedrive_gets_an_empty_list_of_actions(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        let body = app.get("/consultor/da-vez?idioma=pt&deal_id=42").await.json();
        assert_eq!(body["pipedrive"], json!({"acoes": []}));
        crm.work().await;
        assert!(crm.requests().await.is_empty());
    }

    async fn an_idempotent_replay_queues_nothing_twice(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        let request = || {
            TestRequest::get()
                .uri("/consultor/da-vez?idioma=pt&deal_id=42")
                .insert_header(("api-key", common::ADMIN_KEY))
                .insert_header(("Idempotency-Key", "pedido-42"))
        };
        let first = app.send(request()).await.json();
        let replay = app.send(request()).await;
        assert_eq!(replay.header("idempotency-replayed").as_deref(), Some("true"));
        assert_eq!(replay.json(), first);
        assert_eq!(count(&app.database, "crm_outbox"), 2);
        let other = app
            .send(
                TestRequest::get()
                    .uri("/consultor/da-vez?idioma=pt&deal_id=43")
                    .insert_header(("api-key", common::ADMIN_KEY))
                    .insert_header(("Idempotency-Key", "pedido-42")),
            )
            .await;
        other.expect_detail(422, "Idempotency-Key já usada com outros parâmetros");
        drop(crm);
    }

    async fn crm_parameters_are_validated_like_fastapi(backend) {
        let (app, _crm) = start_crm(backend, Options::default()).await;
        let cases: [(&str, Value, &str); 6] = [
            ("deal_id=abc", json!(["query", "deal_id"]), "int_parsing"),
            ("deal_id=0", json!(["query", "deal_id"]), "greater_than"),
            ("person_id=-3", json!(["query", "person_id"]), "greater_than"),
            ("lead_id=42", json!(["query", "lead_id"]), "uuid_parsing"),
            ("deal_id=1&person_id=2", json!(["query", "person_id"]), "value_error.crm_target"),
            ("deal_id=99999999999999999999", json!(["query", "deal_id"]), "int_parsing_size"),
        ];
        for (query, loc, kind) in cases {
            let items = app
                .get(&format!("/consultor/da-vez?idioma=pt&{query}"))
                .await
                .expect_422_at(&[loc]);
            assert_eq!(items[0]["type"], kind, "{query}: {items:?}");
        }
        assert_eq!(count(&app.database, "protocolos"), 0);
    }

    async fn crm_parameters_are_checked_and_ignored_while_the_integration_is_off(backend) {
        let app = start(backend).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        app.get("/consultor/da-vez?idioma=pt&lead_id=x").await.expect_422_at(&[json!(["query", "lead_id"])]);
        let body = app.get("/consultor/da-vez?idioma=pt&deal_id=42").await.json();
        assert!(body.get("pipedrive").is_none(), "{body}");
        assert_eq!(count(&app.database, "crm_outbox"), 0);
    }

    async fn the_webhook_is_absent_until_its_credentials_are_configured(backend) {
        let app = start(backend).await;
        app.send(webhook(&created_deal(42, text("pt"), 1))).await.expect_detail(404, "Not Found");
        let (app, _crm) = start_crm(backend, Options { webhook: false, ..Options::default() }).await;
        app.send(webhook(&created_deal(42, text("pt"), 1))).await.expect_detail(404, "Not Found");
    }

    async fn the_webhook_refuses_wrong_or_missing_credentials(backend) {
        let (app, _crm) = start_crm(backend, Options::default()).await;
        let body = created_deal(42, text("pt"), 1);
        let wrong = [
            None,
            Some(BasicCredentials::new(WEBHOOK_USER, "errada").header_value()),
            Some(BasicCredentials::new("outro", WEBHOOK_PASSWORD).header_value()),
            Some(format!("Bearer {WEBHOOK_PASSWORD}")),
            Some("Basic !!!".to_owned()),
        ];
        for authorization in wrong {
            let mut request = TestRequest::post().uri("/webhooks/pipedrive").set_json(&body);
            if let Some(value) = &authorization {
                request = request.insert_header(("authorization", value.as_str()));
            }
            let reply = app.send(request).await;
            reply.expect_detail(401, "Credenciais inválidas");
            assert_eq!(reply.header("www-authenticate").as_deref(), Some("Basic realm=\"pipedrive\""));
        }
        // The service's api-key is not a webhook credential.
        let reply = app
            .send(TestRequest::post().uri("/webhooks/pipedrive").insert_header(("api-key", common::ADMIN_KEY)).set_json(&body))
            .await;
        reply.expect_detail(401, "Credenciais inválidas");
        assert_eq!(count(&app.database, "pipedrive_webhook_eventos"), 0);
        assert!(!app.logs.text().contains(WEBHOOK_PASSWORD), "the password never reaches the log");
    }

    async fn the_webhook_refuses_what_is_not_a_v2_delivery(backend) {
        let (app, _crm) = start_crm(backend, Options::default()).await;
        for body in [json!({"data": {}}), json!({"v": 1, "event": "added.deal", "meta": {"v": 1, "object": "deal"}}), json!([1])] {
            let items = app.send(webhook(&body)).await.expect_422_at(&[json!(["body"])]);
            assert_eq!(items[0]["type"], "value_error.pipedrive_webhook", "{body}");
        }
        let broken = TestRequest::post()
            .uri("/webhooks/pipedrive")
            .insert_header(("authorization", BasicCredentials::new(WEBHOOK_USER, WEBHOOK_PASSWORD).header_value()))
            .insert_header(("content-type", "application/json"))
            .set_payload("{not json");
        app.send(broken).await.expect_422_at(&[json!(["body"])]);
        assert_eq!(count(&app.database, "pipedrive_webhook_eventos"), 0);
    }

    async fn a_created_deal_is_assigned_once_however_often_it_is_delivered(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        crm.mount(Mock::given(method("PATCH")).and(path("/api/v2/deals/42")).respond_with(ok(json!({}))).expect(1)).await;
        crm.mount(Mock::given(method("POST")).and(path("/api/v1/notes"))
            .and(body_json(json!({"content": "Protocolo #00001 — atendimento atribuído a João Silva", "deal_id": 42})))
            .respond_with(ok(json!({}))).expect(1)).await;
        for attempt in 1..=3 {
            app.send(webhook(&created_deal(42, text("PT"), attempt))).await.expect_detail(200, "recebido");
        }
        assert_eq!(count(&app.database, "pipedrive_webhook_eventos"), 1);
        crm.work().await;
        app.send(webhook(&created_deal(42, text("pt"), 4))).await.expect_detail(200, "recebido");
        crm.work().await;
        crm.server.verify().await;
        assert_eq!(count(&app.database, "protocolos"), 1);
        let protocol_id = app.database.query_i64("SELECT id AS value FROM protocolos");
        assert_eq!(events(&app.database), vec![format!("create:deal:42|concluido|-|{protocol_id}")]);
        let protocol = app.get(&format!("/protocolo/{protocol_id}")).await.json();
        assert_eq!(protocol["idioma"], "pt");
        assert_eq!(actions(&protocol["pipedrive"]).len(), 2);
        let audit = app.get("/auditoria?acao=atribuicao").await.json();
        assert_eq!(audit["itens"][0]["chave_descricao"], "pipedrive-webhook");
    }

    async fn the_echo_of_our_own_owner_change_is_ignored(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        crm.accept_writes().await;
        app.send(webhook(&created_deal(42, text("pt"), 1))).await.expect(200);
        crm.work().await;
        let echo = json!({
            "meta": {"action": "change", "entity": "deal", "entity_id": "42", "attempt": 1,
                     "id": "eco-1", "change_source": "api", "user_id": "1001", "version": "2.0"},
            "data": {"id": 42, "owner_id": 456, "custom_fields": {LANGUAGE_FIELD: text("pt")}},
            "previous": {"owner_id": 1001}
        });
        app.send(webhook(&echo)).await.expect_detail(200, "recebido");
        let other_change = json!({
            "meta": {"action": "change", "entity": "deal", "entity_id": "42", "attempt": 1,
                     "id": "outra-1", "version": "2.0"},
            "data": {"id": 42, "owner_id": 456, "title": "novo"},
            "previous": {"title": "velho"}
        });
        app.send(webhook(&other_change)).await.expect(200);
        crm.work().await;
        let recorded = events(&app.database);
        assert_eq!(recorded.len(), 3);
        assert_eq!(
            recorded[1],
            "change:deal:42:eco-1|ignorado|eco da alteração de responsável feita por este serviço (usuário 456)|-"
        );
        assert_eq!(
            recorded[2],
            "change:deal:42:outra-1|ignorado|evento change.deal ignorado: só negócios e leads criados são distribuídos|-"
        );
        assert_eq!(count(&app.database, "protocolos"), 1, "no second assignment");
        assert_eq!(crm.requests().await.len(), 2, "no second owner update, no loop");
    }

    async fn an_unusable_language_fails_nobody_available_waits_in_the_queue_and_the_worker_goes_on(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        crm.accept_writes().await;
        app.send(webhook(&created_deal(1, text("português"), 1))).await.expect(200);
        app.send(webhook(&created_deal(2, Value::Null, 1))).await.expect(200);
        app.send(webhook(&created_deal(3, text("fr"), 1))).await.expect(200);
        app.send(webhook(&created_lead(LEAD, "pt"))).await.expect(200);
        crm.work().await;
        let recorded = events(&app.database);
        assert!(recorded[0].starts_with("create:deal:1|falhou|idioma inválido no campo"), "{recorded:?}");
        assert_eq!(
            recorded[1],
            format!("create:deal:2|falhou|sem idioma: o campo {LANGUAGE_FIELD} está vazio e PIPEDRIVE_DEFAULT_LANGUAGE não está configurado|-")
        );
        assert_eq!(recorded[2], "create:deal:3|concluido|aguardando na fila (entrada 1)|-");
        assert!(recorded[3].starts_with(&format!("create:lead:{LEAD}|concluido|-|")), "{recorded:?}");
        assert_eq!(count(&app.database, "protocolos"), 1);
        let waiting = app.get("/fila/1").await.json();
        assert_eq!(waiting["estado"], "aguardando");
        assert_eq!(waiting["idioma"], "fr");
        assert_eq!(waiting["referencia"], "pipedrive:deal:3");
        // A French speaker frees up: the dispatcher hands the deal over, owner and note included.
        app.consultant(json!({"nome": "Marie Dupont", "idiomas": ["fr"], "status_online": true, "id_pipedrive": 7})).await;
        let round = app
            .database
            .database()
            .dispatch(chrono::Utc::now(), &consultores_domain::Actor::queue("teste"), true, 50)
            .unwrap();
        assert_eq!(round.served.len(), 1);
        let served = app.get("/fila/1").await.json();
        assert_eq!(served["estado"], "atribuido");
        let protocol = app.get(&format!("/protocolo/{}", served["protocolo"]["id"])).await.json();
        assert_eq!(actions(&protocol["pipedrive"]).len(), 2);
        let paths: Vec<String> = crm.requests().await.iter().map(|r| r.url.path().to_owned()).collect();
        assert_eq!(paths, vec![format!("/api/v1/leads/{LEAD}"), "/api/v1/notes".to_owned()]);
    }

    async fn the_language_may_be_an_option_or_the_default(backend) {
        let options = Options {
            languages: LanguageSource {
                field: Some(OPTION_FIELD.to_owned()),
                default: Some(Language::parse("pt").unwrap()),
            },
            ..Options::default()
        };
        let (app, crm) = start_crm(backend, options).await;
        let ana = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["en"], "status_online": true, "id_pipedrive": 7})).await;
        let joao = app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        crm.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/dealFields"))
                .and(query_param("start", "0"))
                .respond_with(ok(json!([
                    {"key": "title", "options": null},
                    {"key": OPTION_FIELD, "options": [{"id": 30, "label": "pt"}, {"id": 31, "label": "EN"}]}
                ])))
                .expect(1),
        )
        .await;
        crm.accept_writes().await;
        let with_option = |id: i64, option: i64| {
            let mut body = created_deal(id, Value::Null, 1);
            body["data"]["custom_fields"] = json!({OPTION_FIELD: {"type": "enum", "id": option}});
            body
        };
        app.send(webhook(&with_option(1, 31))).await.expect(200);
        app.send(webhook(&with_option(2, 30))).await.expect(200);
        app.send(webhook(&created_deal(3, text("ignored: not the configured field"), 1))).await.expect(200);
        crm.work().await;
        crm.server.verify().await;
        let owners = app.database.query_strings(
            "SELECT CAST(consultor_id AS TEXT) AS value FROM protocolos ORDER BY id",
        );
        assert_eq!(owners, vec![ana.to_string(), joao.to_string(), joao.to_string()], "option 31 is en; no field value: the default pt");
    }

    async fn id_pipedrive_must_name_an_active_pipedrive_user(backend) {
        let (app, crm) = start_crm(backend, Options::default()).await;
        crm.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/users"))
                .respond_with(ok(json!([
                    {"id": 7, "name": "Ana Souza", "email": "ana@acme.com", "active_flag": true},
                    {"id": 8, "name": "Bia Lima", "email": "bia@acme.com", "active_flag": false}
                ])))
                .expect(1..=3),
        )
        .await;
        for (id, kind, message) in [
            (8, "value_error.pipedrive_user_inactive", "usuário inativo no Pipedrive"),
            (99, "value_error.pipedrive_user_not_found", "usuário não encontrado no Pipedrive"),
        ] {
            let items = app
                .post("/consultor", json!({"nome": "Bia Lima", "idiomas": ["pt"], "id_pipedrive": id}))
                .await
                .expect_422_at(&[json!(["body", "id_pipedrive"])]);
            assert_eq!(items[0]["type"], kind);
            assert!(items[0]["msg"].as_str().unwrap().starts_with(message), "{items:?}");
        }
        let ana = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"], "id_pipedrive": 7})).await;
        app.put(&format!("/consultor/{ana}"), json!({"id_pipedrive": 8}))
            .await
            .expect_422_at(&[json!(["body", "id_pipedrive"])]);
        let cleared = app.put(&format!("/consultor/{ana}"), json!({"id_pipedrive": null})).await;
        cleared.expect(200);
        assert_eq!(cleared.json()["id_pipedrive"], Value::Null);
        app.put(&format!("/consultor/{ana}"), json!({"nome": "Ana S. Souza"})).await.expect(200);
        assert_eq!(count(&app.database, "consultores"), 1);
        crm.server.verify().await;
    }

    async fn id_pipedrive_is_accepted_unchecked_when_pipedrive_does_not_answer(backend) {
        let (app, _crm) = start_crm(backend, Options { unreachable: true, ..Options::default() }).await;
        let reply = app.post("/consultor", json!({"nome": "Ana Souza", "idiomas": ["pt"], "id_pipedrive": 7})).await;
        reply.expect(200);
        assert_eq!(reply.json()["id_pipedrive"], 7);
        let warned = app.logs.lines().into_iter().any(|line| {
            line["msg"] == "id_pipedrive accepted without checking: Pipedrive did not answer"
                && line["id_pipedrive"] == 7
        });
        assert!(warned, "{}", app.logs.text());
        assert!(!app.logs.text().contains(TOKEN), "the token never reaches the log");
    }

    async fn metrics_count_webhooks_and_pending_actions(backend) {
        let (app, _crm) = start_crm(backend, Options::default()).await;
        app.consultant(json!({"nome": "João Silva", "idiomas": ["pt"], "status_online": true, "id_pipedrive": 456})).await;
        app.get("/consultor/da-vez?idioma=pt&deal_id=42").await.expect(200);
        app.send(webhook(&created_deal(43, text("pt"), 1))).await.expect(200);
        app.send(webhook(&created_deal(43, text("pt"), 2))).await.expect(200);
        let text = app.get("/metrics").await.text();
        assert!(text.contains("consultores_pipedrive_pending_actions 2"), "{text}");
        assert!(text.contains("consultores_pipedrive_webhooks_total{novo=\"true\"} 1"), "{text}");
        assert!(text.contains("consultores_pipedrive_webhooks_total{novo=\"false\"} 1"), "{text}");
    }
}

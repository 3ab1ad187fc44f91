//! The structured log: one JSON `request` line and one `response` line per request, an `error`
//! line for 5xx; never a key; bodies only when asked.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use consultores_domain::ApiKeyScope;
use consultores_http::HttpSettings;
use consultores_persistence::testing::{FaultAction, FaultPoint};
use serde_json::json;

use crate::common::{self, start, start_with, with_key, ADMIN_KEY};
use crate::on_both_backends;

/// A host clock a year ahead of the database's.
struct AYearAhead;

impl consultores_domain::Clock for AYearAhead {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::days(365)
    }
}

on_both_backends! {
    async fn each_request_logs_a_request_line_and_a_response_line(backend) {
        let app = start(backend).await;
        let id = app.consultant(json!({"nome": "Ana Souza", "idiomas": ["pt"]})).await;
        let reply = app
            .send(with_key(Method::GET, &format!("/consultor/{id}?detalhe=1"), ADMIN_KEY)
                .insert_header(("x-request-id", "log-teste-1")))
            .await;
        reply.expect(200);
        let requests = app.logs.of("request", "log-teste-1");
        assert_eq!(requests.len(), 1, "{requests:?}");
        let request = &requests[0];
        assert_eq!(request["method"], "GET");
        assert_eq!(request["path"], format!("/consultor/{id}"));
        assert_eq!(request["query"], "detalhe=1");
        assert_eq!(request["level"], "INFO");
        assert!(request["ts"].is_string());
        assert!(request.get("body").is_none());

        let responses = app.logs.of("response", "log-teste-1");
        assert_eq!(responses.len(), 1, "{responses:?}");
        let response = &responses[0];
        assert_eq!(response["status"], 200);
        assert_eq!(response["route"], "/consultor/{consultor_id}");
        assert!(response["elapsed_ms"].as_f64().unwrap() >= 0.0);
        assert!(response.get("body").is_none());
        assert!(app.logs.of("error", "log-teste-1").is_empty());
    }

    async fn unmatched_routes_are_logged_with_a_fixed_route_label(backend) {
        let app = start(backend).await;
        app.send(TestRequest::get().uri("/nada/de/nada").insert_header(("x-request-id", "log-404"))).await.expect(404);
        let response = &app.logs.of("response", "log-404")[0];
        assert_eq!(response["route"], "unmatched");
        assert_eq!(response["status"], 404);
    }

    async fn a_wrong_method_and_a_refused_head_are_labelled_with_the_route_of_their_path(backend) {
        let app = start(backend).await;
        app.send(TestRequest::patch().uri("/consultor/7").insert_header(("x-request-id", "log-405"))).await.expect(405);
        assert_eq!(app.logs.of("response", "log-405")[0]["route"], "/consultor/{consultor_id}");
        let head = TestRequest::default().method(Method::HEAD).uri("/consultor/da-vez?idioma=pt");
        app.send(head.insert_header(("x-request-id", "log-head"))).await.expect(405);
        let response = &app.logs.of("response", "log-head")[0];
        assert_eq!(response["route"], "/consultor/da-vez");
        assert_eq!(response["method"], "HEAD");
        app.send(TestRequest::get().uri("/docs").insert_header(("x-request-id", "log-docs"))).await.expect(200);
        assert_eq!(app.logs.of("response", "log-docs")[0]["route"], "/docs");
    }

    async fn no_key_ever_reaches_the_log(backend) {
        let app = start(backend).await;
        let (_, stored) = app.key(ApiKeyScope::Read);
        app.send(with_key(Method::GET, "/consultores", ADMIN_KEY)).await.expect(200);
        app.send(with_key(Method::GET, "/consultores", &stored)).await.expect(200);
        app.send(with_key(Method::GET, "/consultores", "chave-errada-secreta")).await.expect(401);
        app.send(with_key(Method::GET, "/consultores?api_key=segredo-na-query&idioma=pt", ADMIN_KEY)).await.expect(200);
        let created = app.post("/api-keys", json!({"scope": "leitura"})).await.json();
        let text = app.logs.text();
        for secret in [ADMIN_KEY, stored.as_str(), "chave-errada-secreta", "segredo-na-query", created["key"].as_str().unwrap()] {
            assert!(!text.contains(secret), "a key leaked into the log");
        }
        assert!(text.contains("idioma=pt"));
        for line in app.logs.lines() {
            assert!(line.get("api-key").is_none() && line.get("headers").is_none(), "{line}");
        }
    }

    async fn bodies_are_not_logged_unless_asked(backend) {
        let app = start(backend).await;
        app.post("/consultor", json!({"nome": "Marcador Secreto", "idiomas": ["pt"]})).await.expect(200);
        assert!(!app.logs.text().contains("Marcador Secreto"));
    }

    async fn bodies_are_logged_when_asked_and_the_request_still_works(backend) {
        let settings = HttpSettings { log_bodies: true, ..common::settings() };
        let app = start_with(backend, settings).await;
        let reply = app
            .send(with_key(Method::POST, "/consultor", ADMIN_KEY)
                .insert_header(("x-request-id", "log-corpo"))
                .set_json(json!({"nome": "Marcador Visível", "idiomas": ["pt"]})))
            .await;
        reply.expect(200);
        assert_eq!(reply.json()["nome"], "Marcador Visível");
        let request = &app.logs.of("request", "log-corpo")[0];
        assert!(request["body"].as_str().unwrap().contains("Marcador Visível"));
        let response = &app.logs.of("response", "log-corpo")[0];
        assert!(response["body"].as_str().unwrap().contains("\"nome\":\"Marcador Visível\""));
        assert!(!app.logs.text().contains(ADMIN_KEY));
    }

    async fn logged_bodies_never_hold_a_new_key_or_any_secret_field(backend) {
        let settings = HttpSettings { log_bodies: true, ..common::settings() };
        let app = start_with(backend, settings).await;
        let reply = app
            .send(with_key(Method::POST, "/api-keys", ADMIN_KEY)
                .insert_header(("x-request-id", "log-chave"))
                .set_json(json!({"scope": "leitura", "descricao": "robô"})))
            .await;
        reply.expect(200);
        let key = reply.json()["key"].as_str().unwrap().to_owned();
        let response = &app.logs.of("response", "log-chave")[0];
        assert!(response["body"].as_str().unwrap().contains(r#""key":"***""#), "{response}");
        // Secret-looking fields of any request body, even one refused as invalid JSON.
        app.send(with_key(Method::POST, "/consultor", ADMIN_KEY)
                .set_json(json!({"nome": "Ana Souza", "idiomas": ["pt"], "senha": "segredo-de-corpo-1"})))
            .await;
        app.send(with_key(Method::POST, "/consultor", ADMIN_KEY)
                .insert_header(("content-type", "application/json"))
                .set_payload(r#"{"nome": "Ana", "api_token": "segredo-de-corpo-2", "#))
            .await
            .expect(422);
        let text = app.logs.text();
        for secret in [key.as_str(), "segredo-de-corpo-1", "segredo-de-corpo-2"] {
            assert!(!text.contains(secret), "{secret} leaked into the log");
        }
        assert!(text.contains("Ana Souza"), "bodies are still logged");
    }

    async fn a_clock_ahead_of_the_database_is_cut_to_its_time_and_logged(backend) {
        let app = common::start_with_clock(backend, std::sync::Arc::new(AYearAhead)).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        let assigned = app
            .send(with_key(Method::GET, "/consultor/da-vez?idioma=pt", ADMIN_KEY)
                .insert_header(("x-request-id", "relogio-1")))
            .await
            .json();
        let generated = app
            .send(with_key(Method::GET, "/gerar-protocolo", ADMIN_KEY)
                .insert_header(("x-request-id", "relogio-2")))
            .await
            .json();
        let bound = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
        let stamped = assigned["consultor_atendimento_iso"].as_str().unwrap();
        assert!(stamped < bound.as_str(), "{stamped} is in the future");
        let protocol = app.get(&format!("/protocolo/{}", generated["protocolo_id"])).await.json();
        assert!(protocol["created_at"].as_str().unwrap() < bound.as_str(), "{protocol}");
        for request_id in ["relogio-1", "relogio-2"] {
            let warnings = app.logs.of("clock_skew", request_id);
            assert_eq!(warnings.len(), 1, "{:?}", app.logs.lines());
            assert_eq!(warnings[0]["level"], "WARN");
            assert!(warnings[0]["ahead_ms"].as_i64().unwrap() > 360 * 24 * 3600 * 1000);
        }
    }

    async fn a_server_error_logs_an_error_line_with_the_cause_chain(backend) {
        let app = start(backend).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        app.database.inject_fault(FaultPoint::AfterCounter, FaultAction::Fail);
        let reply = app
            .send(with_key(Method::GET, "/consultor/da-vez?idioma=pt", ADMIN_KEY)
                .insert_header(("x-request-id", "log-erro")))
            .await;
        assert!(reply.status.is_server_error());
        let errors = app.logs.of("error", "log-erro");
        assert_eq!(errors.len(), 1, "{:?}", app.logs.lines());
        let error = &errors[0];
        assert_eq!(error["level"], "ERRO");
        assert_eq!(error["method"], "GET");
        assert_eq!(error["path"], "/consultor/da-vez");
        assert_eq!(error["status"], reply.status.as_u16());
        let chain = error["error"].as_str().unwrap();
        assert!(chain.contains(": "), "the chain names the cause: {chain}");
        // The client saw none of it.
        assert!(!reply.text().contains(chain));
    }
}

/// A response body that fails part-way must still fail for the client when bodies are logged.
#[actix_web::test]
async fn body_logging_never_turns_a_failing_body_into_a_shorter_success() {
    use actix_web::middleware::from_fn;
    use actix_web::web::{self, Bytes, Data};
    use actix_web::{test, App, HttpResponse};

    let failing = || async {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"{\"parte\": 1")),
            Err(std::io::Error::other("falhou no meio")),
        ];
        HttpResponse::Ok().streaming(futures_util::stream::iter(chunks))
    };
    for log_bodies in [false, true] {
        let settings = HttpSettings {
            log_bodies,
            ..common::settings()
        };
        let service = test::init_service(
            App::new()
                .app_data(Data::new(settings))
                .wrap(from_fn(consultores_http::logging::log))
                .route("/falha", web::get().to(failing)),
        )
        .await;
        let response =
            test::call_service(&service, TestRequest::get().uri("/falha").to_request()).await;
        let read = actix_web::body::to_bytes(response.into_body()).await;
        assert!(
            read.is_err(),
            "log_bodies={log_bodies}: the client got {read:?}"
        );
    }
}

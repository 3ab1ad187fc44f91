//! What every route shares: unknown routes and methods, body limits, request ids, CORS, and the
//! answers when the server or the database fails.

use std::time::Duration;

use actix_web::http::{header, Method};
use actix_web::test::{self, TestRequest};
use consultores_http::HttpSettings;
use consultores_persistence::testing::{FaultAction, FaultPoint};
use consultores_persistence::{Database, PoolSettings};
use serde_json::json;

use crate::common::{self, start, start_with, with_key, Logs, ADMIN_KEY};
use crate::on_both_backends;

fn big_consultant(bytes: usize) -> String {
    let padding = "x".repeat(bytes);
    format!(r#"{{"nome": "Ana Souza", "idiomas": ["pt"], "padding": "{padding}"}}"#)
}

on_both_backends! {
    async fn an_unknown_route_is_a_json_404_even_without_a_key(backend) {
        let app = start(backend).await;
        app.send(TestRequest::get().uri("/nada")).await.expect_detail(404, "Not Found");
        app.get("/consultor/1/nada").await.expect_detail(404, "Not Found");
        app.get("/docs/nao-existe.js").await.expect_detail(404, "Not Found");
    }

    async fn a_wrong_method_is_a_json_405_listing_the_allowed_ones(backend) {
        let app = start(backend).await;
        let reply = app.send(TestRequest::delete().uri("/consultores")).await;
        reply.expect_detail(405, "Method Not Allowed");
        assert_eq!(reply.header("allow").as_deref(), Some("GET"));
        let reply = app.send(TestRequest::patch().uri("/consultor/7")).await;
        reply.expect_detail(405, "Method Not Allowed");
        assert_eq!(reply.header("allow").as_deref(), Some("GET, PUT, DELETE"));
        app.send(TestRequest::post().uri("/health")).await.expect_detail(405, "Method Not Allowed");
        app.send(TestRequest::default().method(Method::OPTIONS).uri("/consultores"))
            .await
            .expect_detail(405, "Method Not Allowed");
    }

    async fn a_trailing_slash_redirects_to_the_route_without_it(backend) {
        let app = start(backend).await;
        let reply = app.send(TestRequest::get().uri("/consultores/?idioma=pt")).await;
        reply.expect(307);
        assert!(reply.header("location").unwrap().ends_with("/consultores?idioma=pt"));
    }

    async fn head_is_answered_like_get(backend) {
        let app = start(backend).await;
        app.send(TestRequest::default().method(Method::HEAD).uri("/health")).await.expect(200);
    }

    async fn head_on_a_protected_get_asks_for_its_key_like_get(backend) {
        let app = start(backend).await;
        app.send(TestRequest::default().method(Method::HEAD).uri("/consultores"))
            .await
            .expect_detail(401, "API Key inválida");
        app.send(with_key(Method::HEAD, "/consultores", ADMIN_KEY)).await.expect(200);
        app.send(with_key(Method::HEAD, "/api-keys", ADMIN_KEY)).await.expect(200);
        // A path answered only by other methods: 405, before any key is asked for.
        let reply = app.send(TestRequest::default().method(Method::HEAD).uri("/consultor")).await;
        reply.expect(405);
        assert_eq!(reply.header("allow").as_deref(), Some("POST"));
    }

    async fn another_method_on_the_rotation_path_gets_the_key_check_of_the_consultant_route(backend) {
        let app = start(backend).await;
        // `DELETE /consultor/da-vez` is `DELETE /consultor/{consultor_id}`: admin only, though
        // a distribution key may call the rotation itself.
        let (_, distribution) = app.key(consultores_domain::ApiKeyScope::Distribution);
        app.send(with_key(Method::DELETE, "/consultor/da-vez", &distribution))
            .await
            .expect_detail(403, "Acesso negado para esta chave");
        app.send(with_key(Method::GET, "/consultor/da-vez?idioma=pt", &distribution)).await.expect(404);
    }

    async fn head_on_a_get_that_changes_state_is_a_405_and_changes_nothing(backend) {
        let app = start(backend).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        for path in ["/consultor/da-vez?idioma=pt", "/gerar-protocolo"] {
            for key in [None, Some(ADMIN_KEY)] {
                let mut request = TestRequest::default().method(Method::HEAD).uri(path);
                if let Some(key) = key {
                    request = request.insert_header(("api-key", key));
                }
                let reply = app.send(request).await;
                reply.expect(405);
                assert_eq!(reply.header("allow").as_deref(), Some("GET"), "{path}");
            }
        }
        assert_eq!(app.get("/protocolos").await.json(), json!([]));
        assert_eq!(app.get("/consultor/da-vez?idioma=pt").await.json()["numero_protocolo"], "#00001");
    }

    async fn a_body_over_the_limit_is_413_whether_announced_or_not(backend) {
        let app = start(backend).await;
        let too_big = big_consultant(HttpSettings::DEFAULT_PAYLOAD_LIMIT_BYTES);
        let announced = with_key(Method::POST, "/consultor", ADMIN_KEY)
            .insert_header(("content-type", "application/json"))
            .set_payload(too_big.clone());
        app.send(announced).await.expect_detail(413, "Corpo da requisição grande demais");

        let mut unannounced = with_key(Method::POST, "/consultor", ADMIN_KEY)
            .insert_header(("content-type", "application/json"))
            .set_payload(too_big.clone())
            .to_request();
        unannounced.headers_mut().remove(header::CONTENT_LENGTH);
        app.send_raw(unannounced).await.expect_detail(413, "Corpo da requisição grande demais");

        let mut lying = with_key(Method::POST, "/consultor", ADMIN_KEY)
            .insert_header(("content-type", "application/json"))
            .set_payload(too_big)
            .to_request();
        lying.headers_mut().insert(header::CONTENT_LENGTH, header::HeaderValue::from_static("20"));
        app.send_raw(lying).await.expect_detail(413, "Corpo da requisição grande demais");

        // Just under the limit is fine (the extra field is ignored).
        let fits = big_consultant(HttpSettings::DEFAULT_PAYLOAD_LIMIT_BYTES - 100);
        app.send(with_key(Method::POST, "/consultor", ADMIN_KEY).set_payload(fits)).await.expect(200);
        assert_eq!(app.get("/consultores").await.json().as_array().unwrap().len(), 1);
    }

    async fn the_body_limit_follows_the_settings(backend) {
        let settings = HttpSettings { payload_limit_bytes: 1024, ..common::settings() };
        let app = start_with(backend, settings).await;
        app.send(with_key(Method::POST, "/protocolo", ADMIN_KEY).set_payload(big_consultant(1100)))
            .await
            .expect_detail(413, "Corpo da requisição grande demais");
    }

    async fn every_response_carries_a_request_id_echoing_a_sane_one(backend) {
        let app = start(backend).await;
        let echoed = app
            .send(TestRequest::get().uri("/health").insert_header(("x-request-id", "cliente-123_abc")))
            .await;
        assert_eq!(echoed.header("x-request-id").as_deref(), Some("cliente-123_abc"));
        let generated = app.send(TestRequest::get().uri("/health")).await.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
        let other = app.send(TestRequest::get().uri("/health")).await.header("x-request-id").unwrap();
        assert_ne!(generated, other);
        for insane in ["a".repeat(129), "tem espaço".to_owned()] {
            let reply = app
                .send(TestRequest::get().uri("/health").insert_header(("x-request-id", insane.as_str())))
                .await;
            let id = reply.header("x-request-id").unwrap();
            assert_ne!(id, insane);
            assert!(uuid::Uuid::parse_str(&id).is_ok());
        }
        let long_ok = "b".repeat(128);
        let reply = app.send(TestRequest::get().uri("/health").insert_header(("x-request-id", long_ok.as_str()))).await;
        assert_eq!(reply.header("x-request-id"), Some(long_ok));
        for reply in [
            app.send(TestRequest::get().uri("/nada")).await,
            app.send(TestRequest::get().uri("/consultores")).await,
            app.get("/consultor/x").await,
            app.send(TestRequest::delete().uri("/health")).await,
        ] {
            assert!(reply.header("x-request-id").is_some(), "{}", reply.status);
        }
    }

    async fn cors_is_off_by_default(backend) {
        let app = start(backend).await;
        let reply = app
            .send(TestRequest::get().uri("/health").insert_header(("origin", "https://painel.exemplo.com")))
            .await;
        reply.expect(200);
        assert_eq!(reply.header("access-control-allow-origin"), None);
    }

    async fn cors_allows_the_configured_origins_only(backend) {
        let settings = HttpSettings {
            cors_origins: vec!["https://painel.exemplo.com".to_owned()],
            ..common::settings()
        };
        let app = start_with(backend, settings).await;
        let allowed = app
            .send(with_key(Method::GET, "/consultores", ADMIN_KEY).insert_header(("origin", "https://painel.exemplo.com")))
            .await;
        allowed.expect(200);
        assert_eq!(allowed.header("access-control-allow-origin").as_deref(), Some("https://painel.exemplo.com"));
        let preflight = app
            .send(
                TestRequest::default()
                    .method(Method::OPTIONS)
                    .uri("/consultor")
                    .insert_header(("origin", "https://painel.exemplo.com"))
                    .insert_header(("access-control-request-method", "POST"))
                    .insert_header(("access-control-request-headers", "api-key, content-type")),
            )
            .await;
        preflight.expect(200);
        assert_eq!(preflight.header("access-control-allow-origin").as_deref(), Some("https://painel.exemplo.com"));
        let refused = app
            .send(TestRequest::get().uri("/health").insert_header(("origin", "https://malicioso.exemplo")))
            .await;
        // Another origin gets no CORS headers, so browsers refuse to show it the answer.
        assert_eq!(refused.header("access-control-allow-origin"), None);
    }

    async fn an_internal_failure_is_a_500_that_shows_only_the_request_id(backend) {
        let app = start(backend).await;
        app.database.inject_fault(FaultPoint::AfterWrite, FaultAction::Panic);
        let reply = app.get("/gerar-protocolo").await;
        reply.expect(500);
        let request_id = reply.header("x-request-id").unwrap();
        assert_eq!(reply.json(), json!({"detail": "Erro interno", "request_id": request_id}));
        // The failed call consumed no number.
        assert_eq!(app.get("/gerar-protocolo").await.json()["numero_protocolo"], "#00001");
    }

    async fn a_failed_transaction_is_a_500_and_leaves_nothing_behind(backend) {
        let app = start(backend).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        app.database.inject_fault(FaultPoint::BeforeCommit, FaultAction::Fail);
        let reply = app.get("/consultor/da-vez?idioma=pt").await;
        assert!(reply.status.is_server_error(), "{}", reply.status);
        assert!(reply.json()["detail"].is_string());
        assert_eq!(app.get("/protocolos").await.json(), json!([]));
        assert_eq!(app.get("/consultor/da-vez?idioma=pt").await.json()["numero_protocolo"], "#00001");
    }
}

/// A database that does not answer: a PostgreSQL URL nobody listens on.
async fn app_over_an_unreachable_database(
    logs: &Logs,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    let settings = PoolSettings {
        max_size: 2,
        connect_timeout: Duration::from_millis(500),
        ..PoolSettings::default()
    };
    let database =
        Database::connect("postgres://postgres@127.0.0.1:9/inexistente", &settings).unwrap();
    let state = common::state(&database, logs);
    test::init_service(consultores_http::app(state, common::settings())).await
}

#[actix_web::test]
async fn an_unreachable_database_gives_503_quickly_and_health_stays_200() {
    let logs = Logs::default();
    let service = app_over_an_unreachable_database(&logs).await;
    let call = |request: TestRequest| test::call_service(&service, request.to_request());
    let ready = call(TestRequest::get().uri("/ready")).await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = test::read_body_json(ready).await;
    assert_eq!(body, json!({"detail": "Serviço indisponível"}));
    let listing = call(with_key(Method::GET, "/consultores", ADMIN_KEY)).await;
    assert_eq!(listing.status(), 503);
    let body: serde_json::Value = test::read_body_json(listing).await;
    assert_eq!(body, json!({"detail": "Serviço indisponível"}));
    // A stored key cannot be checked either: 503, not 401.
    let stored = call(with_key(Method::GET, "/consultores", "chave-guardada")).await;
    assert_eq!(stored.status(), 503);
    let health = call(TestRequest::get().uri("/health")).await;
    assert_eq!(health.status(), 200);
}

#[actix_web::test]
async fn build_server_serves_the_same_app_over_tcp_and_stops_gracefully() {
    use std::io::{Read, Write};

    let database = common::database(common::Backend::Sqlite);
    let logs = Logs::default();
    let state = common::state(&database.database(), &logs);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let settings = HttpSettings {
        workers: 1,
        ..common::settings()
    };
    let server = consultores_http::build_server(listener, state, settings).unwrap();
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream
            .write_all(b"GET /consultores HTTP/1.1\r\nHost: teste\r\napi-key: errada\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-request-id: "),
        "{answer}"
    );
    assert!(
        answer.ends_with(r#"{"detail":"API Key inválida"}"#),
        "{answer}"
    );
    handle.stop(true).await;
    running.await.unwrap().unwrap();
    assert!(logs
        .lines()
        .iter()
        .any(|line| line["msg"] == "response" && line["status"] == 401));
}

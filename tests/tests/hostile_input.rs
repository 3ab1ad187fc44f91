//! Hostile input against the real binary: oversized and deeply nested bodies, invalid UTF-8,
//! SQL metacharacters, header floods, bad keys on every route, path traversal under `/docs`.
//! Each answer is the documented 4xx, and the service lives on, serving others.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::io::Write;
use std::time::{Duration, Instant};

use consultores_tests::checks::SqlProbe;
use consultores_tests::http::send;
use consultores_tests::raw::{self, RawResponse};
use consultores_tests::{json, team, Service, ServiceConfig, TestDatabase, API_KEY};
use serde_json::{json, Value};

fn start(database: &TestDatabase) -> Service {
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![("LOG_LEVEL".to_owned(), "warning".to_owned())];
    Service::start(&config)
}

fn key_header() -> String {
    format!("api-key: {API_KEY}")
}

/// The service still answers, on a fresh connection.
fn assert_alive(service: &mut Service) {
    let running = service.is_running();
    let outcome = send(service.request(reqwest::Method::GET, "/consultores"));
    if !running || !outcome.is(200) {
        panic!(
            "the service does not answer (process running: {running}): {}; its stderr:\n{}\n\
             last log lines:\n{}",
            outcome.describe(),
            service.stderr_lines().join("\n"),
            service
                .stdout_lines()
                .iter()
                .rev()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Sends `request` from a writer thread while this thread reads the answer, so a server that
/// answers before reading everything (and closes) cannot deadlock the test. Returns the response
/// (if any arrived) and whether the server then closed the connection within 30 s.
fn send_big(port: u16, request: Vec<u8>) -> (Result<RawResponse, String>, bool) {
    let mut stream = raw::connect(port, Duration::from_secs(30));
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let response = raw::read_response(&mut stream);
    let closed = response.is_ok() && raw::closes_within(&mut stream, Duration::from_secs(30));
    drop(stream);
    sender.join().unwrap();
    (response, closed)
}

fn detail(response: &RawResponse) -> Value {
    serde_json::from_slice::<Value>(&response.body).unwrap_or(Value::Null)["detail"].clone()
}

#[test]
fn a_10_mb_body_is_413_and_the_connection_is_closed_not_hung() {
    let database = TestDatabase::sqlite();
    let mut service = start(&database);
    let body = vec![b'a'; 10 * 1024 * 1024];

    // Announced with Content-Length.
    let request = raw::with_body("POST", "/consultor", &[key_header()], &body);
    let (response, closed) = send_big(service.port, request);
    let response = response.expect("an answer to a 10 MB body");
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(detail(&response), "Corpo da requisição grande demais");
    assert!(closed, "the connection stayed open after the 413");

    // Not announced, and without end: chunked, 64 KiB at a time, for as long as the server
    // reads. It answers 413 and then ends the connection, rather than reading and discarding
    // forever.
    let mut stream = raw::connect(service.port, Duration::from_secs(30));
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let head = format!(
            "POST /protocolo HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            key_header()
        );
        let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
        chunk.extend_from_slice(&[b'a'; 64 * 1024]);
        chunk.extend_from_slice(b"\r\n");
        let started = Instant::now();
        let mut sent: u64 = 0;
        if writer.write_all(head.as_bytes()).is_err() {
            return (true, sent);
        }
        while started.elapsed() < Duration::from_secs(30) {
            if writer.write_all(&chunk).is_err() {
                return (true, sent);
            }
            sent += chunk.len() as u64;
        }
        (false, sent)
    });
    let response = raw::read_response(&mut stream).expect("an answer to an endless chunked body");
    assert_eq!(response.status, 413, "{}", response.text());
    let (cut_off, sent) = sender.join().unwrap();
    assert!(
        cut_off,
        "the server was still reading the refused body after 30 s ({} MB sent)",
        sent / 1_000_000
    );

    assert_alive(&mut service);
}

#[test]
fn deeply_nested_json_is_422_without_a_crash() {
    let database = TestDatabase::sqlite();
    let mut service = start(&database);
    let member = team::hire(&service, "Ana Souza", &["pt"], false);
    let depth = 30_000; // 60 KB: under the 64 KiB body limit
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth / 5), "}".repeat(depth / 5));
    let in_field = format!(
        r#"{{"nome": {}, "idiomas": ["pt"]}}"#,
        format_args!("{}{}", "[".repeat(depth / 2), "]".repeat(depth / 2))
    );
    let shallow_enough = format!(
        r#"{{"nome": {}"x"{}, "idiomas": ["pt"]}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let targets = [
        ("POST", "/consultor".to_owned()),
        ("PUT", format!("/consultor/{}", member.id)),
        ("POST", "/protocolo".to_owned()),
        ("PUT", "/protocolo/1".to_owned()),
        ("POST", "/api-keys".to_owned()),
    ];
    for (method, path) in &targets {
        // The last body is valid JSON that only the consultant routes read (`nome`).
        let bodies = if path.starts_with("/consultor") {
            vec![&arrays, &objects, &in_field, &shallow_enough]
        } else {
            vec![&arrays, &objects, &in_field]
        };
        for body in bodies {
            let request = raw::with_body(method, path, &[key_header()], body.as_bytes());
            let response = raw::exchange(service.port, &request);
            assert_eq!(
                response.status,
                422,
                "{method} {path} with {} bytes of nesting: {}",
                body.len(),
                response.text()
            );
            assert!(detail(&response).is_array(), "{}", response.text());
        }
    }
    assert_alive(&mut service);
}

#[test]
fn invalid_utf8_in_body_query_and_headers_is_refused_with_4xx() {
    let database = TestDatabase::sqlite();
    let mut service = start(&database);
    let member = team::hire(&service, "Ana Souza", &["pt"], true);

    // In the body: raw bytes that are not UTF-8, and a lone surrogate escape.
    let bodies: [&[u8]; 3] = [
        b"{\"nome\": \"Jo\xff\xfeo\", \"idiomas\": [\"pt\"]}",
        b"{\"nome\": \"Jo\xc3\x28o\", \"idiomas\": [\"pt\"]}",
        b"{\"nome\": \"Jo\\ud800o\", \"idiomas\": [\"pt\"]}",
    ];
    for body in bodies {
        for (method, path) in [
            ("POST", "/consultor".to_owned()),
            ("PUT", format!("/consultor/{}", member.id)),
        ] {
            let request = raw::with_body(method, &path, &[key_header()], body);
            let response = raw::exchange(service.port, &request);
            assert_eq!(
                response.status,
                422,
                "{method} {path} {:?}: {}",
                String::from_utf8_lossy(body),
                response.text()
            );
            assert!(detail(&response).is_array());
        }
    }

    // In the query, percent-encoded (the only way HTTP carries such bytes): 422 on the field.
    for target in [
        "/consultor/da-vez?idioma=%FF%FE",
        "/consultor/da-vez?idioma=p%C3%28",
        "/consultores?idioma=%FF",
        "/protocolos?consultor_id=%FF%FE",
        "/consultor/1/connection?status=%FF",
    ] {
        let method = if target.contains("connection") {
            "PUT"
        } else {
            "GET"
        };
        let request = if method == "GET" {
            raw::get(target, &[key_header()])
        } else {
            raw::with_body(method, target, &[key_header()], b"")
        };
        let response = raw::exchange(service.port, &request);
        assert_eq!(response.status, 422, "{target}: {}", response.text());
        let first = &detail(&response)[0];
        assert_eq!(first["loc"][0], "query", "{target}: {}", response.text());
    }

    // Raw bytes in the request line are not HTTP at all: the parser refuses them (400).
    let mut request = b"GET /consultor/da-vez?idioma=\xff\xfe HTTP/1.1\r\nHost: x\r\n".to_vec();
    request.extend_from_slice(format!("{}\r\n\r\n", key_header()).as_bytes());
    let response = raw::exchange(service.port, &request);
    assert_eq!(response.status, 400, "{}", response.text());

    // In headers: a key that is not UTF-8 is no key (401); so is an idempotency key (422).
    let mut request = b"GET /consultores HTTP/1.1\r\nHost: x\r\napi-key: \xff\xfe\r\n\r\n".to_vec();
    let response = raw::exchange(service.port, &request);
    assert_eq!(response.status, 401, "{}", response.text());
    request = format!(
        "GET /consultor/da-vez?idioma=pt HTTP/1.1\r\nHost: x\r\n{}\r\nIdempotency-Key: ",
        key_header()
    )
    .into_bytes();
    request.extend_from_slice(b"\xff\xfe\r\n\r\n");
    let response = raw::exchange(service.port, &request);
    assert_eq!(response.status, 422, "{}", response.text());

    assert_alive(&mut service);
}

fn sql_metacharacters_are_422_and_leave_the_tables_intact(database: &TestDatabase) {
    let mut service = start(database);
    let ana = team::hire(&service, "Ana Souza", &["pt"], true);
    team::hire(&service, "Bruno Lima", &["pt", "en"], true);
    let (status, body) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 200, "{body}");
    let count = |table: &str| {
        database.int(&format!(
            "SELECT CAST(count(*) AS TEXT) AS value FROM {table}"
        ))
    };
    let before = (
        count("consultores"),
        count("protocolos"),
        count("consultor_idiomas"),
    );

    let payloads = [
        "pt'",
        "pt' OR '1'='1",
        "pt'; DROP TABLE protocolos; --",
        "'); DELETE FROM consultores; --",
        "pt\" OR \"\"=\"",
        "pt--",
        "pt/*",
        "pt;",
        "%",
        "p%",
        "_t",
        "pt\\",
        "pt\u{0}",
        "pt' UNION SELECT 1 --",
        "p't",
    ];
    let client = reqwest::blocking::Client::new();
    for payload in payloads {
        let encoded = percent_encode(payload);
        for path in [
            format!("/consultor/da-vez?idioma={encoded}"),
            format!("/consultores?idioma={encoded}"),
        ] {
            let response = client
                .get(service.url(&path))
                .header("api-key", API_KEY)
                .send()
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().unwrap_or(Value::Null);
            assert_eq!(status, 422, "{path}: {body}");
            assert_eq!(
                body["detail"][0]["loc"],
                json!(["query", "idioma"]),
                "{path}"
            );
        }
        let (status, body) = json(service.post(
            "/consultor",
            &json!({"nome": "Carla Dias", "idiomas": [payload]}),
        ));
        assert_eq!(status, 422, "POST idiomas [{payload:?}]: {body}");
        let (status, body) = json(service.put(
            &format!("/consultor/{}", ana.id),
            &json!({"idiomas": ["pt", payload]}),
        ));
        assert_eq!(status, 422, "PUT idiomas [{payload:?}]: {body}");
    }

    let after = (
        count("consultores"),
        count("protocolos"),
        count("consultor_idiomas"),
    );
    assert_eq!(before, after, "rows changed");
    let (_, listed) = json(service.get("/consultores"));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["idiomas"], json!(["pt"]));
    let (status, body) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["numero_protocolo"], "#00002");
    assert_alive(&mut service);
}

/// Every byte but ASCII letters and digits as `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[test]
fn sql_metacharacters_in_idioma_are_422_and_leave_the_tables_intact_on_sqlite() {
    sql_metacharacters_are_422_and_leave_the_tables_intact(&TestDatabase::sqlite());
}

#[test]
fn sql_metacharacters_in_idioma_are_422_and_leave_the_tables_intact_on_postgres() {
    sql_metacharacters_are_422_and_leave_the_tables_intact(&TestDatabase::postgres());
}

#[test]
fn header_floods_are_431_or_400_and_the_service_lives_on() {
    let database = TestDatabase::sqlite();
    let mut service = start(&database);
    let rss_before = service.rss_kib().unwrap();
    let many = |count: usize| -> Vec<u8> {
        let headers: Vec<String> = (0..count).map(|i| format!("X-Flood-{i}: v")).collect();
        raw::get("/health", &headers)
    };
    let huge = |bytes: usize| -> Vec<u8> {
        raw::get("/health", &[format!("X-Huge: {}", "a".repeat(bytes))])
    };
    let floods = [
        ("200 headers", many(200)),
        ("10,000 headers", many(10_000)),
        ("one 1 MiB header", huge(1024 * 1024)),
        ("one 8 MiB header", huge(8 * 1024 * 1024)),
    ];
    for (name, request) in floods {
        let (response, _) = send_big(service.port, request);
        match response {
            Ok(response) => assert!(
                [400, 431].contains(&response.status),
                "{name}: {} {}",
                response.status,
                response.text()
            ),
            // The server may reset the connection while the flood is still arriving; what it
            // must not do is accept it or fall over.
            Err(error) => assert!(
                error.contains("reset") || error.contains("closed"),
                "{name}: {error}"
            ),
        }
        assert_alive(&mut service);
    }
    let rss_after = service.rss_kib().unwrap();
    assert!(
        rss_after < rss_before + 64 * 1024,
        "memory grew from {rss_before} KiB to {rss_after} KiB"
    );
}

#[test]
fn every_protected_route_answers_401_to_a_missing_wrong_empty_or_huge_key() {
    let database = TestDatabase::sqlite();
    let mut service = start(&database);
    let (status, document) = json(service.get("/openapi.json"));
    assert_eq!(status, 200);
    let mut protected = Vec::new();
    let mut public = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "delete"].contains(&method.as_str()) {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            // Operations behind the `api-key` scheme (the Pipedrive webhook has its own).
            let secured = operation["security"]
                .as_array()
                .is_some_and(|requirements| {
                    requirements
                        .iter()
                        .any(|requirement| requirement.get("api-key").is_some())
                });
            let other_scheme = operation["security"]
                .as_array()
                .is_some_and(|requirements| !requirements.is_empty());
            if other_scheme && !secured {
                continue;
            }
            if secured {
                protected.push((method.to_ascii_uppercase(), concrete));
            } else {
                public.push((method.to_ascii_uppercase(), concrete));
            }
        }
    }
    assert!(protected.len() >= 15, "protected operations: {protected:?}");

    let same_length_wrong: String = API_KEY.chars().rev().collect::<String>().replace('-', "x");
    assert_eq!(same_length_wrong.len(), API_KEY.len());
    let wrong_keys: Vec<Option<Vec<u8>>> = vec![
        None,
        Some(Vec::new()),
        Some(b"   ".to_vec()),
        Some(b"errada".to_vec()),
        Some(same_length_wrong.into_bytes()),
        Some(API_KEY.as_bytes()[1..].to_vec()),
        Some(format!("{API_KEY}x").into_bytes()),
        Some(API_KEY.to_uppercase().into_bytes()),
        Some(format!("Bearer {API_KEY}").into_bytes()),
        Some("k".repeat(4 * 1024).into_bytes()),
        Some("k".repeat(60 * 1024).into_bytes()),
        Some(b"\xff\xfe\xfd".to_vec()),
    ];
    for (method, path) in &protected {
        for key in &wrong_keys {
            let mut request =
                format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
            if let Some(key) = key {
                request.extend_from_slice(b"api-key: ");
                request.extend_from_slice(key);
                request.extend_from_slice(b"\r\n");
            }
            if method != "GET" && method != "DELETE" {
                request.extend_from_slice(
                    b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                );
            } else {
                request.extend_from_slice(b"\r\n");
            }
            let response = raw::exchange(service.port, &request);
            let shown = key
                .as_ref()
                .map(|k| String::from_utf8_lossy(&k[..k.len().min(20)]).into_owned());
            assert_eq!(
                response.status,
                401,
                "{method} {path} with key {shown:?}: {}",
                response.text()
            );
            assert_eq!(detail(&response), "API Key inválida");
        }
    }
    // The open routes need no key.
    for (method, path) in &public {
        let request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes();
        let response = raw::exchange(service.port, &request);
        assert_ne!(response.status, 401, "{method} {path} is open");
    }
    assert_alive(&mut service);
}

#[test]
fn path_traversal_under_docs_is_404_and_never_serves_a_file() {
    let database = TestDatabase::sqlite();
    let mut service = start(&database);
    let index = raw::exchange(service.port, &raw::get("/docs/", &[]));
    assert_eq!(index.status, 200, "the documentation itself is served");

    let targets = [
        "/docs/../../etc/passwd",
        "/docs/../../../../../../etc/passwd",
        "/docs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/docs/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/docs/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/docs/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "/docs/..%5c..%5c..%5cetc%5cpasswd",
        "/docs/....//....//....//etc/passwd",
        "/docs/..;/..;/etc/passwd",
        "/docs//etc/passwd",
        "/docs/%2fetc%2fpasswd",
        "/docs/..%c0%af..%c0%afetc%c0%afpasswd",
        "/docs/swagger-ui.css/../../../../etc/passwd",
        "/docs/%00/../../etc/passwd",
        "/docs/../Cargo.toml",
        "/docs/..%2F..%2FCargo.toml",
        "/docs/../../../proc/self/environ",
        "/docs/..%2F..%2F..%2Fproc%2Fself%2Fenviron",
        "/docs/%2e%2e/openapi.json/../../etc/passwd",
    ];
    for target in targets {
        let response = raw::exchange(service.port, &raw::get(target, &[]));
        let text = response.text();
        assert_eq!(response.status, 404, "{target}: {text}");
        assert_eq!(detail(&response), "Not Found", "{target}");
        for secret in [
            "root:",
            "[workspace]",
            "[package]",
            "AUTHENTICATION_API_KEY",
            API_KEY,
        ] {
            assert!(!text.contains(secret), "{target} served {secret}: {text}");
        }
    }
    assert_alive(&mut service);
}

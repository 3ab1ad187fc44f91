//! 10,000 connections that open and then say nothing, or dribble a request head or a request
//! body one byte at a time (slowloris): the service keeps answering everyone else meanwhile, and
//! drops every one of them once the configured `REQUEST_TIMEOUT_SECS` has passed, so what they
//! hold is bounded by configuration (that timeout, `MAX_CONNECTIONS` per worker), not by the
//! clients' patience.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use consultores_tests::http::{load_client, percentile, send};
use consultores_tests::process::{ensure_open_file_limit, open_file_limits};
use consultores_tests::{raw, Service, ServiceConfig, TestDatabase, API_KEY};

const IDLE: usize = 10_000;
const REQUEST_TIMEOUT_SECS: u64 = 3;

#[test]
fn ten_thousand_idle_or_slow_connections_are_dropped_after_the_request_timeout_and_others_are_served(
) {
    // This process holds one end of each connection and the service (which inherits the
    // limit) the other, plus what both need besides.
    let limit = ensure_open_file_limit(IDLE as u64 + 1_024);
    let database = TestDatabase::sqlite();
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![
        (
            "REQUEST_TIMEOUT_SECS".to_owned(),
            REQUEST_TIMEOUT_SECS.to_string(),
        ),
        ("WORKERS".to_owned(), "2".to_owned()),
        ("MAX_CONNECTIONS".to_owned(), "25000".to_owned()),
        ("LOG_LEVEL".to_owned(), "warning".to_owned()),
    ];
    let mut service = Service::start(&config);
    let (service_limit, _) = open_file_limits(service.pid());
    assert!(
        service_limit >= IDLE as u64 + 100,
        "the service may open only {service_limit} files"
    );
    let fds_before = service.open_fds();

    // Open them all: a third say nothing, a third send the start of a request head, a third a
    // whole head and the start of its body.
    let opened = Instant::now();
    let slow_body = format!(
        "POST /consultor HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: {API_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"nome\": \""
    );
    let mut idle: Vec<TcpStream> = Vec::with_capacity(IDLE);
    for index in 0..IDLE {
        let mut stream = TcpStream::connect(("127.0.0.1", service.port))
            .unwrap_or_else(|error| panic!("connection {index} of {IDLE}: {error}"));
        match index % 3 {
            1 => stream
                .write_all(b"GET /consultores HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .unwrap(),
            2 => stream.write_all(slow_body.as_bytes()).unwrap(),
            _ => {}
        }
        idle.push(stream);
    }
    let open_time = opened.elapsed();

    // Everyone else is served meanwhile, while the slow half keeps dribbling.
    let client = load_client(Duration::from_secs(30));
    let mut latencies = Vec::new();
    let mut fds_during = 0;
    for round in 0..20 {
        for (index, stream) in idle.iter_mut().enumerate() {
            if index % 3 != 0 && index % 10 == round % 10 {
                let _ = stream.write_all(b"a");
            }
        }
        let outcome = send(
            client
                .get(service.url("/consultores"))
                .header("api-key", API_KEY),
        );
        assert!(
            outcome.is(200),
            "a normal client while {IDLE} connections idle: {}",
            outcome.describe()
        );
        latencies.push(outcome.elapsed);
        fds_during = fds_during.max(service.open_fds());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        fds_during >= fds_before + IDLE * 9 / 10,
        "the service held only {fds_during} descriptors ({fds_before} before): the idle \
         connections were not accepted"
    );

    // Then each of them is closed by the server (after a 408 for a slow head, a 422 for a slow
    // body).
    let deadline = opened + Duration::from_secs(REQUEST_TIMEOUT_SECS * 5 + 10);
    std::thread::sleep(Duration::from_secs(REQUEST_TIMEOUT_SECS));
    let mut open: Vec<TcpStream> = idle;
    while !open.is_empty() && Instant::now() < deadline {
        open.retain_mut(|stream| !raw::closes_within(stream, Duration::from_millis(1)));
        if !open.is_empty() {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let dropped_after = opened.elapsed();
    assert!(
        open.is_empty(),
        "{} of {IDLE} idle connections still open {dropped_after:?} after they were opened \
         (REQUEST_TIMEOUT_SECS={REQUEST_TIMEOUT_SECS})",
        open.len()
    );
    let fds_after = service.open_fds();
    assert!(
        fds_after < fds_before + 100,
        "the service still holds {fds_after} descriptors ({fds_before} before)"
    );
    let outcome = send(
        client
            .get(service.url("/consultores"))
            .header("api-key", API_KEY),
    );
    assert!(outcome.is(200), "after: {}", outcome.describe());
    assert!(service.is_running());

    println!(
        "slow connections: {IDLE} opened in {open_time:?} (open-file limit {limit}, service \
         {service_limit}); 20 normal requests meanwhile all 200 (median {:?}, max {:?}); the \
         service held up to {fds_during} descriptors ({fds_before} before, {fds_after} after); \
         all {IDLE} dropped by the server within {dropped_after:?} of opening \
         (REQUEST_TIMEOUT_SECS={REQUEST_TIMEOUT_SECS})",
        percentile(&latencies, 50.0),
        percentile(&latencies, 100.0),
    );
}

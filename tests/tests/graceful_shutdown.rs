//! SIGTERM under load: the requests in flight finish with their answers, new connections are
//! refused (no 5xx), the process exits with code 0, and every protocol stored was answered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use consultores_tests::checks::{
    assert_answers_stored, assert_gapless, assert_no_half_done_assignment,
};
use consultores_tests::http::{load_client, send, Failure, Outcome};
use consultores_tests::{raw, team, Service, ServiceConfig, TestDatabase, API_KEY};

const CLIENTS: usize = 16;

#[test]
fn sigterm_under_load_finishes_in_flight_requests_refuses_new_ones_and_exits_0() {
    let database = TestDatabase::postgres();
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![
        ("SHUTDOWN_TIMEOUT_SECS".to_owned(), "20".to_owned()),
        ("LOG_LEVEL".to_owned(), "warning".to_owned()),
    ];
    let mut service = Service::start(&config);
    let port = service.port;
    let members = team::hire_group(&service, &["pt"], 4);
    let body = format!(
        r#"{{"consultor_id": {}, "descricao": "aberto devagar"}}"#,
        members[0].id
    );

    // A request that is in flight when SIGTERM arrives: its head and half its body are sent.
    let mut slow = raw::connect(port, Duration::from_secs(30));
    let request = raw::with_body(
        "POST",
        "/protocolo",
        &[format!("api-key: {API_KEY}")],
        body.as_bytes(),
    );
    let half = request.len() - body.len() / 2;
    slow.write_all(&request[..half]).unwrap();

    let client = load_client(Duration::from_secs(30));
    let url = service.url("/consultor/da-vez?idioma=pt");
    let running = AtomicBool::new(true);
    let log: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let mut term_sent: Option<Instant> = None;
    let mut refused_at: Option<Instant> = None;
    let mut alive_when_refused = false;
    let mut slow_answer = None;
    let mut exit = None;

    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                while running.load(Ordering::Relaxed) {
                    let outcome = send(client.get(&url).header("api-key", API_KEY));
                    let refused = outcome.failure == Some(Failure::Connect);
                    log.lock().unwrap().push(outcome);
                    if refused {
                        break;
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        service.signal("TERM");
        term_sent = Some(Instant::now());

        // New connections are refused while the process is still finishing its work.
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            match TcpStream::connect(("127.0.0.1", port)) {
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    refused_at = Some(Instant::now());
                    alive_when_refused = service.is_running();
                    break;
                }
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        // The request in flight since before SIGTERM completes.
        slow.write_all(&request[half..]).unwrap();
        slow_answer = Some(raw::read_response(&mut slow));
        exit = service.wait_exit(Duration::from_secs(30));
        running.store(false, Ordering::Relaxed);
    });

    let term_sent = term_sent.unwrap();
    let refused_at = refused_at.expect("new connections were still accepted 15 s after SIGTERM");
    assert!(
        alive_when_refused,
        "the process was already gone when connections were refused: the in-flight request \
         could not finish"
    );
    let slow_answer = slow_answer
        .unwrap()
        .expect("an answer to the in-flight request");
    assert_eq!(
        slow_answer.status,
        200,
        "the in-flight request: {}",
        slow_answer.text()
    );
    let created: serde_json::Value = serde_json::from_slice(&slow_answer.body).unwrap();
    assert_eq!(created["descricao"], "aberto devagar");
    let exit = exit.expect("the service did not exit within 30 s of SIGTERM");
    assert!(exit.success(), "exit status {exit:?}");
    assert_eq!(exit.code(), Some(0));

    // Every load call: 200, or a connection that could not be made, or (the race of every
    // HTTP/1.1 keep-alive connection a server closes) one closed as the request went out: the
    // table below shows that none of those was processed. Never a 5xx.
    let log = log.into_inner().unwrap();
    for outcome in &log {
        assert!(
            outcome.is(200) || matches!(outcome.failure, Some(Failure::Connect | Failure::Broken)),
            "during shutdown: {} (sent {:?} after SIGTERM)",
            outcome.describe(),
            outcome.started.checked_duration_since(term_sent)
        );
    }
    let answered: Vec<&Outcome> = log.iter().filter(|o| o.is(200)).collect();
    let after_term = answered.iter().filter(|o| o.ended() > term_sent).count();
    let refused = log
        .iter()
        .filter(|o| o.failure == Some(Failure::Connect))
        .count();
    let closed = log
        .iter()
        .filter(|o| o.failure == Some(Failure::Broken))
        .count();
    assert!(refused > 0, "no client saw a refused connection");

    // No protocol half written, no request processed without its answer: every stored protocol
    // was answered, numbers gapless.
    let rows = assert_gapless(&database);
    let unanswered = assert_answers_stored(&rows, &answered);
    assert_eq!(
        unanswered, 1,
        "only the slow POST /protocolo is not in the rotation log"
    );
    assert!(rows
        .iter()
        .any(|row| row.number == created["numero"].as_str().unwrap()));
    assert_no_half_done_assignment(&database);

    println!(
        "graceful shutdown: {} da-vez answered 200 ({after_term} finished after SIGTERM), \
         {refused} refused, {closed} sent on a keep-alive connection as it closed (not processed); new connections refused {:?} after SIGTERM; the in-flight POST \
         completed 200; exit code 0; {} protocols gapless, all answered",
        answered.len(),
        refused_at.duration_since(term_sent),
        rows.len()
    );
}

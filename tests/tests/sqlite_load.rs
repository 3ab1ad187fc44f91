//! The embedded default under load: one process on an SQLite file, 32 concurrent clients
//! rotating, switching connections and editing protocols. No `database is locked` (nor any other
//! 5xx or 503) reaches a client, numbers stay unique and gapless, the rotation stays fair, and
//! after a `kill -9` in the middle of it the file is intact and the service starts again on it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use consultores_tests::checks::{
    assert_answers_stored, assert_fair, assert_gapless, assert_no_half_done_assignment,
    assignments_per_consultant, SqlProbe,
};
use consultores_tests::http::{load_client, percentile, send, Outcome, Rng};
use consultores_tests::team::{self, Member};
use consultores_tests::{Service, ServiceConfig, TestDatabase, API_KEY};
use serde_json::json;

const CLIENTS: usize = 32;
/// Calls before the kill; the load goes on for `AFTER` more, during which the process dies.
const BEFORE: usize = 2_000;
const AFTER: usize = 500;
const LANGUAGES: [&str; 3] = ["pt", "en", "es"];

#[test]
fn sqlite_under_32_clients_never_leaks_a_lock_error_and_survives_kill_9() {
    let database = TestDatabase::sqlite();
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![("LOG_LEVEL".to_owned(), "warning".to_owned())];
    let mut service = Service::start(&config);

    let mut measured: Vec<Member> = Vec::new();
    measured.extend(team::hire_group(&service, &["pt"], 4));
    measured.extend(team::hire_group(&service, &["pt", "en"], 2));
    measured.extend(team::hire_group(&service, &["en"], 4));
    measured.extend(team::hire_group(&service, &["es"], 4));
    let togglers: Vec<Member> = LANGUAGES
        .iter()
        .map(|language| team::hire(&service, &format!("Alterna {language}"), &[language], true))
        .collect();

    let client = load_client(Duration::from_secs(30));
    let next_call = AtomicUsize::new(0);
    let alive = AtomicBool::new(true);
    let log: Mutex<Vec<(&str, Outcome)>> = Mutex::new(Vec::new());
    let handed_out: Mutex<Vec<i64>> = Mutex::new(Vec::new());
    let base = service.base_url.clone();
    let mut killed_at: Option<Instant> = None;
    let started = Instant::now();
    let mut phase_one: Option<Duration> = None;

    std::thread::scope(|scope| {
        for thread in 0..CLIENTS {
            let (client, next_call, alive, log, handed_out, base, togglers) = (
                &client,
                &next_call,
                &alive,
                &log,
                &handed_out,
                &base,
                &togglers,
            );
            scope.spawn(move || {
                let mut rng = Rng::new(thread as u64 + 100);
                let mut round = 0usize;
                while alive.load(Ordering::Relaxed)
                    && next_call.fetch_add(1, Ordering::Relaxed) < BEFORE + AFTER
                {
                    round += 1;
                    // Mostly the rotation; every thread also writes in other ways now and then.
                    let (kind, outcome) = match (thread % 8, round % 4) {
                        (0, 0) => {
                            let toggler = rng.pick(togglers);
                            let online = rng.below(2) == 0;
                            let url = format!(
                                "{base}/consultor/{}/connection?status={online}",
                                toggler.id
                            );
                            ("connection", send(client.put(url).header("api-key", API_KEY)))
                        }
                        (1, 0) => {
                            let target = {
                                let ids = handed_out.lock().unwrap();
                                (!ids.is_empty()).then(|| ids[rng.below(ids.len())])
                            };
                            let id = target.unwrap_or(1);
                            let body = json!({"descricao": format!("nota {thread}-{round}"), "status": "em_andamento"});
                            let url = format!("{base}/protocolo/{id}");
                            (
                                "edit",
                                send(client.put(url).header("api-key", API_KEY).json(&body)),
                            )
                        }
                        _ => {
                            let language = rng.pick(&LANGUAGES);
                            let url = format!("{base}/consultor/da-vez?idioma={language}");
                            let outcome = send(client.get(url).header("api-key", API_KEY));
                            if let Some(id) = outcome.protocol_id() {
                                handed_out.lock().unwrap().push(id);
                            }
                            ("da-vez", outcome)
                        }
                    };
                    log.lock().unwrap().push((kind, outcome));
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(40);
        while next_call.load(Ordering::Relaxed) < BEFORE && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        phase_one = Some(started.elapsed());
        std::thread::sleep(Duration::from_millis(150));
        killed_at = Some(Instant::now());
        service.kill_hard();
        alive.store(false, Ordering::Relaxed);
    });
    let killed_at = killed_at.unwrap();
    let log = log.into_inner().unwrap();

    // Before the kill: every call answered 200 (no lock error, no 503, no 5xx); the edits of
    // protocol 1 before any existed are the only 404s allowed.
    let before_kill: Vec<&(&str, Outcome)> =
        log.iter().filter(|(_, o)| o.ended() < killed_at).collect();
    for (kind, outcome) in &before_kill {
        let allowed = outcome.is(200) || (*kind == "edit" && outcome.is(404));
        assert!(allowed, "{kind}: {}", outcome.describe());
    }
    for (kind, outcome) in &log {
        assert!(!outcome.is_server_error(), "{kind}: {}", outcome.describe());
    }
    let answers: Vec<&Outcome> = log
        .iter()
        .filter(|(kind, o)| *kind == "da-vez" && o.is(200))
        .map(|(_, o)| o)
        .collect();
    let cut = log
        .iter()
        .filter(|(_, o)| o.status.is_none() && o.started <= killed_at)
        .count();

    // The file after kill -9.
    let integrity = database.strings("SELECT integrity_check AS value FROM pragma_integrity_check");
    assert_eq!(integrity, vec!["ok".to_owned()], "PRAGMA integrity_check");
    let rows = assert_gapless(&database);
    let unanswered = assert_answers_stored(&rows, &answers);
    assert!(
        unanswered <= cut,
        "{unanswered} stored protocols were never answered, but the kill cut only {cut} calls"
    );
    assert_no_half_done_assignment(&database);
    let counts = assignments_per_consultant(&rows);
    let spreads = assert_fair(&team::by_language_set(&measured), &counts);

    // The service starts again on the same file and carries on from the next number.
    let service = Service::start(&config);
    let outcome = send(
        client
            .get(service.url("/consultor/da-vez?idioma=pt"))
            .header("api-key", API_KEY),
    );
    assert!(outcome.is(200), "after restart: {}", outcome.describe());
    assert_eq!(
        outcome.protocol_number().unwrap(),
        format!("#{:05}", rows.len() + 1)
    );

    let latencies: Vec<Duration> = answers.iter().map(|o| o.elapsed).collect();
    let kinds = |kind: &str| log.iter().filter(|(k, _)| *k == kind).count();
    println!(
        "sqlite: {} calls from {CLIENTS} clients ({} da-vez, {} toggles, {} edits), {} before \
         kill -9 in {:?}, no 5xx/503 (latency p50 {:?}, p99 {:?}); kill -9 cut {cut}; \
         integrity_check ok; {} protocols gapless, {unanswered} stored but unanswered; \
         fairness {spreads:?}",
        log.len(),
        kinds("da-vez"),
        kinds("connection"),
        kinds("edit"),
        before_kill.len(),
        phase_one.unwrap(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        rows.len(),
    );
}

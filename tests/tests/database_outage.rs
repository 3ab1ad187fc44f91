//! The database goes away under steady load and comes back: the service answers 503 quickly
//! while it is gone (bounded by the pool timeout), stays alive and small, reports itself not
//! ready but healthy, and serves fully again without a restart, losing and duplicating nothing.
//!
//! Runs against a disposable PostgreSQL cluster of its own (`initdb`/`pg_ctl` in a temporary
//! directory), never the shared server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use consultores_tests::checks::{
    assert_answers_stored, assert_gapless, assert_no_half_done_assignment,
};
use consultores_tests::http::{load_client, percentile, send, Outcome};
use consultores_tests::pg_cluster::PgCluster;
use consultores_tests::{team, Service, ServiceConfig, API_KEY};

const POOL_TIMEOUT: Duration = Duration::from_millis(1000);
const OUTAGE: Duration = Duration::from_secs(10);
const LOAD_THREADS: usize = 8;

#[derive(Debug, Default)]
struct Timeline {
    /// Just before `pg_ctl stop`.
    stopping: Option<Instant>,
    /// `pg_ctl stop` returned: the server is gone.
    down: Option<Instant>,
    /// Just before `pg_ctl start`.
    starting: Option<Instant>,
    /// `pg_ctl start` returned: the server accepts connections.
    up: Option<Instant>,
}

#[test]
fn a_database_outage_gives_quick_503s_and_full_service_again_without_a_restart() {
    let cluster = PgCluster::start();
    let mut config = ServiceConfig::with_database(&cluster.url());
    config.extra_env = vec![
        (
            "DB_POOL_TIMEOUT_MS".to_owned(),
            POOL_TIMEOUT.as_millis().to_string(),
        ),
        ("DB_POOL_SIZE".to_owned(), "4".to_owned()),
        ("LOG_LEVEL".to_owned(), "warning".to_owned()),
    ];
    let mut service = Service::start(&config);
    let pid = service.pid();
    team::hire_group(&service, &["pt"], 4);

    let client = load_client(Duration::from_secs(10));
    let assign_url = service.url("/consultor/da-vez?idioma=pt");
    let running = AtomicBool::new(true);
    let calls: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let probes: Mutex<Vec<(&str, Outcome)>> = Mutex::new(Vec::new());
    let memory: Mutex<Vec<(Instant, u64)>> = Mutex::new(Vec::new());
    let mut timeline = Timeline::default();
    let mut recovered: Option<Instant> = None;

    std::thread::scope(|scope| {
        for _ in 0..LOAD_THREADS {
            scope.spawn(|| {
                while running.load(Ordering::Relaxed) {
                    let outcome = send(client.get(&assign_url).header("api-key", API_KEY));
                    calls.lock().unwrap().push(outcome);
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
        scope.spawn(|| {
            while running.load(Ordering::Relaxed) {
                for path in ["/health", "/ready"] {
                    let outcome = send(client.get(service.url(path)));
                    probes.lock().unwrap().push((path, outcome));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        scope.spawn(|| {
            while running.load(Ordering::Relaxed) {
                if let Some(kib) = consultores_tests::process::rss_kib(pid) {
                    memory.lock().unwrap().push((Instant::now(), kib));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });

        std::thread::sleep(Duration::from_secs(2));
        timeline.stopping = Some(Instant::now());
        cluster.stop_fast();
        timeline.down = Some(Instant::now());
        std::thread::sleep(OUTAGE);
        timeline.starting = Some(Instant::now());
        cluster.start_again();
        let up = Instant::now();
        timeline.up = Some(up);

        // Recovery: the first rotation answer that was asked for after the server was back.
        let deadline = up + Duration::from_secs(30);
        while recovered.is_none() && Instant::now() < deadline {
            recovered = calls
                .lock()
                .unwrap()
                .iter()
                .filter(|call| call.started >= up && call.is(200))
                .map(Outcome::ended)
                .min();
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_secs(2));
        running.store(false, Ordering::Relaxed);
    });

    let stopping = timeline.stopping.unwrap();
    let down = timeline.down.unwrap();
    let starting = timeline.starting.unwrap();
    let up = timeline.up.unwrap();
    let recovered = recovered.unwrap_or_else(|| {
        panic!(
            "no rotation answer within 30 s of the database's return; service stderr:\n{}",
            service.stderr_lines().join("\n")
        )
    });
    let calls = calls.into_inner().unwrap();
    let probes = probes.into_inner().unwrap();
    let memory = memory.into_inner().unwrap();

    // The same process throughout: no crash, no restart.
    assert!(service.is_running(), "the service died during the outage");
    assert_eq!(service.pid(), pid);

    // Every call got an answer, and only 200 or 503.
    for call in &calls {
        assert!(
            call.is(200) || call.is(503),
            "unexpected answer: {}",
            call.describe()
        );
    }
    let during: Vec<&Outcome> = calls
        .iter()
        .filter(|call| call.started >= down && call.ended() <= starting)
        .collect();
    assert!(
        during.len() >= LOAD_THREADS,
        "too few calls during the outage: {}",
        during.len()
    );
    for call in &during {
        assert!(
            call.is(503),
            "a call during the outage: {}",
            call.describe()
        );
        assert_eq!(call.body["detail"], "Serviço indisponível");
    }
    let latencies: Vec<Duration> = during.iter().map(|call| call.elapsed).collect();

    // Liveness stays, readiness follows the database: once the answer `/ready` reuses (for
    // 1 s, so a flood of probes costs one check) has expired.
    let ready_reused_for = Duration::from_secs(1);
    for (path, probe) in &probes {
        match *path {
            "/health" => assert!(probe.is(200), "/health: {}", probe.describe()),
            _ => {
                if probe.started >= down + ready_reused_for && probe.ended() <= starting {
                    assert!(
                        probe.is(503),
                        "/ready during the outage: {}",
                        probe.describe()
                    );
                }
            }
        }
    }
    let ready_during = probes
        .iter()
        .filter(|(path, probe)| {
            *path == "/ready" && probe.started >= down && probe.ended() <= starting
        })
        .count();
    assert!(ready_during > 0, "no /ready probe fell inside the outage");
    let last_ready = probes
        .iter()
        .rev()
        .find(|(path, _)| *path == "/ready")
        .map(|(_, probe)| probe)
        .unwrap();
    assert!(
        last_ready.is(200),
        "/ready after recovery: {}",
        last_ready.describe()
    );

    // Full service after recovery: every call sent after it was answered 200.
    let after: Vec<&Outcome> = calls
        .iter()
        .filter(|call| call.started >= recovered)
        .collect();
    assert!(!after.is_empty(), "no calls after recovery");
    for call in &after {
        assert!(call.is(200), "a call after recovery: {}", call.describe());
    }

    // Memory stays bounded while requests fail.
    let baseline = memory
        .iter()
        .filter(|(at, _)| *at < stopping)
        .map(|(_, kib)| *kib)
        .max()
        .unwrap();
    let peak_outage = memory
        .iter()
        .filter(|(at, _)| *at >= down && *at <= up)
        .map(|(_, kib)| *kib)
        .max()
        .unwrap();
    assert!(
        peak_outage <= baseline * 2 + 64 * 1024,
        "memory grew during the outage: {baseline} KiB before, {peak_outage} KiB peak"
    );

    // Nothing lost, nothing duplicated: the client's log against the table.
    let rows = assert_gapless(&cluster);
    let answered: Vec<&Outcome> = calls.iter().filter(|call| call.is(200)).collect();
    let unanswered = assert_answers_stored(&rows, &answered);
    let in_flight_at_stop = calls
        .iter()
        .filter(|call| call.is(503) && call.started < down && call.ended() > stopping)
        .count();
    assert!(
        unanswered <= in_flight_at_stop,
        "{unanswered} stored protocols were never answered, but only {in_flight_at_stop} calls \
         were in flight when the database stopped"
    );
    assert_no_half_done_assignment(&cluster);

    println!(
        "outage: {} calls ({} answered 200, {} 503), {} during the outage all 503 \
         (latency median {:?}, max {:?}; pool timeout {:?}); {} /ready probes 503 inside; \
         recovery {:?} after the server accepted again ({:?} after `pg_ctl start` began); \
         RSS {} KiB before, {} KiB peak during; {} protocols gapless, {} stored but unanswered",
        calls.len(),
        answered.len(),
        calls.iter().filter(|call| call.is(503)).count(),
        during.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 100.0),
        POOL_TIMEOUT,
        ready_during,
        recovered.saturating_duration_since(up),
        recovered.saturating_duration_since(starting),
        baseline,
        peak_outage,
        rows.len(),
        unanswered,
    );
}

//! One of three replicas is killed with SIGKILL in the middle of the load and started again:
//! no assignment is left half done, numbers keep no gap, and the requests the other replicas
//! were serving meanwhile are not disturbed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use consultores_tests::checks::{
    assert_answers_stored, assert_fair, assert_gapless, assert_no_half_done_assignment,
    assignments_per_consultant,
};
use consultores_tests::http::{load_client, send, Failure, Outcome, Rng};
use consultores_tests::team::{self, Member};
use consultores_tests::{Service, ServiceConfig, TestDatabase, API_KEY};

const CLIENTS_PER_REPLICA: usize = 8;
const CALLS: usize = 1_500;
const KILL_AFTER: usize = 500;
const LANGUAGES: [&str; 2] = ["pt", "en"];

#[test]
fn a_replica_killed_mid_load_leaves_no_half_done_assignment_and_disturbs_no_other() {
    let database = TestDatabase::postgres();
    let mut config = ServiceConfig::with_database(database.url());
    config.extra_env = vec![
        ("DB_POOL_SIZE".to_owned(), "8".to_owned()),
        ("LOG_LEVEL".to_owned(), "warning".to_owned()),
    ];
    let first = Service::start(&config);
    let victim_port = first.port;
    let replicas: Vec<RwLock<Service>> = vec![
        RwLock::new(first),
        RwLock::new(Service::start(&config)),
        RwLock::new(Service::start(&config)),
    ];
    let urls: Vec<String> = replicas
        .iter()
        .map(|replica| replica.read().unwrap().url("/consultor/da-vez?idioma="))
        .collect();
    let mut measured: Vec<Member> = Vec::new();
    {
        let admin = replicas[1].read().unwrap();
        for language in LANGUAGES {
            measured.extend(team::hire_group(&admin, &[language], 4));
        }
    }

    let client = load_client(Duration::from_secs(30));
    let answered = AtomicUsize::new(0);
    let attempts = AtomicUsize::new(0);
    let running = AtomicBool::new(true);
    let log: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    let mut killed_at: Option<Instant> = None;
    let mut restarted_at: Option<Instant> = None;

    std::thread::scope(|scope| {
        for thread in 0..CLIENTS_PER_REPLICA * replicas.len() {
            let (client, answered, attempts, running, log, urls) =
                (&client, &answered, &attempts, &running, &log, &urls);
            scope.spawn(move || {
                let mut rng = Rng::new(thread as u64);
                let replica = thread % urls.len();
                while running.load(Ordering::Relaxed)
                    && answered.load(Ordering::Relaxed) < CALLS
                    && attempts.fetch_add(1, Ordering::Relaxed) < CALLS * 3
                {
                    let language = rng.pick(&LANGUAGES);
                    let outcome = send(
                        client
                            .get(format!("{}{language}", urls[replica]))
                            .header("api-key", API_KEY),
                    );
                    let ok = outcome.is(200);
                    log.lock().unwrap().push((replica, outcome));
                    if ok {
                        answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            });
        }

        let deadline = Instant::now() + Duration::from_secs(40);
        while answered.load(Ordering::Relaxed) < KILL_AFTER && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        replicas[0].write().unwrap().kill_hard();
        killed_at = Some(Instant::now());
        std::thread::sleep(Duration::from_millis(500));
        let mut again = config.clone();
        again.port = Some(victim_port);
        *replicas[0].write().unwrap() = Service::start(&again);
        restarted_at = Some(Instant::now());
        while answered.load(Ordering::Relaxed) < CALLS && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        running.store(false, Ordering::Relaxed);
    });

    let killed_at = killed_at.unwrap();
    let restarted_at = restarted_at.unwrap();
    let log = log.into_inner().unwrap();
    let answers: Vec<&Outcome> = log
        .iter()
        .filter(|(_, o)| o.is(200))
        .map(|(_, o)| o)
        .collect();
    assert!(
        answers.len() >= CALLS,
        "only {} answers within 40 s",
        answers.len()
    );

    // The other replicas never noticed.
    for (replica, outcome) in log.iter().filter(|(replica, _)| *replica != 0) {
        assert!(
            outcome.is(200),
            "replica {replica} during the crash of another: {}",
            outcome.describe()
        );
    }
    // The victim's clients saw connections fail, never a 5xx.
    let victim: Vec<&Outcome> = log
        .iter()
        .filter(|(replica, _)| *replica == 0)
        .map(|(_, o)| o)
        .collect();
    for outcome in &victim {
        assert!(
            outcome.is(200) || outcome.failure.is_some(),
            "the killed replica answered {}",
            outcome.describe()
        );
    }
    let cut = victim
        .iter()
        .filter(|o| o.failure.is_some() && o.started <= killed_at)
        .count();
    let refused = victim
        .iter()
        .filter(|o| o.failure == Some(Failure::Connect))
        .count();
    let served_after_restart = victim
        .iter()
        .filter(|o| o.is(200) && o.started >= restarted_at)
        .count();
    assert!(
        served_after_restart > 0,
        "the restarted replica served nothing"
    );

    // The table: gapless, every answer stored once, nothing half done.
    let rows = assert_gapless(&database);
    let unanswered = assert_answers_stored(&rows, &answers);
    assert!(
        unanswered <= cut,
        "{unanswered} stored protocols were never answered, but the kill cut only {cut} requests"
    );
    assert_no_half_done_assignment(&database);
    let counts = assignments_per_consultant(&rows);
    let spreads = assert_fair(&team::by_language_set(&measured), &counts);

    println!(
        "crash: {} calls answered 200 ({} by the other replicas, all 200); kill -9 cut {cut} \
         requests in flight on the victim, {refused} refused while it was down, {} served after \
         the restart; {} protocols gapless, {unanswered} stored but unanswered (committed as \
         the process died); fairness {spreads:?}",
        answers.len(),
        log.iter()
            .filter(|(replica, o)| *replica != 0 && o.is(200))
            .count(),
        served_after_restart,
        rows.len(),
    );
}

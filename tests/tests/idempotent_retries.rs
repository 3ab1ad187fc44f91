//! Impatient clients: each call carries an `Idempotency-Key` and is retried, with the same key,
//! whenever the client's own (short, random) timeout runs out first, on whichever of two replicas.
//! Every key ends up with exactly one protocol, and the rotation skips no one: over K×n keys with
//! K consultants, each gets exactly n, however many attempts there were.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use consultores_tests::checks::{
    assert_answers_stored, assert_gapless, assert_no_half_done_assignment,
    assignments_per_consultant,
};
use consultores_tests::http::{load_client, send, Failure, Outcome, Rng};
use consultores_tests::pgbouncer::PgBouncer;
use consultores_tests::{team, Service, ServiceConfig, TestDatabase, API_KEY};

const CONSULTANTS: usize = 6;
const PER_CONSULTANT: usize = 40;
const CLIENTS: usize = 16;
/// Attempts with a short timeout before one with a long timeout (so every key finishes).
const IMPATIENT_ATTEMPTS: usize = 12;

fn config(url: &str) -> ServiceConfig {
    let mut config = ServiceConfig::with_database(url);
    config.extra_env = vec![
        ("DB_POOL_SIZE".to_owned(), "8".to_owned()),
        ("LOG_LEVEL".to_owned(), "warning".to_owned()),
    ];
    config
}

#[test]
fn retried_keys_map_to_one_protocol_each_and_the_rotation_skips_no_one() {
    let database = TestDatabase::postgres();
    retried_keys(&database, &config(database.url()));
}

/// The same through PgBouncer in transaction mode with three server connections.
#[test]
fn retried_keys_behind_pgbouncer_in_transaction_mode_map_to_one_protocol_each() {
    let database = TestDatabase::postgres_unmigrated();
    let bouncer = PgBouncer::start(database.url(), 3);
    let mut config = config(&bouncer.url_for(database.url()));
    config
        .extra_env
        .push(("DB_TRANSACTION_POOLER".to_owned(), "true".to_owned()));
    retried_keys(&database, &config);
}

fn retried_keys(database: &TestDatabase, config: &ServiceConfig) {
    let replicas = [Service::start(config), Service::start(config)];
    let members = team::hire_group(&replicas[0], &["pt"], CONSULTANTS);
    let keys = CONSULTANTS * PER_CONSULTANT;

    let patient = load_client(Duration::from_secs(30));
    let next_key = AtomicUsize::new(0);
    let attempts: Mutex<Vec<(String, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for thread in 0..CLIENTS {
            let (patient, next_key, attempts, replicas) =
                (&patient, &next_key, &attempts, &replicas);
            scope.spawn(move || {
                let mut rng = Rng::new(thread as u64 + 7);
                loop {
                    let index = next_key.fetch_add(1, Ordering::Relaxed);
                    if index >= keys {
                        break;
                    }
                    let key = format!("retry-{index:04}-{:08x}", rng.next_u64() as u32);
                    for attempt in 0.. {
                        let replica = rng.pick(replicas);
                        let request = patient
                            .get(replica.url("/consultor/da-vez?idioma=pt"))
                            .header("api-key", API_KEY)
                            .header("Idempotency-Key", &key);
                        // Short random timeouts: many attempts give up while the server works on.
                        let request = if attempt < IMPATIENT_ATTEMPTS {
                            request.timeout(Duration::from_millis(2 + rng.below(40) as u64))
                        } else {
                            request
                        };
                        let outcome = send(request);
                        let done = outcome.status.is_some();
                        attempts.lock().unwrap().push((key.clone(), outcome));
                        if done {
                            break;
                        }
                    }
                }
            });
        }
    });

    let attempts = attempts.into_inner().unwrap();
    let mut final_answers: HashMap<&str, &Outcome> = HashMap::new();
    for (key, outcome) in &attempts {
        match outcome.status {
            Some(200) => {
                // Every 200 for a key is the same protocol.
                if let Some(first) = final_answers.insert(key, outcome) {
                    panic!(
                        "key {key} answered twice: {} and {}",
                        first.body, outcome.body
                    );
                }
            }
            Some(_) => panic!("key {key}: {}", outcome.describe()),
            None => assert_eq!(
                outcome.failure,
                Some(Failure::Timeout),
                "key {key}: {}",
                outcome.describe()
            ),
        }
    }
    assert_eq!(final_answers.len(), keys, "every key got its answer");
    let timeouts = attempts.iter().filter(|(_, o)| o.status.is_none()).count();
    let replayed = final_answers.values().filter(|o| o.replayed).count();
    assert!(
        timeouts > 0,
        "no attempt timed out: the test did not exercise retries"
    );

    // One protocol per key, none for the attempts that gave up.
    let rows = assert_gapless(database);
    assert_eq!(
        rows.len(),
        keys,
        "protocols stored for {keys} keys after {} attempts",
        attempts.len()
    );
    let answers: Vec<&Outcome> = final_answers.values().copied().collect();
    assert_eq!(assert_answers_stored(&rows, &answers), 0);
    let distinct: HashSet<i64> = answers.iter().map(|o| o.protocol_id().unwrap()).collect();
    assert_eq!(distinct.len(), keys, "distinct keys, distinct protocols");
    assert_no_half_done_assignment(database);

    // Nobody skipped: K×n keys, each of the K consultants exactly n times.
    let counts = assignments_per_consultant(&rows);
    for member in &members {
        assert_eq!(
            counts.get(&member.id).copied().unwrap_or(0),
            PER_CONSULTANT,
            "consultant {} (counts {counts:?})",
            member.id
        );
    }

    println!(
        "idempotent retries: {keys} keys, {} attempts ({timeouts} gave up on a client timeout of \
         2-41 ms), {replayed} answered from the stored first answer; {} protocols, one per key, \
         gapless; each of {CONSULTANTS} consultants exactly {PER_CONSULTANT}",
        attempts.len(),
        rows.len(),
    );
}

//! Three replicas on one PostgreSQL database under 64 concurrent clients, with consultants
//! going on and offline and protocols being edited meanwhile: every answer's protocol is stored
//! exactly once, numbers stay unique and contiguous, the rotation stays fair, and nothing
//! answers 5xx.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use consultores_tests::checks::{
    assert_answers_stored, assert_fair, assert_gapless, assert_no_half_done_assignment,
    assignments_per_consultant,
};
use consultores_tests::http::{load_client, percentile, send, Outcome, Rng};
use consultores_tests::pgbouncer::PgBouncer;
use consultores_tests::team::{self, Member};
use consultores_tests::{Service, ServiceConfig, TestDatabase, API_KEY};
use serde_json::json;

const CLIENTS: usize = 64;
const CALLS: usize = 3_000;
const LANGUAGES: [&str; 3] = ["pt", "en", "es"];

fn replica_config(url: &str) -> ServiceConfig {
    let mut config = ServiceConfig::with_database(url);
    config.extra_env = vec![
        ("DB_POOL_SIZE".to_owned(), "8".to_owned()),
        ("LOG_LEVEL".to_owned(), "warning".to_owned()),
    ];
    config
}

#[test]
fn three_replicas_under_64_clients_keep_protocols_unique_gapless_and_the_rotation_fair() {
    let database = TestDatabase::postgres();
    three_replicas_under_load(&database, &replica_config(database.url()));
}

/// The same through PgBouncer in transaction mode with three server connections: the
/// replicas migrate the database through it and keep every guarantee.
#[test]
fn three_replicas_behind_pgbouncer_in_transaction_mode_keep_the_same_guarantees() {
    let database = TestDatabase::postgres_unmigrated();
    let bouncer = PgBouncer::start(database.url(), 3);
    let mut config = replica_config(&bouncer.url_for(database.url()));
    config
        .extra_env
        .push(("DB_TRANSACTION_POOLER".to_owned(), "true".to_owned()));
    three_replicas_under_load(&database, &config);
}

fn three_replicas_under_load(database: &TestDatabase, config: &ServiceConfig) {
    let replicas: Vec<Service> = (0..3).map(|_| Service::start(config)).collect();
    let admin = &replicas[0];

    // Eight speakers per language, some of them bilingual; they stay online throughout.
    let mut measured: Vec<Member> = Vec::new();
    measured.extend(team::hire_group(admin, &["pt"], 6));
    measured.extend(team::hire_group(admin, &["pt", "en"], 2));
    measured.extend(team::hire_group(admin, &["en"], 4));
    measured.extend(team::hire_group(admin, &["en", "es"], 2));
    measured.extend(team::hire_group(admin, &["es"], 6));
    for language in LANGUAGES {
        let speakers = measured
            .iter()
            .filter(|m| m.languages.iter().any(|l| l == language))
            .count();
        assert_eq!(speakers, 8, "{language}");
    }
    // One more speaker per language whose connection flips during the load: outside the
    // measured set, since time offline costs them turns.
    let togglers: Vec<Member> = LANGUAGES
        .iter()
        .map(|language| team::hire(admin, &format!("Alterna {language}"), &[language], true))
        .collect();

    let client = load_client(Duration::from_secs(30));
    let next_call = AtomicUsize::new(0);
    let load_done = AtomicBool::new(false);
    let answers: Mutex<Vec<(usize, String, Outcome)>> = Mutex::new(Vec::new());
    let side: Mutex<Vec<(&str, Outcome)>> = Mutex::new(Vec::new());
    let handed_out: Mutex<Vec<i64>> = Mutex::new(Vec::new());
    let started = Instant::now();

    std::thread::scope(|scope| {
        let mut load = Vec::new();
        for thread in 0..CLIENTS {
            let (client, next_call, answers, handed_out, replicas) =
                (&client, &next_call, &answers, &handed_out, &replicas);
            load.push(scope.spawn(move || {
                let mut rng = Rng::new(thread as u64);
                let replica = thread % replicas.len();
                while next_call.fetch_add(1, Ordering::Relaxed) < CALLS {
                    let language = *rng.pick(&LANGUAGES);
                    let url =
                        replicas[replica].url(&format!("/consultor/da-vez?idioma={language}"));
                    let outcome = send(client.get(url).header("api-key", API_KEY));
                    if let Some(id) = outcome.protocol_id() {
                        handed_out.lock().unwrap().push(id);
                    }
                    answers
                        .lock()
                        .unwrap()
                        .push((replica, language.to_owned(), outcome));
                }
            }));
        }
        for (index, toggler) in togglers.iter().enumerate() {
            let (client, load_done, side, replicas) = (&client, &load_done, &side, &replicas);
            scope.spawn(move || {
                let mut online = true;
                let mut round = index;
                while !load_done.load(Ordering::Relaxed) {
                    online = !online;
                    round += 1;
                    let replica = &replicas[round % replicas.len()];
                    let url = replica.url(&format!(
                        "/consultor/{}/connection?status={online}",
                        toggler.id
                    ));
                    let outcome = send(client.put(url).header("api-key", API_KEY));
                    side.lock().unwrap().push(("connection", outcome));
                    std::thread::sleep(Duration::from_millis(15));
                }
            });
        }
        for editor in 0..2u64 {
            let (client, load_done, side, replicas, handed_out) =
                (&client, &load_done, &side, &replicas, &handed_out);
            scope.spawn(move || {
                let mut rng = Rng::new(1_000 + editor);
                let statuses = ["em_andamento", "fechado", "aberto"];
                let priorities = ["baixa", "normal", "alta", "urgente"];
                let mut edit = 0;
                while !load_done.load(Ordering::Relaxed) {
                    let target = {
                        let ids = handed_out.lock().unwrap();
                        (!ids.is_empty()).then(|| ids[rng.below(ids.len())])
                    };
                    if let Some(id) = target {
                        edit += 1;
                        let replica = rng.pick(replicas);
                        let body = json!({
                            "descricao": format!("edição {editor}-{edit}"),
                            "status": rng.pick(&statuses),
                            "prioridade": rng.pick(&priorities),
                        });
                        let outcome = send(
                            client
                                .put(replica.url(&format!("/protocolo/{id}")))
                                .header("api-key", API_KEY)
                                .json(&body),
                        );
                        side.lock().unwrap().push(("edit", outcome));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        }
        for handle in load {
            handle.join().unwrap();
        }
        load_done.store(true, Ordering::Relaxed);
    });
    let elapsed = started.elapsed();

    let answers = answers.into_inner().unwrap();
    let side = side.into_inner().unwrap();
    assert_eq!(answers.len(), CALLS);
    for (replica, language, outcome) in &answers {
        assert!(
            outcome.is(200),
            "replica {replica}, da-vez?idioma={language}: {}",
            outcome.describe()
        );
        let speaks = outcome.body["consultor_idiomas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == language.as_str());
        assert!(
            speaks,
            "{language} went to a consultant who does not speak it: {}",
            outcome.body
        );
    }
    for (kind, outcome) in &side {
        assert!(outcome.is(200), "{kind}: {}", outcome.describe());
    }
    let toggles = side
        .iter()
        .filter(|(kind, _)| *kind == "connection")
        .count();
    let edits = side.iter().filter(|(kind, _)| *kind == "edit").count();
    assert!(toggles > 0 && edits > 0, "toggles {toggles}, edits {edits}");

    // The table against the answers.
    let rows = assert_gapless(database);
    assert_eq!(rows.len(), CALLS, "one protocol per call, none else");
    let answered: Vec<&Outcome> = answers.iter().map(|(_, _, outcome)| outcome).collect();
    let unanswered = assert_answers_stored(&rows, &answered);
    assert_eq!(unanswered, 0);
    let numbers: HashSet<&str> = answered
        .iter()
        .map(|outcome| outcome.protocol_number().unwrap())
        .collect();
    assert_eq!(numbers.len(), CALLS, "numbers unique among the answers");
    assert_no_half_done_assignment(database);

    // Fairness within each group of consultants who speak the same languages.
    let counts = assignments_per_consultant(&rows);
    let groups = team::by_language_set(&measured);
    let spreads = assert_fair(&groups, &counts);
    let mut per_language: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for language in LANGUAGES {
        let got: Vec<usize> = measured
            .iter()
            .filter(|m| m.languages.len() == 1 && m.languages[0] == language)
            .map(|m| counts.get(&m.id).copied().unwrap_or(0))
            .collect();
        per_language.insert(
            language,
            (
                got.iter().copied().min().unwrap(),
                got.iter().copied().max().unwrap(),
            ),
        );
    }

    let latencies: Vec<Duration> = answered.iter().map(|outcome| outcome.elapsed).collect();
    println!(
        "replicas: {CALLS} da-vez calls from {CLIENTS} clients over 3 replicas in {elapsed:?} \
         ({:.0}/s; latency p50 {:?}, p99 {:?}, max {:?}), all 200; {toggles} connection toggles \
         and {edits} protocol edits, all 200; {} protocols, gapless; fairness (min, max) per \
         language set {spreads:?}; monolingual per language {per_language:?}",
        CALLS as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
        rows.len(),
    );
}

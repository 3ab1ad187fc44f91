//! Batched assignment on both backends: a batch gives exactly what its requests made one after
//! another give, and many threads gathered into batches keep every guarantee of the rotation.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use consultores_domain::{
    Assignment, AssignmentPort, AssignmentRequest, ConsultantRepository, DomainError, NewProtocol,
    ProtocolRepository, Recorded,
};
use consultores_persistence::testing::{now_micros, TestDatabase};

use crate::common::{
    actor, assignment_entries, big_pool, claim, consultant, count, counter, hire, language,
    on_both_backends_with_big_pools,
};
use crate::concurrency::burst;
use crate::language_queue::{tuesday_hours, tuesday_noon};

on_both_backends_with_big_pools!(
    a_batch_gives_what_the_same_calls_one_after_another_give,
    many_threads_mixing_languages_nobody_and_keys_keep_every_guarantee,
    a_batch_of_keys_answered_before_expired_and_twinned_gives_what_one_after_another_gives,
    a_batch_of_distinct_keys_answered_before_expired_and_new_gives_what_one_after_another_gives,
    twins_sent_to_a_batch_and_to_protocol_creation_at_once_are_answered_once,
    concurrent_batches_claiming_overlapping_keys_never_deadlock_nor_assign_twice,
    a_batch_moves_the_counter_once_per_number_taken_and_leaves_its_last_stamp,
    a_batch_applies_what_falls_due_between_its_requests_at_each_one_s_instant,
);

/// Four `pt` speakers and one `en` speaker; nobody speaks `de`.
fn staff(test: &TestDatabase) {
    let db = test.database();
    for (name, codes) in [
        ("Ana", &["pt"][..]),
        ("Bia", &["pt"]),
        ("Caio", &["pt"]),
        ("Davi", &["pt"]),
        ("Edu", &["en"]),
    ] {
        hire(&db, name, codes, now_micros());
    }
}

fn request(codes: &[&str], key: Option<(&str, &str)>) -> AssignmentRequest {
    let now = now_micros();
    AssignmentRequest {
        languages: codes.iter().map(|code| language(code)).collect(),
        now,
        claim: key.map(|(key, fingerprint)| claim(key, fingerprint, now)),
        actor: actor(),
        crm: None,
    }
}

/// What a caller can see of an outcome: consultant, number, language, replayed; or the error.
fn seen(outcome: &Result<Recorded<Assignment>, DomainError>) -> String {
    match outcome {
        Ok(done) => format!(
            "{} {} {:?} replayed={}",
            done.value.consultant.name.as_str(),
            done.value.protocol.number,
            done.value
                .protocol
                .language
                .as_ref()
                .map(|l| l.as_str().to_owned()),
            done.replayed
        ),
        Err(DomainError::NoneAvailable(language)) => format!("404 {}", language.as_str()),
        Err(DomainError::IdempotencyKeyReused) => "422 key reused".to_owned(),
        Err(other) => format!("error {other}"),
    }
}

/// Everything a batch writes, for comparing two databases.
fn written(test: &TestDatabase) -> (i64, i64, i64, Vec<String>) {
    (
        counter(test),
        count(test, "auditoria"),
        count(test, "idempotency_keys"),
        test.query_strings(
            "SELECT p.numero || ' ' || c.nome || ' ' || coalesce(p.idioma, '-') AS value \
             FROM protocolos p JOIN consultores c ON c.id = p.consultor_id ORDER BY p.numero",
        ),
    )
}

/// A fresh database on `test`'s backend, to run the same calls one after another.
fn another_like(test: &TestDatabase) -> TestDatabase {
    match test.backend() {
        consultores_persistence::Backend::Postgres => TestDatabase::postgres_with(big_pool()),
        consultores_persistence::Backend::Sqlite => TestDatabase::sqlite_with(big_pool()),
    }
}

/// Runs `batch` as one batch on `test` and its calls one after another on `sequential`, and
/// checks that callers see and the databases hold the same; returns what callers saw.
fn same_as_one_after_another(
    test: &TestDatabase,
    sequential: &TestDatabase,
    batch: Vec<AssignmentRequest>,
) -> Vec<String> {
    let one_by_one: Vec<String> = batch
        .iter()
        .map(|r| {
            seen(&sequential.database().assign_first(
                &r.languages,
                r.now,
                r.claim.clone(),
                &r.actor,
                None,
            ))
        })
        .collect();
    let batched: Vec<String> = test
        .database()
        .assign_batch(batch)
        .iter()
        .map(seen)
        .collect();
    assert_eq!(batched, one_by_one);
    assert_eq!(written(test), written(sequential));
    batched
}

fn a_batch_gives_what_the_same_calls_one_after_another_give(test: &TestDatabase) {
    let sequential = another_like(test);
    staff(test);
    staff(&sequential);
    // A key answered before the batch (replayed inside it), and one refused for another request.
    for db in [test.database(), sequential.database()] {
        db.assign_next(
            &language("pt"),
            now_micros(),
            Some(claim("antes", "GET pt", now_micros())),
            &actor(),
            None,
        )
        .unwrap();
    }
    let batch = vec![
        request(&["pt"], None),
        request(&["de"], None),
        request(&["de", "en"], None),
        request(&["pt"], Some(("k1", "GET pt"))),
        request(&["pt"], Some(("k1", "GET pt"))),
        request(&["pt"], Some(("k1", "GET en"))),
        request(&["de"], Some(("k2", "GET de"))),
        request(&["pt"], None),
        request(&["pt"], Some(("k2", "GET pt"))),
        request(&["en"], Some(("k2", "GET pt"))),
        request(&["en"], None),
        request(&["pt"], Some(("antes", "GET pt"))),
        request(&["pt"], Some(("antes", "GET en"))),
        request(&["de"], Some(("k3", "GET de"))),
        request(&["pt"], None),
    ];
    let batched = same_as_one_after_another(test, &sequential, batch);
    assert!(batched[1].starts_with("404 de"), "{batched:?}");
    assert!(batched[4].ends_with("replayed=true"), "{batched:?}");
    assert_eq!(batched[5], "422 key reused");
    assert!(
        batched[8].ends_with("replayed=false"),
        "k2 tried again: {batched:?}"
    );
    // k3 found nobody: released, as a rolled back request leaves it.
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM idempotency_keys WHERE chave = 'k3'"),
        0
    );
}

/// What the mixed calls below did: the numbers of fresh assignments, fresh assignments per
/// consultant's name, and the answers per shared key.
struct Tally {
    numbers: Vec<u64>,
    per_consultant: BTreeMap<String, usize>,
    per_key: HashMap<String, Vec<Recorded<Assignment>>>,
}

/// Sorts the outcomes of call `i` (`i % 4`: 0 in `de`, 1 under a shared key, else plain `pt`),
/// failing on any outcome such a call must not have.
fn tally(results: Vec<(usize, Result<Recorded<Assignment>, DomainError>)>) -> Tally {
    let mut numbers = Vec::new();
    let mut per_consultant: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_key: HashMap<String, Vec<Recorded<Assignment>>> = HashMap::new();
    for (i, outcome) in results {
        match (i % 4, outcome) {
            (0, Err(DomainError::NoneAvailable(language))) => assert_eq!(language.as_str(), "de"),
            (0, other) => panic!("{other:?}"),
            (_, Ok(done)) => {
                if i % 4 == 1 {
                    per_key
                        .entry(format!("{}", i % 6))
                        .or_default()
                        .push(done.clone());
                }
                if !done.replayed {
                    numbers.push(done.value.protocol.number.counter());
                    *per_consultant
                        .entry(done.value.consultant.name.as_str().to_owned())
                        .or_default() += 1;
                }
            }
            (_, Err(error)) => panic!("{error}"),
        }
    }
    Tally {
        numbers,
        per_consultant,
        per_key,
    }
}

fn many_threads_mixing_languages_nobody_and_keys_keep_every_guarantee(test: &TestDatabase) {
    staff(test);
    let db = test.database();
    // 96 calls: a quarter in a language nobody speaks, a quarter under 6 shared keys (twins
    // across batches and inside them), the rest plain `pt`; released together.
    let (results, elapsed) = burst(96, |i| {
        let r = match i % 4 {
            0 => request(&["de"], None),
            1 => request(&["pt"], Some((&format!("gemeo-{}", i % 6), "GET pt"))),
            _ => request(&["pt"], None),
        };
        let outcome = db.assign_first(&r.languages, r.now, r.claim.clone(), &r.actor, None);
        (i, outcome)
    });
    let Tally {
        numbers,
        per_consultant,
        per_key,
    } = tally(results);
    let fresh = assert_unique_and_gapless(numbers);
    // 48 plain + one fresh per shared key.
    assert_eq!(fresh, 48 + per_key.len() as u64);
    let (least, most) = (
        per_consultant.values().min().unwrap(),
        per_consultant.values().max().unwrap(),
    );
    assert!(most - least <= 1, "spread ≤ 1: {per_consultant:?}");
    assert_eq!(
        per_consultant.len(),
        4,
        "only pt speakers: {per_consultant:?}"
    );
    for (key, answers) in &per_key {
        assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "{key}");
        assert!(answers.iter().all(|a| a.value == answers[0].value), "{key}");
    }
    assert_eq!(counter(test), fresh as i64);
    assert_eq!(count(test, "protocolos"), fresh as i64);
    assert_eq!(
        assignment_entries(&db).len() as u64,
        fresh,
        "one audit entry per assignment"
    );
    println!(
        "{:?}: 96 mixed calls in {elapsed:?}, {fresh} assignments",
        test.backend()
    );
}

/// Checks that the protocol numbers handed out are 1..=n in some order; returns n.
fn assert_unique_and_gapless(mut numbers: Vec<u64>) -> u64 {
    numbers.sort_unstable();
    let fresh = numbers.len() as u64;
    assert_eq!(
        numbers,
        (1..=fresh).collect::<Vec<_>>(),
        "unique and gapless"
    );
    fresh
}

/// The staff on `test` and on a fresh database like it, each with keys `r1` and `r2` answered
/// for `GET pt` and `velha` for `GET en` long ago (its record's time is up, so the key is
/// claimed afresh); returns the fresh one, for the same calls one after another.
fn with_keys_answered_before(test: &TestDatabase) -> TestDatabase {
    let sequential = another_like(test);
    for db in [test, &sequential] {
        staff(db);
        answered_before(db, "r1", "GET pt", now_micros());
        answered_before(db, "r2", "GET pt", now_micros());
        answered_before(db, "velha", "GET en", now_micros() - Duration::days(3));
    }
    sequential
}

/// Assigns under `key` on `test` at `now` (answering the key before a batch).
fn answered_before(test: &TestDatabase, key: &str, fingerprint: &str, now: DateTime<Utc>) {
    test.database()
        .assign_next(
            &language("pt"),
            now,
            Some(claim(key, fingerprint, now)),
            &actor(),
            None,
        )
        .unwrap();
}

fn a_batch_of_keys_answered_before_expired_and_twinned_gives_what_one_after_another_gives(
    test: &TestDatabase,
) {
    let sequential = with_keys_answered_before(test);
    // (language, key, fingerprint)
    let batch: Vec<AssignmentRequest> = [
        ("pt", Some("r2"), "GET pt"),
        ("pt", Some("r1"), "GET en"),
        ("pt", Some("velha"), "GET pt"),
        ("pt", Some("n1"), "GET pt"),
        ("pt", Some("n1"), "GET pt"),
        ("pt", Some("r1"), "GET pt"),
        ("de", Some("n2"), "GET de"),
        ("pt", Some("n2"), "GET pt"),
        ("pt", None, ""),
        ("en", Some("n3"), "GET en"),
        ("pt", Some("r2"), "GET pt"),
        ("pt", Some("velha"), "GET en"),
        ("de", Some("n4"), "GET de"),
        ("pt", Some("n3"), "GET pt"),
    ]
    .into_iter()
    .map(|(code, key, fingerprint)| request(&[code], key.map(|key| (key, fingerprint))))
    .collect();
    let batched = same_as_one_after_another(test, &sequential, batch);
    let replayed = |i: usize| batched[i].ends_with("replayed=true");
    let fresh = |i: usize| batched[i].ends_with("replayed=false");
    assert!(
        replayed(0) && replayed(4) && replayed(5) && replayed(10),
        "{batched:?}"
    );
    assert!(fresh(2) && fresh(3) && fresh(7) && fresh(9), "{batched:?}");
    for refused in [1, 11, 13] {
        assert_eq!(batched[refused], "422 key reused", "{batched:?}");
    }
    assert!(batched[6].starts_with("404 de") && batched[12].starts_with("404 de"));
    let stored = |key: &str| stored_key(test, key);
    assert_eq!(stored("velha"), [format!("GET pt {}", true_text(test))]);
    assert_eq!(stored("n2"), [format!("GET pt {}", true_text(test))]);
    assert!(stored("n4").is_empty(), "released");
}

/// No key twice in the batch: on PostgreSQL the batch statement claims the keys itself, and a
/// request whose key has a live record comes back without a row (then replays it, or is
/// refused), among requests without a key and requests nobody is free for, in any position.
fn a_batch_of_distinct_keys_answered_before_expired_and_new_gives_what_one_after_another_gives(
    test: &TestDatabase,
) {
    let sequential = with_keys_answered_before(test);
    // (language, key, fingerprint)
    let batch: Vec<AssignmentRequest> = [
        ("pt", Some("r1"), "GET pt"),
        ("pt", None, ""),
        ("de", Some("n1"), "GET de"),
        ("pt", Some("r2"), "GET en"),
        ("pt", Some("velha"), "GET pt"),
        ("de", None, ""),
        ("pt", Some("n2"), "GET pt"),
        ("en", Some("n3"), "GET en"),
    ]
    .into_iter()
    .map(|(code, key, fingerprint)| request(&[code], key.map(|key| (key, fingerprint))))
    .collect();
    let batched = same_as_one_after_another(test, &sequential, batch);
    assert!(batched[0].ends_with("replayed=true"), "{batched:?}");
    assert_eq!(batched[3], "422 key reused", "{batched:?}");
    for fresh in [1, 4, 6, 7] {
        assert!(batched[fresh].ends_with("replayed=false"), "{batched:?}");
    }
    assert!(batched[2].starts_with("404 de") && batched[5].starts_with("404 de"));
    let stored = |key: &str| stored_key(test, key);
    assert_eq!(stored("velha"), [format!("GET pt {}", true_text(test))]);
    assert_eq!(stored("r2"), [format!("GET pt {}", true_text(test))]);
    assert!(stored("n1").is_empty(), "nobody was free: nothing stored");
}

/// The same keys sent at once to protocol creation (which claims its key on its own) and to
/// batched assignments (whose statement claims them): each key is answered by exactly one of
/// its two requests, and the other is refused as a reuse of the key with another request; no
/// deadlock, no failure, no number taken twice or lost.
fn twins_sent_to_a_batch_and_to_protocol_creation_at_once_are_answered_once(test: &TestDatabase) {
    staff(test);
    let db = test.database();
    const KEYS: usize = 24;
    let (results, _) = burst(2 * KEYS, |i| {
        let key = format!("gemea-{}", i / 2);
        let now = now_micros();
        if i % 2 == 0 {
            ProtocolRepository::create(
                &db,
                &NewProtocol::default(),
                now,
                Some(claim(&key, "POST /protocolo", now)),
                &actor(),
            )
            .map(|created| (key, created.replayed, created.value.number.counter()))
        } else {
            db.assign_first(
                &[language("pt")],
                now,
                Some(claim(&key, "GET pt", now)),
                &actor(),
                None,
            )
            .map(|done| (key, done.replayed, done.value.protocol.number.counter()))
        }
    });
    let mut numbers = Vec::new();
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in results {
        match outcome {
            Ok((key, replayed, number)) => {
                assert!(
                    !replayed,
                    "{key}: the other request differs, nothing to replay"
                );
                numbers.push(number);
                *answered.entry(key).or_default() += 1;
            }
            Err(DomainError::IdempotencyKeyReused) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(answered.len(), KEYS, "every key answered: {answered:?}");
    assert!(answered.values().all(|n| *n == 1), "{answered:?}");
    assert_eq!(assert_unique_and_gapless(numbers), KEYS as u64);
    assert_eq!(count(test, "idempotency_keys"), KEYS as i64);
}

/// The record under `key`: its fingerprint and whether it holds an answer.
fn stored_key(test: &TestDatabase, key: &str) -> Vec<String> {
    test.query_strings(&format!(
        "SELECT fingerprint || ' ' || CAST(length(resposta) > 0 AS TEXT) AS value \
         FROM idempotency_keys WHERE chave = '{key}'"
    ))
}

/// How `CAST(boolean AS TEXT)` spells true on this backend.
fn true_text(test: &TestDatabase) -> &'static str {
    match test.backend() {
        consultores_persistence::Backend::Postgres => "true",
        consultores_persistence::Backend::Sqlite => "1",
    }
}

fn concurrent_batches_claiming_overlapping_keys_never_deadlock_nor_assign_twice(
    test: &TestDatabase,
) {
    staff(test);
    let db = test.database();
    const KEYS: usize = 12;
    // 8 batches at once, each of 8 requests: 6 keys out of 12, every batch in its own order
    // (overlapping every other batch's), and 2 without a key.
    let (results, _) = burst(8, |thread| {
        let batch: Vec<AssignmentRequest> = (0..8)
            .map(|j| {
                if j % 4 == 3 {
                    return request(&["pt"], None);
                }
                let key = format!("chave-{}", (thread * 5 + j * 7) % KEYS);
                request(&["pt"], Some((&key, "GET pt")))
            })
            .collect();
        let keys: Vec<Option<String>> = batch
            .iter()
            .map(|r| r.claim.as_ref().map(|c| c.key.as_str().to_owned()))
            .collect();
        keys.into_iter()
            .zip(db.assign_batch(batch))
            .collect::<Vec<_>>()
    });
    let mut numbers = Vec::new();
    let mut per_key: HashMap<String, Vec<Assignment>> = HashMap::new();
    for (key, outcome) in results.into_iter().flatten() {
        let done = outcome.unwrap_or_else(|error| panic!("{key:?}: {error}"));
        if !done.replayed {
            numbers.push(done.value.protocol.number.counter());
        }
        if let Some(key) = key {
            per_key.entry(key).or_default().push(done.value);
        }
    }
    let fresh = assert_unique_and_gapless(numbers);
    // One assignment per distinct key and per request without one.
    assert_eq!(fresh, per_key.len() as u64 + 16);
    for (key, answers) in &per_key {
        assert!(answers.iter().all(|a| *a == answers[0]), "{key}");
    }
    assert_eq!(count(test, "idempotency_keys"), per_key.len() as i64);
    assert_eq!(counter(test), fresh as i64);
}

/// The counter after a batch: moved by the numbers taken (nobody available takes none), its
/// stamp the last one given, so the next assignment's stamp follows it. Callers' clocks run
/// backwards here, so every stamp after the first is the previous one plus 1 µs.
fn a_batch_moves_the_counter_once_per_number_taken_and_leaves_its_last_stamp(test: &TestDatabase) {
    staff(test);
    let before = counter(test);
    let start = now_micros();
    let at = |seconds_before: i64, codes: &[&str]| AssignmentRequest {
        now: start - Duration::seconds(seconds_before),
        ..request(codes, None)
    };
    let batch = vec![
        at(0, &["pt"]),
        at(1, &["de"]),
        at(2, &["pt"]),
        at(3, &["de"]),
        at(4, &["en"]),
        at(5, &["de"]),
    ];
    let stamps: Vec<Option<DateTime<Utc>>> = test
        .database()
        .assign_batch(batch)
        .into_iter()
        .map(|outcome| match outcome {
            Ok(done) => Some(done.value.protocol.created_at),
            Err(DomainError::NoneAvailable(_)) => None,
            Err(other) => panic!("{other}"),
        })
        .collect();
    let micros = Duration::microseconds;
    assert_eq!(
        stamps,
        vec![
            Some(start),
            None,
            Some(start + micros(1)),
            None,
            Some(start + micros(2)),
            None
        ]
    );
    assert_eq!(counter(test), before + 3);
    let next = test
        .database()
        .assign_first(
            &[language("pt")],
            start - Duration::seconds(6),
            None,
            &actor(),
            None,
        )
        .unwrap();
    assert_eq!(next.value.protocol.created_at, start + micros(3));
    assert_eq!(
        next.value.protocol.number.to_string(),
        format!("#{:05}", before + 4)
    );
}

/// The statements that look a batch's keys up in `idempotency_keys` probe its primary key, one
/// key at a time, however small the table was when the connection first ran them. Planned
/// once, on a new or emptied table, PostgreSQL's generic plan was a sequential scan (or, with
/// those off, a join reading the whole index), and a long-lived connection kept it while every
/// keyed request grew the table (autovacuum, which would re-plan after an ANALYZE, is off for
/// the table here, as it may be late or off on a server).
#[test]
fn key_lookups_keep_using_the_index_as_the_keys_table_grows() {
    let test = TestDatabase::postgres();
    staff(&test);
    test.execute(
        "ALTER TABLE idempotency_keys SET (autovacuum_enabled = false); \
         ANALYZE idempotency_keys;",
    );
    // One connection of its own, told apart by its name: its statistics reach the server when
    // it closes.
    let mut url = url::Url::parse(test.url()).unwrap();
    url.query_pairs_mut()
        .append_pair("application_name", "lote-de-chaves");
    let settings = consultores_persistence::PoolSettings {
        max_size: 1,
        ..consultores_persistence::testing::test_pool_settings()
    };
    let db = consultores_persistence::Database::connect(url.as_str(), &settings).unwrap();
    let keyed = |n: usize| vec![request(&["pt"], Some((&format!("chave-{n}"), "GET pt")))];
    // More than five runs: PostgreSQL settles on a generic plan for a prepared statement at its
    // sixth execution.
    for n in 0..8 {
        assert!(db.assign_batch(keyed(n))[0].is_ok());
    }
    test.execute(
        "INSERT INTO idempotency_keys (scope, chave, fingerprint, resposta, created_at, expires_at) \
         SELECT 'outro', 'chave-' || g, 'f', '', now(), now() + INTERVAL '1 day' \
         FROM generate_series(1, 20000) AS g",
    );
    let grown: usize = 30;
    for n in 8..8 + grown {
        assert!(db.assign_batch(keyed(n))[0].is_ok());
    }
    drop(db);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while test.query_i64(
        "SELECT count(*) AS value FROM pg_stat_activity WHERE application_name = 'lote-de-chaves'",
    ) > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch's connection did not close"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let scans = test.query_i64(
        "SELECT seq_scan AS value FROM pg_stat_user_tables WHERE relname = 'idempotency_keys'",
    );
    assert!(
        scans < i64::try_from(grown).unwrap(),
        "{scans} sequential scans of idempotency_keys: the key lookups kept a plan made for the \
         empty table"
    );
    // A probe by key reads at most the key's own entry; a join reading the whole index would
    // read the 20,000 others on every batch.
    let read = test.query_i64(
        "SELECT sum(idx_tup_read)::BIGINT AS value FROM pg_stat_user_indexes \
         WHERE relname = 'idempotency_keys'",
    );
    assert!(
        read < 10 * i64::try_from(grown).unwrap(),
        "{read} index entries of idempotency_keys read for {grown} batches of one key"
    );
}

/// Availability that falls due inside a batch, as the same calls one after another see it
/// (PostgreSQL reads the due probes once per batch: each request compares them with its own
/// `now`, and an evaluation inside the batch makes them be read again). An afternoon shift
/// (13:00–14:00 local) evaluated out at noon. A first batch: 12:30 finds nothing due; at 13:00
/// the shift has started (they are never served: the head). A second one, that starts with
/// nothing due: at 14:30 the other is the head; at 15:00 the afternoon shift, at the head, is
/// out of hours and evaluated out until midnight; a caller at 13:30 (a clock behind) must see
/// that evaluation as made after its instant and evaluate again: in hours, served.
fn a_batch_applies_what_falls_due_between_its_requests_at_each_one_s_instant(test: &TestDatabase) {
    let sequential = another_like(test);
    let mut ids = Vec::new();
    for db in [test.database(), sequential.database()] {
        let mut afternoon = consultant("Turno Tarde", &["pt"]);
        afternoon.rules = tuesday_hours(13 * 60, 14 * 60);
        let afternoon =
            ConsultantRepository::create(&db, &afternoon, tuesday_noon(), &actor()).unwrap();
        let always = hire(&db, "Sempre", &["pt"], tuesday_noon());
        let first = db
            .assign_first(&[language("pt")], tuesday_noon(), None, &actor(), None)
            .unwrap();
        assert_eq!(first.value.consultant.id, always.id);
        ids.push((afternoon.id, always.id));
    }
    assert_eq!(ids[0], ids[1]);
    let at = |minutes: i64| AssignmentRequest {
        now: tuesday_noon() + Duration::minutes(minutes),
        ..request(&["pt"], None)
    };
    let names = |batch| -> Vec<String> {
        same_as_one_after_another(test, &sequential, batch)
            .iter()
            .map(|seen| seen.split(' ').next().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names(vec![at(30), at(60)]), ["Sempre", "Turno"]);
    assert_eq!(
        names(vec![at(150), at(180), at(90)]),
        ["Sempre", "Sempre", "Turno"]
    );
}

//! Batched assignment on both backends: a batch gives exactly what its requests made one after
//! another give, and many threads gathered into batches keep every guarantee of the rotation.

use std::collections::{BTreeMap, HashMap};

use consultores_domain::{Assignment, AssignmentPort, AssignmentRequest, DomainError, Recorded};
use consultores_persistence::testing::{now_micros, TestDatabase};

use crate::common::{
    actor, assignment_entries, big_pool, claim, count, counter, hire, language,
    on_both_backends_with_big_pools,
};
use crate::concurrency::burst;

on_both_backends_with_big_pools!(
    a_batch_gives_what_the_same_calls_one_after_another_give,
    many_threads_mixing_languages_nobody_and_keys_keep_every_guarantee,
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

fn a_batch_gives_what_the_same_calls_one_after_another_give(test: &TestDatabase) {
    let sequential = match test.backend() {
        consultores_persistence::Backend::Postgres => TestDatabase::postgres_with(big_pool()),
        consultores_persistence::Backend::Sqlite => TestDatabase::sqlite_with(big_pool()),
    };
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
    assert_eq!(written(test), written(&sequential));
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
        mut numbers,
        per_consultant,
        per_key,
    } = tally(results);
    numbers.sort_unstable();
    let fresh = numbers.len() as u64;
    assert_eq!(
        numbers,
        (1..=fresh).collect::<Vec<_>>(),
        "unique and gapless"
    );
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

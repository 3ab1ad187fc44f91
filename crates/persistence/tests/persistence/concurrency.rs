//! Many threads at once, on both backends: unique and gapless numbers, fair rotation, no false
//! "nobody available", exactly-once idempotency.

use std::collections::{BTreeMap, HashSet};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use consultores_domain::{
    Assignment, AssignmentPort, AuditValue, ConsultantId, DomainError, NewProtocol,
    ProtocolRepository, Recorded,
};
use consultores_persistence::testing::{now_micros, TestDatabase};

use crate::common::{
    actor, assign_next, assignment_entries, claim, count, counter, hire, language,
    on_both_backends_with_big_pools,
};

on_both_backends_with_big_pools!(
    sixty_four_assignments_share_eight_consultants_fairly_with_contiguous_numbers,
    four_languages_interleaved_stay_fair_and_contiguous,
    thirty_two_unassigned_protocols_get_contiguous_numbers,
    a_burst_larger_than_the_pool_of_consultants_never_finds_nobody,
    sixteen_idempotent_twins_open_exactly_one_protocol,
    sixty_four_parallel_assignments_write_exactly_sixty_four_audit_entries,
);

/// Runs `task(i)` on `threads` threads released together; returns the results in thread order.
pub(crate) fn burst<T: Send>(
    threads: usize,
    task: impl Fn(usize) -> T + Sync,
) -> (Vec<T>, Duration) {
    let barrier = Barrier::new(threads);
    let started = Instant::now();
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = &barrier;
                let task = &task;
                scope.spawn(move || {
                    barrier.wait();
                    task(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    (results, started.elapsed())
}

fn add_consultants(
    test: &TestDatabase,
    prefix: &str,
    codes: &[&str],
    how_many: usize,
) -> Vec<ConsultantId> {
    let db = test.database();
    (0..how_many)
        .map(|i| hire(&db, &format!("{prefix} {i}"), codes, now_micros()).id)
        .collect()
}

fn assert_contiguous(mut numbers: Vec<u64>, first: u64) {
    numbers.sort_unstable();
    let expected: Vec<u64> = (first..first + numbers.len() as u64).collect();
    assert_eq!(numbers, expected, "numbers are unique and gapless");
}

/// [`burst`] of assignments, every one of which succeeded.
fn assigned_in_burst(
    threads: usize,
    task: impl Fn(usize) -> Result<Recorded<Assignment>, DomainError> + Sync,
) -> (Vec<Recorded<Assignment>>, Duration) {
    let (results, elapsed) = burst(threads, task);
    (results.into_iter().map(|r| r.unwrap()).collect(), elapsed)
}

/// The assignments' protocol numbers are 1 to their count.
fn assert_numbers_contiguous(assignments: &[Recorded<Assignment>]) {
    let numbers = assignments
        .iter()
        .map(|a| a.value.protocol.number.counter())
        .collect();
    assert_contiguous(numbers, 1);
}

fn tally(assignments: &[Recorded<Assignment>]) -> BTreeMap<ConsultantId, usize> {
    let mut per_consultant = BTreeMap::new();
    for assignment in assignments {
        *per_consultant
            .entry(assignment.value.consultant.id)
            .or_default() += 1;
    }
    per_consultant
}

fn sixty_four_assignments_share_eight_consultants_fairly_with_contiguous_numbers(
    test: &TestDatabase,
) {
    let ids = add_consultants(test, "Consultor pt", &["pt"], 8);
    let db = test.database();
    let (assignments, elapsed) = assigned_in_burst(64, |_| assign_next(&db, "pt", now_micros()));
    assert_numbers_contiguous(&assignments);
    let per_consultant = tally(&assignments);
    assert_eq!(per_consultant.keys().copied().collect::<Vec<_>>(), ids);
    assert!(
        per_consultant.values().all(|&n| n == 8),
        "{per_consultant:?}"
    );
    assert_eq!(count(test, "protocolos"), 64);
    assert_eq!(counter(test), 64);
    println!(
        "{:?}: 64 assignments over 8 consultants in {elapsed:?}",
        test.backend()
    );
}

fn four_languages_interleaved_stay_fair_and_contiguous(test: &TestDatabase) {
    let codes = ["pt", "en", "es", "fr"];
    let mut ids = Vec::new();
    for code in codes {
        ids.push(add_consultants(
            test,
            &format!("Consultor {code}"),
            &[code],
            4,
        ));
    }
    let db = test.database();
    let (assignments, elapsed) =
        assigned_in_burst(64, |i| assign_next(&db, codes[i % 4], now_micros()));
    assert_numbers_contiguous(&assignments);
    let per_consultant = tally(&assignments);
    assert_eq!(per_consultant.len(), 16);
    assert!(
        per_consultant.values().all(|&n| n == 4),
        "{per_consultant:?}"
    );
    for (i, assignment) in assignments.iter().enumerate() {
        let code = language(codes[i % 4]);
        assert_eq!(assignment.value.protocol.language.as_ref(), Some(&code));
        assert!(ids[i % 4].contains(&assignment.value.consultant.id));
    }
    println!(
        "{:?}: 64 assignments in 4 languages in {elapsed:?}",
        test.backend()
    );
}

fn thirty_two_unassigned_protocols_get_contiguous_numbers(test: &TestDatabase) {
    let db = test.database();
    let (results, elapsed) = burst(32, |_| {
        ProtocolRepository::create(&db, &NewProtocol::default(), now_micros(), None, &actor())
    });
    let numbers = results
        .into_iter()
        .map(|r| r.unwrap().value.number.counter())
        .collect();
    assert_contiguous(numbers, 1);
    assert_eq!(counter(test), 32);
    println!(
        "{:?}: 32 unassigned protocols in {elapsed:?}",
        test.backend()
    );
}

fn a_burst_larger_than_the_pool_of_consultants_never_finds_nobody(test: &TestDatabase) {
    add_consultants(test, "Poucos", &["pt"], 3);
    let db = test.database();
    let (results, elapsed) = burst(64, |_| assign_next(&db, "pt", now_micros()));
    let none_available = results
        .iter()
        .filter(|r| matches!(r, Err(DomainError::NoneAvailable(_))))
        .count();
    assert_eq!(none_available, 0);
    let assignments: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_numbers_contiguous(&assignments);
    let per_consultant = tally(&assignments);
    let (min, max) = (
        per_consultant.values().min().unwrap(),
        per_consultant.values().max().unwrap(),
    );
    assert!(
        max - min <= 1,
        "strict queue order keeps the counts within one: {per_consultant:?}"
    );
    println!(
        "{:?}: 64 assignments over 3 consultants in {elapsed:?}, {per_consultant:?}",
        test.backend()
    );
}

fn sixteen_idempotent_twins_open_exactly_one_protocol(test: &TestDatabase) {
    add_consultants(test, "Gêmeos", &["pt"], 4);
    let db = test.database();
    let now = now_micros();
    let key = claim("twin-key", "GET /consultor/da-vez?idioma=pt", now);
    let (results, _) = burst(16, |_| {
        db.assign_next(&language("pt"), now, Some(key.clone()), &actor(), None)
    });
    let results: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1);
    let distinct: HashSet<_> = results.iter().map(|r| r.value.protocol.id).collect();
    assert_eq!(distinct.len(), 1);
    assert!(results.iter().all(|r| r.value == results[0].value));
    assert_eq!(count(test, "protocolos"), 1);
    assert_eq!(counter(test), 1);

    let (results, _) = burst(16, |_| {
        ProtocolRepository::create(
            &db,
            &NewProtocol::default(),
            now,
            Some(claim("twin-2", "GET /gerar-protocolo", now)),
            &actor(),
        )
    });
    let results: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1);
    assert_eq!(count(test, "protocolos"), 2);
}

fn sixty_four_parallel_assignments_write_exactly_sixty_four_audit_entries(test: &TestDatabase) {
    add_consultants(test, "Consultor auditado", &["pt"], 8);
    let db = test.database();
    let (assignments, _) = assigned_in_burst(64, |_| assign_next(&db, "pt", now_micros()));
    let entries = assignment_entries(&db);
    assert_eq!(entries.len(), 64);
    // One entry per assignment: each protocol and each stamp exactly once, on its consultant.
    let recorded: HashSet<(i64, i64)> = entries
        .iter()
        .map(|entry| {
            let Some(AuditValue::Int(protocol)) =
                entry.changes.get("protocolo_id").map(|c| c.after.clone())
            else {
                panic!("no protocolo_id in {entry:?}");
            };
            (entry.entity_id, protocol)
        })
        .collect();
    let expected: HashSet<(i64, i64)> = assignments
        .iter()
        .map(|a| (a.value.consultant.id.0, a.value.protocol.id.0))
        .collect();
    assert_eq!(recorded, expected);
    let stamps: HashSet<_> = entries
        .iter()
        .map(|entry| {
            entry
                .changes
                .get("ultimo_atendimento")
                .unwrap()
                .after
                .clone()
        })
        .collect();
    assert_eq!(stamps.len(), 64, "each assignment recorded its own stamp");
    assert_eq!(
        test.query_i64(
            "SELECT CAST(count(*) AS BIGINT) AS value FROM auditoria WHERE acao = 'atribuicao'"
        ),
        64
    );
}

//! Availability evaluated off the request path (migration `2026-11-15-000001_fuso_padrao`): a
//! change of `DEFAULT_TIME_ZONE` recorded at start-up re-evaluates the consultants without a zone
//! of their own, and chunks of due changes applied by timers (several replicas at once) never
//! deadlock with assignments nor change who is served.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use consultores_domain::{
    ConsultantId, ConsultantPatch, ConsultantRepository, DomainError, Limit, RuleSettings,
    WeeklySchedule, WorkingHours, Zone,
};
use consultores_persistence::testing::{test_pool_settings, TestDatabase};
use consultores_persistence::{Database, DefaultZoneRecord};

use crate::common::{actor, assign_next, big_pool, consultant, counter, on_both_backends};
use crate::concurrency::burst;

on_both_backends!(
    a_changed_default_zone_serves_at_once_a_consultant_without_a_zone_of_their_own,
    the_same_default_zone_at_restart_marks_nobody,
);

#[test]
fn due_changes_are_applied_in_chunks_until_nothing_is_due() {
    due_changes_in_chunks(&TestDatabase::postgres());
}

#[test]
fn a_chunk_on_sqlite_applies_at_most_its_limit() {
    let test = TestDatabase::sqlite();
    test.execute(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 5) \
         INSERT INTO consultores (nome, status_online) SELECT 'Livre ' || n, true FROM g",
    );
    test.execute(
        "INSERT INTO consultor_idiomas (consultor_id, idioma, posicao) \
         SELECT id, 'pt', 0 FROM consultores WHERE nome LIKE 'Livre %'",
    );
    let db = test.database();
    let chunks: Vec<usize> = (0..4)
        .map(|_| db.apply_due_availability(Utc::now(), 2).unwrap())
        .collect();
    assert_eq!(chunks, [2, 2, 1, 0]);
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM consultor_fila"),
        5
    );
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM consultores WHERE proxima_mudanca = '-infinity'"
        ),
        0
    );
}

#[test]
fn timers_applying_chunks_during_assignments_deadlock_with_none_and_change_nobody_served() {
    timers_during_assignments(&TestDatabase::postgres_with(big_pool()));
}

/// Tuesday 2026-11-24, 15:30 UTC: 12:30 in São Paulo.
fn tuesday_half_past_three_utc() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 30, 0).unwrap()
}

fn utc_zone() -> Zone {
    Zone::parse("UTC").unwrap()
}

/// Another `Database` on the same database, with `zone` as its default: a restart with another
/// configuration.
fn restarted_with(test: &TestDatabase, zone: Zone) -> Database {
    Database::connect(test.url(), &test_pool_settings())
        .unwrap()
        .with_default_time_zone(zone)
}

fn served(db: &Database, at: DateTime<Utc>) -> Option<ConsultantId> {
    match assign_next(db, "pt", at) {
        Ok(recorded) => Some(recorded.value.consultant.id),
        Err(DomainError::NoneAvailable(_)) => None,
        Err(other) => panic!("{other:?}"),
    }
}

/// A consultant without a zone of their own, working Tuesdays 15:00–16:00 local time: out of
/// hours at 15:30 UTC under São Paulo (12:30), within them under UTC.
fn hire_afternoon_shift(db: &Database) -> ConsultantId {
    let mut new = consultant("Sem Fuso", &["pt"]);
    new.rules = RuleSettings {
        schedule: Some(WeeklySchedule::new(vec![WorkingHours::new(
            2,
            15 * 60,
            16 * 60,
        )
        .unwrap()])),
        ..RuleSettings::default()
    };
    ConsultantRepository::create(db, &new, tuesday_half_past_three_utc(), &actor())
        .unwrap()
        .id
}

fn a_changed_default_zone_serves_at_once_a_consultant_without_a_zone_of_their_own(
    test: &TestDatabase,
) {
    let before = test.database();
    assert_eq!(
        before.record_default_time_zone().unwrap(),
        DefaultZoneRecord::Changed {
            previous: None,
            marked: 0
        },
        "a fresh database has no zone recorded and nobody to mark"
    );
    let id = hire_afternoon_shift(&before);
    let at = tuesday_half_past_three_utc();
    // Evaluated under São Paulo: out of their hours until 15:00 local (18:00 UTC).
    assert_eq!(served(&before, at), None);
    assert_eq!(served(&before, at + Duration::minutes(1)), None);

    let after = restarted_with(test, utc_zone());
    let record = after.record_default_time_zone().unwrap();
    assert_eq!(
        record,
        DefaultZoneRecord::Changed {
            previous: Some("America/Sao_Paulo".to_owned()),
            marked: 1
        }
    );
    assert_eq!(
        test.query_strings("SELECT fuso_padrao AS value FROM controle_protocolo WHERE id = 1"),
        ["UTC"]
    );
    assert_eq!(served(&after, at + Duration::minutes(2)), Some(id));
}

fn the_same_default_zone_at_restart_marks_nobody(test: &TestDatabase) {
    let first = restarted_with(test, utc_zone());
    first.record_default_time_zone().unwrap();
    hire_afternoon_shift(&first);
    let at = tuesday_half_past_three_utc() + Duration::hours(1);
    // 16:30 UTC: out of hours under UTC; evaluated, with a next change.
    assert_eq!(served(&first, at), None);

    let again = restarted_with(test, utc_zone());
    assert_eq!(
        again.record_default_time_zone().unwrap(),
        DefaultZoneRecord::Unchanged
    );
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM consultores WHERE proxima_mudanca = '-infinity'"
        ),
        0,
        "nobody marked to be evaluated"
    );
    assert_eq!(served(&again, at), None);
}

/// `count` consultants named `<prefix> <n>` speaking `languages`, with `horarios` (SQL
/// text or NULL), seeded by SQL as a bulk import would: every one marked to be evaluated.
fn seed(test: &TestDatabase, prefix: &str, count: usize, languages: &[&str], horarios: &str) {
    test.execute(&format!(
        "INSERT INTO consultores (nome, status_online, horarios) \
         SELECT '{prefix} ' || g, true, {horarios} FROM generate_series(1, {count}) g"
    ));
    for (position, code) in languages.iter().enumerate() {
        test.execute(&format!(
            "INSERT INTO consultor_idiomas (consultor_id, idioma, posicao) \
             SELECT id, '{code}', {position} FROM consultores WHERE nome LIKE '{prefix} %'"
        ));
    }
}

/// Working hours (SQL text) on a weekday three days away from today in São Paulo: out of hours
/// for the whole test, whenever it runs.
fn hours_on_another_day() -> String {
    let today = Utc::now()
        .with_timezone(&Zone::SAO_PAULO.tz())
        .weekday()
        .number_from_monday();
    let day = (today + 2) % 7 + 1;
    format!("'[{{\"dia\":{day},\"inicio\":\"08:00\",\"fim\":\"18:00\"}}]'")
}

fn ids_named(test: &TestDatabase, prefix: &str) -> Vec<i64> {
    test.query_strings(&format!(
        "SELECT id::TEXT AS value FROM consultores WHERE nome LIKE '{prefix} %' ORDER BY id"
    ))
    .iter()
    .map(|id| id.parse().unwrap())
    .collect()
}

fn due_now(test: &TestDatabase) -> i64 {
    test.query_i64(
        "SELECT count(*) AS value FROM consultores \
         WHERE proxima_mudanca <= now() OR disponibilidade_avaliada_em > now()",
    )
}

fn due_changes_in_chunks(test: &TestDatabase) {
    seed(test, "Livre", 150, &["pt", "en"], "NULL");
    seed(test, "Fora", 300, &["pt"], &hours_on_another_day());
    let db = test.database();
    let chunks: Vec<usize> = (0..4)
        .map(|_| db.apply_due_availability(Utc::now(), 200).unwrap())
        .collect();
    assert_eq!(chunks, [200, 200, 50, 0]);
    assert_eq!(due_now(test), 0);
    // The queue holds the available ones in both their languages, nobody else; the others wait
    // for their next shift.
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM consultor_fila"),
        300
    );
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM consultor_fila f JOIN consultores c \
             ON c.id = f.consultor_id WHERE c.nome LIKE 'Fora %'"
        ),
        0
    );
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM consultores \
             WHERE nome LIKE 'Fora %' AND proxima_mudanca > now()"
        ),
        300
    );
}

/// Writes that mark consultants to be evaluated without changing who may be served: one outside
/// their hours switched off and on line, one available given another open limit (their entry
/// is re-evaluated with the same key).
fn remark(db: &Database, outside: &[i64], available: &[i64], round: usize) -> Result<(), String> {
    let limit = Limit::new(9_000 + (round % 2) as i64).unwrap();
    let patches = [
        (
            outside[round % outside.len()],
            ConsultantPatch::online(false),
        ),
        (
            outside[round % outside.len()],
            ConsultantPatch::online(true),
        ),
        (
            available[round % available.len()],
            ConsultantPatch {
                open_limit: Some(Some(limit)),
                ..ConsultantPatch::default()
            },
        ),
    ];
    for (id, patch) in patches {
        ConsultantRepository::update(db, ConsultantId(id), &patch, Utc::now(), &actor())
            .map_err(|e| format!("writer: {e:?}"))?;
    }
    Ok(())
}

/// 100 consultants always available and 200 outside their hours, all to be evaluated (as after
/// a bulk import); 8 threads assign while 2 timers apply chunks in a loop and a writer marks
/// consultants on both sides again and again ([`remark`]). No call fails
/// (a deadlock would be an error), the numbers are gapless, the available ones are served in
/// turn, the others never.
fn timers_during_assignments(test: &TestDatabase) {
    seed(test, "Livre", 100, &["pt"], "NULL");
    seed(test, "Fora", 200, &["pt"], &hours_on_another_day());
    let available = ids_named(test, "Livre");
    let outside = ids_named(test, "Fora");
    let db = test.database();
    const ASSIGNERS: usize = 8;
    const ROUNDS: usize = 40;
    let assigning = AtomicUsize::new(ASSIGNERS);
    let done = AtomicBool::new(false);
    let (results, _) = burst(ASSIGNERS + 3, |thread| -> Result<Vec<i64>, String> {
        let mut served = Vec::new();
        if thread < ASSIGNERS {
            for _ in 0..ROUNDS {
                let recorded = assign_next(&db, "pt", Utc::now()).map_err(|e| format!("{e:?}"))?;
                served.push(recorded.value.consultant.id.0);
            }
            if assigning.fetch_sub(1, Ordering::SeqCst) == 1 {
                done.store(true, Ordering::SeqCst);
            }
        } else if thread < ASSIGNERS + 2 {
            while !done.load(Ordering::SeqCst) {
                db.apply_due_availability(Utc::now(), 50)
                    .map_err(|e| format!("timer: {e:?}"))?;
            }
        } else {
            let mut round = 0;
            while !done.load(Ordering::SeqCst) {
                remark(&db, &outside, &available, round)?;
                round += 1;
            }
        }
        Ok(served)
    });
    let served: Vec<i64> = results
        .into_iter()
        .flat_map(|result| result.unwrap_or_else(|error| panic!("{error}")))
        .collect();
    let total = ASSIGNERS * ROUNDS;
    assert_eq!(served.len(), total);
    assert_eq!(counter(test), total as i64);
    let numbers = test.query_strings("SELECT numero AS value FROM protocolos ORDER BY numero");
    let expected: Vec<String> = (1..=total).map(|n| format!("#{n:05}")).collect();
    assert_eq!(numbers, expected, "gapless, no duplicates");
    let mut times: HashMap<i64, usize> = HashMap::new();
    for id in &served {
        *times.entry(*id).or_default() += 1;
    }
    assert!(
        outside.iter().all(|id| !times.contains_key(id)),
        "served outside their hours"
    );
    // In turn: 320 assignments over 100 consultants, 3 or 4 each.
    let (fewest, most) = available.iter().fold((usize::MAX, 0), |(lo, hi), id| {
        let n = times.get(id).copied().unwrap_or(0);
        (lo.min(n), hi.max(n))
    });
    assert_eq!((fewest, most), (total / 100, total.div_ceil(100)));
}

//! The queue per language and availability as data (migration
//! `2026-10-01-000000_fila_por_idioma` on PostgreSQL, `2026-11-15-000000_fila_por_idioma` on
//! SQLite): consultants enter and leave the queue when their shift starts or ends, the head of a
//! language is one index entry whatever the others hold, and concurrent switches and rule changes
//! never lose anyone from the queue.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use consultores_domain::{
    queue_head, AssignmentPort, AssignmentRequest, ConsultantId, ConsultantPatch,
    ConsultantRepository, DomainError, QueueHousekeeping, RuleSettings, WeeklySchedule,
    WorkingHours,
};
use consultores_persistence::testing::{
    TestDatabase, POSTGRES_ASSIGNMENT_STATEMENT, SQLITE_DUE_STATEMENTS, SQLITE_HEAD_STATEMENT,
};

use crate::common::{
    actor, assign_next, big_pool, chosen, consultant, hire, language, on_both_backends,
    on_both_backends_with_big_pools, switch_online,
};
use crate::concurrency::burst;

on_both_backends!(
    a_shift_that_starts_or_ends_while_queued_moves_the_consultant_in_and_out,
    a_caller_whose_clock_is_behind_sees_availability_at_its_own_instant,
);

mod concurrent {
    use super::*;
    on_both_backends_with_big_pools!(
        switches_and_hours_changed_during_assignments_lose_nobody_from_the_queue
    );
}

mod the_head_of_a_language_reads_one_entry_whatever_the_others_hold {
    use super::*;

    #[test]
    fn postgres() {
        head_reads_one_entry(&TestDatabase::postgres_with(big_pool()));
    }

    #[test]
    fn sqlite() {
        head_reads_one_entry_on_sqlite(&TestDatabase::sqlite());
    }
}

/// PostgreSQL only: SQLite removes an index entry when its row changes.
#[test]
fn the_queue_upkeep_keeps_the_head_lookup_short_after_many_assignments() {
    head_walk_after_many_assignments(&TestDatabase::postgres_with(big_pool()));
}

mod sqlite_upkeep {
    use super::*;

    #[test]
    fn the_triggers_mark_the_changes_that_may_make_someone_available() {
        marks_on_sqlite(&TestDatabase::sqlite());
    }

    #[test]
    fn a_changed_default_zone_marks_everyone_without_a_zone_of_their_own() {
        default_zone_marks_on_sqlite(&TestDatabase::sqlite());
    }
}

/// Tuesday 2026-11-24, 12:00 in São Paulo (UTC-3): in the past, so the keys consultants get
/// when created sort before the stamps of the assignments (taken by the database's clock).
pub(crate) fn tuesday_noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
}

fn assign(test: &TestDatabase, at: DateTime<Utc>) -> Option<ConsultantId> {
    chosen(test, "pt", at)
}

pub(crate) fn tuesday_hours(start: u16, end: u16) -> RuleSettings {
    RuleSettings {
        schedule: Some(WeeklySchedule::new(vec![
            WorkingHours::new(2, start, end).unwrap()
        ])),
        ..RuleSettings::default()
    }
}

fn a_shift_that_starts_or_ends_while_queued_moves_the_consultant_in_and_out(test: &TestDatabase) {
    let db = test.database();
    let mut afternoon = consultant("Turno Tarde", &["pt"]);
    afternoon.rules = tuesday_hours(13 * 60, 14 * 60);
    let afternoon =
        ConsultantRepository::create(&db, &afternoon, tuesday_noon(), &actor()).unwrap();
    let always = hire(&db, "Sempre", &["pt"], tuesday_noon());
    let at_minutes = |minutes| assign(test, tuesday_noon() + Duration::minutes(minutes));
    let at_hours = |hours| assign(test, tuesday_noon() + Duration::hours(hours));
    // Never served, the afternoon shift would be the head: outside their hours it is skipped.
    assert_eq!(at_minutes(0), Some(always.id));
    assert_eq!(at_minutes(30), Some(always.id));
    // 13:00 local: their shift starts while they wait out of the queue; they are the head.
    assert_eq!(at_hours(1), Some(afternoon.id));
    assert_eq!(at_minutes(61), Some(always.id));
    // 14:00: their shift ends while they sit at the head of the queue: skipped, not served.
    assert_eq!(at_hours(2), Some(always.id));
    // Switched offline, the other is nobody; a new shift later today brings the first back.
    switch_online(
        &db,
        always.id,
        false,
        tuesday_noon() + Duration::hours(2),
        &actor(),
    );
    assert_eq!(at_hours(3), None);
    let patch = ConsultantPatch {
        schedule: Some(tuesday_hours(15 * 60, 16 * 60).schedule),
        ..ConsultantPatch::default()
    };
    ConsultantRepository::update(
        &db,
        afternoon.id,
        &patch,
        tuesday_noon() + Duration::hours(3),
        &actor(),
    )
    .unwrap();
    assert_eq!(at_minutes(3 * 60 + 1), Some(afternoon.id));
    // Wednesday: no hours that day; back online, the other is served.
    switch_online(
        &db,
        always.id,
        true,
        tuesday_noon() + Duration::hours(24),
        &actor(),
    );
    assert_eq!(at_hours(24), Some(always.id));
    assert_eq!(at_hours(25), Some(always.id));
}

/// 16 assigning threads and 4 threads switching consultants offline and online and moving their
/// hours, all at once; afterwards everyone is switched online with hours covering now, and the
/// next assignments must follow the domain's policy over the stored pool: nobody was lost from
/// the queue (nor served while switched offline).
fn switches_and_hours_changed_during_assignments_lose_nobody_from_the_queue(test: &TestDatabase) {
    let db = test.database();
    let ids: Vec<ConsultantId> = (0..12)
        .map(|i| {
            hire(
                &db,
                &format!("Concorrente {i:02}"),
                &["pt", "en"],
                tuesday_noon(),
            )
            .id
        })
        .collect();
    let calls = AtomicUsize::new(0);
    let (results, _) = burst(20, |thread| {
        let mut served = Vec::new();
        for round in 0..12 {
            let at = tuesday_noon() + Duration::milliseconds((thread * 100 + round) as i64);
            if thread < 4 {
                let id = ids[(thread * 5 + round) % ids.len()];
                let patch = match round % 3 {
                    0 => ConsultantPatch::online(false),
                    1 => ConsultantPatch {
                        online: Some(true),
                        schedule: Some(tuesday_hours(14 * 60, 15 * 60).schedule),
                        ..ConsultantPatch::default()
                    },
                    _ => ConsultantPatch {
                        schedule: Some(None),
                        ..ConsultantPatch::default()
                    },
                };
                ConsultantRepository::update(&db, id, &patch, at, &actor()).unwrap();
            } else {
                calls.fetch_add(1, Ordering::Relaxed);
                match assign_next(&db, "pt", at) {
                    Ok(assigned) => served.push(assigned.value.consultant.online),
                    Err(DomainError::NoneAvailable(_)) => {}
                    Err(other) => panic!("{other:?}"),
                }
            }
        }
        served
    });
    assert!(
        results.iter().flatten().all(|online| *online),
        "an assignment went to a consultant switched offline"
    );
    assert_eq!(calls.load(Ordering::Relaxed), 16 * 12);
    let later = tuesday_noon() + Duration::hours(1);
    for &id in &ids {
        let patch = ConsultantPatch {
            online: Some(true),
            schedule: Some(None),
            ..ConsultantPatch::default()
        };
        ConsultantRepository::update(&db, id, &patch, later, &actor()).unwrap();
    }
    for turn in 0..(2 * ids.len()) {
        let now = later + Duration::seconds(turn as i64);
        let pool = ConsultantRepository::list(&db, &Default::default()).unwrap();
        let expected = queue_head(&pool, &language("pt"), now).map(|c| c.id);
        assert!(expected.is_some());
        assert_eq!(assign(test, now), expected, "turn {turn}");
    }
}

/// 3,000 online consultants who speak only `en` and 1,000 `pt` speakers outside their hours, all
/// never served (so ahead of everyone in a single global queue), and 5 `pt` speakers available:
/// after one assignment (which applies the due transitions) the `pt` queue holds only the
/// available ones, and the head query is one probe of the per-language index.
fn head_reads_one_entry(test: &TestDatabase) {
    test.execute(
        "INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online, \
         horarios) \
         SELECT 'Fila ' || n, TRUE, TRUE, TRUE, \
                CASE WHEN n BETWEEN 3001 AND 4000 \
                     THEN '[{\"dia\":2,\"inicio\":\"20:00\",\"fim\":\"21:00\"}]' END \
         FROM generate_series(1, 4005) AS n;
         INSERT INTO consultor_idiomas (consultor_id, idioma, posicao) \
         SELECT id, CASE WHEN id <= 3000 THEN 'en' ELSE 'pt' END, 0 FROM consultores;
         ANALYZE consultores; ANALYZE consultor_idiomas;",
    );
    let first = assign(test, tuesday_noon()).unwrap();
    assert_eq!(first.0, 4001);
    test.execute("ANALYZE consultor_fila");
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM consultor_fila WHERE idioma = 'pt'"),
        5
    );
    let plan = head_plan(test).join("\n");
    println!("{plan}");
    assert!(plan.contains("consultor_fila_cabeca_idx"), "{plan}");
    assert!(
        !plan.contains("Seq Scan on consultores") && !plan.contains("rows=3000"),
        "{plan}"
    );
    assert_eq!(assign(test, tuesday_noon()).unwrap().0, 4002);
}

/// The lines of `EXPLAIN (ANALYZE, BUFFERS)` of one head lookup of the `pt` queue.
fn head_plan(test: &TestDatabase) -> Vec<String> {
    let head = POSTGRES_ASSIGNMENT_STATEMENT.replace("$1", "'pt'");
    test.execute("DROP TABLE IF EXISTS plan_lines; CREATE TABLE plan_lines (n serial, line text)");
    test.execute(&format!(
        "DO $$ DECLARE plan_line text; BEGIN
           FOR plan_line IN EXECUTE $q$EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {head}$q$ LOOP
             INSERT INTO plan_lines (line) VALUES (plan_line);
           END LOOP;
         END $$"
    ));
    test.query_strings("SELECT line AS value FROM plan_lines ORDER BY n")
}

/// The pages (shared buffers) one head lookup of the `pt` queue reads.
fn head_lookup_buffers(test: &TestDatabase) -> i64 {
    let plan = head_plan(test);
    // The first "Buffers:" line is the whole statement's.
    let line = plan
        .iter()
        .find(|line| line.contains("Buffers:"))
        .unwrap_or_else(|| panic!("no buffers in {plan:?}"));
    line.split_whitespace()
        .find_map(|part| part.strip_prefix("hit="))
        .map(|hits| hits.trim_end_matches(',').parse().unwrap())
        .unwrap_or_else(|| panic!("no buffer hits in {line:?}"))
}

/// 1,000 `pt` speakers served 8 times each: every assignment leaves the entry it moved in the
/// head index, just before the new head. The head lookup then reads every page of them; after
/// the queues' upkeep it reads a few pages again.
fn head_walk_after_many_assignments(test: &TestDatabase) {
    test.execute(
        "ALTER TABLE consultor_fila SET (autovacuum_enabled = false);
         INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online) \
         SELECT 'Fila ' || n, TRUE, TRUE, TRUE FROM generate_series(1, 1000) AS n;
         INSERT INTO consultor_idiomas (consultor_id, idioma, posicao) \
         SELECT id, 'pt', 0 FROM consultores;
         ANALYZE consultores; ANALYZE consultor_idiomas;",
    );
    let db = test.database();
    let start = tuesday_noon();
    for batch in 0..250 {
        let requests = (0..32)
            .map(|i| AssignmentRequest {
                languages: vec![language("pt")],
                now: start + Duration::milliseconds(batch * 32 + i),
                claim: None,
                actor: actor(),
                crm: None,
            })
            .collect();
        assert!(db.assign_batch(requests).iter().all(Result::is_ok));
    }
    let before = head_lookup_buffers(test);
    db.tidy_queues().unwrap();
    let after = head_lookup_buffers(test);
    println!("head lookup: {before} buffers before the upkeep, {after} after");
    assert!(after <= 10, "{after} buffers after the upkeep");
    assert!(before > 3 * after, "{before} before, {after} after");
}

/// At 15:00 a caller evaluates the afternoon shift (13:00–14:00) out until midnight; a caller
/// whose clock reads 13:30 (behind, as another replica's may) must still find them available.
fn a_caller_whose_clock_is_behind_sees_availability_at_its_own_instant(test: &TestDatabase) {
    let db = test.database();
    let mut afternoon = consultant("Turno Tarde", &["pt"]);
    afternoon.rules = tuesday_hours(13 * 60, 14 * 60);
    let afternoon =
        ConsultantRepository::create(&db, &afternoon, tuesday_noon(), &actor()).unwrap();
    let always = hire(&db, "Sempre", &["pt"], tuesday_noon());
    assert_eq!(
        assign(test, tuesday_noon() + Duration::hours(3)),
        Some(always.id)
    );
    assert_eq!(
        assign(test, tuesday_noon() + Duration::minutes(90)),
        Some(afternoon.id)
    );
}

/// 3,000 online consultants who speak only `en` and 3,000 `pt` speakers outside their hours,
/// all never served (so ahead of everyone in a single global queue), and 5 `pt` speakers
/// available: after one assignment (which applies the due evaluations) the `pt` queue holds only
/// the available ones, its head read is one probe of the per-language index (no sort), the due
/// evaluations are probes of their indexes, and the next assignment reads one consultant row
/// (the walk of the global queue read 3,000).
fn head_reads_one_entry_on_sqlite(test: &TestDatabase) {
    test.execute(
        "INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online, \
         horarios) \
         WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6005) \
         SELECT 'Fila ' || i, 1, 1, 1, \
                CASE WHEN i BETWEEN 3001 AND 6000 \
                     THEN '[{\"dia\":2,\"inicio\":\"20:00\",\"fim\":\"21:00\"}]' END \
         FROM n;
         INSERT INTO consultor_idiomas (consultor_id, idioma, posicao) \
         SELECT id, CASE WHEN id <= 3000 THEN 'en' ELSE 'pt' END, 0 FROM consultores;
         ANALYZE;",
    );
    let first = assign(test, tuesday_noon()).unwrap();
    assert_eq!(first.0, 6001);
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM consultor_fila WHERE idioma = 'pt'"),
        5
    );
    let plan = test
        .sqlite_query_plan(SQLITE_HEAD_STATEMENT, "pt")
        .join("\n");
    assert!(plan.contains("consultor_fila_cabeca_idx"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    for due in SQLITE_DUE_STATEMENTS {
        let plan = test
            .sqlite_query_plan(due, "2026-11-24T15:00:00.000000+00:00")
            .join("\n");
        assert!(plan.contains("USING COVERING INDEX"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
    }
    let before = test.sqlite_queue_rows_read();
    assert_eq!(assign(test, tuesday_noon()).unwrap().0, 6002);
    let read = test.sqlite_queue_rows_read() - before;
    assert_eq!(read, 1, "consultant rows read by the second assignment");
}

/// The ids of the consultants marked to be evaluated.
fn marked(test: &TestDatabase) -> Vec<String> {
    test.query_strings(
        "SELECT CAST(id AS TEXT) AS value FROM consultores \
         WHERE proxima_mudanca = '-infinity' ORDER BY id",
    )
}

/// Every change PostgreSQL's trigger lists marks the consultant; others (the name, a protocol
/// opened) do not; a language removed takes its entry with it.
fn marks_on_sqlite(test: &TestDatabase) {
    let db = test.database();
    let one = hire(&db, "Unico", &["pt"], tuesday_noon());
    assert_eq!(marked(test), vec![one.id.0.to_string()]);
    assert_eq!(assign(test, tuesday_noon()), Some(one.id));
    assert!(marked(test).is_empty());
    let id = one.id.0;
    let marking = [
        format!("UPDATE consultores SET status_online = 0 WHERE id = {id}"),
        format!("UPDATE consultores SET status_online = 1 WHERE id = {id}"),
        format!("UPDATE consultores SET status_ativo_sequencial = 0 WHERE id = {id}"),
        format!("UPDATE consultores SET limite_diario = 3 WHERE id = {id}"),
        format!("UPDATE consultores SET limite_abertos = 3 WHERE id = {id}"),
        format!("UPDATE consultores SET fuso_horario = 'Europe/Lisbon' WHERE id = {id}"),
        format!("UPDATE consultores SET horarios = '[]' WHERE id = {id}"),
        format!("UPDATE consultores SET ausencias = '[]' WHERE id = {id}"),
        format!("UPDATE consultores SET removido_em = '2026-11-24T15:00:00.000000+00:00' WHERE id = {id}"),
        format!("UPDATE consultores SET chave_fila = 7 WHERE id = {id}"),
        format!("UPDATE consultores SET atendimentos_no_dia = 9 WHERE id = {id}"),
        format!("UPDATE protocolos SET status = 'fechado' WHERE consultor_id = {id}"),
        format!("INSERT INTO consultor_idiomas (consultor_id, idioma, posicao) VALUES ({id}, 'en', 1)"),
    ];
    for change in &marking {
        test.execute("UPDATE consultores SET proxima_mudanca = NULL");
        test.execute(change);
        assert_eq!(marked(test), vec![id.to_string()], "{change}");
    }
    let not_marking = [
        format!("UPDATE consultores SET nome = 'Outro' WHERE id = {id}"),
        format!("UPDATE consultores SET peso = 2 WHERE id = {id}"),
        format!(
            "UPDATE consultores SET protocolos_abertos = protocolos_abertos + 1 WHERE id = {id}"
        ),
    ];
    for change in &not_marking {
        test.execute("UPDATE consultores SET proxima_mudanca = NULL");
        test.execute(change);
        assert!(marked(test).is_empty(), "{change}");
    }
    // Back to available in both languages, then `en` removed: its entry goes with it.
    test.execute(&format!(
        "UPDATE consultores SET removido_em = NULL, status_ativo_sequencial = 1, \
         limite_abertos = NULL, horarios = NULL, ausencias = NULL, protocolos_abertos = 0, \
         atendimentos_no_dia = 0 \
         WHERE id = {id}"
    ));
    assert_eq!(chosen(test, "en", tuesday_noon()), Some(one.id));
    assert_eq!(
        test.query_i64(&format!(
            "SELECT count(*) AS value FROM consultor_fila WHERE consultor_id = {id}"
        )),
        2
    );
    test.execute(&format!(
        "DELETE FROM consultor_idiomas WHERE consultor_id = {id} AND idioma = 'en'"
    ));
    assert_eq!(
        test.query_strings(&format!(
            "SELECT idioma AS value FROM consultor_fila WHERE consultor_id = {id}"
        )),
        vec!["pt".to_owned()]
    );
    assert_eq!(chosen(test, "en", tuesday_noon()), None);
}

/// Marks only who has no zone of their own: their hours are read in the default zone.
fn default_zone_marks_on_sqlite(test: &TestDatabase) {
    let db = test.database();
    let mut own = consultant("Lisboa", &["pt"]);
    own.rules = tuesday_hours(13 * 60, 14 * 60);
    let own = ConsultantRepository::create(&db, &own, tuesday_noon(), &actor()).unwrap();
    let mut default = consultant("Padrao", &["pt"]);
    default.rules = tuesday_hours(13 * 60, 14 * 60);
    let default = ConsultantRepository::create(&db, &default, tuesday_noon(), &actor()).unwrap();
    test.execute(&format!(
        "UPDATE consultores SET fuso_horario = 'Europe/Lisbon' WHERE id = {}",
        own.id.0
    ));
    assert_eq!(assign(test, tuesday_noon()), None);
    assert!(marked(test).is_empty());
    test.mark_all_without_own_zone();
    assert_eq!(marked(test), vec![default.id.0.to_string()]);
}

//! Failures: gapless numbering when an assignment fails after taking a number, crash safety at
//! every step of the write transactions, and a database that is down or drops connections.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use consultores_domain::{
    AssignmentPort, ConsultantFilter, ConsultantRepository, DomainError, IdempotencyClaim,
    NewProtocol, ProtocolRepository, StoreHealth,
};
use consultores_persistence::testing::{now_micros, FaultAction, FaultPoint, TestDatabase};
use consultores_persistence::{Database, PersistenceError, PoolSettings};

use crate::common::{actor, assign_next, claim, count, counter, hire, language, on_both_backends};

on_both_backends!(
    a_failure_after_taking_a_number_consumes_none,
    a_conflicting_protocol_number_rolls_the_assignment_back,
    an_assignment_interrupted_at_any_step_leaves_nothing_half_written,
    a_protocol_creation_interrupted_at_any_step_leaves_nothing_half_written,
);

const POINTS: [FaultPoint; 4] = [
    FaultPoint::AfterClaim,
    FaultPoint::AfterCounter,
    FaultPoint::AfterWrite,
    FaultPoint::BeforeCommit,
];
const ACTIONS: [FaultAction; 3] = [
    FaultAction::Fail,
    FaultAction::Panic,
    FaultAction::DropConnection,
];

/// Everything an assignment writes, its audit entry included.
fn snapshot(test: &TestDatabase) -> (i64, i64, i64, i64, Vec<String>) {
    (
        counter(test),
        count(test, "protocolos"),
        count(test, "idempotency_keys"),
        count(test, "auditoria"),
        test.query_strings(
            "SELECT CAST(id AS TEXT) || ' ' || coalesce(CAST(ultimo_atendimento AS TEXT), '-') AS value \
             FROM consultores ORDER BY id",
        ),
    )
}

fn a_failure_after_taking_a_number_consumes_none(test: &TestDatabase) {
    let db = test.database();
    hire(&db, "Joana", &["pt"], now_micros());
    let before = snapshot(test);
    test.inject_fault(FaultPoint::AfterCounter, FaultAction::Fail);
    assert!(matches!(
        assign_next(&db, "pt", now_micros()),
        Err(DomainError::Internal(_))
    ));
    assert_eq!(snapshot(test), before);
    let next = assign_next(&db, "pt", now_micros()).unwrap().value;
    assert_eq!(next.protocol.number.to_string(), "#00001");
}

fn a_conflicting_protocol_number_rolls_the_assignment_back(test: &TestDatabase) {
    let db = test.database();
    hire(&db, "Karina", &["pt"], now_micros());
    let first = assign_next(&db, "pt", now_micros()).unwrap().value;
    assert_eq!(first.protocol.number.to_string(), "#00001");
    // A row that already holds the next number (as a hand-made import could leave).
    test.execute(
        "INSERT INTO protocolos (numero, prioridade, status, created_at, updated_at) \
         VALUES ('#00002', 'normal', 'aberto', '2026-01-01T00:00:00.000000+00:00', \
         '2026-01-01T00:00:00.000000+00:00')",
    );
    let before = snapshot(test);
    assert!(matches!(
        assign_next(&db, "pt", now_micros()),
        Err(DomainError::Internal(_))
    ));
    assert_eq!(
        snapshot(test),
        before,
        "counter, stamp and protocols unchanged"
    );
    test.execute("DELETE FROM protocolos WHERE numero = '#00002'");
    let next = assign_next(&db, "pt", now_micros()).unwrap().value;
    assert_eq!(next.protocol.number.to_string(), "#00002");
}

/// Interrupts `write` at every point with every action, each time with a fresh claim for
/// `request`: nothing is left behind, and the pool recovers (broken connections are replaced)
/// with the key still usable for the next number. `write` answers whether it replayed and the
/// number it wrote.
fn assert_every_interruption_leaves_nothing(
    test: &TestDatabase,
    request: &str,
    write: impl Fn(IdempotencyClaim) -> Result<(bool, u64), DomainError>,
) {
    let mut expected_number = 1;
    for point in POINTS {
        for action in ACTIONS {
            let before = snapshot(test);
            test.inject_fault(point, action);
            let key = claim(
                &format!("crash-{point:?}-{action:?}"),
                request,
                now_micros(),
            );
            let outcome = catch_unwind(AssertUnwindSafe(|| write(key.clone())));
            assert!(
                !matches!(outcome, Ok(Ok(_))),
                "{point:?}/{action:?} must interrupt the write"
            );
            assert_eq!(snapshot(test), before, "{point:?}/{action:?} left a trace");
            let (replayed, number) = write(key).unwrap();
            assert!(!replayed);
            assert_eq!(number, expected_number);
            expected_number += 1;
        }
    }
}

fn an_assignment_interrupted_at_any_step_leaves_nothing_half_written(test: &TestDatabase) {
    let db = test.database();
    for name in ["Laura", "Marcos", "Nina"] {
        hire(&db, name, &["pt"], now_micros());
    }
    assert_every_interruption_leaves_nothing(test, "GET /consultor/da-vez?idioma=pt", |key| {
        let assigned = db.assign_next(&language("pt"), now_micros(), Some(key), &actor(), None)?;
        Ok((assigned.replayed, assigned.value.protocol.number.counter()))
    });
}

fn a_protocol_creation_interrupted_at_any_step_leaves_nothing_half_written(test: &TestDatabase) {
    let db = test.database();
    assert_every_interruption_leaves_nothing(test, "GET /gerar-protocolo", |key| {
        let created = ProtocolRepository::create(
            &db,
            &NewProtocol::default(),
            now_micros(),
            Some(key),
            &actor(),
        )?;
        Ok((created.replayed, created.value.number.counter()))
    });
}

#[test]
fn a_database_that_is_down_answers_unavailable_quickly() {
    let settings = PoolSettings {
        max_size: 2,
        connect_timeout: Duration::from_secs(1),
        ..PoolSettings::default()
    };
    let started = Instant::now();
    let db = Database::connect("postgres://postgres@127.0.0.1:1/nothing_here", &settings).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "start-up does not wait for the database"
    );

    let started = Instant::now();
    assert!(matches!(
        assign_next(&db, "pt", now_micros()),
        Err(DomainError::Unavailable(_))
    ));
    assert!(matches!(db.ping(), Err(DomainError::Unavailable(_))));
    assert!(matches!(
        ConsultantRepository::list(&db, &ConsultantFilter::default()),
        Err(DomainError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the checkout timeout: {:?}",
        started.elapsed()
    );
    assert!(matches!(
        db.run_migrations(),
        Err(PersistenceError::Unavailable(_))
    ));
}

#[test]
fn unsupported_urls_are_refused_with_one_clear_line() {
    let error =
        Database::connect("mysql://root:secret@db/app", &PoolSettings::default()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("DATABASE_URL") && message.contains("sqlite://"),
        "{message}"
    );
    assert!(
        !message.contains("secret") && !message.contains('\n'),
        "{message}"
    );
}

#[test]
fn connections_killed_by_the_server_are_replaced_transparently() {
    let test = TestDatabase::postgres();
    let db = test.database();
    hire(&db, "Otávio", &["pt"], now_micros());
    db.ping().unwrap();
    // What a PostgreSQL restart does to every pooled connection.
    let admin = TestDatabase::postgres();
    let name = test.url().rsplit('/').next().unwrap().to_owned();
    admin.execute(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    for _ in 0..3 {
        assign_next(&db, "pt", now_micros()).unwrap();
        ConsultantRepository::list(&db, &ConsultantFilter::default()).unwrap();
    }
}

#[test]
fn a_sqlite_url_creates_the_file_and_its_directory() {
    let dir = std::env::temp_dir().join(format!("consultores-sqlite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("nested").join("app.db");
    for url in [
        format!("sqlite://{}", path.display()),
        format!("sqlite:{}", path.display()),
    ] {
        let db = Database::connect(&url, &PoolSettings::default()).unwrap();
        assert_eq!(db.backend(), consultores_persistence::Backend::Sqlite);
        db.run_migrations().unwrap();
        db.ping().unwrap();
        assert!(path.exists());
    }
    let db = Database::connect(
        &format!("sqlite://{}", path.display()),
        &PoolSettings::default(),
    )
    .unwrap();
    assert!(db.run_migrations().unwrap().is_empty(), "already migrated");
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

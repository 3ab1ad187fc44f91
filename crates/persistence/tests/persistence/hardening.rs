//! Found in review: a caller whose clock runs ahead, a consultant's
//! languages changed while an assignment waits on their row, and stored rows the domain cannot
//! read (left out of listings, never committed by an assignment).

use std::time::{Duration, Instant};

use chrono::Utc;
use consultores_domain::{
    Assignment, ConsultantId, ConsultantPatch, ConsultantRepository, DomainError, NewProtocol,
    ProtocolRepository, Recorded,
};
use consultores_persistence::testing::{now_micros, TestDatabase};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::common::{
    actor, assign_next, consultant, counter, create_protocol, hire, languages, on_both_backends,
    on_both_backends_with_big_pools,
};
use crate::concurrency::burst;

on_both_backends!(
    a_caller_clock_a_year_ahead_never_moves_stamps_into_the_future,
    reordering_languages_keeps_them_all,
    listings_leave_out_a_row_the_domain_cannot_read_and_report_it,
    an_assignment_whose_row_cannot_be_read_back_is_rolled_back,
);

fn a_caller_clock_a_year_ahead_never_moves_stamps_into_the_future(test: &TestDatabase) {
    let db = test.database();
    hire(&db, "Ana Souza", &["pt"], now_micros());
    let ahead = now_micros() + chrono::Duration::days(365);
    let assigned = assign_next(&db, "pt", ahead).unwrap().value;
    let generated = create_protocol(&db, &NewProtocol::default(), ahead);
    // A caller with a right clock afterwards is not pushed into the future either.
    let next = assign_next(&db, "pt", now_micros()).unwrap().value;
    let bound = Utc::now() + chrono::Duration::minutes(1);
    for stamp in [
        assigned.protocol.created_at,
        assigned.consultant.last_served_at.unwrap(),
        generated.created_at,
        next.protocol.created_at,
    ] {
        assert!(
            stamp < bound,
            "a stamp went to the caller's future: {stamp}"
        );
    }
    assert!(next.protocol.created_at > generated.created_at);
}

fn reordering_languages_keeps_them_all(test: &TestDatabase) {
    let db = test.database();
    let ana = hire(&db, "Ana Souza", &["pt", "en", "es"], now_micros());
    for order in [&["es", "pt", "en"][..], &["en", "pt"], &["fr", "en"]] {
        let patch = ConsultantPatch {
            languages: Some(languages(order)),
            ..ConsultantPatch::default()
        };
        let updated = ConsultantRepository::update(&db, ana.id, &patch, now_micros(), &actor())
            .unwrap()
            .unwrap();
        let codes: Vec<&str> = updated.languages.iter().map(|l| l.as_str()).collect();
        assert_eq!(codes, order);
        let stored = ConsultantRepository::get(&db, ana.id).unwrap().unwrap();
        assert_eq!(stored.languages, updated.languages);
    }
}

/// Waits until a session of `test`'s database waits on a lock (the assignment blocked on the
/// consultant's row), failing after 60 s.
fn wait_for_a_blocked_session(observer: &mut PgConnection) {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock' \
               AND query LIKE '%consultores_atribuir%'",
        )
        .get_result::<Waiting>(observer)
        .unwrap();
        if waiting.n > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the assignment never waited on the row"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An assignment in pt that waits on consultant `id`'s row while `sql` changes their languages
/// as `PUT /consultor/{id}` does for a change of languages only (lock the row, rewrite its
/// language rows, leave the row itself alone), then sees that transaction commit: its result.
fn assign_pt_while_languages_change(
    test: &TestDatabase,
    id: ConsultantId,
    sql: &str,
) -> Result<Recorded<Assignment>, DomainError> {
    let db = test.database();
    let mut observer = PgConnection::establish(test.url()).unwrap();
    let mut writer = PgConnection::establish(test.url()).unwrap();
    writer
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM consultores WHERE id = {0} FOR UPDATE; {1}",
            id.0, sql
        ))
        .unwrap();
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| assign_next(&db, "pt", now_micros()));
        wait_for_a_blocked_session(&mut observer);
        writer.batch_execute("COMMIT").unwrap();
        waiting.join().unwrap()
    })
}

#[test]
fn an_assignment_that_waited_on_a_consultant_uses_the_languages_committed_meanwhile() {
    let test = TestDatabase::postgres();
    let db = test.database();
    let ana = hire(&db, "Ana Souza", &["pt"], now_micros());
    let bia = hire(&db, "Bia Lima", &["pt"], now_micros());

    // Ana, the head of the queue, loses pt while an assignment in pt waits on her row.
    let assigned = assign_pt_while_languages_change(
        &test,
        ana.id,
        &format!(
            "UPDATE consultor_idiomas SET idioma = 'en' WHERE consultor_id = {}",
            ana.id.0
        ),
    );
    assert_eq!(
        assigned.unwrap().value.consultant.id,
        bia.id,
        "pt went to a consultant who no longer speaks it"
    );

    // Now Bia, the only pt speaker, loses it the same way: nobody is available, no number used.
    let before = counter(&test);
    let assigned = assign_pt_while_languages_change(
        &test,
        bia.id,
        &format!(
            "DELETE FROM consultor_idiomas WHERE consultor_id = {0}; \
                  INSERT INTO consultor_idiomas VALUES ({0}, 'es', 0)",
            bia.id.0
        ),
    );
    assert!(
        matches!(assigned, Err(DomainError::NoneAvailable(_))),
        "{assigned:?}"
    );
    assert_eq!(counter(&test), before);
}

#[test]
fn a_reorder_committed_while_an_assignment_waits_still_counts_as_speaking() {
    let test = TestDatabase::postgres();
    let db = test.database();
    let ana = hire(&db, "Ana Souza", &["pt", "en"], now_micros());
    let assigned = assign_pt_while_languages_change(
        &test,
        ana.id,
        &format!(
            "UPDATE consultor_idiomas SET posicao = 1 - posicao WHERE consultor_id = {}",
            ana.id.0
        ),
    );
    let assigned = assigned.unwrap().value;
    assert_eq!(assigned.consultant.id, ana.id);
    let codes: Vec<&str> = assigned
        .consultant
        .languages
        .iter()
        .map(|l| l.as_str())
        .collect();
    assert_eq!(codes, ["en", "pt"]);
}

fn listings_leave_out_a_row_the_domain_cannot_read_and_report_it(test: &TestDatabase) {
    let db = test.database();
    let reported = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = reported.clone();
    db.report_unreadable_rows(std::sync::Arc::new(move |row: &str| {
        sink.lock().unwrap().push(row.to_owned());
    }));
    let ana = hire(&db, "Ana Souza", &["pt"], now_micros());
    let bia = hire(&db, "Bia Lima", &["pt"], now_micros());
    let first = create_protocol(&db, &NewProtocol::default(), now_micros());
    ProtocolRepository::create(&db, &NewProtocol::default(), now_micros(), None, &actor()).unwrap();
    // Written by hand, breaking the domain's rules.
    test.execute(&format!(
        "UPDATE consultores SET nome = 'Al' WHERE id = {}",
        ana.id.0
    ));
    test.execute(&format!(
        "UPDATE protocolos SET numero = '#0042' WHERE id = {}",
        first.id.0
    ));

    let listed =
        ConsultantRepository::list(&db, &consultores_domain::ConsultantFilter::default()).unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [bia.id]);
    let filter = consultores_domain::ProtocolFilter::new(None, 0, 100).unwrap();
    assert_eq!(ProtocolRepository::list(&db, &filter).unwrap().len(), 1);
    // The row alone is an error about that row.
    assert!(ConsultantRepository::get(&db, ana.id).is_err());
    let reported = reported.lock().unwrap();
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert!(
        reported[0].contains(&format!("consultant {}", ana.id.0)),
        "{reported:?}"
    );
    assert!(
        reported[1].contains(&format!("protocol {}", first.id.0)),
        "{reported:?}"
    );
}

fn an_assignment_whose_row_cannot_be_read_back_is_rolled_back(test: &TestDatabase) {
    let db = test.database();
    let ana = hire(&db, "Ana Souza", &["pt"], now_micros());
    test.execute(&format!(
        "UPDATE consultores SET nome = 'Al' WHERE id = {}",
        ana.id.0
    ));
    let served = test.query_strings(&format!(
        "SELECT CAST(ultimo_atendimento AS TEXT) AS value FROM consultores WHERE id = {}",
        ana.id.0
    ));
    let before = counter(test);
    let assigned = assign_next(&db, "pt", now_micros());
    assert!(assigned.is_err(), "{assigned:?}");
    assert_eq!(counter(test), before, "the number was consumed");
    assert_eq!(crate::common::count(test, "protocolos"), 0);
    assert_eq!(
        test.query_strings(&format!(
            "SELECT CAST(ultimo_atendimento AS TEXT) AS value FROM consultores WHERE id = {}",
            ana.id.0
        )),
        served
    );
}

/// Sixteen replicas starting at once on a database without keys: one key is created (and
/// printed), the others find it.
fn sixteen_first_starts_at_once_create_one_key(test: &TestDatabase) {
    let db = test.database();
    let (created, _) = burst(16, |_| {
        let new = consultores_domain::NewApiKey {
            description: Some("primeira".to_owned()),
            scope: consultores_domain::ApiKeyScope::Admin,
        };
        db.create_first_key(&new, now_micros(), &actor()).unwrap()
    });
    let created = created.into_iter().flatten().count();
    assert_eq!(created, 1);
    assert_eq!(crate::common::count(test, "api_keys"), 1);
}

mod with_big_pools {
    use super::*;
    on_both_backends_with_big_pools!(sixteen_first_starts_at_once_create_one_key);
}

/// A SQLite writer that cannot get its turn within the pool's timeout is told the store is
/// unavailable (503) instead of waiting for ever.
#[test]
fn a_sqlite_writer_waits_for_its_turn_no_longer_than_the_pool_timeout() {
    let test = TestDatabase::sqlite_with(consultores_persistence::PoolSettings {
        max_size: 4,
        connect_timeout: Duration::from_millis(300),
        ..consultores_persistence::PoolSettings::default()
    });
    let db = test.database();
    let answer = test.holding_the_sqlite_writer(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        let writer = db.clone();
        std::thread::spawn(move || {
            let written = ConsultantRepository::create(
                &writer,
                &consultant("Ana Souza", &["pt"]),
                now_micros(),
                &actor(),
            );
            let assigned = assign_next(&writer, "pt", now_micros());
            let _ = sender.send((written.map(|_| ()), assigned.map(|_| ())));
        });
        receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("the writers waited without end")
    });
    assert!(
        matches!(answer.0, Err(DomainError::Unavailable(_))),
        "{:?}",
        answer.0
    );
    assert!(
        matches!(answer.1, Err(DomainError::Unavailable(_))),
        "{:?}",
        answer.1
    );
    // Once the turn is free, writes go through again.
    hire(&db, "Ana Souza", &["pt"], now_micros());
}

//! The waiting queue on both backends: immediate assignment, waiting without being jumped,
//! arrival order across languages and alternatives, expiry, cancel, idempotency, and many
//! threads queueing and dispatching at once.

use std::sync::Barrier;

use chrono::{DateTime, Duration, Utc};
use consultores_domain::{
    Actor, AuditAction, AuditFilter, AuditLog, ConsultantId, ConsultantRepository, CrmTarget,
    DomainError, MaxWait, NewWaitingEntry, Priority, WaitingEntry, WaitingEntryId, WaitingFilter,
    WaitingLanguages, WaitingQueue, WaitingState,
};
use consultores_persistence::testing::{now_micros, TestDatabase};
use consultores_persistence::Database;

use crate::common::{
    actor, assign_next, claim, consultant, count, counter, hire, language, on_both_backends,
    on_both_backends_with_big_pools, switch_online,
};

on_both_backends!(
    an_entry_is_assigned_at_once_when_someone_is_free,
    an_entry_waits_and_da_vez_does_not_jump_it,
    entries_are_served_in_arrival_order_across_languages_and_alternatives,
    an_entry_expires_after_its_maximum_wait,
    a_waiting_entry_can_be_cancelled_but_an_assigned_one_cannot,
    a_retried_enqueue_returns_the_same_entry,
    positions_count_competing_entries_and_pages_follow_the_cursor,
);

fn new_entry(primary: &str, alternatives: &[&str]) -> NewWaitingEntry {
    NewWaitingEntry {
        languages: WaitingLanguages::new(
            language(primary),
            alternatives.iter().map(|code| language(code)).collect(),
        )
        .unwrap(),
        reference: Some("cliente-1".to_owned()),
        description: None,
        priority: Priority::High,
        crm: None,
        max_wait: MaxWait::default(),
    }
}

fn enqueue(db: &Database, entry: &NewWaitingEntry, now: DateTime<Utc>) -> WaitingEntry {
    db.enqueue(entry, now, None, &actor(), false).unwrap().value
}

fn dispatch(db: &Database, now: DateTime<Utc>) -> consultores_domain::DispatchRound {
    db.dispatch(now, &Actor::queue("fila-teste"), false, 50)
        .unwrap()
}

fn online(db: &Database, id: ConsultantId, now: DateTime<Utc>, on: bool) {
    switch_online(db, id, on, now, &actor());
}

fn audit_count(db: &Database, action: AuditAction) -> usize {
    let filter = AuditFilter {
        action: Some(action),
        ..AuditFilter::default()
    };
    AuditLog::list(db, &filter).unwrap().entries.len()
}

fn an_entry_is_assigned_at_once_when_someone_is_free(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let joao = hire(&db, "João Silva", &["pt"], now);
    let entry = enqueue(&db, &new_entry("pt", &[]), now);
    assert_eq!(entry.state, WaitingState::Assigned);
    assert_eq!(entry.position, None);
    let protocol = entry.protocol.expect("a protocol");
    assert_eq!(protocol.consultant_id, Some(joao.id));
    assert_eq!(protocol.priority, Priority::High, "the entry's priority");
    assert_eq!(entry.consultant.map(|c| c.id), Some(joao.id));
    assert!(entry.assigned_at.is_some());
    assert_eq!(audit_count(&db, AuditAction::WaitingEntryCreated), 1);
    assert_eq!(audit_count(&db, AuditAction::WaitingEntryAssigned), 1);
    assert_eq!(audit_count(&db, AuditAction::Assignment), 1);
}

fn an_entry_waits_and_da_vez_does_not_jump_it(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let joao = hire(&db, "João Silva", &["pt"], now);
    online(&db, joao.id, now, false);
    let entry = enqueue(&db, &new_entry("pt", &[]), now);
    assert_eq!(entry.state, WaitingState::Waiting);
    assert_eq!(entry.position, Some(1));
    assert_eq!(db.waiting_count(&[language("pt")], now).unwrap(), 1);
    assert_eq!(db.waiting_count(&[language("en")], now).unwrap(), 0);

    online(&db, joao.id, now, true);
    let jumped = assign_next(&db, "pt", now);
    assert!(matches!(jumped, Err(DomainError::NoneAvailable(_))));
    assert_eq!(counter(test), 0, "the refused da-vez consumed no number");

    let round = dispatch(&db, now + Duration::seconds(1));
    assert_eq!(round.served.len(), 1);
    assert_eq!(round.served[0].id, entry.id);
    let served = WaitingQueue::get(&db, entry.id, now).unwrap().unwrap();
    assert_eq!(served.state, WaitingState::Assigned);
    assert_eq!(served.consultant.map(|c| c.id), Some(joao.id));
    assert_eq!(db.waiting_count(&[language("pt")], now).unwrap(), 0);
    // Nobody waits any more: da-vez works again.
    assert!(assign_next(&db, "pt", now).is_ok());
}

fn entries_are_served_in_arrival_order_across_languages_and_alternatives(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let pt = hire(&db, "Ana Souza", &["pt"], now);
    let en = hire(&db, "Bob Smith", &["en"], now);
    online(&db, pt.id, now, false);
    online(&db, en.id, now, false);
    let first_pt = enqueue(&db, &new_entry("pt", &[]), now);
    let first_en = enqueue(&db, &new_entry("en", &[]), now);
    let pt_or_en = enqueue(&db, &new_entry("pt", &["en"]), now);
    let second_pt = enqueue(&db, &new_entry("pt", &[]), now);
    assert_eq!(
        [
            first_pt.position,
            first_en.position,
            pt_or_en.position,
            second_pt.position
        ],
        [Some(1), Some(1), Some(3), Some(3)]
    );

    // The English consultant comes online: every entry they can take, oldest first (the
    // rotation keeps an online consultant eligible after an assignment); the entries that only
    // accept Portuguese keep waiting.
    online(&db, en.id, now, true);
    let round = dispatch(&db, now);
    assert_eq!(
        round.served.iter().map(|s| s.id).collect::<Vec<_>>(),
        [first_en.id, pt_or_en.id]
    );
    assert_eq!(
        round.served[1].language,
        language("en"),
        "served in its alternative"
    );
    online(&db, en.id, now, false);

    online(&db, pt.id, now, true);
    let round = dispatch(&db, now);
    assert_eq!(
        round.served.iter().map(|s| s.id).collect::<Vec<_>>(),
        [first_pt.id, second_pt.id],
        "one free consultant takes every waiting entry in turn, oldest first"
    );
    let numbers: Vec<String> = [first_en.id, pt_or_en.id, first_pt.id, second_pt.id]
        .iter()
        .map(|id| {
            WaitingQueue::get(&db, *id, now)
                .unwrap()
                .unwrap()
                .protocol
                .unwrap()
                .number
                .to_string()
        })
        .collect();
    assert_eq!(numbers, ["#00001", "#00002", "#00003", "#00004"]);
}

fn an_entry_expires_after_its_maximum_wait(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let mut short = new_entry("pt", &[]);
    short.max_wait = MaxWait::from_seconds(60).unwrap();
    let entry = enqueue(&db, &short, now);
    assert_eq!(entry.expires_at, now + Duration::seconds(60));
    assert!(dispatch(&db, now + Duration::seconds(59))
        .expired
        .is_empty());
    let round = dispatch(&db, now + Duration::seconds(60));
    assert_eq!(round.expired, [language("pt")]);
    let expired = WaitingQueue::get(&db, entry.id, now).unwrap().unwrap();
    assert_eq!(expired.state, WaitingState::Expired);
    assert_eq!(expired.position, None);
    assert_eq!(audit_count(&db, AuditAction::WaitingEntryExpired), 1);
    // A consultant arriving later does not get it.
    hire(&db, "João Silva", &["pt"], now);
    assert!(dispatch(&db, now + Duration::seconds(61)).served.is_empty());
}

fn a_waiting_entry_can_be_cancelled_but_an_assigned_one_cannot(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let waiting = enqueue(&db, &new_entry("pt", &[]), now);
    let cancelled = db.cancel(waiting.id, now, &actor()).unwrap();
    assert_eq!(cancelled.state, WaitingState::Cancelled);
    assert_eq!(
        db.cancel(waiting.id, now, &actor()).unwrap().state,
        WaitingState::Cancelled
    );
    assert_eq!(audit_count(&db, AuditAction::WaitingEntryCancelled), 1);

    hire(&db, "João Silva", &["pt"], now);
    assert!(
        dispatch(&db, now).served.is_empty(),
        "a cancelled entry is not served"
    );
    let assigned = enqueue(&db, &new_entry("pt", &[]), now);
    assert_eq!(assigned.state, WaitingState::Assigned);
    assert!(matches!(
        db.cancel(assigned.id, now, &actor()),
        Err(DomainError::AlreadyAssigned)
    ));
    assert!(matches!(
        db.cancel(WaitingEntryId(999), now, &actor()),
        Err(DomainError::WaitingEntryNotFound)
    ));
}

fn a_retried_enqueue_returns_the_same_entry(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let mut with_deal = new_entry("pt", &[]);
    with_deal.crm = Some(CrmTarget::Deal(42));
    let first = db
        .enqueue(&with_deal, now, Some(claim("k1", "a", now)), &actor(), true)
        .unwrap();
    let again = db
        .enqueue(&with_deal, now, Some(claim("k1", "a", now)), &actor(), true)
        .unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.value.id, again.value.id);
    assert_eq!(again.value.crm, Some(CrmTarget::Deal(42)));
    assert_eq!(count(test, "fila"), 1);
    let reused = db.enqueue(&with_deal, now, Some(claim("k1", "b", now)), &actor(), true);
    assert!(matches!(reused, Err(DomainError::IdempotencyKeyReused)));
}

fn positions_count_competing_entries_and_pages_follow_the_cursor(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    for code in ["pt", "en", "pt", "es", "pt"] {
        enqueue(&db, &new_entry(code, &[]), now);
    }
    let filter = WaitingFilter {
        language: Some(language("pt")),
        state: Some(WaitingState::Waiting),
        limit: 2,
        after: None,
    };
    let first = WaitingQueue::list(&db, &filter, now).unwrap();
    assert_eq!(
        first.entries.iter().map(|e| e.position).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    let cursor = first.next_cursor.expect("a second page");
    let next = WaitingFilter {
        after: Some(cursor),
        ..filter
    };
    let second = WaitingQueue::list(&db, &next, now).unwrap();
    assert_eq!(second.entries.len(), 1);
    assert_eq!(second.entries[0].position, Some(3));
    assert_eq!(second.next_cursor, None);
    let mut by_language = db.waiting_by_language().unwrap();
    by_language.sort();
    assert_eq!(
        by_language,
        [
            (language("en"), 1),
            (language("es"), 1),
            (language("pt"), 3)
        ]
    );
}

mod with_big_pools {
    use super::*;
    on_both_backends_with_big_pools!(many_threads_serve_every_entry_exactly_once_in_order);
}

/// 8 threads queue 25 contacts each while 4 dispatchers run and 4 consultants toggle online:
/// every entry is assigned exactly once, in arrival order, with gapless numbers.
fn many_threads_serve_every_entry_exactly_once_in_order(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let consultants: Vec<ConsultantId> = (0..4)
        .map(|i| {
            let new = consultant(&format!("Consultor {i}"), &["pt"]);
            let created = ConsultantRepository::create(&db, &new, now, &actor()).unwrap();
            online(&db, created.id, now, false);
            created.id
        })
        .collect();
    let barrier = Barrier::new(16);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..25 {
                    enqueue(&db, &new_entry("pt", &[]), now);
                }
            });
        }
        for _ in 0..4 {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..60 {
                    dispatch(&db, now);
                }
            });
        }
        for id in &consultants {
            scope.spawn(|| {
                barrier.wait();
                for round in 0..30 {
                    online(&db, *id, now, round % 2 == 0);
                }
            });
        }
    });
    for id in &consultants {
        online(&db, *id, now, true);
    }
    while !dispatch(&db, now).served.is_empty() {}
    let entries = WaitingQueue::list(
        &db,
        &WaitingFilter {
            language: None,
            state: None,
            limit: 1000,
            after: None,
        },
        now,
    )
    .unwrap()
    .entries;
    assert_eq!(entries.len(), 200);
    let numbers: Vec<u64> = entries
        .iter()
        .map(|entry| {
            assert_eq!(entry.state, WaitingState::Assigned, "entry {:?}", entry.id);
            entry.protocol.as_ref().unwrap().number.counter()
        })
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(numbers, sorted, "served in arrival order");
    assert_eq!(
        sorted,
        (1..=200).collect::<Vec<u64>>(),
        "unique and gapless"
    );
    assert_eq!(counter(test), 200);
    assert_eq!(count(test, "protocolos"), 200);
}

//! The Pipedrive integration's storage: outbox items written by the assignment, claimed with a
//! lease and settled by the delivery worker; webhook events recorded once per key.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, Utc};
use consultores_domain::{
    AssignmentPort, ConsultantRepository, CrmAction, CrmActionKind, CrmActionStatus, CrmEventId,
    CrmEventInbox, CrmEventOutcome, CrmOutbox, CrmPause, CrmPauseStore, CrmTarget, DeliveryState,
    DomainError, NewCrmEvent, OutboxItemId, PipedriveUserId, ProtocolId,
};
use consultores_persistence::testing::{now_micros, TestDatabase};
use consultores_persistence::Database;

use crate::common::{actor, claim, consultant, count, language, on_both_backends};

const LEAD: &str = "adf21080-0e10-11eb-879b-05d71fb426ec";

on_both_backends!(
    an_assignment_with_a_crm_target_writes_the_owner_then_the_note,
    an_assignment_without_a_crm_target_writes_no_outbox_item,
    a_consultant_without_id_pipedrive_gets_an_empty_list_of_actions,
    an_idempotent_replay_writes_no_second_item,
    nobody_available_writes_no_item_and_consumes_no_number,
    leads_and_persons_are_stored_with_their_ids,
    a_claim_leases_items_away_from_other_claims_until_the_lease_ends,
    settling_items_records_state_attempts_and_reasons,
    a_rescheduled_item_is_not_claimed_before_its_time,
    released_items_keep_their_attempts_and_are_due_again,
    the_last_owner_decided_for_a_record_is_remembered,
    concurrent_claims_never_hand_out_one_item_twice,
    an_event_is_recorded_once_per_key,
    events_are_claimed_with_a_lease_and_finished_with_their_outcome,
    a_deferred_event_waits_until_its_retry_time,
    an_unusable_row_fails_with_the_reason_and_never_blocks_the_others,
    an_expired_claim_cannot_settle_an_item_another_worker_holds,
    an_expired_claim_cannot_finish_an_event_another_worker_holds,
    the_shared_pause_is_only_extended_and_ends_on_time,
    concurrent_pauses_keep_the_longest,
);

fn joao(pipedrive_user_id: Option<i64>) -> consultores_domain::NewConsultant {
    let mut new = consultant("João Silva", &["pt"]);
    new.pipedrive_user_id = pipedrive_user_id.map(|id| PipedriveUserId::new(id).unwrap());
    new
}

fn owner(id: i64) -> PipedriveUserId {
    PipedriveUserId::new(id).unwrap()
}

fn pending(action: CrmActionKind, target: &CrmTarget) -> CrmActionStatus {
    CrmActionStatus {
        action,
        target: target.clone(),
        state: DeliveryState::Pending { last_error: None },
        attempts: 0,
    }
}

/// Assigns a `pt` contact for `target` and returns the protocol and its actions.
fn assign(
    db: &Database,
    now: DateTime<Utc>,
    target: Option<CrmTarget>,
) -> (ProtocolId, Option<Vec<CrmActionStatus>>) {
    let assigned = db
        .assign_next(&language("pt"), now, None, &actor(), target)
        .unwrap()
        .value;
    (assigned.protocol.id, assigned.crm_actions)
}

fn an_assignment_with_a_crm_target_writes_the_owner_then_the_note(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let target = CrmTarget::Deal(42);
    let (protocol, actions) = assign(&db, now, Some(target.clone()));
    let expected = vec![
        pending(CrmActionKind::SetOwner, &target),
        pending(CrmActionKind::AddNote, &target),
    ];
    assert_eq!(actions.as_ref(), Some(&expected));
    assert_eq!(db.states_for_protocol(protocol).unwrap(), expected);
    assert_eq!(db.pending_count().unwrap(), 2);

    let items = db
        .claim_due(now + Duration::seconds(1), now + Duration::minutes(5), 10)
        .unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].action, CrmAction::SetOwner(owner(456)));
    assert_eq!(
        items[1].action,
        CrmAction::AddNote("Protocolo #00001 — atendimento atribuído a João Silva".into())
    );
    for item in &items {
        assert_eq!(item.target, target);
        assert_eq!(item.protocol_id, Some(protocol));
        assert_eq!(item.attempts, 0);
    }
    assert!(items[0].id < items[1].id, "the owner goes first");
}

fn an_assignment_without_a_crm_target_writes_no_outbox_item(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let (protocol, actions) = assign(&db, now, None);
    assert_eq!(actions, None);
    assert_eq!(count(test, "crm_outbox"), 0);
    assert!(db.states_for_protocol(protocol).unwrap().is_empty());
}

fn a_consultant_without_id_pipedrive_gets_an_empty_list_of_actions(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(None), now, &actor()).unwrap();
    let (_, actions) = assign(&db, now, Some(CrmTarget::Deal(42)));
    assert_eq!(actions, Some(Vec::new()));
    assert_eq!(count(test, "crm_outbox"), 0);
}

fn an_idempotent_replay_writes_no_second_item(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let key = claim("retry-1", "GET /consultor/da-vez?idioma=pt&deal_id=42", now);
    let target = Some(CrmTarget::Deal(42));
    let first = db
        .assign_next(
            &language("pt"),
            now,
            Some(key.clone()),
            &actor(),
            target.clone(),
        )
        .unwrap();
    let replay = db
        .assign_next(
            &language("pt"),
            now + Duration::seconds(3),
            Some(key),
            &actor(),
            target,
        )
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.value, first.value);
    assert_eq!(
        replay.value.crm_actions.map(|actions| actions.len()),
        Some(2)
    );
    assert_eq!(count(test, "crm_outbox"), 2);
}

fn nobody_available_writes_no_item_and_consumes_no_number(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let result = db.assign_next(
        &language("en"),
        now,
        None,
        &actor(),
        Some(CrmTarget::Deal(42)),
    );
    assert!(matches!(result, Err(DomainError::NoneAvailable(_))));
    assert_eq!(count(test, "crm_outbox"), 0);
    let (_, actions) = assign(&db, now, Some(CrmTarget::Deal(42)));
    assert_eq!(actions.map(|actions| actions.len()), Some(2));
    assert_eq!(
        test.query_strings("SELECT conteudo AS value FROM crm_outbox WHERE conteudo IS NOT NULL"),
        vec!["Protocolo #00001 — atendimento atribuído a João Silva"]
    );
}

fn leads_and_persons_are_stored_with_their_ids(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let lead = CrmTarget::Lead(LEAD.into());
    let person = CrmTarget::Person(77);
    let (lead_protocol, _) = assign(&db, now, Some(lead.clone()));
    let (person_protocol, _) = assign(&db, now + Duration::seconds(1), Some(person.clone()));
    let targets = |protocol| {
        db.states_for_protocol(protocol)
            .unwrap()
            .into_iter()
            .map(|status| status.target)
            .collect::<Vec<_>>()
    };
    assert_eq!(targets(lead_protocol), vec![lead.clone(), lead]);
    assert_eq!(targets(person_protocol), vec![person.clone(), person]);
}

fn a_claim_leases_items_away_from_other_claims_until_the_lease_ends(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    assign(&db, now, Some(CrmTarget::Deal(42)));
    let later = now + Duration::seconds(1);
    let lease = later + Duration::minutes(5);
    assert_eq!(db.claim_due(later, lease, 1).unwrap().len(), 1, "limit");
    assert_eq!(
        db.claim_due(later, lease, 10).unwrap().len(),
        1,
        "the other one"
    );
    assert!(
        db.claim_due(later, lease, 10).unwrap().is_empty(),
        "both leased"
    );
    // A worker that died: its items come back when the lease ends.
    let back = db
        .claim_due(lease, lease + Duration::minutes(5), 10)
        .unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(db.pending_count().unwrap(), 2, "claims change no state");
}

fn settling_items_records_state_attempts_and_reasons(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let target = CrmTarget::Deal(42);
    let (protocol, _) = assign(&db, now, Some(target.clone()));
    let later = now + Duration::seconds(1);
    let items = db
        .claim_due(later, later + Duration::minutes(5), 10)
        .unwrap();
    db.complete(items[0].claim(), 1, later).unwrap();
    db.fail(
        items[1].claim(),
        2,
        "Pipedrive respondeu 404 Not Found: Deal not found",
        later,
    )
    .unwrap();
    assert_eq!(
        db.states_for_protocol(protocol).unwrap(),
        vec![
            CrmActionStatus {
                action: CrmActionKind::SetOwner,
                target: target.clone(),
                state: DeliveryState::Done,
                attempts: 1,
            },
            CrmActionStatus {
                action: CrmActionKind::AddNote,
                target,
                state: DeliveryState::Failed {
                    reason: "Pipedrive respondeu 404 Not Found: Deal not found".into()
                },
                attempts: 2,
            },
        ]
    );
    assert_eq!(db.pending_count().unwrap(), 0);
    // Settled items stay settled: a late second settlement changes nothing.
    db.reschedule(items[0].claim(), 9, later, "late", later)
        .unwrap();
    assert_eq!(
        db.states_for_protocol(protocol).unwrap()[0].state,
        DeliveryState::Done
    );
    assert!(db
        .claim_due(later + Duration::hours(1), later + Duration::hours(2), 10)
        .unwrap()
        .is_empty());
}

fn a_rescheduled_item_is_not_claimed_before_its_time(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let (protocol, _) = assign(&db, now, Some(CrmTarget::Deal(42)));
    let later = now + Duration::seconds(1);
    let items = db
        .claim_due(later, later + Duration::minutes(5), 1)
        .unwrap();
    let retry_at = later + Duration::seconds(30);
    db.reschedule(
        items[0].claim(),
        1,
        retry_at,
        "Pipedrive respondeu 429 Too Many Requests",
        later,
    )
    .unwrap();
    let states = db.states_for_protocol(protocol).unwrap();
    assert_eq!(
        states[0].state,
        DeliveryState::Pending {
            last_error: Some("Pipedrive respondeu 429 Too Many Requests".into())
        }
    );
    assert_eq!(states[0].attempts, 1);
    let before = db
        .claim_due(
            retry_at - Duration::seconds(1),
            retry_at + Duration::minutes(5),
            10,
        )
        .unwrap();
    assert_eq!(
        before.iter().map(|item| item.id).collect::<Vec<_>>(),
        vec![OutboxItemId(items[0].id.0 + 1)],
        "only the note, never tried, is due"
    );
    let due = db
        .claim_due(retry_at, retry_at + Duration::minutes(5), 10)
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, items[0].id);
    assert_eq!(due[0].attempts, 1);
}

fn released_items_keep_their_attempts_and_are_due_again(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let (protocol, _) = assign(&db, now, Some(CrmTarget::Deal(42)));
    let later = now + Duration::seconds(1);
    let item = db
        .claim_due(later, later + Duration::minutes(5), 1)
        .unwrap()[0]
        .clone();
    db.reschedule(item.claim(), 3, later, "Pipedrive respondeu 503", later)
        .unwrap();
    let item = db
        .claim_due(later, later + Duration::minutes(5), 1)
        .unwrap()[0]
        .clone();
    db.release(item.claim(), later, later).unwrap();
    let again = db
        .claim_due(later, later + Duration::minutes(5), 10)
        .unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].attempts, 3);
    assert_eq!(
        db.states_for_protocol(protocol).unwrap()[0].state,
        DeliveryState::Pending {
            last_error: Some("Pipedrive respondeu 503".into())
        }
    );
}

fn the_last_owner_decided_for_a_record_is_remembered(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let mut other = consultant("Ana Souza", &["pt"]);
    other.pipedrive_user_id = Some(owner(789));
    ConsultantRepository::create(&db, &other, now + Duration::seconds(1), &actor()).unwrap();
    assert_eq!(db.last_owner_set(&CrmTarget::Deal(42)).unwrap(), None);
    assign(&db, now + Duration::seconds(2), Some(CrmTarget::Deal(42)));
    assert_eq!(
        db.last_owner_set(&CrmTarget::Deal(42)).unwrap(),
        Some(owner(456))
    );
    assign(&db, now + Duration::seconds(3), Some(CrmTarget::Deal(42)));
    assert_eq!(
        db.last_owner_set(&CrmTarget::Deal(42)).unwrap(),
        Some(owner(789))
    );
    assert_eq!(db.last_owner_set(&CrmTarget::Person(42)).unwrap(), None);
}

fn concurrent_claims_never_hand_out_one_item_twice(test: &TestDatabase) {
    const ITEMS: usize = 120;
    const WORKERS: usize = 6;
    for index in 0..ITEMS {
        test.execute(&format!(
            "INSERT INTO crm_outbox (acao, alvo_tipo, alvo_id, owner_id, estado, tentativas, \
             proxima_tentativa, created_at, updated_at) VALUES ('definir_responsavel', 'deal', \
             '{}', 7, 'pendente', 0, '2026-01-01T00:00:00.000000+00:00', \
             '2026-01-01T00:00:00.000000+00:00', '2026-01-01T00:00:00.000000+00:00')",
            index + 1
        ));
    }
    let db = test.database();
    let start = Arc::new(Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let db = db.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let mut mine = Vec::new();
                loop {
                    let now = now_micros();
                    let batch = db.claim_due(now, now + Duration::minutes(5), 7).unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    for item in batch {
                        db.complete(item.claim(), 1, now).unwrap();
                        mine.push(item.id);
                    }
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for worker in workers {
        for id in worker.join().unwrap() {
            total += 1;
            assert!(seen.insert(id), "item {id:?} was handed out twice");
        }
    }
    assert_eq!(total, ITEMS);
    assert_eq!(db.pending_count().unwrap(), 0);
}

fn event(key: &str) -> NewCrmEvent {
    NewCrmEvent {
        key: key.into(),
        action: "create".into(),
        entity: "deal".into(),
        entity_id: "42".into(),
        attempt: 1,
        payload: r#"{"meta":{"action":"create","entity":"deal","entity_id":"42"}}"#.into(),
    }
}

fn an_event_is_recorded_once_per_key(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    assert!(db.record(&event("create:deal:42"), now).unwrap());
    let mut redelivery = event("create:deal:42");
    redelivery.attempt = 2;
    assert!(!db.record(&redelivery, now + Duration::seconds(10)).unwrap());
    assert!(db.record(&event("create:deal:43"), now).unwrap());
    assert_eq!(count(test, "pipedrive_webhook_eventos"), 2);
    assert_eq!(
        test.query_i64(
            "SELECT CAST(tentativa AS BIGINT) AS value FROM pipedrive_webhook_eventos \
             WHERE chave = 'create:deal:42'"
        ),
        1,
        "the first delivery is the one kept"
    );
}

fn events_are_claimed_with_a_lease_and_finished_with_their_outcome(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let (protocol, _) = assign(&db, now, None);
    for key in ["create:deal:1", "change:deal:1", "create:deal:2"] {
        db.record(&event(key), now).unwrap();
    }
    let lease = now + Duration::minutes(1);
    let events = db.claim_pending(now, lease, 10).unwrap();
    assert_eq!(
        events.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
        vec!["create:deal:1", "change:deal:1", "create:deal:2"]
    );
    assert_eq!(events[0].payload, event("x").payload);
    assert_eq!(events[0].received_at, now);
    assert!(
        db.claim_pending(now, lease, 10).unwrap().is_empty(),
        "leased"
    );

    db.finish(
        events[0].claim(),
        &CrmEventOutcome::Assigned { protocol },
        now,
    )
    .unwrap();
    db.finish(
        events[1].claim(),
        &CrmEventOutcome::Ignored {
            reason: "eco".into(),
        },
        now,
    )
    .unwrap();
    db.finish(
        events[2].claim(),
        &CrmEventOutcome::Failed {
            reason: "idioma desconhecido".into(),
        },
        now,
    )
    .unwrap();
    assert_eq!(
        test.query_strings(
            "SELECT estado || '|' || coalesce(motivo, '') || '|' \
             || coalesce(CAST(protocolo_id AS TEXT), '') AS value \
             FROM pipedrive_webhook_eventos ORDER BY id"
        ),
        vec![
            format!("concluido||{}", protocol.0),
            "ignorado|eco|".to_owned(),
            "falhou|idioma desconhecido|".to_owned(),
        ]
    );
    assert!(db
        .claim_pending(lease, lease + Duration::minutes(1), 10)
        .unwrap()
        .is_empty());
}

fn a_deferred_event_waits_until_its_retry_time(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    db.record(&event("create:deal:1"), now).unwrap();
    let claimed = db
        .claim_pending(now, now + Duration::minutes(1), 10)
        .unwrap();
    let retry_at = now + Duration::seconds(30);
    db.defer(claimed[0].claim(), retry_at, "Serviço indisponível")
        .unwrap();
    assert!(db
        .claim_pending(retry_at - Duration::seconds(1), retry_at, 10)
        .unwrap()
        .is_empty());
    let again = db
        .claim_pending(retry_at, retry_at + Duration::minutes(1), 10)
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, CrmEventId(claimed[0].id.0));
}

/// A pending owner update written straight into the table (as a v6 adoption could leave it).
fn raw_owner_item(test: &TestDatabase, deal: i64, owner: i64) {
    test.execute(&format!(
        "INSERT INTO crm_outbox (acao, alvo_tipo, alvo_id, owner_id, estado, tentativas, \
         proxima_tentativa, created_at, updated_at) VALUES ('definir_responsavel', 'deal', \
         '{deal}', {owner}, 'pendente', 0, '2026-01-01T00:00:00.000000+00:00', \
         '2026-01-01T00:00:00.000000+00:00', '2026-01-01T00:00:00.000000+00:00')"
    ));
}

fn an_unusable_row_fails_with_the_reason_and_never_blocks_the_others(test: &TestDatabase) {
    raw_owner_item(test, 1, 0);
    raw_owner_item(test, 2, -5);
    raw_owner_item(test, 3, 7);
    let db = test.database();
    let now = now_micros();
    let items = db.claim_due(now, now + Duration::minutes(5), 10).unwrap();
    assert_eq!(items.len(), 1, "the good item is claimed: {items:?}");
    assert_eq!(items[0].target, CrmTarget::Deal(3));
    assert_eq!(
        items[0].action,
        CrmAction::SetOwner(PipedriveUserId::new(7).unwrap())
    );
    assert_eq!(
        test.query_strings(
            "SELECT estado || '|' || coalesce(ultimo_erro, '') AS value FROM crm_outbox \
             ORDER BY id"
        ),
        vec![
            "falhou|ação inválida no banco: owner_id 0 não é um id de usuário do Pipedrive"
                .to_owned(),
            "falhou|ação inválida no banco: owner_id -5 não é um id de usuário do Pipedrive"
                .to_owned(),
            "pendente|".to_owned(),
        ]
    );
    assert_eq!(db.pending_count().unwrap(), 1);
    db.complete(items[0].claim(), 1, now).unwrap();
    assert!(
        db.claim_due(now + Duration::hours(1), now + Duration::hours(2), 10)
            .unwrap()
            .is_empty(),
        "failed rows are never claimed again"
    );
}

fn an_expired_claim_cannot_settle_an_item_another_worker_holds(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    ConsultantRepository::create(&db, &joao(Some(456)), now, &actor()).unwrap();
    let (protocol, _) = assign(&db, now, Some(CrmTarget::Deal(42)));
    let first_lease = now + Duration::minutes(5);
    let first = db.claim_due(now, first_lease, 10).unwrap();
    assert_eq!(first.len(), 2);
    // The first worker stalls past its lease; a second worker takes the items over.
    let second_lease = first_lease + Duration::minutes(5);
    let second = db.claim_due(first_lease, second_lease, 10).unwrap();
    assert_eq!(second.len(), 2);
    assert_ne!(first[0].claim(), second[0].claim());

    // The first worker wakes up and settles what it no longer holds: nothing changes.
    let late = first_lease + Duration::seconds(1);
    db.complete(first[0].claim(), 1, late).unwrap();
    db.fail(first[1].claim(), 1, "tarde demais", late).unwrap();
    db.reschedule(first[0].claim(), 1, late, "tarde", late)
        .unwrap();
    db.release(first[1].claim(), late, late).unwrap();
    assert_eq!(
        db.states_for_protocol(protocol)
            .unwrap()
            .into_iter()
            .map(|status| (status.state, status.attempts))
            .collect::<Vec<_>>(),
        vec![
            (DeliveryState::Pending { last_error: None }, 0),
            (DeliveryState::Pending { last_error: None }, 0),
        ]
    );
    assert!(
        db.claim_due(late, late + Duration::minutes(5), 10)
            .unwrap()
            .is_empty(),
        "the second worker still holds both"
    );

    // The holder settles them.
    db.complete(second[0].claim(), 1, late).unwrap();
    db.fail(
        second[1].claim(),
        1,
        "Pipedrive respondeu 404 Not Found",
        late,
    )
    .unwrap();
    let states: Vec<&str> = db
        .states_for_protocol(protocol)
        .unwrap()
        .iter()
        .map(|status| status.state.as_str())
        .collect();
    assert_eq!(states, vec!["concluido", "falhou"]);
}

fn an_expired_claim_cannot_finish_an_event_another_worker_holds(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    db.record(&event("create:deal:1"), now).unwrap();
    let first_lease = now + Duration::minutes(1);
    let first = db.claim_pending(now, first_lease, 10).unwrap();
    let second = db
        .claim_pending(first_lease, first_lease + Duration::minutes(1), 10)
        .unwrap();
    assert_eq!((first.len(), second.len()), (1, 1));

    let late = first_lease + Duration::seconds(1);
    db.finish(
        first[0].claim(),
        &CrmEventOutcome::Failed {
            reason: "tarde".into(),
        },
        late,
    )
    .unwrap();
    db.defer(first[0].claim(), late, "tarde").unwrap();
    let state = || {
        test.query_strings(
            "SELECT estado || '|' || coalesce(motivo, '') AS value FROM pipedrive_webhook_eventos",
        )
    };
    assert_eq!(state(), vec!["pendente|".to_owned()]);
    assert!(
        db.claim_pending(late, late + Duration::minutes(1), 10)
            .unwrap()
            .is_empty(),
        "the second worker still holds it"
    );

    db.finish(
        second[0].claim(),
        &CrmEventOutcome::Ignored {
            reason: "eco".into(),
        },
        late,
    )
    .unwrap();
    assert_eq!(state(), vec!["ignorado|eco".to_owned()]);
}

fn the_shared_pause_is_only_extended_and_ends_on_time(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    assert_eq!(db.current_pause(now).unwrap(), None);
    let until = now + Duration::seconds(30);
    db.extend_pause(until, "429", now).unwrap();
    let expected = CrmPause {
        until,
        reason: "429".into(),
    };
    assert_eq!(db.current_pause(now).unwrap(), Some(expected.clone()));
    // A shorter pause from another replica does not cut it short.
    db.extend_pause(now + Duration::seconds(2), "limite", now)
        .unwrap();
    assert_eq!(db.current_pause(now).unwrap(), Some(expected));
    let longer = now + Duration::hours(1);
    db.extend_pause(longer, "bloqueio", now).unwrap();
    assert_eq!(
        db.current_pause(now).unwrap(),
        Some(CrmPause {
            until: longer,
            reason: "bloqueio".into()
        })
    );
    assert_eq!(db.current_pause(longer).unwrap(), None, "over at its end");
    assert_eq!(count(test, "pipedrive_pausa"), 1);
}

fn concurrent_pauses_keep_the_longest(test: &TestDatabase) {
    const REPLICAS: i64 = 8;
    let db = test.database();
    let now = now_micros();
    let start = Arc::new(Barrier::new(REPLICAS as usize));
    let replicas: Vec<_> = (1..=REPLICAS)
        .map(|minutes| {
            let db = db.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                db.extend_pause(
                    now + Duration::minutes(minutes),
                    &format!("pausa de {minutes} min"),
                    now,
                )
                .unwrap();
            })
        })
        .collect();
    for replica in replicas {
        replica.join().unwrap();
    }
    assert_eq!(
        db.current_pause(now).unwrap(),
        Some(CrmPause {
            until: now + Duration::minutes(REPLICAS),
            reason: format!("pausa de {REPLICAS} min"),
        })
    );
    assert_eq!(count(test, "pipedrive_pausa"), 1);
}

use std::sync::atomic::{AtomicUsize, Ordering};

use mockall::predicate::{always, eq};
use mockall::Sequence;

use super::*;
use crate::clock::MockClock;
use crate::crm::{CrmTarget, MockCrmGateway};
use crate::crm_outbox::{
    MockCrmOutbox, MockCrmThrottle, MockRetryPolicy, OutboxClaim, OutboxItemId,
};
use crate::protocol::ProtocolId;
use crate::services::test_clock::now;
use crate::values::PipedriveUserId;

fn secs(value: i64) -> chrono::Duration {
    chrono::Duration::seconds(value)
}

fn owner() -> PipedriveUserId {
    PipedriveUserId::new(456).unwrap()
}

fn lease() -> DateTime<Utc> {
    now() + secs(300)
}

fn claim(id: i64) -> OutboxClaim {
    OutboxClaim {
        id: OutboxItemId(id),
        lease_until: lease(),
    }
}

fn item(id: i64, action: CrmAction) -> OutboxItem {
    OutboxItem {
        id: OutboxItemId(id),
        lease_until: lease(),
        protocol_id: Some(ProtocolId(42)),
        target: CrmTarget::Deal(42),
        action,
        attempts: 0,
        created_at: now() - secs(5),
        note_author: None,
    }
}

fn set_owner(id: i64) -> OutboxItem {
    item(id, CrmAction::SetOwner(owner()))
}

fn note(id: i64) -> OutboxItem {
    item(
        id,
        CrmAction::AddNote("Protocolo #00042 — atendimento atribuído a João Silva".into()),
    )
}

fn clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now());
    clock
}

fn no_pause() -> MockCrmThrottle {
    let mut throttle = MockCrmThrottle::new();
    throttle.expect_pause().return_const(None);
    throttle
}

fn doubling() -> MockRetryPolicy {
    let mut retry = MockRetryPolicy::new();
    retry.expect_next_delay().returning(|attempt, after| {
        let exponential = Duration::from_secs(2u64 << attempt.saturating_sub(1).min(20));
        exponential.max(Duration::from_secs(after.unwrap_or(0)))
    });
    retry
}

/// An outbox whose one claim of due items hands out `items`.
fn claiming(items: Vec<OutboxItem>) -> MockCrmOutbox {
    let mut outbox = MockCrmOutbox::new();
    outbox
        .expect_claim_due()
        .with(eq(now()), eq(now() + secs(300)), eq(10))
        .times(1)
        .return_once(move |_, _, _| Ok(items));
    outbox
}

fn service(
    outbox: MockCrmOutbox,
    gateway: MockCrmGateway,
    throttle: MockCrmThrottle,
    retry: MockRetryPolicy,
) -> CrmDeliveryService {
    CrmDeliveryService::new(
        Arc::new(outbox),
        Arc::new(gateway),
        Arc::new(throttle),
        Arc::new(retry),
        Arc::new(clock()),
        DeliverySettings::DEFAULT,
    )
}

fn never() -> bool {
    false
}

/// One round with the CRM never pausing and the retry policy doubling.
fn deliver_round(outbox: MockCrmOutbox, gateway: MockCrmGateway) -> DeliveryRound {
    service(outbox, gateway, no_pause(), doubling())
        .deliver_due(&never)
        .unwrap()
}

/// Expects the item `id` completed once, on its first attempt.
fn completes(outbox: &mut MockCrmOutbox, id: i64) {
    outbox
        .expect_complete()
        .with(eq(claim(id)), eq(1), eq(now()))
        .times(1)
        .returning(|_, _, _| Ok(()));
}

/// Expects the item `id` released once until `until`.
fn releases(outbox: &mut MockCrmOutbox, id: i64, until: DateTime<Utc>) {
    outbox
        .expect_release()
        .with(eq(claim(id)), eq(until), eq(now()))
        .times(1)
        .returning(|_, _, _| Ok(()));
}

fn transient(reason: &str, retry_after_secs: Option<u64>) -> CrmError {
    CrmError::Transient {
        reason: reason.into(),
        retry_after_secs,
    }
}

#[test]
fn delivers_the_owner_then_the_note_and_completes_both() {
    let mut outbox = claiming(vec![set_owner(1), note(2)]);
    let mut gateway = MockCrmGateway::new();
    let mut order = Sequence::new();
    gateway
        .expect_set_owner()
        .with(eq(CrmTarget::Deal(42)), eq(owner()))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(()));
    gateway
        .expect_add_note()
        .with(
            eq(CrmTarget::Deal(42)),
            eq("Protocolo #00042 — atendimento atribuído a João Silva"),
        )
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(()));
    completes(&mut outbox, 1);
    completes(&mut outbox, 2);
    let round = deliver_round(outbox, gateway);
    assert_eq!(
        round,
        DeliveryRound {
            claimed: 2,
            delivered: 2,
            ..DeliveryRound::default()
        }
    );
}

#[test]
fn a_note_with_an_author_is_added_as_that_author() {
    let mut authored = note(1);
    authored.note_author = Some(owner());
    let mut outbox = claiming(vec![authored]);
    let mut gateway = MockCrmGateway::new();
    gateway
        .expect_add_note_as()
        .with(eq(CrmTarget::Deal(42)), always(), eq(owner()))
        .times(1)
        .returning(|_, _, _| Ok(()));
    gateway.expect_add_note().never();
    completes(&mut outbox, 1);
    let round = deliver_round(outbox, gateway);
    assert_eq!(round.delivered, 1);
}

#[test]
fn a_permanent_error_fails_the_item_with_the_reason() {
    let mut outbox = claiming(vec![set_owner(1)]);
    let mut gateway = MockCrmGateway::new();
    gateway.expect_set_owner().times(1).returning(|_, _| {
        Err(CrmError::Permanent {
            reason: "Pipedrive respondeu 404 Not Found: Deal not found".into(),
        })
    });
    outbox
        .expect_fail()
        .with(
            eq(claim(1)),
            eq(1),
            eq("Pipedrive respondeu 404 Not Found: Deal not found"),
            eq(now()),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let round = deliver_round(outbox, gateway);
    assert_eq!(round.failed, 1);
    assert_eq!(round.delivered, 0);
}

#[test]
fn a_transient_error_reschedules_with_the_backoff() {
    let mut retried = note(1);
    retried.attempts = 2;
    let mut outbox = claiming(vec![retried]);
    let mut gateway = MockCrmGateway::new();
    gateway.expect_add_note().times(1).returning(|_, _| {
        Err(transient(
            "Pipedrive respondeu 500 Internal Server Error",
            None,
        ))
    });
    let mut retry = MockRetryPolicy::new();
    retry
        .expect_next_delay()
        .with(eq(3), eq(None))
        .times(1)
        .return_const(Duration::from_secs(8));
    outbox
        .expect_reschedule()
        .with(
            eq(claim(1)),
            eq(3),
            eq(now() + secs(8)),
            eq("Pipedrive respondeu 500 Internal Server Error"),
            eq(now()),
        )
        .times(1)
        .returning(|_, _, _, _, _| Ok(()));
    let round = service(outbox, gateway, no_pause(), retry)
        .deliver_due(&never)
        .unwrap();
    assert_eq!(round.rescheduled, 1);
}

#[test]
fn the_wait_the_crm_asked_for_is_passed_to_the_retry_policy() {
    let mut outbox = claiming(vec![set_owner(1)]);
    let mut gateway = MockCrmGateway::new();
    gateway.expect_set_owner().times(1).returning(|_, _| {
        Err(transient(
            "Pipedrive respondeu 429 Too Many Requests",
            Some(30),
        ))
    });
    outbox
        .expect_reschedule()
        .with(
            eq(claim(1)),
            eq(1),
            eq(now() + secs(30)),
            always(),
            eq(now()),
        )
        .times(1)
        .returning(|_, _, _, _, _| Ok(()));
    deliver_round(outbox, gateway);
}

#[test]
fn an_item_failing_temporarily_for_a_day_is_given_up() {
    let mut old = set_owner(1);
    old.created_at = now() - secs(24 * 3600);
    old.attempts = 150;
    let mut outbox = claiming(vec![old]);
    let mut gateway = MockCrmGateway::new();
    gateway.expect_set_owner().times(1).returning(|_, _| {
        Err(transient(
            "falha de rede ao chamar o Pipedrive: connection refused",
            None,
        ))
    });
    outbox
        .expect_fail()
        .withf(|id, attempts, reason, _| {
            *id == claim(1)
                && *attempts == 151
                && reason.starts_with("desistiu após 151 tentativas em 24 h")
                && reason.ends_with("connection refused")
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let round = service(outbox, gateway, no_pause(), MockRetryPolicy::new())
        .deliver_due(&never)
        .unwrap();
    assert_eq!(round.failed, 1);
}

#[test]
fn a_spent_budget_before_the_round_claims_nothing() {
    let mut throttle = MockCrmThrottle::new();
    throttle
        .expect_pause()
        .times(1)
        .return_const(Some(Duration::from_secs(2)));
    let round = service(
        MockCrmOutbox::new(),
        MockCrmGateway::new(),
        throttle,
        MockRetryPolicy::new(),
    )
    .deliver_due(&never)
    .unwrap();
    assert_eq!(round.pause, Some(Duration::from_secs(2)));
    assert_eq!(round.claimed, 0);
}

#[test]
fn a_budget_spent_mid_round_releases_the_rest_until_the_reset() {
    let mut outbox = claiming(vec![set_owner(1), note(2), set_owner(3)]);
    let mut gateway = MockCrmGateway::new();
    gateway.expect_set_owner().times(1).returning(|_, _| Ok(()));
    completes(&mut outbox, 1);
    let mut throttle = MockCrmThrottle::new();
    let checks = AtomicUsize::new(0);
    throttle.expect_pause().returning(move || {
        // Free before the round; spent after the first call.
        if checks.fetch_add(1, Ordering::SeqCst) == 0 {
            None
        } else {
            Some(Duration::from_secs(2))
        }
    });
    for id in [2, 3] {
        releases(&mut outbox, id, now() + secs(2));
    }
    let round = service(outbox, gateway, throttle, doubling())
        .deliver_due(&never)
        .unwrap();
    assert_eq!(
        round,
        DeliveryRound {
            claimed: 3,
            delivered: 1,
            released: 2,
            pause: Some(Duration::from_secs(2)),
            ..DeliveryRound::default()
        }
    );
}

#[test]
fn a_stopping_worker_releases_what_it_has_not_tried() {
    let mut outbox = claiming(vec![set_owner(1), note(2)]);
    let mut gateway = MockCrmGateway::new();
    gateway.expect_set_owner().times(1).returning(|_, _| Ok(()));
    completes(&mut outbox, 1);
    releases(&mut outbox, 2, now());
    let asked = AtomicUsize::new(0);
    let stop_after_one = move || asked.fetch_add(1, Ordering::SeqCst) >= 1;
    let round = service(outbox, gateway, no_pause(), doubling())
        .deliver_due(&stop_after_one)
        .unwrap();
    assert_eq!(round.delivered, 1);
    assert_eq!(round.released, 1);
}

#[test]
fn a_store_failure_ends_the_round_with_the_error() {
    let mut outbox = MockCrmOutbox::new();
    outbox
        .expect_claim_due()
        .times(1)
        .returning(|_, _, _| Err(DomainError::unavailable("pool timeout")));
    let result = service(outbox, MockCrmGateway::new(), no_pause(), doubling()).deliver_due(&never);
    assert!(matches!(result, Err(DomainError::Unavailable(_))));
}

#[test]
fn an_empty_outbox_is_a_quiet_round() {
    let outbox = claiming(Vec::new());
    let round = deliver_round(outbox, MockCrmGateway::new());
    assert_eq!(round, DeliveryRound::default());
    assert!(!round.was_full(&DeliverySettings::DEFAULT));
}

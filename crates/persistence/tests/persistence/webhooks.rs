//! Outbound webhooks' storage on both backends: deliveries queued with the changes they report,
//! claimed with a lease, settled, and dropped with their subscription.

use chrono::Duration;
use consultores_domain::{
    DeliveryOutcome, DeliveryStatus, NewWebhook, ProtocolPatch, ProtocolRepository, ProtocolStatus,
    WebhookEvent, WebhookSecret, WebhookStore,
};
use consultores_persistence::testing::{now_micros, TestDatabase};
use serde_json::Value;

use crate::common::{
    actor, assign_next, count, hire, on_both_backends, on_both_backends_with_big_pools,
    switch_online,
};
use crate::concurrency::burst;

on_both_backends!(
    every_reported_change_queues_one_delivery_per_subscriber_in_its_transaction,
    deliveries_are_leased_to_one_claim_and_settled,
    a_removed_subscription_gets_nothing_more,
);

fn subscribe(
    db: &consultores_persistence::Database,
    events: &[WebhookEvent],
) -> consultores_domain::Webhook {
    let new = NewWebhook {
        url: "http://127.0.0.1:9/ganchos".to_owned(),
        events: events.to_vec(),
        description: Some("teste".to_owned()),
    };
    let secret = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
    db.create_webhook(&new, &secret, now_micros(), &actor())
        .unwrap()
}

/// A subscription to connections, and João switched offline: one delivery for it. The
/// subscription and João.
fn one_connection_delivery(
    db: &consultores_persistence::Database,
    now: chrono::DateTime<chrono::Utc>,
) -> (
    consultores_domain::Webhook,
    consultores_domain::ConsultantId,
) {
    let hook = subscribe(db, &[WebhookEvent::ConsultantConnection]);
    let joao = hire(db, "João Silva", &["pt"], now);
    switch_online(db, joao.id, false, now, &actor());
    (hook, joao.id)
}

fn every_reported_change_queues_one_delivery_per_subscriber_in_its_transaction(
    test: &TestDatabase,
) {
    let db = test.database();
    let now = now_micros();
    let all = subscribe(&db, &WebhookEvent::all().collect::<Vec<_>>());
    let only_connections = subscribe(&db, &[WebhookEvent::ConsultantConnection]);
    let joao = hire(&db, "João Silva", &["pt"], now);
    let assigned = assign_next(&db, "pt", now).unwrap().value;
    let refused = assign_next(&db, "fr", now);
    assert!(refused.is_err(), "nobody speaks fr: nothing queued");
    let patch = ProtocolPatch {
        status: Some(ProtocolStatus::Closed),
        ..ProtocolPatch::default()
    };
    ProtocolRepository::update(&db, assigned.protocol.id, &patch, now, &actor()).unwrap();
    switch_online(&db, joao.id, false, now, &actor());

    let log = db.deliveries(all.id, 10).unwrap().unwrap();
    let events: Vec<WebhookEvent> = log.iter().rev().map(|d| d.event).collect();
    assert_eq!(
        events,
        [
            WebhookEvent::Assignment,
            WebhookEvent::ProtocolUpdated,
            WebhookEvent::ConsultantConnection
        ]
    );
    assert!(log
        .iter()
        .all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0));
    let only = db.deliveries(only_connections.id, 10).unwrap().unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].event, WebhookEvent::ConsultantConnection);

    let claimed = db
        .claim_deliveries(now + Duration::seconds(1), now + Duration::minutes(1), 10)
        .unwrap();
    assert_eq!(claimed.len(), 4);
    let body: Value = serde_json::from_str(&claimed[0].body).unwrap();
    assert_eq!(body["type"], "atribuicao");
    assert_eq!(body["data"]["origem"], "da-vez");
    assert_eq!(body["data"]["protocolo"]["numero"], "#00001");
    assert_eq!(body["data"]["consultor"]["id"], joao.id.0);
    assert_eq!(
        claimed[0].secret.expose(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    );
    let updated: Value = serde_json::from_str(&claimed[1].body).unwrap();
    assert_eq!(updated["data"]["alteracoes"]["status"]["depois"], "fechado");
}

fn deliveries_are_leased_to_one_claim_and_settled(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let (hook, _) = one_connection_delivery(&db, now);
    let lease = now + Duration::minutes(1);
    let first = db.claim_deliveries(now, lease, 10).unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        db.claim_deliveries(now, lease, 10).unwrap().is_empty(),
        "leased"
    );
    let retry_at = now + Duration::seconds(30);
    let retry = DeliveryOutcome::Retry {
        status: Some(500),
        error: "HTTP 500".to_owned(),
        at: retry_at,
    };
    db.settle_delivery(first[0].id, 1, &retry, now).unwrap();
    assert!(db
        .claim_deliveries(now + Duration::seconds(29), lease, 10)
        .unwrap()
        .is_empty());
    let again = db.claim_deliveries(retry_at, lease, 10).unwrap();
    assert_eq!(again[0].attempts, 1);
    db.settle_delivery(
        again[0].id,
        2,
        &DeliveryOutcome::Delivered { status: 204 },
        now,
    )
    .unwrap();
    let log = db.deliveries(hook.id, 10).unwrap().unwrap();
    assert_eq!(log[0].status, DeliveryStatus::Delivered);
    assert_eq!(
        (log[0].attempts, log[0].last_status, log[0].next_attempt),
        (2, Some(204), None)
    );
}

fn a_removed_subscription_gets_nothing_more(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let (hook, joao) = one_connection_delivery(&db, now);
    assert!(db.remove_webhook(hook.id, now, &actor()).unwrap());
    assert!(!db.remove_webhook(hook.id, now, &actor()).unwrap());
    assert!(db.list_webhooks().unwrap().is_empty());
    assert!(db.deliveries(hook.id, 10).unwrap().is_none());
    assert!(db
        .claim_deliveries(now, now + Duration::minutes(1), 10)
        .unwrap()
        .is_empty());
    switch_online(&db, joao, true, now, &actor());
    assert_eq!(
        count(test, "webhook_entregas"),
        1,
        "no delivery for a removed subscription"
    );
}

mod with_big_pools {
    use super::*;
    on_both_backends_with_big_pools!(concurrent_claims_never_hand_out_one_delivery_twice);
}

/// 200 deliveries, 8 workers claiming 7 at a time at once: each delivery is claimed exactly once.
fn concurrent_claims_never_hand_out_one_delivery_twice(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    subscribe(&db, &[WebhookEvent::ConsultantConnection]);
    let joao = hire(&db, "João Silva", &["pt"], now);
    for round in 0..200 {
        switch_online(&db, joao.id, round % 2 == 1, now, &actor());
    }
    assert_eq!(count(test, "webhook_entregas"), 200);
    let (claims, _) = burst(8, |_| {
        let mut mine = Vec::new();
        loop {
            let batch = db
                .claim_deliveries(now, now + Duration::minutes(5), 7)
                .unwrap();
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch.iter().map(|d| d.id.0));
        }
    });
    let claimed: Vec<i64> = claims.into_iter().flatten().collect();
    let unique: std::collections::HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 200, "every delivery claimed");
    assert_eq!(unique.len(), 200, "none claimed twice");
}

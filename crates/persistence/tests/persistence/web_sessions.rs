//! Sessions of the operations page and the protocol search, on both backends.

use chrono::Duration;
use consultores_domain::{
    ApiKeyScope, ApiKeyStore, NewProtocol, ProtocolPatch, ProtocolRepository, ProtocolSearch,
    ProtocolStatus, WebSession, WebSessionStore, WebSessionToken,
};
use consultores_persistence::testing::{now_micros, TestDatabase};

use crate::common::{actor, count, create_key, hire, on_both_backends};

on_both_backends!(
    sessions_live_while_used_and_die_idle_signed_out_or_revoked,
    protocol_search_combines_criteria_newest_first,
);

fn token(text: &str) -> WebSessionToken {
    WebSessionToken(text.to_owned())
}

fn sessions_live_while_used_and_die_idle_signed_out_or_revoked(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let idle = Duration::minutes(30);
    let (key, _) = create_key(
        &db,
        Some("coordenação"),
        ApiKeyScope::Distribution,
        now,
        &actor(),
    );
    let stored = WebSession {
        api_key_id: Some(key.id),
        key_description: Some("coordenação".to_owned()),
        scope: ApiKeyScope::Distribution,
        csrf_token: "csrf-1".to_owned(),
    };
    let configured = WebSession {
        api_key_id: None,
        key_description: None,
        scope: ApiKeyScope::Admin,
        csrf_token: "csrf-2".to_owned(),
    };
    WebSessionStore::create(&db, &token("a"), &stored, now, idle).unwrap();
    WebSessionStore::create(&db, &token("b"), &configured, now, idle).unwrap();

    assert_eq!(
        db.touch(&token("a"), now + Duration::minutes(29), idle)
            .unwrap(),
        Some(stored.clone())
    );
    // Used at +29 min: alive until +59 min.
    assert_eq!(
        db.touch(&token("a"), now + Duration::minutes(58), idle)
            .unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        db.touch(&token("b"), now + Duration::minutes(31), idle)
            .unwrap(),
        None,
        "idle"
    );
    assert_eq!(db.touch(&token("zz"), now, idle).unwrap(), None, "unknown");

    // A new sign-in sweeps sessions idle for longer than `idle`.
    WebSessionStore::create(
        &db,
        &token("c"),
        &configured,
        now + Duration::minutes(40),
        idle,
    )
    .unwrap();
    assert_eq!(count(test, "painel_sessoes"), 2);

    WebSessionStore::delete(&db, &token("c")).unwrap();
    assert_eq!(
        db.touch(&token("c"), now + Duration::minutes(41), idle)
            .unwrap(),
        None,
        "signed out"
    );

    assert!(ApiKeyStore::revoke(&db, key.id, now + Duration::minutes(59), &actor()).unwrap());
    assert_eq!(
        db.touch(&token("a"), now + Duration::minutes(59), idle)
            .unwrap(),
        None,
        "revoked key"
    );
}

fn protocol_search_combines_criteria_newest_first(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let ana = hire(&db, "Ana", &["pt"], now);
    let mut ids = Vec::new();
    for hour in 0..4 {
        let new = NewProtocol {
            consultant_id: (hour % 2 == 0).then_some(ana.id),
            ..NewProtocol::default()
        };
        let created =
            ProtocolRepository::create(&db, &new, now + Duration::hours(hour), None, &actor())
                .unwrap();
        ids.push(created.value);
    }
    let patch = ProtocolPatch {
        status: Some(ProtocolStatus::Closed),
        ..ProtocolPatch::default()
    };
    ProtocolRepository::update(&db, ids[2].id, &patch, now + Duration::hours(5), &actor()).unwrap();

    let found = |search: ProtocolSearch| -> Vec<i64> {
        db.search(&search).unwrap().iter().map(|p| p.id.0).collect()
    };
    assert_eq!(
        found(ProtocolSearch::default()),
        vec![ids[3].id.0, ids[2].id.0, ids[1].id.0, ids[0].id.0]
    );
    assert_eq!(
        found(ProtocolSearch {
            number: Some(ids[1].number),
            ..ProtocolSearch::default()
        }),
        vec![ids[1].id.0]
    );
    assert_eq!(
        found(ProtocolSearch {
            consultant_id: Some(ana.id),
            ..ProtocolSearch::default()
        }),
        vec![ids[2].id.0, ids[0].id.0]
    );
    assert_eq!(
        found(ProtocolSearch {
            consultant_id: Some(ana.id),
            status: Some(ProtocolStatus::Open),
            ..ProtocolSearch::default()
        }),
        vec![ids[0].id.0]
    );
    assert_eq!(
        found(ProtocolSearch {
            created_from: Some(ids[1].created_at),
            created_until: Some(ids[3].created_at),
            limit: 1,
            ..ProtocolSearch::default()
        }),
        vec![ids[2].id.0]
    );
}

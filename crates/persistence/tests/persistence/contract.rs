//! The repository contract, written once and run against both backends.

use chrono::{DateTime, Duration, Utc};
use consultores_domain::{
    ApiKeyScope, ApiKeyStore, AssignmentPort, Consultant, ConsultantFilter, ConsultantId,
    ConsultantName, ConsultantPatch, ConsultantRepository, Description, DomainError, Email,
    NewProtocol, Phone, PipedriveUserId, Priority, Protocol, ProtocolFilter, ProtocolId,
    ProtocolPatch, ProtocolRepository, ProtocolStatus, StoreHealth, Workload,
};
use consultores_persistence::testing::{now_micros, TestDatabase};

use crate::common::{
    actor, assign_next, claim, consultant, count, counter, create_key, create_protocol, hire,
    language, languages, on_both_backends, switch_online, with_contacts,
};

on_both_backends!(
    creates_and_reads_a_consultant,
    unknown_consultants_are_none,
    soft_delete_hides_the_consultant_and_keeps_their_protocols,
    emails_are_unique_case_insensitively_among_live_consultants,
    lists_filter_by_language_online_and_active,
    unfiltered_pages_carry_each_consultants_languages_in_order,
    patches_change_only_the_given_fields,
    protocols_are_listed_by_ascending_id_in_pages,
    protocols_are_created_with_the_next_number_and_the_defaults,
    protocols_for_unknown_or_deleted_consultants_are_refused_and_consume_no_number,
    protocols_are_updated_cleared_and_reassigned_only_to_live_consultants,
    protocol_numbers_grow_past_five_digits,
    assignment_stamps_the_consultant_and_opens_a_numbered_protocol,
    idempotent_assignments_replay_the_first_answer,
    idempotent_protocol_creation_replays_the_first_answer,
    api_keys_are_stored_hashed_and_authenticate_until_revoked,
    health_answers_and_reports_the_pool,
    migrations_run_twice_change_nothing,
);

fn creates_and_reads_a_consultant(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let new = with_contacts(
        consultant("João Silva", &["pt", "EN", "pt-BR"]),
        "Joao@Exemplo.com",
        "+5511999999999",
        456,
    );
    let created = ConsultantRepository::create(&db, &new, now, &actor()).unwrap();
    assert_eq!(created.name.as_str(), "João Silva");
    assert_eq!(created.email.as_ref().unwrap().as_str(), "Joao@Exemplo.com");
    assert_eq!(created.phone.as_ref().unwrap().as_str(), "+5511999999999");
    assert_eq!(created.pipedrive_user_id.unwrap().get(), 456);
    assert_eq!(created.languages, languages(&["pt", "en", "pt-br"]));
    assert!(created.active && created.in_rotation && created.online && !created.deleted);
    assert_eq!(
        created.last_served_at,
        Some(now),
        "newcomers join the back of the queue"
    );

    assert_eq!(
        ConsultantRepository::get(&db, created.id).unwrap(),
        Some(created.clone())
    );
    let second = hire(&db, "Maria", &["es"], now);
    assert!(second.id > created.id);
    let all = ConsultantRepository::list(&db, &ConsultantFilter::default()).unwrap();
    assert_eq!(all, vec![created, second]);
}

fn unknown_consultants_are_none(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    assert_eq!(
        ConsultantRepository::get(&db, ConsultantId(42)).unwrap(),
        None
    );
    assert_eq!(
        switch_online(&db, ConsultantId(42), true, now_micros(), &actor()),
        None
    );
    assert!(!ConsultantRepository::soft_delete(&db, ConsultantId(42), now, &actor()).unwrap());
}

fn soft_delete_hides_the_consultant_and_keeps_their_protocols(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let leaving = hire(&db, "Ana Souza", &["pt"], now);
    let staying = hire(&db, "Bruno", &["en"], now);
    let assigned = assign_next(&db, "pt", now).unwrap().value;
    let by_hand = ProtocolRepository::create(
        &db,
        &NewProtocol {
            consultant_id: Some(leaving.id),
            ..NewProtocol::default()
        },
        now,
        None,
        &actor(),
    )
    .unwrap()
    .value;

    assert!(ConsultantRepository::soft_delete(&db, leaving.id, now, &actor()).unwrap());
    assert!(!ConsultantRepository::soft_delete(&db, leaving.id, now, &actor()).unwrap());
    assert_eq!(ConsultantRepository::get(&db, leaving.id).unwrap(), None);
    assert_eq!(
        switch_online(&db, leaving.id, false, now_micros(), &actor()),
        None
    );
    let listed = ConsultantRepository::list(&db, &ConsultantFilter::default()).unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![staying.id]
    );
    assert!(matches!(
        assign_next(&db, "pt", now),
        Err(DomainError::NoneAvailable(_))
    ));

    let kept =
        ProtocolRepository::list(&db, &ProtocolFilter::new(Some(leaving.id), 0, 100).unwrap())
            .unwrap();
    assert_eq!(kept, vec![assigned.protocol, by_hand]);
    assert_eq!(count(test, "consultores"), 2, "soft delete keeps the row");
}

fn emails_are_unique_case_insensitively_among_live_consultants(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let mut first = consultant("Carla", &["pt"]);
    first.email = Some(Email::parse("carla@exemplo.com").unwrap());
    let first = ConsultantRepository::create(&db, &first, now, &actor()).unwrap();

    let mut clash = consultant("Outra Carla", &["pt"]);
    clash.email = Some(Email::parse("CARLA@Exemplo.COM").unwrap());
    assert!(matches!(
        ConsultantRepository::create(&db, &clash, now, &actor()),
        Err(DomainError::EmailTaken)
    ));

    let other = hire(&db, "Daniel", &["pt"], now);
    let steal = ConsultantPatch {
        email: Some(Some(Email::parse("Carla@exemplo.com").unwrap())),
        ..ConsultantPatch::default()
    };
    assert!(matches!(
        ConsultantRepository::update(&db, other.id, &steal, now_micros(), &actor()),
        Err(DomainError::EmailTaken)
    ));
    // Setting one's own email again (other case) is no conflict.
    let own = ConsultantPatch {
        email: Some(Some(Email::parse("CARLA@exemplo.com").unwrap())),
        ..ConsultantPatch::default()
    };
    assert!(
        ConsultantRepository::update(&db, first.id, &own, now_micros(), &actor())
            .unwrap()
            .is_some()
    );

    // Consultants without email never clash.
    hire(&db, "Sem Email", &["pt"], now);

    assert!(ConsultantRepository::soft_delete(&db, first.id, now, &actor()).unwrap());
    let reused = ConsultantRepository::create(&db, &clash, now, &actor()).unwrap();
    assert_eq!(reused.email.unwrap().as_str(), "CARLA@Exemplo.COM");
}

fn lists_filter_by_language_online_and_active(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let pt_online = hire(&db, "Pt Online", &["pt", "en"], now);
    let mut offline = consultant("Pt Offline", &["pt"]);
    offline.online = false;
    let pt_offline = ConsultantRepository::create(&db, &offline, now, &actor()).unwrap();
    let mut inactive = consultant("En Inactive", &["en"]);
    inactive.active = false;
    let en_inactive = ConsultantRepository::create(&db, &inactive, now, &actor()).unwrap();
    let deleted = hire(&db, "Deleted", &["pt"], now);
    ConsultantRepository::soft_delete(&db, deleted.id, now, &actor()).unwrap();

    let ids = |filter: ConsultantFilter| {
        ConsultantRepository::list(&db, &filter)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(ConsultantFilter {
            language: Some(language("pt")),
            ..ConsultantFilter::default()
        }),
        vec![pt_online.id, pt_offline.id]
    );
    assert_eq!(
        ids(ConsultantFilter {
            language: Some(language("EN")),
            ..ConsultantFilter::default()
        }),
        vec![pt_online.id, en_inactive.id]
    );
    assert_eq!(
        ids(ConsultantFilter {
            online: Some(false),
            ..ConsultantFilter::default()
        }),
        vec![pt_offline.id]
    );
    assert_eq!(
        ids(ConsultantFilter {
            active: Some(false),
            ..ConsultantFilter::default()
        }),
        vec![en_inactive.id]
    );
    assert_eq!(
        ids(ConsultantFilter {
            language: Some(language("pt")),
            online: Some(true),
            active: Some(true),
        }),
        vec![pt_online.id]
    );
    assert!(ids(ConsultantFilter {
        language: Some(language("fr")),
        ..ConsultantFilter::default()
    })
    .is_empty());
}

/// The unfiltered listing reads the languages of its page by the range of its ids: a deleted
/// consultant inside the range, and languages reordered after they were stored, must not show.
fn unfiltered_pages_carry_each_consultants_languages_in_order(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let ana = hire(&db, "Ana", &["pt", "en"], now);
    let gone = hire(&db, "Bia", &["es", "fr"], now);
    let caio = hire(&db, "Caio", &["de"], now);
    let duda = hire(&db, "Duda", &["it", "ja", "ko"], now);
    ConsultantRepository::soft_delete(&db, gone.id, now, &actor()).unwrap();
    // The stored rows keep their place; only their positions change.
    let reorder = ConsultantPatch {
        languages: Some(languages(&["ko", "it", "ja"])),
        ..ConsultantPatch::default()
    };
    ConsultantRepository::update(&db, duda.id, &reorder, now, &actor()).unwrap();

    let codes = |listed: &[Consultant]| {
        listed
            .iter()
            .map(|c| {
                let codes: Vec<&str> = c.languages.iter().map(|l| l.as_str()).collect();
                (c.id, codes.join(","))
            })
            .collect::<Vec<_>>()
    };
    let expected = vec![
        (ana.id, "pt,en".to_owned()),
        (caio.id, "de".to_owned()),
        (duda.id, "ko,it,ja".to_owned()),
    ];
    let all = ConsultantRepository::list(&db, &ConsultantFilter::default()).unwrap();
    assert_eq!(codes(&all), expected);
    let filter = ConsultantFilter::default();
    let first = ConsultantRepository::list_after(&db, &filter, None, 2).unwrap();
    let second = ConsultantRepository::list_after(&db, &filter, Some(caio.id), 2).unwrap();
    assert_eq!(codes(&first), expected[..2]);
    assert_eq!(codes(&second), expected[2..]);
    for listed in all {
        assert_eq!(
            ConsultantRepository::get(&db, listed.id).unwrap(),
            Some(listed)
        );
    }
}

/// Applies `patch` to the stored consultant `id` and to `expected`, and checks they agree.
fn patched(
    db: &consultores_persistence::Database,
    id: ConsultantId,
    patch: &ConsultantPatch,
    expected: &mut Consultant,
) -> Consultant {
    let updated = ConsultantRepository::update(db, id, patch, now_micros(), &actor())
        .unwrap()
        .unwrap();
    patch.apply_to(expected);
    assert_eq!(&updated, expected);
    updated
}

fn patches_change_only_the_given_fields(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let original = ConsultantRepository::create(
        &db,
        &with_contacts(
            consultant("Eva Lima", &["pt", "en"]),
            "eva@exemplo.com",
            "+5511988887777",
            7,
        ),
        now,
        &actor(),
    )
    .unwrap();

    let renamed = ConsultantRepository::update(
        &db,
        original.id,
        &ConsultantPatch {
            name: Some(ConsultantName::parse("Eva Lima Souza").unwrap()),
            ..ConsultantPatch::default()
        },
        now_micros(),
        &actor(),
    )
    .unwrap()
    .unwrap();
    let mut expected = original.clone();
    expected.name = ConsultantName::parse("Eva Lima Souza").unwrap();
    assert_eq!(renamed, expected);

    let cleared = ConsultantPatch {
        email: Some(None),
        phone: Some(None),
        pipedrive_user_id: Some(None),
        online: Some(false),
        in_rotation: Some(false),
        ..ConsultantPatch::default()
    };
    let updated = patched(&db, original.id, &cleared, &mut expected);
    assert_eq!(updated.email, None);
    assert_eq!(updated.phone, None);

    let set = ConsultantPatch {
        email: Some(Some(Email::parse("eva.nova@exemplo.com").unwrap())),
        phone: Some(Some(Phone::parse("+351912345678").unwrap())),
        pipedrive_user_id: Some(Some(PipedriveUserId::new(99).unwrap())),
        active: Some(false),
        ..ConsultantPatch::default()
    };
    patched(&db, original.id, &set, &mut expected);

    // Languages alone: the rows are replaced, in the new order.
    let relanguaged = ConsultantPatch {
        languages: Some(languages(&["es", "pt"])),
        ..ConsultantPatch::default()
    };
    patched(&db, original.id, &relanguaged, &mut expected);
    assert_eq!(
        ConsultantRepository::get(&db, original.id).unwrap(),
        Some(expected)
    );
    assert_eq!(
        count(test, "consultor_idiomas"),
        2,
        "old language rows are gone"
    );
}

fn protocols_are_listed_by_ascending_id_in_pages(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let ana = hire(&db, "Ana Paula", &["pt"], now);
    let mut created = Vec::new();
    for i in 0..25 {
        let new = NewProtocol {
            consultant_id: (i % 3 == 0).then_some(ana.id),
            ..NewProtocol::default()
        };
        created.push(create_protocol(&db, &new, now));
    }
    let page = |consultant, skip, limit| {
        ProtocolRepository::list(&db, &ProtocolFilter::new(consultant, skip, limit).unwrap())
            .unwrap()
    };
    assert_eq!(page(None, 0, 100), created);
    assert_eq!(page(None, 0, 10), created[..10].to_vec());
    assert_eq!(page(None, 10, 10), created[10..20].to_vec());
    assert_eq!(page(None, 20, 10), created[20..].to_vec());
    assert!(page(None, 25, 10).is_empty());
    assert!(page(None, u64::MAX, 10).is_empty());
    let anas: Vec<_> = created
        .iter()
        .filter(|p| p.consultant_id == Some(ana.id))
        .cloned()
        .collect();
    assert_eq!(anas.len(), 9);
    assert_eq!(page(Some(ana.id), 0, 100), anas);
    assert_eq!(page(Some(ana.id), 3, 4), anas[3..7].to_vec());
    assert!(page(Some(ConsultantId(999)), 0, 100).is_empty());
}

/// A protocol opened by hand for `consultant`: "Cliente pediu retorno", priority alta.
fn by_hand_protocol(
    db: &consultores_persistence::Database,
    consultant: ConsultantId,
    now: DateTime<Utc>,
) -> Protocol {
    ProtocolRepository::create(
        db,
        &NewProtocol {
            consultant_id: Some(consultant),
            description: Some(Description::parse("Cliente pediu retorno").unwrap()),
            priority: Priority::High,
        },
        now,
        None,
        &actor(),
    )
    .unwrap()
    .value
}

fn protocols_are_created_with_the_next_number_and_the_defaults(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let ana = hire(&db, "Ana Paula", &["pt"], now);

    let unassigned =
        ProtocolRepository::create(&db, &NewProtocol::default(), now, None, &actor()).unwrap();
    assert!(!unassigned.replayed);
    let unassigned = unassigned.value;
    assert_eq!(unassigned.number.to_string(), "#00001");
    assert_eq!(unassigned.consultant_id, None);
    assert_eq!(unassigned.language, None);
    assert_eq!(unassigned.description, None);
    assert_eq!(unassigned.priority, Priority::Normal);
    assert_eq!(unassigned.status, ProtocolStatus::Open);
    assert_eq!((unassigned.created_at, unassigned.updated_at), (now, now));
    assert_eq!(
        ProtocolRepository::get(&db, unassigned.id).unwrap(),
        Some(unassigned.clone())
    );

    let by_hand = by_hand_protocol(&db, ana.id, now);
    assert_eq!(by_hand.number.to_string(), "#00002");
    assert_eq!(
        by_hand.created_at,
        now + Duration::microseconds(1),
        "a write at the same `now` is stamped just after the previous one"
    );
    assert_eq!(by_hand.consultant_id, Some(ana.id));
    assert_eq!(by_hand.priority, Priority::High);
    assert_eq!(
        by_hand.description.as_ref().unwrap().as_str(),
        "Cliente pediu retorno"
    );
}

fn protocols_for_unknown_or_deleted_consultants_are_refused_and_consume_no_number(
    test: &TestDatabase,
) {
    let db = test.database();
    let now = now_micros();
    let for_unknown = NewProtocol {
        consultant_id: Some(ConsultantId(4242)),
        ..NewProtocol::default()
    };
    assert!(matches!(
        ProtocolRepository::create(&db, &for_unknown, now, None, &actor()),
        Err(DomainError::ConsultantNotFound)
    ));
    let gone = hire(&db, "Gone Away", &["pt"], now);
    ConsultantRepository::soft_delete(&db, gone.id, now, &actor()).unwrap();
    let for_gone = NewProtocol {
        consultant_id: Some(gone.id),
        ..NewProtocol::default()
    };
    assert!(matches!(
        ProtocolRepository::create(&db, &for_gone, now, None, &actor()),
        Err(DomainError::ConsultantNotFound)
    ));
    assert_eq!(counter(test), 0);
    assert_eq!(count(test, "protocolos"), 0);
    let next = create_protocol(&db, &NewProtocol::default(), now);
    assert_eq!(next.number.to_string(), "#00001");
}

fn protocols_are_updated_cleared_and_reassigned_only_to_live_consultants(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let ana = hire(&db, "Ana Paula", &["pt"], now);
    let bia = hire(&db, "Bia Costa", &["pt"], now);
    let gone = hire(&db, "Gone Away", &["pt"], now);
    ConsultantRepository::soft_delete(&db, gone.id, now, &actor()).unwrap();
    let by_hand = by_hand_protocol(&db, ana.id, now);

    let later = now + Duration::minutes(5);
    let patch = ProtocolPatch {
        description: Some(Some(Description::parse("Em contato").unwrap())),
        priority: Some(Priority::Urgent),
        status: Some(ProtocolStatus::InProgress),
        consultant_id: Some(bia.id),
    };
    let updated = ProtocolRepository::update(&db, by_hand.id, &patch, later, &actor())
        .unwrap()
        .unwrap();
    assert_eq!(updated.consultant_id, Some(bia.id));
    assert_eq!(updated.priority, Priority::Urgent);
    assert_eq!(updated.status, ProtocolStatus::InProgress);
    assert_eq!(updated.description.as_ref().unwrap().as_str(), "Em contato");
    assert_eq!(updated.number, by_hand.number);
    assert_eq!(
        (updated.created_at, updated.updated_at),
        (by_hand.created_at, later)
    );

    let cleared = ProtocolPatch {
        description: Some(None),
        status: Some(ProtocolStatus::Closed),
        ..ProtocolPatch::default()
    };
    let updated = ProtocolRepository::update(&db, by_hand.id, &cleared, later, &actor())
        .unwrap()
        .unwrap();
    assert_eq!(updated.description, None);
    assert_eq!(updated.status, ProtocolStatus::Closed);
    assert_eq!(updated.consultant_id, Some(bia.id));

    for consultant_id in [ConsultantId(4242), gone.id] {
        let reassign = ProtocolPatch {
            consultant_id: Some(consultant_id),
            ..ProtocolPatch::default()
        };
        assert!(matches!(
            ProtocolRepository::update(&db, by_hand.id, &reassign, later, &actor()),
            Err(DomainError::ConsultantNotFound)
        ));
    }
    assert_eq!(
        ProtocolRepository::get(&db, by_hand.id).unwrap(),
        Some(updated)
    );
    assert_eq!(
        ProtocolRepository::update(&db, ProtocolId(999), &cleared, later, &actor()).unwrap(),
        None
    );
    assert_eq!(ProtocolRepository::get(&db, ProtocolId(999)).unwrap(), None);
}

fn protocol_numbers_grow_past_five_digits(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    test.execute("UPDATE controle_protocolo SET ultimo_numero = 99998 WHERE id = 1");
    let numbers: Vec<String> = (0..3)
        .map(|_| {
            create_protocol(&db, &NewProtocol::default(), now)
                .number
                .to_string()
        })
        .collect();
    assert_eq!(numbers, ["#99999", "#100000", "#100001"]);
    // The rotation numbers past five digits the same way (on PostgreSQL it formats in SQL).
    hire(&db, "Fernanda", &["pt"], now);
    let assigned = AssignmentPort::assign_next(&db, &language("pt"), now, None, &actor(), None)
        .unwrap()
        .value;
    assert_eq!(assigned.protocol.number.to_string(), "#100002");
    assert_eq!(
        test.query_strings("SELECT numero AS value FROM protocolos ORDER BY id"),
        ["#99999", "#100000", "#100001", "#100002"]
    );
}

/// Fernanda (pt and en, with contacts and Pipedrive user 3) then Gustavo (pt), created an hour ago a
/// second apart: Fernanda heads the pt queue.
fn fernanda_then_gustavo(db: &consultores_persistence::Database) -> (Consultant, Consultant) {
    let created_at = now_micros() - Duration::hours(1);
    let first = ConsultantRepository::create(
        db,
        &with_contacts(
            consultant("Fernanda", &["pt", "en"]),
            "f@exemplo.com",
            "+5511977776666",
            3,
        ),
        created_at,
        &actor(),
    )
    .unwrap();
    let second = hire(db, "Gustavo", &["pt"], created_at + Duration::seconds(1));
    (first, second)
}

fn assignment_stamps_the_consultant_and_opens_a_numbered_protocol(test: &TestDatabase) {
    let db = test.database();
    let (first, second) = fernanda_then_gustavo(&db);

    let now = now_micros();
    let assigned = assign_next(&db, "PT", now).unwrap();
    assert!(!assigned.replayed);
    let assignment = assigned.value;
    let mut expected = first.clone();
    expected.last_served_at = Some(now);
    // Peso 1: the queue key is the stamp; the assignment is counted on the local day and the
    // new protocol is open.
    expected.queue_key = Some(now.timestamp_micros());
    expected.workload = Workload {
        assignments_day: Some(expected.routing.local_date(now)),
        assignments_on_day: 1,
        open_protocols: 1,
    };
    assert_eq!(assignment.consultant, expected);
    assert_eq!(assignment.protocol.number.to_string(), "#00001");
    assert_eq!(assignment.protocol.consultant_id, Some(first.id));
    assert_eq!(assignment.protocol.language, Some(language("pt")));
    assert_eq!(assignment.protocol.priority, Priority::Normal);
    assert_eq!(assignment.protocol.status, ProtocolStatus::Open);
    assert_eq!(assignment.protocol.created_at, now);
    assert_eq!(
        ConsultantRepository::get(&db, first.id).unwrap(),
        Some(expected)
    );
    assert_eq!(
        ProtocolRepository::get(&db, assignment.protocol.id).unwrap(),
        Some(assignment.protocol)
    );

    let next = assign_next(&db, "pt", now + Duration::seconds(1))
        .unwrap()
        .value;
    assert_eq!(next.consultant.id, second.id);
    assert_eq!(next.protocol.number.to_string(), "#00002");

    // English: only the first speaks it.
    let english = assign_next(&db, "en", now + Duration::seconds(2))
        .unwrap()
        .value;
    assert_eq!(english.consultant.id, first.id);

    match assign_next(&db, "fr", now) {
        Err(DomainError::NoneAvailable(missing)) => assert_eq!(missing, language("fr")),
        other => panic!("expected NoneAvailable, got {other:?}"),
    }
    assert_eq!(counter(test), 3, "a failed assignment consumes no number");
    assert_eq!(count(test, "protocolos"), 3);
}

fn idempotent_assignments_replay_the_first_answer(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    for name in ["Helena", "Igor Reis"] {
        hire(&db, name, &["pt"], now - Duration::hours(1));
    }
    let key = claim("retry-123", "GET /consultor/da-vez?idioma=pt", now);
    let first = db
        .assign_next(&language("pt"), now, Some(key.clone()), &actor(), None)
        .unwrap();
    assert!(!first.replayed);
    let retry = db
        .assign_next(
            &language("pt"),
            now + Duration::seconds(5),
            Some(key.clone()),
            &actor(),
            None,
        )
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.value, first.value);
    assert_eq!(counter(test), 1);
    assert_eq!(count(test, "protocolos"), 1);

    let other_request = claim("retry-123", "GET /consultor/da-vez?idioma=en", now);
    assert!(matches!(
        db.assign_next(&language("pt"), now, Some(other_request), &actor(), None),
        Err(DomainError::IdempotencyKeyReused)
    ));
    // Another caller (scope) may use the same key string.
    let mut other_scope = key.clone();
    other_scope.scope = "api-key-2".to_owned();
    let theirs = db
        .assign_next(&language("pt"), now, Some(other_scope), &actor(), None)
        .unwrap();
    assert!(!theirs.replayed);
    assert_ne!(theirs.value.consultant.id, first.value.consultant.id);

    // After the window the key is forgotten: a new assignment.
    let much_later = key.expires_at + Duration::seconds(1);
    let expired = db
        .assign_next(
            &language("pt"),
            much_later,
            Some(claim(
                "retry-123",
                "GET /consultor/da-vez?idioma=pt",
                much_later,
            )),
            &actor(),
            None,
        )
        .unwrap();
    assert!(!expired.replayed);
    assert_eq!(expired.value.protocol.number.to_string(), "#00003");
    assert_eq!(count(test, "idempotency_keys"), 2);

    // A failed request leaves no record behind: the key stays usable.
    let failing = claim("retry-456", "GET /consultor/da-vez?idioma=fr", now);
    assert!(matches!(
        db.assign_next(&language("fr"), now, Some(failing.clone()), &actor(), None),
        Err(DomainError::NoneAvailable(_))
    ));
    assert_eq!(count(test, "idempotency_keys"), 2);
}

fn idempotent_protocol_creation_replays_the_first_answer(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let key = claim("gerar-1", "GET /gerar-protocolo", now);
    let generate =
        |claim| ProtocolRepository::create(&db, &NewProtocol::default(), now, claim, &actor());
    let first = generate(Some(key.clone())).unwrap();
    let retry = generate(Some(key.clone())).unwrap();
    assert!(!first.replayed && retry.replayed);
    assert_eq!(retry.value, first.value);
    assert_eq!(counter(test), 1);

    let other = claim("gerar-1", "POST /protocolo {\"prioridade\":\"alta\"}", now);
    assert!(matches!(
        generate(Some(other)),
        Err(DomainError::IdempotencyKeyReused)
    ));
    // Unknown consultant: refused, and the key is not burnt.
    let for_unknown = NewProtocol {
        consultant_id: Some(ConsultantId(77)),
        ..NewProtocol::default()
    };
    let key2 = claim("gerar-2", "POST /protocolo 77", now);
    assert!(matches!(
        ProtocolRepository::create(&db, &for_unknown, now, Some(key2.clone()), &actor()),
        Err(DomainError::ConsultantNotFound)
    ));
    let fresh = ProtocolRepository::create(&db, &NewProtocol::default(), now, Some(key2), &actor())
        .unwrap();
    assert!(!fresh.replayed);
    assert_eq!(fresh.value.number.to_string(), "#00002");

    assert_eq!(
        db.purge_expired_idempotency_keys(now + Duration::hours(23))
            .unwrap(),
        0
    );
    assert_eq!(
        db.purge_expired_idempotency_keys(now + Duration::hours(24))
            .unwrap(),
        2
    );
    assert_eq!(count(test, "idempotency_keys"), 0);
}

fn api_keys_are_stored_hashed_and_authenticate_until_revoked(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    assert!(!db.any_active().unwrap());
    let (key, secret) = create_key(&db, Some("n8n"), ApiKeyScope::Distribution, now, &actor());
    assert!(secret.starts_with("csk_") && secret.len() >= 40, "{secret}");
    assert_eq!(key.scope, ApiKeyScope::Distribution);
    assert_eq!(
        (key.created_at, key.last_used_at, key.revoked_at),
        (now, None, None)
    );
    assert!(db.any_active().unwrap());

    let (_, other_secret) = create_key(&db, None, ApiKeyScope::Read, now, &actor());
    assert_ne!(secret, other_secret);

    let used = db
        .authenticate(&secret, now + Duration::seconds(1))
        .unwrap()
        .unwrap();
    assert_eq!(used.id, key.id);
    assert_eq!(used.last_used_at, Some(now + Duration::seconds(1)));
    // Within a minute, no write: last_used_at stays.
    let again = db
        .authenticate(&secret, now + Duration::seconds(30))
        .unwrap()
        .unwrap();
    assert_eq!(again.last_used_at, Some(now + Duration::seconds(1)));
    let later = db
        .authenticate(&secret, now + Duration::seconds(90))
        .unwrap()
        .unwrap();
    assert_eq!(later.last_used_at, Some(now + Duration::seconds(90)));
    assert_eq!(db.authenticate("csk_wrong", now).unwrap(), None);
    assert_eq!(db.authenticate("", now).unwrap(), None);

    let stored = test.query_strings(
        "SELECT key_hash || ' ' || coalesce(description, '') || ' ' || scope AS value FROM api_keys",
    );
    assert_eq!(stored.len(), 2);
    assert!(stored
        .iter()
        .all(|row| !row.contains(&secret) && !row.contains(&other_secret)));
    assert!(stored
        .iter()
        .any(|row| row.starts_with(&format!("{:x}", sha2_of(&secret)))));

    assert!(db.revoke(key.id, now, &actor()).unwrap());
    assert!(!db.revoke(key.id, now, &actor()).unwrap());
    assert!(!db
        .revoke(consultores_domain::ApiKeyId(999), now, &actor())
        .unwrap());
    assert_eq!(db.authenticate(&secret, now).unwrap(), None);
    let listed = ApiKeyStore::list(&db).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, key.id);
    assert_eq!(listed[0].revoked_at, Some(now));
    assert_eq!(listed[1].revoked_at, None);
    assert!(db.any_active().unwrap());
}

fn sha2_of(secret: &str) -> HexDigest {
    use sha2::Digest;
    HexDigest(sha2::Sha256::digest(secret.as_bytes()).to_vec())
}

struct HexDigest(Vec<u8>);

impl std::fmt::LowerHex for HexDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

fn health_answers_and_reports_the_pool(test: &TestDatabase) {
    let db = test.database();
    db.ping().unwrap();
    let state = db.pool_state();
    assert_eq!(state.max_size, 8);
    assert!(state.connections >= 1 && state.connections <= 8);
}

fn migrations_run_twice_change_nothing(test: &TestDatabase) {
    assert!(test.migrate().is_empty());
    assert_eq!(counter(test), 0);
}

//! The record of operations (`auditoria`) on both backends: one entry per change with the right
//! fields, none for what changes nothing or fails, no key material, the connection history,
//! keyset pages under concurrent writes, and retention pruning.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::{DateTime, Duration, Utc};
use consultores_domain::{
    Actor, ApiKeyId, ApiKeyScope, ApiKeyStore, AssignmentPort, AuditAction, AuditEntity,
    AuditEntry, AuditEntryId, AuditFilter, AuditLog, AuditPage, AuditPageRequest, AuditValue,
    ConsultantId, ConsultantName, ConsultantPatch, ConsultantRepository, Description, DomainError,
    Email, FieldChange, NewApiKey, NewProtocol, Priority, ProtocolId, ProtocolPatch,
    ProtocolRepository, ProtocolStatus,
};
use consultores_persistence::testing::{now_micros, FaultAction, FaultPoint, TestDatabase};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{
    actor, assign_next, claim, consultant, count, create_key, create_protocol, hire, language,
    languages, on_both_backends, switch_online,
};

on_both_backends!(
    a_created_consultant_records_every_stored_field,
    consultant_updates_record_only_the_changed_fields_and_a_removal,
    a_status_online_switch_records_a_connection_alone_or_with_other_fields,
    protocol_writes_record_their_creation_and_the_changed_fields,
    an_assignment_records_the_stamp_and_the_protocol_on_the_consultant,
    api_keys_record_their_creation_and_revocation_by_their_caller,
    every_entry_names_its_caller_and_ids_grow_with_time,
    the_assignment_entry_has_the_same_json_on_both_backends,
    writes_of_what_is_already_stored_record_nothing,
    refused_writes_record_nothing,
    idempotent_replays_record_nothing_more,
    a_failure_inside_a_consultant_write_records_nothing,
    a_failure_inside_a_protocol_or_key_write_records_nothing,
    no_entry_holds_key_material,
    the_connection_history_says_who_switched_a_consultant_and_when,
    the_connection_history_pages_newest_first_each_entry_once,
    a_removed_consultant_keeps_the_connection_history,
    listings_filter_by_entity_action_and_time_newest_first,
    keyset_pages_return_every_entry_once_while_entries_are_written,
    pruning_deletes_only_entries_older_than_the_cutoff_in_batches,
);

fn painel() -> Actor {
    Actor::stored_key(ApiKeyId(5), Some("painel do gestor"), "req-painel")
}

fn bot() -> Actor {
    Actor::stored_key(ApiKeyId(6), Some("chatbot"), "req-bot")
}

fn all_entries(db: &impl AuditLog) -> Vec<AuditEntry> {
    let page = db
        .list(&AuditFilter {
            page: AuditPageRequest::new(None, 1000).unwrap(),
            ..AuditFilter::default()
        })
        .unwrap();
    assert_eq!(page.next, None, "more than 1000 entries in a test");
    page.entries
}

/// The newest entry, checking that exactly one entry was added since `before` entries existed.
#[track_caller]
fn one_new_entry(test: &TestDatabase, before: i64) -> AuditEntry {
    assert_eq!(count(test, "auditoria"), before + 1, "exactly one entry");
    all_entries(&test.database()).remove(0)
}

fn change(before: impl Into<AuditValue>, after: impl Into<AuditValue>) -> FieldChange {
    FieldChange {
        before: before.into(),
        after: after.into(),
    }
}

/// `entry` changed `field` from `before` to `after`.
#[track_caller]
fn assert_change(
    entry: &AuditEntry,
    field: &str,
    before: impl Into<AuditValue>,
    after: impl Into<AuditValue>,
) {
    assert_eq!(
        entry.changes.get(field),
        Some(&change(before, after)),
        "{field}"
    );
}

/// `entry` set `field`, null before, to `after`.
#[track_caller]
fn assert_set(entry: &AuditEntry, field: &str, after: impl Into<AuditValue>) {
    assert_change(entry, field, AuditValue::Null, after);
}

/// `entry` records `action` on entity `id`, stamping `field` with `at`: a removal or a
/// revocation.
#[track_caller]
fn assert_stamped(
    entry: &AuditEntry,
    action: AuditAction,
    id: i64,
    field: &str,
    at: DateTime<Utc>,
) {
    assert_eq!((entry.action, entry.entity_id), (action, id));
    assert_set(entry, field, AuditValue::time(at));
}

fn fields(entry: &AuditEntry) -> Vec<&str> {
    entry.changes.fields().collect()
}

/// Registers "Ana Souza" (pt, en, an e-mail, offline) as the configured key.
fn register_ana(test: &TestDatabase, now: DateTime<Utc>) -> consultores_domain::Consultant {
    let mut new = consultant("Ana Souza", &["pt", "en"]);
    new.email = Some(Email::parse("ana@exemplo.com").unwrap());
    new.online = false;
    ConsultantRepository::create(
        &test.database(),
        &new,
        now,
        &Actor::configured_key("req-admin"),
    )
    .unwrap()
}

fn a_created_consultant_records_every_stored_field(test: &TestDatabase) {
    let now = now_micros();
    let ana = register_ana(test, now);
    // consultor.criado: every stored field that is not null, `antes` null.
    let entry = one_new_entry(test, 0);
    assert_eq!(entry.action, AuditAction::ConsultantCreated);
    assert_eq!(
        (entry.entity, entry.entity_id),
        (AuditEntity::Consultant, ana.id.0)
    );
    assert_eq!(entry.actor, Actor::configured_key("req-admin"));
    assert_eq!(entry.at, now);
    assert_eq!(
        fields(&entry),
        [
            "email",
            "idiomas",
            "nome",
            "peso",
            "status_ativo",
            "status_ativo_sequencial",
            "status_online",
            "ultimo_atendimento"
        ]
    );
    assert_set(&entry, "nome", "Ana Souza");
    assert_set(&entry, "idiomas", vec!["pt".to_owned(), "en".to_owned()]);
    assert_set(&entry, "status_online", false);
    assert_set(&entry, "ultimo_atendimento", AuditValue::time(now));
}

fn consultant_updates_record_only_the_changed_fields_and_a_removal(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let ana = register_ana(test, now);

    // consultor.atualizado: only the changed field.
    let later = now + Duration::seconds(1);
    let rename = ConsultantPatch {
        name: Some(ConsultantName::parse("Ana Paula").unwrap()),
        email: Some(Some(Email::parse("ana@exemplo.com").unwrap())),
        ..ConsultantPatch::default()
    };
    ConsultantRepository::update(&db, ana.id, &rename, later, &painel()).unwrap();
    let entry = one_new_entry(test, 1);
    assert_eq!(entry.action, AuditAction::ConsultantUpdated);
    assert_eq!(entry.actor, painel());
    assert_eq!(entry.at, later);
    assert_eq!(fields(&entry), ["nome"]);
    assert_change(&entry, "nome", "Ana Souza", "Ana Paula");

    // consultor.removido.
    ConsultantRepository::soft_delete(&db, ana.id, later, &painel()).unwrap();
    let entry = one_new_entry(test, 2);
    assert_stamped(
        &entry,
        AuditAction::ConsultantRemoved,
        ana.id.0,
        "removido_em",
        later,
    );
}

fn a_status_online_switch_records_a_connection_alone_or_with_other_fields(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let later = now + Duration::seconds(1);
    let ana = register_ana(test, now);

    // consultor.conexao: a switch of status_online, alone or with other fields.
    switch_online(&db, ana.id, true, later, &bot());
    let entry = one_new_entry(test, 1);
    assert_eq!(entry.action, AuditAction::ConsultantConnection);
    assert_eq!(fields(&entry), ["status_online"]);
    assert_eq!(entry.online_after(), Some(true));
    let both = ConsultantPatch {
        online: Some(false),
        languages: Some(languages(&["es"])),
        ..ConsultantPatch::default()
    };
    ConsultantRepository::update(&db, ana.id, &both, later, &painel()).unwrap();
    let entry = one_new_entry(test, 2);
    assert_eq!(entry.action, AuditAction::ConsultantConnection);
    assert_eq!(fields(&entry), ["idiomas", "status_online"]);
    assert_change(
        &entry,
        "idiomas",
        vec!["pt".to_owned(), "en".to_owned()],
        vec!["es".to_owned()],
    );
    assert_change(&entry, "status_online", true, false);
}

fn protocol_writes_record_their_creation_and_the_changed_fields(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let later = now + Duration::seconds(1);
    let ana = register_ana(test, now);

    // protocolo.criado, by hand and unassigned.
    let by_hand = ProtocolRepository::create(
        &db,
        &NewProtocol {
            consultant_id: Some(ana.id),
            description: Some(Description::parse("retornar ligação").unwrap()),
            priority: Priority::High,
        },
        now,
        None,
        &bot(),
    )
    .unwrap()
    .value;
    let entry = one_new_entry(test, 1);
    assert_eq!(entry.action, AuditAction::ProtocolCreated);
    assert_eq!(
        (entry.entity, entry.entity_id),
        (AuditEntity::Protocol, by_hand.id.0)
    );
    assert_eq!(entry.at, by_hand.created_at);
    assert_eq!(
        fields(&entry),
        [
            "consultor_id",
            "descricao",
            "numero",
            "prioridade",
            "status"
        ]
    );
    assert_set(&entry, "numero", "#00001");
    assert_set(&entry, "consultor_id", ana.id.0);
    let generated = ProtocolRepository::create(&db, &NewProtocol::default(), now, None, &bot())
        .unwrap()
        .value;
    let entry = one_new_entry(test, 2);
    assert_eq!(entry.entity_id, generated.id.0);
    assert_eq!(fields(&entry), ["numero", "prioridade", "status"]);

    // protocolo.atualizado: the changed fields, never updated_at.
    let patch = ProtocolPatch {
        status: Some(ProtocolStatus::Closed),
        priority: Some(Priority::High),
        description: Some(None),
        ..ProtocolPatch::default()
    };
    ProtocolRepository::update(&db, by_hand.id, &patch, later, &bot()).unwrap();
    let entry = one_new_entry(test, 3);
    assert_eq!(entry.action, AuditAction::ProtocolUpdated);
    assert_eq!(entry.entity_id, by_hand.id.0);
    assert_eq!(fields(&entry), ["descricao", "status"]);
    assert_change(&entry, "descricao", "retornar ligação", AuditValue::Null);
    assert_change(&entry, "status", "aberto", "fechado");
}

fn an_assignment_records_the_stamp_and_the_protocol_on_the_consultant(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let later = now + Duration::seconds(1);
    let admin = Actor::configured_key("req-admin");

    // atribuicao: on the consultant, with the stamp and the protocol opened.
    let bia =
        ConsultantRepository::create(&db, &consultant("Bia Costa", &["pt"]), now, &admin).unwrap();
    let assigned = db
        .assign_next(&language("pt"), later, None, &bot(), None)
        .unwrap()
        .value;
    assert_eq!(assigned.consultant.id, bia.id);
    let entry = one_new_entry(test, 1);
    assert_eq!(entry.action, AuditAction::Assignment);
    assert_eq!(
        (entry.entity, entry.entity_id),
        (AuditEntity::Consultant, bia.id.0)
    );
    assert_eq!(entry.actor, bot());
    assert_eq!(entry.at, assigned.protocol.created_at);
    assert_eq!(
        fields(&entry),
        [
            "idioma",
            "numero_protocolo",
            "protocolo_id",
            "ultimo_atendimento"
        ]
    );
    assert_change(
        &entry,
        "ultimo_atendimento",
        AuditValue::time(now),
        AuditValue::time(assigned.consultant.last_served_at.unwrap()),
    );
    assert_set(&entry, "protocolo_id", assigned.protocol.id.0);
    assert_set(&entry, "numero_protocolo", "#00001");
    assert_set(&entry, "idioma", "pt");
}

fn api_keys_record_their_creation_and_revocation_by_their_caller(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let later = now + Duration::seconds(1);

    // api_key.criada and api_key.revogada, from the command line.
    let cli = Actor::cli("cli-run-1");
    let (key, _) = create_key(&db, Some("n8n"), ApiKeyScope::Distribution, now, &cli);
    let entry = one_new_entry(test, 0);
    assert_eq!(entry.action, AuditAction::ApiKeyCreated);
    assert_eq!(
        (entry.entity, entry.entity_id),
        (AuditEntity::ApiKey, key.id.0)
    );
    assert_eq!(entry.actor, cli);
    assert_eq!(fields(&entry), ["description", "scope"]);
    assert_set(&entry, "scope", "distribuicao");
    db.revoke(key.id, later, &Actor::configured_key("req-admin"))
        .unwrap();
    let entry = one_new_entry(test, 1);
    assert_stamped(
        &entry,
        AuditAction::ApiKeyRevoked,
        key.id.0,
        "revoked_at",
        later,
    );
}

fn every_entry_names_its_caller_and_ids_grow_with_time(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let ana = register_ana(test, now);
    switch_online(&db, ana.id, true, now, &bot());
    ProtocolRepository::create(&db, &NewProtocol::default(), now, None, &painel()).unwrap();
    db.assign_next(&language("pt"), now, None, &bot(), None)
        .unwrap();
    ConsultantRepository::soft_delete(&db, ana.id, now, &painel()).unwrap();

    let entries = all_entries(&db);
    assert_eq!(entries.len(), 5);
    assert!(entries.windows(2).all(|pair| pair[0].id > pair[1].id));
    assert!(entries
        .iter()
        .all(|entry| !entry.actor.request_id.is_empty()));
}

fn the_assignment_entry_has_the_same_json_on_both_backends(test: &TestDatabase) {
    let db = test.database();
    // In the past (a caller's time may not run ahead of the database's clock), with the
    // counter's own stamp set before it, so the counter never overtakes it.
    test.execute("UPDATE controle_protocolo SET updated_at = '2000-01-01T00:00:00.000000+00:00'");
    let t0 = DateTime::parse_from_rfc3339("2001-11-29T14:30:00.123456+00:00")
        .unwrap()
        .with_timezone(&Utc);
    hire(&db, "Carla Dias", &["pt"], t0);
    let assigned = assign_next(&db, "pt", t0 + Duration::minutes(1))
        .unwrap()
        .value;
    let stored =
        test.query_strings("SELECT alteracoes AS value FROM auditoria WHERE acao = 'atribuicao'");
    assert_eq!(stored.len(), 1);
    let parsed: Value = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(
        parsed,
        json!({
            "ultimo_atendimento": {
                "antes": "2001-11-29T14:30:00.123456+00:00",
                "depois": "2001-11-29T14:31:00.123456+00:00"
            },
            "protocolo_id": {"antes": null, "depois": assigned.protocol.id.0},
            "numero_protocolo": {"antes": null, "depois": "#00001"},
            "idioma": {"antes": null, "depois": "pt"}
        })
    );
    let columns = test.query_strings(
        "SELECT CAST(coalesce(chave_id, 0) AS TEXT) || '|' || chave_descricao || '|' || request_id \
         || '|' || entidade || '|' || CAST(entidade_id AS TEXT) AS value FROM auditoria \
         WHERE acao = 'atribuicao'",
    );
    assert_eq!(
        columns,
        [format!(
            "1|testes|req-teste|consultor|{}",
            assigned.consultant.id.0
        )]
    );
}

/// Five recorded writes: Dora (with an e-mail) and Eva registered, a protocol, a key created and
/// revoked.
struct Recorded {
    dora_registration: consultores_domain::NewConsultant,
    dora: consultores_domain::Consultant,
    other: consultores_domain::Consultant,
    protocol: consultores_domain::Protocol,
    key: ApiKeyId,
}

fn five_recorded_writes(test: &TestDatabase, now: DateTime<Utc>) -> Recorded {
    let db = test.database();
    let mut dora_registration = consultant("Dora Lima", &["pt"]);
    dora_registration.email = Some(Email::parse("dora@exemplo.com").unwrap());
    let dora = ConsultantRepository::create(&db, &dora_registration, now, &actor()).unwrap();
    let other = hire(&db, "Eva Rios", &["en"], now);
    let protocol = create_protocol(&db, &NewProtocol::default(), now);
    let (key, _) = create_key(&db, None, ApiKeyScope::Read, now, &actor());
    db.revoke(key.id, now, &actor()).unwrap();
    assert_eq!(count(test, "auditoria"), 5);
    Recorded {
        dora_registration,
        dora,
        other,
        protocol,
        key: key.id,
    }
}

fn writes_of_what_is_already_stored_record_nothing(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let Recorded {
        dora,
        protocol,
        key,
        ..
    } = five_recorded_writes(test, now);

    let same = ConsultantPatch {
        name: Some(ConsultantName::parse("Dora Lima").unwrap()),
        languages: Some(languages(&["pt"])),
        online: Some(true),
        ..ConsultantPatch::default()
    };
    assert_eq!(
        ConsultantRepository::update(&db, dora.id, &same, now, &actor()).unwrap(),
        Some(dora.clone())
    );
    let same_protocol = ProtocolPatch {
        status: Some(ProtocolStatus::Open),
        priority: Some(Priority::Normal),
        ..ProtocolPatch::default()
    };
    let unchanged = ProtocolRepository::update(
        &db,
        protocol.id,
        &same_protocol,
        now + Duration::hours(1),
        &actor(),
    )
    .unwrap();
    assert_eq!(
        unchanged,
        Some(protocol.clone()),
        "not even updated_at moves"
    );
    assert!(!db.revoke(key, now, &actor()).unwrap());
    assert_eq!(count(test, "auditoria"), 5);
}

fn refused_writes_record_nothing(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let Recorded {
        dora_registration,
        other,
        protocol,
        ..
    } = five_recorded_writes(test, now);

    let steal = ConsultantPatch {
        email: Some(Some(Email::parse("DORA@exemplo.com").unwrap())),
        ..ConsultantPatch::default()
    };
    assert!(matches!(
        ConsultantRepository::update(&db, other.id, &steal, now, &actor()),
        Err(DomainError::EmailTaken)
    ));
    assert!(matches!(
        ConsultantRepository::create(&db, &dora_registration, now, &actor()),
        Err(DomainError::EmailTaken)
    ));
    assert_eq!(
        switch_online(&db, ConsultantId(999), false, now, &actor()),
        None
    );
    assert!(!ConsultantRepository::soft_delete(&db, ConsultantId(999), now, &actor()).unwrap());
    let for_unknown = NewProtocol {
        consultant_id: Some(ConsultantId(999)),
        ..NewProtocol::default()
    };
    assert!(matches!(
        ProtocolRepository::create(&db, &for_unknown, now, None, &actor()),
        Err(DomainError::ConsultantNotFound)
    ));
    let reassign = ProtocolPatch {
        consultant_id: Some(ConsultantId(999)),
        ..ProtocolPatch::default()
    };
    assert!(matches!(
        ProtocolRepository::update(&db, protocol.id, &reassign, now, &actor()),
        Err(DomainError::ConsultantNotFound)
    ));
    let status = ProtocolPatch {
        status: Some(ProtocolStatus::Open),
        ..ProtocolPatch::default()
    };
    assert_eq!(
        ProtocolRepository::update(&db, ProtocolId(999), &status, now, &actor()).unwrap(),
        None
    );
    assert!(matches!(
        assign_next(&db, "fr", now),
        Err(DomainError::NoneAvailable(_))
    ));
    assert!(!db.revoke(ApiKeyId(999), now, &actor()).unwrap());
    assert_eq!(count(test, "auditoria"), 5);
}

fn idempotent_replays_record_nothing_more(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    five_recorded_writes(test, now);

    // Replays, and a key reused for another request.
    let key = claim("retry-1", "GET /consultor/da-vez?idioma=pt", now);
    let first = db
        .assign_next(&language("pt"), now, Some(key.clone()), &actor(), None)
        .unwrap();
    assert_eq!(count(test, "auditoria"), 6);
    let replay = db
        .assign_next(&language("pt"), now, Some(key), &actor(), None)
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.value, first.value);
    let other_request = claim("retry-1", "GET /consultor/da-vez?idioma=en", now);
    assert!(matches!(
        db.assign_next(&language("en"), now, Some(other_request), &actor(), None),
        Err(DomainError::IdempotencyKeyReused)
    ));
    let generate = claim("gerar-1", "GET /gerar-protocolo", now);
    ProtocolRepository::create(
        &db,
        &NewProtocol::default(),
        now,
        Some(generate.clone()),
        &actor(),
    )
    .unwrap();
    let replayed =
        ProtocolRepository::create(&db, &NewProtocol::default(), now, Some(generate), &actor())
            .unwrap();
    assert!(replayed.replayed);
    assert_eq!(count(test, "auditoria"), 7);
}

/// What any of the writes below could leave behind.
type StoredState = (
    i64,
    i64,
    i64,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
);

fn stored_state(test: &TestDatabase) -> StoredState {
    (
        count(test, "auditoria"),
        count(test, "consultores"),
        count(test, "api_keys"),
        test.query_strings(
            "SELECT nome || '|' || CAST(status_online AS TEXT) || '|' \
             || coalesce(CAST(removido_em AS TEXT), '-') AS value FROM consultores ORDER BY id",
        ),
        test.query_strings(
            "SELECT status || '|' || CAST(updated_at AS TEXT) AS value FROM protocolos",
        ),
        test.query_strings("SELECT coalesce(CAST(revoked_at AS TEXT), '-') AS value FROM api_keys"),
        test.query_strings("SELECT ultimo_numero || '' AS value FROM controle_protocolo"),
    )
}

/// `write` (audited as `action`) failing inside its transaction (an error, a panic, a connection
/// dropped by the server) after writing its change and its entry leaves nothing of either;
/// without a fault it goes through and records its entry. Protocol creation and assignment are
/// interrupted at every step by the fault tests (`faults.rs`), whose snapshot includes the audit
/// table.
fn assert_a_failure_records_nothing(
    test: &TestDatabase,
    action: &str,
    write: &dyn Fn() -> Result<(), DomainError>,
) {
    for fault in [
        FaultAction::Fail,
        FaultAction::Panic,
        FaultAction::DropConnection,
    ] {
        let before = stored_state(test);
        test.inject_fault(FaultPoint::BeforeCommit, fault);
        let outcome = catch_unwind(AssertUnwindSafe(write));
        assert!(
            !matches!(outcome, Ok(Ok(()))),
            "{action}/{fault:?} must fail"
        );
        assert_eq!(
            stored_state(test),
            before,
            "{action}/{fault:?} left a trace"
        );
    }
    let before = count(test, "auditoria");
    write().unwrap();
    let entry = one_new_entry(test, before);
    assert_eq!(entry.action.as_str(), action);
}

fn a_failure_inside_a_consultant_write_records_nothing(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let fio = hire(&db, "Fio Maia", &["pt"], now);
    assert_a_failure_records_nothing(test, "consultor.criado", &|| {
        ConsultantRepository::create(&db, &consultant("Gil Mota", &["pt"]), now, &actor()).map(drop)
    });
    assert_a_failure_records_nothing(test, "consultor.atualizado", &|| {
        let patch = ConsultantPatch {
            name: Some(ConsultantName::parse("Fio Maia Neto").unwrap()),
            ..ConsultantPatch::default()
        };
        ConsultantRepository::update(&db, fio.id, &patch, now, &actor()).map(drop)
    });
    assert_a_failure_records_nothing(test, "consultor.conexao", &|| {
        let patch = ConsultantPatch::online(false);
        ConsultantRepository::update(&db, fio.id, &patch, now, &actor()).map(drop)
    });
    assert_a_failure_records_nothing(test, "consultor.removido", &|| {
        ConsultantRepository::soft_delete(&db, fio.id, now, &actor()).map(drop)
    });
}

fn a_failure_inside_a_protocol_or_key_write_records_nothing(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let protocol = create_protocol(&db, &NewProtocol::default(), now);
    let (key, _) = create_key(&db, Some("alvo"), ApiKeyScope::Read, now, &actor());
    assert_a_failure_records_nothing(test, "protocolo.atualizado", &|| {
        let patch = ProtocolPatch {
            status: Some(ProtocolStatus::Closed),
            ..ProtocolPatch::default()
        };
        ProtocolRepository::update(&db, protocol.id, &patch, now, &actor()).map(drop)
    });
    assert_a_failure_records_nothing(test, "api_key.criada", &|| {
        let new = NewApiKey {
            description: None,
            scope: ApiKeyScope::Admin,
        };
        ApiKeyStore::create(&db, &new, now, &actor()).map(drop)
    });
    assert_a_failure_records_nothing(test, "api_key.revogada", &|| {
        db.revoke(key.id, now, &actor()).map(drop)
    });
}

fn no_entry_holds_key_material(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let (key, secret) = create_key(
        &db,
        Some("integração"),
        ApiKeyScope::Admin,
        now,
        &Actor::configured_key("req-1"),
    );
    let hash = hex_sha256(&secret);
    // The new key at work: every kind of write, then its revocation.
    let caller = Actor::stored_key(key.id, key.description.as_deref(), "req-2");
    let hana =
        ConsultantRepository::create(&db, &consultant("Hana Sato", &["pt"]), now, &caller).unwrap();
    switch_online(&db, hana.id, false, now, &caller);
    ProtocolRepository::create(&db, &NewProtocol::default(), now, None, &caller).unwrap();
    switch_online(&db, hana.id, true, now, &caller);
    db.assign_next(&language("pt"), now, None, &caller, None)
        .unwrap();
    db.revoke(key.id, now, &caller).unwrap();
    let rows = test.query_strings(
        "SELECT CAST(id AS TEXT) || '|' || CAST(em AS TEXT) || '|' \
         || coalesce(CAST(chave_id AS TEXT), '') || '|' || chave_descricao || '|' || request_id \
         || '|' || acao || '|' || entidade || '|' || CAST(entidade_id AS TEXT) || '|' \
         || alteracoes AS value FROM auditoria",
    );
    assert_eq!(rows.len(), 7);
    for row in &rows {
        assert!(!row.contains(&secret), "the secret is in {row}");
        assert!(!row.contains(&hash), "the secret's hash is in {row}");
        assert!(!row.contains("csk_"), "a secret's prefix is in {row}");
    }
    assert!(rows
        .iter()
        .any(|row| row.contains(&format!("|{}|integração|req-2|", key.id.0))));
}

fn hex_sha256(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// João's morning: created offline at `t0` (returned) by the configured key; the chatbot puts
/// him online at +1 min; four contacts; the manager renames him (+6); another consultant goes
/// offline (+7); the manager takes him offline with a PUT that also changes his languages (+8);
/// the chatbot switches him off again, which changes nothing (+9).
fn joaos_morning(test: &TestDatabase) -> (ConsultantId, DateTime<Utc>) {
    let db = test.database();
    let t0 = now_micros() - Duration::hours(3);
    let mut new = consultant("João Silva", &["pt"]);
    new.online = false;
    let joao = ConsultantRepository::create(&db, &new, t0, &Actor::configured_key("r0")).unwrap();
    let other = hire(&db, "Outro", &["pt"], t0);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    // Morning: the chatbot puts João online; he gets contacts; the manager renames him (not a
    // connection change); the other consultant goes offline (not João's history).
    switch_online(&db, joao.id, true, at(1), &bot());
    for minute in 2..6 {
        db.assign_next(&language("pt"), at(minute), None, &bot(), None)
            .unwrap();
    }
    let rename = ConsultantPatch {
        name: Some(ConsultantName::parse("João P. Silva").unwrap()),
        ..ConsultantPatch::default()
    };
    ConsultantRepository::update(&db, joao.id, &rename, at(6), &painel()).unwrap();
    switch_online(&db, other.id, false, at(7), &bot());
    // Who took João out of the rotation? The manager, with a PUT that also changed his
    // languages; switching him off again changes nothing and records nothing.
    let off = ConsultantPatch {
        online: Some(false),
        languages: Some(languages(&["pt", "es"])),
        ..ConsultantPatch::default()
    };
    ConsultantRepository::update(&db, joao.id, &off, at(8), &painel()).unwrap();
    switch_online(&db, joao.id, false, at(9), &bot());

    (joao.id, t0)
}

fn the_connection_history_says_who_switched_a_consultant_and_when(test: &TestDatabase) {
    let db = test.database();
    let (joao, t0) = joaos_morning(test);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let history = db
        .connection_history(joao, &AuditPageRequest::default())
        .unwrap()
        .unwrap();
    let seen: Vec<(Option<bool>, String, DateTime<Utc>, AuditAction)> = history
        .entries
        .iter()
        .map(|entry| {
            (
                entry.online_after(),
                entry.actor.api_key_description.clone(),
                entry.at,
                entry.action,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                Some(false),
                "painel do gestor".to_owned(),
                at(8),
                AuditAction::ConsultantConnection
            ),
            (
                Some(true),
                "chatbot".to_owned(),
                at(1),
                AuditAction::ConsultantConnection
            ),
            (
                Some(false),
                "AUTHENTICATION_API_KEY".to_owned(),
                t0,
                AuditAction::ConsultantCreated
            ),
        ]
    );
    assert_eq!(history.next, None);
    assert_eq!(history.entries[0].actor.api_key_id, Some(ApiKeyId(5)));
}

fn the_connection_history_pages_newest_first_each_entry_once(test: &TestDatabase) {
    let db = test.database();
    let (joao, _) = joaos_morning(test);
    let history = db
        .connection_history(joao, &AuditPageRequest::default())
        .unwrap()
        .unwrap();
    // Pages of one, newest first, each entry once.
    let mut cursor = None;
    let mut paged = Vec::new();
    loop {
        let page = db
            .connection_history(joao, &AuditPageRequest::new(cursor, 1).unwrap())
            .unwrap()
            .unwrap();
        paged.extend(page.entries.iter().map(|entry| entry.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        paged,
        history
            .entries
            .iter()
            .map(|entry| entry.id)
            .collect::<Vec<_>>()
    );
}

fn a_removed_consultant_keeps_the_connection_history(test: &TestDatabase) {
    let db = test.database();
    let (joao, t0) = joaos_morning(test);
    // A removed consultant keeps their history; one who never existed has none.
    ConsultantRepository::soft_delete(&db, joao, t0 + Duration::minutes(10), &painel()).unwrap();
    assert_eq!(
        db.connection_history(joao, &AuditPageRequest::default())
            .unwrap()
            .unwrap()
            .entries
            .len(),
        3
    );
    assert_eq!(
        db.connection_history(ConsultantId(999), &AuditPageRequest::default())
            .unwrap(),
        None
    );
}

/// Seven audited changes a minute or more apart (`at(minutes)`): three consultants created
/// (minutes 0 to 2), connections switched at 10, 11 and 12, a protocol at 20. The consultants.
fn seven_changes(
    db: &consultores_persistence::Database,
    at: &dyn Fn(i64) -> DateTime<Utc>,
) -> Vec<ConsultantId> {
    let ids: Vec<ConsultantId> = (0..3)
        .map(|i| hire(db, &format!("Pessoa {i}"), &["pt"], at(i)).id)
        .collect();
    for (minute, id, online) in [(10, ids[0], false), (11, ids[1], false), (12, ids[0], true)] {
        switch_online(db, id, online, at(minute), &actor());
    }
    ProtocolRepository::create(db, &NewProtocol::default(), at(20), None, &actor()).unwrap();
    ids
}

/// The entries listed under `filter` as (action, entity id), newest first.
fn listed(db: &consultores_persistence::Database, filter: &AuditFilter) -> Vec<(AuditAction, i64)> {
    AuditLog::list(db, filter)
        .unwrap()
        .entries
        .iter()
        .map(|entry| (entry.action, entry.entity_id))
        .collect()
}

fn listings_filter_by_entity_action_and_time_newest_first(test: &TestDatabase) {
    let db = test.database();
    let t0 = now_micros() - Duration::days(1);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let ids = seven_changes(&db, &at);
    let list = |filter: AuditFilter| listed(&db, &filter);
    let everything = list(AuditFilter::default());
    assert_eq!(everything.len(), 7);
    assert_eq!(everything[0].0, AuditAction::ProtocolCreated);
    assert_eq!(everything[6], (AuditAction::ConsultantCreated, ids[0].0));

    let connection = |i: usize| (AuditAction::ConsultantConnection, ids[i].0);
    let created = |i: usize| (AuditAction::ConsultantCreated, ids[i].0);
    let of_consultant_0 = AuditFilter {
        entity: Some(AuditEntity::Consultant),
        entity_id: Some(ids[0].0),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(of_consultant_0),
        [connection(0), connection(0), created(0)]
    );
    let connections = AuditFilter {
        action: Some(AuditAction::ConsultantConnection),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(connections),
        [connection(0), connection(1), connection(0)]
    );
    let protocols = AuditFilter {
        entity: Some(AuditEntity::Protocol),
        ..AuditFilter::default()
    };
    assert_eq!(list(protocols).len(), 1);
    // `since` inclusive, `until` exclusive.
    let between = AuditFilter {
        since: Some(at(2)),
        until: Some(at(12)),
        ..AuditFilter::default()
    };
    assert_eq!(list(between), [connection(1), connection(0), created(2)]);
    assert!(list(AuditFilter {
        entity: Some(AuditEntity::ApiKey),
        ..AuditFilter::default()
    })
    .is_empty());
}

/// Walks every page of the unfiltered listing with pages of `limit`.
fn walk(db: &impl AuditLog, limit: u32) -> Vec<AuditEntryId> {
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let AuditPage { entries, next } = db
            .list(&AuditFilter {
                page: AuditPageRequest::new(cursor, limit).unwrap(),
                ..AuditFilter::default()
            })
            .unwrap();
        assert!(entries.len() <= limit as usize);
        seen.extend(entries.iter().map(|entry| entry.id));
        match next {
            Some(next) => {
                assert_eq!(Some(&next), seen.last(), "the cursor is the last id");
                cursor = Some(next);
            }
            None => return seen,
        }
    }
}

fn keyset_pages_return_every_entry_once_while_entries_are_written(test: &TestDatabase) {
    let db = test.database();
    for _ in 0..150 {
        ProtocolRepository::create(&db, &NewProtocol::default(), now_micros(), None, &actor())
            .unwrap();
    }
    let existing: Vec<AuditEntryId> = all_entries(&db).iter().map(|entry| entry.id).collect();
    assert_eq!(existing.len(), 150);
    let writer = db.clone();
    let seen = std::thread::scope(|scope| {
        let writing = scope.spawn(move || {
            for _ in 0..150 {
                ProtocolRepository::create(
                    &writer,
                    &NewProtocol::default(),
                    now_micros(),
                    None,
                    &actor(),
                )
                .unwrap();
            }
        });
        // Several passes while the writer runs, each page small so many pages interleave with
        // new entries.
        let mut passes = Vec::new();
        while !writing.is_finished() || passes.is_empty() {
            passes.push(walk(&db, 7));
        }
        writing.join().unwrap();
        passes
    });
    let expected: HashSet<AuditEntryId> = existing.iter().copied().collect();
    for pass in &seen {
        let unique: HashSet<AuditEntryId> = pass.iter().copied().collect();
        assert_eq!(unique.len(), pass.len(), "an entry came twice");
        assert!(
            pass.windows(2).all(|pair| pair[0] > pair[1]),
            "newest first, strictly"
        );
        assert!(
            expected.is_subset(&unique),
            "an entry that existed before the walk was skipped"
        );
    }
    assert_eq!(count(test, "auditoria"), 300);
    assert_eq!(walk(&db, 1000).len(), 300);
}

fn pruning_deletes_only_entries_older_than_the_cutoff_in_batches(test: &TestDatabase) {
    let db = test.database();
    let now = now_micros();
    let cutoff = now - Duration::days(30);
    // 25 entries before the cutoff, one exactly at it, 4 after.
    let mut times: Vec<DateTime<Utc>> = (0..25)
        .map(|i| cutoff - Duration::days(60) + Duration::hours(i))
        .collect();
    times.push(cutoff);
    times.extend((1..5).map(|i| cutoff + Duration::days(i)));
    for (i, at) in times.iter().enumerate() {
        hire(&db, &format!("Pessoa {i}"), &["pt"], *at);
    }
    assert_eq!(db.prune(cutoff, 10).unwrap(), 10);
    assert_eq!(db.prune(cutoff, 10).unwrap(), 10);
    assert_eq!(db.prune(cutoff, 10).unwrap(), 5);
    assert_eq!(db.prune(cutoff, 10).unwrap(), 0);
    let left: Vec<DateTime<Utc>> = all_entries(&db)
        .iter()
        .rev()
        .map(|entry| entry.at)
        .collect();
    assert_eq!(left, times[25..].to_vec());
    // The consultants themselves are untouched.
    assert_eq!(count(test, "consultores"), 30);
    assert_eq!(db.prune(now + Duration::days(1), 1000).unwrap(), 5);
    assert_eq!(count(test, "auditoria"), 0);
}

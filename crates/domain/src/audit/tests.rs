use chrono::TimeZone;

use super::*;
use crate::values::InvalidValue;

pub(crate) fn actor() -> Actor {
    Actor::stored_key(ApiKeyId(3), Some("painel"), "req-1")
}

fn entry(id: i64) -> AuditEntry {
    AuditEntry {
        id: AuditEntryId(id),
        at: Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap(),
        actor: actor(),
        action: AuditAction::ConsultantConnection,
        entity: AuditEntity::Consultant,
        entity_id: 7,
        changes: AuditChanges::new(),
    }
}

#[test]
fn actions_and_entities_parse_their_wire_names_and_round_trip() {
    assert_wire_names_round_trip!(AuditAction);
    assert_wire_names_round_trip!(AuditEntity);
    assert!(matches!(
        "consultor.apagado".parse::<AuditAction>(),
        Err(InvalidValue::NotAllowed { .. })
    ));
    assert!(matches!(
        "Consultor".parse::<AuditEntity>(),
        Err(InvalidValue::NotAllowed { .. })
    ));
}

#[test]
fn each_action_belongs_to_one_entity() {
    assert_eq!(AuditAction::Assignment.entity(), AuditEntity::Consultant);
    assert_eq!(
        AuditAction::ConsultantConnection.entity(),
        AuditEntity::Consultant
    );
    assert_eq!(AuditAction::ProtocolCreated.entity(), AuditEntity::Protocol);
    assert_eq!(AuditAction::ApiKeyRevoked.entity(), AuditEntity::ApiKey);
}

#[test]
fn changes_keep_only_fields_whose_value_differs() {
    let mut changes = AuditChanges::new();
    changes
        .record("status_online", false, true)
        .record("nome", "Ana", "Ana")
        .created("email", AuditValue::Null)
        .created("idiomas", vec!["pt".to_owned()]);
    assert_eq!(
        changes.fields().collect::<Vec<_>>(),
        ["idiomas", "status_online"]
    );
    assert_eq!(
        changes.get("status_online"),
        Some(&FieldChange {
            before: AuditValue::Bool(false),
            after: AuditValue::Bool(true)
        })
    );
    assert!(AuditChanges::new().is_empty());
}

#[test]
fn actor_constructors_name_the_caller_without_any_secret() {
    assert_eq!(
        Actor::configured_key("r"),
        Actor {
            api_key_id: None,
            api_key_description: "AUTHENTICATION_API_KEY".to_owned(),
            request_id: "r".to_owned()
        }
    );
    assert_eq!(Actor::cli("r").api_key_description, "cli");
    assert_eq!(
        Actor::stored_key(ApiKeyId(4), None, "r").api_key_description,
        ""
    );
    assert_eq!(actor().api_key_id, Some(ApiKeyId(3)));
}

#[test]
fn online_after_reads_the_new_status_online() {
    let mut switched = entry(1);
    switched.changes.record("status_online", true, false);
    assert_eq!(switched.online_after(), Some(false));
    assert_eq!(entry(2).online_after(), None);
}

#[test]
fn audit_timestamps_have_microseconds_and_a_numeric_offset() {
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap();
    assert_eq!(
        AuditValue::time(at),
        AuditValue::Text("2026-11-29T14:30:00.000000+00:00".to_owned())
    );
}

#[test]
fn page_requests_accept_limits_of_one_to_one_thousand() {
    assert_eq!(
        AuditPageRequest::new(None, 0),
        Err(InvalidValue::NotPositive)
    );
    assert_eq!(
        AuditPageRequest::new(None, 1001),
        Err(InvalidValue::TooManyItems { max: 1000 })
    );
    assert!(AuditPageRequest::new(Some(AuditEntryId(5)), 1).is_ok());
    assert_eq!(AuditPageRequest::default().limit, 100);
}

#[test]
fn a_page_has_a_next_cursor_only_when_more_entries_were_fetched() {
    let full = AuditPage::from_fetched(vec![entry(9), entry(8), entry(7)], 2);
    assert_eq!(full.entries.len(), 2);
    assert_eq!(full.next, Some(AuditEntryId(8)));
    let last = AuditPage::from_fetched(vec![entry(9), entry(8)], 2);
    assert_eq!(last.next, None);
    let empty = AuditPage::from_fetched(Vec::new(), 2);
    assert!(empty.entries.is_empty() && empty.next.is_none());
}

use serde_json::json;

use super::*;

const LANGUAGE_FIELD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const OPTION_FIELD: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432";

fn fixture(name: &str) -> WebhookEvent {
    let body = match name {
        "deal_create" => include_str!("../../tests/fixtures/webhook_deal_create.json"),
        "lead_create" => include_str!("../../tests/fixtures/webhook_lead_create.json"),
        "deal_owner_change" => {
            include_str!("../../tests/fixtures/webhook_deal_owner_change.json")
        }
        other => panic!("no fixture {other}"),
    };
    WebhookEvent::parse(body.as_bytes()).unwrap()
}

fn user(id: i64) -> PipedriveUserId {
    PipedriveUserId::new(id).unwrap()
}

#[test]
fn a_created_deal_is_a_target_with_its_owner_and_language() {
    let event = fixture("deal_create");
    assert_eq!(event.action, WebhookAction::Create);
    assert_eq!(event.entity, WebhookEntity::Deal);
    assert_eq!(event.entity_id, "42");
    assert_eq!(event.attempt, 1);
    assert_eq!(
        event.event_id.as_deref(),
        Some("6f1c9a2e-8b4d-4f3a-a7e5-1d2c3b4a5f60")
    );
    assert_eq!(event.change_source.as_deref(), Some("app"));
    assert_eq!(event.user_id, Some(1001));
    assert_eq!(event.previous, None);
    assert_eq!(event.target(), Some(CrmTarget::Deal(42)));
    assert_eq!(event.owner_id(), Some(user(1001)));
    assert_eq!(
        event.custom_field(LANGUAGE_FIELD),
        Some(CustomFieldValue::Text("es".into()))
    );
    assert_eq!(event.dedup_key(), "create:deal:42");
}

#[test]
fn single_option_fields_give_the_option_id() {
    let event = fixture("deal_create");
    assert_eq!(
        event.custom_field(OPTION_FIELD),
        Some(CustomFieldValue::Option(31))
    );
}

#[test]
fn a_missing_custom_field_is_none() {
    assert_eq!(fixture("deal_create").custom_field("nope"), None);
}

#[test]
fn a_created_lead_is_a_target_by_uuid() {
    let event = fixture("lead_create");
    assert_eq!(event.entity, WebhookEntity::Lead);
    assert_eq!(event.attempt, 2);
    assert_eq!(
        event.target(),
        Some(CrmTarget::Lead(
            "3c0e4a7e-1f2b-11f0-9a3d-0242ac120002".into()
        ))
    );
    assert_eq!(
        event
            .custom_field(LANGUAGE_FIELD)
            .as_ref()
            .and_then(CustomFieldValue::as_text),
        Some("en")
    );
    assert_eq!(
        event.dedup_key(),
        "create:lead:3c0e4a7e-1f2b-11f0-9a3d-0242ac120002"
    );
}

#[test]
fn an_owner_change_is_recognised_as_the_echo_of_our_update() {
    let event = fixture("deal_owner_change");
    assert_eq!(event.action, WebhookAction::Change);
    assert_eq!(event.target(), None, "changes are not assigned");
    assert_eq!(event.record(), Some(CrmTarget::Deal(42)));
    assert_eq!(event.owner_id(), Some(user(2002)));
    assert_eq!(event.previous_owner_id(), Some(user(1001)));
    assert!(event.is_owner_change_to(user(2002)));
    assert!(!event.is_owner_change_to(user(1001)));
}

#[test]
fn a_change_of_other_fields_is_not_an_owner_change() {
    let event = WebhookEvent::from_value(json!({
        "meta": {"action": "change", "entity": "deal", "entity_id": "42", "version": "2.0"},
        "data": {"id": 42, "owner_id": 2002, "title": "novo"},
        "previous": {"title": "velho"}
    }))
    .unwrap();
    assert!(!event.is_owner_change_to(user(2002)));
}

#[test]
fn a_created_deal_is_not_an_owner_change() {
    assert!(!fixture("deal_create").is_owner_change_to(user(1001)));
}

#[test]
fn other_entities_and_deletes_are_kept_but_not_targets() {
    let note = WebhookEvent::from_value(json!({
        "meta": {"action": "create", "entity": "note", "entity_id": "1", "version": "2.0"},
        "data": {"id": 1}, "previous": null
    }))
    .unwrap();
    assert_eq!(note.entity, WebhookEntity::Other("note".into()));
    assert_eq!(note.target(), None);

    let deleted = WebhookEvent::from_value(json!({
        "meta": {"action": "delete", "entity": "deal", "entity_id": "42", "version": "2.0"},
        "data": null, "previous": {"id": 42, "owner_id": 1001}
    }))
    .unwrap();
    assert_eq!(deleted.action, WebhookAction::Delete);
    assert_eq!(deleted.data, Value::Null);
    assert_eq!(deleted.target(), None);
    assert_eq!(deleted.owner_id(), None);
}

#[test]
fn numeric_ids_in_meta_are_accepted() {
    let event = WebhookEvent::from_value(json!({
        "meta": {"action": "create", "entity": "deal", "entity_id": 7, "user_id": 1001, "attempt": 3, "version": "2.0"},
        "data": {"id": 7, "owner_id": "1001"}
    }))
    .unwrap();
    assert_eq!(event.target(), Some(CrmTarget::Deal(7)));
    assert_eq!(event.user_id, Some(1001));
    assert_eq!(event.attempt, 3);
    assert_eq!(event.owner_id(), Some(user(1001)));
}

#[test]
fn entity_id_falls_back_to_the_record_id() {
    let event = WebhookEvent::from_value(json!({
        "meta": {"action": "create", "entity": "deal"},
        "data": {"id": 9}
    }))
    .unwrap();
    assert_eq!(event.entity_id, "9");
    assert_eq!(event.attempt, 1);
}

#[test]
fn a_deal_with_a_non_numeric_id_is_not_a_target() {
    let event = WebhookEvent::from_value(json!({
        "meta": {"action": "create", "entity": "deal", "entity_id": "abc", "version": "2.0"},
        "data": {}
    }))
    .unwrap();
    assert_eq!(event.target(), None);
}

#[test]
fn typed_custom_field_values_are_read() {
    let event = WebhookEvent::from_value(json!({
        "meta": {"action": "create", "entity": "deal", "entity_id": "1", "version": "2.0"},
        "data": {"id": 1, "custom_fields": {
            "set": {"type": "set", "values": [{"id": 13}, {"id": 14}]},
            "num": {"type": "double", "value": 123},
            "empty": {"type": "varchar", "value": null},
            "addr": {"type": "address", "value": "Tallinn", "locality": "Tallinn"},
            "plain": "pt"
        }}
    }))
    .unwrap();
    assert_eq!(
        event.custom_field("set"),
        Some(CustomFieldValue::Options(vec![13, 14]))
    );
    assert_eq!(
        event.custom_field("num"),
        Some(CustomFieldValue::Number(123.into()))
    );
    assert_eq!(event.custom_field("empty"), None);
    assert!(matches!(
        event.custom_field("addr"),
        Some(CustomFieldValue::Other(_))
    ));
    assert_eq!(
        event.custom_field("plain"),
        Some(CustomFieldValue::Text("pt".into()))
    );
}

#[test]
fn v1_payloads_are_rejected_with_the_version() {
    let body = include_str!("../../tests/fixtures/webhook_v1_deal_added.json");
    assert_eq!(
        WebhookEvent::parse(body.as_bytes()),
        Err(WebhookPayloadError::UnsupportedVersion("1".into()))
    );
}

#[test]
fn bodies_without_meta_or_action_are_rejected() {
    assert!(matches!(
        WebhookEvent::parse(b"not json"),
        Err(WebhookPayloadError::InvalidJson(_))
    ));
    assert_eq!(
        WebhookEvent::from_value(json!({"data": {}})),
        Err(WebhookPayloadError::MissingField("meta"))
    );
    assert_eq!(
        WebhookEvent::from_value(json!({"meta": {"entity": "deal", "entity_id": "1"}})),
        Err(WebhookPayloadError::MissingField("meta.action"))
    );
    assert_eq!(
        WebhookEvent::from_value(
            json!({"meta": {"action": "create", "entity": "deal"}, "data": null})
        ),
        Err(WebhookPayloadError::MissingField("meta.entity_id"))
    );
}

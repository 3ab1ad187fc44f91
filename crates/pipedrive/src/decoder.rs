//! Both halves of the inbound path's decoding, pure (no I/O): for the webhook endpoint, a
//! delivery body, parsed and checked, becomes an event to record ([`CrmEventDecoder`]), so the
//! endpoint answers within milliseconds; for the worker, a recorded payload becomes the domain's
//! [`InboundCrmEvent`] ([`CrmEventReader`]), whose processing the domain decides.

use consultores_domain::{
    CrmEventDecoder, CrmEventReader, FieldValue, InboundAction, InboundCrmEvent, InvalidCrmEvent,
    NewCrmEvent,
};
use serde_json::Value;

use crate::webhook::{CustomFieldValue, WebhookAction, WebhookEvent};

/// The longest deduplication key stored (the column's width).
const MAX_KEY_CHARS: usize = 255;
/// The longest record id stored (the column's width; Pipedrive sends numbers or UUIDs).
const MAX_ENTITY_ID_CHARS: usize = 64;

/// Decodes Pipedrive webhook v2 deliveries ([`WebhookEvent::parse`]).
///
/// The deduplication key is [`WebhookEvent::dedup_key`] (`create:deal:42`) for creations, which
/// are assigned once per record however often Pipedrive delivers them; other events, which are
/// only recorded, add Pipedrive's event id when there is one, so two different changes of one
/// record are both kept while a redelivery of either is not.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookDecoder;

impl CrmEventDecoder for WebhookDecoder {
    fn decode(&self, body: &[u8]) -> Result<NewCrmEvent, InvalidCrmEvent> {
        let event =
            WebhookEvent::parse(body).map_err(|error| InvalidCrmEvent(error.to_string()))?;
        if event.entity_id.chars().count() > MAX_ENTITY_ID_CHARS {
            return Err(InvalidCrmEvent(format!(
                "o campo meta.entity_id tem mais de {MAX_ENTITY_ID_CHARS} caracteres"
            )));
        }
        let key = match (&event.action, &event.event_id) {
            (WebhookAction::Create, _) | (_, None) => event.dedup_key(),
            (_, Some(event_id)) => format!("{}:{event_id}", event.dedup_key()),
        };
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(InvalidCrmEvent(
                "os campos meta.action, meta.entity e meta.id são longos demais".to_owned(),
            ));
        }
        let payload = String::from_utf8(body.to_vec())
            .map_err(|_| InvalidCrmEvent("o corpo do webhook não é UTF-8".to_owned()))?;
        Ok(NewCrmEvent {
            key,
            action: event.action.to_string(),
            entity: event.entity.to_string(),
            entity_id: event.entity_id,
            attempt: event.attempt,
            payload,
        })
    }
}

impl CrmEventReader for WebhookDecoder {
    fn read(
        &self,
        payload: &str,
        language_field: Option<&str>,
    ) -> Result<InboundCrmEvent, InvalidCrmEvent> {
        let value: Value =
            serde_json::from_str(payload).map_err(|error| InvalidCrmEvent(error.to_string()))?;
        let event =
            WebhookEvent::from_value(value).map_err(|error| InvalidCrmEvent(error.to_string()))?;
        Ok(InboundCrmEvent {
            action: match event.action {
                WebhookAction::Create => InboundAction::Create,
                WebhookAction::Change => InboundAction::Change,
                WebhookAction::Delete => InboundAction::Delete,
                WebhookAction::Other(_) => InboundAction::Other,
            },
            record: event.record(),
            converted_from: event.converted_from(),
            merged_into: event.merged_to_id.clone(),
            // `app`: the web app, a person; `api`: an API call, such as ours.
            by_a_person: event.change_source.as_deref() == Some("app"),
            owner: event.owner_id(),
            previous_owner: event.previous_owner_id(),
            owner_in_changes: event
                .previous
                .as_ref()
                .is_some_and(|previous| previous.get("owner_id").is_some()),
            language: language_field
                .and_then(|field| event.custom_field(field))
                .map(field_value),
        })
    }
}

/// A custom field's value as the domain tells them apart.
fn field_value(value: CustomFieldValue) -> FieldValue {
    match value {
        // API v1 answers (leads read by the catch-up) give an option's id as text.
        CustomFieldValue::Text(text) if is_option_id(&text) => {
            FieldValue::Option(text.trim().parse().unwrap_or_default())
        }
        CustomFieldValue::Text(text) => FieldValue::Text(text),
        CustomFieldValue::Option(id) => FieldValue::Option(id),
        CustomFieldValue::Options(ids) => FieldValue::Options(ids),
        other => FieldValue::Other(format!("{other:?}")),
    }
}

/// Digits only: an option id, never a language code.
fn is_option_id(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.len() <= 18 && text.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decode(value: serde_json::Value) -> Result<NewCrmEvent, InvalidCrmEvent> {
        WebhookDecoder.decode(value.to_string().as_bytes())
    }

    #[test]
    fn a_created_deal_is_keyed_by_action_entity_and_id() {
        let body = include_str!("../tests/fixtures/webhook_deal_create.json");
        let event = WebhookDecoder.decode(body.as_bytes()).unwrap();
        assert_eq!(event.key, "create:deal:42");
        assert_eq!(event.action, "create");
        assert_eq!(event.entity, "deal");
        assert_eq!(event.entity_id, "42");
        assert_eq!(event.attempt, 1);
        assert_eq!(event.payload, body);
    }

    #[test]
    fn redeliveries_of_a_creation_share_the_key() {
        let first = decode(json!({
            "meta": {"action": "create", "entity": "lead", "entity_id": "3c0e4a7e-1f2b-11f0-9a3d-0242ac120002", "attempt": 1, "id": "a", "version": "2.0"},
            "data": {}
        }))
        .unwrap();
        let again = decode(json!({
            "meta": {"action": "create", "entity": "lead", "entity_id": "3c0e4a7e-1f2b-11f0-9a3d-0242ac120002", "attempt": 2, "id": "b", "version": "2.0"},
            "data": {}
        }))
        .unwrap();
        assert_eq!(first.key, again.key);
        assert_eq!(again.attempt, 2);
    }

    #[test]
    fn changes_are_keyed_by_their_event_id_too() {
        let body = include_str!("../tests/fixtures/webhook_deal_owner_change.json");
        let event = WebhookDecoder.decode(body.as_bytes()).unwrap();
        assert!(event.key.starts_with("change:deal:42:"), "{}", event.key);
        let without_id = decode(json!({
            "meta": {"action": "change", "entity": "deal", "entity_id": "42", "version": "2.0"},
            "data": {"id": 42}, "previous": {"title": "x"}
        }))
        .unwrap();
        assert_eq!(without_id.key, "change:deal:42");
    }

    #[test]
    fn unusable_bodies_are_refused_with_a_reason() {
        let error = WebhookDecoder.decode(b"{").unwrap_err();
        assert!(error.0.contains("JSON"), "{error}");
        let v1 = include_str!("../tests/fixtures/webhook_v1_deal_added.json");
        let error = WebhookDecoder.decode(v1.as_bytes()).unwrap_err();
        assert!(error.0.contains("2.0"), "{error}");
        let long = decode(json!({
            "meta": {"action": "create", "entity": "deal", "entity_id": "9".repeat(65), "version": "2.0"},
            "data": {}
        }))
        .unwrap_err();
        assert!(long.0.contains("entity_id"), "{long}");
    }

    const FIELD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

    fn read(value: serde_json::Value) -> InboundCrmEvent {
        WebhookDecoder
            .read(&value.to_string(), Some(FIELD))
            .unwrap()
    }

    fn language_in(value: serde_json::Value) -> Option<FieldValue> {
        read(json!({
            "meta": {"action": "create", "entity": "deal", "entity_id": "42", "version": "2.0"},
            "data": {"id": 42, "custom_fields": {FIELD: value}}
        }))
        .language
    }

    #[test]
    fn the_language_field_is_read_into_the_domain_s_values() {
        let text = |text: &str| Some(FieldValue::Text(text.to_owned()));
        assert_eq!(
            language_in(json!({"type": "varchar", "value": " PT-br "})),
            text(" PT-br ")
        );
        assert_eq!(language_in(json!("en")), text("en"));
        assert_eq!(
            language_in(json!({"type": "enum", "id": 31})),
            Some(FieldValue::Option(31))
        );
        assert_eq!(
            language_in(json!(" 31 ")),
            Some(FieldValue::Option(31)),
            "API v1: id as text"
        );
        assert_eq!(
            language_in(json!({"type": "set", "values": [{"id": 30}, {"id": 31}]})),
            Some(FieldValue::Options(vec![30, 31]))
        );
        assert!(matches!(
            language_in(json!({"type": "double", "value": 3})),
            Some(FieldValue::Other(_))
        ));
        assert_eq!(language_in(serde_json::Value::Null), None);
    }

    #[test]
    fn a_recorded_owner_change_is_read_with_who_made_it() {
        let body = include_str!("../tests/fixtures/webhook_deal_owner_change.json");
        let event = WebhookDecoder.read(body, None).unwrap();
        assert_eq!(event.action, InboundAction::Change);
        assert_eq!(event.record, Some(consultores_domain::CrmTarget::Deal(42)));
        assert!(event.owner_in_changes);
        assert_eq!(event.target(), None);
        assert_eq!(event.language, None, "no field asked for");
        let unreadable = WebhookDecoder.read("{", None).unwrap_err();
        assert!(unreadable.0.contains("EOF"), "{unreadable}");
    }
}

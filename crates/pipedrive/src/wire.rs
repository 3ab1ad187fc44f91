//! The JSON shapes Pipedrive answers with, and their mapping to this crate's types.
//!
//! Every answer is wrapped in `{"success", "data", "additional_data"}`
//! (<https://pipedrive.readme.io/docs/core-api-concepts-responses>); list endpoints put
//! `{"start", "limit", "more_items_in_collection", "next_start"}` under
//! `additional_data.pagination`.

use consultores_domain::{CrmUser, PipedriveUserId};
use serde::Deserialize;
use serde_json::Value;

/// A successful answer's envelope.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Envelope {
    /// `false` with a 2xx status has not been seen, but the envelope allows it.
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub additional_data: Value,
}

impl Envelope {
    /// Where the next page starts, when the collection has more items.
    pub fn next_start(&self) -> Option<u64> {
        let pagination = self.additional_data.get("pagination")?;
        let more = pagination
            .get("more_items_in_collection")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !more {
            return None;
        }
        pagination
            .get("next_start")
            .and_then(Value::as_u64)
            .or_else(|| {
                let start = pagination.get("start").and_then(Value::as_u64)?;
                let limit = pagination.get("limit").and_then(Value::as_u64)?;
                Some(start + limit)
            })
    }
}

/// One element of `GET /api/v1/users`.
#[derive(Debug, Deserialize)]
pub(crate) struct UserDto {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A boolean in current answers; older ones sent 0/1.
    #[serde(default)]
    pub active_flag: Option<Value>,
}

impl UserDto {
    /// The domain's view of the user; `None` for an id the domain cannot hold (not positive).
    pub fn into_domain(self) -> Option<CrmUser> {
        let id = PipedriveUserId::new(self.id).ok()?;
        let email = self
            .email
            .map(|email| email.trim().to_owned())
            .filter(|email| !email.is_empty());
        // Only what Pipedrive calls active is active: a missing flag does not vouch for a user.
        let active = match self.active_flag {
            Some(Value::Bool(flag)) => flag,
            Some(Value::Number(number)) => number.as_i64() == Some(1),
            _ => false,
        };
        Some(CrmUser {
            id,
            name: self.name.unwrap_or_default(),
            email,
            active,
        })
    }
}

/// A webhook as `POST`/`GET /api/v1/webhooks` describe it. Pipedrive echoes the basic-auth
/// password in these answers; it is deliberately not read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    /// The webhook's id.
    pub id: i64,
    /// Where Pipedrive delivers the events.
    #[serde(default)]
    pub subscription_url: String,
    /// `create`, `change`, `delete` or `*`.
    #[serde(default)]
    pub event_action: String,
    /// `deal`, `lead`, `person`, … or `*`.
    #[serde(default)]
    pub event_object: String,
    /// `1.0` or `2.0`.
    #[serde(default)]
    pub version: Option<String>,
    /// `1` (or `true`) while Pipedrive delivers to it; `0` once Pipedrive stopped it.
    #[serde(default)]
    pub is_active: Option<Value>,
    /// The status code of the latest delivery, when Pipedrive reports it.
    #[serde(default)]
    pub last_http_status: Option<Value>,
    /// When Pipedrive last delivered to it (`YYYY-MM-DD HH:MM:SS`, UTC).
    #[serde(default)]
    pub last_delivery_time: Option<String>,
    /// Why Pipedrive removed it, when it did.
    #[serde(default)]
    pub remove_reason: Option<String>,
    /// The basic-auth user Pipedrive sends (the password, echoed too, is not read).
    #[serde(default)]
    pub http_auth_user: Option<String>,
}

impl Webhook {
    /// Whether Pipedrive delivers to it: `is_active` is 1 or `true` (a listing without the
    /// flag is taken at its word that the webhook exists).
    pub fn is_active(&self) -> bool {
        match &self.is_active {
            None | Some(Value::Null) => true,
            Some(Value::Bool(flag)) => *flag,
            Some(Value::Number(number)) => number.as_i64() == Some(1),
            Some(Value::String(text)) => matches!(text.trim(), "1" | "true"),
            Some(_) => false,
        }
    }

    /// The status of its latest delivery, when Pipedrive reports one.
    pub fn last_status(&self) -> Option<u16> {
        match self.last_http_status.as_ref()? {
            Value::Number(number) => number.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// Whether it sends webhooks v2 payloads (`version` 2.x); v1 payloads are refused.
    pub fn is_v2(&self) -> bool {
        self.version
            .as_deref()
            .is_some_and(|version| version.trim().starts_with('2'))
    }

    /// Whether it delivers `action`.`object` events (`*` matches everything).
    pub fn covers(&self, action: &str, object: &str) -> bool {
        (self.event_action == "*" || self.event_action == action)
            && (self.event_object == "*" || self.event_object == object)
    }
}

/// An option of a single or multiple option custom field (the domain's type: the id webhooks
/// v2 send for the option, the text shown in Pipedrive).
pub use consultores_domain::CrmFieldOption as FieldOption;

/// The options of the field `key` among the elements of a `GET /api/v1/dealFields` page, or
/// `None` when the page does not have it.
///
/// Each element is looked at only through its `key`, and only the wanted field's options are
/// decoded: built-in fields carry options of other shapes (`status` has string ids: `open`,
/// `won`, …), and one such field must never break the reading of the language field. Options
/// whose id is not a whole number (webhooks v2 send option ids as numbers) or that have no label
/// are skipped.
pub(crate) fn field_options_in(fields: &[Value], key: &str) -> Option<Vec<FieldOption>> {
    let field = fields
        .iter()
        .find(|field| field.get("key").and_then(Value::as_str) == Some(key))?;
    let options = field
        .get("options")
        .and_then(Value::as_array)
        .map(|options| options.iter().filter_map(field_option).collect())
        .unwrap_or_default();
    Some(options)
}

fn field_option(option: &Value) -> Option<FieldOption> {
    let id = match option.get("id")? {
        Value::Number(number) => number.as_i64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    let label = option.get("label")?.as_str()?.to_owned();
    Some(FieldOption { id, label })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(value: Value) -> Option<CrmUser> {
        serde_json::from_value::<UserDto>(value)
            .unwrap()
            .into_domain()
    }

    #[test]
    fn maps_an_active_user() {
        let mapped = user(
            json!({"id": 7, "name": "João Silva", "email": "joao@acme.com", "active_flag": true, "is_admin": 0}),
        );
        assert_eq!(
            mapped,
            Some(CrmUser {
                id: PipedriveUserId::new(7).unwrap(),
                name: "João Silva".into(),
                email: Some("joao@acme.com".into()),
                active: true,
            })
        );
    }

    #[test]
    fn inactive_and_unflagged_users_are_inactive() {
        assert!(
            !user(json!({"id": 8, "name": "Ana", "active_flag": false}))
                .unwrap()
                .active
        );
        assert!(!user(json!({"id": 8, "name": "Ana"})).unwrap().active);
        assert!(
            user(json!({"id": 8, "name": "Ana", "active_flag": 1}))
                .unwrap()
                .active
        );
    }

    #[test]
    fn blank_email_is_none() {
        assert_eq!(
            user(json!({"id": 9, "name": "Bia", "email": " "}))
                .unwrap()
                .email,
            None
        );
    }

    #[test]
    fn users_with_impossible_ids_are_skipped() {
        assert_eq!(user(json!({"id": 0, "name": "?"})), None);
    }

    #[test]
    fn next_start_follows_pagination() {
        let envelope: Envelope = serde_json::from_value(json!({
            "success": true, "data": [],
            "additional_data": {"pagination": {"start": 0, "limit": 100, "more_items_in_collection": true}}
        }))
        .unwrap();
        assert_eq!(envelope.next_start(), Some(100));
        let last: Envelope = serde_json::from_value(json!({
            "success": true, "data": [],
            "additional_data": {"pagination": {"start": 100, "limit": 100, "more_items_in_collection": false}}
        }))
        .unwrap();
        assert_eq!(last.next_start(), None);
    }
}

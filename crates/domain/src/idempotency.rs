//! Idempotent retries: a client that timed out can repeat a request with the same
//! `Idempotency-Key` and get the first answer again instead of a second assignment.

use chrono::{DateTime, Duration, Utc};

use crate::values::{checked_text, InvalidValue};

/// How long a key is remembered.
pub const IDEMPOTENCY_WINDOW_HOURS: i64 = 24;

text_newtype! {
    /// The client's key: 1 to 255 printable ASCII characters (spaces included).
    #[derive(Hash)]
    pub struct IdempotencyKey(String);
}

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let refused = |c: char| !(c.is_ascii_graphic() || c == ' ');
        checked_text(
            raw,
            1,
            Self::MAX_CHARS,
            refused,
            InvalidValue::NotPrintableAscii,
        )
        .map(Self)
    }
}

/// A request's claim on a key. `scope` keeps keys of different callers apart (the API key's
/// identity); `fingerprint` identifies the request (method, path, parameters, body) so that reusing
/// a key for a different request is detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope: String,
    pub key: IdempotencyKey,
    pub fingerprint: String,
    pub expires_at: DateTime<Utc>,
}

impl IdempotencyClaim {
    pub fn new(
        scope: String,
        key: IdempotencyKey,
        fingerprint: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            scope,
            key,
            fingerprint,
            expires_at: now + Duration::hours(IDEMPOTENCY_WINDOW_HOURS),
        }
    }
}

/// A result that is either new (`replayed == false`) or the stored result of an earlier request
/// with the same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded<T> {
    pub value: T,
    pub replayed: bool,
}

impl<T> Recorded<T> {
    pub fn fresh(value: T) -> Self {
        Self {
            value,
            replayed: false,
        }
    }

    pub fn replayed(value: T) -> Self {
        Self {
            value,
            replayed: true,
        }
    }
}
#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::values::tests::assert_refused;
    use crate::values::tests::serde_probe::{from_str, to_plain, Plain};

    #[test]
    fn claim_expires_twenty_four_hours_after_now() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap();
        let key = IdempotencyKey::parse("retry-123").unwrap();
        let claim =
            IdempotencyClaim::new("key:1".to_owned(), key.clone(), "GET /x".to_owned(), now);
        assert_eq!(
            claim.expires_at,
            Utc.with_ymd_and_hms(2026, 11, 30, 14, 30, 0).unwrap()
        );
        assert_eq!(claim.expires_at - now, Duration::hours(24));
        assert_eq!(claim.scope, "key:1");
        assert_eq!(claim.key, key);
        assert_eq!(claim.fingerprint, "GET /x");
    }

    #[test]
    fn key_accepts_one_to_255_visible_ascii_characters() {
        assert_eq!(IdempotencyKey::parse("a").unwrap().as_str(), "a");
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("550e8400-e29b-41d4-a716-446655440000").is_ok());
        assert!(IdempotencyKey::parse("pedido #42 / tentativa=1").is_ok());
    }

    #[test]
    fn key_rejects_empty_and_256_characters() {
        assert_eq!(
            IdempotencyKey::parse(""),
            Err(InvalidValue::TooShort { min: 1 })
        );
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(256)),
            Err(InvalidValue::TooLong { max: 255 })
        );
    }

    #[test]
    fn key_rejects_control_and_non_ascii_characters() {
        assert_refused(
            IdempotencyKey::parse,
            &["abc\n", "a\tb", "a\u{0}b", "chave-é", "🔑"],
            InvalidValue::NotPrintableAscii,
        );
    }

    #[test]
    fn key_serializes_as_a_plain_string() {
        let key = IdempotencyKey::parse("retry-123").unwrap();
        assert_eq!(to_plain(&key), Plain::Str("retry-123".to_owned()));
        assert_eq!(from_str::<IdempotencyKey>("retry-123").unwrap(), key);
    }

    /// Deserializing goes through `parse` (`#[serde(try_from = "String")]`), so it cannot yield a
    /// key the type promises cannot exist.
    #[test]
    fn deserializing_an_invalid_key_fails() {
        assert!(
            from_str::<IdempotencyKey>("").is_err(),
            "empty key accepted"
        );
        let long = "k".repeat(256);
        assert!(
            from_str::<IdempotencyKey>(&long).is_err(),
            "256 chars accepted"
        );
        assert!(
            from_str::<IdempotencyKey>("a\nb").is_err(),
            "control char accepted"
        );
    }

    #[test]
    fn recorded_marks_fresh_and_replayed_results() {
        let fresh = Recorded::fresh(1);
        assert_eq!(fresh.value, 1);
        assert!(!fresh.replayed);
        let replayed = Recorded::replayed("x");
        assert_eq!(replayed.value, "x");
        assert!(replayed.replayed);
    }
}

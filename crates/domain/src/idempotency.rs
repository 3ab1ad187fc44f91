//! Idempotent retries: a client that timed out can repeat a request with the same
//! `Idempotency-Key` and get the first answer again instead of a second assignment.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{check_length_public, InvalidValue};

/// How long a key is remembered.
pub const IDEMPOTENCY_WINDOW_HOURS: i64 = 24;

/// The client's key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        check_length_public(raw, 1, Self::MAX_CHARS)?;
        if raw.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::ControlCharacters)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    pub fn new(scope: String, key: IdempotencyKey, fingerprint: String, now: DateTime<Utc>) -> Self {
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

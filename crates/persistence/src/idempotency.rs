//! Idempotent requests: decoding a claimed key's record into a replay, or a refusal.

use chrono::{DateTime, Utc};
use consultores_domain::{DomainError, IdempotencyClaim, IdempotencyHousekeeping};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::database::Database;
use crate::error::StoreError;
use crate::queries::Queries;

/// Claims the key of `claim` (if any) in the caller's transaction. `Ok(None)`: a fresh request,
/// go ahead (and call [`record`] before COMMIT). `Ok(Some(value))`: the same request was
/// answered before; return `value` and do nothing else. A record with another fingerprint is
/// [`DomainError::IdempotencyKeyReused`].
pub(crate) fn replay<T: DeserializeOwned>(
    conn: &mut impl Queries,
    claim: Option<&IdempotencyClaim>,
    now: DateTime<Utc>,
) -> Result<Option<T>, StoreError> {
    let Some(claim) = claim else {
        return Ok(None);
    };
    match conn.claim_key(claim, now)? {
        None => Ok(None),
        Some(stored) if stored.fingerprint == claim.fingerprint => {
            serde_json::from_str(&stored.answer)
                .map(Some)
                .map_err(|error| {
                    StoreError::internal(format!("stored idempotent answer is unreadable: {error}"))
                })
        }
        Some(_) => Err(DomainError::IdempotencyKeyReused.into()),
    }
}

/// Stores the answer of a fresh request under its claimed key (no-op without a claim).
pub(crate) fn record<T: Serialize>(
    conn: &mut impl Queries,
    claim: Option<&IdempotencyClaim>,
    value: &T,
) -> Result<(), StoreError> {
    let Some(claim) = claim else {
        return Ok(());
    };
    let answer = serde_json::to_string(value)
        .map_err(|error| StoreError::internal(format!("cannot store the answer: {error}")))?;
    conn.record_answer(claim, &answer)
}

impl IdempotencyHousekeeping for Database {
    fn purge_expired_idempotency_keys(&self, now: DateTime<Utc>) -> Result<usize, DomainError> {
        Database::purge_expired_idempotency_keys(self, now)
    }
}

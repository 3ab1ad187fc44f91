//! Idempotent requests: a key claimed in the caller's transaction, decoded into a replay or a
//! refusal, and the answer of a fresh request stored under it before COMMIT; a batch's keys
//! claimed and answered together.
//!
//! How a claim makes a concurrent twin wait differs by backend. PostgreSQL takes a
//! transaction-scoped advisory lock per key (`consultores_reservar_chaves`, migration
//! `2026-11-28-000000_chaves_sem_escrita`) and writes the key's row once, with its answer; a
//! request that ends without one writes nothing. SQLite, where one transaction writes at a
//! time, inserts the row as the claim and fills in the answer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use consultores_domain::{DomainError, IdempotencyClaim, IdempotencyHousekeeping};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz};
use diesel::{PgConnection, SqliteConnection};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cached_sql::cached_sql;
use crate::database::Database;
use crate::error::StoreError;
use crate::queries::Queries;
use crate::schema::idempotency_keys;
use crate::sql_types::Timestamp;

/// An idempotency record found under a claimed key.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct StoredAnswer {
    pub fingerprint: String,
    pub answer: String,
}

/// Claiming one key and storing its answer, in the caller's transaction.
pub(crate) trait KeyClaims {
    /// Claims `claim`'s key at `now`. `None`: no live record, go ahead (and call
    /// [`KeyClaims::record_answer`] before COMMIT); a record whose time is up counts as none.
    /// Otherwise the live record. A concurrent twin holding the key makes this wait for its
    /// COMMIT or ROLLBACK, so a record read here is always complete.
    fn claim_key(
        &mut self,
        claim: &IdempotencyClaim,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredAnswer>, StoreError>;

    /// Stores the answer of a key claimed fresh, the request made at `now`.
    fn record_answer(
        &mut self,
        claim: &IdempotencyClaim,
        now: DateTime<Utc>,
        answer: &str,
    ) -> Result<(), StoreError>;
}

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
    conn.claim_key(claim, now)?
        .map(|stored| stored_answer(stored, claim))
        .transpose()
}

/// What a request whose key has a live record gets: the stored answer, or the refusal of a
/// request that differs from the one answered.
pub(crate) fn stored_answer<T: DeserializeOwned>(
    stored: StoredAnswer,
    claim: &IdempotencyClaim,
) -> Result<T, StoreError> {
    if stored.fingerprint != claim.fingerprint {
        return Err(DomainError::IdempotencyKeyReused.into());
    }
    serde_json::from_str(&stored.answer).map_err(|error| {
        StoreError::internal(format!("stored idempotent answer is unreadable: {error}"))
    })
}

/// Stores the answer of a fresh request made at `now` under its claimed key (no-op without a
/// claim).
pub(crate) fn record<T: Serialize>(
    conn: &mut impl Queries,
    claim: Option<&IdempotencyClaim>,
    now: DateTime<Utc>,
    value: &T,
) -> Result<(), StoreError> {
    let Some(claim) = claim else {
        return Ok(());
    };
    conn.record_answer(claim, now, &answer_text(value)?)
}

/// The text stored under a key for `value`.
pub(crate) fn answer_text<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::internal(format!("cannot store the answer: {error}")))
}

impl IdempotencyHousekeeping for Database {
    fn purge_expired_idempotency_keys(&self, now: DateTime<Utc>) -> Result<usize, DomainError> {
        Database::purge_expired_idempotency_keys(self, now)
    }
}

/// A batch's keys (`batch.rs`): every distinct key claimed at once, answers stored at once.
/// PostgreSQL does each step in one statement (whatever the number of keys, one round trip);
/// SQLite, which has no round trips to save, goes key by key.
pub(crate) trait BatchKeys: Queries {
    /// Claims `keys` (distinct), each at the time of its first request. One result per key, in
    /// order, as [`KeyClaims::claim_key`]'s.
    fn claim_keys(
        &mut self,
        keys: &[(&IdempotencyClaim, DateTime<Utc>)],
    ) -> Result<Vec<Option<StoredAnswer>>, StoreError> {
        keys.iter()
            .map(|(claim, now)| self.claim_key(claim, *now))
            .collect()
    }

    /// Stores each answer (serde_json text) under its claimed key, with the time of the
    /// request it answers.
    fn record_answers(
        &mut self,
        answers: &[(&IdempotencyClaim, DateTime<Utc>, String)],
    ) -> Result<(), StoreError> {
        answers
            .iter()
            .try_for_each(|(claim, now, answer)| self.record_answer(claim, *now, answer))
    }

    /// Whether the assignment statement of a round can claim the round's keys itself (the
    /// batch then skips [`BatchKeys::claim_keys`] when no key repeats in it).
    fn claims_in_round(&self) -> bool {
        false
    }

    /// A fresh key now belongs to `claim` (a twin with another fingerprint retries the key
    /// after its first request found nobody).
    fn reclaim_key(&mut self, claim: &IdempotencyClaim) -> Result<(), StoreError>;

    /// Gives up the keys nobody was assigned under (what a rollback would do).
    fn release_keys(&mut self, claims: &[&IdempotencyClaim]) -> Result<(), StoreError>;
}

/// SQLite: the claim is the key's row, inserted with an empty answer; the answer is written
/// into it.
impl KeyClaims for SqliteConnection {
    fn claim_key(
        &mut self,
        claim: &IdempotencyClaim,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        use idempotency_keys::dsl as k;
        let key = claim.key.as_str();
        diesel::delete(
            k::idempotency_keys
                .filter(k::scope.eq(&claim.scope))
                .filter(k::chave.eq(key))
                .filter(k::expires_at.le(Timestamp(now))),
        )
        .execute(self)?;
        let inserted = diesel::insert_into(k::idempotency_keys)
            .values((
                k::scope.eq(&claim.scope),
                k::chave.eq(key),
                k::fingerprint.eq(&claim.fingerprint),
                k::resposta.eq(""),
                k::created_at.eq(Timestamp(now)),
                k::expires_at.eq(Timestamp(claim.expires_at)),
            ))
            .on_conflict_do_nothing()
            .execute(self)?;
        if inserted == 1 {
            return Ok(None);
        }
        let existing = k::idempotency_keys
            .filter(k::scope.eq(&claim.scope))
            .filter(k::chave.eq(key))
            .select((k::fingerprint, k::resposta))
            .first::<StoredAnswer>(self)?;
        Ok(Some(existing))
    }

    fn record_answer(
        &mut self,
        claim: &IdempotencyClaim,
        _now: DateTime<Utc>,
        answer: &str,
    ) -> Result<(), StoreError> {
        use idempotency_keys::dsl as k;
        diesel::update(
            k::idempotency_keys
                .filter(k::scope.eq(&claim.scope))
                .filter(k::chave.eq(claim.key.as_str())),
        )
        .set(k::resposta.eq(answer))
        .execute(self)?;
        Ok(())
    }
}

impl BatchKeys for SqliteConnection {
    fn reclaim_key(&mut self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        use idempotency_keys::dsl as k;
        diesel::update(
            k::idempotency_keys
                .filter(k::scope.eq(&claim.scope))
                .filter(k::chave.eq(claim.key.as_str())),
        )
        .set(k::fingerprint.eq(&claim.fingerprint))
        .execute(self)?;
        Ok(())
    }

    fn release_keys(&mut self, claims: &[&IdempotencyClaim]) -> Result<(), StoreError> {
        use idempotency_keys::dsl as k;
        for claim in claims {
            diesel::delete(
                k::idempotency_keys
                    .filter(k::scope.eq(&claim.scope))
                    .filter(k::chave.eq(claim.key.as_str())),
            )
            .execute(self)?;
        }
        Ok(())
    }
}

/// Locks the keys (in the order of their lock ids, whatever the order given), drops the
/// records whose time is up and returns the live ones (migration
/// `2026-11-28-000000_chaves_sem_escrita`).
const RESERVE_KEYS: &str = "\
    SELECT escopo, chave, fingerprint, resposta \
    FROM consultores_reservar_chaves($1::TEXT[], $2::TEXT[], $3::TIMESTAMPTZ[])";

/// Writes each key's row once, with its answer. The key was claimed (locked, any expired
/// record deleted) by this transaction, so a row already there was written by a request that
/// did not claim it: the unique violation fails the transaction rather than lose the answer.
const STORE_ANSWERS: &str = "\
    INSERT INTO idempotency_keys (scope, chave, fingerprint, resposta, created_at, expires_at) \
    SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TIMESTAMPTZ[], \
        $6::TIMESTAMPTZ[])";

#[derive(QueryableByName)]
struct KeyRecordRow {
    #[diesel(sql_type = Text, column_name = escopo)]
    scope: String,
    #[diesel(sql_type = Text, column_name = chave)]
    key: String,
    #[diesel(sql_type = Text)]
    fingerprint: String,
    #[diesel(sql_type = Text, column_name = resposta)]
    answer: String,
}

fn identity(claim: &IdempotencyClaim) -> (&str, &str) {
    (claim.scope.as_str(), claim.key.as_str())
}

/// The scopes and keys of `claims`, as two arrays.
fn scopes_and_keys<'a>(
    claims: impl Iterator<Item = &'a IdempotencyClaim>,
) -> (Vec<&'a str>, Vec<&'a str>) {
    claims.map(identity).unzip()
}

/// PostgreSQL: the claim is an advisory lock; the row is written once, with its answer.
impl KeyClaims for PgConnection {
    fn claim_key(
        &mut self,
        claim: &IdempotencyClaim,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        Ok(self.claim_keys(&[(claim, now)])?.pop().flatten())
    }

    fn record_answer(
        &mut self,
        claim: &IdempotencyClaim,
        now: DateTime<Utc>,
        answer: &str,
    ) -> Result<(), StoreError> {
        self.record_answers(&[(claim, now, answer.to_owned())])
    }
}

impl BatchKeys for PgConnection {
    fn claims_in_round(&self) -> bool {
        true
    }

    fn claim_keys(
        &mut self,
        keys: &[(&IdempotencyClaim, DateTime<Utc>)],
    ) -> Result<Vec<Option<StoredAnswer>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (scopes, key_texts) = scopes_and_keys(keys.iter().map(|(claim, _)| *claim));
        let mut records: HashMap<(String, String), StoredAnswer> = cached_sql(RESERVE_KEYS)
            .bind::<Array<Text>, _>(scopes)
            .bind::<Array<Text>, _>(key_texts)
            .bind::<Array<Timestamptz>, _>(keys.iter().map(|(_, now)| *now).collect::<Vec<_>>())
            .load::<KeyRecordRow>(self)?
            .into_iter()
            .map(|row| {
                (
                    (row.scope, row.key),
                    StoredAnswer {
                        fingerprint: row.fingerprint,
                        answer: row.answer,
                    },
                )
            })
            .collect();
        Ok(keys
            .iter()
            .map(|(claim, _)| records.remove(&(claim.scope.clone(), claim.key.as_str().to_owned())))
            .collect())
    }

    fn record_answers(
        &mut self,
        answers: &[(&IdempotencyClaim, DateTime<Utc>, String)],
    ) -> Result<(), StoreError> {
        if answers.is_empty() {
            return Ok(());
        }
        let (scopes, key_texts) = scopes_and_keys(answers.iter().map(|(claim, _, _)| *claim));
        cached_sql(STORE_ANSWERS)
            .bind::<Array<Text>, _>(scopes)
            .bind::<Array<Text>, _>(key_texts)
            .bind::<Array<Text>, _>(
                answers
                    .iter()
                    .map(|(claim, _, _)| claim.fingerprint.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(
                answers
                    .iter()
                    .map(|(_, _, answer)| answer.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Timestamptz>, _>(
                answers.iter().map(|(_, now, _)| *now).collect::<Vec<_>>(),
            )
            .bind::<Array<Timestamptz>, _>(
                answers
                    .iter()
                    .map(|(claim, _, _)| claim.expires_at)
                    .collect::<Vec<_>>(),
            )
            .execute(self)?;
        Ok(())
    }

    /// Nothing is written before the answer: the claim in memory is all there is.
    fn reclaim_key(&mut self, _claim: &IdempotencyClaim) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing was written; COMMIT releases the locks.
    fn release_keys(&mut self, _claims: &[&IdempotencyClaim]) -> Result<(), StoreError> {
        Ok(())
    }
}

//! Idempotent requests: decoding a claimed key's record into a replay, or a refusal; a batch's
//! keys claimed and answered together.

use std::collections::{HashMap, HashSet};

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
use crate::queries::{Queries, StoredAnswer};
use crate::schema::idempotency_keys;

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
    conn.record_answer(claim, &answer_text(value)?)
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
    /// Claims `keys` (distinct, sorted: the order their rows are locked in), each with the time
    /// of its first request. One result per key, in order, as [`Queries::claim_key`]'s.
    fn claim_keys(
        &mut self,
        keys: &[(&IdempotencyClaim, DateTime<Utc>)],
    ) -> Result<Vec<Option<StoredAnswer>>, StoreError> {
        keys.iter()
            .map(|(claim, now)| self.claim_key(claim, *now))
            .collect()
    }

    /// Stores each answer (serde_json text) under its claimed key.
    fn record_answers(
        &mut self,
        answers: &[(&IdempotencyClaim, String)],
    ) -> Result<(), StoreError> {
        answers
            .iter()
            .try_for_each(|(claim, answer)| self.record_answer(claim, answer))
    }

    /// The row of a fresh key now belongs to `claim` (a twin with another fingerprint retries
    /// the key after its first request found nobody).
    fn reclaim_key(&mut self, claim: &IdempotencyClaim) -> Result<(), StoreError>;

    /// Removes the claims of keys nobody was assigned under (what a rollback would do).
    fn release_keys(&mut self, claims: &[&IdempotencyClaim]) -> Result<(), StoreError>;
}

/// [`BatchKeys::reclaim_key`], the same statement on both backends.
macro_rules! reclaim_key {
    () => {
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
    };
}

impl BatchKeys for SqliteConnection {
    reclaim_key!();

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

/// Claims a batch's keys in one statement, in the order given (sorted by the caller). A record
/// whose time is up is replaced by the new claim, as [`Queries::claim_key`] deletes it first;
/// the keys returned are the ones claimed fresh. A concurrent twin's uncommitted claim makes
/// the statement wait for its COMMIT or ROLLBACK. A live record is locked (`DO UPDATE` locks
/// the row even when its `WHERE` is false) until COMMIT: a concurrent batch replaying the same
/// key waits, in the same key order, so no deadlock.
const CLAIM_KEYS: &str = "\
    INSERT INTO idempotency_keys (scope, chave, fingerprint, resposta, created_at, expires_at) \
    SELECT t.scope, t.chave, t.fingerprint, '', t.agora, t.expira \
    FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TIMESTAMPTZ[], $5::TIMESTAMPTZ[]) \
        WITH ORDINALITY AS t (scope, chave, fingerprint, agora, expira, ordem) \
    ORDER BY t.ordem \
    ON CONFLICT (scope, chave) DO UPDATE \
    SET fingerprint = EXCLUDED.fingerprint, resposta = '', created_at = EXCLUDED.created_at, \
        expires_at = EXCLUDED.expires_at \
    WHERE idempotency_keys.expires_at <= EXCLUDED.created_at \
    RETURNING scope, chave";

// The three statements below join the keys to `idempotency_keys` and are sent unprepared
// (`sql_query`), planned on every call: a plan kept on the connection is PostgreSQL's generic
// plan, made from the table's size when it was prepared. Prepared on a new or emptied table
// (a fresh install, a database whose statistics say empty, the benchmark's), it is a sequential
// scan, and it stays one while the table grows by every keyed request until an ANALYZE: 0.6 ms
// of the batch's ~2 ms under the counter lock at 11,000 keys (bench/RESULTS.md). Planned per
// call, the lookup uses the primary key as soon as the table has more than a page or two.
// CLAIM_KEYS has no such choice to make (its conflict check always uses the key's index).

/// The records of the keys [`CLAIM_KEYS`] did not claim.
const READ_KEYS: &str = "\
    SELECT k.scope, k.chave, k.fingerprint, k.resposta \
    FROM idempotency_keys k \
    JOIN unnest($1::TEXT[], $2::TEXT[]) AS t (scope, chave) \
        ON k.scope = t.scope AND k.chave = t.chave";

const RECORD_ANSWERS: &str = "\
    UPDATE idempotency_keys k SET resposta = t.resposta \
    FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[]) AS t (scope, chave, resposta) \
    WHERE k.scope = t.scope AND k.chave = t.chave";

const RELEASE_KEYS: &str = "\
    DELETE FROM idempotency_keys k \
    USING unnest($1::TEXT[], $2::TEXT[]) AS t (scope, chave) \
    WHERE k.scope = t.scope AND k.chave = t.chave";

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Text)]
    scope: String,
    #[diesel(sql_type = Text, column_name = chave)]
    key: String,
}

#[derive(QueryableByName)]
struct KeyRecordRow {
    #[diesel(embed)]
    key: KeyRow,
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

impl BatchKeys for PgConnection {
    reclaim_key!();

    fn claim_keys(
        &mut self,
        keys: &[(&IdempotencyClaim, DateTime<Utc>)],
    ) -> Result<Vec<Option<StoredAnswer>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (scopes, key_texts) = scopes_and_keys(keys.iter().map(|(claim, _)| *claim));
        let claimed: HashSet<(String, String)> = cached_sql(CLAIM_KEYS)
            .bind::<Array<Text>, _>(&scopes)
            .bind::<Array<Text>, _>(&key_texts)
            .bind::<Array<Text>, _>(
                keys.iter()
                    .map(|(c, _)| c.fingerprint.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Timestamptz>, _>(keys.iter().map(|(_, now)| *now).collect::<Vec<_>>())
            .bind::<Array<Timestamptz>, _>(
                keys.iter().map(|(c, _)| c.expires_at).collect::<Vec<_>>(),
            )
            .load::<KeyRow>(self)?
            .into_iter()
            .map(|row| (row.scope, row.key))
            .collect();
        let taken: Vec<&IdempotencyClaim> = keys
            .iter()
            .map(|(claim, _)| *claim)
            .filter(|claim| {
                !claimed.contains(&(claim.scope.clone(), claim.key.as_str().to_owned()))
            })
            .collect();
        let mut records: HashMap<(String, String), StoredAnswer> = HashMap::new();
        if !taken.is_empty() {
            let (scopes, key_texts) = scopes_and_keys(taken.into_iter());
            for row in diesel::sql_query(READ_KEYS)
                .bind::<Array<Text>, _>(scopes)
                .bind::<Array<Text>, _>(key_texts)
                .load::<KeyRecordRow>(self)?
            {
                records.insert(
                    (row.key.scope, row.key.key),
                    StoredAnswer {
                        fingerprint: row.fingerprint,
                        answer: row.answer,
                    },
                );
            }
        }
        keys.iter()
            .map(|(claim, now)| {
                let id = (claim.scope.clone(), claim.key.as_str().to_owned());
                if claimed.contains(&id) {
                    return Ok(None);
                }
                match records.remove(&id) {
                    Some(stored) => Ok(Some(stored)),
                    // The record vanished between the two statements (released by the twin
                    // that held it): claim it again on its own.
                    None => self.claim_key(claim, *now),
                }
            })
            .collect()
    }

    fn record_answers(
        &mut self,
        answers: &[(&IdempotencyClaim, String)],
    ) -> Result<(), StoreError> {
        if answers.is_empty() {
            return Ok(());
        }
        let (scopes, key_texts) = scopes_and_keys(answers.iter().map(|(claim, _)| *claim));
        diesel::sql_query(RECORD_ANSWERS)
            .bind::<Array<Text>, _>(scopes)
            .bind::<Array<Text>, _>(key_texts)
            .bind::<Array<Text>, _>(
                answers
                    .iter()
                    .map(|(_, answer)| answer.as_str())
                    .collect::<Vec<_>>(),
            )
            .execute(self)?;
        Ok(())
    }

    fn release_keys(&mut self, claims: &[&IdempotencyClaim]) -> Result<(), StoreError> {
        if claims.is_empty() {
            return Ok(());
        }
        let (scopes, key_texts) = scopes_and_keys(claims.iter().copied());
        diesel::sql_query(RELEASE_KEYS)
            .bind::<Array<Text>, _>(scopes)
            .bind::<Array<Text>, _>(key_texts)
            .execute(self)?;
        Ok(())
    }
}

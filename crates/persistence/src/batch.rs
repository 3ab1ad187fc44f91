//! [`consultores_domain::AssignmentPort::assign_batch`] on both backends: the assignments a process gathered
//! (see `consultores_domain::BatchedAssignments`) in ONE transaction, one COMMIT.
//!
//! The batch gives exactly what its requests would give made one after another, in batch order
//! (arrival order):
//!
//! 1. Idempotency keys first, every distinct key of the batch claimed before the counter is
//!    touched, so the lock order stays key → counter → consultant for the whole batch (how a
//!    claim locks: `idempotency.rs`; two batches claiming overlapping keys take them in the
//!    same order: no deadlock). On PostgreSQL, when no key repeats in the batch, the batch
//!    statement claims them itself ([`BatchKeys::claims_in_round`]); otherwise they are claimed
//!    in one statement here. A key answered before (another batch, another replica) is
//!    replayed, or refused when the request differs; a concurrent twin's claim makes this batch
//!    wait for its COMMIT or ROLLBACK.
//! 2. Rounds of assignments, in batch order: a round ends before a request whose key an earlier
//!    request of the round holds (usually the whole batch is one round). PostgreSQL runs a
//!    round in one statement, `consultores_atribuir_lote` (migration
//!    `2026-10-15-000000_atribuir_lote`, last redefined by
//!    `2026-11-25-000000_atribuir_lote_por_lote`; through
//!    `consultores_atribuir_lote_com_chaves` when it claims the keys, migration
//!    `2026-11-28-000000_chaves_sem_escrita`), which locks the counter row and runs the
//!    one-assignment step per request: a request with nobody available takes no number and
//!    writes nothing, and the batch goes on. SQLite runs each request in a savepoint. Every
//!    answer is stored under its key after the last round (PostgreSQL: one statement); the
//!    key's later twins in the batch replay it (or are refused, for another request). A key
//!    whose request found nobody is tried again by its next twin; a key nobody was assigned
//!    under is released at the end, as the rollback of a lone request would have (on
//!    PostgreSQL nothing was written for it: COMMIT releases its lock).
//! 3. COMMIT: every assignment of the batch, its audit entry and outbox items become visible
//!    together. A failure of the whole batch (the connection, a row the domain cannot read, an
//!    injected fault on PostgreSQL) rolls all of it back, and every request gets that failure.
//!
//! Fault points, each at its own step: [`FaultPoint::AfterClaim`] once the keys are claimed
//! (before the round, when its statement claims them);
//! [`FaultPoint::AfterCounter`] once the round's assignment statement returned (PostgreSQL: the
//! counter row is held; SQLite fires it inside the request's own step); [`FaultPoint::AfterWrite`]
//! once every answer is stored under its key; [`FaultPoint::BeforeCommit`] last, once the unused
//! keys are released.

use std::collections::{BTreeMap, HashSet};

use consultores_domain::{
    Assignment, AssignmentRequest, AuditAction, AuditChanges, DomainError, IdempotencyClaim,
    Recorded,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz};
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::assignment::{
    nobody_available, AssignedWithCrmRow, Origin, ASSIGN_BATCH, ASSIGN_BATCH_WITH_KEYS,
};
use crate::audit::NewAuditRow;
use crate::cached_sql::cached_sql;
use crate::database::{Database, Pools};
use crate::error::StoreError;
use crate::faults::{FaultPoint, Faults, Interruptible};
use crate::idempotency::{answer_text, stored_answer, BatchKeys, StoredAnswer};

/// One result per request of a batch.
type Outcomes = Vec<Result<Recorded<Assignment>, StoreError>>;

/// A key claimed fresh by this batch.
struct FreshKey {
    /// The claim its row holds now.
    claim: IdempotencyClaim,
    /// The request assigned under the key in this batch: its fingerprint and answer.
    answer: Option<(String, Assignment)>,
}

/// The key's identity within a batch (sorted: the order keys are claimed in).
fn key_of(claim: &IdempotencyClaim) -> (String, String) {
    (claim.scope.clone(), claim.key.as_str().to_owned())
}

/// A replay of `stored` (or the refusal of another request under its key).
fn replay(
    stored: StoredAnswer,
    claim: &IdempotencyClaim,
) -> Result<Recorded<Assignment>, StoreError> {
    stored_answer(stored, claim).map(Recorded::replayed)
}

/// The steps of a batch that do not depend on the backend, inside the caller's transaction.
/// `assign` runs one round (request indexes in batch order) and returns one result per index;
/// its `Err` fails the whole batch. So does this function's. Its flag: whether the round's
/// keys are claimed by its own statement ([`BatchKeys::claims_in_round`], every key of the
/// batch distinct): a request whose key has a live record then comes back without an
/// assignment, and its record is read here, under the locks the round took.
fn run_batch<C: BatchKeys + Interruptible>(
    conn: &mut C,
    requests: &[AssignmentRequest],
    faults: &Faults,
    mut assign: impl FnMut(
        &mut C,
        &[usize],
        bool,
    ) -> Result<Vec<Result<Assignment, StoreError>>, StoreError>,
) -> Result<Outcomes, StoreError> {
    let mut results: Vec<Option<Result<Recorded<Assignment>, StoreError>>> =
        requests.iter().map(|_| None).collect();
    // Every distinct key, in sorted order, with its first request's claim and time.
    let mut by_key: BTreeMap<(String, String), (&IdempotencyClaim, _)> = BTreeMap::new();
    let mut keyed = 0;
    for request in requests {
        if let Some(claim) = &request.claim {
            keyed += 1;
            by_key.entry(key_of(claim)).or_insert((claim, request.now));
        }
    }
    let claims_in_round = conn.claims_in_round() && by_key.len() == keyed;
    let stored_answers = if claims_in_round {
        by_key.values().map(|_| None).collect()
    } else {
        let to_claim: Vec<(&IdempotencyClaim, _)> = by_key.values().copied().collect();
        conn.claim_keys(&to_claim)?
    };
    let mut fresh: BTreeMap<(String, String), FreshKey> = BTreeMap::new();
    for ((key, (claim, _)), stored) in by_key.into_iter().zip(stored_answers) {
        match stored {
            None => {
                fresh.insert(
                    key,
                    FreshKey {
                        claim: claim.clone(),
                        answer: None,
                    },
                );
            }
            Some(stored) => {
                for (index, request) in requests.iter().enumerate() {
                    let Some(claim) = request.claim.as_ref().filter(|c| key_of(c) == key) else {
                        continue;
                    };
                    results[index] = Some(replay(stored.clone(), claim));
                }
            }
        }
    }
    faults.check(FaultPoint::AfterClaim, conn)?;

    // Answers stored under their keys, all at once after the last round.
    let mut answers: Vec<(&IdempotencyClaim, _, String)> = Vec::new();
    // Rounds in batch order: a round ends before a request whose key an earlier request of the
    // same round claimed (its outcome decides whether this one replays or tries again).
    let mut next = 0;
    while next < requests.len() {
        let mut round = Vec::new();
        let mut keys_in_round = HashSet::new();
        while next < requests.len() {
            let index = next;
            if results[index].is_some() {
                next += 1;
                continue;
            }
            if let Some(claim) = &requests[index].claim {
                let key = key_of(claim);
                if keys_in_round.contains(&key) {
                    break;
                }
                let Some(state) = fresh.get_mut(&key) else {
                    return Err(StoreError::internal("a key of the batch was not claimed"));
                };
                if let Some((fingerprint, assignment)) = &state.answer {
                    results[index] = Some(if *fingerprint == claim.fingerprint {
                        Ok(Recorded::replayed(assignment.clone()))
                    } else {
                        Err(DomainError::IdempotencyKeyReused.into())
                    });
                    next += 1;
                    continue;
                }
                if claim.fingerprint != state.claim.fingerprint {
                    conn.reclaim_key(claim)?;
                    state.claim = claim.clone();
                }
                keys_in_round.insert(key);
            }
            round.push(index);
            next += 1;
        }
        if round.is_empty() {
            continue;
        }
        let outcomes = assign(conn, &round, claims_in_round)?;
        if claims_in_round {
            replay_answered_keys(conn, requests, &round, &outcomes, &mut fresh, &mut results)?;
        }
        for (index, outcome) in round.into_iter().zip(outcomes) {
            if results[index].is_some() {
                continue;
            }
            if let (Some(claim), Ok(assignment)) = (&requests[index].claim, &outcome) {
                answers.push((claim, requests[index].now, answer_text(assignment)?));
                if let Some(state) = fresh.get_mut(&key_of(claim)) {
                    state.answer = Some((claim.fingerprint.clone(), assignment.clone()));
                }
            }
            results[index] = Some(outcome.map(Recorded::fresh));
        }
    }
    conn.record_answers(&answers)?;
    faults.check(FaultPoint::AfterWrite, conn)?;
    let unused: Vec<&IdempotencyClaim> = fresh
        .values()
        .filter(|state| state.answer.is_none())
        .map(|state| &state.claim)
        .collect();
    conn.release_keys(&unused)?;
    faults.check(FaultPoint::BeforeCommit, conn)?;
    Ok(results
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err(StoreError::internal("a request was not run"))))
        .collect())
}

/// After a round that claimed its own keys: a keyed request that came back without an
/// assignment either found nobody or was skipped because its key has a live record. The
/// records are read (the round's locks are held, so they are the ones it saw) and those
/// requests replay them, or are refused; the others keep their "nobody available".
fn replay_answered_keys<C: BatchKeys>(
    conn: &mut C,
    requests: &[AssignmentRequest],
    round: &[usize],
    outcomes: &[Result<Assignment, StoreError>],
    fresh: &mut BTreeMap<(String, String), FreshKey>,
    results: &mut [Option<Result<Recorded<Assignment>, StoreError>>],
) -> Result<(), StoreError> {
    let unanswered: Vec<(usize, &IdempotencyClaim)> = round
        .iter()
        .zip(outcomes.iter())
        .filter(|(_, outcome)| outcome.is_err())
        .filter_map(|(index, _)| requests[*index].claim.as_ref().map(|claim| (*index, claim)))
        .collect();
    if unanswered.is_empty() {
        return Ok(());
    }
    let to_read: Vec<(&IdempotencyClaim, _)> = unanswered
        .iter()
        .map(|(index, claim)| (*claim, requests[*index].now))
        .collect();
    for ((index, claim), stored) in unanswered.into_iter().zip(conn.claim_keys(&to_read)?) {
        if let Some(stored) = stored {
            fresh.remove(&key_of(claim));
            results[index] = Some(replay(stored, claim));
        }
    }
    Ok(())
}

/// A row of [`ASSIGN_BATCH`]: the item (1-based position in the round) and its assignment.
#[derive(Debug, QueryableByName)]
struct BatchRow {
    #[diesel(sql_type = Integer)]
    item: i32,
    #[diesel(embed)]
    assigned: AssignedWithCrmRow,
}

/// One round on PostgreSQL: one statement for all its requests; with `claims`, the statement
/// also claims their keys ([`ASSIGN_BATCH_WITH_KEYS`]).
fn round_on_postgres(
    db: &Database,
    conn: &mut PgConnection,
    requests: &[AssignmentRequest],
    round: &[usize],
    claims: bool,
) -> Result<Vec<Result<Assignment, StoreError>>, StoreError> {
    let zone = db.default_time_zone();
    let mut languages = Vec::with_capacity(round.len());
    let mut stamps = Vec::with_capacity(round.len());
    let mut key_ids = Vec::with_capacity(round.len());
    let mut descriptions = Vec::with_capacity(round.len());
    let mut request_ids = Vec::with_capacity(round.len());
    let mut crm_kinds = Vec::with_capacity(round.len());
    let mut crm_ids = Vec::with_capacity(round.len());
    let mut origins = Vec::with_capacity(round.len());
    let mut audited = None;
    for request in round.iter().map(|index| &requests[*index]) {
        let row = NewAuditRow::new(
            &request.actor,
            AuditAction::Assignment,
            0,
            request.now,
            &AuditChanges::new(),
        )?;
        languages.push(
            request
                .languages
                .iter()
                .map(|language| language.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        stamps.push(request.now);
        key_ids.push(row.key_id);
        descriptions.push(row.key_description.to_string());
        request_ids.push(row.request_id.to_string());
        crm_kinds.push(request.crm.as_ref().map(|target| target.kind().as_str()));
        crm_ids.push(request.crm.as_ref().map(|target| target.id_text()));
        origins.push(Origin::of_rotation(&request.actor).as_str());
        audited.get_or_insert((row.action, row.entity));
    }
    let Some((action, entity)) = audited else {
        return Ok(Vec::new());
    };
    let note = round
        .iter()
        .any(|index| requests[*index].crm.is_some())
        .then_some(consultores_domain::ASSIGNMENT_NOTE_TEMPLATE);
    // The batch's parameters, after the keys' when the statement claims them.
    macro_rules! run_with_batch_binds {
        ($statement:expr) => {
            $statement
                .bind::<Array<Text>, _>(languages)
                .bind::<Array<Timestamptz>, _>(stamps)
                .bind::<Text, _>(zone.name())
                .bind::<Array<Nullable<BigInt>>, _>(key_ids)
                .bind::<Array<Text>, _>(descriptions)
                .bind::<Array<Text>, _>(request_ids)
                .bind::<Text, _>(action)
                .bind::<Text, _>(entity)
                .bind::<Array<Nullable<Text>>, _>(crm_kinds)
                .bind::<Array<Nullable<Text>>, _>(crm_ids)
                .bind::<Nullable<Text>, _>(note)
                .bind::<Array<Text>, _>(origins)
                .load::<BatchRow>(conn)?
        };
    }
    let rows = if claims {
        let (scopes, keys): (Vec<_>, Vec<_>) = round
            .iter()
            .map(|index| {
                let claim = requests[*index].claim.as_ref();
                (
                    claim.map(|claim| claim.scope.as_str()),
                    claim.map(|claim| claim.key.as_str()),
                )
            })
            .unzip();
        run_with_batch_binds!(cached_sql(ASSIGN_BATCH_WITH_KEYS)
            .bind::<Array<Nullable<Text>>, _>(scopes)
            .bind::<Array<Nullable<Text>>, _>(keys))
    } else {
        run_with_batch_binds!(cached_sql(ASSIGN_BATCH))
    };
    db.faults().check(FaultPoint::AfterCounter, conn)?;
    let mut assigned: Vec<Option<AssignedWithCrmRow>> = round.iter().map(|_| None).collect();
    for row in rows {
        let slot = usize::try_from(row.item - 1)
            .ok()
            .and_then(|position| assigned.get_mut(position))
            .ok_or_else(|| StoreError::internal("the batch answered an unknown item"))?;
        *slot = Some(row.assigned);
    }
    round
        .iter()
        .zip(assigned)
        .map(|(index, row)| {
            let request = &requests[*index];
            match row {
                // A stored row the domain cannot read fails (and rolls back) the whole batch.
                Some(row) => Ok(Ok(row.into_domain(request.crm.as_ref(), zone)?)),
                None => Ok(Err(nobody_available(&request.languages))),
            }
        })
        .collect()
}

/// One round on SQLite: each request in a savepoint, so its failure undoes it alone.
fn round_on_sqlite(
    db: &Database,
    conn: &mut SqliteConnection,
    requests: &[AssignmentRequest],
    round: &[usize],
) -> Result<Vec<Result<Assignment, StoreError>>, StoreError> {
    Ok(round
        .iter()
        .map(|index| {
            let request = &requests[*index];
            conn.transaction(|conn| {
                match db.assign_in_sqlite(
                    conn,
                    &request.languages,
                    request.now,
                    &request.actor,
                    request.crm.as_ref(),
                    Origin::of_rotation(&request.actor),
                ) {
                    // Nobody available wrote only the queue's upkeep: kept, as on PostgreSQL,
                    // so the next request does not redo it.
                    Err(StoreError::Domain(nobody @ DomainError::NoneAvailable(_))) => {
                        Ok(Err(StoreError::Domain(nobody)))
                    }
                    outcome => outcome.map(Ok),
                }
            })
            .and_then(|outcome| outcome)
        })
        .collect())
}

/// Every request of a batch gets the failure of the whole batch.
fn failed_batch(error: StoreError, size: usize) -> Vec<Result<Recorded<Assignment>, DomainError>> {
    let error = DomainError::from(error);
    let message = error.to_string();
    let cause = format!("{error:?}");
    let unavailable = matches!(error, DomainError::Unavailable(_));
    let mut results = vec![Err(error)];
    results.extend((1..size).map(|_| {
        Err(if unavailable {
            DomainError::unavailable(format!("{message}: {cause}"))
        } else {
            DomainError::internal(format!("{message}: {cause}"))
        })
    }));
    results
}

impl Database {
    /// The batch in one transaction (see the module documentation).
    pub(crate) fn assign_batch_now(
        &self,
        requests: &[AssignmentRequest],
    ) -> Result<Outcomes, StoreError> {
        match self.pools() {
            Pools::Postgres(pool, session) => crate::database::retry_if_lost(pool, |conn| {
                let mut entered = false;
                let outcome = conn.build_transaction().read_committed().run(|conn| {
                    entered = true;
                    session.begin(conn)?;
                    run_batch(conn, requests, self.faults(), |conn, round, claims| {
                        round_on_postgres(self, conn, requests, round, claims)
                    })
                });
                (outcome, entered)
            }),
            Pools::Sqlite(pool) => {
                let _writer = self.sqlite_writer()?;
                let mut conn = pool.get()?;
                conn.immediate_transaction(|conn| {
                    run_batch(conn, requests, self.faults(), |conn, round, _| {
                        round_on_sqlite(self, conn, requests, round)
                    })
                })
            }
        }
    }
}

/// The batch's port method on the store; the other methods are in `assignment.rs`.
pub(crate) fn assign_batch(
    db: &Database,
    batch: Vec<AssignmentRequest>,
) -> Vec<Result<Recorded<Assignment>, DomainError>> {
    let size = batch.len();
    match db.assign_batch_now(&batch) {
        Ok(results) => results
            .into_iter()
            .map(|result| result.map_err(DomainError::from))
            .collect(),
        Err(error) => failed_batch(error, size),
    }
}

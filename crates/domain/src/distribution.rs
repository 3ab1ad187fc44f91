//! The distribution policy: who may receive the next contact for a language, and in which order.
//!
//! # The rotation rule's home
//!
//! This module is the source of truth for the queue: who is eligible ([`is_eligible`], with the
//! routing rules of [`crate::routing`]: `RoutingRules::blocking_rule` and, for weights,
//! `next_queue_key`) and in which order ([`queue_order`]: lower `chave_fila` first, never served
//! first, then the lower id). A change to the rule starts here; its twins, which exist because
//! the head must be picked inside the database's lock, follow it:
//!
//! | twin | where | how it follows |
//! |---|---|---|
//! | PL/pgSQL | the step inside function `consultores_atribuir_lote` (`consultores_atribuir` is a batch of one), latest in migration `2026-11-25-000000_atribuir_lote_por_lote` (a change is a new migration) | the language's queue `consultor_fila` read `ORDER BY chave_fila ASC NULLS FIRST, consultor_id ASC`, the rules re-checked on the head's own row as its lock returned it (the function's expressions), the language by the stamp's statement |
//! | SQLite | `head` in `crates/persistence/src/sqlite_queue.rs` (migration `2026-11-15-000000_fila_por_idioma`) | the language's queue `consultor_fila` read `ORDER BY chave_fila, consultor_id` (SQLite sorts NULLs first), the switches, the language and `blocking_rule` re-checked in Rust on the head's row; who enters the queue decided by the same functions (and `RoutingRules::next_clock_change` for when to look again) |
//! | test copy | `POSTGRES_ASSIGNMENT_STATEMENT` in `crates/persistence/src/testing.rs` | the function's queue-head statement, for `EXPLAIN` (`examples/explain_plans.rs`); kept in step by hand (SQLite's head statement is re-exported as is) |
//! | benchmarks | `crates/domain/benches/policy.rs` (this module itself); `bench/assign_function.sql` | the SQL benchmark is a deliberately reduced twin (switches, language, `ultimo_atendimento` order; no rules, no weights): the physical limit, not the rule |
//!
//! What holds the twins to it: the property test `assignment_picks_the_policy_head_on_random_pools`
//! (`crates/persistence/tests/persistence/policy.rs`) runs the real assignment on both backends
//! over 80 random pools with random rules (weights, zones, hours, leave, daily and open limits)
//! and compares every pick with [`queue_head`]; `adoption.rs` does the same on an adopted v6
//! database; `distribution/tests/properties.rs` holds this module to its own documentation on
//! random pools.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consultant::Consultant;
use crate::crm_outbox::CrmActionStatus;
use crate::protocol::Protocol;
use crate::routing::{Availability, Unavailability};
use crate::values::Language;

/// The status of a consultant at `now`: the first reason (in the contract's order: the three
/// switches, then hours, leave, daily limit, open limit) that keeps them out of the rotation,
/// and their counters as of `now`. A deleted consultant is `inativo`.
pub fn availability(consultant: &Consultant, now: DateTime<Utc>) -> Availability {
    let reason = if consultant.deleted || !consultant.active {
        Some(Unavailability::Inactive)
    } else if !consultant.in_rotation {
        Some(Unavailability::OutOfRotation)
    } else if !consultant.online {
        Some(Unavailability::Offline)
    } else {
        consultant.routing.blocking_rule(&consultant.workload, now)
    };
    Availability {
        reason,
        assignments_today: consultant
            .workload
            .assignments_on(consultant.routing.local_date(now)),
        open_protocols: consultant.workload.open_protocols,
    }
}

/// A consultant may receive a contact in `language` at `now` when they are not deleted, work
/// here (`status_ativo`), take part in the rotation (`status_ativo_sequencial`), are online
/// (`status_online`), are inside their hours, off leave, under their daily and open limits, and
/// speak the language.
pub fn is_eligible(consultant: &Consultant, language: &Language, now: DateTime<Utc>) -> bool {
    consultant.languages.contains(language) && availability(consultant, now).available()
}

/// Queue order: the lower queue key goes first (with peso 1 the key is the time of the last
/// assignment: whoever has waited longest). A consultant without a key (never served) goes
/// before everyone who has one; equal keys are broken by the lower id, so the order is total
/// and the same on every replica.
pub fn queue_order(a: &Consultant, b: &Consultant) -> Ordering {
    let waited = match (a.queue_key, b.queue_key) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    };
    waited.then(a.id.cmp(&b.id))
}

/// The eligible consultants of `pool` for `language` at `now`, first in line first.
pub fn eligible_queue<'a>(
    pool: &'a [Consultant],
    language: &Language,
    now: DateTime<Utc>,
) -> Vec<&'a Consultant> {
    let mut queue: Vec<&Consultant> = pool
        .iter()
        .filter(|consultant| is_eligible(consultant, language, now))
        .collect();
    queue.sort_by(|a, b| queue_order(a, b));
    queue
}

/// The consultant who gets the next contact in `language` at `now`, if anyone is eligible.
pub fn queue_head<'a>(
    pool: &'a [Consultant],
    language: &Language,
    now: DateTime<Utc>,
) -> Option<&'a Consultant> {
    pool.iter()
        .filter(|consultant| is_eligible(consultant, language, now))
        .min_by(|a, b| queue_order(a, b))
}

/// The head for the first of `languages` (the requested one, then the alternatives in order)
/// in which anyone is eligible, with that language.
pub fn first_head<'a, 'l>(
    pool: &'a [Consultant],
    languages: &'l [Language],
    now: DateTime<Utc>,
) -> Option<(&'a Consultant, &'l Language)> {
    languages
        .iter()
        .find_map(|language| queue_head(pool, language, now).map(|head| (head, language)))
}

/// When nobody is free in `languages`: the earliest instant at which some consultant who is
/// active, in the rotation, online and speaks one of them will be inside their hours, off
/// leave and under their daily limit (`proximo_disponivel`); `None` if there is nobody such,
/// or it cannot be known.
pub fn next_available(
    pool: &[Consultant],
    languages: &[Language],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    pool.iter()
        .filter(|c| !c.deleted && c.active && c.in_rotation && c.online)
        .filter(|c| {
            languages
                .iter()
                .any(|language| c.languages.contains(language))
        })
        .filter_map(|c| c.routing.next_available(&c.workload, now))
        .min()
}

/// The outcome of one turn of the rotation: the consultant chosen (already stamped with the new
/// `last_served_at`) and the protocol opened for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub consultant: Consultant,
    pub protocol: Protocol,
    /// The CRM actions written with the assignment, when it was asked to act on a CRM record:
    /// `None` without a CRM target; empty when the consultant has no CRM user
    /// (`id_pipedrive`), so there was nothing to do. Kept in stored idempotent answers (older
    /// answers, written before this field existed, read as `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_actions: Option<Vec<CrmActionStatus>>,
}

#[cfg(test)]
mod tests;

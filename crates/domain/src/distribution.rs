//! The distribution policy: who may receive the next contact for a language, and in which order.
//!
//! These pure functions are the reference: the SQL of the persistence adapter implements the same
//! order, and its tests compare the two on random pools.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::consultant::Consultant;
use crate::protocol::Protocol;
use crate::values::Language;

/// A consultant may receive a contact in `language` when they are not deleted, work here
/// (`status_ativo`), take part in the rotation (`status_ativo_sequencial`), are online
/// (`status_online`) and speak the language.
pub fn is_eligible(consultant: &Consultant, language: &Language) -> bool {
    !consultant.deleted
        && consultant.active
        && consultant.in_rotation
        && consultant.online
        && consultant.languages.contains(language)
}

/// Queue order: whoever has waited longest goes first. A consultant never served
/// (`last_served_at` is `None`) goes before everyone who has been; equal times are broken by the
/// lower id, so the order is total and the same on every replica.
pub fn queue_order(a: &Consultant, b: &Consultant) -> Ordering {
    let waited = match (a.last_served_at, b.last_served_at) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    };
    waited.then(a.id.cmp(&b.id))
}

/// The eligible consultants of `pool` for `language`, first in line first.
pub fn eligible_queue<'a>(pool: &'a [Consultant], language: &Language) -> Vec<&'a Consultant> {
    let mut queue: Vec<&Consultant> = pool
        .iter()
        .filter(|consultant| is_eligible(consultant, language))
        .collect();
    queue.sort_by(|a, b| queue_order(a, b));
    queue
}

/// The consultant who gets the next contact in `language`, if anyone is eligible.
pub fn queue_head<'a>(pool: &'a [Consultant], language: &Language) -> Option<&'a Consultant> {
    pool.iter()
        .filter(|consultant| is_eligible(consultant, language))
        .min_by(|a, b| queue_order(a, b))
}

/// The outcome of one turn of the rotation: the consultant chosen (already stamped with the new
/// `last_served_at`) and the protocol opened for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub consultant: Consultant,
    pub protocol: Protocol,
}

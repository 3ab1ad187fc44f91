//! What authentication may cost the database. Every stored-key check takes a pooled
//! connection, so a flood of wrong keys could turn real traffic into 503s:
//!
//! - [`VerifiedKeys`]: a key verified by the store is trusted for a short while
//!   ([`AuthCosts::verified_for`], a few seconds) without asking again; a revocation is thus
//!   effective within that time on every replica, and at once on the replica that revoked.
//!   Only the SHA-256 of a key is kept, never the key.
//! - [`FailedAttempts`]: past [`AuthCosts::failures_allowed`] wrong keys from one client
//!   address within [`AuthCosts::failure_window`], further unknown keys from that address are
//!   refused (401) without asking the store, until the window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use consultores_domain::ApiKeyId;
use sha2::{Digest, Sha256};

use crate::caller::{Caller, CallerIdentity};

/// Entries kept at most in each table; past it the table is cleared (an attacker cycling
/// addresses or keys costs memory only up to here).
const MAX_ENTRIES: usize = 100_000;

/// The limits (part of [`crate::HttpSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthCosts {
    /// How long a verified stored key is trusted without asking the store again.
    pub verified_for: Duration,
    /// Wrong keys allowed per client address and window before lookups stop.
    pub failures_allowed: u32,
    /// The window of [`AuthCosts::failures_allowed`].
    pub failure_window: Duration,
    /// How long an answer of `/ready` is reused (concurrent checks share one).
    pub ready_for: Duration,
}

impl Default for AuthCosts {
    /// Keys trusted 5 s; 20 wrong keys per address and minute; `/ready` reused for 1 s.
    fn default() -> Self {
        Self {
            verified_for: Duration::from_secs(5),
            failures_allowed: 20,
            failure_window: Duration::from_secs(60),
            ready_for: Duration::from_secs(1),
        }
    }
}

/// Stored keys recently verified, by SHA-256 of the key.
#[derive(Debug, Default)]
pub struct VerifiedKeys(Mutex<HashMap<[u8; 32], (Caller, Instant)>>);

impl VerifiedKeys {
    /// The caller of `key` if it was verified less than `ttl` ago.
    pub fn get(&self, key: &str, ttl: Duration) -> Option<Caller> {
        let digest = digest(key);
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(&digest) {
            Some((caller, at)) if at.elapsed() < ttl => Some(caller.clone()),
            Some(_) => {
                entries.remove(&digest);
                None
            }
            None => None,
        }
    }

    /// Remembers that `key` was verified now as `caller`.
    pub fn insert(&self, key: &str, caller: &Caller) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(digest(key), (caller.clone(), Instant::now()));
    }

    /// Forgets the stored key `id` (revoked here: refused at once on this replica).
    pub fn forget(&self, id: ApiKeyId) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (caller, _)| caller.identity != CallerIdentity::Stored(id));
    }
}

/// Wrong keys per client address: the count and the start of its window.
#[derive(Debug, Default)]
pub struct FailedAttempts(Mutex<HashMap<IpAddr, (u32, Instant)>>);

impl FailedAttempts {
    /// Whether `address` has used up its wrong keys for the current window.
    pub fn exhausted(&self, address: IpAddr, limits: &AuthCosts) -> bool {
        let entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(&address).is_some_and(|(count, since)| {
            since.elapsed() < limits.failure_window && *count >= limits.failures_allowed
        })
    }

    /// Counts one wrong key from `address`.
    pub fn record(&self, address: IpAddr, limits: &AuthCosts) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, since)| since.elapsed() < limits.failure_window);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let entry = entries.entry(address).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= limits.failure_window {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use consultores_domain::ApiKeyScope;

    use super::*;

    fn caller(id: i64) -> Caller {
        Caller {
            identity: CallerIdentity::Stored(ApiKeyId(id)),
            scope: ApiKeyScope::Read,
            description: None,
        }
    }

    #[test]
    fn verified_keys_are_trusted_for_their_time_and_forgotten_when_revoked() {
        let keys = VerifiedKeys::default();
        keys.insert("csk_a", &caller(1));
        keys.insert("csk_b", &caller(2));
        assert_eq!(keys.get("csk_a", Duration::from_secs(60)), Some(caller(1)));
        assert_eq!(keys.get("csk_a", Duration::ZERO), None);
        assert_eq!(
            keys.get("csk_a", Duration::from_secs(60)),
            None,
            "expired entries go"
        );
        keys.forget(ApiKeyId(2));
        assert_eq!(keys.get("csk_b", Duration::from_secs(60)), None);
    }

    #[test]
    fn an_address_is_exhausted_after_its_allowed_failures_only() {
        let limits = AuthCosts {
            failures_allowed: 3,
            failure_window: Duration::from_secs(3600),
            ..AuthCosts::default()
        };
        let (one, other) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let attempts = FailedAttempts::default();
        for _ in 0..3 {
            assert!(!attempts.exhausted(one, &limits));
            attempts.record(one, &limits);
        }
        assert!(attempts.exhausted(one, &limits));
        assert!(!attempts.exhausted(other, &limits));
        let expired = AuthCosts {
            failure_window: Duration::ZERO,
            ..limits
        };
        assert!(!attempts.exhausted(one, &expired));
    }
}

//! Keys adopted from v6. People chose them, so a fast hash of one can be reversed by guessing:
//! they are stored with argon2id (slow, salted), as PHC strings (`$argon2id$v=19$…`), and
//! checked against a presented key one by one (a salted hash cannot be looked up). Keys the
//! service generates (32 random bytes) keep SHA-256.
//!
//! The v6 adoption migration cannot compute argon2id in SQL: it hands each plain key to the
//! table `v6_chaves_a_converter`, and [`Database::hash_adopted_keys`] hashes them right after
//! the migrations and deletes the plain text.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use diesel::prelude::*;
use rand::RngCore;

use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::schema::{api_keys, v6_chaves_a_converter};

/// `api_keys.hash_kind` of a key stored with argon2id.
pub(crate) const ARGON2ID: &str = "argon2id";

/// The argon2id PHC string of `secret` (default parameters: 19 MiB, 2 passes), with a fresh
/// random salt.
pub(crate) fn slow_hash(secret: &str) -> Result<String, StoreError> {
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|error| StoreError::internal(format!("argon2 salt: {error}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| StoreError::internal(format!("argon2 hash: {error}")))
}

/// Whether `secret` is the key whose argon2id PHC string is `stored` (a malformed string
/// matches nothing).
pub(crate) fn slow_matches(secret: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok()
    })
}

impl Database {
    /// Hashes the plain keys the v6 adoption handed over (as they are presented: without
    /// surrounding white space, which the `api-key` header cannot carry) and deletes them.
    /// Returns how many were hashed. Replicas doing this at once hash each key once: the
    /// delete of a key's plain row decides who writes its hash.
    pub(crate) fn hash_adopted_keys(&self) -> Result<usize, StoreError> {
        let pending: Vec<(i64, String)> = with_connection!(self, |conn| {
            v6_chaves_a_converter::table
                .select((
                    v6_chaves_a_converter::api_key_id,
                    v6_chaves_a_converter::chave,
                ))
                .load(conn)?
        });
        if pending.is_empty() {
            return Ok(0);
        }
        let hashed = pending
            .iter()
            .map(|(id, key)| Ok((*id, slow_hash(key.trim())?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        write_transaction!(self, |conn| {
            let mut written = 0;
            for (id, hash) in &hashed {
                let taken = diesel::delete(v6_chaves_a_converter::table.find(id)).execute(conn)?;
                if taken == 1 {
                    diesel::update(api_keys::table.find(id))
                        .set((
                            api_keys::key_hash.eq(hash),
                            api_keys::hash_kind.eq(ARGON2ID),
                        ))
                        .execute(conn)?;
                    written += 1;
                }
            }
            Ok(written)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_hash_matches_its_key_only_and_is_salted() {
        let stored = slow_hash("n8n\\key-2024").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(slow_matches("n8n\\key-2024", &stored));
        assert!(!slow_matches("n8n\\key-2025", &stored));
        assert!(!slow_matches("n8n\\key-2024", "not a hash"));
        assert_ne!(slow_hash("n8n\\key-2024").unwrap(), stored);
    }
}

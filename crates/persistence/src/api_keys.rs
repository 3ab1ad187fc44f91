//! [`ApiKeyStore`]: keys stored as the hex SHA-256 of their secret, never the secret itself.

use chrono::{DateTime, Duration, Utc};
use consultores_domain::{
    Actor, ApiKey, ApiKeyId, ApiKeyStore, AuditAction, AuditChanges, AuditValue, DomainError,
    NewApiKey,
};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::adopted_keys::{slow_matches, ARGON2ID};
use crate::audit::NewAuditRow;
use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::faults::FaultPoint;
use crate::queries::Queries;
use crate::schema::api_keys;
use crate::sql_types::Timestamp;

/// Prefix of generated secrets, so a leaked one is recognisable (e.g. by secret scanners).
const SECRET_PREFIX: &str = "csk_";

/// `last_used_at` is refreshed at most this often per key: no write per request.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

/// The stored form of a generated secret: lowercase hex SHA-256 of its UTF-8 bytes (keys
/// adopted from v6 are stored with argon2id instead, see [`crate::adopted_keys`]).
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct ApiKeyRow {
    id: i64,
    description: Option<String>,
    scope: String,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl ApiKeyRow {
    fn into_domain(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            description: self.description,
            scope: self.scope.parse().map_err(|error| {
                StoreError::internal(format!("api key {}: stored scope: {error}", self.id))
            })?,
            created_at: self.created_at.0,
            last_used_at: self.last_used_at.map(|t| t.0),
            revoked_at: self.revoked_at.map(|t| t.0),
        })
    }
}

impl Database {
    fn authenticate_key(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash_secret(presented);
        let (found, adopted): (Option<ApiKeyRow>, Vec<(ApiKeyRow, String)>) =
            with_connection!(self, |conn| {
                let found = api_keys::table
                    .filter(api_keys::key_hash.eq(&hash))
                    .filter(api_keys::hash_kind.ne(ARGON2ID))
                    .filter(api_keys::is_active.eq(true))
                    .filter(api_keys::revoked_at.is_null())
                    .select(ApiKeyRow::as_select())
                    .first(conn)
                    .optional()?;
                let adopted = if found.is_some() {
                    Vec::new()
                } else {
                    api_keys::table
                        .filter(api_keys::hash_kind.eq(ARGON2ID))
                        .filter(api_keys::is_active.eq(true))
                        .filter(api_keys::revoked_at.is_null())
                        .select((ApiKeyRow::as_select(), api_keys::key_hash))
                        .load(conn)?
                };
                (found, adopted)
            });
        // Adopted keys are checked after the connection went back to the pool: each check
        // takes tens of milliseconds of CPU on purpose.
        let found = found.or_else(|| {
            adopted
                .into_iter()
                .find(|(_, stored)| slow_matches(presented, stored))
                .map(|(row, _)| row)
        });
        let Some(mut row) = found else {
            return Ok(None);
        };
        let stale = Timestamp(now - Duration::seconds(LAST_USED_GRANULARITY_SECONDS));
        if row.last_used_at.is_none_or(|used| used < stale) {
            write_transaction!(self, |conn| {
                diesel::update(
                    api_keys::table.find(row.id).filter(
                        api_keys::last_used_at
                            .is_null()
                            .or(api_keys::last_used_at.lt(stale)),
                    ),
                )
                .set(api_keys::last_used_at.eq(Some(Timestamp(now))))
                .execute(conn)?;
                Ok(())
            })?;
            row.last_used_at = Some(Timestamp(now));
        }
        row.into_domain().map(Some)
    }

    /// A new key; with `only_if_none`, only when no active key exists (checked under a lock
    /// that concurrent callers of this check queue on), else `None`.
    fn create_key(
        &self,
        new: &NewApiKey,
        now: DateTime<Utc>,
        actor: &Actor,
        only_if_none: bool,
    ) -> Result<Option<(ApiKey, String)>, StoreError> {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{SECRET_PREFIX}{}", hex::encode(bytes));
        let hash = hash_secret(&secret);
        let row: Option<ApiKeyRow> = write_transaction!(self, |conn| {
            if only_if_none {
                conn.lock_first_key()?;
                let any = diesel::select(diesel::dsl::exists(
                    api_keys::table
                        .filter(api_keys::is_active.eq(true))
                        .filter(api_keys::revoked_at.is_null()),
                ))
                .get_result::<bool>(conn)?;
                if any {
                    return Ok(None);
                }
            }
            let row: ApiKeyRow = diesel::insert_into(api_keys::table)
                .values((
                    api_keys::key_hash.eq(&hash),
                    api_keys::description.eq(new.description.as_deref()),
                    api_keys::scope.eq(new.scope.as_str()),
                    api_keys::is_active.eq(true),
                    api_keys::created_at.eq(Timestamp(now)),
                ))
                .returning(ApiKeyRow::as_returning())
                .get_result(conn)?;
            // The description and the scope: never the secret, never its hash.
            let mut changes = AuditChanges::new();
            changes
                .created("description", AuditValue::optional(row.description.clone()))
                .created("scope", row.scope.as_str());
            conn.insert_audit(&NewAuditRow::new(
                actor,
                AuditAction::ApiKeyCreated,
                row.id,
                now,
                &changes,
            )?)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            Ok(Some(row))
        })?;
        row.map(|row| Ok((row.into_domain()?, secret.clone())))
            .transpose()
    }

    /// The first admin key, created only if no active key exists: two replicas starting
    /// together on an empty database create (and print) one key, not two. On PostgreSQL the
    /// check and the insert run under a transaction-level advisory lock; on SQLite under the
    /// write lock of `BEGIN IMMEDIATE`.
    pub fn create_first_key(
        &self,
        new: &NewApiKey,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<(ApiKey, String)>, DomainError> {
        Ok(self.create_key(new, now, actor, true)?)
    }

    fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<ApiKeyRow> = with_connection!(self, |conn| {
            api_keys::table
                .order(api_keys::id.asc())
                .select(ApiKeyRow::as_select())
                .load(conn)?
        });
        rows.into_iter().map(ApiKeyRow::into_domain).collect()
    }

    fn revoke_key(
        &self,
        id: ApiKeyId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        write_transaction!(self, |conn| {
            let revoked = diesel::update(
                api_keys::table
                    .find(id.0)
                    .filter(api_keys::is_active.eq(true))
                    .filter(api_keys::revoked_at.is_null()),
            )
            .set((
                api_keys::is_active.eq(false),
                api_keys::revoked_at.eq(Some(Timestamp(now))),
            ))
            .execute(conn)?;
            if revoked != 1 {
                return Ok(false);
            }
            conn.insert_audit(&NewAuditRow::stamped(
                actor,
                AuditAction::ApiKeyRevoked,
                id.0,
                "revoked_at",
                now,
            )?)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            Ok(true)
        })
    }

    fn any_active_key(&self) -> Result<bool, StoreError> {
        with_connection!(self, |conn| {
            Ok(diesel::select(diesel::dsl::exists(
                api_keys::table
                    .filter(api_keys::is_active.eq(true))
                    .filter(api_keys::revoked_at.is_null()),
            ))
            .get_result::<bool>(conn)?)
        })
    }
}

impl ApiKeyStore for Database {
    fn authenticate(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, DomainError> {
        Ok(self.authenticate_key(presented, now)?)
    }

    fn create(
        &self,
        new: &NewApiKey,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<(ApiKey, String), DomainError> {
        self.create_key(new, now, actor, false)?
            .ok_or_else(|| DomainError::internal("a key created unconditionally is missing"))
    }

    fn list(&self) -> Result<Vec<ApiKey>, DomainError> {
        Ok(self.list_keys()?)
    }

    fn revoke(&self, id: ApiKeyId, now: DateTime<Utc>, actor: &Actor) -> Result<bool, DomainError> {
        Ok(self.revoke_key(id, now, actor)?)
    }

    fn any_active(&self) -> Result<bool, DomainError> {
        Ok(self.any_active_key()?)
    }
}

/// An arbitrary constant naming the advisory lock of [`Database::create_first_key`].
const FIRST_KEY_LOCK: i64 = 0x636f_6e73_6b65_7931;

/// Serialises "create the first key unless one exists" across processes.
trait FirstKeyLock {
    fn lock_first_key(&mut self) -> Result<(), StoreError>;
}

impl FirstKeyLock for diesel::PgConnection {
    fn lock_first_key(&mut self) -> Result<(), StoreError> {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({FIRST_KEY_LOCK})"))
            .execute(self)?;
        Ok(())
    }
}

impl FirstKeyLock for diesel::SqliteConnection {
    /// `BEGIN IMMEDIATE` already holds the database's only write lock.
    fn lock_first_key(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_to_lowercase_hex_sha256() {
        assert_eq!(
            hash_secret("v6-plain-secret-key"),
            "dbe8c097bc5e9262984768345220cf070f482ccaa8a5b1c56403d2509b993d69"
        );
    }
}

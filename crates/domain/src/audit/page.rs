//! Reading the record back: keyset pages of entries, newest first, and the filters of
//! `GET /auditoria`.

use chrono::{DateTime, Utc};

use super::{AuditAction, AuditEntity, AuditEntry, AuditEntryId};
use crate::values::InvalidValue;

/// A keyset page, newest first: entries with an id below `before` (all when `None`), at most
/// `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPageRequest {
    pub before: Option<AuditEntryId>,
    pub limit: u32,
}

impl AuditPageRequest {
    pub const DEFAULT_LIMIT: u32 = 100;
    pub const MAX_LIMIT: u32 = 1000;

    /// Checks `1 ≤ limit ≤ 1000`.
    pub fn new(before: Option<AuditEntryId>, limit: u32) -> Result<Self, InvalidValue> {
        if limit == 0 {
            return Err(InvalidValue::NotPositive);
        }
        if limit > Self::MAX_LIMIT {
            return Err(InvalidValue::TooManyItems {
                max: Self::MAX_LIMIT as usize,
            });
        }
        Ok(Self { before, limit })
    }
}

impl Default for AuditPageRequest {
    fn default() -> Self {
        Self {
            before: None,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// Filters of `GET /auditoria`; every `None` matches all. `since` is inclusive, `until`
/// exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub entity: Option<AuditEntity>,
    pub entity_id: Option<i64>,
    pub action: Option<AuditAction>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub page: AuditPageRequest,
}

/// A page of entries, newest first, and the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<AuditEntryId>,
}

impl AuditPage {
    /// The page of `limit` entries out of `fetched`, which holds up to `limit + 1` entries
    /// newest first (the extra one only says that there is a next page).
    pub fn from_fetched(mut fetched: Vec<AuditEntry>, limit: u32) -> Self {
        let limit = limit as usize;
        let more = fetched.len() > limit;
        fetched.truncate(limit);
        let next = if more {
            fetched.last().map(|entry| entry.id)
        } else {
            None
        };
        Self {
            entries: fetched,
            next,
        }
    }
}

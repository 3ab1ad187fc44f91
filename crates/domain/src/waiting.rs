//! The waiting queue (`fila`): contacts that found nobody free wait here, in arrival order, until
//! a consultant who can take them becomes available, they expire, or they are cancelled.
//!
//! An entry is served through the same atomic assignment as `da-vez` (protocol, audit, CRM
//! actions), by the dispatcher ([`WaitingQueue::dispatch`]), in the order the entries arrived:
//! an entry is skipped only when nobody is free in any of its languages. While an entry waits in
//! a language (as its `idioma` or one of its `alternativas`), `da-vez` in that language finds
//! nobody, so it cannot jump the entry.

use chrono::{DateTime, Duration, Utc};

use crate::audit::Actor;
use crate::consultant::Consultant;
use crate::crm::CrmTarget;
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::protocol::{Priority, Protocol};
use crate::values::{Description, InvalidValue, Language};

/// A queue entry's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WaitingEntryId(pub i64);

wire_names! {
    /// Where an entry stands (`estado`).
    pub enum WaitingState {
        /// Waiting for a consultant (`aguardando`).
        #[strum(serialize = "aguardando")]
        Waiting,
        /// Handed to a consultant; the protocol is opened (`atribuido`).
        #[strum(serialize = "atribuido")]
        Assigned,
        /// Cancelled by a client (`cancelado`).
        #[strum(serialize = "cancelado")]
        Cancelled,
        /// Nobody took it within its maximum wait (`expirado`).
        #[strum(serialize = "expirado")]
        Expired,
    }
}

/// How long an entry may wait (`espera_maxima_segundos`): 1 s to 7 days, 1 day by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxWait(u32);

impl MaxWait {
    pub const MAX_SECONDS: i64 = 604_800;
    pub const DEFAULT: MaxWait = MaxWait(86_400);

    /// Checks `1 ≤ seconds ≤ 604800`.
    pub fn from_seconds(seconds: i64) -> Result<Self, InvalidValue> {
        if seconds < 1 {
            return Err(InvalidValue::NotPositive);
        }
        u32::try_from(seconds)
            .ok()
            .filter(|_| seconds <= Self::MAX_SECONDS)
            .map(Self)
            .ok_or(InvalidValue::TooLarge {
                max: Self::MAX_SECONDS,
            })
    }

    pub fn as_duration(self) -> Duration {
        Duration::seconds(i64::from(self.0))
    }
}

impl Default for MaxWait {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The languages an entry accepts: `idioma` first, then its `alternativas` in order, without
/// repeats. The queue's order is per language: an entry competes with the waiting entries that
/// share at least one language with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingLanguages {
    primary: Language,
    alternatives: Vec<Language>,
}

impl WaitingLanguages {
    /// At most this many alternatives.
    pub const MAX_ALTERNATIVES: usize = 10;

    /// `primary` and its alternatives; repeats (of `primary` too) are dropped, order kept.
    pub fn new(primary: Language, alternatives: Vec<Language>) -> Result<Self, InvalidValue> {
        let mut unique: Vec<Language> = Vec::with_capacity(alternatives.len());
        for language in alternatives {
            if language != primary && !unique.contains(&language) {
                unique.push(language);
            }
        }
        if unique.len() > Self::MAX_ALTERNATIVES {
            return Err(InvalidValue::TooManyItems {
                max: Self::MAX_ALTERNATIVES,
            });
        }
        Ok(Self {
            primary,
            alternatives: unique,
        })
    }

    pub fn primary(&self) -> &Language {
        &self.primary
    }

    pub fn alternatives(&self) -> &[Language] {
        &self.alternatives
    }

    /// Every language, in the order they are tried.
    pub fn in_order(&self) -> impl Iterator<Item = &Language> {
        std::iter::once(&self.primary).chain(self.alternatives.iter())
    }

    /// Whether this entry accepts `language`.
    pub fn accepts(&self, language: &Language) -> bool {
        self.in_order().any(|accepted| accepted == language)
    }

    /// Whether two entries compete (share a language).
    pub fn competes_with(&self, other: &WaitingLanguages) -> bool {
        self.in_order().any(|language| other.accepts(language))
    }
}

/// A contact to put in the queue (`POST /fila`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWaitingEntry {
    pub languages: WaitingLanguages,
    /// The caller's id for the contact (at most [`NewWaitingEntry::MAX_REFERENCE_CHARS`]).
    pub reference: Option<String>,
    pub description: Option<Description>,
    pub priority: Priority,
    /// The CRM record to hand over with the assignment (ignored while the integration is off).
    pub crm: Option<CrmTarget>,
    pub max_wait: MaxWait,
}

impl NewWaitingEntry {
    pub const MAX_REFERENCE_CHARS: usize = 255;
}

/// A queue entry as stored, with its position and, once assigned, the protocol and consultant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingEntry {
    pub id: WaitingEntryId,
    pub languages: WaitingLanguages,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub priority: Priority,
    pub crm: Option<CrmTarget>,
    pub state: WaitingState,
    /// 1-based among the waiting entries it competes with; `None` unless waiting.
    pub position: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub protocol: Option<Protocol>,
    pub consultant: Option<Consultant>,
}

/// A page of `GET /fila`: by ascending id, after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingFilter {
    pub language: Option<Language>,
    pub state: Option<WaitingState>,
    pub limit: u32,
    pub after: Option<WaitingEntryId>,
}

impl WaitingFilter {
    pub const DEFAULT_LIMIT: u32 = 100;
    pub const MAX_LIMIT: u32 = 1000;
}

/// One page and the cursor of the next (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingPage {
    pub entries: Vec<WaitingEntry>,
    pub next_cursor: Option<WaitingEntryId>,
}

/// An entry the dispatcher handed to a consultant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedEntry {
    pub id: WaitingEntryId,
    /// The language it was served in.
    pub language: Language,
    pub waited: Duration,
}

/// What one dispatch pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchRound {
    /// Entries assigned, in the order they were served (arrival order).
    pub served: Vec<ServedEntry>,
    /// The primary language of each entry that expired.
    pub expired: Vec<Language>,
    /// Whether entries were left unexamined (the batch was full): run another pass at once.
    pub more: bool,
}

/// The queue's storage and its atomic steps.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait WaitingQueue: Send + Sync {
    /// Queues a contact. In one transaction, serialised with every assignment: when no waiting
    /// entry competes with it and someone is free in one of its languages (tried in order), it
    /// is assigned at once (state `atribuido`, with the protocol, the audit entries `fila.criada`
    /// and `fila.atribuida`, and the CRM actions when `crm_enabled`); else it waits. A claim
    /// makes a retry return the same entry (as it stands now) and create nothing.
    fn enqueue(
        &self,
        new: &NewWaitingEntry,
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm_enabled: bool,
    ) -> Result<Recorded<WaitingEntry>, DomainError>;

    /// One entry with its position (among the entries still waiting at `now`).
    fn get(
        &self,
        id: WaitingEntryId,
        now: DateTime<Utc>,
    ) -> Result<Option<WaitingEntry>, DomainError>;

    /// A page of entries by ascending id, positions as of `now`.
    fn list(&self, filter: &WaitingFilter, now: DateTime<Utc>) -> Result<WaitingPage, DomainError>;

    /// Cancels a waiting entry (audited as `fila.cancelada`). An entry already cancelled or
    /// expired is returned unchanged; an assigned one is [`DomainError::AlreadyAssigned`]; an
    /// unknown id is [`DomainError::WaitingEntryNotFound`].
    fn cancel(
        &self,
        id: WaitingEntryId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<WaitingEntry, DomainError>;

    /// One pass, in one transaction serialised with every assignment (across replicas): expires
    /// the entries past their maximum wait (`fila.expirada`), then walks at most `batch` waiting
    /// entries in arrival order and assigns each to the head of the rotation in the first of its
    /// languages where someone is free (`fila.atribuida`). A language that found nobody is not
    /// tried again in the same pass.
    fn dispatch(
        &self,
        now: DateTime<Utc>,
        actor: &Actor,
        crm_enabled: bool,
        batch: u32,
    ) -> Result<DispatchRound, DomainError>;

    /// How many entries wait (not yet expired at `now`) accepting any of `languages` (the
    /// `aguardando` of the `da-vez` 404).
    fn waiting_count(&self, languages: &[Language], now: DateTime<Utc>)
        -> Result<u64, DomainError>;

    /// Waiting entries per primary language (for `/metrics`).
    fn waiting_by_language(&self) -> Result<Vec<(Language, u64)>, DomainError>;
}

/// The positions of waiting entries: for each entry (given in ascending id order), 1 + the
/// number of earlier entries it competes with.
pub fn positions(waiting: &[(WaitingEntryId, WaitingLanguages)]) -> Vec<(WaitingEntryId, u64)> {
    waiting
        .iter()
        .enumerate()
        .map(|(index, (id, languages))| {
            let ahead = waiting[..index]
                .iter()
                .filter(|(_, earlier)| earlier.competes_with(languages))
                .count();
            (*id, ahead as u64 + 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(code: &str) -> Language {
        Language::parse(code).unwrap()
    }

    fn langs(primary: &str, alternatives: &[&str]) -> WaitingLanguages {
        WaitingLanguages::new(
            lang(primary),
            alternatives.iter().map(|c| lang(c)).collect(),
        )
        .unwrap()
    }

    #[test]
    fn states_round_trip_through_their_wire_names() {
        assert_wire_names_round_trip!(WaitingState);
        assert!("Aguardando".parse::<WaitingState>().is_err());
    }

    #[test]
    fn max_wait_accepts_one_second_to_seven_days() {
        assert!(MaxWait::from_seconds(1).is_ok());
        assert!(MaxWait::from_seconds(604_800).is_ok());
        assert_eq!(MaxWait::from_seconds(0), Err(InvalidValue::NotPositive));
        assert_eq!(
            MaxWait::from_seconds(604_801),
            Err(InvalidValue::TooLarge { max: 604_800 })
        );
        assert_eq!(MaxWait::default().as_duration(), Duration::days(1));
    }

    #[test]
    fn languages_drop_repeats_and_keep_the_order() {
        let languages = langs("pt", &["en", "pt", "es", "en"]);
        let order: Vec<&str> = languages.in_order().map(Language::as_str).collect();
        assert_eq!(order, ["pt", "en", "es"]);
        assert!(languages.accepts(&lang("es")));
        assert!(!languages.accepts(&lang("fr")));
    }

    #[test]
    fn too_many_alternatives_are_refused() {
        let many: Vec<Language> = [
            "aa", "ab", "ac", "ad", "ae", "af", "ag", "ah", "ai", "aj", "ak",
        ]
        .iter()
        .map(|c| lang(c))
        .collect();
        assert_eq!(
            WaitingLanguages::new(lang("pt"), many),
            Err(InvalidValue::TooManyItems { max: 10 })
        );
    }

    #[test]
    fn positions_count_only_competing_entries_ahead() {
        let waiting = vec![
            (WaitingEntryId(1), langs("pt", &[])),
            (WaitingEntryId(2), langs("en", &[])),
            (WaitingEntryId(3), langs("pt", &[])),
            (WaitingEntryId(4), langs("es", &["en"])),
        ];
        assert_eq!(
            positions(&waiting),
            vec![
                (WaitingEntryId(1), 1),
                (WaitingEntryId(2), 1),
                (WaitingEntryId(3), 2),
                (WaitingEntryId(4), 2),
            ]
        );
    }
}

//! Protocols: the numbered record of every hand-off.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consultant::ConsultantId;
use crate::values::{Description, InvalidValue, Language, ProtocolNumber};

/// A protocol's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProtocolId(pub i64);

wire_names! {
    /// How urgent a protocol is (`prioridade`).
    #[derive(Default)]
    pub enum Priority {
        #[strum(serialize = "baixa")]
        Low,
        #[default]
        #[strum(serialize = "normal")]
        Normal,
        #[strum(serialize = "alta")]
        High,
        #[strum(serialize = "urgente")]
        Urgent,
    }
}

wire_names! {
    /// Where a protocol stands (`status`).
    #[derive(Default)]
    pub enum ProtocolStatus {
        #[default]
        #[strum(serialize = "aberto")]
        Open,
        #[strum(serialize = "em_andamento")]
        InProgress,
        #[strum(serialize = "fechado")]
        Closed,
    }
}

/// A protocol as stored. `consultant_id` is `None` for protocols generated without a consultant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protocol {
    pub id: ProtocolId,
    pub number: ProtocolNumber,
    pub consultant_id: Option<ConsultantId>,
    /// The language of the assignment that opened it, if any.
    pub language: Option<Language>,
    pub description: Option<Description>,
    pub priority: Priority,
    pub status: ProtocolStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A protocol to open by hand (`POST /protocolo`) or unassigned (`GET /gerar-protocolo`).
/// The number is never chosen by the caller: the repository takes the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProtocol {
    pub consultant_id: Option<ConsultantId>,
    pub description: Option<Description>,
    pub priority: Priority,
}

/// A partial update of a protocol: `None` leaves a field unchanged; `description: Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtocolPatch {
    pub description: Option<Option<Description>>,
    pub priority: Option<Priority>,
    pub status: Option<ProtocolStatus>,
    pub consultant_id: Option<ConsultantId>,
}

impl ProtocolPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A search of protocols for people (the operations page): every given criterion must hold;
/// newest (highest id) first, at most `limit` (1 to [`ProtocolFilter::MAX_LIMIT`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolSearch {
    pub number: Option<crate::values::ProtocolNumber>,
    pub consultant_id: Option<ConsultantId>,
    pub status: Option<ProtocolStatus>,
    /// Opened at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Opened before this instant.
    pub created_until: Option<DateTime<Utc>>,
    pub limit: u32,
}

impl Default for ProtocolSearch {
    fn default() -> Self {
        Self {
            number: None,
            consultant_id: None,
            status: None,
            created_from: None,
            created_until: None,
            limit: ProtocolFilter::DEFAULT_LIMIT,
        }
    }
}

/// One page of `GET /protocolos`, in ascending id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolFilter {
    pub consultant_id: Option<ConsultantId>,
    pub skip: u64,
    pub limit: u32,
}

impl ProtocolFilter {
    pub const DEFAULT_LIMIT: u32 = 100;
    pub const MAX_LIMIT: u32 = 1000;

    /// Checks `1 ≤ limit ≤ 1000` (skip is unsigned, so already ≥ 0).
    pub fn new(
        consultant_id: Option<ConsultantId>,
        skip: u64,
        limit: u32,
    ) -> Result<Self, InvalidValue> {
        if limit == 0 {
            return Err(InvalidValue::NotPositive);
        }
        if limit > Self::MAX_LIMIT {
            return Err(InvalidValue::TooManyItems {
                max: Self::MAX_LIMIT as usize,
            });
        }
        Ok(Self {
            consultant_id,
            skip,
            limit,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::values::tests::serde_probe::from_str;

    /// An open protocol numbered after its id, created (and last changed) at `now`, with no
    /// consultant, language or description and the normal priority.
    pub(crate) fn sample_protocol(id: i64, now: DateTime<Utc>) -> Protocol {
        Protocol {
            id: ProtocolId(id),
            number: ProtocolNumber::from_counter(id).unwrap(),
            consultant_id: None,
            language: None,
            description: None,
            priority: Priority::Normal,
            status: ProtocolStatus::Open,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn priority_parses_every_wire_name_and_round_trips() {
        assert_wire_names_round_trip!(Priority);
        assert_eq!("urgente".parse::<Priority>(), Ok(Priority::Urgent));
        assert_eq!("baixa".parse::<Priority>(), Ok(Priority::Low));
    }

    #[test]
    fn priority_rejects_unknown_or_differently_cased_names() {
        for raw in ["", "ALTA", "Alta", "high", " alta", "média"] {
            let error = raw.parse::<Priority>().unwrap_err();
            assert_eq!(
                error,
                InvalidValue::NotAllowed {
                    allowed: "baixa, normal, alta, urgente"
                },
                "{raw:?}"
            );
        }
    }

    #[test]
    fn protocol_status_parses_every_wire_name_and_round_trips() {
        assert_wire_names_round_trip!(ProtocolStatus);
        assert_eq!(
            "em_andamento".parse::<ProtocolStatus>(),
            Ok(ProtocolStatus::InProgress)
        );
    }

    #[test]
    fn protocol_status_rejects_unknown_names() {
        for raw in ["", "em andamento", "emAndamento", "EM_ANDAMENTO", "closed"] {
            assert!(matches!(
                raw.parse::<ProtocolStatus>(),
                Err(InvalidValue::NotAllowed { .. })
            ));
        }
    }

    #[test]
    fn defaults_are_normal_priority_and_open_status() {
        assert_eq!(Priority::default(), Priority::Normal);
        assert_eq!(ProtocolStatus::default(), ProtocolStatus::Open);
    }

    #[test]
    fn enums_serialize_as_their_wire_names_and_deserialize_back() {
        assert_wire_names_round_trip!(Priority);
        assert_wire_names_round_trip!(ProtocolStatus);
        assert!(from_str::<Priority>("Alta").is_err());
        assert!(from_str::<ProtocolStatus>("EmAndamento").is_err());
    }

    #[test]
    fn new_protocol_by_default_has_no_consultant_and_normal_priority() {
        let new = NewProtocol::default();
        assert_eq!(new.consultant_id, None);
        assert_eq!(new.description, None);
        assert_eq!(new.priority, Priority::Normal);
    }

    #[test]
    fn protocol_patch_is_empty_only_when_nothing_is_present() {
        assert!(ProtocolPatch::default().is_empty());
        assert!(!ProtocolPatch {
            description: Some(None),
            ..ProtocolPatch::default()
        }
        .is_empty());
        assert!(!ProtocolPatch {
            status: Some(ProtocolStatus::Closed),
            ..ProtocolPatch::default()
        }
        .is_empty());
        assert!(!ProtocolPatch {
            consultant_id: Some(ConsultantId(7)),
            ..ProtocolPatch::default()
        }
        .is_empty());
    }

    #[test]
    fn protocol_filter_rejects_a_zero_limit() {
        assert_eq!(
            ProtocolFilter::new(None, 0, 0),
            Err(InvalidValue::NotPositive)
        );
    }

    #[test]
    fn protocol_filter_accepts_limits_of_one_and_one_thousand() {
        let one = ProtocolFilter::new(Some(ConsultantId(7)), 5, 1).unwrap();
        assert_eq!(one.limit, 1);
        assert_eq!(one.skip, 5);
        assert_eq!(one.consultant_id, Some(ConsultantId(7)));
        let max = ProtocolFilter::new(None, 0, 1000).unwrap();
        assert_eq!(max.limit, ProtocolFilter::MAX_LIMIT);
        assert!(ProtocolFilter::new(None, u64::MAX, ProtocolFilter::DEFAULT_LIMIT).is_ok());
    }

    #[test]
    fn protocol_filter_rejects_a_limit_above_one_thousand() {
        assert_eq!(
            ProtocolFilter::new(None, 0, 1001),
            Err(InvalidValue::TooManyItems { max: 1000 })
        );
        assert!(ProtocolFilter::new(None, 0, u32::MAX).is_err());
    }
}

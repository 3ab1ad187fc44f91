//! Protocols: the numbered record of every hand-off.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consultant::ConsultantId;
use crate::values::{Description, InvalidValue, Language, ProtocolNumber};

/// A protocol's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProtocolId(pub i64);

/// How urgent a protocol is (`prioridade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Baixa,
    #[default]
    Normal,
    Alta,
    Urgente,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Baixa, Self::Normal, Self::Alta, Self::Urgente];
    const ALLOWED: &'static str = "baixa, normal, alta, urgente";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Baixa => "baixa",
            Self::Normal => "normal",
            Self::Alta => "alta",
            Self::Urgente => "urgente",
        }
    }
}

impl FromStr for Priority {
    type Err = InvalidValue;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or(InvalidValue::NotAllowed {
                allowed: Self::ALLOWED,
            })
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a protocol stands (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolStatus {
    #[default]
    Aberto,
    EmAndamento,
    Fechado,
}

impl ProtocolStatus {
    pub const ALL: [ProtocolStatus; 3] = [Self::Aberto, Self::EmAndamento, Self::Fechado];
    const ALLOWED: &'static str = "aberto, em_andamento, fechado";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aberto => "aberto",
            Self::EmAndamento => "em_andamento",
            Self::Fechado => "fechado",
        }
    }
}

impl FromStr for ProtocolStatus {
    type Err = InvalidValue;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(InvalidValue::NotAllowed {
                allowed: Self::ALLOWED,
            })
    }
}

impl fmt::Display for ProtocolStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

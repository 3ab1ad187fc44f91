use std::fmt;

use serde::{Deserialize, Serialize};

use super::invalid::InvalidValue;

/// The id of a Pipedrive user: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct PipedriveUserId(i64);

impl PipedriveUserId {
    pub fn new(value: i64) -> Result<Self, InvalidValue> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err(InvalidValue::NotPositive)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for PipedriveUserId {
    type Error = InvalidValue;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<PipedriveUserId> for i64 {
    fn from(value: PipedriveUserId) -> Self {
        value.0
    }
}

impl fmt::Display for PipedriveUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

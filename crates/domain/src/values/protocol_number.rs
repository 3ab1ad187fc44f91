use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::invalid::InvalidValue;

/// A protocol number: `#` and the counter zero-padded to five digits (`#00042`). Past 99999 it
/// simply grows (`#100000`); it is never truncated. Parsing accepts exactly what `Display`
/// writes, so the two round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProtocolNumber(u64);

impl ProtocolNumber {
    /// The number for a counter value (the first protocol is 1).
    pub fn from_counter(counter: i64) -> Result<Self, InvalidValue> {
        u64::try_from(counter)
            .ok()
            .filter(|&c| c > 0)
            .map(Self)
            .ok_or(InvalidValue::NotPositive)
    }

    pub fn counter(self) -> u64 {
        self.0
    }
}

impl FromStr for ProtocolNumber {
    type Err = InvalidValue;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let digits = raw.strip_prefix('#').ok_or(InvalidValue::NotAProtocolNumber)?;
        let canonical_width = digits.len() == 5 || (digits.len() > 5 && !digits.starts_with('0'));
        if !canonical_width || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::NotAProtocolNumber);
        }
        let counter: u64 = digits.parse().map_err(|_| InvalidValue::NotAProtocolNumber)?;
        if counter == 0 {
            return Err(InvalidValue::NotAProtocolNumber);
        }
        Ok(Self(counter))
    }
}

impl TryFrom<String> for ProtocolNumber {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ProtocolNumber> for String {
    fn from(value: ProtocolNumber) -> Self {
        value.to_string()
    }
}

impl fmt::Display for ProtocolNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:05}", self.0)
    }
}

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

wire_conversions!(PipedriveUserId <=> i64, |raw| Self::new(raw), |id| id.get());

impl fmt::Display for PipedriveUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_positive_ids() {
        assert_eq!(PipedriveUserId::new(1).unwrap().get(), 1);
        assert_eq!(PipedriveUserId::new(456).unwrap().to_string(), "456");
        assert_eq!(i64::from(PipedriveUserId::new(i64::MAX).unwrap()), i64::MAX);
    }

    #[test]
    fn rejects_zero() {
        assert_eq!(PipedriveUserId::new(0), Err(InvalidValue::NotPositive));
    }

    #[test]
    fn rejects_negative_ids() {
        assert_eq!(PipedriveUserId::new(-1), Err(InvalidValue::NotPositive));
        assert_eq!(
            PipedriveUserId::try_from(i64::MIN),
            Err(InvalidValue::NotPositive)
        );
    }
}

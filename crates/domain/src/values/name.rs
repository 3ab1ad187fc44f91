use std::fmt;

use serde::{Deserialize, Serialize};

use super::invalid::{check_length, InvalidValue};

/// A consultant's display name: surrounding white space trimmed, 3 to 255 characters
/// (characters, not bytes: "José Ñandú 🚀" counts 13), no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConsultantName(String);

impl ConsultantName {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        check_length(trimmed, Self::MIN_CHARS, Self::MAX_CHARS)?;
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidValue::ControlCharacters);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConsultantName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ConsultantName> for String {
    fn from(value: ConsultantName) -> Self {
        value.0
    }
}

impl fmt::Display for ConsultantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

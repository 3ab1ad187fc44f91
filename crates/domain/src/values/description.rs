use std::fmt;

use serde::{Deserialize, Serialize};

use super::invalid::{check_length, InvalidValue};

/// Free text attached to a protocol: at most 2,000 characters. Line breaks and tabs are fine;
/// NUL is refused because PostgreSQL cannot store it in text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        check_length(raw, 0, Self::MAX_CHARS)?;
        if raw.contains('\0') {
            return Err(InvalidValue::ControlCharacters);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Description> for String {
    fn from(value: Description) -> Self {
        value.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_two_thousand_characters() {
        assert!(Description::parse(&"a".repeat(2000)).is_ok());
        // Characters, not bytes: 2,000 "ç" are 4,000 bytes.
        assert!(Description::parse(&"ç".repeat(2000)).is_ok());
    }

    #[test]
    fn rejects_two_thousand_and_one_characters() {
        assert_eq!(
            Description::parse(&"a".repeat(2001)),
            Err(InvalidValue::TooLong { max: 2000 })
        );
        assert_eq!(
            Description::parse(&"ç".repeat(2001)),
            Err(InvalidValue::TooLong { max: 2000 })
        );
    }

    #[test]
    fn keeps_the_text_as_given_including_line_breaks() {
        let text = "Cliente pediu retorno.\nLigar após 14h. ";
        let description = Description::parse(text).unwrap();
        assert_eq!(description.as_str(), text);
        assert_eq!(description.to_string(), text);
        assert_eq!(String::from(description), text);
    }

    #[test]
    fn accepts_an_empty_description() {
        assert_eq!(Description::parse("").unwrap().as_str(), "");
    }

    /// PostgreSQL `text` cannot hold U+0000: the domain refuses a NUL up front (a 422), so a
    /// valid description can be kept on both backends.
    #[test]
    fn rejects_a_nul_character_that_postgresql_cannot_store() {
        assert_eq!(
            Description::parse("antes\u{0}depois"),
            Err(InvalidValue::ControlCharacters)
        );
    }
}

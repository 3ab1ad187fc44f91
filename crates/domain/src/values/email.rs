use std::fmt;

use serde::{Deserialize, Serialize};

use super::invalid::{check_length, InvalidValue};

/// An email address as people type it: trimmed, at most 255 characters, one `@` between a
/// non-empty local part (at most 64 characters) and a domain of dot-separated labels
/// (letters, digits, hyphens; at least two labels). No white space anywhere.
/// Case is kept as typed; uniqueness is checked case-insensitively by the repositories.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        check_length(trimmed, 3, Self::MAX_CHARS)?;
        let (local, domain) = trimmed.split_once('@').ok_or(InvalidValue::NotAnEmail)?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= 64
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && c != '@');
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(InvalidValue::NotAnEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

use std::fmt;

use serde::{Deserialize, Serialize};

use super::invalid::InvalidValue;

/// A language code such as `pt`, `en` or `pt-br`: 2 to 5 characters, ASCII letters with at
/// most one `-` that is neither first nor last; stored lowercase so matching is
/// case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let code = raw.trim();
        let hyphens = code.bytes().filter(|&b| b == b'-').count();
        let valid = (2..=5).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
            && hyphens <= 1
            && !code.starts_with('-')
            && !code.ends_with('-');
        if valid {
            Ok(Self(code.to_ascii_lowercase()))
        } else {
            Err(InvalidValue::NotALanguageCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Language {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Language> for String {
    fn from(value: Language) -> Self {
        value.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The languages a consultant speaks: 1 to 20 distinct codes, in the order first given
/// (later duplicates, compared case-insensitively, are dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Language>", into = "Vec<Language>")]
pub struct LanguageList(Vec<Language>);

impl LanguageList {
    pub const MAX_ITEMS: usize = 20;

    /// De-duplicates, then checks the count (so 25 copies of "pt" are one language).
    pub fn new(languages: Vec<Language>) -> Result<Self, InvalidValue> {
        let mut unique: Vec<Language> = Vec::with_capacity(languages.len());
        for language in languages {
            if !unique.contains(&language) {
                unique.push(language);
            }
        }
        if unique.is_empty() {
            Err(InvalidValue::TooFewItems { min: 1 })
        } else if unique.len() > Self::MAX_ITEMS {
            Err(InvalidValue::TooManyItems {
                max: Self::MAX_ITEMS,
            })
        } else {
            Ok(Self(unique))
        }
    }

    pub fn as_slice(&self) -> &[Language] {
        &self.0
    }

    pub fn contains(&self, language: &Language) -> bool {
        self.0.contains(language)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Language> {
        self.0.iter()
    }
}

impl TryFrom<Vec<Language>> for LanguageList {
    type Error = InvalidValue;
    fn try_from(value: Vec<Language>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<LanguageList> for Vec<Language> {
    fn from(value: LanguageList) -> Self {
        value.0
    }
}

use serde::{Deserialize, Serialize};

use super::invalid::InvalidValue;

text_newtype! {
    /// A language code such as `pt`, `en` or `pt-br`: 2 to 5 characters, ASCII letters with at
    /// most one `-` that is neither first nor last; stored lowercase so matching is
    /// case-insensitive.
    #[derive(Hash, PartialOrd, Ord)]
    pub struct Language(String);
}

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

wire_conversions!(LanguageList <=> Vec<Language>, |raw| Self::new(raw), |list| list.0);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::tests::assert_refused;

    fn lang(raw: &str) -> Language {
        Language::parse(raw).unwrap()
    }

    fn codes(list: &LanguageList) -> Vec<&str> {
        list.iter().map(Language::as_str).collect()
    }

    /// `count` distinct two-letter codes: aa, ab, …, az, ba, …
    fn distinct_languages(count: usize) -> Vec<Language> {
        (0..count)
            .map(|i| {
                let first = char::from(b'a' + u8::try_from(i / 26).unwrap());
                let second = char::from(b'a' + u8::try_from(i % 26).unwrap());
                lang(&format!("{first}{second}"))
            })
            .collect()
    }

    #[test]
    fn accepts_a_two_letter_code() {
        assert_eq!(lang("pt").as_str(), "pt");
    }

    #[test]
    fn stores_codes_lowercase() {
        assert_eq!(lang("EN").as_str(), "en");
        assert_eq!(lang("pt-BR").as_str(), "pt-br");
        assert_eq!(lang("Es-Mx").to_string(), "es-mx");
        assert_eq!(lang("EN"), lang("en"));
    }

    #[test]
    fn accepts_five_characters_with_one_hyphen_and_trims_white_space() {
        assert_eq!(lang("zh-tw").as_str(), "zh-tw");
        assert_eq!(lang("  de \n").as_str(), "de");
        assert_eq!(lang("abcde").as_str(), "abcde");
    }

    #[test]
    fn rejects_one_character_and_six_characters() {
        assert_refused(
            Language::parse,
            &["p", "pt-bra", "abcdef", ""],
            InvalidValue::NotALanguageCode,
        );
    }

    #[test]
    fn rejects_two_hyphens() {
        assert_eq!(
            Language::parse("a-b-c"),
            Err(InvalidValue::NotALanguageCode)
        );
    }

    #[test]
    fn rejects_a_leading_or_trailing_hyphen() {
        assert_refused(
            Language::parse,
            &["-pt", "pt-", "--"],
            InvalidValue::NotALanguageCode,
        );
    }

    #[test]
    fn rejects_digits_underscores_and_spaces() {
        assert_refused(
            Language::parse,
            &["p1", "419", "es-419", "pt_br", "pt br"],
            InvalidValue::NotALanguageCode,
        );
    }

    #[test]
    fn rejects_non_ascii_letters() {
        // "çã" is two characters but four bytes; neither count makes it a code.
        assert_refused(
            Language::parse,
            &["çã", "ñ", "日本", "ελ"],
            InvalidValue::NotALanguageCode,
        );
    }

    #[test]
    fn converts_to_and_from_string() {
        assert_eq!(
            String::from(Language::try_from("FR".to_owned()).unwrap()),
            "fr"
        );
        assert!(Language::try_from("f".to_owned()).is_err());
    }

    #[test]
    fn list_keeps_the_order_given() {
        let list = LanguageList::new(vec![lang("pt"), lang("en"), lang("es")]).unwrap();
        assert_eq!(codes(&list), ["pt", "en", "es"]);
    }

    #[test]
    fn list_drops_later_duplicates_case_insensitively_keeping_first_occurrence() {
        let list = LanguageList::new(vec![
            lang("en"),
            lang("PT"),
            lang("EN"),
            lang("es"),
            lang("pt"),
            lang("Pt-Br"),
            lang("pt-br"),
        ])
        .unwrap();
        assert_eq!(codes(&list), ["en", "pt", "es", "pt-br"]);
        assert_eq!(list.as_slice().len(), 4);
    }

    #[test]
    fn empty_list_is_too_few_items() {
        assert_eq!(
            LanguageList::new(Vec::new()),
            Err(InvalidValue::TooFewItems { min: 1 })
        );
    }

    #[test]
    fn twenty_distinct_languages_are_accepted_and_twenty_one_are_too_many() {
        assert_eq!(
            LanguageList::new(distinct_languages(20))
                .unwrap()
                .as_slice()
                .len(),
            20
        );
        assert_eq!(
            LanguageList::new(distinct_languages(21)),
            Err(InvalidValue::TooManyItems { max: 20 })
        );
    }

    #[test]
    fn twenty_five_copies_of_one_language_are_one_language() {
        let list = LanguageList::new(vec![lang("pt"); 25]).unwrap();
        assert_eq!(codes(&list), ["pt"]);
    }

    #[test]
    fn duplicates_do_not_count_towards_the_limit() {
        let mut languages = distinct_languages(20);
        languages.extend(distinct_languages(20));
        assert_eq!(LanguageList::new(languages).unwrap().as_slice().len(), 20);
    }

    #[test]
    fn list_contains_is_case_insensitive_through_parsing() {
        let list = LanguageList::new(vec![lang("PT-BR"), lang("en")]).unwrap();
        assert!(list.contains(&lang("pt-br")));
        assert!(list.contains(&lang("EN")));
        assert!(!list.contains(&lang("pt")));
    }
}

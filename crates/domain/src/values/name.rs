use super::invalid::{checked_text, InvalidValue};

text_newtype! {
    /// A consultant's display name: surrounding white space trimmed, 3 to 255 characters
    /// (characters, not bytes: "José Ñandú 🚀" counts 12), no control characters.
    #[derive(Hash)]
    pub struct ConsultantName(String);
}

impl ConsultantName {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        checked_text(
            raw.trim(),
            Self::MIN_CHARS,
            Self::MAX_CHARS,
            char::is_control,
            InvalidValue::ControlCharacters,
        )
        .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::tests::assert_refused;

    #[test]
    fn trims_surrounding_white_space() {
        let name = ConsultantName::parse("  \t Ana Souza \n ").unwrap();
        assert_eq!(name.as_str(), "Ana Souza");
        assert_eq!(name.to_string(), "Ana Souza");
    }

    #[test]
    fn accepts_exactly_three_characters_and_rejects_two() {
        assert_eq!(ConsultantName::parse("Ana").unwrap().as_str(), "Ana");
        assert_eq!(
            ConsultantName::parse("Al"),
            Err(InvalidValue::TooShort { min: 3 })
        );
    }

    #[test]
    fn length_is_checked_after_trimming() {
        assert_refused(
            ConsultantName::parse,
            &["   Al   ", "      ", ""],
            InvalidValue::TooShort { min: 3 },
        );
        let padded = format!("  {}  ", "a".repeat(255));
        assert_eq!(ConsultantName::parse(&padded).unwrap().as_str().len(), 255);
    }

    #[test]
    fn accepts_exactly_255_characters_and_rejects_256() {
        assert!(ConsultantName::parse(&"a".repeat(255)).is_ok());
        assert_eq!(
            ConsultantName::parse(&"a".repeat(256)),
            Err(InvalidValue::TooLong { max: 255 })
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 255 two-byte characters are 510 bytes but still 255 characters.
        assert!(ConsultantName::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            ConsultantName::parse(&"é".repeat(256)),
            Err(InvalidValue::TooLong { max: 255 })
        );
        // Two four-byte emoji are 8 bytes but only 2 characters.
        assert_eq!(
            ConsultantName::parse("🚀🚀"),
            Err(InvalidValue::TooShort { min: 3 })
        );
        assert!(ConsultantName::parse(&"🚀".repeat(255)).is_ok());
    }

    #[test]
    fn accepts_unicode_names_with_accents_and_emoji() {
        let name = ConsultantName::parse("José Ñandú 🚀").unwrap();
        assert_eq!(name.as_str(), "José Ñandú 🚀");
        assert!(ConsultantName::parse("Zoë Łukasz-Øberg").is_ok());
        assert!(ConsultantName::parse("山田太郎").is_ok());
    }

    #[test]
    fn accepts_an_emoji_only_name_of_three_characters() {
        assert_eq!(ConsultantName::parse("🚀🎉✨").unwrap().as_str(), "🚀🎉✨");
    }

    #[test]
    fn rejects_control_characters_inside_the_name() {
        for raw in [
            "Ana\u{0}Maria",
            "Ana\tMaria",
            "Ana\nMaria",
            "Ana\u{7}",
            "Ana\u{1b}[31m",
        ] {
            assert_eq!(
                ConsultantName::parse(raw),
                Err(InvalidValue::ControlCharacters),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn keeps_inner_spaces_as_typed() {
        let name = ConsultantName::parse("Maria  da   Silva").unwrap();
        assert_eq!(name.as_str(), "Maria  da   Silva");
    }

    #[test]
    fn converts_to_and_from_string() {
        let name = ConsultantName::try_from(" Bruno ".to_owned()).unwrap();
        assert_eq!(String::from(name), "Bruno");
        assert!(ConsultantName::try_from("Bo".to_owned()).is_err());
    }
}

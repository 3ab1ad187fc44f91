use super::invalid::{checked_text, InvalidValue};

text_newtype! {
    /// Free text attached to a protocol: at most 2,000 characters. Line breaks and tabs are fine;
    /// NUL is refused because PostgreSQL cannot store it in text.
    pub struct Description(String);
}

impl Description {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let refused = |c| c == '\0';
        checked_text(
            raw,
            0,
            Self::MAX_CHARS,
            refused,
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
    fn accepts_two_thousand_characters() {
        assert!(Description::parse(&"a".repeat(2000)).is_ok());
        // Characters, not bytes: 2,000 "ç" are 4,000 bytes.
        assert!(Description::parse(&"ç".repeat(2000)).is_ok());
    }

    #[test]
    fn rejects_two_thousand_and_one_characters() {
        assert_refused(
            Description::parse,
            &[&"a".repeat(2001), &"ç".repeat(2001)],
            InvalidValue::TooLong { max: 2000 },
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

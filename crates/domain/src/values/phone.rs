use super::invalid::InvalidValue;

text_newtype! {
    /// A phone number in international form: `+` followed by 10 to 15 ASCII digits, nothing else
    /// (surrounding white space is trimmed).
    #[derive(Hash)]
    pub struct Phone(String);
}

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        let digits = trimmed.strip_prefix('+').ok_or(InvalidValue::NotAPhone)?;
        if (10..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(InvalidValue::NotAPhone)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::tests::assert_refused;

    #[test]
    fn accepts_plus_and_ten_digits() {
        assert_eq!(Phone::parse("+1234567890").unwrap().as_str(), "+1234567890");
    }

    #[test]
    fn accepts_plus_and_fifteen_digits() {
        assert_eq!(
            Phone::parse("+123456789012345").unwrap().as_str(),
            "+123456789012345"
        );
        assert!(Phone::parse("+5511999999999").is_ok());
    }

    #[test]
    fn rejects_nine_digits() {
        assert_eq!(Phone::parse("+123456789"), Err(InvalidValue::NotAPhone));
    }

    #[test]
    fn rejects_sixteen_digits() {
        assert_eq!(
            Phone::parse("+1234567890123456"),
            Err(InvalidValue::NotAPhone)
        );
    }

    #[test]
    fn rejects_a_number_without_the_plus() {
        assert_refused(
            Phone::parse,
            &["5511999999999", "005511999999999"],
            InvalidValue::NotAPhone,
        );
    }

    #[test]
    fn rejects_letters_or_symbols_among_the_digits() {
        assert_refused(
            Phone::parse,
            &[
                "+55119999abcd",
                "+5511999O99999",
                "++5511999999999",
                "+55-11-99999-9999",
            ],
            InvalidValue::NotAPhone,
        );
    }

    #[test]
    fn rejects_spaces_inside_the_number() {
        assert_refused(
            Phone::parse,
            &["+55 11 99999 9999", "+ 5511999999999"],
            InvalidValue::NotAPhone,
        );
    }

    #[test]
    fn rejects_non_ascii_digits() {
        // Arabic-Indic digits are digits to Unicode, not to the contract.
        assert_eq!(Phone::parse("+٥٥١١٩٩٩٩٩٩٩٩٩"), Err(InvalidValue::NotAPhone));
    }

    #[test]
    fn trims_surrounding_white_space() {
        let phone = Phone::parse("  +5511999999999\n").unwrap();
        assert_eq!(phone.as_str(), "+5511999999999");
        assert_eq!(phone.to_string(), "+5511999999999");
    }

    #[test]
    fn rejects_an_empty_or_plus_only_value() {
        assert_refused(Phone::parse, &["", "+"], InvalidValue::NotAPhone);
    }
}

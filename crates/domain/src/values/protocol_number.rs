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
        let digits = raw
            .strip_prefix('#')
            .ok_or(InvalidValue::NotAProtocolNumber)?;
        let canonical_width = digits.len() == 5 || (digits.len() > 5 && !digits.starts_with('0'));
        if !canonical_width || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::NotAProtocolNumber);
        }
        let counter: u64 = digits
            .parse()
            .map_err(|_| InvalidValue::NotAProtocolNumber)?;
        if counter == 0 {
            return Err(InvalidValue::NotAProtocolNumber);
        }
        Ok(Self(counter))
    }
}

wire_conversions!(ProtocolNumber <=> String, |raw| raw.parse(), |number| number.to_string());

impl fmt::Display for ProtocolNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:05}", self.0)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn number(counter: i64) -> ProtocolNumber {
        ProtocolNumber::from_counter(counter).unwrap()
    }

    #[test]
    fn first_counter_displays_as_00001() {
        assert_eq!(number(1).to_string(), "#00001");
        assert_eq!(number(1).counter(), 1);
    }

    #[test]
    fn pads_the_counter_to_five_digits() {
        assert_eq!(number(42).to_string(), "#00042");
        assert_eq!(number(99_999).to_string(), "#99999");
    }

    #[test]
    fn grows_past_99999_without_truncating() {
        assert_eq!(number(100_000).to_string(), "#100000");
        assert_eq!(number(1_234_567).to_string(), "#1234567");
        assert_eq!(number(i64::MAX).to_string(), format!("#{}", i64::MAX));
    }

    #[test]
    fn rejects_a_zero_or_negative_counter() {
        assert_eq!(
            ProtocolNumber::from_counter(0),
            Err(InvalidValue::NotPositive)
        );
        assert_eq!(
            ProtocolNumber::from_counter(-1),
            Err(InvalidValue::NotPositive)
        );
        assert_eq!(
            ProtocolNumber::from_counter(i64::MIN),
            Err(InvalidValue::NotPositive)
        );
    }

    #[test]
    fn parses_what_it_displays() {
        assert_eq!("#00001".parse::<ProtocolNumber>(), Ok(number(1)));
        assert_eq!("#00042".parse::<ProtocolNumber>(), Ok(number(42)));
        assert_eq!("#99999".parse::<ProtocolNumber>(), Ok(number(99_999)));
        assert_eq!("#100000".parse::<ProtocolNumber>(), Ok(number(100_000)));
    }

    #[test]
    fn round_trips_display_and_from_str_for_many_values() {
        let values = (1..=2_000)
            .chain([
                9_999, 10_000, 99_998, 99_999, 100_000, 100_001, 999_999, 1_000_000,
            ])
            .chain([i64::MAX - 1, i64::MAX]);
        for counter in values {
            let original = number(counter);
            let text = original.to_string();
            assert_eq!(text.parse::<ProtocolNumber>(), Ok(original), "{text}");
            assert_eq!(String::from(original), text);
        }
    }

    #[test]
    fn rejects_non_canonical_and_malformed_text() {
        for raw in [
            "00042",
            "#42",
            "#0042",
            "#000042",
            "#0",
            "#00000",
            "#000000",
            "#abcde",
            "",
            "#",
            "#-0001",
            "#+0001",
            " #00042",
            "#00042 ",
            "##00042",
            "#0004２",
            "#99999999999999999999999999",
            "#18446744073709551616",
        ] {
            assert_eq!(
                raw.parse::<ProtocolNumber>(),
                Err(InvalidValue::NotAProtocolNumber),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn orders_by_counter() {
        assert!(number(99_999) < number(100_000));
        assert!(number(1) < number(2));
    }

    proptest! {
        #[test]
        fn display_then_parse_gives_back_the_same_number(counter in 1..=i64::MAX) {
            let original = number(counter);
            prop_assert_eq!(original.to_string().parse::<ProtocolNumber>(), Ok(original));
        }

        #[test]
        fn anything_that_parses_displays_exactly_as_written(raw in "#[0-9]{1,21}") {
            if let Ok(parsed) = raw.parse::<ProtocolNumber>() {
                prop_assert_eq!(parsed.to_string(), raw);
            }
        }

        #[test]
        fn displayed_numbers_have_at_least_five_digits(counter in 1..=i64::MAX) {
            let text = number(counter).to_string();
            prop_assert!(text.starts_with('#'));
            prop_assert!(text.len() >= 6);
            prop_assert!(text[1..].bytes().all(|b| b.is_ascii_digit()));
        }
    }
}

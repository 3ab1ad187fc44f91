//! Lax scalar conversions, as pydantic v2 does them for query strings and JSON strings.

use crate::validation::WireRule;

/// `true`/`false` and pydantic's lax spellings (`1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`,
/// `y`/`n`), case-insensitive, surrounding white space ignored.
pub fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["true", "1", "yes", "on", "t", "y"];
    const FALSE: [&str; 6] = ["false", "0", "no", "off", "f", "n"];
    let text = text.trim();
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// A decimal integer with an optional sign, surrounding white space ignored. Text that is an
/// integer but does not fit 64 bits is [`WireRule::IntOutOfRange`]; anything else that is not an
/// integer is [`WireRule::IntParsing`].
pub fn parse_int(text: &str) -> Result<i64, WireRule> {
    let text = text.trim();
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WireRule::IntParsing);
    }
    text.parse::<i64>().map_err(|_| WireRule::IntOutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_pydantic_spellings_in_any_case() {
        for text in ["true", "TRUE", "1", "yes", "On", " t ", "Y"] {
            assert_eq!(parse_bool(text), Some(true), "{text}");
        }
        for text in ["false", "False", "0", "no", "OFF", "f", "n"] {
            assert_eq!(parse_bool(text), Some(false), "{text}");
        }
        for text in ["", "2", "verdadeiro", "truee"] {
            assert_eq!(parse_bool(text), None, "{text}");
        }
    }

    #[test]
    fn integers_accept_signs_and_white_space_but_nothing_else() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int(" -7 "), Ok(-7));
        assert_eq!(parse_int("+007"), Ok(7));
        for text in ["", "abc", "1.0", "1e3", "--1", "0x10", "1 2"] {
            assert_eq!(parse_int(text), Err(WireRule::IntParsing), "{text}");
        }
    }

    #[test]
    fn integers_outside_64_bits_are_out_of_range() {
        assert_eq!(parse_int("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(
            parse_int("9223372036854775808"),
            Err(WireRule::IntOutOfRange)
        );
        assert_eq!(
            parse_int("-99999999999999999999"),
            Err(WireRule::IntOutOfRange)
        );
    }
}

use super::invalid::InvalidValue;

text_newtype! {
    /// An email address as people type it: trimmed, at most 255 characters, one `@` between a
    /// non-empty local part (at most 64 characters) and a domain of dot-separated labels
    /// (letters, digits, hyphens; at least two labels). No white space anywhere.
    /// Case is kept as typed; uniqueness is checked case-insensitively by the repositories.
    #[derive(Hash)]
    pub struct Email(String);
}

impl Email {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        let (local, domain) = trimmed.split_once('@').ok_or(InvalidValue::NotAnEmail)?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= 64
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '@');
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::tests::assert_refused;

    #[test]
    fn accepts_common_address_forms() {
        for raw in [
            "joao@exemplo.com",
            "joao.silva+vendas@exemplo.com.br",
            "J.Silva@Sub.Exemplo.COM",
            "a_b-c@my-domain.io",
            "x@y.z",
            "123@456.78",
        ] {
            assert_eq!(Email::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn trims_surrounding_white_space_and_keeps_case() {
        let email = Email::parse("  Ana.Souza@Exemplo.com \n").unwrap();
        assert_eq!(email.as_str(), "Ana.Souza@Exemplo.com");
        assert_eq!(email.to_string(), "Ana.Souza@Exemplo.com");
    }

    #[test]
    fn rejects_an_address_without_at_sign() {
        assert_eq!(
            Email::parse("joao.exemplo.com"),
            Err(InvalidValue::NotAnEmail)
        );
    }

    #[test]
    fn rejects_an_address_with_two_at_signs() {
        assert_refused(
            Email::parse,
            &["joao@silva@exemplo.com", "joao@@exemplo.com"],
            InvalidValue::NotAnEmail,
        );
    }

    #[test]
    fn rejects_an_empty_local_part_or_domain() {
        assert_refused(
            Email::parse,
            &["@exemplo.com", "joao@"],
            InvalidValue::NotAnEmail,
        );
        assert!(Email::parse("@").is_err());
        assert!(Email::parse("").is_err());
    }

    #[test]
    fn rejects_a_domain_without_a_dot_or_with_empty_labels() {
        assert_refused(
            Email::parse,
            &[
                "joao@localhost",
                "joao@exemplo.",
                "joao@.exemplo.com",
                "joao@exemplo..com",
            ],
            InvalidValue::NotAnEmail,
        );
    }

    #[test]
    fn rejects_domain_labels_that_start_or_end_with_a_hyphen_or_hold_symbols() {
        assert_refused(
            Email::parse,
            &[
                "joao@-exemplo.com",
                "joao@exemplo-.com",
                "joao@exem_plo.com",
                "joao@exemplo.com/x",
            ],
            InvalidValue::NotAnEmail,
        );
    }

    #[test]
    fn rejects_white_space_or_control_characters_inside() {
        assert_refused(
            Email::parse,
            &[
                "joao silva@exemplo.com",
                "joao@exem plo.com",
                "joao@exemplo. com",
                "joao\t@exemplo.com",
                "jo\u{0}ao@exemplo.com",
            ],
            InvalidValue::NotAnEmail,
        );
    }

    #[test]
    fn accepts_255_characters_and_rejects_256() {
        // 64 (local) + 1 (@) + 190 (domain) = 255 characters.
        let local = "a".repeat(64);
        let domain_of = |len: usize| {
            let mut domain = "b".repeat(len - 4);
            domain.push_str(".com");
            domain
        };
        let at_limit = format!("{local}@{}", domain_of(190));
        assert_eq!(at_limit.chars().count(), 255);
        assert!(Email::parse(&at_limit).is_ok());
        let over_limit = format!("{local}@{}", domain_of(191));
        assert_eq!(over_limit.chars().count(), 256);
        assert_eq!(
            Email::parse(&over_limit),
            Err(InvalidValue::TooLong { max: 255 })
        );
    }

    #[test]
    fn accepts_a_64_character_local_part_and_rejects_65() {
        let ok = format!("{}@exemplo.com", "a".repeat(64));
        assert!(Email::parse(&ok).is_ok());
        let too_long = format!("{}@exemplo.com", "a".repeat(65));
        assert_eq!(Email::parse(&too_long), Err(InvalidValue::NotAnEmail));
    }

    #[test]
    fn converts_to_and_from_string() {
        let email = Email::try_from("ana@exemplo.com".to_owned()).unwrap();
        assert_eq!(String::from(email), "ana@exemplo.com");
        assert!(Email::try_from("ana".to_owned()).is_err());
    }
}

//! Newtypes that parse: holding one means the value obeys its rule.

mod description;
mod email;
mod invalid;
mod language;
mod name;
mod phone;
mod pipedrive_user_id;
mod protocol_number;

pub use description::Description;
pub use email::Email;
pub use invalid::InvalidValue;
pub use language::{Language, LanguageList};
pub use name::ConsultantName;
pub use phone::Phone;
pub use pipedrive_user_id::PipedriveUserId;
pub use protocol_number::ProtocolNumber;

pub(crate) use invalid::checked_text;

#[cfg(test)]
pub(crate) mod tests {
    //! Serde checks of the newtypes, through `serde_json`: [`serde_probe`] shows what a value
    //! serializes to and feeds JSON values to `Deserialize`.

    use super::*;
    use serde_probe::{from_i64, from_str, from_strs, to_plain, Plain};

    /// JSON in and out, in the shape the tests of the crate compare, shared by them.
    pub(crate) mod serde_probe {
        use serde::de::DeserializeOwned;
        use serde::Serialize;
        use serde_json::Value;

        /// What a value looks like once serialized to JSON (objects are not compared).
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) enum Plain {
            Str(String),
            I64(i64),
            U64(u64),
            Bool(bool),
            Null,
            Seq(Vec<Plain>),
        }

        impl From<Value> for Plain {
            fn from(value: Value) -> Self {
                match value {
                    Value::String(text) => Self::Str(text),
                    Value::Number(number) => match (number.as_i64(), number.as_u64()) {
                        (Some(value), _) => Self::I64(value),
                        (None, Some(value)) => Self::U64(value),
                        _ => panic!("not a whole number: {number}"),
                    },
                    Value::Bool(value) => Self::Bool(value),
                    Value::Null => Self::Null,
                    Value::Array(items) => Self::Seq(items.into_iter().map(Self::from).collect()),
                    Value::Object(_) => panic!("an object is not a plain value"),
                }
            }
        }

        /// Serializes `value` to JSON.
        pub(crate) fn to_plain<T: Serialize + ?Sized>(value: &T) -> Plain {
            serde_json::to_value(value)
                .expect("the value serializes to JSON")
                .into()
        }

        /// Deserializes `T` from a JSON string.
        pub(crate) fn from_str<T: DeserializeOwned>(raw: &str) -> serde_json::Result<T> {
            serde_json::from_value(Value::from(raw))
        }

        /// Deserializes `T` from a JSON integer.
        pub(crate) fn from_i64<T: DeserializeOwned>(raw: i64) -> serde_json::Result<T> {
            serde_json::from_value(Value::from(raw))
        }

        /// Deserializes `T` from a JSON array of strings.
        pub(crate) fn from_strs<T: DeserializeOwned>(items: &[&str]) -> serde_json::Result<T> {
            serde_json::from_value(Value::from(items.to_vec()))
        }
    }

    /// Asserts that `parse` refuses every one of `raws` with `problem`.
    pub(crate) fn assert_refused<T: std::fmt::Debug + PartialEq>(
        parse: impl Fn(&str) -> Result<T, InvalidValue>,
        raws: &[&str],
        problem: InvalidValue,
    ) {
        for raw in raws {
            assert_eq!(parse(raw), Err(problem.clone()), "{raw:?}");
        }
    }

    fn string(raw: &str) -> Plain {
        Plain::Str(raw.to_owned())
    }

    #[test]
    fn string_newtypes_serialize_as_plain_strings() {
        let name = ConsultantName::parse("  José Ñandú 🚀 ").unwrap();
        assert_eq!(to_plain(&name), string("José Ñandú 🚀"));
        let email = Email::parse("joao@exemplo.com").unwrap();
        assert_eq!(to_plain(&email), string("joao@exemplo.com"));
        let phone = Phone::parse("+5511999999999").unwrap();
        assert_eq!(to_plain(&phone), string("+5511999999999"));
        let language = Language::parse("PT-BR").unwrap();
        assert_eq!(to_plain(&language), string("pt-br"));
        let description = Description::parse("cliente pediu retorno").unwrap();
        assert_eq!(to_plain(&description), string("cliente pediu retorno"));
    }

    #[test]
    fn protocol_number_serializes_as_its_display_text() {
        let number = ProtocolNumber::from_counter(42).unwrap();
        assert_eq!(to_plain(&number), string("#00042"));
        let big = ProtocolNumber::from_counter(100_000).unwrap();
        assert_eq!(to_plain(&big), string("#100000"));
    }

    #[test]
    fn pipedrive_user_id_serializes_as_a_plain_integer() {
        let id = PipedriveUserId::new(456).unwrap();
        assert_eq!(to_plain(&id), Plain::I64(456));
    }

    #[test]
    fn language_list_serializes_as_an_array_of_lowercase_codes() {
        let list = LanguageList::new(vec![
            Language::parse("PT").unwrap(),
            Language::parse("en").unwrap(),
        ])
        .unwrap();
        assert_eq!(
            to_plain(&list),
            Plain::Seq(vec![string("pt"), string("en")])
        );
    }

    #[test]
    fn string_newtypes_deserialize_through_their_parsers() {
        let name: ConsultantName = from_str("  Ana Souza ").unwrap();
        assert_eq!(name.as_str(), "Ana Souza");
        let email: Email = from_str("ana@exemplo.com.br").unwrap();
        assert_eq!(email.as_str(), "ana@exemplo.com.br");
        let phone: Phone = from_str("+551133334444").unwrap();
        assert_eq!(phone.as_str(), "+551133334444");
        let language: Language = from_str("EN").unwrap();
        assert_eq!(language.as_str(), "en");
        let number: ProtocolNumber = from_str("#00042").unwrap();
        assert_eq!(number.counter(), 42);
        let id: PipedriveUserId = from_i64(7).unwrap();
        assert_eq!(id.get(), 7);
    }

    #[test]
    fn deserializing_an_invalid_value_fails_for_every_newtype() {
        assert!(from_str::<ConsultantName>("ab").is_err());
        assert!(from_str::<ConsultantName>("Ana\u{0}Maria").is_err());
        assert!(from_str::<Email>("sem-arroba.com").is_err());
        assert!(from_str::<Phone>("5511999999999").is_err());
        assert!(from_str::<Language>("português").is_err());
        assert!(from_str::<ProtocolNumber>("#42").is_err());
        assert!(from_str::<ProtocolNumber>("#00000").is_err());
        assert!(from_str::<Description>(&"x".repeat(2001)).is_err());
        assert!(from_i64::<PipedriveUserId>(0).is_err());
        assert!(from_i64::<PipedriveUserId>(-3).is_err());
    }

    #[test]
    fn deserialization_error_carries_the_portuguese_rule_message() {
        let error = from_str::<ConsultantName>("ab").unwrap_err();
        assert_eq!(error.to_string(), "deve ter no mínimo 3 caracteres");
    }

    #[test]
    fn language_list_deserializes_deduplicated_and_rejects_an_empty_array() {
        let list: LanguageList = from_strs(&["pt", "EN", "PT", "en"]).unwrap();
        let codes: Vec<&str> = list.iter().map(Language::as_str).collect();
        assert_eq!(codes, ["pt", "en"]);
        assert!(from_strs::<LanguageList>(&[]).is_err());
        assert!(from_strs::<LanguageList>(&["pt", "x"]).is_err());
    }
}

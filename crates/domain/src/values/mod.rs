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

pub(crate) use invalid::check_length as check_length_public;

#[cfg(test)]
pub(crate) mod tests {
    //! Serde checks of the newtypes, without a data-format crate: [`serde_probe`] captures what a
    //! value serializes to and feeds plain values to `Deserialize` the way a JSON parser would.

    use super::*;
    use serde_probe::{from_i64, from_str, from_strs, to_plain, Plain};

    /// A minimal serializer and JSON-like deserializers, shared by the tests of the crate.
    pub(crate) mod serde_probe {
        use serde::de::value::{BorrowedStrDeserializer, Error, SeqDeserializer};
        use serde::de::{Deserialize, Deserializer, IntoDeserializer, Visitor};
        use serde::ser::{Impossible, Serialize, SerializeSeq, Serializer};

        /// What a value looks like once serialized.
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) enum Plain {
            Str(String),
            I64(i64),
            U64(u64),
            Bool(bool),
            Null,
            Seq(Vec<Plain>),
        }

        /// Serializes `value` the way a self-describing format (JSON) sees it: newtype structs are
        /// transparent, unit variants are their names.
        pub(crate) fn to_plain<T: Serialize + ?Sized>(value: &T) -> Plain {
            value
                .serialize(Probe)
                .expect("the value serializes to a plain value")
        }

        /// Deserializes `T` from a JSON-like string value.
        pub(crate) fn from_str<'de, T: Deserialize<'de>>(raw: &'de str) -> Result<T, Error> {
            T::deserialize(JsonStr(raw))
        }

        /// Deserializes `T` from a JSON-like integer value.
        pub(crate) fn from_i64<'de, T: Deserialize<'de>>(raw: i64) -> Result<T, Error> {
            T::deserialize(JsonI64(raw))
        }

        /// Deserializes `T` from a JSON-like array of strings.
        pub(crate) fn from_strs<'de, T: Deserialize<'de>>(items: &[&'de str]) -> Result<T, Error> {
            let seq: SeqDeserializer<_, Error> =
                SeqDeserializer::new(items.iter().map(|item| JsonStr(item)));
            T::deserialize(seq)
        }

        /// A string value that, like serde_json, lets a newtype struct see through to it.
        #[derive(Debug, Clone, Copy)]
        struct JsonStr<'de>(&'de str);

        impl<'de> IntoDeserializer<'de, Error> for JsonStr<'de> {
            type Deserializer = Self;
            fn into_deserializer(self) -> Self {
                self
            }
        }

        impl<'de> Deserializer<'de> for JsonStr<'de> {
            type Error = Error;

            fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                visitor.visit_borrowed_str(self.0)
            }

            fn deserialize_newtype_struct<V: Visitor<'de>>(
                self,
                _name: &'static str,
                visitor: V,
            ) -> Result<V::Value, Error> {
                visitor.visit_newtype_struct(self)
            }

            fn deserialize_enum<V: Visitor<'de>>(
                self,
                name: &'static str,
                variants: &'static [&'static str],
                visitor: V,
            ) -> Result<V::Value, Error> {
                BorrowedStrDeserializer::<Error>::new(self.0)
                    .deserialize_enum(name, variants, visitor)
            }

            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
                bytes byte_buf option unit unit_struct seq tuple
                tuple_struct map struct identifier ignored_any
            }
        }

        /// An integer value that, like serde_json, lets a newtype struct see through to it.
        #[derive(Debug, Clone, Copy)]
        struct JsonI64(i64);

        impl<'de> Deserializer<'de> for JsonI64 {
            type Error = Error;

            fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                visitor.visit_i64(self.0)
            }

            fn deserialize_newtype_struct<V: Visitor<'de>>(
                self,
                _name: &'static str,
                visitor: V,
            ) -> Result<V::Value, Error> {
                visitor.visit_newtype_struct(self)
            }

            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
                bytes byte_buf option unit unit_struct seq tuple
                tuple_struct map struct enum identifier ignored_any
            }
        }

        struct Probe;

        struct SeqProbe(Vec<Plain>);

        impl SerializeSeq for SeqProbe {
            type Ok = Plain;
            type Error = Error;
            fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.0.push(value.serialize(Probe)?);
                Ok(())
            }
            fn end(self) -> Result<Plain, Error> {
                Ok(Plain::Seq(self.0))
            }
        }

        fn unsupported<T>(what: &str) -> Result<T, Error> {
            Err(serde::ser::Error::custom(format!(
                "the probe does not capture {what}"
            )))
        }

        impl Serializer for Probe {
            type Ok = Plain;
            type Error = Error;
            type SerializeSeq = SeqProbe;
            type SerializeTuple = Impossible<Plain, Error>;
            type SerializeTupleStruct = Impossible<Plain, Error>;
            type SerializeTupleVariant = Impossible<Plain, Error>;
            type SerializeMap = Impossible<Plain, Error>;
            type SerializeStruct = Impossible<Plain, Error>;
            type SerializeStructVariant = Impossible<Plain, Error>;

            fn serialize_bool(self, v: bool) -> Result<Plain, Error> {
                Ok(Plain::Bool(v))
            }
            fn serialize_i8(self, v: i8) -> Result<Plain, Error> {
                Ok(Plain::I64(v.into()))
            }
            fn serialize_i16(self, v: i16) -> Result<Plain, Error> {
                Ok(Plain::I64(v.into()))
            }
            fn serialize_i32(self, v: i32) -> Result<Plain, Error> {
                Ok(Plain::I64(v.into()))
            }
            fn serialize_i64(self, v: i64) -> Result<Plain, Error> {
                Ok(Plain::I64(v))
            }
            fn serialize_u8(self, v: u8) -> Result<Plain, Error> {
                Ok(Plain::U64(v.into()))
            }
            fn serialize_u16(self, v: u16) -> Result<Plain, Error> {
                Ok(Plain::U64(v.into()))
            }
            fn serialize_u32(self, v: u32) -> Result<Plain, Error> {
                Ok(Plain::U64(v.into()))
            }
            fn serialize_u64(self, v: u64) -> Result<Plain, Error> {
                Ok(Plain::U64(v))
            }
            fn serialize_f32(self, _v: f32) -> Result<Plain, Error> {
                unsupported("floats")
            }
            fn serialize_f64(self, _v: f64) -> Result<Plain, Error> {
                unsupported("floats")
            }
            fn serialize_char(self, v: char) -> Result<Plain, Error> {
                Ok(Plain::Str(v.to_string()))
            }
            fn serialize_str(self, v: &str) -> Result<Plain, Error> {
                Ok(Plain::Str(v.to_owned()))
            }
            fn serialize_bytes(self, _v: &[u8]) -> Result<Plain, Error> {
                unsupported("bytes")
            }
            fn serialize_none(self) -> Result<Plain, Error> {
                Ok(Plain::Null)
            }
            fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Plain, Error> {
                value.serialize(self)
            }
            fn serialize_unit(self) -> Result<Plain, Error> {
                Ok(Plain::Null)
            }
            fn serialize_unit_struct(self, _name: &'static str) -> Result<Plain, Error> {
                Ok(Plain::Null)
            }
            fn serialize_unit_variant(
                self,
                _name: &'static str,
                _index: u32,
                variant: &'static str,
            ) -> Result<Plain, Error> {
                Ok(Plain::Str(variant.to_owned()))
            }
            fn serialize_newtype_struct<T: Serialize + ?Sized>(
                self,
                _name: &'static str,
                value: &T,
            ) -> Result<Plain, Error> {
                value.serialize(self)
            }
            fn serialize_newtype_variant<T: Serialize + ?Sized>(
                self,
                _name: &'static str,
                _index: u32,
                _variant: &'static str,
                _value: &T,
            ) -> Result<Plain, Error> {
                unsupported("newtype variants")
            }
            fn serialize_seq(self, len: Option<usize>) -> Result<SeqProbe, Error> {
                Ok(SeqProbe(Vec::with_capacity(len.unwrap_or(0))))
            }
            fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
                unsupported("tuples")
            }
            fn serialize_tuple_struct(
                self,
                _name: &'static str,
                _len: usize,
            ) -> Result<Self::SerializeTupleStruct, Error> {
                unsupported("tuple structs")
            }
            fn serialize_tuple_variant(
                self,
                _name: &'static str,
                _index: u32,
                _variant: &'static str,
                _len: usize,
            ) -> Result<Self::SerializeTupleVariant, Error> {
                unsupported("tuple variants")
            }
            fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
                unsupported("maps")
            }
            fn serialize_struct(
                self,
                _name: &'static str,
                _len: usize,
            ) -> Result<Self::SerializeStruct, Error> {
                unsupported("structs")
            }
            fn serialize_struct_variant(
                self,
                _name: &'static str,
                _index: u32,
                _variant: &'static str,
                _len: usize,
            ) -> Result<Self::SerializeStructVariant, Error> {
                unsupported("struct variants")
            }
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

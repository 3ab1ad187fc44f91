//! Wire DTOs: Portuguese field names on the wire, English in the code. Request DTOs are read
//! from a JSON object by [`crate::input::ObjectReader`], checked with `validator` for shapes, then
//! parsed into domain types; every failure lands in the same 422 list.

pub mod api_key;
pub mod audit;
pub mod consultant;
pub mod consultant_json;
pub mod health;
pub mod outbound;
pub mod pipedrive;
pub mod protocol;
pub mod queue;
pub mod report;
pub mod rotation;
pub mod routing_rules;
pub mod time;

use serde_json::Value;
use validator::Validate;

/// Declares the OpenAPI schema of a domain enum's wire names: a `$wire` type whose schema (named
/// `$name`, described by its doc comment) is a string `enum` of `$domain::names()`, the names the
/// domain itself parses and prints, so the document cannot list other values than the code.
/// Several declarations in one invocation are separated by `;`.
macro_rules! wire_enum_schema {
    ($($(#[doc = $doc:literal])+ $wire:ident as $name:literal = $domain:ty);+ $(;)?) => {
        $($crate::dto::wire_enum_schema!(@one $(#[doc = $doc])+ $wire as $name = $domain);)+
    };
    (@one $(#[doc = $doc:literal])+ $wire:ident as $name:literal = $domain:ty) => {
        $(#[doc = $doc])+
        #[derive(Debug, Clone, Copy)]
        pub struct $wire;

        impl utoipa::PartialSchema for $wire {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let description: Vec<&str> = [$($doc),+].iter().map(|line| line.trim()).collect();
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(description.join("\n")))
                    .enum_values(Some(<$domain>::names().iter().copied()))
                    .into()
            }
        }

        impl utoipa::ToSchema for $wire {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}
pub(crate) use wire_enum_schema;

use crate::input::{JsonBody, ObjectReader};
use crate::validation::{record_validator_errors, Place, Problems};

/// Which wire name each Rust field of a request DTO has, in the declared order of the wire.
pub(crate) trait WireFields {
    /// `(rust field, wire field)` pairs.
    const FIELDS: &'static [(&'static str, &'static str)];

    /// The wire name of a Rust field.
    fn wire_name(field: &str) -> Option<&'static str> {
        Self::FIELDS
            .iter()
            .find(|(rust, _)| *rust == field)
            .map(|(_, wire)| *wire)
    }

    /// The wire names, in order.
    fn wire_order() -> Vec<&'static str> {
        Self::FIELDS.iter().map(|(_, wire)| *wire).collect()
    }

    /// What `parse` reads from `body`, the body's problems then ordered as the wire declares
    /// the fields.
    fn read_in_order<T>(
        body: &JsonBody,
        problems: &mut Problems,
        parse: impl FnOnce(&JsonBody, &mut Problems) -> Option<T>,
    ) -> Option<T> {
        let value = parse(body, problems);
        problems.order_fields(Place::Body, &Self::wire_order());
        value
    }
}

/// Runs the DTO's `validator` rules, recording failures under their wire names.
pub(crate) fn check_shape<T: Validate + WireFields>(dto: &T, reader: &mut ObjectReader<'_>) {
    if let Err(errors) = dto.validate() {
        let raw: Vec<(&'static str, Value)> = T::FIELDS
            .iter()
            .map(|(_, wire)| (*wire, reader.raw(wire)))
            .collect();
        let input = |wire: &str| {
            raw.iter()
                .find(|(name, _)| *name == wire)
                .map_or(Value::Null, |(_, value)| value.clone())
        };
        record_validator_errors(&errors, Place::Body, T::wire_name, input, reader.problems());
    }
}

/// Trims text fields the way the domain does, so length rules count what will be stored.
pub(crate) fn trimmed(text: String) -> String {
    let trimmed = text.trim();
    if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    }
}

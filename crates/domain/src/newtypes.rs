//! The shape every parsing newtype shares, declared once: [`wire_conversions!`] writes the pair
//! of conversions serde's `#[serde(try_from = "…", into = "…")]` goes through, and
//! [`text_newtype!`] declares a text value whose only rule is its `parse` (written beside it):
//! the derives, serde through that `parse`, `as_str`, `Display` and the conversions from and to
//! `String`.

/// `TryFrom<$wire>` by `$parse` (refusing with an [`InvalidValue`](crate::values::InvalidValue))
/// and `From<$name> for $wire` by `$give`.
macro_rules! wire_conversions {
    ($name:ident <=> $wire:ty, |$raw:ident| $parse:expr, |$value:ident| $give:expr) => {
        impl TryFrom<$wire> for $name {
            type Error = $crate::values::InvalidValue;
            fn try_from($raw: $wire) -> Result<Self, Self::Error> {
                $parse
            }
        }

        impl From<$name> for $wire {
            fn from($value: $name) -> Self {
                $give
            }
        }
    };
}

/// A `String` newtype that only `Self::parse(&str) -> Result<Self, InvalidValue>` builds: the
/// declaration as written (doc, visibility, extra derives) with `Debug`, `Clone`, `PartialEq`,
/// `Eq`, serde through `parse`, `as_str` and `Display` added.
macro_rules! text_newtype {
    (
        $(#[$attribute:meta])*
        $visibility:vis struct $name:ident(String);
    ) => {
        $(#[$attribute])*
        #[derive(Debug, Clone, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        $visibility struct $name(String);

        impl $name {
            /// The text as parsed.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        wire_conversions!($name <=> String, |raw| Self::parse(&raw), |value| value.0);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

//! One declaration per enum of wire names: [`wire_names!`] takes the enum as written (doc,
//! name, extra derives, variants each with its wire and database name in
//! `#[strum(serialize = "...")]`), adds the derives every such enum shares (`Debug`, `Clone`,
//! `Copy`, `PartialEq`, `Eq`, `Hash`, serde through the wire name, strum's `IntoStaticStr`,
//! `EnumIter` and `VariantNames`) and derives the rest from those: `as_str`, `all`, `names`,
//! `allowed`, `FromStr` (refusing with the list of names), `Display` and the `TryFrom<String>`
//! serde reads with.

/// See the [module](self).
macro_rules! wire_names {
    (
        $(#[$attribute:meta])*
        $visibility:vis enum $name:ident { $($variants:tt)* }
    ) => {
        $(#[$attribute])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
            ::strum::IntoStaticStr,
            ::strum::EnumIter,
            ::strum::VariantNames,
        )]
        #[serde(into = "&'static str", try_from = "String")]
        $visibility enum $name { $($variants)* }

        impl $name {
            /// The wire (and database) name.
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// Every value, in declaration order.
            pub fn all() -> <Self as strum::IntoEnumIterator>::Iterator {
                <Self as strum::IntoEnumIterator>::iter()
            }

            /// Every wire name, in declaration order (the OpenAPI `enum` lists these).
            pub fn names() -> &'static [&'static str] {
                <Self as strum::VariantNames>::VARIANTS
            }

            /// The wire names, comma-separated, as error messages list them.
            pub fn allowed() -> &'static str {
                static ALLOWED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                ALLOWED.get_or_init(|| Self::names().join(", "))
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::values::InvalidValue;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::all().find(|value| value.as_str() == raw).ok_or(
                    $crate::values::InvalidValue::NotAllowed {
                        allowed: Self::allowed(),
                    },
                )
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::values::InvalidValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                raw.parse()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Asserts that every value of a [`wire_names!`] enum parses from its wire name, prints it, and
/// goes through serde as that name and back.
#[cfg(test)]
macro_rules! assert_wire_names_round_trip {
    ($name:ty) => {
        for value in <$name>::all() {
            use $crate::values::tests::serde_probe::{from_str, to_plain, Plain};
            let wire_name = value.as_str();
            assert_eq!(wire_name.parse::<$name>(), Ok(value));
            assert_eq!(value.to_string(), wire_name);
            assert_eq!(to_plain(&value), Plain::Str(wire_name.to_owned()));
            assert_eq!(from_str::<$name>(wire_name).unwrap(), value);
        }
    };
}

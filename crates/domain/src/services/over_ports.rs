//! The shapes services share, declared once: a `Debug` that hides the ports, and a service that
//! holds only its ports.

/// `Debug` for a service: its name and the listed fields (settings, never ports).
macro_rules! service_debug {
    ($name:ident $(, $field:ident)*) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

/// Declares a service over its ports (and settings): the struct as written (doc, name, fields,
/// with `Arc` in scope for the ports), `Clone`, a `Debug` that names the service and shows only
/// the fields listed after `showing`, and `new(fields…)` taking them in field order.
macro_rules! service_over_ports {
    (
        $(#[$attribute:meta])*
        pub struct $name:ident {
            $($field:ident: $type:ty),+ $(,)?
        }
        $(showing $($shown:ident),+)?
    ) => {
        $(#[$attribute])*
        #[derive(Clone)]
        pub struct $name {
            $($field: $type,)+
        }

        service_debug!($name $($(, $shown)+)?);

        impl $name {
            /// The service over these parts.
            pub fn new($($field: $type),+) -> Self {
                Self { $($field),+ }
            }
        }
    };
}

/// A new `$mock` whose one call of `$expect` answers `$answer` (the closure's arguments are the
/// call's).
#[cfg(test)]
macro_rules! answering_once {
    ($mock:ty, $expect:ident, |$($argument:tt),*| $answer:expr) => {{
        let mut mock = <$mock>::new();
        mock.$expect()
            .times(1)
            .return_once(move |$($argument),*| $answer);
        mock
    }};
}

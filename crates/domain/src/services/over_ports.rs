//! The shape of a service that holds only its ports, declared once.

/// Declares a service over its ports: the struct as written (doc, name, each field an
/// `Arc<dyn Port>`, with `Arc` in scope), `Clone`, a `Debug` that names the service and hides the ports, and
/// `new(ports…)` taking them in field order.
macro_rules! service_over_ports {
    (
        $(#[$attribute:meta])*
        pub struct $name:ident {
            $($field:ident: Arc<dyn $port:ident>),+ $(,)?
        }
    ) => {
        $(#[$attribute])*
        #[derive(Clone)]
        pub struct $name {
            $($field: Arc<dyn $port>,)+
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl $name {
            /// The service over these ports.
            pub fn new($($field: Arc<dyn $port>),+) -> Self {
                Self { $($field),+ }
            }
        }
    };
}

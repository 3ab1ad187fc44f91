//! Who may call what. Each operation declares it in its own `#[utoipa::path]` attribute, beside
//! its method and path: `security(("api-key" = [...]))` lists the key scopes it accepts,
//! `security(())` makes it public, `security(("pipedrive-webhook" = []))` leaves it to the
//! handler's HTTP basic auth, and `/metrics` adds the `x-public-when-configured` extension. The
//! enforcement ([`crate::auth::Require`], wrapped around each route) and the OpenAPI document
//! both read that declaration through [`Access::of_operation`]. An operation with no `security`
//! at all needs `admin` (fail closed).

use consultores_domain::ApiKeyScope;
use utoipa::openapi::path::Operation;

/// The name of the `api-key` security scheme.
pub const SECURITY_SCHEME: &str = "api-key";

/// The name of the basic-auth scheme of `POST /webhooks/pipedrive`.
pub const WEBHOOK_SECURITY_SCHEME: &str = "pipedrive-webhook";

/// The extension that marks `/metrics`: public when the settings say so.
pub const PUBLIC_WHEN_CONFIGURED: &str = "x-public-when-configured";

/// What a route needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No key at all (`/health`, `/ready`, the docs).
    Public,
    /// `/metrics`: public when the settings say so, otherwise like [`Access::Scopes`].
    Metrics(Vec<ApiKeyScope>),
    /// A key whose scope is one of these.
    Scopes(Vec<ApiKeyScope>),
    /// No `api-key`: HTTP basic auth with the credentials configured for the route, checked by
    /// its handler (`POST /webhooks/pipedrive`, called by Pipedrive, which cannot send a key).
    BasicAuth,
}

impl Access {
    /// Only `admin`: what an operation that declares nothing needs.
    pub fn admin() -> Self {
        Self::Scopes(vec![ApiKeyScope::Admin])
    }

    /// The access an operation declares in its `security` (and extensions). A scope name that
    /// is not a scope is left out (fail closed).
    pub fn of_operation(operation: &Operation) -> Self {
        let Some(requirements) = &operation.security else {
            return Self::admin();
        };
        let mut scopes: Vec<ApiKeyScope> = Vec::new();
        let mut basic = false;
        for requirement in requirements {
            let Ok(serde_json::Value::Object(schemes)) = serde_json::to_value(requirement) else {
                continue;
            };
            for (scheme, names) in schemes {
                match scheme.as_str() {
                    SECURITY_SCHEME => scopes.extend(
                        names
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|name| name.as_str()?.parse::<ApiKeyScope>().ok()),
                    ),
                    WEBHOOK_SECURITY_SCHEME => basic = true,
                    _ => {}
                }
            }
        }
        let public_when_configured = operation
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.contains_key(PUBLIC_WHEN_CONFIGURED));
        if basic {
            Self::BasicAuth
        } else if public_when_configured {
            Self::Metrics(scopes)
        } else if requirements.iter().all(is_empty) && !requirements.is_empty() {
            Self::Public
        } else if scopes.is_empty() {
            Self::admin()
        } else {
            Self::Scopes(scopes)
        }
    }

    /// The scopes that may call a route with this access when a key is required.
    pub fn scopes(&self) -> &[ApiKeyScope] {
        match self {
            Self::Public | Self::BasicAuth => &[],
            Self::Metrics(scopes) | Self::Scopes(scopes) => scopes,
        }
    }
}

fn is_empty(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement)
        .ok()
        .and_then(|value| value.as_object().map(serde_json::Map::is_empty))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::extensions::ExtensionsBuilder;
    use utoipa::openapi::security::SecurityRequirement;

    use super::*;

    fn operation(security: Option<Vec<SecurityRequirement>>) -> Operation {
        let mut operation = Operation::new();
        operation.security = security;
        operation
    }

    #[test]
    fn an_operation_that_declares_nothing_needs_admin() {
        assert_eq!(Access::of_operation(&operation(None)), Access::admin());
    }

    #[test]
    fn the_declared_scopes_are_read_in_order_and_unknown_names_are_dropped() {
        let declared = operation(Some(vec![SecurityRequirement::new(
            SECURITY_SCHEME,
            ["distribuicao", "root", "admin"],
        )]));
        assert_eq!(
            Access::of_operation(&declared),
            Access::Scopes(vec![ApiKeyScope::Distribution, ApiKeyScope::Admin])
        );
        let nothing_known = operation(Some(vec![SecurityRequirement::new(
            SECURITY_SCHEME,
            ["root"],
        )]));
        assert_eq!(Access::of_operation(&nothing_known), Access::admin());
    }

    #[test]
    fn public_basic_auth_and_metrics_are_told_apart() {
        let public = operation(Some(vec![SecurityRequirement::default()]));
        assert_eq!(Access::of_operation(&public), Access::Public);
        let webhook = operation(Some(vec![SecurityRequirement::new(
            WEBHOOK_SECURITY_SCHEME,
            Vec::<String>::new(),
        )]));
        assert_eq!(Access::of_operation(&webhook), Access::BasicAuth);
        let mut metrics = operation(Some(vec![SecurityRequirement::new(
            SECURITY_SCHEME,
            ["leitura"],
        )]));
        metrics.extensions = Some(
            ExtensionsBuilder::new()
                .add(PUBLIC_WHEN_CONFIGURED, serde_json::json!(true))
                .build(),
        );
        assert_eq!(
            Access::of_operation(&metrics),
            Access::Metrics(vec![ApiKeyScope::Read])
        );
    }
}

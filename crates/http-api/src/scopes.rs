//! Who may call what: THE scope table. Every route of the service has one row here; a route with
//! no row is refused to every key but `admin` (fail closed), and a test fails until the row is
//! written. The OpenAPI document's security requirements are generated from this table.

use actix_web::http::Method;
use consultores_domain::ApiKeyScope;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key at all (`/health`, `/ready`, the docs).
    Public,
    /// `/metrics`: public when the settings say so, otherwise like [`READ`].
    Metrics,
    /// A key whose scope is one of these.
    Scopes(&'static [ApiKeyScope]),
    /// No `api-key`: HTTP basic auth with the credentials configured for the route, checked by
    /// its handler (`POST /webhooks/pipedrive`, called by Pipedrive, which cannot send a key).
    BasicAuth,
}

/// Only `admin`.
pub const ADMIN: &[ApiKeyScope] = &[ApiKeyScope::Admin];
/// The rotation and protocols: `admin` and `distribuicao`.
pub const DISTRIBUTION: &[ApiKeyScope] = &[ApiKeyScope::Admin, ApiKeyScope::Distribuicao];
/// Reading: every scope.
pub const READ: &[ApiKeyScope] = &[
    ApiKeyScope::Admin,
    ApiKeyScope::Distribuicao,
    ApiKeyScope::Leitura,
];

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct RouteAccess {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn row(method: &'static str, path: &'static str, access: Access) -> RouteAccess {
    RouteAccess {
        method,
        path,
        access,
    }
}

/// The scope table.
pub const ACCESS_TABLE: &[RouteAccess] = &[
    // Consultants: reading for all, changes for admin only.
    row("GET", "/consultores", Access::Scopes(READ)),
    row("POST", "/consultor", Access::Scopes(ADMIN)),
    row("GET", "/consultor/da-vez", Access::Scopes(DISTRIBUTION)),
    row("GET", "/consultor/{consultor_id}", Access::Scopes(READ)),
    row("PUT", "/consultor/{consultor_id}", Access::Scopes(ADMIN)),
    row("DELETE", "/consultor/{consultor_id}", Access::Scopes(ADMIN)),
    row(
        "PUT",
        "/consultor/{consultor_id}/connection",
        Access::Scopes(ADMIN),
    ),
    // An operational view (who is online, who switched them), not the audit trail: every
    // scope, like every other read of consultants.
    row(
        "GET",
        "/consultor/{consultor_id}/historico-conexao",
        Access::Scopes(READ),
    ),
    // Protocols: the rotation's clients open and edit them.
    row("GET", "/protocolos", Access::Scopes(READ)),
    row("GET", "/protocolo/{protocolo_id}", Access::Scopes(READ)),
    row(
        "PUT",
        "/protocolo/{protocolo_id}",
        Access::Scopes(DISTRIBUTION),
    ),
    row("GET", "/gerar-protocolo", Access::Scopes(DISTRIBUTION)),
    row("POST", "/protocolo", Access::Scopes(DISTRIBUTION)),
    // The waiting queue: the rotation's clients queue and cancel contacts; everyone reads.
    row("POST", "/fila", Access::Scopes(DISTRIBUTION)),
    row("GET", "/fila", Access::Scopes(READ)),
    row("GET", "/fila/{fila_id}", Access::Scopes(READ)),
    row("DELETE", "/fila/{fila_id}", Access::Scopes(DISTRIBUTION)),
    // Keys: admin only, reading included (the list shows who can do what).
    row("POST", "/api-keys", Access::Scopes(ADMIN)),
    row("GET", "/api-keys", Access::Scopes(ADMIN)),
    row("DELETE", "/api-keys/{api_key_id}", Access::Scopes(ADMIN)),
    // The audit trail: admin only (it names every key and what each did).
    row("GET", "/auditoria", Access::Scopes(ADMIN)),
    // Reports: counts per consultant, every scope (like every other read of consultants).
    row("GET", "/relatorios/atribuicoes", Access::Scopes(READ)),
    // Pipedrive's webhooks: its own basic-auth credentials, no key (Pipedrive cannot send one).
    row("POST", "/webhooks/pipedrive", Access::BasicAuth),
    // Outbound webhooks: admin only (a subscription receives every assignment).
    row("POST", "/webhooks", Access::Scopes(ADMIN)),
    row("GET", "/webhooks", Access::Scopes(ADMIN)),
    row("DELETE", "/webhooks/{webhook_id}", Access::Scopes(ADMIN)),
    row(
        "GET",
        "/webhooks/{webhook_id}/entregas",
        Access::Scopes(ADMIN),
    ),
    // Operations.
    row("GET", "/health", Access::Public),
    row("GET", "/ready", Access::Public),
    row("GET", "/metrics", Access::Metrics),
    row("GET", "/openapi.json", Access::Public),
    row("GET", "/docs", Access::Public),
    row("GET", "/docs/{tail:.*}", Access::Public),
];

/// The access of a route; a route missing from the table needs `admin`.
pub fn access_of(method: &Method, path: &str) -> Access {
    let method = if *method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ACCESS_TABLE
        .iter()
        .find(|row| row.method == method && row.path == path)
        .map_or(Access::Scopes(ADMIN), |row| row.access)
}

/// Whether a route is in the table at all.
pub fn is_listed(method: &Method, path: &str) -> bool {
    ACCESS_TABLE
        .iter()
        .any(|row| row.method == method.as_str() && row.path == path)
}

impl Access {
    /// The scopes that may call a route with this access when a key is required.
    pub fn scopes(self) -> &'static [ApiKeyScope] {
        match self {
            Self::Public | Self::BasicAuth => &[],
            Self::Metrics => READ,
            Self::Scopes(scopes) => scopes,
        }
    }
}

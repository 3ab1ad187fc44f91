//! The endpoints: one file per resource family, thin handlers (DTO → domain → service → DTO),
//! and the one list that registers them.

pub mod api_keys;
pub mod audit;
pub mod consultants;
pub mod docs;
pub mod fallback;
pub mod health;
pub mod metrics;
pub mod outbound;
pub mod protocols;
pub mod queue;
pub mod reports;
pub mod rotation;
pub mod table;
pub mod webhooks;

use actix_web::http::Method;

pub use table::{Endpoint, RouteTable};

/// Every endpoint of the service, in routing order. `/consultor/da-vez` comes before
/// `/consultor/{consultor_id}` so the rotation is not taken for a consultant id. Every GET that
/// changes state is declared with [`Endpoint::changing_state`] (HEAD there is a 405).
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(Method::GET, "/consultores", consultants::list),
        Endpoint::new(Method::POST, "/consultor", consultants::create),
        Endpoint::changing_state("/consultor/da-vez", rotation::assign_next),
        Endpoint::new(Method::GET, "/consultor/{consultor_id}", consultants::get),
        Endpoint::new(
            Method::PUT,
            "/consultor/{consultor_id}",
            consultants::update,
        ),
        Endpoint::new(
            Method::DELETE,
            "/consultor/{consultor_id}",
            consultants::delete,
        ),
        Endpoint::new(
            Method::PUT,
            "/consultor/{consultor_id}/connection",
            consultants::connection,
        ),
        Endpoint::new(
            Method::GET,
            "/consultor/{consultor_id}/historico-conexao",
            audit::connection_history,
        ),
        Endpoint::new(Method::GET, "/protocolos", protocols::list),
        Endpoint::new(Method::GET, "/protocolo/{protocolo_id}", protocols::get),
        Endpoint::new(Method::PUT, "/protocolo/{protocolo_id}", protocols::update),
        Endpoint::changing_state("/gerar-protocolo", protocols::generate),
        Endpoint::new(Method::POST, "/protocolo", protocols::create),
        Endpoint::new(Method::POST, "/fila", queue::create),
        Endpoint::new(Method::GET, "/fila", queue::list),
        Endpoint::new(Method::GET, "/fila/{fila_id}", queue::get),
        Endpoint::new(Method::DELETE, "/fila/{fila_id}", queue::cancel),
        Endpoint::new(Method::POST, "/api-keys", api_keys::create),
        Endpoint::new(Method::GET, "/api-keys", api_keys::list),
        Endpoint::new(Method::DELETE, "/api-keys/{api_key_id}", api_keys::revoke),
        Endpoint::new(Method::GET, "/auditoria", audit::list),
        Endpoint::new(Method::GET, "/relatorios/atribuicoes", reports::assignments),
        Endpoint::new(Method::POST, "/webhooks/pipedrive", webhooks::pipedrive),
        Endpoint::new(Method::POST, "/webhooks", outbound::create),
        Endpoint::new(Method::GET, "/webhooks", outbound::list),
        Endpoint::new(Method::DELETE, "/webhooks/{webhook_id}", outbound::remove),
        Endpoint::new(
            Method::GET,
            "/webhooks/{webhook_id}/entregas",
            outbound::deliveries,
        ),
        Endpoint::new(Method::GET, "/health", health::health),
        Endpoint::new(Method::GET, "/ready", health::ready),
        Endpoint::new(Method::GET, "/metrics", metrics::scrape),
        Endpoint::new(Method::GET, docs::OPENAPI_PATH, docs::openapi_json),
        Endpoint::new(Method::GET, "/docs", docs::index),
        Endpoint::new(Method::GET, "/docs/{tail:.*}", docs::asset),
    ]
}

/// The paths served for the documentation itself, which the OpenAPI document does not list.
pub const DOCUMENTATION_PATHS: &[&str] = &[docs::OPENAPI_PATH, "/docs", "/docs/{tail:.*}"];

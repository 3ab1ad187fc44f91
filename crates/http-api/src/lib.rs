//! The HTTP adapter of the consultores service: the v6-compatible REST API on actix-web.
//!
//! - [`build_server`] binds the application to a listener; [`app`] is the same application for
//!   actix's test harness.
//! - [`ApiState`] holds the domain services and ports; [`HttpSettings`] the keys, limits and
//!   timeouts.
//! - [`openapi`] is the OpenAPI 3.1 document served at `/openapi.json`, collected from the
//!   routes' registration ([`routes::register`]).
//! - [`PipedriveIntegration`] switches on the Pipedrive parts ([`ApiState::with_pipedrive`]).
//!
//! Wire names are Portuguese (v6's contract); the code is English.

pub mod auth;
pub mod auth_costs;
pub mod blocking;
pub mod caller;
pub mod clock_skew;
pub mod dto;
pub mod error_body;
pub mod errors;
pub mod extractor_errors;
pub mod head;
pub mod idempotency;
pub mod input;
pub mod local_days;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod pipedrive;
pub mod redact;
pub mod request_id;
pub mod request_metrics;
pub mod route_table;
pub mod routes;
pub mod scopes;
pub mod server;
pub mod settings;
pub mod state;
pub mod validation;

pub use auth_costs::AuthCosts;
pub use errors::ApiError;
pub use pipedrive::{BasicCredentials, PipedriveIntegration, WebhookIntake};
pub use routes::openapi;
pub use server::{app, app_with, build_server, build_server_with};
pub use settings::HttpSettings;
pub use state::{ApiState, WebhookApi};

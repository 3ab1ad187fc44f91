//! The Pipedrive adapter of the consultores service.
//!
//! - [`PipedriveClient`] implements the domain's [`consultores_domain::CrmGateway`] port against
//!   Pipedrive's REST API (blocking; called from the background delivery worker), and adds the
//!   calls operators need: [`PipedriveClient::register_webhook`],
//!   [`PipedriveClient::list_webhooks`], [`PipedriveClient::field_options`].
//! - Errors are classified into [`consultores_domain::CrmError`]: `Transient` (network, timeout,
//!   429, 5xx; with the wait Pipedrive asked for) or `Permanent` (400, 401, 403, 404, 410, 422, …).
//! - [`RateLimit`] is the budget Pipedrive reported on the latest answer
//!   ([`PipedriveClient::last_rate_limit`]), so the worker can pause before a 429.
//! - [`Backoff`] is the retry schedule; [`WebhookEvent`] parses webhook v2 deliveries.

mod backoff;
mod classify;
mod client;
mod config;
mod rate_limit;
mod webhook;
mod wire;

pub use backoff::Backoff;
pub use classify::is_transient_status;
pub use client::PipedriveClient;
pub use config::{ConfigError, PipedriveConfig};
pub use rate_limit::{parse_retry_after, secs_until_utc_midnight, RateLimit};
pub use webhook::{
    CustomFieldValue, WebhookAction, WebhookEntity, WebhookEvent, WebhookPayloadError,
};
pub use wire::{FieldOption, Webhook};

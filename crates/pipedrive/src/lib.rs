//! The Pipedrive adapter of the consultores service.
//!
//! - [`PipedriveClient`] implements the domain's [`consultores_domain::CrmGateway`] port against
//!   Pipedrive's REST API (blocking; called from the background delivery worker), and adds the
//!   calls operators need: [`PipedriveClient::register_webhook`],
//!   [`PipedriveClient::list_webhooks`], [`PipedriveClient::field_options`].
//! - Errors are classified into [`consultores_domain::CrmError`]: `Transient` (network, timeout,
//!   429, 5xx, the 403 block page; with the wait Pipedrive asked for) or `Permanent` (400, 401,
//!   the API's own 403, 404, 410, 422, …).
//! - [`RateLimit`] is the budget Pipedrive reported on the latest answer
//!   ([`PipedriveClient::last_rate_limit`]); [`PipedriveClient::pause_asked`] is the pause of
//!   every call the answers asked for (a spent budget, any 429, a block), which [`SharedPause`]
//!   shares with every replica through the database.
//! - [`Backoff`] is the retry schedule; [`WebhookEvent`] parses webhook v2 deliveries.
//!
//! And the integration around the client, implementing the domain's ports:
//! - [`WebhookDecoder`] turns a webhook delivery into an event to record (the endpoint's part,
//!   `CrmEventDecoder`) and a recorded payload into the domain's `InboundCrmEvent` (the
//!   worker's part, `CrmEventReader`), which the domain's `WebhookProcessor` turns into
//!   assignments;
//! - [`CatchUp`] recovers the created records whose webhook never arrived (`CrmCatchUp`);
//! - [`Worker`] is the background thread that runs the domain's `WebhookProcessor` and
//!   `CrmDeliveryService`.

mod backoff;
mod catch_up;
mod classify;
mod client;
mod config;
mod decoder;
mod pause;
mod rate_limit;
mod setup;
mod webhook;
mod wire;
mod worker;

pub use backoff::Backoff;
pub use catch_up::{CatchUp, CatchUpSettings};
pub use classify::{is_block_page, is_transient_status, BLOCK_PAUSE_SECS};
pub use client::{PauseAsked, PipedriveClient};
pub use config::{ConfigError, PipedriveConfig};
pub use decoder::WebhookDecoder;
pub use pause::SharedPause;
pub use rate_limit::{parse_retry_after, RateLimit, DAILY_RECHECK_SECS};
pub use setup::{setup_webhooks, SetupStep, WEBHOOK_EVENTS};
pub use webhook::{
    CustomFieldValue, WebhookAction, WebhookEntity, WebhookEvent, WebhookPayloadError,
};
pub use wire::{FieldOption, Webhook};
pub use worker::{Worker, WorkerReport, WorkerSettings};

//! Outbound webhooks' adapter: the Standard Webhooks signature ([`signing`]) and the delivery
//! client and worker round ([`delivery`]), over the domain's [`WebhookStore`] port.
//!
//! [`WebhookStore`]: consultores_domain::WebhookStore

pub mod delivery;
pub mod signing;

pub use delivery::{Round, Sender, Worker};
pub use signing::{generate_secret, sign, RandomSecrets};

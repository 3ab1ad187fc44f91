//! Outbound webhooks: subscriptions to the service's events, and their deliveries.
//!
//! A change that an event reports queues one delivery per active subscription in the same
//! transaction as the change (an outbox), so a delivery exists if and only if the change was
//! committed. A worker claims due deliveries (each by one replica at a time: a lease), signs
//! them (Standard Webhooks) and posts them, retrying with backoff for 24 hours.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::audit::Actor;
use crate::error::DomainError;

wire_names! {
    /// The events a subscription may ask for (`eventos`).
    pub enum WebhookEvent {
        /// Every rotation assignment (`da-vez`, the queue, Pipedrive), with its origin.
        #[strum(serialize = "atribuicao")]
        Assignment,
        /// A queue entry that nobody took in time.
        #[strum(serialize = "fila.expirada")]
        QueueExpired,
        /// `PUT /protocolo/{id}` that changed something.
        #[strum(serialize = "protocolo.atualizado")]
        ProtocolUpdated,
        /// A consultant switched online or offline.
        #[strum(serialize = "consultor.conexao")]
        ConsultantConnection,
    }
}

/// A subscription's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookId(pub i64);

/// A delivery's database id (also its `webhook-id`, `msg_<id>`, the same on every retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub i64);

impl DeliveryId {
    /// The `webhook-id` header of this delivery.
    pub fn message_id(self) -> String {
        format!("msg_{}", self.0)
    }
}

/// The signing secret (`whsec_…`). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// A subscription to create: `url` (`http://` or `https://`, checked at the edge), its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
}

/// A subscription as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

wire_names! {
    /// Where a delivery stands (`estado`).
    pub enum DeliveryStatus {
        #[strum(serialize = "pendente")]
        Pending,
        #[strum(serialize = "entregue")]
        Delivered,
        #[strum(serialize = "falhou")]
        Failed,
    }
}

/// One line of a subscription's delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event: WebhookEvent,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// `None` once delivered or failed.
    pub next_attempt: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A claimed delivery, with what the worker needs to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub url: String,
    pub secret: WebhookSecret,
    pub event: WebhookEvent,
    /// The JSON body, fixed when the change happened.
    pub body: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("event", &self.event)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How a try went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// A 2xx.
    Delivered {
        status: u16,
    },
    /// Anything else (timeout, network error, redirect, non-2xx): retry at `at`, or fail once
    /// [`DELIVERY_WINDOW`] has passed since the change.
    Retry {
        status: Option<u16>,
        error: String,
        at: DateTime<Utc>,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// How long a delivery is retried after the change it reports.
pub const DELIVERY_WINDOW: Duration = Duration::hours(24);

/// Where new secrets come from (random bytes: an adapter's job).
pub trait SecretSource: Send + Sync {
    fn generate(&self) -> WebhookSecret;
}

/// Subscriptions and their deliveries.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait WebhookStore: Send + Sync {
    /// Stores a subscription with its `secret`. Audited as `webhook.criado` (without the
    /// secret).
    fn create_webhook(
        &self,
        new: &NewWebhook,
        secret: &WebhookSecret,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Webhook, DomainError>;

    /// Subscriptions not removed, by id.
    fn list_webhooks(&self) -> Result<Vec<Webhook>, DomainError>;

    /// Removes a subscription (its pending deliveries are dropped as failed); `false` if none.
    /// Audited as `webhook.removido`.
    fn remove_webhook(
        &self,
        id: WebhookId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, DomainError>;

    /// The newest `limit` deliveries of a subscription; `None` if there is no such subscription.
    fn deliveries(
        &self,
        id: WebhookId,
        limit: u32,
    ) -> Result<Option<Vec<DeliveryRecord>>, DomainError>;

    /// Leases up to `limit` due deliveries until `lease_until`, oldest first.
    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, DomainError>;

    /// Records a try and ends the lease.
    fn settle_delivery(
        &self,
        id: DeliveryId,
        attempts: u32,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_wire_names() {
        assert_wire_names_round_trip!(WebhookEvent);
        assert!("fila.criada".parse::<WebhookEvent>().is_err());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secret = WebhookSecret::new("whsec_c2VncmVkbw==".to_owned());
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        let delivery = Delivery {
            id: DeliveryId(1),
            url: "http://x".to_owned(),
            secret,
            event: WebhookEvent::Assignment,
            body: "{}".to_owned(),
            attempts: 0,
            created_at: Utc::now(),
        };
        assert!(!format!("{delivery:?}").contains("whsec_"));
        assert_eq!(DeliveryId(7).message_id(), "msg_7");
    }
}

//! Posting deliveries: the HTTP client (10 s limit, redirects not followed) and the worker's
//! round (claim due deliveries, send them in parallel, settle each).
//!
//! A receiver that hangs, answers slowly, redirects or fails costs one thread of the round for at
//! most [`TIMEOUT`] and a retry schedule; nothing is buffered beyond the claimed batch, and the
//! rotation never waits on a receiver (deliveries are queued in its transaction, sent here).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use consultores_domain::{
    Clock, Delivery, DeliveryOutcome, DomainError, RetryPolicy, WebhookStore, DELIVERY_WINDOW,
};
use reqwest::blocking::Client;
use reqwest::redirect;

use crate::signing::sign;

/// The longest a receiver may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The longest error text recorded from a response body.
const MAX_BODY_CHARS: usize = 200;

/// Sends one delivery: `Ok(status)` for a 2xx, `Err((status, reason))` otherwise.
#[derive(Debug, Clone)]
pub struct Sender {
    http: Client,
}

impl Sender {
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = Client::builder()
            .user_agent(concat!("consultores-webhooks/", env!("CARGO_PKG_VERSION")))
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(redirect::Policy::none())
            .build()?;
        Ok(Self { http })
    }

    pub fn send(
        &self,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<u16, (Option<u16>, String)> {
        let id = delivery.id.message_id();
        let timestamp = now.timestamp();
        let signature = sign(delivery.secret.expose(), &id, timestamp, &delivery.body)
            .map_err(|error| (None, error.to_string()))?;
        let response = self
            .http
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone())
            .send()
            .map_err(|error| (None, describe(&error)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let body: String = response
            .text()
            .unwrap_or_default()
            .chars()
            .take(MAX_BODY_CHARS)
            .collect();
        Err((Some(status.as_u16()), format!("HTTP {status}: {body}")))
    }
}

/// The cause of a failed request, without the URL's query (it may carry a token).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "tempo esgotado"
    } else if error.is_connect() {
        "falha de conexão"
    } else {
        "erro de rede"
    };
    match std::error::Error::source(error) {
        Some(cause) => format!("{kind}: {}", consultores_domain::error_chain(cause)),
        None => kind.to_owned(),
    }
}

/// The outcome of a try of `delivery` that ended with `result`, as of `now`.
pub fn outcome(
    delivery: &Delivery,
    result: Result<u16, (Option<u16>, String)>,
    retry: &dyn RetryPolicy,
    now: DateTime<Utc>,
) -> DeliveryOutcome {
    match result {
        Ok(status) => DeliveryOutcome::Delivered { status },
        Err((status, error)) => {
            let attempts = delivery.attempts + 1;
            let delay = retry.next_delay(attempts, None);
            let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
            if at - delivery.created_at > DELIVERY_WINDOW {
                DeliveryOutcome::Failed { status, error }
            } else {
                DeliveryOutcome::Retry { status, error, at }
            }
        }
    }
}

/// One worker's rounds. Each claimed delivery is sent on a thread of its own and settled there,
/// so a receiver that hangs holds one thread for at most [`TIMEOUT`] and never delays the others
/// (nor the next round); at most [`Worker::MAX_IN_FLIGHT`] deliveries are in flight at once.
pub struct Worker {
    shared: Arc<Shared>,
    in_flight: Arc<AtomicUsize>,
}

struct Shared {
    store: Arc<dyn WebhookStore>,
    sender: Sender,
    retry: Arc<dyn RetryPolicy>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("in_flight", &self.in_flight.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries claimed and handed to their threads.
    pub claimed: usize,
    /// Whether the round was limited by the batch or the in-flight cap (run another soon).
    pub full: bool,
}

/// Decrements the in-flight count when a delivery's thread ends, however it ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Worker {
    /// Deliveries claimed per round.
    pub const BATCH: u32 = 32;
    /// Deliveries being sent at once, at most.
    pub const MAX_IN_FLIGHT: usize = 64;

    pub fn new(
        store: Arc<dyn WebhookStore>,
        sender: Sender,
        retry: Arc<dyn RetryPolicy>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                sender,
                retry,
                clock,
            }),
            in_flight: Arc::default(),
        }
    }

    /// Claims due deliveries (leased for longer than a try can take) and sends each on its own
    /// thread, which records the outcome. Returns without waiting for them.
    pub fn round(&self) -> Result<Round, DomainError> {
        let room = Self::MAX_IN_FLIGHT.saturating_sub(self.in_flight.load(Ordering::SeqCst));
        let limit = u32::try_from(room).unwrap_or(Self::BATCH).min(Self::BATCH);
        if limit == 0 {
            return Ok(Round {
                claimed: 0,
                full: true,
            });
        }
        let now = self.shared.clock.now();
        let lease = chrono::Duration::from_std(TIMEOUT * 6).unwrap_or(chrono::Duration::minutes(1));
        let claimed = self
            .shared
            .store
            .claim_deliveries(now, now + lease, limit)?;
        let round = Round {
            claimed: claimed.len(),
            full: claimed.len() == limit as usize,
        };
        for delivery in claimed {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            let guard = InFlight(self.in_flight.clone());
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("webhook-send".to_owned())
                .spawn(move || {
                    let _guard = guard;
                    shared.deliver(&delivery);
                });
            // No thread available now: the lease ends and a later round tries again.
            drop(spawned);
        }
        Ok(round)
    }
}

impl Shared {
    fn deliver(&self, delivery: &Delivery) {
        let result = self.sender.send(delivery, self.clock.now());
        let outcome = outcome(delivery, result, &*self.retry, self.clock.now());
        // A store that fails here leaves the lease to expire: the delivery is tried again.
        let _ = self.store.settle_delivery(
            delivery.id,
            delivery.attempts + 1,
            &outcome,
            self.clock.now(),
        );
    }
}

#[cfg(test)]
mod tests {
    use consultores_domain::{DeliveryId, WebhookEvent, WebhookSecret};

    use super::*;

    struct Fixed;

    impl RetryPolicy for Fixed {
        fn next_delay(&self, attempt: u32, _: Option<u64>) -> Duration {
            Duration::from_secs(60 * u64::from(attempt))
        }
    }

    fn delivery(created_at: DateTime<Utc>, attempts: u32) -> Delivery {
        Delivery {
            id: DeliveryId(1),
            url: "http://127.0.0.1:9/".to_owned(),
            secret: WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
            event: WebhookEvent::Assignment,
            body: "{}".to_owned(),
            attempts,
            created_at,
        }
    }

    #[test]
    fn a_2xx_is_delivered_and_anything_else_retried_with_backoff() {
        let now = Utc::now();
        assert_eq!(
            outcome(&delivery(now, 0), Ok(204), &Fixed, now),
            DeliveryOutcome::Delivered { status: 204 }
        );
        let retry = outcome(
            &delivery(now, 2),
            Err((Some(500), "HTTP 500".into())),
            &Fixed,
            now,
        );
        assert_eq!(
            retry,
            DeliveryOutcome::Retry {
                status: Some(500),
                error: "HTTP 500".into(),
                at: now + chrono::Duration::minutes(3)
            }
        );
    }

    #[test]
    fn retries_stop_after_24_hours() {
        let now = Utc::now();
        let old = delivery(now - chrono::Duration::hours(24), 30);
        assert!(matches!(
            outcome(&old, Err((None, "tempo esgotado".into())), &Fixed, now),
            DeliveryOutcome::Failed { status: None, .. }
        ));
    }

    /// A receiver that answers every request with `status` and a `location`, once per connection.
    fn answering(status: u16) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                use std::io::{Read, Write};
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nlocation: http://127.0.0.1:9/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        url
    }

    #[test]
    fn a_redirect_is_not_followed_but_retried() {
        let sender = Sender::new().unwrap();
        let mut redirected = delivery(Utc::now(), 0);
        redirected.url = answering(302);
        let result = sender.send(&redirected, Utc::now());
        assert!(matches!(result, Err((Some(302), _))), "{result:?}");
    }

    #[test]
    fn a_2xx_answer_is_success() {
        let sender = Sender::new().unwrap();
        let mut accepted = delivery(Utc::now(), 0);
        accepted.url = answering(204);
        assert_eq!(sender.send(&accepted, Utc::now()), Ok(204));
    }

    #[test]
    fn an_unreachable_receiver_is_a_network_error_not_a_panic() {
        let sender = Sender::new().unwrap();
        let result = sender.send(&delivery(Utc::now(), 0), Utc::now());
        assert!(matches!(result, Err((None, _))), "{result:?}");
    }
}

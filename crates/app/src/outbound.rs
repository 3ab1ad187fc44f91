//! The outbound webhooks' delivery worker: one thread per process that runs a round
//! ([`consultores_webhooks::Worker::round`]: claim due deliveries, each sent on a thread of its
//! own) every [`INTERVAL`], or soon after a full round.
//! Deliveries are leased to one replica at a time, so any number of replicas may run one.

use std::sync::Arc;
use std::time::Duration;

use consultores_domain::{Backoff, Periodic, StopSignal, SystemClock};
use consultores_persistence::Database;
use consultores_webhooks::Worker;
use slog::{info, warn};

/// The longest time between two rounds (a change is delivered within about this long).
pub const INTERVAL: Duration = Duration::from_millis(500);

/// Starts the worker; dropping the handle stops it (after its round in flight).
pub fn spawn(database: &Database, logger: slog::Logger) -> std::io::Result<Periodic> {
    let sender = consultores_webhooks::Sender::new().map_err(std::io::Error::other)?;
    let worker = Worker::new(
        Arc::new(database.clone()),
        sender,
        Arc::new(Backoff::default()),
        Arc::new(SystemClock),
    );
    Periodic::spawn("webhook-delivery", move |_: &StopSignal| {
        let full = match worker.round() {
            Ok(round) => {
                if round.claimed > 0 {
                    info!(logger, "webhook deliveries sent"; "claimed" => round.claimed);
                }
                round.full
            }
            Err(error) => {
                warn!(logger, "webhook delivery round failed; retrying"; "error" => %error);
                false
            }
        };
        if full {
            INTERVAL / 10
        } else {
            INTERVAL
        }
    })
}

//! The outbound webhooks' delivery worker: one thread per process that runs a round
//! ([`consultores_webhooks::Worker::round`]: claim due deliveries, each sent on a thread of its
//! own) every [`INTERVAL`], or soon after a full round.
//! Deliveries are leased to one replica at a time, so any number of replicas may run one.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use consultores_domain::SystemClock;
use consultores_persistence::Database;
use consultores_pipedrive::Backoff;
use consultores_webhooks::Worker;
use slog::{info, warn};

/// The longest time between two rounds (a change is delivered within about this long).
pub const INTERVAL: Duration = Duration::from_millis(500);

/// The running thread; dropping it stops it (after its round in flight).
#[derive(Debug)]
pub struct DeliveryWorker {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for DeliveryWorker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn spawn(database: &Database, logger: slog::Logger) -> std::io::Result<DeliveryWorker> {
    let sender = consultores_webhooks::Sender::new().map_err(std::io::Error::other)?;
    let worker = Worker::new(
        Arc::new(database.clone()),
        sender,
        Arc::new(Backoff::default()),
        Arc::new(SystemClock),
    );
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("webhook-delivery".to_owned())
        .spawn(move || loop {
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
            let wait = if full { INTERVAL / 10 } else { INTERVAL };
            if !matches!(stopped.recv_timeout(wait), Err(RecvTimeoutError::Timeout)) {
                return;
            }
        })?;
    Ok(DeliveryWorker {
        stop: Some(stop),
        thread: Some(thread),
    })
}

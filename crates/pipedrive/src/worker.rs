//! The background worker of the integration: one thread that, round after round, turns recorded
//! webhook events into assignments (the domain's [`WebhookProcessor`]) and delivers due outbox items
//! ([`CrmDeliveryService`]), then sleeps (about a second when idle, a growing wait while the
//! database fails). While Pipedrive's rate budget is spent, deliveries wait the whole pause;
//! webhook events, which need no budget, are still handled every second.
//!
//! All state lives in the database, so pending work survives restarts and any number of
//! replicas can run a worker each: claims with leases hand every item and event to one worker at
//! a time. Dropping the [`Worker`] stops it after the call in flight (bounded by the client's
//! timeout); what it claimed and did not try is released for the next start.
//!
//! The thread is a plain thread: the blocking Pipedrive client may be called (and dropped) there.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use consultores_domain::{
    CrmDeliveryService, DeliveryRound, DomainError, EventRound, WebhookProcessor,
};

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSettings {
    /// The sleep between rounds that found nothing more to do.
    pub idle_wait: Duration,
    /// The longest sleep after a failed round (it doubles from `idle_wait` up to this).
    pub max_error_wait: Duration,
}

impl WorkerSettings {
    /// One second between idle rounds; up to 30 s while the database fails.
    pub const DEFAULT: Self = Self {
        idle_wait: Duration::from_secs(1),
        max_error_wait: Duration::from_secs(30),
    };
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What the worker tells its owner after each step (for the log).
#[derive(Debug)]
pub enum WorkerReport<'a> {
    /// A round of webhook events that handled at least one, or a catch-up that recovered
    /// events or has warnings.
    Events(&'a EventRound),
    /// A delivery round that claimed something or is pausing.
    Delivery(&'a DeliveryRound),
    /// A step failed (the database did not answer, most likely); the worker tries again later.
    Failed {
        /// `events` or `delivery`.
        step: &'static str,
        error: &'a DomainError,
    },
    /// The worker stopped.
    Stopped,
}

/// The running worker; dropping it stops the thread and waits for it.
#[derive(Debug)]
pub struct Worker {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Worker {
    /// Starts the worker thread. `events` is `None` when webhooks are not configured.
    pub fn spawn<R>(
        delivery: CrmDeliveryService,
        events: Option<WebhookProcessor>,
        settings: WorkerSettings,
        mut report: R,
    ) -> std::io::Result<Self>
    where
        R: FnMut(WorkerReport<'_>) + Send + 'static,
    {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("pipedrive-worker".to_owned())
            .spawn(move || {
                run(&delivery, events.as_ref(), settings, &stopped, &mut report);
                report(WorkerReport::Stopped);
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the worker and waits for it (the same as dropping it).
    pub fn stop(self) {
        drop(self);
    }
}

fn run(
    delivery: &CrmDeliveryService,
    events: Option<&WebhookProcessor>,
    settings: WorkerSettings,
    stopped: &Receiver<()>,
    report: &mut dyn FnMut(WorkerReport<'_>),
) {
    let stop_requested = || matches!(stopped.try_recv(), Ok(()) | Err(TryRecvError::Disconnected));
    let mut failures: u32 = 0;
    let mut paused = false;
    loop {
        let mut more = false;
        let mut failed = false;
        let mut pause = None;
        if let Some(processor) = events {
            match processor.process_pending(&stop_requested) {
                Ok(round) => {
                    if round.is_worth_reporting() {
                        report(WorkerReport::Events(&round));
                    }
                    more |= round.claimed >= processor.settings().batch as usize;
                }
                Err(error) => {
                    failed = true;
                    report(WorkerReport::Failed {
                        step: "events",
                        error: &error,
                    });
                }
            }
        }
        if stop_requested() {
            return;
        }
        match delivery.deliver_due(&stop_requested) {
            Ok(round) => {
                // A pause is reported when it starts, not on every round it lasts.
                if round.claimed > 0 || (round.pause.is_some() && !paused) {
                    report(WorkerReport::Delivery(&round));
                }
                paused = round.pause.is_some();
                more |= round.was_full(delivery.settings());
                pause = round.pause;
            }
            Err(error) => {
                failed = true;
                report(WorkerReport::Failed {
                    step: "delivery",
                    error: &error,
                });
            }
        }
        let wait = if failed {
            failures = failures.saturating_add(1);
            error_wait(settings, failures)
        } else {
            failures = 0;
            match pause {
                // Webhook events need no rate budget (assignments are local): keep handling
                // them every idle wait while deliveries are paused.
                Some(pause) if events.is_some() => pause.min(settings.idle_wait),
                Some(pause) => pause,
                None if more => Duration::ZERO,
                None => settings.idle_wait,
            }
        };
        if !matches!(stopped.recv_timeout(wait), Err(RecvTimeoutError::Timeout)) {
            return;
        }
    }
}

/// `idle_wait`, doubled per consecutive failure, capped.
fn error_wait(settings: WorkerSettings, failures: u32) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1).min(16))
        .unwrap_or(u32::MAX);
    settings
        .idle_wait
        .checked_mul(factor)
        .unwrap_or(settings.max_error_wait)
        .min(settings.max_error_wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_wait_longer_and_longer_up_to_the_cap() {
        let settings = WorkerSettings::DEFAULT;
        let waits: Vec<u64> = (1..=7).map(|n| error_wait(settings, n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(error_wait(settings, u32::MAX).as_secs(), 30);
    }
}

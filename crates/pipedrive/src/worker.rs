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

use std::time::Duration;

use consultores_domain::{
    Backoff, CrmDeliveryService, DeliveryRound, DomainError, EventRound, Job, Periodic, StopSignal,
    WebhookProcessor,
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
    _job: Periodic,
}

impl Worker {
    /// Starts the worker thread. `events` is `None` when webhooks are not configured.
    pub fn spawn<R>(
        delivery: CrmDeliveryService,
        events: Option<WebhookProcessor>,
        settings: WorkerSettings,
        report: R,
    ) -> std::io::Result<Self>
    where
        R: FnMut(WorkerReport<'_>) + Send + 'static,
    {
        let rounds = Rounds {
            delivery,
            events,
            settings,
            report,
            failures: 0,
            paused: false,
        };
        Ok(Self {
            _job: Periodic::spawn("pipedrive-worker", rounds)?,
        })
    }

    /// Stops the worker and waits for it (the same as dropping it).
    pub fn stop(self) {
        drop(self);
    }
}

/// The worker's state between rounds.
struct Rounds<R> {
    delivery: CrmDeliveryService,
    events: Option<WebhookProcessor>,
    settings: WorkerSettings,
    report: R,
    /// Failed rounds in a row.
    failures: u32,
    /// Deliveries were paused after the previous round.
    paused: bool,
}

impl<R> Job for Rounds<R>
where
    R: FnMut(WorkerReport<'_>) + Send + 'static,
{
    fn step(&mut self, stop: &StopSignal) -> Duration {
        let stop_requested = || stop.is_raised();
        let report = &mut self.report;
        let mut more = false;
        let mut failed = false;
        let mut pause = None;
        if let Some(processor) = &self.events {
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
            return Duration::ZERO;
        }
        match self.delivery.deliver_due(&stop_requested) {
            Ok(round) => {
                // A pause is reported when it starts, not on every round it lasts.
                if round.claimed > 0 || (round.pause.is_some() && !self.paused) {
                    report(WorkerReport::Delivery(&round));
                }
                self.paused = round.pause.is_some();
                more |= round.was_full(self.delivery.settings());
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
        if failed {
            self.failures = self.failures.saturating_add(1);
            return error_wait(self.settings, self.failures);
        }
        self.failures = 0;
        match pause {
            // Webhook events need no rate budget (assignments are local): keep handling
            // them every idle wait while deliveries are paused.
            Some(pause) if self.events.is_some() => pause.min(self.settings.idle_wait),
            Some(pause) => pause,
            None if more => Duration::ZERO,
            None => self.settings.idle_wait,
        }
    }

    fn stopped(&mut self) {
        (self.report)(WorkerReport::Stopped);
    }
}

/// `idle_wait`, doubled per consecutive failure, capped: the service's one backoff.
fn error_wait(settings: WorkerSettings, failures: u32) -> Duration {
    Backoff::new(settings.idle_wait, settings.max_error_wait).next_delay(failures, None)
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

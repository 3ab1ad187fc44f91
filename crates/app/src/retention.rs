//! `AUDIT_RETENTION_DAYS`: a background thread deletes audit entries older than the retention,
//! in small batches with a pause between them, so no statement holds many row locks or runs for
//! long, and request traffic keeps its share of the database. It runs at start-up and then every
//! hour; several replicas may run it at once (a batch that finds its rows already gone deletes
//! nothing and the pass ends).

use std::time::Duration;

use consultores_domain::{AuditService, DomainError, Periodic, StopSignal};
use slog::{info, warn};

/// Entries deleted per statement.
pub const BATCH: u32 = 1_000;
/// The pause between two batches of one pass.
pub const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(200);
/// The time between two passes.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the pruner of entries older than `days` days; dropping the handle stops it (after
/// the batch in flight, if any).
pub fn spawn(service: AuditService, days: u32, logger: slog::Logger) -> std::io::Result<Periodic> {
    let retention = chrono::Duration::days(i64::from(days));
    info!(logger, "audit retention on"; "retention_days" => days);
    Periodic::spawn("audit-retention", move |stop: &StopSignal| {
        match prune_all(&service, retention, BATCH, PAUSE_BETWEEN_BATCHES, stop) {
            Ok(0) => {}
            Ok(deleted) => info!(logger, "audit entries pruned";
                "deleted" => deleted, "retention_days" => days),
            Err(error) => warn!(logger, "audit pruning failed; retrying later";
                "error" => %error),
        }
        INTERVAL
    })
}

/// One pass: batches of at most `batch` entries older than `retention` until a batch deletes
/// nothing, pausing `pause` between batches. Returns how many entries were deleted; stops early
/// (with what was deleted so far) when `stop` says so.
pub fn prune_all(
    service: &AuditService,
    retention: chrono::Duration,
    batch: u32,
    pause: Duration,
    stop: &StopSignal,
) -> Result<usize, DomainError> {
    let mut total = 0;
    loop {
        let deleted = service.prune_batch(retention, batch)?;
        total += deleted;
        if deleted == 0 || stop.wait(pause) {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::{DateTime, Utc};
    use consultores_domain::mocks::MockAuditLog;
    use consultores_domain::Clock;

    use super::*;

    /// The `prune` calls a scripted log received: (cutoff, batch).
    #[derive(Default)]
    struct Prunes {
        calls: Mutex<Vec<(DateTime<Utc>, u32)>>,
    }

    struct FixedClock(DateTime<Utc>);

    impl Clock for FixedClock {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    /// An audit log (the domain's mock) that answers `prune` from a script and records each
    /// call; any other call fails the test.
    fn scripted(answers: Vec<Result<usize, DomainError>>) -> (AuditService, Arc<Prunes>) {
        let prunes = Arc::new(Prunes::default());
        let recorded = prunes.clone();
        let answers = Mutex::new(answers);
        let mut log = MockAuditLog::new();
        log.expect_prune().returning(move |cutoff, batch| {
            recorded.calls.lock().unwrap().push((cutoff, batch));
            answers.lock().unwrap().remove(0)
        });
        let now = DateTime::parse_from_rfc3339("2026-11-29T14:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        (
            AuditService::new(Arc::new(log), Arc::new(FixedClock(now))),
            prunes,
        )
    }

    /// A pass over the entries older than `days`, in batches of 1000, without pauses.
    fn pass(service: &AuditService, days: i64, stop: &StopSignal) -> Result<usize, DomainError> {
        prune_all(
            service,
            chrono::Duration::days(days),
            1000,
            Duration::ZERO,
            stop,
        )
    }

    #[test]
    fn a_pass_deletes_batch_after_batch_until_one_deletes_nothing() {
        let (service, log) = scripted(vec![Ok(1000), Ok(1000), Ok(7), Ok(0)]);
        let (_keep, stop) = StopSignal::new();
        let deleted = pass(&service, 90, &stop).unwrap();
        assert_eq!(deleted, 2007);
        let calls = log.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 4);
        let cutoff = DateTime::parse_from_rfc3339("2026-08-31T14:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(calls.iter().all(|call| *call == (cutoff, 1000)));
    }

    #[test]
    fn a_pass_stops_at_the_first_error_and_when_asked_to() {
        let (service, _) = scripted(vec![Ok(1000), Err(DomainError::unavailable("down"))]);
        let (_keep, stop) = StopSignal::new();
        let result = pass(&service, 1, &stop);
        assert!(matches!(result, Err(DomainError::Unavailable(_))));

        let (service, log) = scripted(vec![Ok(1000), Ok(1000)]);
        let (owner, stop) = StopSignal::new();
        drop(owner);
        let deleted = pass(&service, 1, &stop).unwrap();
        assert_eq!(deleted, 1000, "stopped after the batch in flight");
        assert_eq!(log.calls.lock().unwrap().len(), 1);
    }

    #[test]
    fn dropping_the_pruner_stops_its_thread() {
        let (service, log) = scripted(vec![Ok(0)]);
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let pruner = spawn(service, 30, logger).unwrap();
        // The first pass runs at once; the drop interrupts the hour-long wait and joins.
        while log.calls.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(pruner);
        assert_eq!(log.calls.lock().unwrap().len(), 1);
    }
}

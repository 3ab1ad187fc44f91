//! Housekeeping jobs of the store, each on a background thread, safe to run on several
//! replicas at once:
//!
//! * Expired idempotency records: deleted at start-up and then hourly, through the domain's
//!   [`IdempotencyHousekeeping`] port, so the store holds about one day of keys however long
//!   the service runs. A pass that finds nothing to delete costs one indexed statement.
//! * Availability evaluated ahead of the assignments ([`AvailabilityUpkeep`]): every few
//!   seconds (and at start-up, before `/ready`) the availability changes that are due (a shift
//!   that started, consultants marked by a write or a change of `DEFAULT_TIME_ZONE`) are applied
//!   in chunks, one transaction each, so an assignment rarely finds any left to apply under the
//!   counter lock. A pass that finds nothing due costs one statement and, on PostgreSQL, takes
//!   no lock (on SQLite, one short write transaction: the single writer's lock).
//! * The per-language queues' dead entries ([`QueueHousekeeping`]): reclaimed every second, so
//!   the head lookup of an assignment never steps over more than about a second of earlier
//!   assignments' leftovers (PostgreSQL: `persistence/src/queue_upkeep.rs`; nothing on SQLite).

use std::sync::Arc;
use std::time::Duration;

use consultores_domain::{
    AvailabilityUpkeep, Clock, DomainError, IdempotencyHousekeeping, Periodic, QueueHousekeeping,
    StopSignal,
};
use slog::{debug, info, warn};

/// The time between two passes of the idempotency purge.
pub const INTERVAL: Duration = Duration::from_secs(3600);
/// The time between two passes of the availability upkeep.
pub const AVAILABILITY_INTERVAL: Duration = Duration::from_secs(5);
/// The time between two passes of the queues' upkeep: at 4,000 assignments a second about as
/// many dead entries ahead of the head, a few index pages (bench/RESULTS.md).
pub const QUEUE_INTERVAL: Duration = Duration::from_secs(1);
/// Consultants evaluated per transaction of the availability upkeep: assignments wait for one
/// chunk at most (it holds the counter row's lock; bench/RESULTS.md § Routing rules).
pub const AVAILABILITY_CHUNK: u32 = 200;

/// Starts the idempotency purge; dropping the handle stops it.
pub fn spawn(
    store: Arc<dyn IdempotencyHousekeeping>,
    clock: Arc<dyn Clock>,
    logger: slog::Logger,
) -> std::io::Result<Periodic> {
    Periodic::spawn("idempotency-purge", move |_: &StopSignal| {
        match store.purge_expired_idempotency_keys(clock.now()) {
            Ok(0) => {}
            Ok(deleted) => info!(logger, "expired idempotency keys deleted"; "deleted" => deleted),
            Err(error) => warn!(logger, "idempotency purge failed; retrying later";
                "error" => %error),
        }
        INTERVAL
    })
}

/// Starts the availability upkeep; dropping the handle stops it (after the chunk in flight).
pub fn spawn_availability(
    store: Arc<dyn AvailabilityUpkeep>,
    clock: Arc<dyn Clock>,
    logger: slog::Logger,
) -> std::io::Result<Periodic> {
    Periodic::spawn("availability-upkeep", move |stop: &StopSignal| {
        match apply_due_availability(store.as_ref(), clock.as_ref(), || stop.is_raised()) {
            Ok(0) => {}
            Ok(evaluated) => debug!(logger, "due availability applied"; "consultants" => evaluated),
            Err(error) => warn!(logger, "availability upkeep failed; retrying later";
                "error" => %error),
        }
        AVAILABILITY_INTERVAL
    })
}

/// Starts the queues' upkeep; dropping the handle stops it.
pub fn spawn_queue_upkeep(
    store: Arc<dyn QueueHousekeeping>,
    logger: slog::Logger,
) -> std::io::Result<Periodic> {
    Periodic::spawn("queue-upkeep", move |_: &StopSignal| {
        if let Err(error) = store.tidy_queues() {
            warn!(logger, "queue upkeep failed; retrying later"; "error" => %error);
        }
        QUEUE_INTERVAL
    })
}

/// One pass: chunks of [`AVAILABILITY_CHUNK`] due changes at the clock's time, until a chunk is
/// not full (nothing else was due) or `stop` says so after a chunk. Returns how many consultants
/// were evaluated.
pub fn apply_due_availability(
    store: &dyn AvailabilityUpkeep,
    clock: &dyn Clock,
    stop: impl Fn() -> bool,
) -> Result<usize, DomainError> {
    let mut total = 0;
    loop {
        let evaluated = store.apply_due_availability(clock.now(), AVAILABILITY_CHUNK)?;
        total += evaluated;
        if evaluated < AVAILABILITY_CHUNK as usize || stop() {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{DateTime, Utc};
    use consultores_domain::mocks::MockAvailabilityUpkeep;
    use consultores_domain::SystemClock;

    use super::*;

    /// An upkeep store answering chunk after chunk from `answers`, recording each limit asked.
    fn scripted(
        answers: Vec<Result<usize, DomainError>>,
    ) -> (MockAvailabilityUpkeep, Arc<Mutex<Vec<u32>>>) {
        let limits = Arc::new(Mutex::new(Vec::new()));
        let recorded = limits.clone();
        let answers = Mutex::new(answers);
        let mut store = MockAvailabilityUpkeep::new();
        store
            .expect_apply_due_availability()
            .returning(move |_: DateTime<Utc>, limit| {
                recorded.lock().unwrap().push(limit);
                answers.lock().unwrap().remove(0)
            });
        (store, limits)
    }

    #[test]
    fn a_pass_applies_chunks_until_one_is_not_full() {
        let full = AVAILABILITY_CHUNK as usize;
        let (store, limits) = scripted(vec![Ok(full), Ok(full), Ok(37), Ok(full)]);
        let evaluated = apply_due_availability(&store, &SystemClock, || false).unwrap();
        assert_eq!(evaluated, 2 * full + 37);
        assert_eq!(*limits.lock().unwrap(), vec![AVAILABILITY_CHUNK; 3]);
    }

    #[test]
    fn a_pass_stops_at_the_first_error_and_when_asked_to() {
        let full = AVAILABILITY_CHUNK as usize;
        let (store, _) = scripted(vec![Ok(full), Err(DomainError::unavailable("down"))]);
        let result = apply_due_availability(&store, &SystemClock, || false);
        assert!(matches!(result, Err(DomainError::Unavailable(_))));

        let (store, limits) = scripted(vec![Ok(full), Ok(full)]);
        let evaluated = apply_due_availability(&store, &SystemClock, || true).unwrap();
        assert_eq!(evaluated, full, "stopped after the chunk in flight");
        assert_eq!(limits.lock().unwrap().len(), 1);
    }
}

//! Expired idempotency records: a background job deletes them at start-up and then hourly,
//! through the domain's [`IdempotencyHousekeeping`] port, so the store holds about one day of
//! keys however long the service runs. Several replicas may run it at once; a pass that finds
//! nothing to delete costs one indexed statement.

use std::sync::Arc;
use std::time::Duration;

use consultores_domain::{Clock, IdempotencyHousekeeping, Periodic, StopSignal};
use slog::{info, warn};

/// The time between two passes.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the job; dropping the handle stops it.
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

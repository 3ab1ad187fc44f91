//! Services and ports block (Diesel, r2d2). They run on actix's blocking thread pool, never on
//! an async worker, and a request waits for them at most the database deadline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::web;
use consultores_domain::DomainError;

use crate::errors::ApiError;

/// The deadline in milliseconds (0: none). Process-wide because every handler reaches the
/// database through [`run`] and the limit belongs to the database, not to a route; set once at
/// start-up by [`crate::build_server`].
static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);

/// Sets how long a request waits for its database work before answering 503 (`None`: as long
/// as it takes).
pub fn set_deadline(deadline: Option<Duration>) {
    let millis = deadline.map_or(0, |limit| {
        u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1)
    });
    DEADLINE_MS.store(millis, Ordering::Relaxed);
}

/// Runs a blocking call off the async workers and maps its failure. Past the deadline the
/// request gets `Unavailable` (503) and the call is left to finish on its thread: a database
/// host that went silent (packets dropped, nothing refused) can hold a libpq call until the
/// connection's keepalives or `tcp_user_timeout` end it, and the client must not wait for that.
pub async fn run<T, F>(call: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let pending = web::block(call);
    let done = match DEADLINE_MS.load(Ordering::Relaxed) {
        0 => pending.await,
        millis => {
            let limit = Duration::from_millis(millis);
            actix_web::rt::time::timeout(limit, pending)
                .await
                .map_err(|_| ApiError::from(DomainError::unavailable(DeadlineExceeded(limit))))?
        }
    };
    done?.map_err(ApiError::from)
}

/// The database did not answer within the deadline.
#[derive(Debug, thiserror::Error)]
#[error("the database did not answer within {0:?}")]
struct DeadlineExceeded(Duration);

//! Opening the database: connect, wait for it (with backoff), apply migrations, and bring
//! the availability of consultants up to date before the service says it is ready.

use std::time::{Duration, Instant};

use consultores_domain::{Backoff, SystemClock};
use consultores_persistence::{Database, DefaultZoneRecord, PersistenceError, PoolSettings};
use secrecy::ExposeSecret;
use slog::{info, warn};

use crate::config::Config;
use crate::housekeeping;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] PersistenceError),
    #[error("database did not answer within {seconds} s (DB_STARTUP_TIMEOUT_SECS): {last_error}")]
    DatabaseNotReady { seconds: u64, last_error: String },
    #[error("{0}")]
    Domain(#[from] consultores_domain::DomainError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("unhealthy: {0}")]
    Unhealthy(String),
    #[error("Pipedrive: {0}")]
    Pipedrive(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Connects to the configured database without requiring it to be up yet.
pub fn connect(config: &Config) -> Result<Database, StartupError> {
    let settings = PoolSettings {
        max_size: config.pool_size,
        connect_timeout: config.pool_timeout,
        statement_timeout: config.statement_timeout,
        lock_timeout: config.lock_timeout,
        transaction_pooler: config.transaction_pooler,
    };
    Ok(
        Database::connect(config.database_url.expose_secret(), &settings)?
            .with_default_time_zone(config.default_time_zone),
    )
}

/// Applies pending migrations, retrying with exponential backoff while the database cannot be
/// reached (a container started next to its database does not need a fixed `sleep`). A migration
/// that reaches the database and fails is reported at once.
pub fn migrate_when_ready(
    database: &Database,
    timeout: Duration,
    mut on_retry: impl FnMut(&PersistenceError, Duration),
) -> Result<Vec<String>, StartupError> {
    let deadline = Instant::now() + timeout;
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    let mut failures: u32 = 0;
    loop {
        failures = failures.saturating_add(1);
        let delay = backoff.next_delay(failures, None);
        match database.run_migrations() {
            Ok(applied) => return Ok(applied),
            Err(error) if error.is_unavailable() && Instant::now() + delay < deadline => {
                on_retry(&error, delay);
                std::thread::sleep(delay);
            }
            Err(error) if error.is_unavailable() => {
                return Err(StartupError::DatabaseNotReady {
                    seconds: timeout.as_secs(),
                    last_error: error.to_string(),
                })
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// After the migrations, before `/ready`: records the configured `DEFAULT_TIME_ZONE` (when it
/// changed, consultants without a zone of their own are marked to be evaluated again, and one
/// line says so), then applies every availability change that is due, in chunks, so the first
/// assignments do not evaluate thousands of consultants under the counter lock. A failure of
/// the latter is only logged: the assignments apply whatever is still due.
pub fn prepare_availability(
    database: &Database,
    logger: &slog::Logger,
) -> Result<(), StartupError> {
    if let DefaultZoneRecord::Changed { previous, marked } = database.record_default_time_zone()? {
        info!(logger, "default time zone changed: consultants without a zone of their own are evaluated again";
            "previous" => previous.as_deref().unwrap_or("none"),
            "default_time_zone" => database.default_time_zone().name(),
            "consultants_marked" => marked);
    }
    let started = Instant::now();
    match housekeeping::apply_due_availability(database, &SystemClock, || false) {
        Ok(0) => {}
        Ok(evaluated) => info!(logger, "availability evaluated";
            "consultants" => evaluated, "elapsed_ms" => started.elapsed().as_millis() as u64),
        Err(error) => warn!(logger, "availability not evaluated ahead; the assignments will";
            "error" => %error),
    }
    Ok(())
}

/// `consultores migrate`.
pub fn migrate_command(config: &Config) -> Result<(), StartupError> {
    let database = connect(config)?;
    let applied = migrate_when_ready(&database, config.startup_timeout, |error, delay| {
        eprintln!(
            "consultores: database not ready ({error}); retrying in {} ms",
            delay.as_millis()
        );
    })?;
    if applied.is_empty() {
        eprintln!(
            "consultores: {} is up to date",
            config.redacted_database_url()
        );
    } else {
        eprintln!(
            "consultores: applied {} migration(s) to {}: {}",
            applied.len(),
            config.redacted_database_url(),
            applied.join(", ")
        );
    }
    Ok(())
}

//! Opening the database: connect, wait for it (with backoff) and apply migrations.

use std::time::{Duration, Instant};

use consultores_domain::Backoff;
use consultores_persistence::{Database, PersistenceError, PoolSettings};
use secrecy::ExposeSecret;

use crate::config::Config;

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

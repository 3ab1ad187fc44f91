//! Errors: [`PersistenceError`] for start-up (connecting, migrating), and the internal
//! [`StoreError`] that every query returns and that becomes a [`DomainError`] at the port boundary.

use std::path::PathBuf;

use consultores_domain::DomainError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// The forms of `DATABASE_URL` the service accepts, for error messages.
pub const DATABASE_URL_FORMS: &str = "postgres://user:password@host:port/database, \
    postgresql://…, sqlite://path/to/file.db or sqlite:path/to/file.db";

/// Why the database could not be set up. `Display` is one line, fit for a start-up error message.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    /// `DATABASE_URL` names no supported backend.
    #[error("DATABASE_URL is not usable ({reason}); accepted forms: {DATABASE_URL_FORMS}")]
    InvalidUrl {
        /// What is wrong with it (never the URL itself: it may hold a password).
        reason: String,
    },
    /// The directory of the SQLite file could not be created.
    #[error("cannot create the directory {path} for the SQLite database: {source}")]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No connection could be made within the pool's timeout, or the database is not up yet:
    /// retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database answered and refused what `DATABASE_URL` asks for (a TLS mode or
    /// certificate it cannot honour, credentials, a database that does not exist): retrying
    /// cannot help.
    #[error("DATABASE_URL cannot be used: {0}")]
    Unusable(String),
    /// A migration failed; the database is left as it was before that migration.
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl PersistenceError {
    /// Whether the database could not be reached (retrying later may work), as opposed to a
    /// configuration error or a failed migration.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// What a query can fail with inside this crate.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// A decision of the domain (not found, conflict, nobody available, …).
    Domain(DomainError),
    /// The database said no, or the connection broke.
    Diesel(DieselError),
    /// No pooled connection within the checkout timeout.
    Checkout(r2d2::Error),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        Self::Diesel(error)
    }
}

impl From<DomainError> for StoreError {
    fn from(error: DomainError) -> Self {
        Self::Domain(error)
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        Self::Checkout(error)
    }
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Domain(error) => error,
            StoreError::Checkout(error) => DomainError::unavailable(error),
            StoreError::Diesel(error) if is_unavailable(&error) => DomainError::unavailable(error),
            StoreError::Diesel(error) => DomainError::internal(error),
        }
    }
}

impl StoreError {
    /// An internal error for a broken invariant (a stored value the domain rejects, …).
    pub(crate) fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Domain(DomainError::internal(cause))
    }

    /// Turns a unique violation of the email index into [`DomainError::EmailTaken`].
    pub(crate) fn email_conflict(self) -> Self {
        match self {
            Self::Diesel(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some(EMAIL_INDEX)
                    || info.message().contains(EMAIL_INDEX) =>
            {
                Self::Domain(DomainError::EmailTaken)
            }
            other => other,
        }
    }
}

/// The unique index on `lower(email)` (same name on both backends).
const EMAIL_INDEX: &str = "consultores_email_unique";

/// What the server says when it closed or terminated the connection.
const CONNECTION_LOST: &[&str] = &[
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
];

/// What a database says when it cannot be reached right now, besides [`CONNECTION_LOST`].
const UNREACHABLE_NOW: &[&str] = &[
    "connection to server",
    "the database system is shutting down",
    "the database system is starting up",
    "database is locked",
    "database is busy",
    // `statement_timeout` and `lock_timeout`: a stuck session or a slow server.
    "canceling statement due to statement timeout",
    "canceling statement due to lock timeout",
];

fn database_message_contains_any(error: &DieselError, needles: &[&str]) -> bool {
    match error {
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            needles.iter().any(|needle| message.contains(needle))
        }
        _ => false,
    }
}

/// The connection itself is gone (the server closed or terminated it): nothing sent on it
/// reached the database, and another connection may work.
pub(crate) fn is_connection_lost(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
    ) || database_message_contains_any(error, CONNECTION_LOST)
}

/// Whether a Diesel error means "the database cannot be reached right now" (retrying later may
/// work) rather than a bug: a lost connection, a server shutting down, SQLite busy beyond its
/// timeout.
pub(crate) fn is_unavailable(error: &DieselError) -> bool {
    is_connection_lost(error)
        || matches!(error, DieselError::BrokenTransactionManager)
        || database_message_contains_any(error, UNREACHABLE_NOW)
}

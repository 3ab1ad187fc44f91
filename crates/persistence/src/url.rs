//! `DATABASE_URL` → backend and location. PostgreSQL URLs are checked here, before any
//! connection attempt, so that a URL the service can never use stops start-up at once.

use std::path::PathBuf;
use std::time::Duration;

use crate::database::PoolSettings;
use crate::error::PersistenceError;

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A libpq connection URL.
    Postgres(String),
    /// A SQLite file.
    Sqlite(PathBuf),
}

/// The libpq connection parameters a PostgreSQL URL may carry. Anything else is refused up
/// front (libpq would refuse it on every connection attempt).
const POSTGRES_PARAMETERS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "target_session_attrs",
    "load_balance_hosts",
];

/// The `sslmode` values libpq (built with OpenSSL) honours.
pub(crate) const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The one rule for `DATABASE_URL` (the binary's configuration checks a URL with
/// [`check_database_url`], which calls this): `postgres://…`, `postgresql://…`, `sqlite://path`
/// or `sqlite:path`, as the README documents; a bare path is refused (it says nothing about the
/// backend). Errors never repeat the URL (it may hold a password).
///
/// A PostgreSQL URL gets, unless it sets them itself: `connect_timeout` (the TCP/TLS
/// handshake), TCP keepalives and `tcp_user_timeout`, so a database host that vanishes without
/// closing its connections is noticed instead of waited on forever.
pub(crate) fn parse(raw: &str, settings: &PoolSettings) -> Result<Target, PersistenceError> {
    let raw = raw.trim();
    let invalid = |reason: &str| PersistenceError::InvalidUrl {
        reason: reason.to_owned(),
    };
    if raw.is_empty() {
        return Err(invalid("it is empty"));
    }
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return postgres(raw, settings).map(Target::Postgres);
    }
    let path = if let Some(rest) = raw.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = raw.strip_prefix("sqlite:") {
        rest
    } else {
        let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
        return Err(match scheme {
            Some(scheme) => invalid(&format!("unsupported scheme '{scheme}'")),
            None => invalid("no scheme"),
        });
    };
    if path.is_empty() {
        return Err(invalid("the SQLite path is empty"));
    }
    if path.starts_with(":memory:") || path.starts_with("file:") {
        return Err(invalid(
            "in-memory and URI SQLite databases are not supported; give a file path",
        ));
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

/// Whether `raw` is a `DATABASE_URL` the service can use, checked without connecting: the same
/// rule [`crate::Database::connect`] applies.
pub fn check_database_url(raw: &str) -> Result<(), PersistenceError> {
    parse(raw, &PoolSettings::default()).map(|_| ())
}

/// Checks a PostgreSQL URL's parameters and adds the timeouts it does not set.
fn postgres(raw: &str, settings: &PoolSettings) -> Result<String, PersistenceError> {
    let invalid = |reason: String| PersistenceError::InvalidUrl { reason };
    let mut url = url::Url::parse(raw)
        .map_err(|error| invalid(format!("not a valid PostgreSQL URL: {error}")))?;
    for (key, value) in url.query_pairs() {
        if !POSTGRES_PARAMETERS.contains(&key.as_ref()) {
            return Err(invalid(format!("unsupported parameter '{key}'")));
        }
        if key == "sslmode" && !SSL_MODES.contains(&value.as_ref()) {
            return Err(invalid(format!(
                "sslmode '{value}' is not one of {}",
                SSL_MODES.join(", ")
            )));
        }
    }
    let seconds = |duration: Duration| duration.as_secs().max(1).to_string();
    let defaults = [
        (
            "connect_timeout",
            settings.connect_timeout.as_secs().max(2).to_string(),
        ),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", seconds(KEEPALIVE_IDLE)),
        ("keepalives_interval", seconds(KEEPALIVE_INTERVAL)),
        ("keepalives_count", KEEPALIVE_COUNT.to_string()),
        (
            "tcp_user_timeout",
            settings.statement_timeout.as_millis().max(1000).to_string(),
        ),
    ];
    let missing: Vec<(&str, String)> = defaults
        .into_iter()
        .filter(|(key, _)| !url.query_pairs().any(|(present, _)| present == *key))
        .collect();
    if !missing.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (key, value) in &missing {
            pairs.append_pair(key, value);
        }
    }
    Ok(url.into())
}

/// Keepalive probes start after this much silence on a connection…
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
/// …are repeated this often…
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// …and this many unanswered ones close it.
const KEEPALIVE_COUNT: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PoolSettings {
        PoolSettings::default()
    }

    const ADDED: &str = "keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=3\
                         &tcp_user_timeout=10000";

    #[test]
    fn postgres_urls_get_a_connect_timeout() {
        let Ok(Target::Postgres(url)) = parse("postgres://u:p@db:5432/app", &settings()) else {
            panic!("not postgres");
        };
        assert_eq!(
            url,
            format!("postgres://u:p@db:5432/app?connect_timeout=5&{ADDED}")
        );
        let Ok(Target::Postgres(url)) = parse(
            "postgresql://db/app?connect_timeout=9&sslmode=verify-full&sslrootcert=/ca.pem\
             &keepalives=0&tcp_user_timeout=0",
            &settings(),
        ) else {
            panic!("not postgres");
        };
        assert_eq!(
            url,
            "postgresql://db/app?connect_timeout=9&sslmode=verify-full&sslrootcert=/ca.pem\
             &keepalives=0&tcp_user_timeout=0&keepalives_idle=10&keepalives_interval=5\
             &keepalives_count=3"
        );
    }

    #[test]
    fn sqlite_urls_accept_two_forms() {
        for (raw, path) in [
            ("sqlite://data/app.db", "data/app.db"),
            ("sqlite:///var/lib/app.db", "/var/lib/app.db"),
            ("sqlite:data/app.db", "data/app.db"),
        ] {
            assert_eq!(
                parse(raw, &settings()).ok(),
                Some(Target::Sqlite(PathBuf::from(path)))
            );
        }
    }

    #[test]
    fn other_urls_are_refused_without_echoing_them() {
        for raw in [
            "mysql://root:secret@db/app",
            "",
            "db.example.com",
            "x.db",
            "./consultores.db",
            "sqlite://",
            "postgres://u:secret@db/app?sslmode=required",
            "postgres://u:secret@db/app?ssl=true",
            "postgres://u:secret@db/app?sslmode=require&pool_size=3",
        ] {
            let message = check_database_url(raw)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default();
            assert!(message.starts_with("DATABASE_URL"), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
    }
}

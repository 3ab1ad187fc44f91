//! `DATABASE_URL` → backend and location.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::PersistenceError;

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A libpq connection URL.
    Postgres(String),
    /// A SQLite file.
    Sqlite(PathBuf),
}

/// Accepts `postgres://…`, `postgresql://…`, `sqlite://path`, `sqlite:path` and a bare path ending
/// in `.db`, `.sqlite` or `.sqlite3`. Errors never repeat the URL (it may hold a password).
pub(crate) fn parse(raw: &str, connect_timeout: Duration) -> Result<Target, PersistenceError> {
    let raw = raw.trim();
    let invalid = |reason: &str| PersistenceError::InvalidUrl {
        reason: reason.to_owned(),
    };
    if raw.is_empty() {
        return Err(invalid("it is empty"));
    }
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        let mut url = url::Url::parse(raw)
            .map_err(|error| invalid(&format!("not a valid PostgreSQL URL: {error}")))?;
        // Bound the TCP/TLS handshake too, so a database host that drops packets cannot keep
        // the pool's connection attempts hanging.
        if !url.query_pairs().any(|(key, _)| key == "connect_timeout") {
            let seconds = connect_timeout.as_secs().max(2);
            url.query_pairs_mut()
                .append_pair("connect_timeout", &seconds.to_string());
        }
        return Ok(Target::Postgres(url.into()));
    }
    let path = if let Some(rest) = raw.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = raw.strip_prefix("sqlite:") {
        rest
    } else if !raw.contains("://")
        && [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|extension| raw.ends_with(extension))
    {
        raw
    } else {
        let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
        return Err(match scheme {
            Some(scheme) => invalid(&format!("unsupported scheme '{scheme}'")),
            None => invalid("no scheme and not a .db file"),
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

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    #[test]
    fn postgres_urls_get_a_connect_timeout() {
        let Ok(Target::Postgres(url)) = parse("postgres://u:p@db:5432/app", TIMEOUT) else {
            panic!("not postgres");
        };
        assert_eq!(url, "postgres://u:p@db:5432/app?connect_timeout=5");
        let Ok(Target::Postgres(url)) = parse(
            "postgresql://db/app?connect_timeout=9&sslmode=disable",
            TIMEOUT,
        ) else {
            panic!("not postgres");
        };
        assert_eq!(url, "postgresql://db/app?connect_timeout=9&sslmode=disable");
    }

    #[test]
    fn sqlite_urls_accept_three_forms() {
        for (raw, path) in [
            ("sqlite://data/app.db", "data/app.db"),
            ("sqlite:///var/lib/app.db", "/var/lib/app.db"),
            ("sqlite:data/app.db", "data/app.db"),
            ("./consultores.db", "./consultores.db"),
        ] {
            assert_eq!(
                parse(raw, TIMEOUT).ok(),
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
            "sqlite://",
        ] {
            let message = parse(raw, TIMEOUT)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default();
            assert!(message.starts_with("DATABASE_URL"), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
    }
}

//! The database URL: `DATABASE_URL` wins; otherwise the v6 `POSTGRES_*` variables; otherwise
//! the SQLite default.

use secrecy::{ExposeSecret, SecretString};

use super::settings::{Settings, DEFAULT_DATABASE_URL};
use super::ConfigError;

/// The v6-style variables for TLS to PostgreSQL and the libpq parameters they set (used with
/// `POSTGRES_HOST`; a `DATABASE_URL` says the same in its query string).
fn tls_parameters(settings: &Settings) -> [(Option<&String>, &'static str); 4] {
    [
        (settings.postgres_sslmode.as_ref(), "sslmode"),
        (settings.postgres_sslrootcert.as_ref(), "sslrootcert"),
        (settings.postgres_sslcert.as_ref(), "sslcert"),
        (settings.postgres_sslkey.as_ref(), "sslkey"),
    ]
}

pub(super) fn database_url(settings: &Settings) -> Result<SecretString, ConfigError> {
    if let Some(url) = &settings.database_url {
        return Ok(url.clone());
    }
    let Some(host) = &settings.postgres_host else {
        return Ok(SecretString::from(DEFAULT_DATABASE_URL));
    };
    let required = |value: &Option<String>, variable: &str| {
        value
            .clone()
            .ok_or_else(|| ConfigError::new(variable, "must be set when POSTGRES_HOST is"))
    };
    let user = required(&settings.postgres_username, "POSTGRES_USERNAME")?;
    let database = required(&settings.postgres_database, "POSTGRES_DATABASE")?;
    let invalid = |variable: &str| ConfigError::new(variable, "is not valid in a connection URL");
    let mut url = url::Url::parse("postgres://localhost").map_err(|_| invalid("POSTGRES_HOST"))?;
    url.set_host(Some(host))
        .map_err(|_| invalid("POSTGRES_HOST"))?;
    url.set_port(Some(settings.postgres_port))
        .map_err(|_| invalid("POSTGRES_PORT"))?;
    url.set_username(&user)
        .map_err(|_| invalid("POSTGRES_USERNAME"))?;
    if let Some(password) = &settings.postgres_password {
        url.set_password(Some(password.expose_secret()))
            .map_err(|_| invalid("POSTGRES_PASSWORD"))?;
    }
    url.set_path(&database);
    let query: Vec<String> = tls_parameters(settings)
        .into_iter()
        .filter_map(|(value, parameter)| {
            value.map(|value| format!("{parameter}={}", percent_encode(value)))
        })
        .collect();
    if !query.is_empty() {
        url.set_query(Some(&query.join("&")));
    }
    Ok(SecretString::from(String::from(url)))
}

/// Percent-encodes a URL query value the way libpq decodes it (which, unlike a form, does not
/// read `+` as a space).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// `url` with any password replaced, for logs.
pub(super) fn redacted(url: &SecretString) -> String {
    let raw = url.expose_secret();
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_owned(),
    }
}

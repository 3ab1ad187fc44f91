//! The value parsers of [`super::Settings`]. Each error is the problem alone, on one line,
//! naming the value it got unless the value is a secret; [`super::ConfigError`] adds the
//! variable's name.

use std::fmt::Display;
use std::str::FromStr;

use consultores_domain::{Language, Zone};
use consultores_persistence::{check_database_url, PersistenceError, DATABASE_URL_FORMS};
use secrecy::SecretString;

use super::LogLevel;

/// A whole number from `min` to `max` (both included).
pub fn whole<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |raw| {
        let raw = raw.trim();
        match raw.parse::<T>() {
            Ok(value) if value >= min && value <= max => Ok(value),
            _ => Err(format!(
                "must be a whole number from {min} to {max} (got {raw:?})"
            )),
        }
    }
}

/// `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off`, in any case.
pub fn boolean(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("must be true or false (got {:?})", raw.trim())),
    }
}

/// A text setting, trimmed.
pub fn text(raw: &str) -> Result<String, String> {
    match raw.trim() {
        "" => Err("must not be blank".to_owned()),
        value => Ok(value.to_owned()),
    }
}

/// A secret, kept as given (a password may begin or end with a space); never echoed.
pub fn secret(raw: &str) -> Result<SecretString, String> {
    if raw.is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(SecretString::from(raw))
}

/// `DATABASE_URL`, checked by the rule the database layer applies when it connects.
pub fn database_url(raw: &str) -> Result<SecretString, String> {
    let raw = raw.trim();
    match check_database_url(raw) {
        Ok(()) => Ok(SecretString::from(raw)),
        Err(PersistenceError::InvalidUrl { reason }) => Err(format!(
            "is not usable ({reason}); accepted forms: {DATABASE_URL_FORMS}"
        )),
        Err(other) => Err(other.to_string()),
    }
}

/// `PIPEDRIVE_API_TOKEN`: printable ASCII without spaces (it goes into an HTTP header).
pub fn pipedrive_token(raw: &str) -> Result<SecretString, String> {
    let raw = raw.trim();
    if raw.is_empty() || !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(
            "must be the API token as Pipedrive shows it (letters and digits, no spaces); \
             Settings > Personal preferences > API"
                .to_owned(),
        );
    }
    Ok(SecretString::from(raw))
}

/// `LOG_LEVEL`, in any case; `warn` is `warning`.
pub fn log_level(raw: &str) -> Result<LogLevel, String> {
    let raw = raw.trim();
    match raw.to_ascii_lowercase().as_str() {
        "trace" => Ok(LogLevel::Trace),
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "warn" | "warning" => Ok(LogLevel::Warning),
        "error" => Ok(LogLevel::Error),
        "critical" => Ok(LogLevel::Critical),
        _ => Err(format!(
            "must be one of trace, debug, info, warning, error, critical (got {raw:?})"
        )),
    }
}

/// An IANA time zone name.
pub fn time_zone(raw: &str) -> Result<Zone, String> {
    let raw = raw.trim();
    Zone::parse(raw)
        .map_err(|_| format!("{raw:?} is not an IANA time zone name (e.g. America/Sao_Paulo)"))
}

/// A language code (`pt`, `en`, `pt-br`, …).
pub fn language(raw: &str) -> Result<Language, String> {
    let raw = raw.trim();
    Language::parse(raw).map_err(|problem| format!("{problem} (got {raw:?})"))
}

/// `CORS_ORIGINS`: the origins a browser may call the API from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins(pub Vec<String>);

/// A comma-separated list of origins like `https://app.example.com`, or `*`.
pub fn origins(raw: &str) -> Result<Origins, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let valid = origin == "*"
                || url::Url::parse(origin)
                    .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .unwrap_or(false);
            if valid {
                Ok(origin.trim_end_matches('/').to_owned())
            } else {
                Err(format!(
                    "{origin:?} is not an origin like https://app.example.com (comma-separated list)"
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Origins)
}

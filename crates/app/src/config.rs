//! Configuration from the environment (and an optional `.env`), validated up front so that a
//! mistake stops start-up with one line naming the variable and the problem.

use consultores_domain::Zone;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use consultores_domain::Language;

/// Where the embedded default keeps its data when nothing is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/consultores.db";

/// A configuration mistake: which variable, and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// Log verbosity (`LOG_LEVEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    pub fn to_slog(self) -> slog::Level {
        match self {
            Self::Trace => slog::Level::Trace,
            Self::Debug => slog::Level::Debug,
            Self::Info => slog::Level::Info,
            Self::Warning => slog::Level::Warning,
            Self::Error => slog::Level::Error,
            Self::Critical => slog::Level::Critical,
        }
    }
}

/// Everything the service reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub database_url: String,
    pub api_key: Option<String>,
    pub host: String,
    pub port: u16,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    pub startup_timeout: Duration,
    // Database sessions: limits and pooler mode.
    /// `DB_STATEMENT_TIMEOUT_MS`: PostgreSQL `statement_timeout` of every session.
    pub statement_timeout: Duration,
    /// `DB_LOCK_TIMEOUT_MS`: PostgreSQL `lock_timeout` of every session.
    pub lock_timeout: Duration,
    /// `DB_TRANSACTION_POOLER`: PostgreSQL is behind a pooler in transaction mode.
    pub transaction_pooler: bool,
    pub log_level: LogLevel,
    pub log_bodies: bool,
    pub cors_origins: Vec<String>,
    pub metrics_public: bool,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub workers: usize,
    pub max_connections: usize,
    /// How many days audit entries are kept (`AUDIT_RETENTION_DAYS`); `None`: forever.
    pub audit_retention_days: Option<u32>,
    /// `DEFAULT_TIME_ZONE`: the zone of consultants without a `fuso_horario` of their own, and
    /// of report days when a request names none.
    pub default_time_zone: Zone,
    /// `PAINEL_SESSION_IDLE_MINUTES`: an operations-page session unused this long is over.
    pub painel_session_idle: Duration,
    /// The Pipedrive integration (`PIPEDRIVE_*`); `None` (off) when `PIPEDRIVE_API_TOKEN` is
    /// not set.
    pub pipedrive: Option<PipedriveSettings>,
}

/// The Pipedrive integration's settings. `Debug` never shows the token or the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PipedriveSettings {
    /// `PIPEDRIVE_API_TOKEN`: sent only in the `x-api-token` header, never logged.
    pub api_token: String,
    /// `PIPEDRIVE_BASE_URL`: the company domain, e.g. `https://acme.pipedrive.com`.
    pub base_url: url::Url,
    /// `PIPEDRIVE_TIMEOUT_SECS`: the limit of one call to Pipedrive.
    pub timeout: Duration,
    /// `PIPEDRIVE_WEBHOOK_USER` and `PIPEDRIVE_WEBHOOK_PASSWORD`: the basic-auth credentials
    /// of `POST /webhooks/pipedrive`; `None`: the endpoint is off (404).
    pub webhook: Option<WebhookCredentials>,
    /// `PIPEDRIVE_LANGUAGE_FIELD`: the key of the custom field holding a deal's or lead's
    /// language.
    pub language_field: Option<String>,
    /// `PIPEDRIVE_DEFAULT_LANGUAGE`: the language when the field is not set or empty.
    pub default_language: Option<Language>,
    /// `PIPEDRIVE_NOTE_AS_CONSULTANT`: notes are written as the consultant (needs an admin
    /// token).
    pub note_as_consultant: bool,
}

/// The webhook endpoint's basic-auth credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookCredentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for PipedriveSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipedriveSettings")
            .field("api_token", &"[redacted]")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .field("webhook", &self.webhook)
            .field("language_field", &self.language_field)
            .field("default_language", &self.default_language)
            .field("note_as_consultant", &self.note_as_consultant)
            .finish()
    }
}

impl fmt::Debug for WebhookCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookCredentials")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl Config {
    /// Reads the process environment, after loading `.env` from the working directory if there
    /// is one (variables already set win over the file).
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Err(error) = dotenvy::dotenv() {
            if !error.not_found() {
                return Err(ConfigError {
                    variable: ".env",
                    problem: error.to_string(),
                });
            }
        }
        Self::from_vars(&std::env::vars().collect())
    }

    /// Builds the configuration from a map of variables (the environment, in production).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Vars(vars);
        let workers_default = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            database_url: database_url(&env)?,
            api_key: env.non_empty("AUTHENTICATION_API_KEY"),
            host: env
                .non_empty("HOST")
                .unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: env.number("PORT", 8000, 1, u16::MAX)?,
            pool_size: env.number("DB_POOL_SIZE", 16, 1, 1000)?,
            pool_timeout: Duration::from_millis(env.number(
                "DB_POOL_TIMEOUT_MS",
                5000,
                100,
                600_000,
            )?),
            startup_timeout: Duration::from_secs(env.number(
                "DB_STARTUP_TIMEOUT_SECS",
                60,
                0,
                3600,
            )?),
            statement_timeout: Duration::from_millis(env.number(
                "DB_STATEMENT_TIMEOUT_MS",
                10_000,
                100,
                3_600_000,
            )?),
            lock_timeout: Duration::from_millis(env.number(
                "DB_LOCK_TIMEOUT_MS",
                5000,
                100,
                3_600_000,
            )?),
            transaction_pooler: env.boolean("DB_TRANSACTION_POOLER", false)?,
            log_level: log_level(&env)?,
            log_bodies: env.boolean("LOG_BODIES", false)?,
            cors_origins: cors_origins(&env)?,
            metrics_public: env.boolean("METRICS_PUBLIC", false)?,
            request_timeout: Duration::from_secs(env.number(
                "REQUEST_TIMEOUT_SECS",
                30,
                1,
                3600,
            )?),
            shutdown_timeout: Duration::from_secs(env.number(
                "SHUTDOWN_TIMEOUT_SECS",
                30,
                0,
                3600,
            )?),
            workers: env.number("WORKERS", workers_default, 1, 256)?,
            max_connections: env.number("MAX_CONNECTIONS", 25_000, 1, 1_000_000)?,
            audit_retention_days: env.optional_number("AUDIT_RETENTION_DAYS", 1, 36_500)?,
            default_time_zone: default_time_zone(&env)?,
            painel_session_idle: Duration::from_secs(
                60 * env.number("PAINEL_SESSION_IDLE_MINUTES", 30u64, 1, 1440)?,
            ),
            pipedrive: pipedrive(&env)?,
        })
    }

    /// The database URL with any password replaced, for logs.
    pub fn redacted_database_url(&self) -> String {
        match url::Url::parse(&self.database_url) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => self.database_url.clone(),
        }
    }
}

/// `DEFAULT_TIME_ZONE`: an IANA name, `America/Sao_Paulo` when unset.
fn default_time_zone(env: &Vars<'_>) -> Result<Zone, ConfigError> {
    match env.non_empty("DEFAULT_TIME_ZONE") {
        None => Ok(Zone::SAO_PAULO),
        Some(name) => Zone::parse(&name).map_err(|_| ConfigError {
            variable: "DEFAULT_TIME_ZONE",
            problem: format!("{name:?} is not an IANA time zone name (e.g. America/Sao_Paulo)"),
        }),
    }
}

struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    fn non_empty(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn number<T>(&self, name: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.non_empty(name) else {
            return Ok(default);
        };
        match raw.parse::<T>() {
            Ok(value) if value >= min && value <= max => Ok(value),
            _ => Err(ConfigError {
                variable: name,
                problem: format!("must be a whole number from {min} to {max} (got {raw:?})"),
            }),
        }
    }

    /// A whole number from `min` to `max`, or `None` when the variable is unset or blank.
    fn optional_number<T>(
        &self,
        name: &'static str,
        min: T,
        max: T,
    ) -> Result<Option<T>, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        if self.non_empty(name).is_none() {
            return Ok(None);
        }
        self.number(name, min, min, max).map(Some)
    }

    fn boolean(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        let Some(raw) = self.non_empty(name) else {
            return Ok(default);
        };
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError {
                variable: name,
                problem: format!("must be true or false (got {raw:?})"),
            }),
        }
    }
}

/// `DATABASE_URL` wins; otherwise the v6 `POSTGRES_*` variables; otherwise the SQLite default.
fn database_url(env: &Vars<'_>) -> Result<String, ConfigError> {
    if let Some(url) = env.non_empty("DATABASE_URL") {
        let supported = ["postgres://", "postgresql://", "sqlite://", "sqlite:"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        if !supported {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                problem: "must start with postgres://, postgresql:// or sqlite:// \
                          (e.g. sqlite://./data/consultores.db)"
                    .to_owned(),
            });
        }
        return Ok(url);
    }
    let Some(host) = env.non_empty("POSTGRES_HOST") else {
        return Ok(DEFAULT_DATABASE_URL.to_owned());
    };
    let port: u16 = env.number("POSTGRES_PORT", 5432, 1, u16::MAX)?;
    let user = env.non_empty("POSTGRES_USERNAME").ok_or(ConfigError {
        variable: "POSTGRES_USERNAME",
        problem: "must be set when POSTGRES_HOST is".to_owned(),
    })?;
    let database = env.non_empty("POSTGRES_DATABASE").ok_or(ConfigError {
        variable: "POSTGRES_DATABASE",
        problem: "must be set when POSTGRES_HOST is".to_owned(),
    })?;
    let mut url = url::Url::parse("postgres://localhost").map_err(|e| ConfigError {
        variable: "POSTGRES_HOST",
        problem: e.to_string(),
    })?;
    let invalid = |variable: &'static str| ConfigError {
        variable,
        problem: "is not valid in a connection URL".to_owned(),
    };
    url.set_host(Some(&host))
        .map_err(|_| invalid("POSTGRES_HOST"))?;
    url.set_port(Some(port))
        .map_err(|_| invalid("POSTGRES_PORT"))?;
    url.set_username(&user)
        .map_err(|_| invalid("POSTGRES_USERNAME"))?;
    if let Some(password) = env.0.get("POSTGRES_PASSWORD").filter(|p| !p.is_empty()) {
        url.set_password(Some(password))
            .map_err(|_| invalid("POSTGRES_PASSWORD"))?;
    }
    url.set_path(&database);
    let query: Vec<String> = POSTGRES_TLS_VARIABLES
        .iter()
        .filter_map(|(variable, parameter)| {
            env.non_empty(variable)
                .map(|value| format!("{parameter}={}", percent_encode(&value)))
        })
        .collect();
    if !query.is_empty() {
        url.set_query(Some(&query.join("&")));
    }
    Ok(url.to_string())
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

/// The v6-style variables for TLS to PostgreSQL and the libpq parameters they set (used with
/// `POSTGRES_HOST`; a `DATABASE_URL` says the same in its query string).
const POSTGRES_TLS_VARIABLES: [(&str, &str); 4] = [
    ("POSTGRES_SSLMODE", "sslmode"),
    ("POSTGRES_SSLROOTCERT", "sslrootcert"),
    ("POSTGRES_SSLCERT", "sslcert"),
    ("POSTGRES_SSLKEY", "sslkey"),
];

/// `PIPEDRIVE_*`: off without a token; with one, the company domain is required and the rest is
/// checked. No message ever contains the token or the password.
fn pipedrive(env: &Vars<'_>) -> Result<Option<PipedriveSettings>, ConfigError> {
    let Some(api_token) = env.non_empty("PIPEDRIVE_API_TOKEN") else {
        return Ok(None);
    };
    if !api_token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(ConfigError {
            variable: "PIPEDRIVE_API_TOKEN",
            problem: "must be the API token as Pipedrive shows it (letters and digits, no \
                      spaces); Settings > Personal preferences > API"
                .to_owned(),
        });
    }
    let raw_url = env.non_empty("PIPEDRIVE_BASE_URL").ok_or(ConfigError {
        variable: "PIPEDRIVE_BASE_URL",
        problem: "must be set when PIPEDRIVE_API_TOKEN is: the company domain, like \
                  https://acme.pipedrive.com"
            .to_owned(),
    })?;
    let base_url = url::Url::parse(&raw_url)
        .ok()
        .filter(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some()
                && !url.cannot_be_a_base()
        })
        .ok_or_else(|| ConfigError {
            variable: "PIPEDRIVE_BASE_URL",
            problem: format!(
                "must be the company domain, like https://acme.pipedrive.com (got {raw_url:?})"
            ),
        })?;
    let timeout = Duration::from_secs(env.number("PIPEDRIVE_TIMEOUT_SECS", 10, 1, 300)?);
    let user = env.non_empty("PIPEDRIVE_WEBHOOK_USER");
    let password = env.non_empty("PIPEDRIVE_WEBHOOK_PASSWORD");
    let webhook = match (user, password) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError {
                variable: "PIPEDRIVE_WEBHOOK_PASSWORD",
                problem: "must be set when PIPEDRIVE_WEBHOOK_USER is (both or neither)".to_owned(),
            })
        }
        (None, Some(_)) => {
            return Err(ConfigError {
                variable: "PIPEDRIVE_WEBHOOK_USER",
                problem: "must be set when PIPEDRIVE_WEBHOOK_PASSWORD is (both or neither)"
                    .to_owned(),
            })
        }
        (Some(user), Some(_)) if user.contains(':') => {
            return Err(ConfigError {
                variable: "PIPEDRIVE_WEBHOOK_USER",
                problem: "must not contain ':' (HTTP basic auth separates user and password \
                          with it)"
                    .to_owned(),
            })
        }
        (Some(user), Some(password)) => Some(WebhookCredentials { user, password }),
    };
    let language_field = env.non_empty("PIPEDRIVE_LANGUAGE_FIELD");
    let default_language = match env.non_empty("PIPEDRIVE_DEFAULT_LANGUAGE") {
        None => None,
        Some(raw) => Some(Language::parse(&raw).map_err(|problem| ConfigError {
            variable: "PIPEDRIVE_DEFAULT_LANGUAGE",
            problem: format!("{problem} (got {raw:?})"),
        })?),
    };
    Ok(Some(PipedriveSettings {
        api_token,
        base_url,
        timeout,
        webhook,
        language_field,
        default_language,
        note_as_consultant: env.boolean("PIPEDRIVE_NOTE_AS_CONSULTANT", false)?,
    }))
}

fn log_level(env: &Vars<'_>) -> Result<LogLevel, ConfigError> {
    let Some(raw) = env.non_empty("LOG_LEVEL") else {
        return Ok(LogLevel::Info);
    };
    match raw.to_ascii_lowercase().as_str() {
        "trace" => Ok(LogLevel::Trace),
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "warn" | "warning" => Ok(LogLevel::Warning),
        "error" => Ok(LogLevel::Error),
        "critical" => Ok(LogLevel::Critical),
        _ => Err(ConfigError {
            variable: "LOG_LEVEL",
            problem: format!(
                "must be one of trace, debug, info, warning, error, critical (got {raw:?})"
            ),
        }),
    }
}

fn cors_origins(env: &Vars<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = env.non_empty("CORS_ORIGINS") else {
        return Ok(Vec::new());
    };
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
                Err(ConfigError {
                    variable: "CORS_ORIGINS",
                    problem: format!(
                        "{origin:?} is not an origin like https://app.example.com (comma-separated list)"
                    ),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(&vars)
    }

    #[test]
    fn no_configuration_means_embedded_sqlite_on_localhost_8000() {
        let cfg = config(&[]).unwrap();
        assert_eq!(cfg.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(cfg.host, "127.0.0.1");
        assert_eq!(cfg.port, 8000);
        assert_eq!(cfg.api_key, None);
        assert_eq!(cfg.log_level, LogLevel::Info);
        assert!(cfg.cors_origins.is_empty());
    }

    #[test]
    fn v6_postgres_variables_build_a_url_with_an_encoded_password() {
        let cfg = config(&[
            ("POSTGRES_HOST", "db"),
            ("POSTGRES_PORT", "5433"),
            ("POSTGRES_USERNAME", "app"),
            ("POSTGRES_PASSWORD", "p@ss:w/rd"),
            ("POSTGRES_DATABASE", "consultores"),
        ])
        .unwrap();
        assert_eq!(
            cfg.database_url,
            "postgres://app:p%40ss%3Aw%2Frd@db:5433/consultores"
        );
        assert_eq!(
            cfg.redacted_database_url(),
            "postgres://app:***@db:5433/consultores"
        );
    }

    #[test]
    fn v6_postgres_variables_take_the_tls_settings() {
        let cfg = config(&[
            ("POSTGRES_HOST", "db.example.com"),
            ("POSTGRES_USERNAME", "app"),
            ("POSTGRES_DATABASE", "consultores"),
            ("POSTGRES_SSLMODE", "verify-full"),
            ("POSTGRES_SSLROOTCERT", "/etc/consultores/root ca+1.pem"),
        ])
        .unwrap();
        assert_eq!(
            cfg.database_url,
            "postgres://app@db.example.com:5432/consultores?sslmode=verify-full\
             &sslrootcert=/etc/consultores/root%20ca%2B1.pem"
        );
    }

    #[test]
    fn database_session_limits_have_defaults_and_bounds() {
        let cfg = config(&[]).unwrap();
        assert_eq!(cfg.statement_timeout, Duration::from_secs(10));
        assert_eq!(cfg.lock_timeout, Duration::from_secs(5));
        assert!(!cfg.transaction_pooler);
        let cfg = config(&[
            ("DB_STATEMENT_TIMEOUT_MS", "2500"),
            ("DB_LOCK_TIMEOUT_MS", "1000"),
            ("DB_TRANSACTION_POOLER", "true"),
        ])
        .unwrap();
        assert_eq!(cfg.statement_timeout, Duration::from_millis(2500));
        assert_eq!(cfg.lock_timeout, Duration::from_secs(1));
        assert!(cfg.transaction_pooler);
        let error = config(&[("DB_LOCK_TIMEOUT_MS", "0")]).unwrap_err();
        assert_eq!(error.variable, "DB_LOCK_TIMEOUT_MS");
    }

    #[test]
    fn database_url_wins_over_postgres_variables() {
        let cfg = config(&[("DATABASE_URL", "sqlite://x.db"), ("POSTGRES_HOST", "db")]).unwrap();
        assert_eq!(cfg.database_url, "sqlite://x.db");
    }

    #[test]
    fn unsupported_database_url_names_the_variable() {
        let err = config(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
    }

    #[test]
    fn postgres_host_without_database_is_rejected() {
        let err = config(&[("POSTGRES_HOST", "db"), ("POSTGRES_USERNAME", "u")]).unwrap_err();
        assert_eq!(err.variable, "POSTGRES_DATABASE");
    }

    #[test]
    fn bad_numbers_name_the_variable_and_the_value() {
        for (name, value) in [("PORT", "abc"), ("PORT", "0"), ("DB_POOL_SIZE", "-1")] {
            let err = config(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, name);
            assert!(err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn booleans_and_levels_are_parsed_case_insensitively() {
        let cfg = config(&[("LOG_BODIES", "TRUE"), ("LOG_LEVEL", "Warning")]).unwrap();
        assert!(cfg.log_bodies);
        assert_eq!(cfg.log_level, LogLevel::Warning);
        assert_eq!(
            config(&[("LOG_BODIES", "maybe")]).unwrap_err().variable,
            "LOG_BODIES"
        );
        assert_eq!(
            config(&[("LOG_LEVEL", "loud")]).unwrap_err().variable,
            "LOG_LEVEL"
        );
    }

    #[test]
    fn cors_origins_are_a_validated_list() {
        let cfg = config(&[(
            "CORS_ORIGINS",
            "https://a.example.com, http://b.example.com/",
        )])
        .unwrap();
        assert_eq!(
            cfg.cors_origins,
            vec!["https://a.example.com", "http://b.example.com"]
        );
        assert_eq!(
            config(&[("CORS_ORIGINS", "not an origin")])
                .unwrap_err()
                .variable,
            "CORS_ORIGINS"
        );
    }

    #[test]
    fn default_time_zone_is_sao_paulo_unless_an_iana_name_is_set() {
        assert_eq!(config(&[]).unwrap().default_time_zone, Zone::SAO_PAULO);
        assert_eq!(
            config(&[("DEFAULT_TIME_ZONE", "Europe/Lisbon")])
                .unwrap()
                .default_time_zone
                .name(),
            "Europe/Lisbon"
        );
        let err = config(&[("DEFAULT_TIME_ZONE", "Lua/Base")]).unwrap_err();
        assert_eq!(err.variable, "DEFAULT_TIME_ZONE");
    }

    #[test]
    fn audit_retention_is_forever_by_default_and_a_number_of_days_when_set() {
        assert_eq!(config(&[]).unwrap().audit_retention_days, None);
        assert_eq!(
            config(&[("AUDIT_RETENTION_DAYS", " ")])
                .unwrap()
                .audit_retention_days,
            None
        );
        assert_eq!(
            config(&[("AUDIT_RETENTION_DAYS", "90")])
                .unwrap()
                .audit_retention_days,
            Some(90)
        );
        for bad in ["0", "-1", "noventa", "1.5", "36501"] {
            let err = config(&[("AUDIT_RETENTION_DAYS", bad)]).unwrap_err();
            assert_eq!(err.variable, "AUDIT_RETENTION_DAYS");
            let line = err.to_string();
            assert!(
                line.contains("AUDIT_RETENTION_DAYS") && line.contains(bad),
                "{line}"
            );
            assert!(!line.contains('\n'), "{line}");
        }
    }

    const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

    fn pipedrive_config(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut pairs = vec![
            ("PIPEDRIVE_API_TOKEN", TOKEN),
            ("PIPEDRIVE_BASE_URL", "https://acme.pipedrive.com"),
        ];
        pairs.extend_from_slice(extra);
        config(&pairs)
    }

    #[test]
    fn pipedrive_is_off_without_a_token() {
        assert_eq!(config(&[]).unwrap().pipedrive, None);
        let cfg = config(&[
            ("PIPEDRIVE_API_TOKEN", " "),
            ("PIPEDRIVE_BASE_URL", "not checked while off"),
        ])
        .unwrap();
        assert_eq!(cfg.pipedrive, None);
    }

    #[test]
    fn pipedrive_with_a_token_and_a_domain_has_defaults() {
        let settings = pipedrive_config(&[]).unwrap().pipedrive.unwrap();
        assert_eq!(settings.api_token, TOKEN);
        assert_eq!(settings.base_url.as_str(), "https://acme.pipedrive.com/");
        assert_eq!(settings.timeout, Duration::from_secs(10));
        assert_eq!(settings.webhook, None);
        assert_eq!(settings.language_field, None);
        assert_eq!(settings.default_language, None);
        assert!(!settings.note_as_consultant);
    }

    #[test]
    fn pipedrive_settings_are_read() {
        let settings = pipedrive_config(&[
            ("PIPEDRIVE_TIMEOUT_SECS", "3"),
            ("PIPEDRIVE_WEBHOOK_USER", "pipedrive"),
            ("PIPEDRIVE_WEBHOOK_PASSWORD", "s3nh@"),
            (
                "PIPEDRIVE_LANGUAGE_FIELD",
                "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            ),
            ("PIPEDRIVE_DEFAULT_LANGUAGE", "PT-BR"),
            ("PIPEDRIVE_NOTE_AS_CONSULTANT", "true"),
        ])
        .unwrap()
        .pipedrive
        .unwrap();
        assert_eq!(settings.timeout, Duration::from_secs(3));
        assert_eq!(
            settings.webhook,
            Some(WebhookCredentials {
                user: "pipedrive".into(),
                password: "s3nh@".into()
            })
        );
        assert_eq!(
            settings.language_field.as_deref(),
            Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
        );
        assert_eq!(settings.default_language.unwrap().as_str(), "pt-br");
        assert!(settings.note_as_consultant);
    }

    #[test]
    fn pipedrive_mistakes_name_the_variable_on_one_line_without_secrets() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("PIPEDRIVE_API_TOKEN", TOKEN)], "PIPEDRIVE_BASE_URL"),
            (
                &[("PIPEDRIVE_BASE_URL", "acme.pipedrive.com")],
                "PIPEDRIVE_BASE_URL",
            ),
            (
                &[("PIPEDRIVE_BASE_URL", "ftp://acme.pipedrive.com")],
                "PIPEDRIVE_BASE_URL",
            ),
            (&[("PIPEDRIVE_TIMEOUT_SECS", "0")], "PIPEDRIVE_TIMEOUT_SECS"),
            (
                &[("PIPEDRIVE_WEBHOOK_USER", "pipedrive")],
                "PIPEDRIVE_WEBHOOK_PASSWORD",
            ),
            (
                &[("PIPEDRIVE_WEBHOOK_PASSWORD", "segredo-do-webhook")],
                "PIPEDRIVE_WEBHOOK_USER",
            ),
            (
                &[
                    ("PIPEDRIVE_WEBHOOK_USER", "pipe:drive"),
                    ("PIPEDRIVE_WEBHOOK_PASSWORD", "segredo-do-webhook"),
                ],
                "PIPEDRIVE_WEBHOOK_USER",
            ),
            (
                &[("PIPEDRIVE_DEFAULT_LANGUAGE", "português")],
                "PIPEDRIVE_DEFAULT_LANGUAGE",
            ),
        ];
        for (extra, variable) in cases {
            let result = if extra.iter().any(|(name, _)| *name == "PIPEDRIVE_API_TOKEN") {
                config(extra)
            } else {
                pipedrive_config(extra)
            };
            let error = result.unwrap_err();
            assert_eq!(error.variable, *variable, "{extra:?}");
            let line = error.to_string();
            assert!(line.contains(variable) && !line.contains('\n'), "{line}");
            assert!(!line.contains(TOKEN), "{line}");
            assert!(!line.contains("segredo-do-webhook"), "{line}");
        }
        let error = config(&[
            ("PIPEDRIVE_API_TOKEN", "abc def"),
            ("PIPEDRIVE_BASE_URL", "https://acme.pipedrive.com"),
        ])
        .unwrap_err();
        assert_eq!(error.variable, "PIPEDRIVE_API_TOKEN");
        assert!(!error.to_string().contains("abc def"));
    }

    #[test]
    fn debug_never_shows_the_token_or_the_webhook_password() {
        let cfg = pipedrive_config(&[
            ("PIPEDRIVE_WEBHOOK_USER", "pipedrive"),
            ("PIPEDRIVE_WEBHOOK_PASSWORD", "segredo-do-webhook"),
        ])
        .unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains("segredo-do-webhook"), "{shown}");
        assert!(shown.contains("acme.pipedrive.com"));
    }

    #[test]
    fn blank_api_key_counts_as_unset() {
        assert_eq!(
            config(&[("AUTHENTICATION_API_KEY", "  ")]).unwrap().api_key,
            None
        );
    }
}

//! Configuration from the environment (and an optional `.env`), validated up front so that a
//! mistake stops start-up with one line naming the variable and the problem.

use std::collections::HashMap;
use std::time::Duration;

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
    Ok(url.to_string())
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

    #[test]
    fn blank_api_key_counts_as_unset() {
        assert_eq!(
            config(&[("AUTHENTICATION_API_KEY", "  ")]).unwrap().api_key,
            None
        );
    }
}

//! Configuration: every setting is declared once, in [`Settings`] (clap: option, environment
//! variable, default, range, help), read from the command line, the environment and an
//! optional `.env`, and checked up front, so that a mistake stops start-up with one line naming
//! the variable and the problem. Secrets are `secrecy` types: `Debug` never shows them.

mod database;
mod parsers;
mod pipedrive;
mod settings;
#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::time::Duration;

use clap::{Arg, CommandFactory, FromArgMatches};
use consultores_domain::Zone;
use secrecy::SecretString;

pub use pipedrive::PipedriveSettings;
pub use settings::Settings;

use crate::cli::Cli;

/// A configuration mistake: which variable, and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(variable: &str, problem: impl Into<String>) -> Self {
        Self {
            variable: variable.to_owned(),
            problem: problem.into(),
        }
    }
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

/// Everything the service is configured with, checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`, or the URL built from the `POSTGRES_*` variables (it may hold a password).
    pub database_url: SecretString,
    /// `AUTHENTICATION_API_KEY`.
    pub api_key: Option<SecretString>,
    pub host: String,
    pub port: u16,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    pub startup_timeout: Duration,
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

impl Config {
    /// Checks what depends on several settings and converts units.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let workers_default = || std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            database_url: database::database_url(settings)?,
            api_key: settings.authentication_api_key.clone(),
            host: settings.host.clone(),
            port: settings.port,
            pool_size: settings.db_pool_size,
            pool_timeout: Duration::from_millis(settings.db_pool_timeout_ms),
            startup_timeout: Duration::from_secs(settings.db_startup_timeout_secs),
            statement_timeout: Duration::from_millis(settings.db_statement_timeout_ms),
            lock_timeout: Duration::from_millis(settings.db_lock_timeout_ms),
            transaction_pooler: settings.db_transaction_pooler,
            log_level: settings.log_level,
            log_bodies: settings.log_bodies,
            cors_origins: settings
                .cors_origins
                .clone()
                .map(|origins| origins.0)
                .unwrap_or_default(),
            metrics_public: settings.metrics_public,
            request_timeout: Duration::from_secs(settings.request_timeout_secs),
            shutdown_timeout: Duration::from_secs(settings.shutdown_timeout_secs),
            workers: settings.workers.unwrap_or_else(workers_default),
            max_connections: settings.max_connections,
            audit_retention_days: settings.audit_retention_days,
            default_time_zone: settings.default_time_zone,
            painel_session_idle: Duration::from_secs(60 * settings.painel_session_idle_minutes),
            pipedrive: pipedrive::pipedrive(settings)?,
        })
    }

    /// The database URL with any password replaced, for logs.
    pub fn redacted_database_url(&self) -> String {
        database::redacted(&self.database_url)
    }
}

/// Why the command line and the environment were not accepted.
#[derive(Debug)]
pub enum Rejected {
    /// A usage mistake, or `--help`/`--version`: clap prints it and exits.
    Usage(clap::Error),
    /// A setting's value is wrong: one line, exit status 2.
    Invalid(ConfigError),
}

impl From<ConfigError> for Rejected {
    fn from(error: ConfigError) -> Self {
        Self::Invalid(error)
    }
}

/// Reads the command line and the process environment, after loading `.env` from the working
/// directory if there is one (variables already set win over the file).
pub fn read<I, T>(args: I) -> Result<(Cli, Config), Rejected>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            return Err(ConfigError::new(".env", error.to_string()).into());
        }
    }
    parse(Cli::command().mut_args(ignore_blank_env), args)
}

/// Parses `args` with `command` (the [`Cli`]'s, whose arguments read the environment when the
/// command was built).
fn parse<I, T>(command: clap::Command, args: I) -> Result<(Cli, Config), Rejected>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command.try_get_matches_from(args).map_err(rejected)?;
    let cli = Cli::from_arg_matches(&matches).map_err(Rejected::Usage)?;
    let config = Config::from_settings(&cli.settings)?;
    Ok((cli, config))
}

/// A blank variable counts as unset (so its default applies). A password is taken as it is:
/// only an empty one is unset.
fn is_blank(variable: &OsStr, value: &OsStr) -> bool {
    if variable == "POSTGRES_PASSWORD" {
        value.is_empty()
    } else {
        value.to_string_lossy().trim().is_empty()
    }
}

fn ignore_blank_env(arg: Arg) -> Arg {
    let blank = arg
        .get_env()
        .is_some_and(|variable| std::env::var_os(variable).is_some_and(|v| is_blank(variable, &v)));
    if blank {
        arg.env(None::<&'static str>)
    } else {
        arg
    }
}

/// A value a parser of [`Settings`] refused becomes one line naming the variable (never
/// clap's own message, which repeats the value: it may be a secret); anything else is clap's.
fn rejected(error: clap::Error) -> Rejected {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        error.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return Rejected::Usage(error);
    }
    let long = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg
            .split(' ')
            .next()
            .unwrap_or_default()
            .trim_start_matches("--")
            .to_owned(),
        _ => return Rejected::Usage(error),
    };
    let command = Cli::command();
    let Some(arg) = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long.as_str()))
    else {
        return Rejected::Usage(error);
    };
    let variable = arg.get_env().map_or_else(
        || format!("--{long}"),
        |env| env.to_string_lossy().into_owned(),
    );
    let problem = std::error::Error::source(&error)
        .map_or_else(|| "is not a valid value".to_owned(), ToString::to_string);
    Rejected::Invalid(ConfigError { variable, problem })
}

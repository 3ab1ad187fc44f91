//! Every setting, declared once: its environment variable, command-line option, default, range
//! and help text. `consultores --help` (and the help of every command) lists them all.
//!
//! Values are checked here, one at a time, by the parsers of [`super::parsers`]; what depends on
//! several settings (the `POSTGRES_*` URL, the Pipedrive integration) is checked when the
//! [`super::Config`] is built from them.

use clap::Args;
use consultores_domain::{Language, Zone};
use secrecy::SecretString;

use super::parsers::{
    boolean, database_url, language, log_level, origins, pipedrive_token, secret, text, time_zone,
    whole, Origins,
};
use super::LogLevel;

/// Where the embedded default keeps its data when nothing is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/consultores.db";

/// The settings, from the command line or else from the environment (and `.env`). A blank
/// variable counts as unset.
#[derive(Debug, Clone, Args)]
#[command(
    next_help_heading = "Configuration (each option can be given by its environment variable)"
)]
pub struct Settings {
    /// postgres://user:password@host:5432/database, postgresql://… or sqlite://path (file and
    /// folder created if missing) [default: sqlite://./data/consultores.db, or the POSTGRES_*
    /// variables when POSTGRES_HOST is set]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true,
        value_parser = database_url)]
    pub database_url: Option<SecretString>,
    /// The v6 variables, used when DATABASE_URL is not set: the PostgreSQL host
    #[arg(long, env = "POSTGRES_HOST", global = true, value_parser = text)]
    pub postgres_host: Option<String>,
    /// With POSTGRES_HOST: the port
    #[arg(long, env = "POSTGRES_PORT", global = true, default_value_t = 5432,
        value_parser = whole::<u16>(1, u16::MAX))]
    pub postgres_port: u16,
    /// With POSTGRES_HOST: the user (required)
    #[arg(long, env = "POSTGRES_USERNAME", global = true, value_parser = text)]
    pub postgres_username: Option<String>,
    /// With POSTGRES_HOST: the password
    #[arg(long, env = "POSTGRES_PASSWORD", global = true, hide_env_values = true,
        value_parser = secret)]
    pub postgres_password: Option<SecretString>,
    /// With POSTGRES_HOST: the database (required)
    #[arg(long, env = "POSTGRES_DATABASE", global = true, value_parser = text)]
    pub postgres_database: Option<String>,
    /// With POSTGRES_HOST: libpq's sslmode (disable, allow, prefer, require, verify-ca,
    /// verify-full)
    #[arg(long, env = "POSTGRES_SSLMODE", global = true, value_parser = text)]
    pub postgres_sslmode: Option<String>,
    /// With POSTGRES_HOST: the CA file (or `system`)
    #[arg(long, env = "POSTGRES_SSLROOTCERT", global = true, value_parser = text)]
    pub postgres_sslrootcert: Option<String>,
    /// With POSTGRES_HOST: the client certificate
    #[arg(long, env = "POSTGRES_SSLCERT", global = true, value_parser = text)]
    pub postgres_sslcert: Option<String>,
    /// With POSTGRES_HOST: the client certificate's key
    #[arg(long, env = "POSTGRES_SSLKEY", global = true, value_parser = text)]
    pub postgres_sslkey: Option<String>,
    /// A key with the admin scope, compared in constant time; other keys live hashed in the
    /// database
    #[arg(long, env = "AUTHENTICATION_API_KEY", global = true, hide_env_values = true,
        value_parser = secret)]
    pub authentication_api_key: Option<SecretString>,
    /// Address to listen on (0.0.0.0 in containers)
    #[arg(long, env = "HOST", global = true, default_value = "127.0.0.1", value_parser = text)]
    pub host: String,
    /// Port to listen on
    #[arg(long, env = "PORT", global = true, default_value_t = 8000,
        value_parser = whole::<u16>(1, u16::MAX))]
    pub port: u16,
    /// Database connections per process (1 to 1000)
    #[arg(long, env = "DB_POOL_SIZE", global = true, default_value_t = 16,
        value_parser = whole::<u32>(1, 1000))]
    pub db_pool_size: u32,
    /// Longest wait for a connection, in ms; past it a request gets 503 (100 to 600000)
    #[arg(long, env = "DB_POOL_TIMEOUT_MS", global = true, default_value_t = 5000,
        value_parser = whole::<u64>(100, 600_000))]
    pub db_pool_timeout_ms: u64,
    /// PostgreSQL statement_timeout of every session, in ms (100 to 3600000)
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_MS", global = true, default_value_t = 10_000,
        value_parser = whole::<u64>(100, 3_600_000))]
    pub db_statement_timeout_ms: u64,
    /// PostgreSQL lock_timeout of every session, in ms (100 to 3600000)
    #[arg(long, env = "DB_LOCK_TIMEOUT_MS", global = true, default_value_t = 5000,
        value_parser = whole::<u64>(100, 3_600_000))]
    pub db_lock_timeout_ms: u64,
    /// true when DATABASE_URL points at PgBouncer or a pooler in transaction mode
    #[arg(long, env = "DB_TRANSACTION_POOLER", global = true, default_value_t = false,
        action = clap::ArgAction::Set, value_parser = boolean)]
    pub db_transaction_pooler: bool,
    /// How long start-up keeps retrying a database that is not up yet, in seconds (0 to 3600)
    #[arg(long, env = "DB_STARTUP_TIMEOUT_SECS", global = true, default_value_t = 60,
        value_parser = whole::<u64>(0, 3600))]
    pub db_startup_timeout_secs: u64,
    /// trace, debug, info, warning, error or critical
    #[arg(long, env = "LOG_LEVEL", global = true, default_value = "info",
        value_parser = log_level)]
    pub log_level: LogLevel,
    /// Also log request and response bodies (key-like fields replaced by ***)
    #[arg(long, env = "LOG_BODIES", global = true, default_value_t = false,
        action = clap::ArgAction::Set, value_parser = boolean)]
    pub log_bodies: bool,
    /// Comma-separated origins allowed to call the API from a browser [default: none]
    #[arg(long, env = "CORS_ORIGINS", global = true, value_parser = origins)]
    pub cors_origins: Option<Origins>,
    /// Serve /metrics without an API key
    #[arg(long, env = "METRICS_PUBLIC", global = true, default_value_t = false,
        action = clap::ArgAction::Set, value_parser = boolean)]
    pub metrics_public: bool,
    /// Time a client has to send its request head, then its body; also the keep-alive idle
    /// time, in seconds (1 to 3600)
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", global = true, default_value_t = 30,
        value_parser = whole::<u64>(1, 3600))]
    pub request_timeout_secs: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish, in seconds (0 to 3600)
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", global = true, default_value_t = 30,
        value_parser = whole::<u64>(0, 3600))]
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads (1 to 256) [default: number of CPUs]
    #[arg(long, env = "WORKERS", global = true, value_parser = whole::<usize>(1, 256))]
    pub workers: Option<usize>,
    /// Open connections per worker before new ones wait (1 to 1000000)
    #[arg(long, env = "MAX_CONNECTIONS", global = true, default_value_t = 25_000,
        value_parser = whole::<usize>(1, 1_000_000))]
    pub max_connections: usize,
    /// IANA zone of consultants without a fuso_horario of their own, and of report days when a
    /// request names none
    #[arg(long, env = "DEFAULT_TIME_ZONE", global = true, default_value = "America/Sao_Paulo",
        value_parser = time_zone)]
    pub default_time_zone: Zone,
    /// An operations-page session unused this long is over, in minutes (1 to 1440)
    #[arg(long, env = "PAINEL_SESSION_IDLE_MINUTES", global = true, default_value_t = 30,
        value_parser = whole::<u64>(1, 1440))]
    pub painel_session_idle_minutes: u64,
    /// Delete audit entries older than this many days, hourly in the background (1 to 36500)
    /// [default: keep forever]
    #[arg(long, env = "AUDIT_RETENTION_DAYS", global = true,
        value_parser = whole::<u32>(1, 36_500))]
    pub audit_retention_days: Option<u32>,
    /// A Pipedrive user's personal API token; turns the Pipedrive integration on [default:
    /// integration off]
    #[arg(long, env = "PIPEDRIVE_API_TOKEN", global = true, hide_env_values = true,
        value_parser = pipedrive_token)]
    pub pipedrive_api_token: Option<SecretString>,
    /// The company domain, e.g. https://acme.pipedrive.com; required with the token
    #[arg(long, env = "PIPEDRIVE_BASE_URL", global = true, value_parser = text)]
    pub pipedrive_base_url: Option<String>,
    /// Limit of one call to Pipedrive, in seconds (1 to 300)
    #[arg(long, env = "PIPEDRIVE_TIMEOUT_SECS", global = true, default_value_t = 10,
        value_parser = whole::<u64>(1, 300))]
    pub pipedrive_timeout_secs: u64,
    /// Basic-auth user of POST /webhooks/pipedrive (with the password; no ':') [default:
    /// webhook off]
    #[arg(long, env = "PIPEDRIVE_WEBHOOK_USER", global = true, value_parser = text)]
    pub pipedrive_webhook_user: Option<String>,
    /// Basic-auth password of POST /webhooks/pipedrive (with the user)
    #[arg(long, env = "PIPEDRIVE_WEBHOOK_PASSWORD", global = true, hide_env_values = true,
        value_parser = secret)]
    pub pipedrive_webhook_password: Option<SecretString>,
    /// Key of the deal/lead custom field that holds the contact's language
    #[arg(long, env = "PIPEDRIVE_LANGUAGE_FIELD", global = true, value_parser = text)]
    pub pipedrive_language_field: Option<String>,
    /// Language (pt, en, pt-br, …) of created deals and leads whose field is empty
    #[arg(long, env = "PIPEDRIVE_DEFAULT_LANGUAGE", global = true, value_parser = language)]
    pub pipedrive_default_language: Option<Language>,
    /// Write the protocol note as the consultant (needs an admin's token)
    #[arg(long, env = "PIPEDRIVE_NOTE_AS_CONSULTANT", global = true, default_value_t = false,
        action = clap::ArgAction::Set, value_parser = boolean)]
    pub pipedrive_note_as_consultant: bool,
}

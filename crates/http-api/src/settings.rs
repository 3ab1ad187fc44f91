//! How the HTTP server behaves: keys, limits, timeouts, CORS. The app crate fills it from the
//! environment; tests build it directly.

use std::time::Duration;

use crate::auth_costs::AuthCosts;

/// Settings of the HTTP adapter. [`Default`] is the safe production default: no configured key,
/// no body logging, CORS off, 64 KiB bodies, `/metrics` behind a key, 30 s request and shutdown
/// timeouts, one worker per CPU, 25,000 connections per worker and `America/Sao_Paulo` days.
#[derive(Clone)]
pub struct HttpSettings {
    /// `AUTHENTICATION_API_KEY`: a key with the `admin` scope that is not stored in the database.
    pub configured_api_key: Option<String>,
    /// Log request and response bodies (never the `api-key` header).
    pub log_bodies: bool,
    /// Origins allowed by CORS; empty turns CORS off.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted; larger bodies get 413.
    pub payload_limit_bytes: usize,
    /// `true` serves `/metrics` without an `api-key`.
    pub metrics_public: bool,
    /// How long a client may take to send a request's head, and then its body; also how long
    /// an idle keep-alive connection stays open.
    pub request_timeout: Duration,
    /// How long a graceful stop waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Number of actix worker threads.
    pub workers: usize,
    /// Maximum concurrent connections per worker.
    pub max_connections: usize,
    /// How long a request waits for its database work before answering 503 (`None`: as long
    /// as it takes). Bounds requests when the database host goes silent.
    pub database_deadline: Option<Duration>,
    /// What authentication and `/ready` may cost the database.
    pub auth_costs: AuthCosts,
    /// `DEFAULT_TIME_ZONE`: the zone of local days when a request names none.
    pub default_time_zone: chrono_tz::Tz,
}

impl HttpSettings {
    /// The default body limit: 64 KiB.
    pub const DEFAULT_PAYLOAD_LIMIT_BYTES: usize = 64 * 1024;
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            configured_api_key: None,
            log_bodies: false,
            cors_origins: Vec::new(),
            payload_limit_bytes: Self::DEFAULT_PAYLOAD_LIMIT_BYTES,
            metrics_public: false,
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            max_connections: 25_000,
            database_deadline: None,
            auth_costs: AuthCosts::default(),
            default_time_zone: chrono_tz::America::Sao_Paulo,
        }
    }
}

/// A configured secret for `Debug`: whether there is one, never its value.
pub fn redacted<T>(secret: Option<T>) -> Option<&'static str> {
    secret.map(|_| "<redacted>")
}

impl std::fmt::Debug for HttpSettings {
    // The configured key is a secret: it never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field(
                "configured_api_key",
                &redacted(self.configured_api_key.as_ref()),
            )
            .field("log_bodies", &self.log_bodies)
            .field("cors_origins", &self.cors_origins)
            .field("payload_limit_bytes", &self.payload_limit_bytes)
            .field("metrics_public", &self.metrics_public)
            .field("request_timeout", &self.request_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("workers", &self.workers)
            .field("max_connections", &self.max_connections)
            .field("database_deadline", &self.database_deadline)
            .field("auth_costs", &self.auth_costs)
            .field("default_time_zone", &self.default_time_zone)
            .finish()
    }
}

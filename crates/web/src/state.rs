//! What the page's handlers share.

use std::sync::Arc;

use consultores_domain::{
    ApiKeyStore, AuditService, Clock, ConsultantService, ProtocolService, ReportService,
    WaitingQueueService, WebSessionStore,
};

/// How the page behaves.
#[derive(Clone)]
pub struct WebSettings {
    /// `AUTHENTICATION_API_KEY`, which may sign in too (as `admin`).
    pub configured_api_key: Option<String>,
    /// A session unused for this long is over.
    pub session_idle: chrono::Duration,
    /// The zone of the report's days when the form names none (`DEFAULT_TIME_ZONE`).
    pub default_time_zone: chrono_tz::Tz,
}

impl std::fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSettings")
            .field(
                "configured_api_key",
                &consultores_http::settings::redacted(self.configured_api_key.as_ref()),
            )
            .field("session_idle", &self.session_idle)
            .field("default_time_zone", &self.default_time_zone)
            .finish()
    }
}

impl Default for WebSettings {
    /// No configured key, 30 minutes of idle time, `America/Sao_Paulo`.
    fn default() -> Self {
        Self {
            configured_api_key: None,
            session_idle: chrono::Duration::minutes(30),
            default_time_zone: chrono_tz::America::Sao_Paulo,
        }
    }
}

/// The domain services and ports the page calls: the same ones as the JSON API.
#[derive(Clone)]
pub struct WebState {
    pub consultants: ConsultantService,
    pub protocols: ProtocolService,
    pub reports: ReportService,
    pub audit: AuditService,
    /// Read only here (contacts waiting per language); the dispatcher hands them out.
    pub waiting: WaitingQueueService,
    pub api_keys: Arc<dyn ApiKeyStore>,
    pub sessions: Arc<dyn WebSessionStore>,
    pub clock: Arc<dyn Clock>,
    pub settings: WebSettings,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

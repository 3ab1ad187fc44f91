//! How to reach one Pipedrive company.

use std::fmt;
use std::time::Duration;

use url::Url;

/// The connection settings of [`crate::PipedriveClient`].
///
/// `Debug` shows `api_token` as `[redacted]`: the token grants everything its user can do in the
/// company, so it never reaches a log line.
#[derive(Clone)]
pub struct PipedriveConfig {
    /// The personal API token (Settings > Personal preferences > API). Sent only in the
    /// `x-api-token` header.
    pub api_token: String,
    /// The company domain, e.g. `https://acme.pipedrive.com`. Request paths (`/api/v1/…`,
    /// `/api/v2/…`) replace any path it has.
    pub base_url: Url,
    /// The limit for one whole request (connect, send, read the answer).
    pub timeout: Duration,
    /// Write notes as the consultant (`user_id` of `POST /api/v1/notes`; needs an admin token)
    /// instead of as the token's user.
    pub note_as_consultant: bool,
}

impl PipedriveConfig {
    /// The timeout used when configuration does not set one.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Settings with [`PipedriveConfig::DEFAULT_TIMEOUT`].
    pub fn new(api_token: impl Into<String>, base_url: Url) -> Self {
        Self {
            api_token: api_token.into(),
            base_url,
            timeout: Self::DEFAULT_TIMEOUT,
            note_as_consultant: false,
        }
    }

    /// The same settings, writing notes as the consultant or not.
    pub fn with_note_as_consultant(mut self, note_as_consultant: bool) -> Self {
        self.note_as_consultant = note_as_consultant;
        self
    }

    /// The same settings with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl fmt::Debug for PipedriveConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipedriveConfig")
            .field("api_token", &"[redacted]")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .field("note_as_consultant", &self.note_as_consultant)
            .finish()
    }
}

/// Why a [`crate::PipedriveClient`] could not be built. Never carries the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The API token is empty or blank.
    #[error("o token da API do Pipedrive está vazio")]
    EmptyToken,
    /// The API token cannot travel in an HTTP header (control characters, non-ASCII).
    #[error("o token da API do Pipedrive contém caracteres inválidos")]
    InvalidToken,
    /// The base URL is not `http` or `https`, or has no host.
    #[error(
        "URL do Pipedrive inválida ({0}): use o domínio da empresa, ex. https://acme.pipedrive.com"
    )]
    InvalidBaseUrl(String),
    /// A zero timeout would fail every request.
    #[error("o timeout do Pipedrive deve ser maior que zero")]
    ZeroTimeout,
    /// The HTTP client could not be set up (TLS initialisation).
    #[error("não foi possível criar o cliente HTTP do Pipedrive: {0}")]
    HttpClient(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let config = PipedriveConfig::new(
            "s3cr3t-token-value",
            Url::parse("https://acme.pipedrive.com").unwrap(),
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-token-value"), "{shown}");
        assert!(shown.contains("[redacted]"));
        assert!(shown.contains("acme.pipedrive.com"));
    }

    #[test]
    fn defaults_to_a_ten_second_timeout() {
        let config = PipedriveConfig::new("t", Url::parse("https://acme.pipedrive.com").unwrap());
        assert_eq!(config.timeout, Duration::from_secs(10));
        let config = config.with_timeout(Duration::from_millis(250));
        assert_eq!(config.timeout, Duration::from_millis(250));
    }
}

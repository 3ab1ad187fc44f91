//! `PIPEDRIVE_*`: off without a token; with one, the company domain is required and the
//! webhook credentials come both or neither. No message ever contains the token or the password.

use std::time::Duration;

use consultores_domain::Language;
use secrecy::SecretString;

use super::settings::Settings;
use super::ConfigError;

/// The Pipedrive integration's settings. `Debug` never shows the token or the password
/// (`secrecy` redacts them).
#[derive(Debug, Clone)]
pub struct PipedriveSettings {
    /// `PIPEDRIVE_API_TOKEN`: sent only in the `x-api-token` header, never logged.
    pub api_token: SecretString,
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
#[derive(Debug, Clone)]
pub struct WebhookCredentials {
    pub user: String,
    pub password: SecretString,
}

pub(super) fn pipedrive(settings: &Settings) -> Result<Option<PipedriveSettings>, ConfigError> {
    let Some(api_token) = settings.pipedrive_api_token.clone() else {
        return Ok(None);
    };
    let raw_url = settings.pipedrive_base_url.as_deref().ok_or_else(|| {
        ConfigError::new(
            "PIPEDRIVE_BASE_URL",
            "must be set when PIPEDRIVE_API_TOKEN is: the company domain, like \
             https://acme.pipedrive.com",
        )
    })?;
    let base_url = url::Url::parse(raw_url)
        .ok()
        .filter(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && !url.cannot_be_a_base()
        })
        .ok_or_else(|| {
            ConfigError::new(
                "PIPEDRIVE_BASE_URL",
                format!(
                    "must be the company domain, like https://acme.pipedrive.com (got {raw_url:?})"
                ),
            )
        })?;
    let webhook = match (
        settings.pipedrive_webhook_user.clone(),
        settings.pipedrive_webhook_password.clone(),
    ) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::new(
                "PIPEDRIVE_WEBHOOK_PASSWORD",
                "must be set when PIPEDRIVE_WEBHOOK_USER is (both or neither)",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "PIPEDRIVE_WEBHOOK_USER",
                "must be set when PIPEDRIVE_WEBHOOK_PASSWORD is (both or neither)",
            ))
        }
        (Some(user), Some(_)) if user.contains(':') => {
            return Err(ConfigError::new(
                "PIPEDRIVE_WEBHOOK_USER",
                "must not contain ':' (HTTP basic auth separates user and password with it)",
            ))
        }
        (Some(user), Some(password)) => Some(WebhookCredentials { user, password }),
    };
    Ok(Some(PipedriveSettings {
        api_token,
        base_url,
        timeout: Duration::from_secs(settings.pipedrive_timeout_secs),
        webhook,
        language_field: settings.pipedrive_language_field.clone(),
        default_language: settings.pipedrive_default_language.clone(),
        note_as_consultant: settings.pipedrive_note_as_consultant,
    }))
}

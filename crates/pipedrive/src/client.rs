//! The blocking Pipedrive client: the domain's [`CrmGateway`] plus the calls operators need.
//!
//! Endpoints (Pipedrive API reference, <https://developers.pipedrive.com/docs/api/v1> and
//! <https://developers.pipedrive.com/docs/api/v2>):
//! - deal owner: `PATCH /api/v2/deals/{id}` (`updateDeal` v2; the v1 `PUT` is being retired),
//! - person owner: `PATCH /api/v2/persons/{id}` (`updatePerson` v2),
//! - lead owner: `PATCH /api/v1/leads/{uuid}` (`updateLead`),
//! - notes: `POST /api/v1/notes` (`addNote`; `content` plus one of `deal_id`/`lead_id`/`person_id`),
//! - users: `GET /api/v1/users` (`getUsers`),
//! - webhooks: `POST`/`GET /api/v1/webhooks`, `DELETE /api/v1/webhooks/{id}` (`addWebhook`,
//!   `getWebhooks`, `deleteWebhook`),
//! - custom field options: `GET /api/v1/dealFields` (`getDealFields`; leads share deal fields).

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use consultores_domain::CrmError;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{redirect, Method};
use serde_json::{json, Value};
use url::Url;

use crate::backoff::Backoff;
use crate::classify::{classify_status, is_block_page, status_reason, BLOCK_PAUSE_SECS};
use crate::config::{ConfigError, PipedriveConfig};
use crate::rate_limit::{parse_retry_after, RateLimit};
use crate::wire::{field_options_in, Envelope, FieldOption, Webhook};

mod crm;

#[cfg(test)]
use crm::{lead_id, plain_text_as_html, positive};

/// The header Pipedrive reads the API token from
/// (<https://pipedrive.readme.io/docs/core-api-concepts-authentication>). The `api_token` query
/// parameter also works, but would put the token in every URL, access log and error message.
const TOKEN_HEADER: &str = "x-api-token";

/// A bound on list pagination, so a misbehaving server cannot keep the worker paging forever.
const MAX_PAGES: usize = 50;

/// Page size for `GET /api/v1/dealFields` (Pipedrive accepts up to 500).
const FIELDS_PAGE_SIZE: u32 = 500;

/// Talks to one Pipedrive company over HTTPS, blocking the calling thread (the port is called
/// from the background delivery worker, never from a request handler).
///
/// Guarantees: the API token travels only in the `x-api-token` header (never in a URL), never
/// appears in `Debug` output nor in an error's reason; redirects are not followed (a redirect
/// would carry the token header to wherever it points); every request is bounded by the
/// configured timeout.
///
/// Like every `reqwest::blocking` client it runs a small runtime of its own: call it, and drop
/// it, from a plain thread (the worker, `web::block`, `spawn_blocking`), never from an async
/// task, where reqwest panics.
pub struct PipedriveClient {
    http: Client,
    base_url: Url,
    timeout: Duration,
    /// Kept only to scrub it from error texts, as a last line of defence.
    api_token: String,
    last_rate_limit: Mutex<Option<RateLimit>>,
    /// The pause the answers so far asked for (only ever extended until it has run out).
    pause: Mutex<Option<Asked>>,
    /// 429s in a row, for the pause after a 429 that says nothing about how long to wait.
    throttled_in_a_row: AtomicU32,
    /// Notes carry the consultant as their author (`user_id`).
    note_as_consultant: bool,
}

/// A pause Pipedrive asked for, counting down from the answer that asked (not from whenever
/// someone asks).
#[derive(Debug, Clone)]
struct Asked {
    until: Instant,
    reason: String,
    serial: u64,
}

/// The pause of every call that Pipedrive's answers asked for: a spent budget
/// (`x-ratelimit-remaining: 0`, `x-daily-requests-left: 0`), any 429, a block page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseAsked {
    /// How much of it is left.
    pub remaining: Duration,
    /// The answer that asked for it, for the operator.
    pub reason: String,
    /// Grows with every new pause, so a caller can tell a new one from one it has seen.
    pub serial: u64,
}
impl fmt::Debug for PipedriveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipedriveClient")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .field("api_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl PipedriveClient {
    /// Builds a client; checks that the token is usable in a header, the base URL is an
    /// `http(s)` address with a host, and the timeout is not zero.
    pub fn new(config: PipedriveConfig) -> Result<Self, ConfigError> {
        let PipedriveConfig {
            api_token,
            mut base_url,
            timeout,
            note_as_consultant,
        } = config;
        let api_token = api_token.trim().to_owned();
        if api_token.is_empty() {
            return Err(ConfigError::EmptyToken);
        }
        if !matches!(base_url.scheme(), "http" | "https")
            || base_url.host_str().is_none()
            || base_url.cannot_be_a_base()
        {
            return Err(ConfigError::InvalidBaseUrl(base_url.to_string()));
        }
        if timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        base_url.set_path("");
        base_url.set_query(None);
        base_url.set_fragment(None);

        let mut token = HeaderValue::from_str(&api_token).map_err(|_| ConfigError::InvalidToken)?;
        // Sensitive values are left out of reqwest's and hyper's Debug output.
        token.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(TOKEN_HEADER, token);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let http = Client::builder()
            .default_headers(headers)
            .user_agent(concat!("consultores-pipedrive/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|error| ConfigError::HttpClient(error_chain(&error)))?;

        Ok(Self {
            http,
            base_url,
            timeout,
            api_token,
            last_rate_limit: Mutex::new(None),
            pause: Mutex::new(None),
            throttled_in_a_row: AtomicU32::new(0),
            note_as_consultant,
        })
    }

    /// The company domain requests go to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The rate-limit state of the latest answer (any status), `None` before the first one.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        *self
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The pause the answers so far asked for, while some of it is left: the burst window or
    /// the daily count spent, any 429 (however much burst room its headers show: Pipedrive
    /// blocks tokens whose traffic goes on after 429s; `Retry-After` or `x-ratelimit-reset`
    /// when given, else a backoff that grows with each 429 in a row), or the block page
    /// ([`BLOCK_PAUSE_SECS`]).
    pub fn pause_asked(&self) -> Option<PauseAsked> {
        let pause = self.pause.lock().unwrap_or_else(PoisonError::into_inner);
        let asked = pause.as_ref()?;
        let remaining = asked.until.checked_duration_since(Instant::now())?;
        (!remaining.is_zero()).then(|| PauseAsked {
            remaining,
            reason: asked.reason.clone(),
            serial: asked.serial,
        })
    }

    /// How much of the pause asked for is left ([`Self::pause_asked`]).
    pub fn pause_remaining(&self) -> Option<Duration> {
        self.pause_asked().map(|pause| pause.remaining)
    }

    /// Registers a webhook v2 (`POST /api/v1/webhooks`) delivering `event_action.event_object`
    /// events (e.g. `create` + `deal`) to `subscription_url`, which Pipedrive calls with HTTP
    /// basic auth (`http_auth_user`/`http_auth_password`), its only protection: webhooks are
    /// unsigned. Pipedrive requires a public `https` URL that does not redirect, and allows 40
    /// webhooks per user (422 past that).
    pub fn register_webhook(
        &self,
        subscription_url: &str,
        http_auth_user: &str,
        http_auth_password: &str,
        event_action: &str,
        event_object: &str,
    ) -> Result<Webhook, CrmError> {
        let body = json!({
            "subscription_url": subscription_url,
            "event_action": event_action,
            "event_object": event_object,
            // Required by the current API reference; shown in Settings > Webhooks.
            "name": format!("consultores {event_action}.{event_object}"),
            // v2 is the default since March 2025, but older accounts may still default to v1,
            // whose payload the webhook parser rejects.
            "version": "2.0",
            "http_auth_user": http_auth_user,
            "http_auth_password": http_auth_password,
        });
        let url = self.url(&["api", "v1", "webhooks"])?;
        let envelope = self.call(Method::POST, url, Some(&body))?;
        decode(envelope.data, "webhook")
    }

    /// The company's webhooks (`GET /api/v1/webhooks`), so a setup can skip one that exists.
    pub fn list_webhooks(&self) -> Result<Vec<Webhook>, CrmError> {
        let url = self.url(&["api", "v1", "webhooks"])?;
        let envelope = self.call(Method::GET, url, None)?;
        decode_list(envelope.data, "webhooks")
    }

    /// Deletes a webhook (`DELETE /api/v1/webhooks/{id}`).
    pub fn delete_webhook(&self, id: i64) -> Result<(), CrmError> {
        let url = self.url(&["api", "v1", "webhooks", &id.to_string()])?;
        self.call(Method::DELETE, url, None).map(drop)
    }

    /// The options of a single or multiple option deal field (`GET /api/v1/dealFields`), to turn
    /// the option ids of webhook payloads into labels. Leads share the deal fields. An unknown
    /// key is a permanent error; a field without options gives an empty list. Only this field's
    /// options are decoded, so built-in fields of other shapes never get in the way.
    pub fn field_options(&self, field_key: &str) -> Result<Vec<FieldOption>, CrmError> {
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["api", "v1", "dealFields"])?;
            url.query_pairs_mut()
                .append_pair("start", &start.to_string())
                .append_pair("limit", &FIELDS_PAGE_SIZE.to_string());
            let envelope = self.call(Method::GET, url, None)?;
            let next = envelope.next_start();
            let fields: Vec<Value> = decode_list(envelope.data, "dealFields")?;
            if let Some(options) = field_options_in(&fields, field_key) {
                return Ok(options);
            }
            match next {
                Some(next) if next > start => start = next,
                _ => break,
            }
        }
        Err(CrmError::Permanent {
            reason: format!("o campo {field_key} não existe nos campos de negócio do Pipedrive"),
        })
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url, CrmError> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| CrmError::Permanent {
                reason: format!("URL do Pipedrive inválida: {}", self.base_url),
            })?
            .clear()
            // Each segment is percent-encoded, so an id cannot reach another path.
            .extend(segments);
        Ok(url)
    }

    fn record_url(&self, version: &str, collection: &str, id: &str) -> Result<Url, CrmError> {
        self.url(&["api", version, collection, id])
    }

    /// Sends one request and returns the envelope of a 2xx answer; any other outcome becomes a
    /// classified [`CrmError`].
    pub(crate) fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Envelope, CrmError> {
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .map_err(|error| self.transport_error(&error))?;
        self.read(response).map_err(|error| self.scrub(error))
    }

    fn read(&self, response: Response) -> Result<Envelope, CrmError> {
        let status = response.status();
        let rate_limit = RateLimit::from_headers(response.headers());
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let text = response
            .text()
            .map_err(|error| self.transport_error(&error))?;
        *self
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(rate_limit);
        let pause = self.pause_for(status.as_u16(), retry_after, &rate_limit, &text);
        if let Some((secs, reason)) = &pause {
            self.extend_pause(*secs, reason);
        }

        if !status.is_success() {
            let wait = pause.map(|(secs, _)| secs).max(retry_after);
            return Err(classify_status(status.as_u16(), wait, &text));
        }
        if text.trim().is_empty() {
            return Ok(Envelope::default());
        }
        let envelope: Envelope = serde_json::from_str(&text).map_err(|_| CrmError::Permanent {
            reason: format!("resposta inesperada do Pipedrive ({status}): não é JSON"),
        })?;
        if envelope.success == Some(false) {
            return Err(CrmError::Permanent {
                reason: status_reason(status.as_u16(), &text),
            });
        }
        Ok(envelope)
    }

    /// The pause of every call an answer asks for, in seconds, with the reason.
    fn pause_for(
        &self,
        status: u16,
        retry_after: Option<u64>,
        rate_limit: &RateLimit,
        body: &str,
    ) -> Option<(u64, String)> {
        if status == 429 {
            let in_a_row = self
                .throttled_in_a_row
                .fetch_add(1, Ordering::SeqCst)
                .saturating_add(1);
            let asked = retry_after
                .max(rate_limit.pause_secs())
                .max(rate_limit.reset_secs);
            let secs = asked
                .unwrap_or_else(|| Backoff::default().next_delay(in_a_row, None).as_secs())
                .max(1);
            return Some((
                secs,
                format!(
                    "{}; todas as chamadas ao Pipedrive pausadas por {secs} s",
                    status_reason(status, body)
                ),
            ));
        }
        if is_block_page(status, body) {
            let secs = retry_after.unwrap_or(0).max(BLOCK_PAUSE_SECS);
            return Some((
                secs,
                format!(
                    "Pipedrive respondeu 403 com uma página de bloqueio, não com a resposta de \
                     erro da API (token bloqueado, provavelmente por requisições após 429); \
                     todas as chamadas pausadas por {} min",
                    secs / 60
                ),
            ));
        }
        if (200..300).contains(&status) {
            self.throttled_in_a_row.store(0, Ordering::SeqCst);
        }
        rate_limit.pause_secs().map(|secs| {
            (
                secs,
                format!(
                    "limite de requisições do Pipedrive esgotado (x-ratelimit-remaining: {}, \
                     x-daily-requests-left: {}); chamadas pausadas por {secs} s",
                    shown(rate_limit.remaining),
                    shown(rate_limit.daily_left)
                ),
            )
        })
    }

    /// Makes the pause last at least `secs` from now.
    fn extend_pause(&self, secs: u64, reason: &str) {
        let until = Instant::now() + Duration::from_secs(secs);
        let mut pause = self.pause.lock().unwrap_or_else(PoisonError::into_inner);
        if pause.as_ref().is_some_and(|asked| asked.until >= until) {
            return;
        }
        let serial = pause.as_ref().map_or(0, |asked| asked.serial) + 1;
        *pause = Some(Asked {
            until,
            reason: reason.to_owned(),
            serial,
        });
    }

    /// Network trouble of any kind (refused, reset, DNS, TLS, timeout) is worth a retry.
    fn transport_error(&self, error: &reqwest::Error) -> CrmError {
        let reason = if error.is_timeout() {
            format!(
                "o Pipedrive não respondeu em {} ms (timeout)",
                self.timeout.as_millis()
            )
        } else {
            format!(
                "falha de rede ao chamar o Pipedrive: {}",
                error_chain(error)
            )
        };
        self.scrub(CrmError::Transient {
            reason,
            retry_after_secs: None,
        })
    }

    /// Removes the token from a reason, should any text ever echo it.
    fn scrub(&self, error: CrmError) -> CrmError {
        let clean = |reason: String| reason.replace(&self.api_token, "[redacted]");
        match error {
            CrmError::Transient {
                reason,
                retry_after_secs,
            } => CrmError::Transient {
                reason: clean(reason),
                retry_after_secs,
            },
            CrmError::Permanent { reason } => CrmError::Permanent {
                reason: clean(reason),
            },
        }
    }
}

/// A header's value for a reason, `-` when absent.
fn shown(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(data: Value, what: &str) -> Result<T, CrmError> {
    serde_json::from_value(data).map_err(|error| CrmError::Permanent {
        reason: format!("resposta inesperada do Pipedrive em {what}: {error}"),
    })
}

fn decode_list<T: serde::de::DeserializeOwned>(
    data: Value,
    what: &str,
) -> Result<Vec<T>, CrmError> {
    // An empty collection comes back as `"data": null`.
    if data.is_null() {
        return Ok(Vec::new());
    }
    decode(data, what)
}

/// An error and its causes, joined: reqwest's own text ("error sending request") hides the
/// useful part ("connection refused") in the source chain.
fn error_chain(error: &dyn std::error::Error) -> String {
    consultores_domain::error_chain(error)
}

#[cfg(test)]
mod tests;

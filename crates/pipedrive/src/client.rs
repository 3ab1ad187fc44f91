//! The blocking Pipedrive client: the domain's [`CrmGateway`] plus the calls operators need.
//!
//! Endpoints (Pipedrive API reference, <https://developers.pipedrive.com/docs/api/v1> and
//! <https://developers.pipedrive.com/docs/api/v2>):
//! - deal owner: `PATCH /api/v2/deals/{id}` (`updateDeal` v2; the v1 `PUT` is being retired),
//! - person owner: `PATCH /api/v2/persons/{id}` (`updatePerson` v2),
//! - lead owner: `PATCH /api/v1/leads/{uuid}` (`updateLead`),
//! - notes: `POST /api/v1/notes` (`addNote`; `content` plus one of `deal_id`/`lead_id`/`person_id`),
//! - users: `GET /api/v1/users` (`getUsers`),
//! - webhooks: `POST`/`GET /api/v1/webhooks` (`addWebhook`, `getWebhooks`),
//! - custom field options: `GET /api/v1/dealFields` (`getDealFields`; leads share deal fields).

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use consultores_domain::{CrmError, CrmGateway, CrmTarget, CrmThrottle, CrmUser, PipedriveUserId};
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{redirect, Method};
use serde_json::{json, Value};
use url::Url;

use crate::classify::{classify_status, status_reason};
use crate::config::{ConfigError, PipedriveConfig};
use crate::rate_limit::{parse_retry_after, unix_now, RateLimit};
use crate::wire::{field_options_in, Envelope, FieldOption, UserDto, Webhook};

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
    last_rate_limit: Mutex<Option<Observed>>,
}

/// A rate-limit state and when it was read, so a pause counts down from the answer that
/// announced it (not from whenever someone asks).
#[derive(Debug, Clone, Copy)]
struct Observed {
    rate_limit: RateLimit,
    at: Instant,
    unix_secs: u64,
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
        })
    }

    /// The company domain requests go to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The rate-limit state of the latest answer (any status), `None` before the first one.
    /// The worker checks [`RateLimit::pause`] on it to stop before Pipedrive answers 429.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.observed().map(|observed| observed.rate_limit)
    }

    /// How much of the pause asked for by the latest answer is left: `None` when that answer
    /// left budget, or its pause has run out. Unlike [`RateLimit::pause`] on
    /// [`Self::last_rate_limit`], this counts down from the moment the answer arrived, so a
    /// worker that waited the pause out may call again.
    pub fn pause_remaining(&self) -> Option<Duration> {
        let observed = self.observed()?;
        let pause = Duration::from_secs(observed.rate_limit.pause_secs_at(observed.unix_secs)?);
        pause
            .checked_sub(observed.at.elapsed())
            .filter(|left| !left.is_zero())
    }

    fn observed(&self) -> Option<Observed> {
        *self
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    fn url(&self, segments: &[&str]) -> Result<Url, CrmError> {
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
    fn call(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Envelope, CrmError> {
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
        self.remember(rate_limit);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let text = response
            .text()
            .map_err(|error| self.transport_error(&error))?;

        if !status.is_success() {
            return Err(classify_status(
                status.as_u16(),
                retry_after,
                &rate_limit,
                &text,
                unix_now(),
            ));
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

    fn remember(&self, rate_limit: RateLimit) {
        *self
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Observed {
            rate_limit,
            at: Instant::now(),
            unix_secs: unix_now(),
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

impl CrmGateway for PipedriveClient {
    /// `PATCH /api/v2/deals/{id}`, `PATCH /api/v2/persons/{id}` or `PATCH /api/v1/leads/{uuid}`
    /// with `{"owner_id": N}`. Idempotent: repeating it leaves the same owner.
    fn set_owner(&self, target: &CrmTarget, owner: PipedriveUserId) -> Result<(), CrmError> {
        let url = match target {
            CrmTarget::Deal(id) => {
                self.record_url("v2", "deals", &positive(*id, "negócio")?.to_string())?
            }
            CrmTarget::Person(id) => {
                self.record_url("v2", "persons", &positive(*id, "pessoa")?.to_string())?
            }
            // Leads have no v2 update endpoint; v1 PATCH is the current one.
            CrmTarget::Lead(uuid) => self.record_url("v1", "leads", &lead_id(uuid)?)?,
        };
        let body = json!({ "owner_id": owner.get() });
        self.call(Method::PATCH, url, Some(&body)).map(drop)
    }

    /// `POST /api/v1/notes` with `content` and exactly one of `deal_id`, `lead_id`, `person_id`.
    /// The text is HTML-escaped (Pipedrive reads `content` as HTML), so it shows as written.
    /// Not idempotent: a retry after a lost answer may add the note twice.
    fn add_note(&self, target: &CrmTarget, content: &str) -> Result<(), CrmError> {
        let content = plain_text_as_html(content);
        let body = match target {
            CrmTarget::Deal(id) => {
                json!({ "content": content, "deal_id": positive(*id, "negócio")? })
            }
            CrmTarget::Lead(uuid) => json!({ "content": content, "lead_id": lead_id(uuid)? }),
            CrmTarget::Person(id) => {
                json!({ "content": content, "person_id": positive(*id, "pessoa")? })
            }
        };
        let url = self.url(&["api", "v1", "notes"])?;
        self.call(Method::POST, url, Some(&body)).map(drop)
    }

    /// `GET /api/v1/users`: every user of the company, active or not. The endpoint is not
    /// documented as paginated; pages are followed anyway should the envelope announce more.
    fn list_users(&self) -> Result<Vec<CrmUser>, CrmError> {
        let mut users = Vec::new();
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["api", "v1", "users"])?;
            if start > 0 {
                url.query_pairs_mut()
                    .append_pair("start", &start.to_string());
            }
            let envelope = self.call(Method::GET, url, None)?;
            let next = envelope.next_start();
            let page: Vec<UserDto> = decode_list(envelope.data, "users")?;
            users.extend(page.into_iter().filter_map(UserDto::into_domain));
            match next {
                Some(next) if next > start => start = next,
                _ => break,
            }
        }
        Ok(users)
    }
}

impl CrmThrottle for PipedriveClient {
    /// [`PipedriveClient::pause_remaining`]: the rest of the pause the latest answer asked for
    /// (a spent burst window or daily budget).
    fn pause(&self) -> Option<Duration> {
        self.pause_remaining()
    }
}

fn positive(id: i64, what: &str) -> Result<i64, CrmError> {
    if id > 0 {
        Ok(id)
    } else {
        Err(CrmError::Permanent {
            reason: format!("id de {what} inválido: {id}"),
        })
    }
}

fn lead_id(uuid: &str) -> Result<String, CrmError> {
    let uuid = uuid.trim();
    if uuid.is_empty() {
        Err(CrmError::Permanent {
            reason: "id de lead vazio".into(),
        })
    } else {
        Ok(uuid.to_owned())
    }
}

/// Escapes the characters HTML gives meaning to and keeps line breaks visible.
fn plain_text_as_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\n' => html.push_str("<br>"),
            '\r' => {}
            other => html.push(other),
        }
    }
    html
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
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_text_is_escaped_for_html() {
        assert_eq!(
            plain_text_as_html("Protocolo #00042 — <Ana & Bia>\nlinha 2"),
            "Protocolo #00042 — &lt;Ana &amp; Bia&gt;<br>linha 2"
        );
    }

    fn config(token: &str, url: &str) -> PipedriveConfig {
        PipedriveConfig::new(token, Url::parse(url).unwrap())
    }

    #[test]
    fn refuses_an_empty_token() {
        let error = PipedriveClient::new(config("  ", "https://acme.pipedrive.com")).unwrap_err();
        assert_eq!(error, ConfigError::EmptyToken);
    }

    #[test]
    fn refuses_a_token_that_cannot_be_a_header() {
        let error =
            PipedriveClient::new(config("abc\ndef", "https://acme.pipedrive.com")).unwrap_err();
        assert_eq!(error, ConfigError::InvalidToken);
    }

    #[test]
    fn refuses_a_base_url_that_is_not_http() {
        let error = PipedriveClient::new(config("t", "mailto:ops@acme.com")).unwrap_err();
        assert!(matches!(error, ConfigError::InvalidBaseUrl(_)), "{error:?}");
    }

    #[test]
    fn refuses_a_zero_timeout() {
        let zero = config("t", "https://acme.pipedrive.com").with_timeout(Duration::ZERO);
        assert_eq!(
            PipedriveClient::new(zero).unwrap_err(),
            ConfigError::ZeroTimeout
        );
    }

    #[test]
    fn keeps_only_the_company_domain_of_the_base_url() {
        let client =
            PipedriveClient::new(config("t", "https://acme.pipedrive.com/api/v1?x=1")).unwrap();
        assert_eq!(client.base_url().as_str(), "https://acme.pipedrive.com/");
        let url = client.url(&["api", "v2", "deals", "42"]).unwrap();
        assert_eq!(url.as_str(), "https://acme.pipedrive.com/api/v2/deals/42");
    }

    #[test]
    fn rejects_ids_pipedrive_cannot_have() {
        assert!(matches!(
            positive(0, "negócio"),
            Err(CrmError::Permanent { .. })
        ));
        assert!(matches!(lead_id("  "), Err(CrmError::Permanent { .. })));
    }
}

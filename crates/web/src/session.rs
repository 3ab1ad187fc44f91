//! Sign-in with an API key, the session cookie, the CSRF token of every form, and what the
//! signed-in key's scope allows (from the API's own scope table, so page and API agree).

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::web::{Bytes, Data, Path};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use consultores_domain::{ApiKeyScope, WebSession, WebSessionToken};
use consultores_http::auth::{same_secret, MAX_API_KEY_BYTES};
use consultores_http::request_id::RequestId;
use consultores_http::routes;
use futures_util::future::LocalBoxFuture;
use maud::html;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::errors::{blocking, WebError};
use crate::forms::Form;
use crate::layout;
use crate::state::WebState;

/// The session cookie.
const SESSION_COOKIE: &str = "painel_sessao";
/// The sign-in form's own CSRF cookie (double submit: there is no session yet).
const SIGN_IN_COOKIE: &str = "painel_entrada";

/// A signed-in request: the session and the request id (for the record of operations).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: WebSession,
    pub request_id: String,
}

impl SignedIn {
    /// Whether the key may call the API route `method path` (same table as the API).
    pub fn may(&self, method: Method, path: &str) -> bool {
        routes::access_of(&method, path)
            .scopes()
            .contains(&self.session.scope)
    }

    /// [`Self::may`], or [`WebError::Forbidden`].
    pub fn require(&self, method: Method, path: &str) -> Result<(), WebError> {
        if self.may(method, path) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// Switching, creating, editing and removing consultants.
    pub fn manages_consultants(&self) -> bool {
        self.may(Method::PUT, "/consultor/{consultor_id}")
    }

    /// Editing protocols.
    pub fn edits_protocols(&self) -> bool {
        self.may(Method::PUT, "/protocolo/{protocolo_id}")
    }

    /// Reading the record of operations.
    pub fn reads_audit(&self) -> bool {
        self.may(Method::GET, "/auditoria")
    }

    /// Refuses a form whose `csrf` field is not this session's token; nothing is changed then.
    pub fn check_csrf(&self, form: &Form) -> Result<(), WebError> {
        match form.get("csrf") {
            Some(token) if same_secret(token, &self.session.csrf_token) => Ok(()),
            _ => Err(WebError::Csrf),
        }
    }

    /// The form of a change through the API route `method path`: read from `body`, refused
    /// when its `csrf` is not this session's token or the key may not call that route.
    pub fn change_form(&self, body: &[u8], method: Method, path: &str) -> Result<Form, WebError> {
        let form = Form::parse(body);
        self.check_csrf(&form)?;
        self.require(method, path)?;
        Ok(form)
    }

    pub fn actor(&self) -> consultores_domain::Actor {
        self.session.actor(self.request_id.clone())
    }

    pub fn scope_label(&self) -> &'static str {
        match self.session.scope {
            ApiKeyScope::Admin => "administração",
            ApiKeyScope::Distribution => "distribuição",
            ApiKeyScope::Read => "leitura",
        }
    }
}

impl FromRequest for SignedIn {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let next = wanted_page(&req);
            let token =
                cookie(&req, SESSION_COOKIE).ok_or(WebError::SignIn { next: next.clone() })?;
            let state = req
                .app_data::<Data<WebState>>()
                .ok_or_else(|| WebError::Internal("page state missing".to_owned()))?
                .clone();
            let hash = token_hash(&token);
            let now = state.clock.now();
            let idle = state.settings.session_idle;
            let sessions = state.sessions.clone();
            let session = blocking(move || sessions.touch(&hash, now, idle)).await?;
            match session {
                Some(session) => Ok(SignedIn {
                    session,
                    request_id: RequestId::of(&req),
                }),
                None => Err(WebError::SignIn { next }),
            }
        })
    }
}

/// A change of one record from a signed-in form: the session, the record's `{id}` as the path
/// gives it and the form's body.
pub struct RecordChange {
    who: SignedIn,
    raw_id: Path<String>,
    body: Bytes,
}

impl RecordChange {
    /// The session, the form ([`SignedIn::change_form`] of the API route `method path`) and the
    /// record's id, read by `parse_id` only once the change is allowed.
    pub fn accept<Id>(
        self,
        method: Method,
        path: &str,
        parse_id: impl FnOnce(&str) -> Result<Id, WebError>,
    ) -> Result<(SignedIn, Form, Id), WebError> {
        let form = self.who.change_form(&self.body, method, path)?;
        let id = parse_id(&self.raw_id)?;
        Ok((self.who, form, id))
    }
}

impl FromRequest for RecordChange {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = <(SignedIn, Path<String>, Bytes)>::from_request(req, payload);
        Box::pin(async move {
            let (who, raw_id, body) = parts.await?;
            Ok(RecordChange { who, raw_id, body })
        })
    }
}

/// The page to come back to after signing in: this one for a GET, else the list it came from.
fn wanted_page(req: &HttpRequest) -> String {
    let path = req.path();
    if req.method() == Method::GET && !path.ends_with("/parcial") {
        match req.query_string() {
            "" => path.to_owned(),
            query => format!("{path}?{query}"),
        }
    } else {
        format!("{}/fila", crate::BASE)
    }
}

/// Only a page of the panel itself, never another site (`//host`, `/\host`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with(crate::BASE)
                && !next.contains("//")
                && !next.contains('\\')
                && !next.starts_with(&format!("{}/entrar", crate::BASE)) =>
        {
            next.to_owned()
        }
        _ => format!("{}/fila", crate::BASE),
    }
}

fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// `Set-Cookie` for the page: HttpOnly, SameSite=Strict, `Secure` when the request came over
/// https (directly or through a proxy's `X-Forwarded-Proto`/`Forwarded`).
fn set_cookie(req: &HttpRequest, name: &str, value: &str, expire: bool) -> String {
    let secure = req.connection_info().scheme() == "https";
    format!(
        "{name}={value}; Path={}; HttpOnly; SameSite=Strict{}{}",
        crate::BASE,
        if secure { "; Secure" } else { "" },
        if expire { "; Max-Age=0" } else { "" }
    )
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> WebSessionToken {
    WebSessionToken(hex::encode(Sha256::digest(token.as_bytes())))
}

/// `GET /painel/entrar?proximo=…`.
pub async fn sign_in_form(req: HttpRequest) -> HttpResponse {
    let next = Form::query(&req).get("proximo").map(str::to_owned);
    let expired = next.is_some();
    sign_in_page(&req, safe_next(next.as_deref()), expired, None)
}

fn sign_in_page(
    req: &HttpRequest,
    next: String,
    expired: bool,
    error: Option<&str>,
) -> HttpResponse {
    let token = random_token();
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNAUTHORIZED
    } else {
        actix_web::http::StatusCode::OK
    };
    let mut response = layout::bare(
        status,
        "Entrar",
        html! {
            h1 { "Painel de operações" }
            @if expired && error.is_none() {
                p.aviso role="status" { "Entre com sua chave de API para continuar." }
            }
            form.cartao method="post" action=(format!("{}/entrar", crate::BASE)) {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="proximo" value=(next);
                label for="chave" { "Chave de API" }
                input #chave type="password" name="chave" autocomplete="current-password"
                    required autofocus aria-describedby=[error.map(|_| "chave-erro")];
                @if let Some(error) = error {
                    p #chave-erro .erro role="alert" { (error) }
                }
                button type="submit" { "Entrar" }
            }
        },
    );
    if let Ok(value) =
        header::HeaderValue::from_str(&set_cookie(req, SIGN_IN_COOKIE, &token, false))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST /painel/entrar`: checks the key as the API does (configured key in constant time,
/// stored keys by hash), then opens a session.
pub async fn sign_in(
    req: HttpRequest,
    body: Bytes,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let expected = cookie(&req, SIGN_IN_COOKIE);
    match (form.get("csrf"), expected) {
        (Some(sent), Some(expected)) if same_secret(sent, &expected) => {}
        _ => return Err(WebError::Csrf),
    }
    let next = safe_next(form.get("proximo"));
    let presented = form.get("chave").unwrap_or_default().trim().to_owned();
    let refused =
        |req: &HttpRequest| sign_in_page(req, next.clone(), false, Some("Chave de API inválida"));
    if presented.is_empty() || presented.len() > MAX_API_KEY_BYTES {
        return Ok(refused(&req));
    }
    let now = state.clock.now();
    let configured = state
        .settings
        .configured_api_key
        .as_deref()
        .filter(|key| !key.is_empty());
    let session = if configured.is_some_and(|key| same_secret(&presented, key)) {
        Some((None, None, ApiKeyScope::Admin))
    } else {
        let store = state.api_keys.clone();
        blocking(move || store.authenticate(&presented, now))
            .await?
            .map(|key| (Some(key.id), key.description, key.scope))
    };
    let Some((api_key_id, key_description, scope)) = session else {
        return Ok(refused(&req));
    };
    let token = random_token();
    let session = WebSession {
        api_key_id,
        key_description,
        scope,
        csrf_token: random_token(),
    };
    let sessions = state.sessions.clone();
    let idle = state.settings.session_idle;
    let hash = token_hash(&token);
    blocking(move || sessions.create(&hash, &session, now, idle)).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .append_header((
            header::SET_COOKIE,
            set_cookie(&req, SESSION_COOKIE, &token, false),
        ))
        .append_header((
            header::SET_COOKIE,
            set_cookie(&req, SIGN_IN_COOKIE, "", true),
        ))
        .finish())
}

/// `POST /painel/sair`: ends the session (CSRF-checked, so no other site can sign anyone out).
pub async fn sign_out(
    req: HttpRequest,
    who: SignedIn,
    body: Bytes,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    who.check_csrf(&Form::parse(&body))?;
    if let Some(token) = cookie(&req, SESSION_COOKIE) {
        let sessions = state.sessions.clone();
        let hash = token_hash(&token);
        blocking(move || sessions.delete(&hash)).await?;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{}/entrar", crate::BASE)))
        .append_header((
            header::SET_COOKIE,
            set_cookie(&req, SESSION_COOKIE, "", true),
        ))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_of_the_panel_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/painel/protocolos?status=aberto")),
            "/painel/protocolos?status=aberto"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/painel//evil",
            "/painel/\\evil",
            "/outra",
            "/painel/entrar",
        ] {
            assert_eq!(safe_next(Some(bad)), "/painel/fila", "{bad}");
        }
        assert_eq!(safe_next(None), "/painel/fila");
    }

    #[test]
    fn session_tokens_are_random_and_stored_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a).0, a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}

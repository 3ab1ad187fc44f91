//! Every error an HTTP request can end in, and the ONE function that turns each into a status
//! and a FastAPI-shaped body.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use consultores_domain::DomainError;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::validation::{FieldError, Loc, Place, Problems, WireRule};

/// `{"detail": "<message>"}`: the body of every error but 422s of inputs.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"detail": "Consultor não encontrado"}))]
pub struct DetailResponse {
    pub detail: String,
}

impl DetailResponse {
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

/// `{"detail": [...]}`: inputs that failed validation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationErrorResponse {
    pub detail: Vec<FieldError>,
}

/// `{"detail": "Erro interno", "request_id": "..."}`: a 500, whose cause is only in the log.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"detail": "Erro interno", "request_id": "0195f0a2-7c1e-7b3a-9d4e-2f6a8b1c3d5e"}))]
pub struct InternalErrorResponse {
    pub detail: String,
    pub request_id: String,
}

/// The message of a 500.
pub const INTERNAL_DETAIL: &str = "Erro interno";
/// The message of a 503.
pub const UNAVAILABLE_DETAIL: &str = "Serviço indisponível";
/// The message of a 401.
pub const UNAUTHORIZED_DETAIL: &str = "API Key inválida";
/// The message of a 401 of the webhook endpoint (HTTP basic auth).
pub const BAD_CREDENTIALS_DETAIL: &str = "Credenciais inválidas";
/// The message of a 403.
pub const FORBIDDEN_DETAIL: &str = "Acesso negado para esta chave";
/// The message of a 413.
pub const PAYLOAD_TOO_LARGE_DETAIL: &str = "Corpo da requisição grande demais";
/// The message of a 404 for an unknown route (Starlette's text, which v6 clients see).
pub const NOT_FOUND_DETAIL: &str = "Not Found";
/// The message of a 405 (Starlette's text).
pub const METHOD_NOT_ALLOWED_DETAIL: &str = "Method Not Allowed";

/// An HTTP request's failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What the domain said.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Inputs that failed validation (422 with the list).
    #[error("entrada inválida")]
    Validation(Vec<FieldError>),
    /// Missing or wrong `api-key`.
    #[error("{UNAUTHORIZED_DETAIL}")]
    Unauthorized,
    /// Missing or wrong HTTP basic-auth credentials (`POST /webhooks/pipedrive`).
    #[error("{BAD_CREDENTIALS_DETAIL}")]
    BadCredentials,
    /// A valid key outside the route's scopes.
    #[error("{FORBIDDEN_DETAIL}")]
    Forbidden,
    /// A body over the limit.
    #[error("{PAYLOAD_TOO_LARGE_DETAIL}")]
    PayloadTooLarge,
    /// No route has this path.
    #[error("{NOT_FOUND_DETAIL}")]
    NotFound,
    /// A route has this path, but not this method.
    #[error("{METHOD_NOT_ALLOWED_DETAIL}")]
    MethodNotAllowed { allowed: Vec<Method> },
}

impl ApiError {
    /// A 500 whose cause is logged, never sent.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Domain(DomainError::internal(cause))
    }

    /// A 503.
    pub fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Domain(DomainError::unavailable(cause))
    }

    /// The status and body of this error: the one mapping of the service.
    pub fn status_and_body(&self) -> (StatusCode, Value) {
        let detail = |status: StatusCode, text: String| (status, json_detail(text));
        match self {
            Self::Domain(error) => match error {
                DomainError::ConsultantNotFound
                | DomainError::ProtocolNotFound
                | DomainError::ApiKeyNotFound
                | DomainError::WaitingEntryNotFound
                | DomainError::WebhookNotFound
                | DomainError::NoneAvailable(_) => detail(StatusCode::NOT_FOUND, error.to_string()),
                DomainError::AlreadyAssigned => detail(StatusCode::CONFLICT, error.to_string()),
                DomainError::EmailTaken => detail(StatusCode::BAD_REQUEST, error.to_string()),
                DomainError::IdempotencyKeyReused => {
                    detail(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
                }
                DomainError::Invalid { field, problem } => {
                    let loc = Loc::field(Place::Body, field);
                    let item = FieldError::invalid(problem, loc, Value::Null);
                    (StatusCode::UNPROCESSABLE_ENTITY, json_list(vec![item]))
                }
                DomainError::Unavailable(_) => detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE_DETAIL.to_owned(),
                ),
                // The request id is added by the error-body middleware, which knows it.
                DomainError::Internal(_) => detail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    INTERNAL_DETAIL.to_owned(),
                ),
            },
            Self::Validation(items) => (StatusCode::UNPROCESSABLE_ENTITY, json_list(items.clone())),
            Self::Unauthorized => detail(StatusCode::UNAUTHORIZED, UNAUTHORIZED_DETAIL.to_owned()),
            Self::BadCredentials => {
                detail(StatusCode::UNAUTHORIZED, BAD_CREDENTIALS_DETAIL.to_owned())
            }
            Self::Forbidden => detail(StatusCode::FORBIDDEN, FORBIDDEN_DETAIL.to_owned()),
            Self::PayloadTooLarge => detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                PAYLOAD_TOO_LARGE_DETAIL.to_owned(),
            ),
            Self::NotFound => detail(StatusCode::NOT_FOUND, NOT_FOUND_DETAIL.to_owned()),
            Self::MethodNotAllowed { .. } => detail(
                StatusCode::METHOD_NOT_ALLOWED,
                METHOD_NOT_ALLOWED_DETAIL.to_owned(),
            ),
        }
    }

    /// Whether this error is the server's fault (logged as an error line with its cause chain).
    pub fn is_server_error(&self) -> bool {
        self.status_and_body().0.is_server_error()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status_and_body().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, body) = self.status_and_body();
        let mut response = HttpResponse::build(status);
        if let Self::MethodNotAllowed { allowed } = self {
            let allowed: Vec<&str> = allowed.iter().map(Method::as_str).collect();
            response.insert_header((header::ALLOW, allowed.join(", ")));
        }
        if let Self::BadCredentials = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"pipedrive\""));
        } else if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "APIKey"));
        }
        response.json(body)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        // The blocking pool only fails when the task panicked or the runtime is going away;
        // either way the request did not complete and the client cannot tell which.
        Self::internal(BlockingTaskFailed(error.to_string()))
    }
}

impl From<FieldError> for ApiError {
    /// The 422 of one problem.
    fn from(error: FieldError) -> Self {
        Self::Validation(vec![error])
    }
}

/// A blocking task that panicked or was cancelled.
#[derive(Debug, thiserror::Error)]
#[error("blocking task failed: {0}")]
struct BlockingTaskFailed(String);

/// `{"detail": text}`.
pub fn json_detail(text: impl Into<String>) -> Value {
    serde_json::json!({ "detail": text.into() })
}

fn json_list(items: Vec<FieldError>) -> Value {
    serde_json::to_value(ValidationErrorResponse { detail: items })
        .unwrap_or_else(|_| json_detail("entrada inválida"))
}

/// The chain of causes of an error, outermost first, joined by `": "` (for the log only).
pub use consultores_domain::error_chain as cause_chain;

/// How the problems of one request end: here rather than in [`crate::validation`], so that module
/// does not depend on this one.
impl Problems {
    /// `Ok(())` when nothing failed, else the 422 listing every problem.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.into_items()))
        }
    }

    /// Runs `parse` against a fresh record of problems: its value when nothing failed, else the
    /// 422. A parser that records no problem yet gives no value is a bug (500).
    pub fn collect<T>(parse: impl FnOnce(&mut Problems) -> Option<T>) -> Result<T, ApiError> {
        let mut problems = Problems::new();
        let value = parse(&mut problems);
        problems.finish_parsed(value)
    }

    /// `value` when nothing failed, else the 422; no problem and no value is a bug (500).
    pub fn finish_parsed<T>(self, value: Option<T>) -> Result<T, ApiError> {
        self.finish()?;
        value.ok_or_else(|| ApiError::internal("parsed without problems but without a value"))
    }

    /// `value` when nothing failed, else the 422.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match (self.is_empty(), value) {
            (true, Some(value)) => Ok(value),
            (true, None) => Err(ApiError::Validation(vec![FieldError::rule(
                WireRule::Missing,
                Loc::root(Place::Body),
                Value::Null,
            )])),
            (false, _) => Err(ApiError::Validation(self.into_items())),
        }
    }
}

#[cfg(test)]
mod tests {
    use consultores_domain::{InvalidValue, Language};
    use serde_json::json;

    use super::*;

    fn answer(error: impl Into<ApiError>) -> (u16, Value) {
        let (status, body) = error.into().status_and_body();
        (status.as_u16(), body)
    }

    #[test]
    fn domain_errors_map_to_the_contract_statuses_and_messages() {
        let pt = Language::parse("pt").unwrap();
        let cases = [
            (
                DomainError::ConsultantNotFound,
                404,
                "Consultor não encontrado",
            ),
            (
                DomainError::ProtocolNotFound,
                404,
                "Protocolo não encontrado",
            ),
            (
                DomainError::ApiKeyNotFound,
                404,
                "Chave de API não encontrada",
            ),
            (DomainError::EmailTaken, 400, "Email já cadastrado"),
            (
                DomainError::NoneAvailable(pt),
                404,
                "Não há consultor disponível para o idioma pt",
            ),
            (
                DomainError::IdempotencyKeyReused,
                422,
                "Idempotency-Key já usada com outros parâmetros",
            ),
            (
                DomainError::unavailable("pool timed out"),
                503,
                "Serviço indisponível",
            ),
            (DomainError::internal("secret detail"), 500, "Erro interno"),
        ];
        for (error, status, detail) in cases {
            assert_eq!(answer(error), (status, json!({ "detail": detail })));
        }
    }

    #[test]
    fn an_invalid_value_from_the_domain_is_a_422_list_at_the_body_field() {
        let error = DomainError::Invalid {
            field: "id_pipedrive",
            problem: InvalidValue::NotPositive,
        };
        let (status, body) = answer(error);
        assert_eq!(status, 422);
        assert_eq!(body["detail"][0]["loc"], json!(["body", "id_pipedrive"]));
        assert_eq!(body["detail"][0]["type"], "greater_than");
    }

    #[test]
    fn transport_errors_have_their_fixed_texts() {
        for (error, status, detail) in [
            (ApiError::Unauthorized, 401, "API Key inválida"),
            (ApiError::Forbidden, 403, "Acesso negado para esta chave"),
            (
                ApiError::PayloadTooLarge,
                413,
                "Corpo da requisição grande demais",
            ),
            (ApiError::NotFound, 404, "Not Found"),
        ] {
            assert_eq!(answer(error), (status, json!({ "detail": detail })));
        }
        let not_allowed = ApiError::MethodNotAllowed {
            allowed: vec![Method::GET],
        };
        assert_eq!(
            not_allowed
                .error_response()
                .headers()
                .get(header::ALLOW)
                .unwrap(),
            "GET"
        );
    }

    #[test]
    fn the_cause_chain_names_every_cause_but_the_client_sees_none() {
        let error = ApiError::internal("connection reset by peer");
        assert_eq!(
            cause_chain(&error),
            "Erro interno: connection reset by peer"
        );
        assert!(!error.status_and_body().1.to_string().contains("reset"));
    }
}

//! How the page fails: a page of its own (never a cause), or back to the sign-in.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use consultores_domain::DomainError;
use maud::html;

use crate::layout;

/// A failure of a page's request.
#[derive(Debug)]
pub enum WebError {
    /// No session (or an expired one): sign in, then come back to `next`.
    SignIn {
        next: String,
    },
    /// The key's scope does not allow this.
    Forbidden,
    /// A form without the session's CSRF token.
    Csrf,
    NotFound(&'static str),
    /// A change the domain refused (a taken email, an unknown Pipedrive user): forms show it
    /// next to the field.
    Domain(DomainError),
    Unavailable,
    Internal(String),
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn { .. } => f.write_str("sign-in required"),
            Self::Forbidden => f.write_str("forbidden for this scope"),
            Self::Csrf => f.write_str("missing or wrong CSRF token"),
            Self::NotFound(what) => write!(f, "not found: {what}"),
            Self::Domain(error) => write!(f, "refused: {error}"),
            Self::Unavailable => f.write_str("store unavailable"),
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
        }
    }
}

impl From<DomainError> for WebError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::ConsultantNotFound => Self::NotFound("Consultor não encontrado"),
            DomainError::ProtocolNotFound => Self::NotFound("Protocolo não encontrado"),
            DomainError::Unavailable(_) => Self::Unavailable,
            refused @ (DomainError::EmailTaken | DomainError::Invalid { .. }) => {
                Self::Domain(refused)
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for WebError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } => StatusCode::SEE_OTHER,
            Self::Forbidden | Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Domain(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, text) = match self {
            Self::SignIn { next } => {
                let location = format!(
                    "{}/entrar?proximo={}",
                    crate::BASE,
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location))
                    .finish();
            }
            Self::Forbidden => (
                "Acesso negado",
                "A chave usada para entrar não permite esta operação.",
            ),
            Self::Csrf => (
                "Formulário inválido",
                "O formulário expirou ou não veio desta página. Nada foi alterado: abra a página de novo e repita.",
            ),
            Self::NotFound(what) => ("Não encontrado", *what),
            Self::Domain(_) => ("Alteração recusada", "Os dados enviados foram recusados. Nada foi alterado."),
            Self::Unavailable => (
                "Serviço indisponível",
                "O banco de dados não respondeu. Tente de novo em instantes.",
            ),
            Self::Internal(_) => ("Erro interno", "Algo deu errado. Tente de novo."),
        };
        layout::bare(
            self.status_code(),
            title,
            html! {
                h1 { (title) }
                p { (text) }
                p { a href=(format!("{}/fila", crate::BASE)) { "Voltar ao painel" } }
            },
        )
    }
}

/// What answers a path under the page that names nothing.
pub async fn not_found() -> Result<HttpResponse, WebError> {
    Err(WebError::NotFound("Página não encontrada"))
}

/// Runs a blocking domain call off the async workers.
pub async fn blocking<T, F>(call: F) -> Result<T, WebError>
where
    F: FnOnce() -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    Ok(actix_web::web::block(call).await??)
}

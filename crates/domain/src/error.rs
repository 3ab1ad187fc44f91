//! The one error type of the domain. Adapters map their own failures into it; the HTTP adapter
//! maps it to status codes in a single function.

use crate::values::{InvalidValue, Language};

type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("Consultor não encontrado")]
    ConsultantNotFound,
    #[error("Protocolo não encontrado")]
    ProtocolNotFound,
    #[error("Chave de API não encontrada")]
    ApiKeyNotFound,
    #[error("Email já cadastrado")]
    EmailTaken,
    #[error("Não há consultor disponível para o idioma {0}")]
    NoneAvailable(Language),
    #[error("Idempotency-Key já usada com outros parâmetros")]
    IdempotencyKeyReused,
    /// A value that parsed but is not acceptable in context (e.g. an unknown Pipedrive user).
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: InvalidValue,
    },
    /// The store (or another dependency) cannot be reached right now; retrying later may work.
    #[error("Serviço indisponível")]
    Unavailable(#[source] Cause),
    /// Anything else: a bug or a broken invariant. Its cause is logged, never sent to clients.
    #[error("Erro interno")]
    Internal(#[source] Cause),
}

impl DomainError {
    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        Self::Unavailable(cause.into())
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }
}

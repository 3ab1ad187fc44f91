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
    #[error("Contato não encontrado na fila")]
    WaitingEntryNotFound,
    #[error("Webhook não encontrado")]
    WebhookNotFound,
    /// Cancelling a queue entry that a consultant already took.
    #[error("Contato já atribuído")]
    AlreadyAssigned,
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

/// The one formatter of an error and its causes, outermost first, joined by `": "`, for logs
/// and records (never for an HTTP client). A cause whose text the chain already holds is left
/// out (many errors repeat their source in their own message).
pub fn error_chain(error: &dyn std::error::Error) -> String {
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
    use std::error::Error as _;

    use super::*;

    #[test]
    fn messages_are_the_contract_texts() {
        assert_eq!(
            DomainError::ConsultantNotFound.to_string(),
            "Consultor não encontrado"
        );
        assert_eq!(
            DomainError::ProtocolNotFound.to_string(),
            "Protocolo não encontrado"
        );
        assert_eq!(DomainError::EmailTaken.to_string(), "Email já cadastrado");
        assert_eq!(
            DomainError::IdempotencyKeyReused.to_string(),
            "Idempotency-Key já usada com outros parâmetros"
        );
        assert_eq!(
            DomainError::unavailable("pool timeout").to_string(),
            "Serviço indisponível"
        );
        assert_eq!(DomainError::internal("boom").to_string(), "Erro interno");
    }

    #[test]
    fn none_available_names_the_language() {
        let error = DomainError::NoneAvailable(Language::parse("PT").unwrap());
        assert_eq!(
            error.to_string(),
            "Não há consultor disponível para o idioma pt"
        );
    }

    #[test]
    fn unavailable_and_internal_keep_their_cause_out_of_the_message() {
        let unavailable = DomainError::unavailable("connection refused to 10.0.0.5");
        assert!(!unavailable.to_string().contains("10.0.0.5"));
        assert_eq!(
            unavailable.source().map(ToString::to_string).as_deref(),
            Some("connection refused to 10.0.0.5")
        );
        let internal = DomainError::internal("secret detail");
        assert!(!internal.to_string().contains("secret"));
        assert!(internal.source().is_some());
    }

    #[test]
    fn invalid_names_the_field_and_the_rule() {
        let error = DomainError::Invalid {
            field: "id_pipedrive",
            problem: InvalidValue::NotPositive,
        };
        assert_eq!(
            error.to_string(),
            "id_pipedrive: deve ser um número inteiro maior que zero"
        );
    }

    #[test]
    fn the_error_chain_names_each_cause_once() {
        let error = DomainError::unavailable("connection refused");
        assert_eq!(error_chain(&error), format!("{error}: connection refused"));
        let io = std::io::Error::other("disk full");
        assert_eq!(error_chain(&io), "disk full");
    }
}

/// Why a value was rejected. The `Display` text is Portuguese because API clients show it to
/// people; [`InvalidValue::kind`] is a stable machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error("deve ter no mínimo {min} caracteres")]
    TooShort { min: usize },
    #[error("deve ter no máximo {max} caracteres")]
    TooLong { max: usize },
    #[error("deve ter no mínimo {min} item(ns)")]
    TooFewItems { min: usize },
    #[error("deve ter no máximo {max} itens")]
    TooManyItems { max: usize },
    #[error("não é um endereço de email válido")]
    NotAnEmail,
    #[error("deve ser + seguido de 10 a 15 dígitos")]
    NotAPhone,
    #[error("deve ter de 2 a 5 caracteres: letras e no máximo um hífen (ex.: pt, en, pt-br)")]
    NotALanguageCode,
    #[error("deve ser um número inteiro maior que zero")]
    NotPositive,
    #[error("deve ser # seguido de pelo menos 5 dígitos (ex.: #00042)")]
    NotAProtocolNumber,
    #[error("valor não permitido; valores aceitos: {allowed}")]
    NotAllowed { allowed: &'static str },
    #[error("não pode conter caracteres de controle")]
    ControlCharacters,
}

impl InvalidValue {
    /// A short, stable code for the rule that failed (the `type` of a 422 error item).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "string_too_short",
            Self::TooLong { .. } => "string_too_long",
            Self::TooFewItems { .. } => "too_short",
            Self::TooManyItems { .. } => "too_long",
            Self::NotAnEmail => "value_error.email",
            Self::NotAPhone => "value_error.phone",
            Self::NotALanguageCode => "value_error.language",
            Self::NotPositive => "greater_than",
            Self::NotAProtocolNumber => "value_error.protocol_number",
            Self::NotAllowed { .. } => "enum",
            Self::ControlCharacters => "value_error.control_characters",
        }
    }
}

/// Checks a character count against inclusive bounds.
pub(crate) fn check_length(value: &str, min: usize, max: usize) -> Result<(), InvalidValue> {
    let count = value.chars().count();
    if count < min {
        Err(InvalidValue::TooShort { min })
    } else if count > max {
        Err(InvalidValue::TooLong { max })
    } else {
        Ok(())
    }
}

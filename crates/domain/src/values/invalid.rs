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
    #[error("deve ser no máximo {max}")]
    TooLarge { max: i64 },
    #[error("deve ser # seguido de pelo menos 5 dígitos (ex.: #00042)")]
    NotAProtocolNumber,
    #[error("valor não permitido; valores aceitos: {allowed}")]
    NotAllowed { allowed: &'static str },
    #[error("não pode conter caracteres de controle")]
    ControlCharacters,
    #[error("deve conter apenas caracteres ASCII imprimíveis")]
    NotPrintableAscii,
    #[error("deve ser um UUID (ex.: adf21080-0e10-11eb-879b-05d71fb426ec)")]
    NotAUuid,
    /// An `id_pipedrive` the CRM does not list among the company's users.
    #[error("usuário não encontrado no Pipedrive; veja os ids com `consultores pipedrive users`")]
    UnknownPipedriveUser,
    /// An `id_pipedrive` of a user the CRM lists as deactivated.
    #[error("usuário inativo no Pipedrive; reative-o no Pipedrive ou use outro id")]
    InactivePipedriveUser,
    #[error("deve ser um número inteiro de {min} a {max}")]
    OutOfRange { min: i64, max: i64 },
    #[error("deve ser um horário HH:MM entre 00:00 e 24:00")]
    NotATimeOfDay,
    #[error("deve ser uma data AAAA-MM-DD")]
    NotADate,
    #[error("deve ser posterior a inicio")]
    EndNotAfterStart,
    #[error("deve ser igual ou posterior a de")]
    EndBeforeStart,
    #[error("fuso horário desconhecido; use um nome IANA (ex.: America/Sao_Paulo)")]
    UnknownTimeZone,
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
            Self::TooLarge { .. } => "less_than_equal",
            Self::NotAProtocolNumber => "value_error.protocol_number",
            Self::NotAllowed { .. } => "enum",
            Self::ControlCharacters => "value_error.control_characters",
            Self::NotPrintableAscii => "value_error.ascii",
            Self::NotAUuid => "uuid_parsing",
            Self::UnknownPipedriveUser => "value_error.pipedrive_user_not_found",
            Self::InactivePipedriveUser => "value_error.pipedrive_user_inactive",
            Self::OutOfRange { .. } => "value_error.range",
            Self::NotATimeOfDay => "value_error.time",
            Self::NotADate => "value_error.date",
            Self::EndNotAfterStart => "value_error.end_not_after_start",
            Self::EndBeforeStart => "value_error.end_before_start",
            Self::UnknownTimeZone => "value_error.time_zone",
        }
    }
}

/// `text`, owned, when its character count is within `min..=max` (else [`InvalidValue::TooShort`]
/// or [`InvalidValue::TooLong`]) and none of its characters is `refused` (else `problem`).
pub(crate) fn checked_text(
    text: &str,
    min: usize,
    max: usize,
    refused: impl Fn(char) -> bool,
    problem: InvalidValue,
) -> Result<String, InvalidValue> {
    check_length(text, min, max)?;
    if text.chars().any(refused) {
        return Err(problem);
    }
    Ok(text.to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<InvalidValue> {
        vec![
            InvalidValue::TooShort { min: 3 },
            InvalidValue::TooLong { max: 255 },
            InvalidValue::TooFewItems { min: 1 },
            InvalidValue::TooManyItems { max: 20 },
            InvalidValue::NotAnEmail,
            InvalidValue::NotAPhone,
            InvalidValue::NotALanguageCode,
            InvalidValue::NotPositive,
            InvalidValue::TooLarge { max: 10 },
            InvalidValue::NotAProtocolNumber,
            InvalidValue::NotAllowed {
                allowed: "baixa, normal",
            },
            InvalidValue::ControlCharacters,
            InvalidValue::NotPrintableAscii,
            InvalidValue::NotAUuid,
            InvalidValue::UnknownPipedriveUser,
            InvalidValue::InactivePipedriveUser,
            InvalidValue::OutOfRange { min: 1, max: 100 },
            InvalidValue::NotATimeOfDay,
            InvalidValue::NotADate,
            InvalidValue::EndNotAfterStart,
            InvalidValue::EndBeforeStart,
            InvalidValue::UnknownTimeZone,
        ]
    }

    #[test]
    fn every_rule_has_a_distinct_non_empty_kind() {
        let kinds: Vec<&str> = every_variant().iter().map(InvalidValue::kind).collect();
        assert!(kinds.iter().all(|kind| !kind.is_empty()));
        let mut unique = kinds.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), kinds.len(), "{kinds:?}");
    }

    #[test]
    fn length_kinds_use_the_pydantic_names_clients_know() {
        assert_eq!(InvalidValue::TooShort { min: 3 }.kind(), "string_too_short");
        assert_eq!(InvalidValue::TooLong { max: 255 }.kind(), "string_too_long");
        assert_eq!(InvalidValue::NotAnEmail.kind(), "value_error.email");
    }

    #[test]
    fn every_rule_has_a_non_empty_portuguese_message() {
        for value in every_variant() {
            assert!(!value.to_string().trim().is_empty(), "{value:?}");
        }
    }

    #[test]
    fn messages_state_the_bounds_of_the_rule() {
        assert_eq!(
            InvalidValue::TooShort { min: 3 }.to_string(),
            "deve ter no mínimo 3 caracteres"
        );
        assert_eq!(
            InvalidValue::TooLong { max: 255 }.to_string(),
            "deve ter no máximo 255 caracteres"
        );
        assert_eq!(
            InvalidValue::TooManyItems { max: 20 }.to_string(),
            "deve ter no máximo 20 itens"
        );
        assert!(InvalidValue::NotAllowed {
            allowed: "baixa, normal"
        }
        .to_string()
        .ends_with("baixa, normal"));
    }

    #[test]
    fn check_length_bounds_are_inclusive_and_count_characters() {
        assert_eq!(check_length("abc", 3, 5), Ok(()));
        assert_eq!(check_length("abcde", 3, 5), Ok(()));
        assert_eq!(
            check_length("ab", 3, 5),
            Err(InvalidValue::TooShort { min: 3 })
        );
        assert_eq!(
            check_length("abcdef", 3, 5),
            Err(InvalidValue::TooLong { max: 5 })
        );
        assert_eq!(check_length("ééééé", 3, 5), Ok(()));
    }
}

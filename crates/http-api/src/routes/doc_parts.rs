//! OpenAPI responses and path parameters that several operations declare word for word, listed
//! by type inside `#[utoipa::path(responses(...), params(...))]` beside the operation's own.

// The types only describe the document: no answer or parameter is built from them.
#![expect(dead_code, reason = "the types only describe the OpenAPI document")]

use utoipa::{IntoParams, IntoResponses};

use crate::errors::{DetailResponse, ValidationErrorResponse};

#[derive(IntoResponses)]
#[response(status = 422, description = "The id is not a 64-bit integer.")]
pub struct InvalidId(ValidationErrorResponse);

#[derive(IntoResponses)]
#[response(status = 413, description = "Body over the limit.")]
pub struct BodyTooLarge(DetailResponse);

#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "No such consultant.",
    example = json!({"detail": "Consultor não encontrado"})
)]
pub struct ConsultantNotFound(DetailResponse);

#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "Email already used by another consultant.",
    example = json!({"detail": "Email já cadastrado"})
)]
pub struct EmailTaken(DetailResponse);

#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "No such entry.",
    example = json!({"detail": "Contato não encontrado na fila"})
)]
pub struct EntryNotFound(DetailResponse);

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConsultantIdParam {
    /// The consultant's id.
    consultor_id: i64,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProtocolIdParam {
    /// The protocol's id.
    protocolo_id: i64,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EntryIdParam {
    /// The entry's id.
    fila_id: i64,
}

//! OpenAPI responses and path parameters that several operations declare word for word, listed
//! by type inside `#[utoipa::path(responses(...), params(...))]` beside the operation's own.

// The types only describe the document: no answer or parameter is built from them.
#![expect(dead_code, reason = "the types only describe the OpenAPI document")]

use utoipa::{IntoParams, IntoResponses};

use crate::errors::{DetailResponse, ValidationErrorResponse};

/// Response types: `Name = status, description, body schema` and, optionally, the JSON object
/// of its example.
macro_rules! responses {
    ($($name:ident = $status:literal, $description:literal, $body:ty $(, $example:tt)?;)+) => {$(
        #[derive(IntoResponses)]
        #[response(status = $status, description = $description $(, example = json!($example))?)]
        pub struct $name($body);
    )+};
}

/// Path parameter types: `Name = field, description` of an integer id.
macro_rules! path_ids {
    ($($name:ident = $field:ident, $description:literal;)+) => {$(
        #[derive(IntoParams)]
        #[into_params(parameter_in = Path)]
        pub struct $name {
            #[doc = $description]
            $field: i64,
        }
    )+};
}

responses! {
    InvalidId = 422, "The id is not a 64-bit integer.", ValidationErrorResponse;
    BodyTooLarge = 413, "Body over the limit.", DetailResponse;
    InvalidIdempotentBody = 422, "Invalid body or `Idempotency-Key`, or a key reused with another body.", ValidationErrorResponse;
    ConsultantNotFound = 404, "No such consultant.", DetailResponse, {"detail": "Consultor não encontrado"};
    EmailTaken = 400, "Email already used by another consultant.", DetailResponse, {"detail": "Email já cadastrado"};
    EntryNotFound = 404, "No such entry.", DetailResponse, {"detail": "Contato não encontrado na fila"};
}

path_ids! {
    ConsultantIdParam = consultor_id, "The consultant's id.";
    ProtocolIdParam = protocolo_id, "The protocol's id.";
    EntryIdParam = fila_id, "The entry's id.";
}

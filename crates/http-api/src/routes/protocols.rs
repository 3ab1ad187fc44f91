//! `/protocolos`, `/protocolo/...` and `/gerar-protocolo`: protocols outside the rotation.

use crate::auth::Require;
use actix_web::middleware::from_fn;
use actix_web::web::Data;
use actix_web::{get, post, put};
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::ProtocolId;

use crate::auth::{Acting, Caller};
use crate::blocking;
use crate::clock_skew;
use crate::dto::pipedrive::CrmActionsResponse;
use crate::dto::protocol::{
    GeneratedProtocolResponse, ProtocolCreateRequest, ProtocolListQuery, ProtocolResponse,
    ProtocolUpdateRequest,
};
use crate::errors::{ApiError, DetailResponse, ValidationErrorResponse};
use crate::idempotency;
use crate::input::{path, JsonBody, QueryParams};
use crate::routes::doc_parts::{BodyTooLarge, InvalidId, InvalidIdempotentBody, ProtocolIdParam};
use crate::state::ApiState;

/// The path parameter of a protocol's id.
pub(crate) const PROTOCOL_ID: &str = "protocolo_id";

/// A page of protocols by ascending id (stable pages).
#[utoipa::path(
    operation_id = "listar_protocolos",
    tag = "protocolos",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(ProtocolListQuery),
    responses(
        (status = 200, description = "The page, by ascending id.", body = Vec<ProtocolResponse>),
        (status = 422, description = "Invalid `consultor_id`, `skip` or `limit`.", body = ValidationErrorResponse),
    )
)]
#[get("/protocolos", wrap = "Require::of::<Self>()")]
pub async fn list(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let filter = ProtocolListQuery::parse(&QueryParams::of(&req))?;
    let service = state.protocols.clone();
    let protocols = blocking::run(move || service.list(&filter)).await?;
    let body: Vec<ProtocolResponse> = protocols.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// One protocol.
#[utoipa::path(
    operation_id = "obter_protocolo",
    tag = "protocolos",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(ProtocolIdParam),
    responses(
        (status = 200, description = "The protocol.", body = ProtocolResponse),
        (status = 404, description = "No such protocol.", body = DetailResponse,
            example = json!({"detail": "Protocolo não encontrado"})),
        InvalidId,
    )
)]
#[get("/protocolo/{protocolo_id}", wrap = "Require::of::<Self>()")]
pub async fn get(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let id = path::required_id(&req, PROTOCOL_ID)?;
    let service = state.protocols.clone();
    let outbox = state
        .pipedrive
        .as_ref()
        .map(|pipedrive| pipedrive.outbox.clone());
    let (protocol, actions) = blocking::run(move || {
        let protocol = service.get(ProtocolId(id))?;
        let actions = match outbox {
            Some(outbox) => outbox.states_for_protocol(protocol.id)?,
            None => Vec::new(),
        };
        Ok((protocol, actions))
    })
    .await?;
    let mut body = ProtocolResponse::from(protocol);
    if !actions.is_empty() {
        body.pipedrive = Some(CrmActionsResponse::new(actions));
    }
    Ok(HttpResponse::Ok().json(body))
}

/// Edits a protocol: description, priority, status, or the consultant it belongs to.
#[utoipa::path(
    operation_id = "atualizar_protocolo",
    tag = "protocolos",
    security(("api-key" = ["admin", "distribuicao"])),
    params(ProtocolIdParam),
    request_body = ProtocolUpdateRequest,
    responses(
        (status = 200, description = "The updated protocol.", body = ProtocolResponse),
        (status = 404, description = "No such protocol, or `consultor_id` names no consultant.", body = DetailResponse,
            example = json!({"detail": "Protocolo não encontrado"})),
        BodyTooLarge,
        (status = 422, description = "Invalid id or body.", body = ValidationErrorResponse),
    )
)]
#[put("/protocolo/{protocolo_id}", wrap = "Require::of::<Self>()")]
pub async fn update(
    req: HttpRequest,
    state: Data<ApiState>,
    Acting(actor): Acting,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let (id, patch) = path::id_and_body(&req, PROTOCOL_ID, &body, ProtocolUpdateRequest::parse)?;
    let service = state.protocols.clone();
    let protocol = blocking::run(move || service.update(ProtocolId(id), &patch, &actor)).await?;
    // A protocol that leaves `aberto`/`em_andamento` (or changes hands) may free a consultant.
    state.queue_may_move();
    Ok(HttpResponse::Ok().json(ProtocolResponse::from(protocol)))
}

/// A new protocol tied to no consultant.
#[utoipa::path(
    operation_id = "gerar_protocolo",
    tag = "protocolos",
    security(("api-key" = ["admin", "distribuicao"])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters: a retry with the same key within 24 h gets the same number."),
    ),
    responses(
        (status = 200, description = "The new number.", body = GeneratedProtocolResponse,
            headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request."))),
        (status = 422, description = "Invalid `Idempotency-Key`, or reused with other parameters.", body = ValidationErrorResponse),
    )
)]
#[get(
    "/gerar-protocolo",
    wrap = "Require::of::<Self>()",
    wrap = "from_fn(crate::head::refuse)"
)]
pub async fn generate(
    req: HttpRequest,
    state: Data<ApiState>,
    caller: Caller,
    Acting(actor): Acting,
) -> Result<HttpResponse, ApiError> {
    let now = state.protocols.now();
    let claim = idempotency::claim(&req, &caller, None, now)?;
    let service = state.protocols.clone();
    let recorded = blocking::run(move || service.generate(claim, &actor)).await?;
    if !recorded.replayed {
        clock_skew::check(&state, &req, now, recorded.value.created_at);
    }
    Ok(idempotency::replayable(recorded.replayed)
        .json(GeneratedProtocolResponse::from(recorded.value)))
}

/// Opens a protocol by hand for a consultant; does not touch the rotation.
#[utoipa::path(
    operation_id = "criar_protocolo",
    tag = "protocolos",
    security(("api-key" = ["admin", "distribuicao"])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters: a retry with the same key and body within 24 h gets the same protocol."),
    ),
    request_body = ProtocolCreateRequest,
    responses(
        (status = 200, description = "The new protocol.", body = ProtocolResponse,
            headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request."))),
        (status = 404, description = "`consultor_id` names no consultant.", body = DetailResponse,
            example = json!({"detail": "Consultor não encontrado"})),
        BodyTooLarge,
        InvalidIdempotentBody,
    )
)]
#[post("/protocolo", wrap = "Require::of::<Self>()")]
pub async fn create(
    req: HttpRequest,
    state: Data<ApiState>,
    caller: Caller,
    Acting(actor): Acting,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let now = state.protocols.now();
    let (claim, new) =
        idempotency::claim_and_body(&req, &caller, &body, now, ProtocolCreateRequest::parse)?;
    let service = state.protocols.clone();
    let recorded = blocking::run(move || service.open(&new, claim, &actor)).await?;
    if !recorded.replayed {
        clock_skew::check(&state, &req, now, recorded.value.created_at);
    }
    Ok(idempotency::replayable(recorded.replayed).json(ProtocolResponse::from(recorded.value)))
}

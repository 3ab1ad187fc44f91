//! `/fila`: the waiting queue.

use crate::auth::Require;
use actix_web::web::Data;
use actix_web::{delete, get, post};
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::{WaitingEntryId, WaitingState};

use crate::auth::{Acting, Caller};
use crate::blocking;
use crate::dto::queue::{
    WaitingEntryCreateRequest, WaitingEntryResponse, WaitingListQuery, WaitingPageResponse,
};
use crate::errors::{ApiError, DetailResponse, ValidationErrorResponse};
use crate::idempotency;
use crate::input::{path, JsonBody, QueryParams};
use crate::routes::doc_parts::{
    BodyTooLarge, EntryIdParam, EntryNotFound, InvalidId, InvalidIdempotentBody,
};
use crate::state::ApiState;

/// The path parameter of a queue entry's id.
const ENTRY_ID: &str = "fila_id";

/// Queues a contact: assigned at once (`atribuido`) when someone is free in one of its
/// languages and nobody waits ahead of it, else `aguardando` until a consultant frees up.
#[utoipa::path(
    operation_id = "entrar_na_fila",
    tag = "fila",
    security(("api-key" = ["admin", "distribuicao"])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters: a retry with the same key and body within 24 h gets the same entry (as it stands now) and queues nothing."),
    ),
    request_body = WaitingEntryCreateRequest,
    responses(
        (status = 200, description = "The entry: `atribuido` (with `protocolo` and `consultor`) or `aguardando` (with `posicao`).", body = WaitingEntryResponse,
            headers(("Idempotency-Replayed" = String, description = "`true` when this is the entry of an earlier request."))),
        BodyTooLarge,
        InvalidIdempotentBody,
    )
)]
#[post("/fila", wrap = "Require::of::<Self>()")]
pub async fn create(
    req: HttpRequest,
    state: Data<ApiState>,
    caller: Caller,
    Acting(actor): Acting,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let now = state.queue.now();
    let (claim, new) =
        idempotency::claim_and_body(&req, &caller, &body, now, WaitingEntryCreateRequest::parse)?;
    let service = state.queue.clone();
    let crm_enabled = state.pipedrive.is_some();
    let recorded = blocking::run(move || service.enqueue(&new, claim, &actor, crm_enabled)).await?;
    if !recorded.replayed && recorded.value.state == WaitingState::Assigned {
        let served_in = recorded
            .value
            .protocol
            .as_ref()
            .and_then(|protocol| protocol.language.clone());
        if let Some(language) = served_in {
            state.metrics.assignment(&language);
            state.metrics.queue_served(chrono::Duration::zero());
        }
    }
    Ok(idempotency::replayable(recorded.replayed).json(WaitingEntryResponse::from(recorded.value)))
}

/// A page of queue entries by arrival.
#[utoipa::path(
    operation_id = "listar_fila",
    tag = "fila",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(WaitingListQuery),
    responses(
        (status = 200, description = "The page, by arrival (ascending id).", body = WaitingPageResponse),
        (status = 422, description = "Invalid `idioma`, `estado`, `limit` or `cursor`.", body = ValidationErrorResponse),
    )
)]
#[get("/fila", wrap = "Require::of::<Self>()")]
pub async fn list(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let filter = WaitingListQuery::parse(&QueryParams::of(&req))?;
    let service = state.queue.clone();
    let page = blocking::run(move || service.list(&filter)).await?;
    Ok(HttpResponse::Ok().json(WaitingPageResponse::from(page)))
}

/// One queue entry.
#[utoipa::path(
    operation_id = "obter_entrada_fila",
    tag = "fila",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(EntryIdParam),
    responses(
        (status = 200, description = "The entry.", body = WaitingEntryResponse),
        EntryNotFound,
        InvalidId,
    )
)]
#[get("/fila/{fila_id}", wrap = "Require::of::<Self>()")]
pub async fn get(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let id = path::required_id(&req, ENTRY_ID)?;
    let service = state.queue.clone();
    let entry = blocking::run(move || service.get(WaitingEntryId(id))).await?;
    Ok(HttpResponse::Ok().json(WaitingEntryResponse::from(entry)))
}

/// Cancels a waiting entry (an entry already cancelled or expired is returned as it is).
#[utoipa::path(
    operation_id = "cancelar_entrada_fila",
    tag = "fila",
    security(("api-key" = ["admin", "distribuicao"])),
    params(EntryIdParam),
    responses(
        (status = 200, description = "The entry, `cancelado`.", body = WaitingEntryResponse),
        EntryNotFound,
        (status = 409, description = "A consultant already took it.", body = DetailResponse,
            example = json!({"detail": "Contato já atribuído"})),
        InvalidId,
    )
)]
#[delete("/fila/{fila_id}", wrap = "Require::of::<Self>()")]
pub async fn cancel(
    req: HttpRequest,
    state: Data<ApiState>,
    Acting(actor): Acting,
) -> Result<HttpResponse, ApiError> {
    let id = path::required_id(&req, ENTRY_ID)?;
    let service = state.queue.clone();
    let entry = blocking::run(move || service.cancel(WaitingEntryId(id), &actor)).await?;
    Ok(HttpResponse::Ok().json(WaitingEntryResponse::from(entry)))
}

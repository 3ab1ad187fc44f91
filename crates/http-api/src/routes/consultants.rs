//! `/consultores` and `/consultor/...`: registering, reading, editing, switching and removing
//! consultants.

use crate::auth::Require;
use actix_web::web::Data;
use actix_web::{delete, get, post, put};
use actix_web::{HttpRequest, HttpResponse};
use std::sync::Arc;

use consultores_domain::{
    Consultant, ConsultantFilter, ConsultantId, CrmUserDirectory, DomainError, PipedriveUserId,
    UserCheck,
};

use crate::auth::Acting;
use crate::blocking;
use crate::dto::consultant::{
    ConsultantCreateRequest, ConsultantResponse, ConsultantUpdateRequest,
};
use crate::dto::consultant_json::{self, ConsultantJson};
use crate::errors::{ApiError, DetailResponse, ValidationErrorResponse};
use crate::input::query::{language, require};
use crate::input::{path, JsonBody, QueryParams};
use crate::routes::doc_parts::{
    BodyTooLarge, ConsultantIdParam, ConsultantNotFound, EmailTaken, InvalidId,
};
use crate::state::ApiState;
use crate::validation::Problems;

/// The path parameter of a consultant's id.
pub(crate) const CONSULTANT_ID: &str = "consultor_id";

/// With the Pipedrive integration on, an `id_pipedrive` must name an active Pipedrive user:
/// one Pipedrive reports missing or inactive is a 422 on `id_pipedrive`. When Pipedrive cannot
/// be asked (down, slow, rate-limited) the id is accepted and a warning logged: registering
/// consultants must not depend on Pipedrive being up. Runs on the blocking pool (it may call
/// Pipedrive, through a short cache of its user list).
struct PipedriveUserCheck {
    users: Option<Arc<CrmUserDirectory>>,
    logger: slog::Logger,
    request_id: String,
}

impl PipedriveUserCheck {
    fn of(state: &ApiState, request_id: &str) -> Self {
        Self {
            users: state
                .pipedrive
                .as_ref()
                .map(|pipedrive| pipedrive.users.clone()),
            logger: state.logger.clone(),
            request_id: request_id.to_owned(),
        }
    }

    fn run(&self, id: Option<PipedriveUserId>) -> Result<(), DomainError> {
        let (Some(users), Some(id)) = (&self.users, id) else {
            return Ok(());
        };
        if let UserCheck::Unverified(reason) = users.verify(id)? {
            slog::warn!(self.logger, "id_pipedrive accepted without checking: Pipedrive did not answer";
                "request_id" => &self.request_id, "id_pipedrive" => id.get(), "error" => reason);
        }
        Ok(())
    }
}

/// Every consultant that is not deleted, by id; optional filters.
#[utoipa::path(
    operation_id = "listar_consultores",
    tag = "consultores",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(
        ("idioma" = Option<String>, Query, description = "Only consultants who speak this language (case-insensitive).", example = "pt"),
        ("status_online" = Option<bool>, Query, description = "Only consultants online (true) or offline (false)."),
        ("status_ativo" = Option<bool>, Query, description = "Only active (true) or inactive (false) consultants."),
    ),
    responses(
        (status = 200, description = "The consultants, by ascending id.", body = Vec<ConsultantResponse>),
        (status = 422, description = "Invalid filter.", body = ValidationErrorResponse),
    )
)]
#[get("/consultores", wrap = "Require::of::<Self>()")]
pub async fn list(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let query = QueryParams::of(&req);
    let mut problems = Problems::new();
    let language = language(query.last("idioma"), "idioma", &mut problems);
    let online = query.bool("status_online", &mut problems).value();
    let active = query.bool("status_ativo", &mut problems).value();
    problems.finish()?;
    let filter = ConsultantFilter {
        language,
        online,
        active,
    };
    let now = state.distribution.now();
    let service = state.consultants.clone();
    let first = {
        let (service, filter) = (service.clone(), filter.clone());
        blocking::run(move || service.list_after(&filter, None, LISTING_PAGE)).await?
    };
    if first.len() < LISTING_PAGE {
        return Ok(json(consultant_json::array(&first, now)));
    }
    // A long list is streamed, one keyset page at a time: the same bytes as the whole array
    // serialised at once, with memory bounded by a page whatever the size of the table. Each
    // page is read on its own (not one snapshot): a consultant changed meanwhile shows as read
    // by its page, and appears once.
    let start = (Some(first), true);
    let pages = futures_util::stream::try_unfold(start, move |(page, opening)| {
        let (service, filter) = (service.clone(), filter.clone());
        async move {
            let Some(page) = page else {
                return Ok::<_, ApiError>(None);
            };
            let last = page.last().map(|consultant| consultant.id);
            let full = page.len() == LISTING_PAGE;
            let mut chunk = Vec::new();
            consultant_json::write_elements(&mut chunk, &page, now, opening);
            drop(page);
            let next = if full {
                let next =
                    blocking::run(move || service.list_after(&filter, last, LISTING_PAGE)).await?;
                (!next.is_empty()).then_some(next)
            } else {
                None
            };
            if next.is_none() {
                chunk.push(b']');
            }
            Ok(Some((actix_web::web::Bytes::from(chunk), (next, false))))
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .streaming(pages))
}

/// Consultants read (and held) at a time when `GET /consultores` streams a long list.
const LISTING_PAGE: usize = 256;

/// Registers a consultant at the back of the queue (`ultimo_atendimento` = now).
#[utoipa::path(
    operation_id = "criar_consultor",
    tag = "consultores",
    security(("api-key" = ["admin"])),
    request_body = ConsultantCreateRequest,
    responses(
        (status = 200, description = "The new consultant (200, as v6).", body = ConsultantResponse),
        EmailTaken,
        BodyTooLarge,
        (status = 422, description = "Invalid body; with the Pipedrive integration on, also an `id_pipedrive` that Pipedrive reports missing or inactive.", body = ValidationErrorResponse),
    )
)]
#[post("/consultor", wrap = "Require::of::<Self>()")]
pub async fn create(
    state: Data<ApiState>,
    Acting(actor): Acting,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let new = ConsultantCreateRequest::parse(&body)?;
    let service = state.consultants.clone();
    let check = PipedriveUserCheck::of(&state, &actor.request_id);
    let consultant = blocking::run(move || {
        check.run(new.pipedrive_user_id)?;
        service.register(&new, &actor)
    })
    .await?;
    state.queue_may_move();
    Ok(answer(&state, consultant))
}

/// One consultant.
#[utoipa::path(
    operation_id = "obter_consultor",
    tag = "consultores",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(ConsultantIdParam),
    responses(
        (status = 200, description = "The consultant.", body = ConsultantResponse),
        ConsultantNotFound,
        InvalidId,
    )
)]
#[get("/consultor/{consultor_id}", wrap = "Require::of::<Self>()")]
pub async fn get(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let id = consultant_id(&req)?;
    let service = state.consultants.clone();
    let consultant = blocking::run(move || service.get(id)).await?;
    Ok(answer(&state, consultant))
}

/// Changes only the fields present in the body; `null` clears `email`, `telefone` and
/// `id_pipedrive`.
#[utoipa::path(
    operation_id = "atualizar_consultor",
    tag = "consultores",
    security(("api-key" = ["admin"])),
    params(ConsultantIdParam),
    request_body = ConsultantUpdateRequest,
    responses(
        (status = 200, description = "The updated consultant.", body = ConsultantResponse),
        EmailTaken,
        ConsultantNotFound,
        BodyTooLarge,
        (status = 422, description = "Invalid id or body; with the Pipedrive integration on, also an `id_pipedrive` that Pipedrive reports missing or inactive.", body = ValidationErrorResponse),
    )
)]
#[put("/consultor/{consultor_id}", wrap = "Require::of::<Self>()")]
pub async fn update(
    req: HttpRequest,
    state: Data<ApiState>,
    Acting(actor): Acting,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let (id, patch) =
        path::id_and_body(&req, CONSULTANT_ID, &body, ConsultantUpdateRequest::parse)?;
    let service = state.consultants.clone();
    let check = PipedriveUserCheck::of(&state, &actor.request_id);
    let consultant = blocking::run(move || {
        check.run(patch.pipedrive_user_id.flatten())?;
        service.update(ConsultantId(id), &patch, &actor)
    })
    .await?;
    state.queue_may_move();
    Ok(answer(&state, consultant))
}

/// Removes a consultant from every listing and from the rotation; their protocols stay.
#[utoipa::path(
    operation_id = "remover_consultor",
    tag = "consultores",
    security(("api-key" = ["admin"])),
    params(ConsultantIdParam),
    responses(
        (status = 200, description = "Removed.", body = DetailResponse,
            example = json!({"detail": "Consultor removido com sucesso"})),
        ConsultantNotFound,
        InvalidId,
    )
)]
#[delete("/consultor/{consultor_id}", wrap = "Require::of::<Self>()")]
pub async fn delete(
    req: HttpRequest,
    state: Data<ApiState>,
    Acting(actor): Acting,
) -> Result<HttpResponse, ApiError> {
    let id = consultant_id(&req)?;
    let service = state.consultants.clone();
    blocking::run(move || service.remove(id, &actor)).await?;
    Ok(HttpResponse::Ok().json(DetailResponse::new("Consultor removido com sucesso")))
}

/// Switches `status_online`.
#[utoipa::path(
    operation_id = "alterar_conexao",
    tag = "consultores",
    security(("api-key" = ["admin"])),
    params(
        ConsultantIdParam,
        ("status" = bool, Query, description = "true: online; false: offline."),
    ),
    responses(
        (status = 200, description = "The consultant with the new `status_online`.", body = ConsultantResponse),
        ConsultantNotFound,
        (status = 422, description = "Invalid id or status.", body = ValidationErrorResponse),
    )
)]
#[put("/consultor/{consultor_id}/connection", wrap = "Require::of::<Self>()")]
pub async fn connection(
    req: HttpRequest,
    state: Data<ApiState>,
    Acting(actor): Acting,
) -> Result<HttpResponse, ApiError> {
    let (id, online) = path::id_and(&req, CONSULTANT_ID, |problems| {
        let query = QueryParams::of(&req);
        require(query.bool("status", problems), "status", problems)
    })?;
    let service = state.consultants.clone();
    let consultant =
        blocking::run(move || service.set_online(ConsultantId(id), online, &actor)).await?;
    state.queue_may_move();
    Ok(answer(&state, consultant))
}

pub(crate) fn consultant_id(req: &HttpRequest) -> Result<ConsultantId, ApiError> {
    path::required_id(req, CONSULTANT_ID).map(ConsultantId)
}

/// `200` with the consultant as of now.
fn answer(state: &ApiState, consultant: Consultant) -> HttpResponse {
    json(ConsultantJson::new(&consultant, state.distribution.now()).to_vec())
}

/// `200` with a JSON body already written.
fn json(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)
}

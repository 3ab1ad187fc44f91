//! `/auditoria` and `/consultor/{consultor_id}/historico-conexao`: reading the record of
//! operations.

use crate::auth::Require;
use actix_web::get;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::ConsultantId;

use crate::blocking;
use crate::dto::audit::{
    AuditListQuery, AuditPageResponse, ConnectionHistoryQuery, ConnectionHistoryResponse,
};
use crate::errors::{ApiError, DetailResponse, ValidationErrorResponse};
use crate::input::{path, QueryParams};
use crate::routes::consultants::CONSULTANT_ID;
use crate::routes::doc_parts::ConsultantIdParam;
use crate::state::ApiState;

/// The record of operations, newest first, in keyset pages.
///
/// Every state-changing operation writes one entry in the same transaction as its change: who
/// (the key's id and description, never the key), the request id, the action, the entity and
/// its id, and the changed fields only (`{"campo": {"antes": …, "depois": …}}`). Failed or
/// refused operations, idempotent replays and operations that change nothing write none.
/// `consultor.conexao` is any change of `status_online` (with the other fields changed by the
/// same request, if any); `atribuicao` is recorded on the consultant who got the contact.
#[utoipa::path(
    operation_id = "listar_auditoria",
    tag = "auditoria",
    security(("api-key" = ["admin"])),
    params(AuditListQuery),
    responses(
        (status = 200, description = "A page of entries, newest first; `proximo_cursor` is the `cursor` of the next page (`null` on the last).", body = AuditPageResponse),
        (status = 422, description = "Invalid filter, `limit` or `cursor`, or `entidade_id` without `entidade`.", body = ValidationErrorResponse),
    )
)]
#[get("/auditoria", wrap = "Require::of::<Self>()")]
pub async fn list(req: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let filter = AuditListQuery::parse(&QueryParams::of(&req))?;
    let service = state.audit.clone();
    let page = blocking::run(move || service.list(&filter)).await?;
    Ok(HttpResponse::Ok().json(AuditPageResponse::from(page)))
}

/// When a consultant was switched online or offline, and by whom, newest first, in keyset
/// pages: every `consultor.conexao` entry of the consultant, and their creation (the initial
/// state). Removed consultants keep their history.
#[utoipa::path(
    operation_id = "historico_conexao",
    tag = "auditoria",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(
        ConsultantIdParam,
        ConnectionHistoryQuery,
    ),
    responses(
        (status = 200, description = "A page of switches, newest first.", body = ConnectionHistoryResponse),
        (status = 404, description = "No consultant ever had this id.", body = DetailResponse,
            example = json!({"detail": "Consultor não encontrado"})),
        (status = 422, description = "Invalid id, `limit` or `cursor`.", body = ValidationErrorResponse),
    )
)]
#[get(
    "/consultor/{consultor_id}/historico-conexao",
    wrap = "Require::of::<Self>()"
)]
pub async fn connection_history(
    req: HttpRequest,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let (id, page) = path::id_and(&req, CONSULTANT_ID, |problems| {
        ConnectionHistoryQuery::parse(&QueryParams::of(&req), problems)
    })?;
    let consultant = ConsultantId(id);
    let service = state.audit.clone();
    let history = blocking::run(move || service.connection_history(consultant, &page)).await?;
    Ok(HttpResponse::Ok().json(ConnectionHistoryResponse::new(consultant, history)))
}

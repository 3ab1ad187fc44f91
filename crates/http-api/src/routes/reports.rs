//! `/relatorios/atribuicoes`: how the rotation shared contacts, per consultant per local day.

use crate::auth::Require;
use actix_web::get;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use crate::blocking;
use crate::dto::report::{csv, wants_csv, ReportQuery, ReportResponse};
use crate::errors::{ApiError, ValidationErrorResponse};
use crate::input::QueryParams;
use crate::settings::HttpSettings;
use crate::state::ApiState;

/// Rotation assignments per consultant per local day.
///
/// Counts the protocols opened by the rotation (`GET /consultor/da-vez`, Pipedrive webhooks),
/// never those opened by hand (`POST /protocolo`, `GET /gerar-protocolo`), per consultant and
/// per local day of `fuso_horario`, from `de` to `ate` inclusive (at most 366 days). Lists every
/// consultant who got a contact in the period, removed ones included, and every current
/// consultant who could have (speaking `idioma`, when given), with zeros. `Accept: text/csv` or
/// `formato=csv` gives the same as CSV: `consultor_id,nome,data,atribuicoes`, one row per
/// consultant per day.
#[utoipa::path(
    operation_id = "relatorio_atribuicoes",
    tag = "relatorios",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The report (JSON, or CSV with `Accept: text/csv` or `formato=csv`).",
            content(
                (ReportResponse = "application/json"),
                (String = "text/csv", example = "consultor_id,nome,data,atribuicoes\r\n7,João Silva,2026-11-01,3\r\n"),
            )),
        (status = 422, description = "Invalid date, `ate` before `de`, a period over 366 days, an unknown language code, time zone or `formato`.", body = ValidationErrorResponse),
    )
)]
#[get("/relatorios/atribuicoes", wrap = "Require::of::<Self>()")]
pub async fn assignments(
    req: HttpRequest,
    state: Data<ApiState>,
    settings: Data<HttpSettings>,
) -> Result<HttpResponse, ApiError> {
    let parsed = ReportQuery::parse(&QueryParams::of(&req), settings.default_time_zone)?;
    let service = state.reports.clone();
    let request = parsed.request.clone();
    let report = blocking::run(move || service.assignments(&request)).await?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    if wants_csv(parsed.format, accept) {
        let filename = format!("atribuicoes-{}-{}.csv", parsed.from, parsed.to);
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ))
            .body(csv(&report)));
    }
    Ok(HttpResponse::Ok().json(ReportResponse::new(&parsed, &report)))
}

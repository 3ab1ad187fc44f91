//! The consultants' list: each one's situation now (available, or the rotation's reason) and
//! counters, with the switch and the way to the form.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::{availability, ConsultantFilter};
use maud::html;

use crate::consultants::languages_text;
use crate::errors::{blocking, WebError};
use crate::forms::Form;
use crate::layout::{self, Section};
use crate::queue::switch;
use crate::rules;
use crate::session::SignedIn;
use crate::state::WebState;

/// `GET /painel/consultores`.
pub async fn list(
    req: HttpRequest,
    who: SignedIn,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let service = state.consultants.clone();
    let consultants = blocking(move || service.list(&ConsultantFilter::default())).await?;
    let zone = state.settings.default_time_zone;
    let now = state.clock.now();
    let manage = who.manages_consultants();
    let notice = layout::notice(Form::query(&req).get("ok"));
    Ok(layout::page(
        &who,
        Section::Consultants,
        "Consultores",
        html! {
            h1 { "Consultores" }
            @if let Some(notice) = notice { p.sucesso role="status" { (notice) } }
            @if manage {
                p { a.botao href="/painel/consultores/novo" { "Cadastrar consultor" } }
            }
            div.rolagem {
                table {
                    caption.vazio { (consultants.len()) " consultores" }
                    thead { tr {
                        th.num { "Id" } th { "Nome" } th.ocultar-celular { "Email" }
                        th { "Idiomas" } th { "Situação" }
                        th.num.ocultar-celular { abbr title="Atendimentos da rotação hoje" { "Hoje" } }
                        th.num.ocultar-celular { abbr title="Protocolos abertos ou em andamento" { "Abertos" } }
                        th.ocultar-celular { "Último atendimento" }
                        th { "Ações" }
                    } }
                    tbody {
                        @for consultant in &consultants {
                            @let status = availability(consultant, now);
                            tr {
                                td.num { (consultant.id.0) }
                                td { (consultant.name.as_str()) }
                                td.ocultar-celular { (consultant.email.as_ref().map(|e| e.as_str()).unwrap_or("—")) }
                                td { (languages_text(consultant)) }
                                td {
                                    (rules::status_tag(&status))
                                    @if consultant.online && status.reason.is_some() { " " span.etiqueta { "online" } }
                                }
                                td.num.ocultar-celular { (status.assignments_today) }
                                td.num.ocultar-celular { (status.open_protocols) }
                                td.ocultar-celular {
                                    (consultant.last_served_at.map(|at| layout::local_time(&at, zone)).unwrap_or_else(|| "—".to_owned()))
                                }
                                td {
                                    div.acoes {
                                        a href=(format!("/painel/consultores/{}", consultant.id.0)) {
                                            @if manage { "Editar" } @else { "Ver" }
                                            span.pular { " " (consultant.name.as_str()) }
                                        }
                                        @if manage { (switch(&who, consultant, "/painel/consultores")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

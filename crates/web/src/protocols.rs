//! "Protocolos": find by number, consultant, status or date; edit status, priority and
//! description (with the scope the API needs for `PUT /protocolo/{id}`).

use std::collections::HashMap;

use actix_web::http::{Method, StatusCode};
use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDate;
use consultores_domain::{
    Consultant, ConsultantFilter, ConsultantId, Description, Priority, Protocol, ProtocolId,
    ProtocolNumber, ProtocolPatch, ProtocolSearch, ProtocolStatus,
};
use consultores_http::local_days::day_start;
use maud::html;

use crate::errors::{blocking, WebError};
use crate::forms::{FieldErrors, Form};
use crate::layout::{self, Section};
use crate::session::{RecordChange, SignedIn};
use crate::state::WebState;

fn status_label(status: ProtocolStatus) -> &'static str {
    match status {
        ProtocolStatus::Open => "aberto",
        ProtocolStatus::InProgress => "em andamento",
        ProtocolStatus::Closed => "fechado",
    }
}

/// `#00042`, `00042` or `42`.
fn protocol_number(raw: &str) -> Result<ProtocolNumber, &'static str> {
    let message = "informe um número de protocolo, como #00042 ou 42";
    let digits = raw.trim().trim_start_matches('#');
    let value: i64 = digits.parse().map_err(|_| message)?;
    ProtocolNumber::from_counter(value).map_err(|_| message)
}

/// A date in the years both databases store and show alike.
fn date(raw: &str) -> Result<NaiveDate, &'static str> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|date| (1900..=9999).contains(&chrono::Datelike::year(date)))
        .ok_or("informe uma data válida (AAAA-MM-DD)")
}

/// Reads the search form; problems go next to their fields.
fn search(form: &Form, zone: chrono_tz::Tz, errors: &mut FieldErrors) -> ProtocolSearch {
    let mut search = ProtocolSearch::default();
    if let Some(raw) = form.text("numero") {
        search.number = errors.take("numero", protocol_number(raw));
    }
    if let Some(raw) = form.text("consultor_id") {
        search.consultant_id = errors
            .take(
                "consultor_id",
                raw.parse::<i64>().map_err(|_| "consultor inválido"),
            )
            .map(ConsultantId);
    }
    if let Some(raw) = form.text("status") {
        search.status = errors.take("status", raw.parse::<ProtocolStatus>());
    }
    let from = form.text("de").and_then(|raw| errors.take("de", date(raw)));
    let to = form
        .text("ate")
        .and_then(|raw| errors.take("ate", date(raw)));
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            errors.add("ate", "deve ser igual ou posterior à data inicial");
        }
    }
    search.created_from = from.map(|day| day_start(zone, day));
    search.created_until = to
        .and_then(|day| day.succ_opt())
        .map(|day| day_start(zone, day));
    search
}

/// `GET /painel/protocolos`.
pub async fn list(
    req: HttpRequest,
    who: SignedIn,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let form = Form::query(&req);
    let zone = state.settings.default_time_zone;
    let mut errors = FieldErrors::default();
    let criteria = search(&form, zone, &mut errors);
    let consultants_service = state.consultants.clone();
    let consultants =
        blocking(move || consultants_service.list(&ConsultantFilter::default())).await?;
    let found = if errors.is_empty() {
        let service = state.protocols.clone();
        blocking(move || service.search(&criteria)).await?
    } else {
        Vec::new()
    };
    let names: HashMap<i64, &str> = consultants
        .iter()
        .map(|consultant| (consultant.id.0, consultant.name.as_str()))
        .collect();
    let value = |name: &str| form.get(name).unwrap_or_default().to_owned();
    Ok(layout::page_with_status(
        errors.status(),
        &who,
        Section::Protocols,
        "Protocolos",
        html! {
            h1 { "Protocolos" }
            form.cartao.filtros method="get" action="/painel/protocolos" role="search" {
                div {
                    label for="numero" { "Número" }
                    input #numero name="numero" value=(value("numero")) placeholder="#00042"
                        aria-describedby=[layout::described_by("numero", errors.get("numero"))];
                    (layout::field_error("numero", errors.get("numero")))
                }
                (layout::select_field(
                    "consultor_id", "Consultor", "Todos",
                    consultants.iter().map(|consultant| (consultant.id.0.to_string(), consultant.name.as_str())),
                    &value("consultor_id"), errors.get("consultor_id"),
                ))
                (layout::select_field(
                    "status", "Situação", "Todas",
                    ProtocolStatus::all().map(|item| (item.as_str(), status_label(item))),
                    &value("status"), errors.get("status"),
                ))
                (layout::input_field("de", "Aberto de", "date", &value("de"), errors.get("de")))
                (layout::input_field("ate", "até", "date", &value("ate"), errors.get("ate")))
                div { button type="submit" { "Buscar" } }
            }
            @if errors.is_empty() {
                p.vazio role="status" {
                    @if found.is_empty() { "Nenhum protocolo encontrado." }
                    @else { (found.len()) " protocolos, os mais recentes primeiro (até 100)." }
                }
            }
            div.rolagem {
                table {
                    thead { tr {
                        th { "Número" } th { "Consultor" } th { "Situação" }
                        th.ocultar-celular { "Prioridade" } th.ocultar-celular { "Idioma" } th { "Aberto em" }
                    } }
                    tbody {
                        @for protocol in &found {
                            tr {
                                td { a href=(format!("/painel/protocolos/{}", protocol.id.0)) { (protocol.number.to_string()) } }
                                td { (protocol.consultant_id.and_then(|id| names.get(&id.0).copied()).map(str::to_owned).or_else(|| protocol.consultant_id.map(|id| format!("#{} (removido)", id.0))).unwrap_or_else(|| "—".to_owned())) }
                                td { (status_label(protocol.status)) }
                                td.ocultar-celular { (protocol.priority.as_str()) }
                                td.ocultar-celular { (protocol.language.as_ref().map(|l| l.as_str()).unwrap_or("—")) }
                                td { (layout::local_time(&protocol.created_at, zone)) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn protocol_id(raw: &str) -> Result<ProtocolId, WebError> {
    raw.parse::<i64>()
        .map(ProtocolId)
        .map_err(|_| WebError::NotFound("Protocolo não encontrado"))
}

/// The protocol's page: its data, and the edit form for keys that may edit.
/// A protocol as the page shows it: with its consultant (if not removed), in the page's zone.
struct Shown<'a> {
    protocol: &'a Protocol,
    consultant: Option<&'a Consultant>,
    zone: chrono_tz::Tz,
}

fn edit_page(
    who: &SignedIn,
    status: StatusCode,
    shown: Shown<'_>,
    values: (&str, &str, &str),
    errors: &FieldErrors,
    notice: Option<&str>,
) -> HttpResponse {
    let Shown {
        protocol,
        consultant,
        zone,
    } = shown;
    let (chosen_status, chosen_priority, description) = values;
    let editable = who.edits_protocols();
    let title = format!("Protocolo {}", protocol.number);
    layout::page_with_status(
        status,
        who,
        Section::Protocols,
        &title,
        html! {
            h1 { (title) }
            @if let Some(notice) = notice { p.sucesso role="status" { (notice) } }
            @if !errors.is_empty() { p.erro role="alert" { "Corrija os campos marcados abaixo. Nada foi salvo." } }
            dl.cartao {
                dt { "Consultor" }
                dd { (consultant.map(|c| c.name.as_str().to_owned()).or_else(|| protocol.consultant_id.map(|id| format!("#{} (removido)", id.0))).unwrap_or_else(|| "—".to_owned())) }
                dt { "Idioma" } dd { (protocol.language.as_ref().map(|l| l.as_str()).unwrap_or("—")) }
                dt { "Aberto em" } dd { (layout::local_time(&protocol.created_at, zone)) }
                dt { "Atualizado em" } dd { (layout::local_time(&protocol.updated_at, zone)) }
            }
            form.cartao method="post" action=(format!("/painel/protocolos/{}", protocol.id.0)) {
                (layout::csrf(who))
                label for="status" { "Situação" }
                select #status name="status" disabled[!editable] aria-describedby=[layout::described_by("status", errors.get("status"))] {
                    @for item in ProtocolStatus::all() {
                        option value=(item.as_str()) selected[chosen_status == item.as_str()] { (status_label(item)) }
                    }
                }
                (layout::field_error("status", errors.get("status")))
                label for="prioridade" { "Prioridade" }
                select #prioridade name="prioridade" disabled[!editable] aria-describedby=[layout::described_by("prioridade", errors.get("prioridade"))] {
                    @for item in Priority::all() {
                        option value=(item.as_str()) selected[chosen_priority == item.as_str()] { (item.as_str()) }
                    }
                }
                (layout::field_error("prioridade", errors.get("prioridade")))
                label for="descricao" { "Descrição" }
                textarea #descricao name="descricao" maxlength="2000" disabled[!editable]
                    aria-describedby=[layout::described_by("descricao", errors.get("descricao"))] { (description) }
                (layout::field_error("descricao", errors.get("descricao")))
                @if editable {
                    div.acoes {
                        button type="submit" { "Salvar" }
                        a href="/painel/protocolos" { "Voltar" }
                    }
                }
            }
        },
    )
}

async fn load(
    state: &WebState,
    id: ProtocolId,
) -> Result<(Protocol, Option<Consultant>), WebError> {
    let service = state.protocols.clone();
    let protocol = blocking(move || service.get(id)).await?;
    let consultant = match protocol.consultant_id {
        Some(consultant_id) => {
            let service = state.consultants.clone();
            blocking(move || {
                service
                    .get(consultant_id)
                    .map(Some)
                    .or_else(|error| match error {
                        consultores_domain::DomainError::ConsultantNotFound => Ok(None),
                        other => Err(other),
                    })
            })
            .await?
        }
        None => None,
    };
    Ok((protocol, consultant))
}

/// `GET /painel/protocolos/{id}`.
pub async fn edit_form(
    req: HttpRequest,
    who: SignedIn,
    id: Path<String>,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let id = protocol_id(&id)?;
    let (protocol, consultant) = load(&state, id).await?;
    let description = protocol
        .description
        .as_ref()
        .map(|d| d.as_str().to_owned())
        .unwrap_or_default();
    Ok(edit_page(
        &who,
        StatusCode::OK,
        Shown {
            protocol: &protocol,
            consultant: consultant.as_ref(),
            zone: state.settings.default_time_zone,
        },
        (
            protocol.status.as_str(),
            protocol.priority.as_str(),
            &description,
        ),
        &FieldErrors::default(),
        layout::notice(Form::query(&req).get("ok")),
    ))
}

/// `POST /painel/protocolos/{id}`: status, priority and description, as one `PUT /protocolo/{id}`.
pub async fn update(change: RecordChange, state: Data<WebState>) -> Result<HttpResponse, WebError> {
    let (who, form, id) = change.accept(Method::PUT, "/protocolo/{protocolo_id}", protocol_id)?;
    let mut errors = FieldErrors::default();
    let status = errors.take(
        "status",
        form.get("status")
            .unwrap_or_default()
            .parse::<ProtocolStatus>(),
    );
    let priority = errors.take(
        "prioridade",
        form.get("prioridade")
            .unwrap_or_default()
            .parse::<Priority>(),
    );
    let raw_description = form.get("descricao").unwrap_or_default();
    let description = match raw_description.trim() {
        "" => Some(None),
        text => errors.take("descricao", Description::parse(text)).map(Some),
    };
    if !errors.is_empty() {
        let (protocol, consultant) = load(&state, id).await?;
        return Ok(edit_page(
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                protocol: &protocol,
                consultant: consultant.as_ref(),
                zone: state.settings.default_time_zone,
            },
            (
                form.get("status").unwrap_or_default(),
                form.get("prioridade").unwrap_or_default(),
                raw_description,
            ),
            &errors,
            None,
        ));
    }
    let patch = ProtocolPatch {
        description,
        priority,
        status,
        consultant_id: None,
    };
    let service = state.protocols.clone();
    let actor = who.actor();
    blocking(move || service.update(id, &patch, &actor)).await?;
    Ok(layout::see_other(&format!(
        "/painel/protocolos/{}?ok=salvo",
        id.0
    )))
}

//! "Relatório": the assignments report of `GET /relatorios/atribuicoes` as a table and a bar
//! chart drawn on the server (SVG), with its CSV download.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate};
use consultores_domain::AssignmentReport;
use consultores_http::dto::report::{self as wire, ParsedReport, ReportQuery};
use consultores_http::input::QueryParams;
use consultores_http::ApiError;
use maud::{html, Markup};

use crate::errors::{blocking, WebError};
use crate::forms::{FieldErrors, Form};
use crate::layout::{self, Section};
use crate::session::SignedIn;
use crate::state::WebState;

const FIELDS: [&str; 4] = ["de", "ate", "idioma", "fuso_horario"];

/// The form's values, with this month so far (in the default zone) when no dates are given.
fn values(req: &HttpRequest, state: &WebState) -> Vec<(&'static str, String)> {
    let form = Form::query(req);
    let zone = state.settings.default_time_zone;
    let today = state.clock.now().with_timezone(&zone).date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let given = |name: &str| form.get(name).map(str::to_owned);
    vec![
        ("de", given("de").unwrap_or_else(|| first.to_string())),
        ("ate", given("ate").unwrap_or_else(|| today.to_string())),
        ("idioma", given("idioma").unwrap_or_default()),
        (
            "fuso_horario",
            given("fuso_horario").unwrap_or_else(|| zone.name().to_owned()),
        ),
    ]
}

fn query_of(values: &[(&'static str, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in values {
        if !value.trim().is_empty() {
            query.append_pair(name, value.trim());
        }
    }
    query.finish()
}

fn parse(values: &[(&'static str, String)], state: &WebState) -> Result<ParsedReport, FieldErrors> {
    match ReportQuery::parse(
        &QueryParams::parse(&query_of(values)),
        state.settings.default_time_zone,
    ) {
        Ok(parsed) => Ok(parsed),
        Err(ApiError::Validation(items)) => Err(FieldErrors::from_validation(&items, &FIELDS)),
        Err(_) => {
            let mut errors = FieldErrors::default();
            errors.add("de", "período inválido");
            Err(errors)
        }
    }
}

async fn run(state: &WebState, parsed: &ParsedReport) -> Result<AssignmentReport, WebError> {
    let service = state.reports.clone();
    let request = parsed.request.clone();
    blocking(move || service.assignments(&request)).await
}

/// `GET /painel/relatorio`.
pub async fn page(
    req: HttpRequest,
    who: SignedIn,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let values = values(&req, &state);
    let parsed = parse(&values, &state);
    let (report, errors) = match &parsed {
        Ok(parsed) => (Some(run(&state, parsed).await?), FieldErrors::default()),
        Err(errors) => (None, errors.clone()),
    };
    let value = |name: &str| {
        values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let field = |name: &'static str, label: &str, kind: &str| {
        let error = errors.get(name);
        html! {
            div {
                label for=(name) { (label) }
                input id=(name) name=(name) type=(kind) value=(value(name))
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[layout::described_by(name, error)];
                (layout::field_error(name, error))
            }
        }
    };
    Ok(layout::page_with_status(
        errors.status(),
        &who,
        Section::Report,
        "Relatório",
        html! {
            h1 { "Relatório de atribuições" }
            p.vazio { "Contatos entregues pela rotação, por consultor e por dia local (até 366 dias)." }
            form.cartao.filtros method="get" action="/painel/relatorio" {
                (field("de", "De", "date"))
                (field("ate", "Até", "date"))
                (field("idioma", "Idioma (opcional)", "text"))
                (field("fuso_horario", "Fuso horário", "text"))
                div { button type="submit" { "Ver relatório" } }
            }
            @if let (Some(report), Ok(parsed)) = (&report, &parsed) {
                div.acoes {
                    strong { "Total: " (report.total) }
                    a.botao href=(format!("/painel/relatorio.csv?{}", query_of(&values))) download { "Baixar CSV" }
                }
                section.cartao aria-labelledby="grafico-titulo" {
                    h2 #grafico-titulo { "Atribuições por consultor" }
                    (chart(report))
                }
                section.cartao aria-labelledby="tabela-titulo" {
                    h2 #tabela-titulo { "Por dia (" (parsed.zone.name()) ")" }
                    (table(report))
                }
            }
        },
    ))
}

/// Horizontal bars, one per consultant, scaled to the largest total; text stays readable at
/// any width (the SVG scales with its `viewBox`).
fn chart(report: &AssignmentReport) -> Markup {
    let row = 28;
    let label_width = 190;
    let bar_space = 380;
    let width = label_width + bar_space + 60;
    let height = row * report.consultants.len().max(1) + 8;
    let max = report
        .consultants
        .iter()
        .map(|line| line.total)
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        svg.grafico xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {width} {height}"))
            role="img" aria-label="Gráfico de barras: atribuições por consultor" {
            @if report.consultants.is_empty() {
                text x="0" y="20" { "Nenhum consultor no período." }
            }
            @for (index, line) in report.consultants.iter().enumerate() {
                @let y = index * row + 4;
                @let bar = (line.total as f64 / max as f64 * bar_space as f64).round() as u64;
                g {
                    title { (line.name) ": " (line.total) }
                    text x="0" y=(y + 17) { (short(&line.name, 24)) }
                    rect x=(label_width) y=(y + 4) width=(bar.max(if line.total > 0 { 2 } else { 0 })) height=(row - 10) rx="3" {}
                    text x=(label_width as u64 + bar + 6) y=(y + 17) { (line.total) }
                }
            }
        }
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

fn table(report: &AssignmentReport) -> Markup {
    html! {
        div.rolagem {
            table {
                thead { tr {
                    th { "Consultor" } th.num { "Total" }
                    @for day in &report.days { th.num { (day.format("%d/%m")) } }
                } }
                tbody {
                    @for line in &report.consultants {
                        tr {
                            td { (line.name) }
                            td.num { (line.total) }
                            @for count in &line.per_day { td.num { (count) } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /painel/relatorio.csv`: the API's CSV, for the signed-in session.
pub async fn csv(
    req: HttpRequest,
    _who: SignedIn,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let values = values(&req, &state);
    let parsed = match parse(&values, &state) {
        Ok(parsed) => parsed,
        Err(_) => {
            return Ok(layout::see_other(&format!(
                "/painel/relatorio?{}",
                query_of(&values)
            )))
        }
    };
    let report = run(&state, &parsed).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"atribuicoes-{}-{}.csv\"",
                parsed.from, parsed.to
            ),
        ))
        .body(wire::csv(&report)))
}

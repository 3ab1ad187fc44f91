//! "Auditoria" (`admin` only, like `GET /auditoria`): the record of operations with the same
//! filters and keyset pages as the API.

use actix_web::http::{Method, StatusCode};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::{AuditAction, AuditEntity};
use consultores_http::dto::audit::{AuditListQuery, AuditPageResponse};
use consultores_http::input::QueryParams;
use consultores_http::ApiError;
use maud::html;

use crate::errors::{blocking, WebError};
use crate::forms::{FieldErrors, Form};
use crate::layout::{self, Section};
use crate::session::SignedIn;
use crate::state::WebState;

const FIELDS: [&str; 7] = [
    "entidade",
    "entidade_id",
    "acao",
    "desde",
    "ate",
    "limit",
    "cursor",
];

/// `GET /painel/auditoria`.
pub async fn page(
    req: HttpRequest,
    who: SignedIn,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    who.require(Method::GET, "/auditoria")?;
    let form = Form::query(&req);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in form.pairs() {
        if FIELDS.contains(&name.as_str()) && !value.trim().is_empty() {
            query.append_pair(name, value.trim());
        }
    }
    let query = query.finish();
    let (page, errors) = match AuditListQuery::parse(&QueryParams::parse(&query)) {
        Ok(filter) => {
            let service = state.audit.clone();
            let page = blocking(move || service.list(&filter)).await?;
            (Some(AuditPageResponse::from(page)), FieldErrors::default())
        }
        Err(ApiError::Validation(items)) => (None, FieldErrors::from_validation(&items, &FIELDS)),
        Err(other) => return Err(WebError::Internal(other.to_string())),
    };
    let value = |name: &str| form.get(name).unwrap_or_default().to_owned();
    let next_page = page
        .as_ref()
        .and_then(|page| page.next_cursor.clone())
        .map(|cursor| {
            let mut next = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in form.pairs() {
                if FIELDS.contains(&name.as_str()) && name != "cursor" && !value.trim().is_empty() {
                    next.append_pair(name, value.trim());
                }
            }
            next.append_pair("cursor", &cursor);
            next.finish()
        });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let text_field = |name: &'static str, label: &str, kind: &str| {
        let error = errors.get(name);
        html! {
            div {
                label for=(name) { (label) }
                input id=(name) name=(name) type=(kind) value=(value(name))
                    aria-describedby=[layout::described_by(name, error)];
                (layout::field_error(name, error))
            }
        }
    };
    Ok(layout::page_with_status(
        status,
        &who,
        Section::Audit,
        "Auditoria",
        html! {
            h1 { "Auditoria" }
            form.cartao.filtros method="get" action="/painel/auditoria" {
                div {
                    label for="entidade" { "Entidade" }
                    select #entidade name="entidade" {
                        option value="" { "Todas" }
                        @for entity in AuditEntity::all() {
                            option value=(entity.as_str()) selected[value("entidade") == entity.as_str()] { (entity.as_str()) }
                        }
                    }
                    (layout::field_error("entidade", errors.get("entidade")))
                }
                (text_field("entidade_id", "Id da entidade", "text"))
                div {
                    label for="acao" { "Ação" }
                    select #acao name="acao" {
                        option value="" { "Todas" }
                        @for action in AuditAction::all() {
                            option value=(action.as_str()) selected[value("acao") == action.as_str()] { (action.as_str()) }
                        }
                    }
                    (layout::field_error("acao", errors.get("acao")))
                }
                (text_field("desde", "Desde", "date"))
                (text_field("ate", "Antes de", "date"))
                div { button type="submit" { "Filtrar" } }
            }
            @if let Some(page) = &page {
                div.rolagem {
                    table {
                        thead { tr {
                            th { "Quando (UTC)" } th { "Chave" } th { "Ação" } th { "Entidade" }
                            th { "Alterações" } th.ocultar-celular { "Request id" }
                        } }
                        tbody {
                            @for item in &page.items {
                                tr {
                                    td { (item.at) }
                                    td { (item.api_key_description) @if let Some(id) = item.api_key_id { " (#" (id) ")" } }
                                    td { (item.action) }
                                    td { (item.entity) " " (item.entity_id) }
                                    td { pre.alteracoes { (serde_json::to_string_pretty(&item.changes).unwrap_or_default()) } }
                                    td.ocultar-celular { code { (item.request_id) } }
                                }
                            }
                        }
                    }
                }
                @if page.items.is_empty() { p.vazio { "Nenhum registro." } }
                @if let Some(next) = next_page {
                    p { a href=(format!("/painel/auditoria?{next}")) { "Registros mais antigos" } }
                }
            }
        },
    ))
}

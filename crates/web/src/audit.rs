//! "Auditoria" (`admin` only, like `GET /auditoria`): the record of operations with the same
//! filters and keyset pages as the API.

use actix_web::http::Method;
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
        if AuditListQuery::FIELDS.contains(&name.as_str()) && !value.trim().is_empty() {
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
        Err(ApiError::Validation(items)) => (
            None,
            FieldErrors::from_validation(&items, &AuditListQuery::FIELDS),
        ),
        Err(other) => return Err(WebError::Internal(other.to_string())),
    };
    let value = |name: &str| form.get(name).unwrap_or_default().to_owned();
    let next_page = page
        .as_ref()
        .and_then(|page| page.next_cursor.clone())
        .map(|cursor| {
            let mut next = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in form.pairs() {
                if AuditListQuery::FIELDS.contains(&name.as_str())
                    && name != "cursor"
                    && !value.trim().is_empty()
                {
                    next.append_pair(name, value.trim());
                }
            }
            next.append_pair("cursor", &cursor);
            next.finish()
        });
    let text_field = |name: &'static str, label: &str, kind: &str| {
        layout::input_field(name, label, kind, &value(name), errors.get(name))
    };
    Ok(layout::page_with_status(
        errors.status(),
        &who,
        Section::Audit,
        "Auditoria",
        html! {
            h1 { "Auditoria" }
            form.cartao.filtros method="get" action="/painel/auditoria" {
                (layout::select_field(
                    "entidade", "Entidade", "Todas",
                    AuditEntity::all().map(|entity| (entity.as_str(), entity.as_str())),
                    &value("entidade"), errors.get("entidade"),
                ))
                (text_field("entidade_id", "Id da entidade", "text"))
                (layout::select_field(
                    "acao", "Ação", "Todas",
                    AuditAction::all().map(|action| (action.as_str(), action.as_str())),
                    &value("acao"), errors.get("acao"),
                ))
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

//! The record of operations on the wire (`/auditoria`, `/consultor/{id}/historico-conexao`).
//!
//! Both listings are keyset pages, newest first: `{"itens": [...], "proximo_cursor": "…"}`.
//! `proximo_cursor` is `null` on the last page; otherwise pass it back as `cursor` for the next
//! page. Pages stay consistent while entries are written: a walk returns every entry that
//! existed when it began exactly once (new entries appear on a new walk).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use consultores_domain::{
    AuditAction, AuditChanges, AuditEntity, AuditEntry, AuditEntryId, AuditFilter, AuditPage,
    AuditPageRequest, ConsultantId, InvalidValue,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::time::timestamp;
use crate::input::query::parsed;
use crate::input::{QueryParams, Slot};
use crate::validation::{FieldError, Loc, Place, Problems};

super::wire_enum_schema! {
    /// `acao` values.
    ActionWire as "AcaoAuditoria" = consultores_domain::AuditAction;
    /// `entidade` values.
    EntityWire as "EntidadeAuditoria" = consultores_domain::AuditEntity
}

/// One changed field: its value before and after the operation (`null` before a creation).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Alteracao, example = json!({"antes": false, "depois": true}))]
pub struct FieldChangeWire {
    #[serde(rename = "antes")]
    #[schema(value_type = Value)]
    pub before: Value,
    #[serde(rename = "depois")]
    #[schema(value_type = Value)]
    pub after: Value,
}

/// One recorded operation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = RegistroAuditoria, example = json!({
    "id": 1042,
    "em": "2026-11-29T14:30:00.123456+00:00",
    "chave_id": 3,
    "chave_descricao": "painel do gestor",
    "request_id": "0195f0a2-7c1e-7b3a-9d4e-2f6a8b1c3d5e",
    "acao": "consultor.conexao",
    "entidade": "consultor",
    "entidade_id": 7,
    "alteracoes": {"status_online": {"antes": true, "depois": false}}
}))]
pub struct AuditEntryResponse {
    pub id: i64,
    /// When the operation happened.
    #[serde(rename = "em")]
    pub at: String,
    /// The stored API key that made the request; `null` for `AUTHENTICATION_API_KEY` and the
    /// command line.
    #[serde(rename = "chave_id")]
    pub api_key_id: Option<i64>,
    /// The key's description (`AUTHENTICATION_API_KEY` for the configured key, `cli` for the
    /// command line). Never the key itself.
    #[serde(rename = "chave_descricao")]
    pub api_key_description: String,
    /// The `X-Request-Id` of the request.
    pub request_id: String,
    #[serde(rename = "acao")]
    #[schema(value_type = ActionWire)]
    pub action: &'static str,
    #[serde(rename = "entidade")]
    #[schema(value_type = EntityWire)]
    pub entity: &'static str,
    #[serde(rename = "entidade_id")]
    pub entity_id: i64,
    /// The changed fields only, by wire name.
    #[serde(rename = "alteracoes")]
    #[schema(value_type = std::collections::HashMap<String, FieldChangeWire>)]
    pub changes: AuditChanges,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id.0,
            at: timestamp(&entry.at),
            api_key_id: entry.actor.api_key_id.map(|id| id.0),
            api_key_description: entry.actor.api_key_description,
            request_id: entry.actor.request_id,
            action: entry.action.as_str(),
            entity: entry.entity.as_str(),
            entity_id: entry.entity_id,
            changes: entry.changes,
        }
    }
}

/// A page of `GET /auditoria`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PaginaAuditoria)]
pub struct AuditPageResponse {
    /// Newest first.
    #[serde(rename = "itens")]
    pub items: Vec<AuditEntryResponse>,
    /// The `cursor` of the next page; `null` on the last page.
    #[serde(rename = "proximo_cursor")]
    #[schema(example = "1001")]
    pub next_cursor: Option<String>,
}

impl From<AuditPage> for AuditPageResponse {
    fn from(page: AuditPage) -> Self {
        Self {
            items: page.entries.into_iter().map(Into::into).collect(),
            next_cursor: page.next.map(cursor_text),
        }
    }
}

/// One switch of a consultant's `status_online` (or their creation, with the initial state).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MudancaConexao, example = json!({
    "id": 1042,
    "em": "2026-11-29T18:02:11.000000+00:00",
    "status_online": false,
    "acao": "consultor.conexao",
    "chave_id": 3,
    "chave_descricao": "painel do gestor",
    "request_id": "0195f0a2-7c1e-7b3a-9d4e-2f6a8b1c3d5e"
}))]
pub struct ConnectionChangeResponse {
    /// The audit entry's id.
    pub id: i64,
    #[serde(rename = "em")]
    pub at: String,
    /// The state the consultant was left in.
    #[serde(rename = "status_online")]
    pub online: bool,
    /// `consultor.conexao`, or `consultor.criado` for the initial state.
    #[serde(rename = "acao")]
    #[schema(value_type = ActionWire)]
    pub action: &'static str,
    #[serde(rename = "chave_id")]
    pub api_key_id: Option<i64>,
    #[serde(rename = "chave_descricao")]
    pub api_key_description: String,
    pub request_id: String,
}

/// A page of `GET /consultor/{consultor_id}/historico-conexao`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = HistoricoConexao)]
pub struct ConnectionHistoryResponse {
    #[serde(rename = "consultor_id")]
    pub consultant_id: i64,
    /// Newest first.
    #[serde(rename = "itens")]
    pub items: Vec<ConnectionChangeResponse>,
    /// The `cursor` of the next page; `null` on the last page.
    #[serde(rename = "proximo_cursor")]
    pub next_cursor: Option<String>,
}

impl ConnectionHistoryResponse {
    pub fn new(consultant: ConsultantId, page: AuditPage) -> Self {
        Self {
            consultant_id: consultant.0,
            items: page
                .entries
                .into_iter()
                .filter_map(|entry| {
                    Some(ConnectionChangeResponse {
                        id: entry.id.0,
                        at: timestamp(&entry.at),
                        online: entry.online_after()?,
                        action: entry.action.as_str(),
                        api_key_id: entry.actor.api_key_id.map(|id| id.0),
                        api_key_description: entry.actor.api_key_description,
                        request_id: entry.actor.request_id,
                    })
                })
                .collect(),
            next_cursor: page.next.map(cursor_text),
        }
    }
}

fn cursor_text(id: AuditEntryId) -> String {
    id.0.to_string()
}

/// Reads `limit` (1 to 1000, default 100) and `cursor` (a `proximo_cursor`).
pub(crate) fn page(query: &QueryParams, problems: &mut Problems) -> Option<AuditPageRequest> {
    let limit = match query.int("limit", problems) {
        Slot::Set(limit) if !(1..=i64::from(AuditPageRequest::MAX_LIMIT)).contains(&limit) => {
            let loc = Loc::field(Place::Query, "limit");
            let input = Value::String(query.last("limit").unwrap_or_default().to_owned());
            problems.push(if limit < 1 {
                FieldError::new(
                    "greater_than_equal",
                    loc,
                    "deve ser maior ou igual a 1",
                    input,
                )
            } else {
                FieldError::new(
                    "less_than_equal",
                    loc,
                    "deve ser menor ou igual a 1000",
                    input,
                )
            });
            None
        }
        Slot::Set(limit) => u32::try_from(limit).ok(),
        Slot::Absent => Some(AuditPageRequest::DEFAULT_LIMIT),
        Slot::Null | Slot::Failed => None,
    };
    let cursor = match query.last("cursor") {
        None => Some(None),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(id) if id > 0 => Some(Some(AuditEntryId(id))),
            _ => {
                problems.push(FieldError::query(
                    "cursor_invalid",
                    "cursor",
                    "cursor inválido: use o proximo_cursor de uma página anterior",
                    raw,
                ));
                None
            }
        },
    };
    AuditPageRequest::new(cursor?, limit?).ok()
}

/// A value of one of the audit enums, or a recorded problem.
pub(crate) fn choice<T: FromStr<Err = InvalidValue>>(
    query: &QueryParams,
    name: &'static str,
    problems: &mut Problems,
) -> Option<T> {
    parsed(query.last(name), name, problems, str::parse)
}

/// An instant: RFC 3339 (`2026-11-29T14:30:00Z`, `…+00:00`, `…-03:00`), a date and time without
/// an offset (taken as UTC), or a date (midnight UTC). A `+` sent unencoded in the query string
/// arrives as a space and is read as `+`.
pub fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim().replace(' ', "+");
    if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&text, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

fn instant(
    query: &QueryParams,
    name: &'static str,
    problems: &mut Problems,
) -> Option<DateTime<Utc>> {
    let raw = query.last(name)?;
    let parsed = parse_instant(raw);
    if parsed.is_none() {
        problems.push(FieldError::query(
            "datetime_parsing",
            name,
            "deve ser uma data e hora RFC 3339 (ex.: 2026-11-29T14:30:00-03:00) ou uma data \
             (2026-11-29)",
            raw,
        ));
    }
    parsed
}

/// Query of `GET /auditoria`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// Only entries about this kind of entity.
    #[param(rename = "entidade", value_type = Option<EntityWire>)]
    pub entity: Option<String>,
    /// Only entries about this entity (needs `entidade`).
    #[param(rename = "entidade_id", value_type = Option<i64>)]
    pub entity_id: Option<i64>,
    /// Only entries of this action.
    #[param(rename = "acao", value_type = Option<ActionWire>)]
    pub action: Option<String>,
    /// Only entries recorded at or after this instant (RFC 3339, or a date).
    #[param(rename = "desde", value_type = Option<String>, example = "2026-11-29T00:00:00-03:00")]
    pub since: Option<String>,
    /// Only entries recorded before this instant (RFC 3339, or a date).
    #[param(rename = "ate", value_type = Option<String>, example = "2026-11-30")]
    pub until: Option<String>,
    /// Page size, 1 to 1000.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// The `proximo_cursor` of the previous page (absent for the first page).
    #[param(value_type = Option<String>)]
    pub cursor: Option<String>,
}

impl AuditListQuery {
    /// Its parameters, in the order their problems are reported.
    pub const FIELDS: [&'static str; 7] = [
        "entidade",
        "entidade_id",
        "acao",
        "desde",
        "ate",
        "limit",
        "cursor",
    ];

    /// Reads and checks the query of `GET /auditoria`; every bad parameter is a 422 item.
    pub fn parse(query: &QueryParams) -> Result<AuditFilter, crate::ApiError> {
        let mut problems = Problems::new();
        let entity = choice::<AuditEntity>(query, "entidade", &mut problems);
        let entity_id = query.int("entidade_id", &mut problems).value();
        if entity_id.is_some() && query.last("entidade").is_none() {
            problems.push(FieldError::new(
                "missing",
                Loc::field(Place::Query, "entidade"),
                "Campo obrigatório quando entidade_id é informado",
                Value::Null,
            ));
        }
        let action = choice::<AuditAction>(query, "acao", &mut problems);
        let since = instant(query, "desde", &mut problems);
        let until = instant(query, "ate", &mut problems);
        let page = page(query, &mut problems);
        problems.order_fields(Place::Query, &Self::FIELDS);
        problems.finish_with(page.map(|page| AuditFilter {
            entity,
            entity_id,
            action,
            since,
            until,
            page,
        }))
    }
}

/// Query of `GET /consultor/{consultor_id}/historico-conexao`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionHistoryQuery {
    /// Page size, 1 to 1000.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// The `proximo_cursor` of the previous page (absent for the first page).
    #[param(value_type = Option<String>)]
    pub cursor: Option<String>,
}

impl ConnectionHistoryQuery {
    /// Reads and checks `limit` and `cursor`, recording problems.
    pub fn parse(query: &QueryParams, problems: &mut Problems) -> Option<AuditPageRequest> {
        let page = page(query, problems);
        problems.order_fields(Place::Query, &["limit", "cursor"]);
        page
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn instants_accept_rfc_3339_dates_and_a_plus_turned_into_a_space() {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 17, 30, 0).unwrap();
        assert_eq!(parse_instant("2026-11-29T17:30:00Z"), Some(at));
        assert_eq!(parse_instant("2026-11-29T14:30:00-03:00"), Some(at));
        assert_eq!(parse_instant("2026-11-29T17:30:00 00:00"), Some(at));
        assert_eq!(parse_instant("2026-11-29T17:30:00"), Some(at));
        assert_eq!(
            parse_instant("2026-11-29"),
            Some(Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap())
        );
        for bad in ["", "ontem", "2026-13-01", "29/11/2026", "1732890000"] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_query_defaults_to_the_first_page_of_100_without_filters() {
        let filter = AuditListQuery::parse(&QueryParams::parse("")).unwrap();
        assert_eq!(filter, AuditFilter::default());
    }

    #[test]
    fn every_bad_parameter_is_reported_in_order() {
        let query = QueryParams::parse(
            "cursor=abc&limit=0&ate=amanha&desde=x&acao=apagou&entidade_id=um&entidade=pessoa",
        );
        let Err(crate::ApiError::Validation(items)) = AuditListQuery::parse(&query) else {
            panic!("expected a 422");
        };
        let fields: Vec<Option<&str>> = items.iter().map(FieldError::loc_field).collect();
        assert_eq!(
            fields,
            [
                Some("entidade"),
                Some("entidade_id"),
                Some("acao"),
                Some("desde"),
                Some("ate"),
                Some("limit"),
                Some("cursor")
            ]
        );
    }

    #[test]
    fn entidade_id_needs_entidade() {
        let Err(crate::ApiError::Validation(items)) =
            AuditListQuery::parse(&QueryParams::parse("entidade_id=7"))
        else {
            panic!("expected a 422");
        };
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].loc_field(), Some("entidade"));
        assert_eq!(items[0].kind, "missing");
    }
}

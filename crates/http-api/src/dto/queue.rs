//! The waiting queue on the wire (`fila`).

use std::str::FromStr;

use consultores_domain::{
    CrmTarget, Description, InvalidValue, Language, MaxWait, NewWaitingEntry, Priority,
    WaitingEntry, WaitingEntryId, WaitingFilter, WaitingLanguages, WaitingPage, WaitingState,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::audit::{choice, page};
use super::protocol::{PriorityWire, ProtocolResponse};
use super::time::timestamp;
use crate::errors::ApiError;
use crate::input::{JsonBody, ObjectReader, Presence, QueryParams, Slot};
use crate::validation::{FieldError, Loc, Place, Problems};

super::wire_enum_schema! {
    /// `estado` values of a queue entry.
    WaitingStateWire as "EstadoFila" = consultores_domain::WaitingState
}

/// The consultant who took an entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConsultorDaFila)]
pub struct QueueConsultantResponse {
    pub id: i64,
    #[serde(rename = "nome")]
    pub name: String,
    pub email: Option<String>,
    #[serde(rename = "telefone")]
    pub phone: Option<String>,
}

/// A queue entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EntradaFila, example = json!({
    "id": 12,
    "idioma": "pt",
    "alternativas": ["en"],
    "referencia": "whatsapp:+5511999999999",
    "descricao": "Quer um orçamento",
    "prioridade": "alta",
    "estado": "aguardando",
    "posicao": 3,
    "criado_em": "2026-11-29T14:30:00.123456+00:00",
    "expira_em": "2026-11-30T14:30:00.123456+00:00",
    "atribuido_em": null,
    "protocolo": null,
    "consultor": null
}))]
pub struct WaitingEntryResponse {
    pub id: i64,
    #[serde(rename = "idioma")]
    pub language: String,
    /// Other languages the contact accepts, tried in order after `idioma`.
    #[serde(rename = "alternativas")]
    pub alternatives: Vec<String>,
    /// The caller's id for the contact.
    #[serde(rename = "referencia")]
    pub reference: Option<String>,
    #[serde(rename = "descricao")]
    pub description: Option<String>,
    #[schema(value_type = PriorityWire)]
    #[serde(rename = "prioridade")]
    pub priority: &'static str,
    #[schema(value_type = WaitingStateWire)]
    #[serde(rename = "estado")]
    pub state: &'static str,
    /// 1-based among the waiting entries it competes with (sharing a language); null unless
    /// `aguardando`.
    #[serde(rename = "posicao")]
    pub position: Option<u64>,
    #[serde(rename = "criado_em")]
    pub created_at: String,
    #[serde(rename = "expira_em")]
    pub expires_at: String,
    #[serde(rename = "atribuido_em")]
    pub assigned_at: Option<String>,
    #[serde(rename = "protocolo")]
    pub protocol: Option<ProtocolResponse>,
    #[serde(rename = "consultor")]
    pub consultant: Option<QueueConsultantResponse>,
}

impl From<WaitingEntry> for WaitingEntryResponse {
    fn from(entry: WaitingEntry) -> Self {
        Self {
            id: entry.id.0,
            language: entry.languages.primary().as_str().to_owned(),
            alternatives: entry
                .languages
                .alternatives()
                .iter()
                .map(|language| language.as_str().to_owned())
                .collect(),
            reference: entry.reference,
            description: entry.description,
            priority: entry.priority.as_str(),
            state: entry.state.as_str(),
            position: entry.position,
            created_at: timestamp(&entry.created_at),
            expires_at: timestamp(&entry.expires_at),
            assigned_at: entry.assigned_at.as_ref().map(timestamp),
            protocol: entry.protocol.map(Into::into),
            consultant: entry.consultant.map(|consultant| QueueConsultantResponse {
                id: consultant.id.0,
                name: consultant.name.as_str().to_owned(),
                email: consultant.email.map(|email| email.as_str().to_owned()),
                phone: consultant.phone.map(|phone| phone.as_str().to_owned()),
            }),
        }
    }
}

/// A page of `GET /fila`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PaginaFila)]
pub struct WaitingPageResponse {
    /// By arrival (ascending id).
    #[serde(rename = "itens")]
    pub items: Vec<WaitingEntryResponse>,
    /// The `cursor` of the next page; `null` on the last page.
    #[schema(example = "112")]
    #[serde(rename = "proximo_cursor")]
    pub next_cursor: Option<String>,
}

impl From<WaitingPage> for WaitingPageResponse {
    fn from(page: WaitingPage) -> Self {
        Self {
            items: page.entries.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor.map(|id| id.0.to_string()),
        }
    }
}

/// Body of `POST /fila`.
#[derive(Debug, Default, ToSchema)]
#[schema(as = NovaEntradaFila, example = json!({
    "idioma": "pt",
    "alternativas": ["en"],
    "referencia": "whatsapp:+5511999999999",
    "descricao": "Quer um orçamento",
    "prioridade": "alta",
    "espera_maxima_segundos": 3600
}))]
pub struct WaitingEntryCreateRequest {
    /// The contact's language.
    #[schema(rename = "idioma", value_type = String, example = "pt")]
    pub language: Option<String>,
    /// Other languages the contact accepts, in order (at most 10).
    #[schema(rename = "alternativas", value_type = Option<Vec<String>>)]
    pub alternatives: Option<Vec<String>>,
    /// The caller's id for the contact, at most 255 characters.
    #[schema(rename = "referencia", value_type = Option<String>, max_length = 255)]
    pub reference: Option<String>,
    /// Copied to the protocol; at most 2,000 characters.
    #[schema(rename = "descricao", value_type = Option<String>, max_length = 2000)]
    pub description: Option<String>,
    #[schema(rename = "prioridade", value_type = Option<PriorityWire>, default = "normal")]
    pub priority: Option<String>,
    /// Pipedrive integration: the deal to hand over with the assignment (at most one of
    /// `deal_id`, `lead_id`, `person_id`).
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub deal_id: Option<i64>,
    /// The Pipedrive lead (a UUID), as `deal_id`.
    #[schema(value_type = Option<String>)]
    pub lead_id: Option<String>,
    /// The Pipedrive person, as `deal_id`.
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub person_id: Option<i64>,
    /// How long the contact may wait: 1 to 604800 seconds, default 86400.
    #[schema(rename = "espera_maxima_segundos", value_type = Option<i64>, minimum = 1, maximum = 604800, default = 86400)]
    pub max_wait_seconds: Option<i64>,
}

const CREATE_ORDER: [&str; 9] = [
    "idioma",
    "alternativas",
    "referencia",
    "descricao",
    "prioridade",
    "deal_id",
    "lead_id",
    "person_id",
    "espera_maxima_segundos",
];

impl WaitingEntryCreateRequest {
    /// Reads, checks and parses the body of `POST /fila`.
    pub fn parse(body: &JsonBody, problems: &mut Problems) -> Option<NewWaitingEntry> {
        let new = Self::parse_into(body, problems);
        problems.order_fields(Place::Body, &CREATE_ORDER);
        new
    }

    fn parse_into(body: &JsonBody, problems: &mut Problems) -> Option<NewWaitingEntry> {
        let mut reader = ObjectReader::open(body, problems)?;
        let primary = reader
            .string("idioma", Presence::Required)
            .value()
            .and_then(|raw| field(&mut reader, "idioma", Language::parse(&raw)));
        let alternatives = match reader.string_list("alternativas", Presence::Nullable) {
            Slot::Set(codes) => codes
                .iter()
                .enumerate()
                .map(|(index, code)| {
                    let loc = Loc::field(Place::Body, "alternativas").index(index);
                    let input = Value::String(code.clone());
                    parsed(&mut reader, loc, input, Language::parse(code))
                })
                .collect::<Option<Vec<_>>>(),
            Slot::Absent | Slot::Null => Some(Vec::new()),
            Slot::Failed => None,
        };
        let reference = reader
            .string("referencia", Presence::Nullable)
            .value()
            .and_then(|raw| field(&mut reader, "referencia", reference(&raw)));
        let description = reader
            .string("descricao", Presence::Nullable)
            .value()
            .and_then(|raw| field(&mut reader, "descricao", Description::parse(&raw)));
        let priority = reader
            .string("prioridade", Presence::Optional)
            .value()
            .and_then(|raw| field(&mut reader, "prioridade", Priority::from_str(&raw)));
        let crm = crm_target(&mut reader);
        let max_wait = reader
            .int("espera_maxima_segundos", Presence::Nullable)
            .value()
            .map(|seconds| {
                field(
                    &mut reader,
                    "espera_maxima_segundos",
                    MaxWait::from_seconds(seconds),
                )
            });
        if !reader.problems().is_empty() {
            return None;
        }
        let languages = WaitingLanguages::new(primary?, alternatives?);
        let languages = match languages {
            Ok(languages) => languages,
            Err(problem) => {
                let input = reader.raw("alternativas");
                reader.problems().push(FieldError::invalid(
                    &problem,
                    Loc::field(Place::Body, "alternativas"),
                    input,
                ));
                return None;
            }
        };
        Some(NewWaitingEntry {
            languages,
            reference,
            description,
            priority: priority.unwrap_or_default(),
            crm: crm?,
            max_wait: match max_wait {
                Some(parsed) => parsed?,
                None => MaxWait::default(),
            },
        })
    }
}

/// `referencia`: at most 255 characters, no NUL.
fn reference(raw: &str) -> Result<String, InvalidValue> {
    if raw.chars().count() > NewWaitingEntry::MAX_REFERENCE_CHARS {
        return Err(InvalidValue::TooLong {
            max: NewWaitingEntry::MAX_REFERENCE_CHARS,
        });
    }
    if raw.contains('\0') {
        return Err(InvalidValue::ControlCharacters);
    }
    Ok(raw.to_owned())
}

/// The domain's parse of one value; a failure is recorded at `loc` with `input`.
fn parsed<T>(
    reader: &mut ObjectReader<'_>,
    loc: Loc,
    input: Value,
    result: Result<T, InvalidValue>,
) -> Option<T> {
    result
        .map_err(|problem| {
            reader
                .problems()
                .push(FieldError::invalid(&problem, loc, input));
        })
        .ok()
}

/// [`parsed`] for a top-level body field.
fn field<T>(
    reader: &mut ObjectReader<'_>,
    name: &'static str,
    result: Result<T, InvalidValue>,
) -> Option<T> {
    let input = reader.raw(name);
    parsed(reader, Loc::field(Place::Body, name), input, result)
}

/// `deal_id` | `lead_id` | `person_id`, at most one. `Some(None)`: none given; `None`: invalid.
fn crm_target(reader: &mut ObjectReader<'_>) -> Option<Option<CrmTarget>> {
    let deal = reader.int("deal_id", Presence::Nullable);
    let lead = reader.string("lead_id", Presence::Nullable);
    let person = reader.int("person_id", Presence::Nullable);
    if [&deal, &person]
        .iter()
        .any(|slot| matches!(slot, Slot::Failed))
        || matches!(lead, Slot::Failed)
    {
        return None;
    }
    let mut found: Option<CrmTarget> = None;
    let mut failed = false;
    let candidates: [(&'static str, Option<Result<CrmTarget, InvalidValue>>); 3] = [
        ("deal_id", deal.value().map(CrmTarget::deal)),
        ("lead_id", lead.value().map(|uuid| CrmTarget::lead(&uuid))),
        ("person_id", person.value().map(CrmTarget::person)),
    ];
    for (name, candidate) in candidates {
        let Some(result) = candidate else {
            continue;
        };
        let loc = Loc::field(Place::Body, name);
        let input = reader.raw(name);
        match result {
            Ok(_) if found.is_some() => {
                failed = true;
                reader.problems().push(FieldError::new(
                    "value_error.crm_target",
                    loc,
                    "informe só um de deal_id, lead_id ou person_id",
                    input,
                ));
            }
            Ok(target) => found = Some(target),
            Err(problem) => {
                failed = true;
                reader
                    .problems()
                    .push(FieldError::invalid(&problem, loc, input));
            }
        }
    }
    (!failed).then_some(found)
}

/// Query of `GET /fila`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitingListQuery {
    /// Only entries whose `idioma` is this language.
    #[param(rename = "idioma", value_type = Option<String>, example = "pt")]
    pub language: Option<String>,
    /// Only entries in this state.
    #[param(rename = "estado", value_type = Option<WaitingStateWire>)]
    pub state: Option<String>,
    /// Page size, 1 to 1000.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// The `proximo_cursor` of the previous page (absent for the first page).
    #[param(value_type = Option<String>)]
    pub cursor: Option<String>,
}

impl WaitingListQuery {
    /// Reads and checks the query of `GET /fila`; every bad parameter is a 422 item.
    pub fn parse(query: &QueryParams) -> Result<WaitingFilter, ApiError> {
        let mut problems = Problems::new();
        let language = crate::input::query::language(query.last("idioma"), "idioma", &mut problems);
        let state = choice::<WaitingState>(query, "estado", &mut problems);
        let page = page(query, &mut problems);
        problems.order_fields(Place::Query, &["idioma", "estado", "limit", "cursor"]);
        problems.finish_with(page.map(|page| WaitingFilter {
            language,
            state,
            limit: page.limit,
            after: page.before.map(|id| WaitingEntryId(id.0)),
        }))
    }
}

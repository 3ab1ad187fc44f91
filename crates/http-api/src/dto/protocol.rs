//! Protocols on the wire (`Protocolo`).

use std::str::FromStr;

use consultores_domain::{
    ConsultantId, Description, InvalidValue, NewProtocol, Priority, Protocol, ProtocolFilter,
    ProtocolPatch, ProtocolStatus,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use super::time::timestamp;
use super::{check_shape, WireFields};
use crate::errors::ApiError;
use crate::input::{JsonBody, ObjectReader, Presence, QueryParams, Slot};
use crate::validation::{record_validator_errors, FieldError, Loc, Place, Problems};

/// A protocol as every endpoint answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42,
    "numero": "#00042",
    "consultor_id": 7,
    "created_at": "2026-11-29T14:30:00.123456+00:00",
    "idioma": "pt",
    "descricao": "Cliente quer orçamento",
    "prioridade": "normal",
    "status": "aberto",
    "updated_at": "2026-11-29T14:30:00.123456+00:00"
}))]
pub struct ProtocolResponse {
    pub id: i64,
    /// `#` and the counter, zero-padded to 5 digits.
    #[serde(rename = "numero")]
    pub number: String,
    #[serde(rename = "consultor_id")]
    pub consultant_id: Option<i64>,
    pub created_at: String,
    /// The language of the assignment that opened it, if any.
    #[serde(rename = "idioma")]
    pub language: Option<String>,
    #[serde(rename = "descricao")]
    pub description: Option<String>,
    #[serde(rename = "prioridade")]
    #[schema(value_type = PriorityWire)]
    pub priority: &'static str,
    #[schema(value_type = StatusWire)]
    pub status: &'static str,
    pub updated_at: String,
    /// The Pipedrive actions of the assignment that opened it (extension): present only when
    /// the integration is on and the protocol has some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipedrive: Option<super::pipedrive::CrmActionsResponse>,
}

super::wire_enum_schema! {
    /// `prioridade` values.
    PriorityWire as "Prioridade" = consultores_domain::Priority;
    /// `status` values of a protocol.
    StatusWire as "StatusProtocolo" = consultores_domain::ProtocolStatus
}

impl From<Protocol> for ProtocolResponse {
    fn from(protocol: Protocol) -> Self {
        Self {
            id: protocol.id.0,
            number: protocol.number.to_string(),
            consultant_id: protocol.consultant_id.map(|id| id.0),
            created_at: timestamp(&protocol.created_at),
            language: protocol.language.map(String::from),
            description: protocol.description.map(String::from),
            priority: protocol.priority.as_str(),
            status: protocol.status.as_str(),
            updated_at: timestamp(&protocol.updated_at),
            pipedrive: None,
        }
    }
}

/// `{"numero_protocolo": "#00043"}` of `GET /gerar-protocolo` (`protocolo_id` is an extension).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"numero_protocolo": "#00043", "protocolo_id": 43}))]
pub struct GeneratedProtocolResponse {
    #[serde(rename = "numero_protocolo")]
    pub number: String,
    #[serde(rename = "protocolo_id")]
    pub id: i64,
}

impl From<Protocol> for GeneratedProtocolResponse {
    fn from(protocol: Protocol) -> Self {
        Self {
            number: protocol.number.to_string(),
            id: protocol.id.0,
        }
    }
}

/// Body of `POST /protocolo`: a protocol opened by hand for a consultant.
#[derive(Debug, Default, Validate, ToSchema)]
#[schema(example = json!({"consultor_id": 7, "descricao": "Retorno de ligação", "prioridade": "alta"}))]
pub struct ProtocolCreateRequest {
    #[schema(rename = "consultor_id", value_type = i64, required = true)]
    pub consultant_id: Option<i64>,
    /// At most 2,000 characters.
    #[schema(rename = "descricao", value_type = Option<String>, max_length = 2000)]
    #[validate(length(max = 2000))]
    pub description: Option<String>,
    #[schema(rename = "prioridade", value_type = PriorityWire, required = false, default = "normal")]
    pub priority: Option<String>,
}

impl WireFields for ProtocolCreateRequest {
    const FIELDS: &'static [(&'static str, &'static str)] = &[
        ("consultant_id", "consultor_id"),
        ("description", "descricao"),
        ("priority", "prioridade"),
    ];
}

impl ProtocolCreateRequest {
    /// Reads, checks and parses the body of `POST /protocolo`.
    pub fn parse(body: &JsonBody, problems: &mut Problems) -> Option<NewProtocol> {
        Self::read_in_order(body, problems, Self::parse_into)
    }

    fn parse_into(body: &JsonBody, problems: &mut Problems) -> Option<NewProtocol> {
        let mut reader = ObjectReader::open(body, problems)?;
        let dto = Self {
            consultant_id: reader.int("consultor_id", Presence::Required).value(),
            description: reader.string("descricao", Presence::Nullable).value(),
            priority: reader.string("prioridade", Presence::Optional).value(),
        };
        check_shape(&dto, &mut reader);
        let description = parse_field(
            &mut reader,
            "descricao",
            dto.description,
            Description::parse,
        );
        let priority = parse_field(&mut reader, "prioridade", dto.priority, Priority::from_str);
        let consultant_id = dto.consultant_id?;
        reader.problems().is_empty().then_some(NewProtocol {
            consultant_id: Some(ConsultantId(consultant_id)),
            description,
            priority: priority.unwrap_or_default(),
        })
    }
}

/// Body of `PUT /protocolo/{protocolo_id}`: every field optional; `null` clears `descricao`
/// and is refused for the others.
#[derive(Debug, Default, Validate, ToSchema)]
#[schema(example = json!({"status": "em_andamento", "prioridade": "urgente"}))]
pub struct ProtocolUpdateRequest {
    /// `null` clears it; at most 2,000 characters.
    #[schema(rename = "descricao", value_type = Option<String>, max_length = 2000)]
    #[validate(length(max = 2000))]
    pub description: Option<Option<String>>,
    #[schema(rename = "prioridade", value_type = PriorityWire, required = false)]
    pub priority: Option<String>,
    #[schema(value_type = StatusWire, required = false)]
    pub status: Option<String>,
    /// Reassigns the protocol to another consultant.
    #[schema(rename = "consultor_id", value_type = i64, required = false)]
    pub consultant_id: Option<i64>,
}

impl WireFields for ProtocolUpdateRequest {
    const FIELDS: &'static [(&'static str, &'static str)] = &[
        ("description", "descricao"),
        ("priority", "prioridade"),
        ("status", "status"),
        ("consultant_id", "consultor_id"),
    ];
}

impl ProtocolUpdateRequest {
    /// Reads, checks and parses the body of `PUT /protocolo/{protocolo_id}`.
    pub fn parse(body: &JsonBody, problems: &mut Problems) -> Option<ProtocolPatch> {
        Self::read_in_order(body, problems, Self::parse_into)
    }

    fn parse_into(body: &JsonBody, problems: &mut Problems) -> Option<ProtocolPatch> {
        let mut reader = ObjectReader::open(body, problems)?;
        let description_slot = reader.string("descricao", Presence::Nullable);
        let dto = Self {
            description: description_slot.clone().patch(),
            priority: reader.string("prioridade", Presence::Optional).value(),
            status: reader.string("status", Presence::Optional).value(),
            consultant_id: reader.int("consultor_id", Presence::Optional).value(),
        };
        check_shape(&dto, &mut reader);
        let description = match description_slot {
            Slot::Null => Some(None),
            Slot::Set(text) => {
                parse_field(&mut reader, "descricao", Some(text), Description::parse).map(Some)
            }
            Slot::Absent | Slot::Failed => None,
        };
        let priority = parse_field(&mut reader, "prioridade", dto.priority, Priority::from_str);
        let status = parse_field(&mut reader, "status", dto.status, ProtocolStatus::from_str);
        reader.problems().is_empty().then_some(ProtocolPatch {
            description,
            priority,
            status,
            consultant_id: dto.consultant_id.map(ConsultantId),
        })
    }
}

/// The domain's parse of one text field, recorded at its wire location; skipped when the field
/// already failed.
fn parse_field<T>(
    reader: &mut ObjectReader<'_>,
    wire: &'static str,
    raw: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
) -> Option<T> {
    let raw = raw?;
    if reader.problems().has_field(Place::Body, wire) {
        return None;
    }
    match parse(&raw) {
        Ok(value) => Some(value),
        Err(problem) => {
            let input = reader.raw(wire);
            reader.problems().push(FieldError::invalid(
                &problem,
                Loc::field(Place::Body, wire),
                input,
            ));
            None
        }
    }
}

/// Query of `GET /protocolos`.
#[derive(Debug, Default, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProtocolListQuery {
    /// Only this consultant's protocols.
    #[param(rename = "consultor_id", value_type = Option<i64>)]
    pub consultant_id: Option<i64>,
    /// How many protocols to skip (≥ 0).
    #[param(value_type = Option<i64>, minimum = 0, default = 0)]
    #[validate(range(min = 0))]
    pub skip: Option<i64>,
    /// Page size, 1 to 1000.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    #[validate(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
}

impl WireFields for ProtocolListQuery {
    const FIELDS: &'static [(&'static str, &'static str)] = &[
        ("consultant_id", "consultor_id"),
        ("skip", "skip"),
        ("limit", "limit"),
    ];
}

impl ProtocolListQuery {
    /// Reads and checks the query of `GET /protocolos` (`skip` defaults to 0, `limit` to 100).
    pub fn parse(query: &QueryParams) -> Result<ProtocolFilter, ApiError> {
        let mut problems = Problems::new();
        let dto = Self {
            consultant_id: query.int("consultor_id", &mut problems).value(),
            skip: query.int("skip", &mut problems).value(),
            limit: query.int("limit", &mut problems).value(),
        };
        if let Err(errors) = dto.validate() {
            let input = |name: &str| query.last(name).map_or(Value::Null, Value::from);
            record_validator_errors(&errors, Place::Query, Self::wire_name, input, &mut problems);
        }
        problems.order_fields(Place::Query, &Self::wire_order());
        problems.finish()?;
        // The ranges were checked above, so the conversions cannot fail.
        let skip = dto
            .skip
            .and_then(|skip| u64::try_from(skip).ok())
            .unwrap_or(0);
        let limit = dto
            .limit
            .and_then(|limit| u32::try_from(limit).ok())
            .unwrap_or(ProtocolFilter::DEFAULT_LIMIT);
        ProtocolFilter::new(dto.consultant_id.map(ConsultantId), skip, limit).map_err(|problem| {
            let loc = Loc::field(Place::Query, "limit");
            ApiError::Validation(vec![FieldError::invalid(&problem, loc, Value::from(limit))])
        })
    }
}

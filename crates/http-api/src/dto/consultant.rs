//! Consultants on the wire (`Consultor`).

use chrono::{DateTime, Utc};
use consultores_domain::{
    availability, Consultant, ConsultantName, ConsultantPatch, Email, Language, LanguageList,
    Limit, NewConsultant, Phone, PipedriveUserId,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use super::routing_rules::{LeaveWire, RuleFields, WorkingHoursWire, RULE_FIELDS};
use super::time::timestamp;
use super::{check_shape, trimmed, WireFields};
use crate::errors::ApiError;
use crate::input::{JsonBody, ObjectReader, Presence};
use crate::validation::{FieldError, Loc, Place, Problems};

/// A consultant as every endpoint answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 7,
    "nome": "João Silva",
    "email": "joao@exemplo.com",
    "telefone": "+5511999999999",
    "idiomas": ["pt", "en"],
    "status_ativo": true,
    "status_ativo_sequencial": true,
    "status_online": true,
    "ultimo_atendimento": "2026-11-29T14:30:00.123456+00:00",
    "id_pipedrive": 456,
    "peso": 1,
    "limite_diario": null,
    "limite_abertos": null,
    "fuso_horario": "America/Sao_Paulo",
    "horarios": [{"dia": 1, "inicio": "08:00", "fim": "18:00"}],
    "ausencias": null,
    "disponivel": true,
    "motivo_indisponivel": null,
    "atendimentos_hoje": 3,
    "protocolos_abertos": 2
}))]
pub struct ConsultantResponse {
    pub id: i64,
    #[serde(rename = "nome")]
    pub name: String,
    pub email: Option<String>,
    #[serde(rename = "telefone")]
    pub phone: Option<String>,
    /// Lowercase language codes, in the order given.
    #[serde(rename = "idiomas")]
    pub languages: Vec<String>,
    /// Works here at all.
    #[serde(rename = "status_ativo")]
    pub active: bool,
    /// Takes part in the automatic rotation.
    #[serde(rename = "status_ativo_sequencial")]
    pub in_rotation: bool,
    /// Available right now.
    #[serde(rename = "status_online")]
    pub online: bool,
    /// When the rotation last gave this consultant a contact (RFC 3339, UTC).
    #[serde(rename = "ultimo_atendimento")]
    pub last_served_at: Option<String>,
    #[serde(rename = "id_pipedrive")]
    pub pipedrive_user_id: Option<i64>,
    /// Extension: share of contacts, 1 to 100.
    #[serde(rename = "peso")]
    pub weight: i64,
    /// Extension: at most this many rotation assignments per local day, or null (no limit).
    #[serde(rename = "limite_diario")]
    pub daily_limit: Option<i64>,
    /// Extension: skipped while this many protocols are `aberto` or `em_andamento`, or null.
    #[serde(rename = "limite_abertos")]
    pub open_limit: Option<i64>,
    /// Extension: IANA zone of the hours, leave and daily count (the service's
    /// `DEFAULT_TIME_ZONE` when the consultant has none).
    #[serde(rename = "fuso_horario")]
    pub time_zone: String,
    /// Extension: working hours, or null (always).
    #[serde(rename = "horarios")]
    pub schedule: Option<Vec<WorkingHoursWire>>,
    /// Extension: days off, or null.
    #[serde(rename = "ausencias")]
    pub leave: Option<Vec<LeaveWire>>,
    /// Extension, read-only: the rotation would consider them right now for some language.
    #[serde(rename = "disponivel")]
    pub available: bool,
    /// Extension, read-only: the first of `inativo`, `fora_da_rotacao`, `offline`,
    /// `fora_do_horario`, `ausente`, `limite_diario`, `limite_abertos` that applies, or null.
    #[serde(rename = "motivo_indisponivel")]
    pub unavailable_reason: Option<&'static str>,
    /// Extension, read-only: rotation assignments in their local today.
    #[serde(rename = "atendimentos_hoje")]
    pub assignments_today: i64,
    /// Extension, read-only: their protocols that are `aberto` or `em_andamento`.
    #[serde(rename = "protocolos_abertos")]
    pub open_protocols: i64,
}

impl ConsultantResponse {
    /// The consultant as answered at `now` (the read-only status depends on the time).
    pub fn new(consultant: Consultant, now: DateTime<Utc>) -> Self {
        let rules = &consultant.routing;
        let status = availability(&consultant, now);
        Self {
            weight: rules.weight.get(),
            daily_limit: rules.daily_limit.map(Limit::get),
            open_limit: rules.open_limit.map(Limit::get),
            time_zone: rules.time_zone.name().to_owned(),
            schedule: rules.schedule.as_ref().map(WorkingHoursWire::list),
            leave: rules.leave.as_deref().map(LeaveWire::list),
            available: status.available(),
            unavailable_reason: status.reason.map(|reason| reason.as_str()),
            assignments_today: status.assignments_today,
            open_protocols: status.open_protocols,
            id: consultant.id.0,
            name: consultant.name.into(),
            email: consultant.email.map(String::from),
            phone: consultant.phone.map(String::from),
            languages: consultant
                .languages
                .iter()
                .map(|language| language.as_str().to_owned())
                .collect(),
            active: consultant.active,
            in_rotation: consultant.in_rotation,
            online: consultant.online,
            last_served_at: consultant.last_served_at.as_ref().map(timestamp),
            pipedrive_user_id: consultant.pipedrive_user_id.map(PipedriveUserId::get),
        }
    }
}

/// Body of `POST /consultor`. `nome` and `idiomas` are required; the switches default to
/// active, in the rotation and offline; the routing rules are optional (`null` or absent: their
/// defaults).
#[derive(Debug, Default, Validate, ToSchema)]
#[schema(example = json!({
    "nome": "João Silva",
    "email": "joao@exemplo.com",
    "telefone": "+5511999999999",
    "idiomas": ["pt", "en"],
    "status_online": true,
    "id_pipedrive": 456
}))]
pub struct ConsultantCreateRequest {
    /// 3 to 255 characters after trimming.
    #[schema(rename = "nome", value_type = String, required = true, min_length = 3, max_length = 255)]
    #[validate(length(min = 3, max = 255))]
    pub name: Option<String>,
    #[schema(value_type = Option<String>, format = Email, max_length = 255)]
    #[validate(length(max = 255))]
    pub email: Option<String>,
    /// `+` then 10 to 15 digits.
    #[schema(rename = "telefone", value_type = Option<String>, pattern = r"^\+[0-9]{10,15}$")]
    pub phone: Option<String>,
    /// 1 to 20 language codes (2 to 5 letters, optionally one `-`); duplicates are merged.
    #[schema(rename = "idiomas", value_type = Vec<String>, required = true, min_items = 1)]
    #[validate(length(min = 1))]
    pub languages: Option<Vec<String>>,
    #[schema(rename = "status_ativo", value_type = bool, required = false, default = true)]
    pub active: Option<bool>,
    #[schema(rename = "status_ativo_sequencial", value_type = bool, required = false, default = true)]
    pub in_rotation: Option<bool>,
    #[schema(rename = "status_online", value_type = bool, required = false, default = false)]
    pub online: Option<bool>,
    #[schema(rename = "id_pipedrive", value_type = Option<i64>, minimum = 1)]
    #[validate(range(min = 1))]
    pub pipedrive_user_id: Option<i64>,
    /// Extension: share of contacts, 1 to 100 (default 1).
    #[schema(rename = "peso", value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub weight: Option<i64>,
    /// Extension: at most this many rotation assignments per local day (1 to 10000).
    #[schema(rename = "limite_diario", value_type = Option<i64>, minimum = 1, maximum = 10000)]
    pub daily_limit: Option<i64>,
    /// Extension: skipped while this many protocols are open (1 to 10000).
    #[schema(rename = "limite_abertos", value_type = Option<i64>, minimum = 1, maximum = 10000)]
    pub open_limit: Option<i64>,
    /// Extension: IANA time zone (default: the service's `DEFAULT_TIME_ZONE`).
    #[schema(rename = "fuso_horario", value_type = Option<String>, example = "America/Sao_Paulo")]
    pub time_zone: Option<String>,
    /// Extension: working hours; `null` is always.
    #[schema(rename = "horarios", value_type = Option<Vec<WorkingHoursWire>>)]
    pub schedule: Option<Vec<()>>,
    /// Extension: days off.
    #[schema(rename = "ausencias", value_type = Option<Vec<LeaveWire>>)]
    pub leave: Option<Vec<()>>,
}

const CONSULTANT_FIELDS: &[(&str, &str)] = &[
    ("name", "nome"),
    ("email", "email"),
    ("phone", "telefone"),
    ("languages", "idiomas"),
    ("active", "status_ativo"),
    ("in_rotation", "status_ativo_sequencial"),
    ("online", "status_online"),
    ("pipedrive_user_id", "id_pipedrive"),
    RULE_FIELDS[0],
    RULE_FIELDS[1],
    RULE_FIELDS[2],
    RULE_FIELDS[3],
    RULE_FIELDS[4],
    RULE_FIELDS[5],
];

impl WireFields for ConsultantCreateRequest {
    const FIELDS: &'static [(&'static str, &'static str)] = CONSULTANT_FIELDS;
}

impl ConsultantCreateRequest {
    /// Reads, checks and parses the body of `POST /consultor`.
    pub fn parse(body: &JsonBody) -> Result<NewConsultant, ApiError> {
        let mut problems = Problems::new();
        let new = Self::read_in_order(body, &mut problems, Self::parse_into);
        problems.finish_with(new)
    }

    fn parse_into(body: &JsonBody, problems: &mut Problems) -> Option<NewConsultant> {
        let mut reader = ObjectReader::open(body, problems)?;
        let [active, in_rotation, online] = switches(&mut reader);
        let dto = Self {
            name: reader
                .string("nome", Presence::Required)
                .map(trimmed)
                .value(),
            email: reader
                .string("email", Presence::Nullable)
                .map(trimmed)
                .value(),
            phone: reader.string("telefone", Presence::Nullable).value(),
            languages: reader.string_list("idiomas", Presence::Required).value(),
            active,
            in_rotation,
            online,
            pipedrive_user_id: reader.int("id_pipedrive", Presence::Nullable).value(),
            ..Self::default()
        };
        let (rules, mut domain) = checked(&dto, &mut reader);
        let name = domain.name(dto.name);
        let email = domain.email(dto.email);
        let phone = domain.phone(dto.phone);
        let languages = domain.languages(dto.languages);
        let pipedrive_user_id = domain.pipedrive_user_id(dto.pipedrive_user_id);
        let mut new = NewConsultant::new(name?, languages?);
        new.email = email;
        new.phone = phone;
        new.pipedrive_user_id = pipedrive_user_id;
        new.active = dto.active.unwrap_or(new.active);
        new.in_rotation = dto.in_rotation.unwrap_or(new.in_rotation);
        new.online = dto.online.unwrap_or(new.online);
        new.rules = rules.into_settings();
        domain.ok().then_some(new)
    }
}

/// Body of `PUT /consultor/{consultor_id}`: only the fields present change; `null` clears
/// `email`, `telefone` and `id_pipedrive` and is refused for the others.
#[derive(Debug, Default, Validate, ToSchema)]
#[schema(example = json!({"telefone": null, "idiomas": ["pt", "es"], "status_ativo_sequencial": false}))]
pub struct ConsultantUpdateRequest {
    #[schema(rename = "nome", value_type = String, required = false, min_length = 3, max_length = 255)]
    #[validate(length(min = 3, max = 255))]
    pub name: Option<String>,
    /// `null` clears it.
    #[schema(value_type = Option<String>, format = Email, max_length = 255)]
    #[validate(length(max = 255))]
    pub email: Option<Option<String>>,
    /// `null` clears it.
    #[schema(rename = "telefone", value_type = Option<String>, pattern = r"^\+[0-9]{10,15}$")]
    pub phone: Option<Option<String>>,
    #[schema(rename = "idiomas", value_type = Vec<String>, required = false, min_items = 1)]
    #[validate(length(min = 1))]
    pub languages: Option<Vec<String>>,
    #[schema(rename = "status_ativo", value_type = bool, required = false)]
    pub active: Option<bool>,
    #[schema(rename = "status_ativo_sequencial", value_type = bool, required = false)]
    pub in_rotation: Option<bool>,
    #[schema(rename = "status_online", value_type = bool, required = false)]
    pub online: Option<bool>,
    /// `null` clears it.
    #[schema(rename = "id_pipedrive", value_type = Option<i64>, minimum = 1)]
    #[validate(range(min = 1))]
    pub pipedrive_user_id: Option<Option<i64>>,
    /// Extension: share of contacts, 1 to 100 (default 1).
    #[schema(rename = "peso", value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub weight: Option<i64>,
    /// Extension: at most this many rotation assignments per local day (1 to 10000).
    #[schema(rename = "limite_diario", value_type = Option<i64>, minimum = 1, maximum = 10000)]
    pub daily_limit: Option<i64>,
    /// Extension: skipped while this many protocols are open (1 to 10000).
    #[schema(rename = "limite_abertos", value_type = Option<i64>, minimum = 1, maximum = 10000)]
    pub open_limit: Option<i64>,
    /// Extension: IANA time zone (default: the service's `DEFAULT_TIME_ZONE`).
    #[schema(rename = "fuso_horario", value_type = Option<String>, example = "America/Sao_Paulo")]
    pub time_zone: Option<String>,
    /// Extension: working hours; `null` is always.
    #[schema(rename = "horarios", value_type = Option<Vec<WorkingHoursWire>>)]
    pub schedule: Option<Vec<()>>,
    /// Extension: days off.
    #[schema(rename = "ausencias", value_type = Option<Vec<LeaveWire>>)]
    pub leave: Option<Vec<()>>,
}

impl WireFields for ConsultantUpdateRequest {
    const FIELDS: &'static [(&'static str, &'static str)] = CONSULTANT_FIELDS;
}

impl ConsultantUpdateRequest {
    /// Reads, checks and parses the body of `PUT /consultor/{consultor_id}`, adding to the
    /// problems already found (e.g. in the path).
    pub fn parse(body: &JsonBody, problems: &mut Problems) -> Option<ConsultantPatch> {
        Self::read_in_order(body, problems, Self::parse_into)
    }

    fn parse_into(body: &JsonBody, problems: &mut Problems) -> Option<ConsultantPatch> {
        let mut reader = ObjectReader::open(body, problems)?;
        let [active, in_rotation, online] = switches(&mut reader);
        let dto = Self {
            name: reader
                .string("nome", Presence::Optional)
                .map(trimmed)
                .value(),
            email: reader
                .string("email", Presence::Nullable)
                .map(trimmed)
                .patch(),
            phone: reader.string("telefone", Presence::Nullable).patch(),
            languages: reader.string_list("idiomas", Presence::Optional).value(),
            active,
            in_rotation,
            online,
            pipedrive_user_id: reader.int("id_pipedrive", Presence::Nullable).patch(),
            ..Self::default()
        };
        let (rules, mut domain) = checked(&dto, &mut reader);
        let mut patch = ConsultantPatch {
            name: dto.name.clone().and_then(|name| domain.name(Some(name))),
            email: dto.email.clone().map(|email| domain.email(email)),
            phone: dto.phone.clone().map(|phone| domain.phone(phone)),
            languages: dto
                .languages
                .clone()
                .and_then(|languages| domain.languages(Some(languages))),
            active: dto.active,
            in_rotation: dto.in_rotation,
            online: dto.online,
            pipedrive_user_id: dto.pipedrive_user_id.map(|id| domain.pipedrive_user_id(id)),
            ..ConsultantPatch::default()
        };
        rules.patch_into(&mut patch);
        domain.ok().then_some(patch)
    }
}

/// `status_ativo`, `status_ativo_sequencial` and `status_online`, optional on create and update.
fn switches(reader: &mut ObjectReader<'_>) -> [Option<bool>; 3] {
    ["status_ativo", "status_ativo_sequencial", "status_online"]
        .map(|name| reader.bool(name, Presence::Optional).value())
}

/// Checks the shape of `dto` and reads the rule fields; the domain's parsing follows.
fn checked<'r, 'a, T: Validate + WireFields>(
    dto: &T,
    reader: &'r mut ObjectReader<'a>,
) -> (RuleFields, DomainFields<'r, 'a>) {
    check_shape(dto, reader);
    let rules = RuleFields::read(reader);
    (rules, DomainFields::new(reader))
}

/// The domain's parsing of consultant fields, recording refusals at their wire location and
/// skipping fields that already failed an earlier stage.
struct DomainFields<'r, 'a> {
    reader: &'r mut ObjectReader<'a>,
    failed: bool,
}

impl<'r, 'a> DomainFields<'r, 'a> {
    fn new(reader: &'r mut ObjectReader<'a>) -> Self {
        let failed = !reader.problems().is_empty();
        Self { reader, failed }
    }

    fn ok(&self) -> bool {
        !self.failed
    }

    fn parse<T, E: Into<consultores_domain::InvalidValue>>(
        &mut self,
        wire: &'static str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = raw?;
        if self.reader.problems().has_field(Place::Body, wire) {
            return None;
        }
        match parse(raw) {
            Ok(value) => Some(value),
            Err(problem) => {
                let input = self.reader.raw(wire);
                self.reject(FieldError::invalid(
                    &problem.into(),
                    Loc::field(Place::Body, wire),
                    input,
                ));
                None
            }
        }
    }

    fn reject(&mut self, error: FieldError) {
        self.failed = true;
        self.reader.problems().push(error);
    }

    fn name(&mut self, raw: Option<String>) -> Option<ConsultantName> {
        self.parse("nome", raw.as_deref(), ConsultantName::parse)
    }

    fn email(&mut self, raw: Option<String>) -> Option<Email> {
        self.parse("email", raw.as_deref(), Email::parse)
    }

    fn phone(&mut self, raw: Option<String>) -> Option<Phone> {
        self.parse("telefone", raw.as_deref(), Phone::parse)
    }

    fn languages(&mut self, raw: Option<Vec<String>>) -> Option<LanguageList> {
        let raw = raw?;
        if self.reader.problems().has_field(Place::Body, "idiomas") {
            return None;
        }
        let mut languages = Vec::with_capacity(raw.len());
        for (index, code) in raw.iter().enumerate() {
            match Language::parse(code) {
                Ok(language) => languages.push(language),
                Err(problem) => self.reject(FieldError::invalid(
                    &problem,
                    Loc::field(Place::Body, "idiomas").index(index),
                    Value::String(code.clone()),
                )),
            }
        }
        if languages.len() != raw.len() {
            return None;
        }
        match LanguageList::new(languages) {
            Ok(list) => Some(list),
            Err(problem) => {
                let input = self.reader.raw("idiomas");
                self.reject(FieldError::invalid(
                    &problem,
                    Loc::field(Place::Body, "idiomas"),
                    input,
                ));
                None
            }
        }
    }

    fn pipedrive_user_id(&mut self, raw: Option<i64>) -> Option<PipedriveUserId> {
        let raw = raw?;
        if self
            .reader
            .problems()
            .has_field(Place::Body, "id_pipedrive")
        {
            return None;
        }
        match PipedriveUserId::new(raw) {
            Ok(id) => Some(id),
            Err(problem) => {
                self.reject(FieldError::invalid(
                    &problem,
                    Loc::field(Place::Body, "id_pipedrive"),
                    Value::from(raw),
                ));
                None
            }
        }
    }
}

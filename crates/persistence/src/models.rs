//! Rows as stored, and their conversion into domain values. Stored values are parsed with the
//! domain's own constructors: a row the domain cannot represent is an internal error, except for
//! optional contact details written by v6 in a form the service no longer accepts, which read as
//! absent (the stored text stays untouched until someone edits it).

use chrono::NaiveDate;
use consultores_domain::{
    AuditChanges, AuditValue, Consultant, ConsultantId, ConsultantName, Description, Email,
    Language, LanguageList, Phone, PipedriveUserId, Protocol, ProtocolId, ProtocolNumber, Workload,
    Zone,
};
use diesel::prelude::*;

use crate::error::StoreError;
use crate::routing_columns::StoredRules;
use crate::schema::{consultor_idiomas, consultores, protocolos};
use crate::sql_types::Timestamp;

/// A `consultores` row; inserted without the columns the database fills in.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultores)]
pub(crate) struct ConsultantRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    #[diesel(column_name = nome)]
    pub name: String,
    pub email: Option<String>,
    #[diesel(column_name = telefone)]
    pub phone: Option<String>,
    #[diesel(column_name = status_ativo)]
    pub active: bool,
    #[diesel(column_name = status_ativo_sequencial)]
    pub in_rotation: bool,
    #[diesel(column_name = status_online)]
    pub online: bool,
    #[diesel(column_name = ultimo_atendimento)]
    pub last_served_at: Option<Timestamp>,
    #[diesel(column_name = id_pipedrive)]
    pub pipedrive_user_id: Option<i64>,
    #[diesel(column_name = removido_em, skip_insertion)]
    pub deleted_at: Option<Timestamp>,
    #[diesel(column_name = peso)]
    pub weight: i32,
    #[diesel(column_name = limite_diario)]
    pub daily_limit: Option<i32>,
    #[diesel(column_name = limite_abertos)]
    pub open_limit: Option<i32>,
    #[diesel(column_name = fuso_horario)]
    pub time_zone: Option<String>,
    #[diesel(column_name = horarios)]
    pub schedule: Option<String>,
    #[diesel(column_name = ausencias)]
    pub leave: Option<String>,
    #[diesel(column_name = chave_fila)]
    pub queue_key: Option<i64>,
    #[diesel(column_name = atendimentos_dia, skip_insertion)]
    pub assignments_day: Option<NaiveDate>,
    #[diesel(column_name = atendimentos_no_dia, skip_insertion)]
    pub assignments_on_day: i32,
    #[diesel(column_name = protocolos_abertos, skip_insertion)]
    pub open_protocols: i32,
}

/// The columns a consultant patch may change: `None` leaves a column alone, `Some(None)` sets
/// NULL.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = consultores)]
pub(crate) struct ConsultantChanges<'a> {
    #[diesel(column_name = nome)]
    pub name: Option<&'a str>,
    pub email: Option<Option<&'a str>>,
    #[diesel(column_name = telefone)]
    pub phone: Option<Option<&'a str>>,
    #[diesel(column_name = status_ativo)]
    pub active: Option<bool>,
    #[diesel(column_name = status_ativo_sequencial)]
    pub in_rotation: Option<bool>,
    #[diesel(column_name = status_online)]
    pub online: Option<bool>,
    #[diesel(column_name = id_pipedrive)]
    pub pipedrive_user_id: Option<Option<i64>>,
    #[diesel(column_name = peso)]
    pub weight: Option<i32>,
    #[diesel(column_name = limite_diario)]
    pub daily_limit: Option<Option<i32>>,
    #[diesel(column_name = limite_abertos)]
    pub open_limit: Option<Option<i32>>,
    #[diesel(column_name = fuso_horario)]
    pub time_zone: Option<Option<&'a str>>,
    #[diesel(column_name = horarios)]
    pub schedule: Option<Option<String>>,
    #[diesel(column_name = ausencias)]
    pub leave: Option<Option<String>>,
}

impl ConsultantChanges<'_> {
    /// The row as this change would leave it (what the UPDATE will store).
    pub fn applied_to(&self, row: &ConsultantRow) -> ConsultantRow {
        let mut row = row.clone();
        if let Some(name) = self.name {
            row.name = name.to_owned();
        }
        if let Some(email) = self.email {
            row.email = email.map(str::to_owned);
        }
        if let Some(phone) = self.phone {
            row.phone = phone.map(str::to_owned);
        }
        if let Some(active) = self.active {
            row.active = active;
        }
        if let Some(in_rotation) = self.in_rotation {
            row.in_rotation = in_rotation;
        }
        if let Some(online) = self.online {
            row.online = online;
        }
        if let Some(user) = self.pipedrive_user_id {
            row.pipedrive_user_id = user;
        }
        if let Some(weight) = self.weight {
            row.weight = weight;
        }
        if let Some(limit) = self.daily_limit {
            row.daily_limit = limit;
        }
        if let Some(limit) = self.open_limit {
            row.open_limit = limit;
        }
        if let Some(zone) = self.time_zone {
            row.time_zone = zone.map(str::to_owned);
        }
        if let Some(schedule) = &self.schedule {
            row.schedule = schedule.clone();
        }
        if let Some(leave) = &self.leave {
            row.leave = leave.clone();
        }
        row
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.active.is_none()
            && self.in_rotation.is_none()
            && self.online.is_none()
            && self.pipedrive_user_id.is_none()
            && self.weight.is_none()
            && self.daily_limit.is_none()
            && self.open_limit.is_none()
            && self.time_zone.is_none()
            && self.schedule.is_none()
            && self.leave.is_none()
    }
}

/// A `consultor_idiomas` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultor_idiomas)]
pub(crate) struct LanguageRow {
    #[diesel(column_name = consultor_id)]
    pub consultant_id: i64,
    #[diesel(column_name = idioma)]
    pub language: String,
    #[diesel(column_name = posicao)]
    pub position: i32,
}

impl LanguageRow {
    fn code(&self) -> &str {
        &self.language
    }
}

/// The language rows of one consultant, in the order given.
pub(crate) fn language_rows(consultant_id: i64, languages: &LanguageList) -> Vec<LanguageRow> {
    languages
        .iter()
        .zip(0..)
        .map(|(language, position)| LanguageRow {
            consultant_id,
            language: language.as_str().to_owned(),
            position,
        })
        .collect()
}

/// A `protocolos` row; inserted without the id the database assigns.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Insertable)]
#[diesel(table_name = protocolos)]
pub(crate) struct ProtocolRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    #[diesel(column_name = numero)]
    pub number: String,
    #[diesel(column_name = consultor_id)]
    pub consultant_id: Option<i64>,
    #[diesel(column_name = idioma)]
    pub language: Option<String>,
    #[diesel(column_name = descricao)]
    pub description: Option<String>,
    #[diesel(column_name = prioridade)]
    pub priority: String,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The columns a protocol patch may change.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = protocolos)]
pub(crate) struct ProtocolChanges<'a> {
    #[diesel(column_name = descricao)]
    pub description: Option<Option<&'a str>>,
    #[diesel(column_name = prioridade)]
    pub priority: Option<&'a str>,
    pub status: Option<&'a str>,
    #[diesel(column_name = consultor_id)]
    pub consultant_id: Option<Option<i64>>,
    pub updated_at: Timestamp,
}

impl ProtocolChanges<'_> {
    /// The row as this change would leave it (what the UPDATE will store).
    pub fn applied_to(&self, row: &ProtocolRow) -> ProtocolRow {
        let mut row = row.clone();
        if let Some(description) = self.description {
            row.description = description.map(str::to_owned);
        }
        if let Some(priority) = self.priority {
            row.priority = priority.to_owned();
        }
        if let Some(status) = self.status {
            row.status = status.to_owned();
        }
        if let Some(consultant) = self.consultant_id {
            row.consultant_id = consultant;
        }
        row.updated_at = self.updated_at;
        row
    }
}

/// The changes from one state of an entity to another: the fields whose stored value differs.
pub(crate) fn audit_diff(
    before: Vec<(&'static str, AuditValue)>,
    after: Vec<(&'static str, AuditValue)>,
) -> AuditChanges {
    let mut changes = AuditChanges::new();
    for ((field, before), (_, after)) in before.into_iter().zip(after) {
        changes.record(field, before, after);
    }
    changes
}

/// The fields of a new entity (`antes` null; null values left out).
pub(crate) fn audit_created(values: Vec<(&'static str, AuditValue)>) -> AuditChanges {
    let mut changes = AuditChanges::new();
    for (field, value) in values {
        changes.created(field, value);
    }
    changes
}

impl ConsultantRow {
    /// The audited fields of this row and its `languages`, by wire name, as stored (so a diff
    /// shows exactly what the database changed).
    pub fn audit_values(&self, languages: &[String]) -> Vec<(&'static str, AuditValue)> {
        vec![
            ("nome", self.name.as_str().into()),
            ("email", AuditValue::optional(self.email.clone())),
            ("telefone", AuditValue::optional(self.phone.clone())),
            ("idiomas", AuditValue::List(languages.to_vec())),
            ("status_ativo", self.active.into()),
            ("status_ativo_sequencial", self.in_rotation.into()),
            ("status_online", self.online.into()),
            (
                "ultimo_atendimento",
                AuditValue::optional(self.last_served_at.map(|t| AuditValue::time(t.0))),
            ),
            ("id_pipedrive", AuditValue::optional(self.pipedrive_user_id)),
            ("peso", i64::from(self.weight).into()),
            (
                "limite_diario",
                AuditValue::optional(self.daily_limit.map(i64::from)),
            ),
            (
                "limite_abertos",
                AuditValue::optional(self.open_limit.map(i64::from)),
            ),
            ("fuso_horario", AuditValue::optional(self.time_zone.clone())),
            ("horarios", AuditValue::optional(self.schedule.clone())),
            ("ausencias", AuditValue::optional(self.leave.clone())),
        ]
    }

    /// The rule columns of this row.
    pub fn stored_rules(&self) -> StoredRules<'_> {
        StoredRules {
            id: self.id,
            weight: self.weight,
            daily_limit: self.daily_limit,
            open_limit: self.open_limit,
            time_zone: self.time_zone.as_deref(),
            schedule: self.schedule.as_deref(),
            leave: self.leave.as_deref(),
        }
    }

    /// The counters of this row.
    pub fn workload(&self) -> Workload {
        Workload {
            assignments_day: self.assignments_day,
            assignments_on_day: i64::from(self.assignments_on_day),
            open_protocols: i64::from(self.open_protocols),
        }
    }

    /// The domain value, with the languages loaded separately (in order); a consultant without
    /// a zone of their own gets `default_zone`.
    pub fn into_domain(
        self,
        languages: Vec<String>,
        default_zone: Zone,
    ) -> Result<Consultant, StoreError> {
        self.into_domain_with(&languages, String::as_str, default_zone)
    }

    /// [`Self::into_domain`] with the languages borrowed, `code` reading each one's code.
    fn into_domain_with<T>(
        self,
        languages: &[T],
        code: impl Fn(&T) -> &str,
        default_zone: Zone,
    ) -> Result<Consultant, StoreError> {
        let routing = self.stored_rules().into_domain(default_zone)?;
        let workload = self.workload();
        let languages = languages
            .iter()
            .map(|language| Language::parse(code(language)))
            .collect::<Result<Vec<_>, _>>()
            .and_then(LanguageList::new)
            .map_err(|error| {
                let codes: Vec<&str> = languages.iter().map(&code).collect();
                StoreError::internal(format!(
                    "consultant {}: stored languages {codes:?}: {error}",
                    self.id
                ))
            })?;
        let name = ConsultantName::parse(&self.name).map_err(|error| {
            StoreError::internal(format!("consultant {}: stored name: {error}", self.id))
        })?;
        Ok(Consultant {
            id: ConsultantId(self.id),
            name,
            email: self.email.as_deref().and_then(|raw| Email::parse(raw).ok()),
            phone: self.phone.as_deref().and_then(|raw| Phone::parse(raw).ok()),
            languages,
            active: self.active,
            in_rotation: self.in_rotation,
            online: self.online,
            last_served_at: self.last_served_at.map(|t| t.0),
            pipedrive_user_id: self
                .pipedrive_user_id
                .and_then(|id| PipedriveUserId::new(id).ok()),
            deleted: self.deleted_at.is_some(),
            routing,
            workload,
            queue_key: self.queue_key,
        })
    }
}

/// Joins consultant rows with their language rows (sorted by consultant, then position).
pub(crate) fn consultants_with_languages(
    rows: Vec<ConsultantRow>,
    languages: Vec<LanguageRow>,
    default_zone: Zone,
) -> Result<Vec<Consultant>, StoreError> {
    each_consultant_with_languages(rows, languages, default_zone).collect()
}

/// Joins consultant rows with their language rows, each consultant read on its own.
pub(crate) fn each_consultant_with_languages(
    rows: Vec<ConsultantRow>,
    mut languages: Vec<LanguageRow>,
    default_zone: Zone,
) -> impl Iterator<Item = Result<Consultant, StoreError>> {
    // Stable, so each consultant's rows keep their position order; already sorted (one run)
    // when the ids were asked in ascending order, as a listing does.
    languages.sort_by_key(|row| row.consultant_id);
    rows.into_iter().map(move |row| {
        let start = languages.partition_point(|l| l.consultant_id < row.id);
        let end = start + languages[start..].partition_point(|l| l.consultant_id == row.id);
        row.into_domain_with(&languages[start..end], LanguageRow::code, default_zone)
    })
}

impl ProtocolRow {
    /// The audited fields of this row, by wire name (`created_at` and `updated_at` are
    /// bookkeeping, not changes).
    pub fn audit_values(&self) -> Vec<(&'static str, AuditValue)> {
        vec![
            ("numero", self.number.as_str().into()),
            ("consultor_id", AuditValue::optional(self.consultant_id)),
            ("idioma", AuditValue::optional(self.language.clone())),
            ("descricao", AuditValue::optional(self.description.clone())),
            ("prioridade", self.priority.as_str().into()),
            ("status", self.status.as_str().into()),
        ]
    }

    pub fn into_domain(self) -> Result<Protocol, StoreError> {
        let id = self.id;
        let broken = move |what: &str, error: &dyn std::fmt::Display| {
            StoreError::internal(format!("protocol {id}: stored {what}: {error}"))
        };
        Ok(Protocol {
            id: ProtocolId(self.id),
            number: self
                .number
                .parse::<ProtocolNumber>()
                .map_err(|error| broken("numero", &error))?,
            consultant_id: self.consultant_id.map(ConsultantId),
            language: self
                .language
                .as_deref()
                .map(Language::parse)
                .transpose()
                .map_err(|error| broken("idioma", &error))?,
            description: self
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()
                .map_err(|error| broken("descricao", &error))?,
            priority: self
                .priority
                .parse()
                .map_err(|error| broken("prioridade", &error))?,
            status: self
                .status
                .parse()
                .map_err(|error| broken("status", &error))?,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

//! The rows of [`super::ASSIGN`] (the function `consultores_atribuir`) and their mapping into
//! domain values.

use chrono::NaiveDate;
use consultores_domain::{Assignment, CrmTarget, Zone};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Nullable, Text};

use crate::crm_outbox::fresh_statuses;
use crate::error::StoreError;
use crate::models::{ConsultantRow, ProtocolRow};
use crate::sql_types::{Timestamp, UtcTimestamp};

/// The consultant and protocol columns of a row of [`ASSIGN`].
#[derive(Debug, QueryableByName)]
pub(super) struct AssignedRow {
    #[diesel(sql_type = BigInt, column_name = consultor_id)]
    consultant_id: i64,
    #[diesel(sql_type = Text, column_name = nome)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>, column_name = telefone)]
    phone: Option<String>,
    #[diesel(sql_type = Bool, column_name = status_ativo)]
    active: bool,
    #[diesel(sql_type = Bool, column_name = status_ativo_sequencial)]
    in_rotation: bool,
    #[diesel(sql_type = Bool, column_name = status_online)]
    online: bool,
    #[diesel(sql_type = Nullable<UtcTimestamp>, column_name = ultimo_atendimento)]
    last_served_at: Option<Timestamp>,
    #[diesel(sql_type = Nullable<BigInt>, column_name = id_pipedrive)]
    pipedrive_user_id: Option<i64>,
    #[diesel(sql_type = Integer, column_name = peso)]
    weight: i32,
    #[diesel(sql_type = Nullable<Integer>, column_name = limite_diario)]
    daily_limit: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>, column_name = limite_abertos)]
    open_limit: Option<i32>,
    #[diesel(sql_type = Nullable<Text>, column_name = fuso_horario)]
    time_zone: Option<String>,
    #[diesel(sql_type = Nullable<Text>, column_name = horarios)]
    schedule: Option<String>,
    #[diesel(sql_type = Nullable<Text>, column_name = ausencias)]
    leave: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>, column_name = chave_fila)]
    queue_key: Option<i64>,
    #[diesel(sql_type = Nullable<Date>, column_name = atendimentos_dia)]
    assignments_day: Option<NaiveDate>,
    #[diesel(sql_type = Integer, column_name = atendimentos_no_dia)]
    assignments_on_day: i32,
    #[diesel(sql_type = Integer, column_name = protocolos_abertos)]
    open_protocols: i32,
    #[diesel(sql_type = Nullable<Text>, column_name = idiomas)]
    languages: Option<String>,
    #[diesel(sql_type = BigInt, column_name = protocolo_id)]
    protocol_id: i64,
    #[diesel(sql_type = Text, column_name = numero)]
    number: String,
    #[diesel(sql_type = Nullable<Text>, column_name = idioma)]
    language: Option<String>,
    #[diesel(sql_type = Nullable<Text>, column_name = descricao)]
    description: Option<String>,
    #[diesel(sql_type = Text, column_name = prioridade)]
    priority: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = UtcTimestamp)]
    created_at: Timestamp,
    #[diesel(sql_type = UtcTimestamp)]
    updated_at: Timestamp,
}

impl AssignedRow {
    fn into_domain(self, default_zone: Zone) -> Result<Assignment, StoreError> {
        let languages = self
            .languages
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|code| !code.is_empty())
            .map(str::to_owned)
            .collect();
        let consultant = ConsultantRow {
            id: self.consultant_id,
            name: self.name,
            email: self.email,
            phone: self.phone,
            active: self.active,
            in_rotation: self.in_rotation,
            online: self.online,
            last_served_at: self.last_served_at,
            pipedrive_user_id: self.pipedrive_user_id,
            deleted_at: None,
            weight: self.weight,
            daily_limit: self.daily_limit,
            open_limit: self.open_limit,
            time_zone: self.time_zone,
            schedule: self.schedule,
            leave: self.leave,
            queue_key: self.queue_key,
            assignments_day: self.assignments_day,
            assignments_on_day: self.assignments_on_day,
            open_protocols: self.open_protocols,
        }
        .into_domain(languages, default_zone)?;
        let protocol = ProtocolRow {
            id: self.protocol_id,
            number: self.number,
            consultant_id: Some(self.consultant_id),
            language: self.language,
            description: self.description,
            priority: self.priority,
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .into_domain()?;
        Ok(Assignment {
            consultant,
            protocol,
            crm_actions: None,
        })
    }
}

/// A row of [`ASSIGN`]: the assignment and the number of outbox items written (2, or 0 without
/// a target or for a consultant without `id_pipedrive`).
#[derive(Debug, QueryableByName)]
pub(crate) struct AssignedWithCrmRow {
    #[diesel(embed)]
    assigned: AssignedRow,
    #[diesel(sql_type = BigInt, column_name = crm_itens)]
    crm_items: i64,
}

impl AssignedWithCrmRow {
    pub(crate) fn into_domain(
        self,
        target: Option<&CrmTarget>,
        default_zone: Zone,
    ) -> Result<Assignment, StoreError> {
        let mut assignment = self.assigned.into_domain(default_zone)?;
        assignment.crm_actions = target.map(|target| {
            if self.crm_items > 0 {
                fresh_statuses(target)
            } else {
                Vec::new()
            }
        });
        Ok(assignment)
    }
}

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
    #[diesel(sql_type = BigInt)]
    consultor_id: i64,
    #[diesel(sql_type = Text)]
    nome: String,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    telefone: Option<String>,
    #[diesel(sql_type = Bool)]
    status_ativo: bool,
    #[diesel(sql_type = Bool)]
    status_ativo_sequencial: bool,
    #[diesel(sql_type = Bool)]
    status_online: bool,
    #[diesel(sql_type = Nullable<UtcTimestamp>)]
    ultimo_atendimento: Option<Timestamp>,
    #[diesel(sql_type = Nullable<BigInt>)]
    id_pipedrive: Option<i64>,
    #[diesel(sql_type = Integer)]
    peso: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    limite_diario: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    limite_abertos: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    fuso_horario: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    horarios: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ausencias: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    chave_fila: Option<i64>,
    #[diesel(sql_type = Nullable<Date>)]
    atendimentos_dia: Option<NaiveDate>,
    #[diesel(sql_type = Integer)]
    atendimentos_no_dia: i32,
    #[diesel(sql_type = Integer)]
    protocolos_abertos: i32,
    #[diesel(sql_type = Nullable<Text>)]
    idiomas: Option<String>,
    #[diesel(sql_type = BigInt)]
    protocolo_id: i64,
    #[diesel(sql_type = Text)]
    numero: String,
    #[diesel(sql_type = Nullable<Text>)]
    idioma: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    descricao: Option<String>,
    #[diesel(sql_type = Text)]
    prioridade: String,
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
            .idiomas
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|code| !code.is_empty())
            .map(str::to_owned)
            .collect();
        let consultant = ConsultantRow {
            id: self.consultor_id,
            nome: self.nome,
            email: self.email,
            telefone: self.telefone,
            status_ativo: self.status_ativo,
            status_ativo_sequencial: self.status_ativo_sequencial,
            status_online: self.status_online,
            ultimo_atendimento: self.ultimo_atendimento,
            id_pipedrive: self.id_pipedrive,
            removido_em: None,
            peso: self.peso,
            limite_diario: self.limite_diario,
            limite_abertos: self.limite_abertos,
            fuso_horario: self.fuso_horario,
            horarios: self.horarios,
            ausencias: self.ausencias,
            chave_fila: self.chave_fila,
            atendimentos_dia: self.atendimentos_dia,
            atendimentos_no_dia: self.atendimentos_no_dia,
            protocolos_abertos: self.protocolos_abertos,
        }
        .into_domain(languages, default_zone)?;
        let protocol = ProtocolRow {
            id: self.protocolo_id,
            numero: self.numero,
            consultor_id: Some(self.consultor_id),
            idioma: self.idioma,
            descricao: self.descricao,
            prioridade: self.prioridade,
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
    #[diesel(sql_type = BigInt)]
    crm_itens: i64,
}

impl AssignedWithCrmRow {
    pub(crate) fn into_domain(
        self,
        target: Option<&CrmTarget>,
        default_zone: Zone,
    ) -> Result<Assignment, StoreError> {
        let mut assignment = self.assigned.into_domain(default_zone)?;
        assignment.crm_actions = target.map(|target| {
            if self.crm_itens > 0 {
                fresh_statuses(target)
            } else {
                Vec::new()
            }
        });
        Ok(assignment)
    }
}

//! The stored rows the outbox reads, and how they become domain values (or the reason they
//! cannot).

use chrono::{DateTime, Utc};
use consultores_domain::{
    CrmAction, CrmActionKind, CrmActionStatus, CrmTarget, CrmTargetKind, DeliveryState, OutboxItem,
    OutboxItemId, PipedriveUserId, ProtocolId,
};
use diesel::prelude::*;

use crate::error::StoreError;
use crate::schema::crm_outbox;
use crate::sql_types::Timestamp;

/// An item as the worker needs it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = crm_outbox)]
pub(crate) struct OutboxRow {
    pub(super) id: i64,
    pub(super) protocolo_id: Option<i64>,
    pub(super) acao: String,
    pub(super) alvo_tipo: String,
    pub(super) alvo_id: String,
    pub(super) owner_id: Option<i64>,
    pub(super) conteudo: Option<String>,
    pub(super) tentativas: i32,
    pub(super) created_at: Timestamp,
}

impl OutboxRow {
    /// The item this row stores, leased until `lease_until`; or why the row cannot be one (the
    /// reason recorded when the claim fails it).
    pub(super) fn into_domain(self, lease_until: DateTime<Utc>) -> Result<OutboxItem, String> {
        let target = target_of(&self.alvo_tipo, &self.alvo_id).ok_or_else(|| {
            format!(
                "ação inválida no banco: alvo {} {:?} não é um registro do Pipedrive",
                self.alvo_tipo, self.alvo_id
            )
        })?;
        let action = match self.acao.parse::<CrmActionKind>() {
            Ok(CrmActionKind::SetOwner) => {
                let owner = self.owner_id.unwrap_or(0);
                CrmAction::SetOwner(PipedriveUserId::new(owner).map_err(|_| {
                    format!(
                        "ação inválida no banco: owner_id {owner} não é um id de usuário do \
                         Pipedrive"
                    )
                })?)
            }
            Ok(CrmActionKind::AddNote) => CrmAction::AddNote(
                self.conteudo
                    .ok_or_else(|| "ação inválida no banco: nota sem conteúdo".to_owned())?,
            ),
            Err(_) => return Err(format!("ação inválida no banco: {:?}", self.acao)),
        };
        Ok(OutboxItem {
            id: OutboxItemId(self.id),
            lease_until,
            protocol_id: self.protocolo_id.map(ProtocolId),
            target,
            action,
            attempts: u32::try_from(self.tentativas).unwrap_or(0),
            created_at: self.created_at.0,
            note_author: None,
        })
    }
}

/// An item as clients see it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = crm_outbox)]
pub(super) struct StatusRow {
    pub(super) id: i64,
    pub(super) acao: String,
    pub(super) alvo_tipo: String,
    pub(super) alvo_id: String,
    pub(super) estado: String,
    pub(super) tentativas: i32,
    pub(super) ultimo_erro: Option<String>,
}

impl StatusRow {
    pub(super) fn into_domain(self) -> Result<CrmActionStatus, StoreError> {
        let id = self.id;
        let broken = move |what: &str| {
            StoreError::internal(format!("crm_outbox row {id}: unusable stored {what}"))
        };
        Ok(CrmActionStatus {
            action: self.acao.parse().map_err(|_| broken("acao"))?,
            target: target_of(&self.alvo_tipo, &self.alvo_id).ok_or_else(|| broken("target"))?,
            state: DeliveryState::from_parts(&self.estado, self.ultimo_erro)
                .map_err(|_| broken("estado"))?,
            attempts: u32::try_from(self.tentativas).unwrap_or(0),
        })
    }
}

fn target_of(kind: &str, id: &str) -> Option<CrmTarget> {
    let kind = kind.parse::<CrmTargetKind>().ok()?;
    CrmTarget::from_parts(kind, id).ok()
}

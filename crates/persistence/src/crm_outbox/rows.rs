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

/// What an item does to which record, as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = crm_outbox)]
pub(crate) struct ActionColumns {
    #[diesel(column_name = acao)]
    pub(super) kind: String,
    #[diesel(column_name = alvo_tipo)]
    pub(super) target_kind: String,
    #[diesel(column_name = alvo_id)]
    pub(super) target_id: String,
}

impl ActionColumns {
    fn target(&self) -> Option<CrmTarget> {
        let kind = self.target_kind.parse::<CrmTargetKind>().ok()?;
        CrmTarget::from_parts(kind, &self.target_id).ok()
    }
}

/// An item as the worker needs it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = crm_outbox)]
pub(crate) struct OutboxRow {
    pub(super) id: i64,
    #[diesel(column_name = protocolo_id)]
    pub(super) protocol_id: Option<i64>,
    #[diesel(embed)]
    pub(super) action: ActionColumns,
    pub(super) owner_id: Option<i64>,
    #[diesel(column_name = conteudo)]
    pub(super) content: Option<String>,
    #[diesel(column_name = tentativas)]
    pub(super) attempts: i32,
    pub(super) created_at: Timestamp,
}

impl OutboxRow {
    /// The item this row stores, leased until `lease_until`; or why the row cannot be one (the
    /// reason recorded when the claim fails it).
    pub(super) fn into_domain(self, lease_until: DateTime<Utc>) -> Result<OutboxItem, String> {
        let target = self.action.target().ok_or_else(|| {
            format!(
                "ação inválida no banco: alvo {} {:?} não é um registro do Pipedrive",
                self.action.target_kind, self.action.target_id
            )
        })?;
        let action = match self.action.kind.parse::<CrmActionKind>() {
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
                self.content
                    .ok_or_else(|| "ação inválida no banco: nota sem conteúdo".to_owned())?,
            ),
            Err(_) => return Err(format!("ação inválida no banco: {:?}", self.action.kind)),
        };
        Ok(OutboxItem {
            id: OutboxItemId(self.id),
            lease_until,
            protocol_id: self.protocol_id.map(ProtocolId),
            target,
            action,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
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
    #[diesel(embed)]
    pub(super) action: ActionColumns,
    #[diesel(column_name = estado)]
    pub(super) state: String,
    #[diesel(column_name = tentativas)]
    pub(super) attempts: i32,
    #[diesel(column_name = ultimo_erro)]
    pub(super) last_error: Option<String>,
}

impl StatusRow {
    pub(super) fn into_domain(self) -> Result<CrmActionStatus, StoreError> {
        let id = self.id;
        let broken = move |what: &str| {
            StoreError::internal(format!("crm_outbox row {id}: unusable stored {what}"))
        };
        Ok(CrmActionStatus {
            action: self.action.kind.parse().map_err(|_| broken("acao"))?,
            target: self.action.target().ok_or_else(|| broken("target"))?,
            state: DeliveryState::from_parts(&self.state, self.last_error)
                .map_err(|_| broken("estado"))?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
        })
    }
}

//! What the worker does with events about records the service already handed out: a record
//! converted from another (lead → deal, deal → lead), a record deleted or merged away, an owner
//! changed by a person in Pipedrive.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::audit::Actor;
use crate::consultant::ConsultantFilter;
use crate::crm::CrmTarget;
use crate::crm_events::CrmEventOutcome;
use crate::crm_inbound::InboundCrmEvent;
use crate::crm_outbox::CrmOutbox;
use crate::error::DomainError;
use crate::ports::{ConsultantRepository, ProtocolRepository};
use crate::protocol::ProtocolPatch;

/// Where an owner change is recorded: the consultants (to find the new owner among them) and
/// their protocols.
#[derive(Clone)]
pub struct ProtocolRecords {
    pub consultants: Arc<dyn ConsultantRepository>,
    pub protocols: Arc<dyn ProtocolRepository>,
}

impl std::fmt::Debug for ProtocolRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtocolRecords").finish_non_exhaustive()
    }
}

/// `deal 42`, `lead <uuid>`, `person 17`: how reasons name a record.
fn named(target: &CrmTarget) -> String {
    format!("{} {}", target.kind(), target.id_text())
}

/// For a created record converted from one the service handed out: the outcome that links it
/// to that record's protocol (no second assignment, owner change or note: Pipedrive carries the
/// owner over). `None` for every other created record.
pub(super) fn conversion(
    outbox: &dyn CrmOutbox,
    event: &InboundCrmEvent,
    record: &CrmTarget,
) -> Result<Option<CrmEventOutcome>, DomainError> {
    let Some(source) = &event.converted_from else {
        return Ok(None);
    };
    let Some(protocol) = outbox.latest_protocol(source)? else {
        return Ok(None);
    };
    Ok(Some(CrmEventOutcome::Linked {
        protocol,
        reason: format!(
            "{} convertido de {}: mantém o consultor e o protocolo do registro de origem, sem \
             nova atribuição",
            named(record),
            named(source)
        ),
    }))
}

/// A deleted record, or one merged into another: its pending actions are cancelled (they would
/// only fail against a record that is gone).
pub(super) fn removed(
    outbox: &dyn CrmOutbox,
    event: &InboundCrmEvent,
    record: &CrmTarget,
    now: DateTime<Utc>,
) -> Result<CrmEventOutcome, DomainError> {
    let what = match &event.merged_into {
        Some(survivor) => format!(
            "{} mesclado a {} {survivor} no Pipedrive",
            named(record),
            record.kind()
        ),
        None => format!("{} excluído no Pipedrive", named(record)),
    };
    let cancelled = outbox.cancel_pending(record, &format!("cancelada: {what}"), now)?;
    Ok(CrmEventOutcome::Ignored {
        reason: format!("{what}: {cancelled} ação(ões) pendente(s) cancelada(s)"),
    })
}

/// An owner changed in Pipedrive by someone else than this service (the echo of our own update
/// is recognised before): recorded on the record's latest protocol. When the new owner is a
/// consultant's `id_pipedrive`, the protocol is reassigned to that consultant (an audited
/// `protocolo.atualizado` by `actor`); the event, linked to the protocol, says who owns the
/// record now either way.
pub(super) fn owner_changed(
    outbox: &dyn CrmOutbox,
    records: Option<&ProtocolRecords>,
    event: &InboundCrmEvent,
    record: &CrmTarget,
    now: DateTime<Utc>,
    actor: &Actor,
) -> Result<CrmEventOutcome, DomainError> {
    let (Some(previous), Some(owner)) = (event.previous_owner, event.owner) else {
        return Ok(CrmEventOutcome::Ignored {
            reason: "alteração sem mudança de responsável".to_owned(),
        });
    };
    let change = format!(
        "responsável de {} alterado no Pipedrive de usuário {previous} para usuário {owner}",
        named(record)
    );
    let Some(protocol) = outbox.latest_protocol(record)? else {
        return Ok(CrmEventOutcome::Ignored {
            reason: format!("{change}; nenhum protocolo deste serviço para o registro"),
        });
    };
    let consultant = match records {
        Some(records) => records
            .consultants
            .list(&ConsultantFilter::default())?
            .into_iter()
            .find(|consultant| consultant.pipedrive_user_id == Some(owner)),
        None => None,
    };
    let reason = match (consultant, records) {
        (Some(consultant), Some(records)) => {
            let patch = ProtocolPatch {
                consultant_id: Some(consultant.id),
                ..ProtocolPatch::default()
            };
            records.protocols.update(protocol, &patch, now, actor)?;
            format!(
                "{change}; o protocolo passa a {} (consultor {})",
                consultant.name, consultant.id.0
            )
        }
        _ => format!(
            "{change}, que não é o id_pipedrive de nenhum consultor; o protocolo continua com o \
             consultor que o recebeu"
        ),
    };
    Ok(CrmEventOutcome::Linked { protocol, reason })
}

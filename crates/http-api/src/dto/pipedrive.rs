//! `pipedrive`: the state of the CRM actions of an assignment, in the da-vez answer and in
//! `GET /protocolo/{id}` (extension; absent when there are none to show, so v6 clients see
//! nothing new).

use consultores_domain::{CrmActionKind, CrmActionStatus, CrmTargetKind, DeliveryState};
use serde::Serialize;
use utoipa::ToSchema;

/// The CRM actions queued by an assignment, in order (owner first, then the note). Empty when
/// the consultant chosen has no `id_pipedrive` (nothing to send).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "acoes": [
        {"acao": "definir_responsavel", "alvo": "deal", "alvo_id": "42", "estado": "concluido", "motivo": null, "tentativas": 1},
        {"acao": "adicionar_nota", "alvo": "deal", "alvo_id": "42", "estado": "pendente", "motivo": "Pipedrive respondeu 503 Service Unavailable", "tentativas": 1}
    ]
}))]
pub struct CrmActionsResponse {
    #[serde(rename = "acoes")]
    pub actions: Vec<CrmActionResponse>,
}

/// One CRM action and where it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrmActionResponse {
    /// `definir_responsavel` (the consultant's Pipedrive user becomes the owner) or
    /// `adicionar_nota` (a note names the protocol and the consultant).
    #[serde(rename = "acao")]
    #[schema(value_type = CrmActionWire)]
    pub action: &'static str,
    /// The kind of Pipedrive record.
    #[serde(rename = "alvo")]
    #[schema(value_type = CrmTargetWire)]
    pub target: &'static str,
    /// The record's id (a number for deals and persons, a UUID for leads).
    #[serde(rename = "alvo_id")]
    pub target_id: String,
    /// `pendente` (waiting for the worker or a retry), `concluido` or `falhou`.
    #[serde(rename = "estado")]
    #[schema(value_type = DeliveryStateWire)]
    pub state: &'static str,
    /// Why it failed (`falhou`), or why the last try of a pending action did not succeed.
    #[serde(rename = "motivo")]
    pub reason: Option<String>,
    /// Tries made so far.
    #[serde(rename = "tentativas")]
    pub attempts: u32,
}

super::wire_enum_schema! {
    /// `acao` values.
    CrmActionWire as "AcaoCrm" = consultores_domain::CrmActionKind;
    /// `alvo` values.
    CrmTargetWire as "AlvoCrm" = consultores_domain::CrmTargetKind;
    /// `estado` values.
    DeliveryStateWire as "EstadoAcaoCrm" = consultores_domain::DeliveryStateName
}

impl From<CrmActionStatus> for CrmActionResponse {
    fn from(status: CrmActionStatus) -> Self {
        let action: CrmActionKind = status.action;
        let target: CrmTargetKind = status.target.kind();
        let state: &DeliveryState = &status.state;
        Self {
            action: action.as_str(),
            target: target.as_str(),
            target_id: status.target.id_text(),
            state: state.as_str(),
            reason: state.reason().map(str::to_owned),
            attempts: status.attempts,
        }
    }
}

impl CrmActionsResponse {
    /// The answer's `pipedrive` for these actions.
    pub fn new(actions: Vec<CrmActionStatus>) -> Self {
        Self {
            actions: actions.into_iter().map(Into::into).collect(),
        }
    }
}

//! The answer of `GET /consultor/da-vez`.

use consultores_domain::{Assignment, NobodyFree, PipedriveUserId};
use serde::Serialize;
use utoipa::ToSchema;

use super::pipedrive::CrmActionsResponse;
use super::time::timestamp;

/// Who got the contact, and the protocol opened for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "consultor_id": 7,
    "consultor_nome": "João Silva",
    "consultor_email": "joao@exemplo.com",
    "consultor_telefone": "+5511999999999",
    "consultor_idiomas": ["pt", "en"],
    "consultor_status_online": true,
    "consultor_atendimento_iso": "2026-11-29T14:30:00.123456+00:00",
    "consultor_id_pipedrive": 456,
    "numero_protocolo": "#00042",
    "protocolo_id": 42,
    "idioma_atendido": "pt"
}))]
pub struct AssignmentResponse {
    #[serde(rename = "consultor_id")]
    pub consultant_id: i64,
    #[serde(rename = "consultor_nome")]
    pub consultant_name: String,
    #[serde(rename = "consultor_email")]
    pub consultant_email: Option<String>,
    #[serde(rename = "consultor_telefone")]
    pub consultant_phone: Option<String>,
    #[serde(rename = "consultor_idiomas")]
    pub consultant_languages: Vec<String>,
    #[serde(rename = "consultor_status_online")]
    pub consultant_online: bool,
    /// The moment of this assignment (the consultant's new `ultimo_atendimento`).
    #[serde(rename = "consultor_atendimento_iso")]
    pub served_at: Option<String>,
    #[serde(rename = "consultor_id_pipedrive")]
    pub consultant_pipedrive_user_id: Option<i64>,
    #[serde(rename = "numero_protocolo")]
    pub protocol_number: String,
    /// The id of the protocol opened (extension).
    #[serde(rename = "protocolo_id")]
    pub protocol_id: i64,
    /// The language served (extension): `idioma`, or the first of `alternativas` in which
    /// someone was free; also the protocol's `idioma`.
    #[serde(rename = "idioma_atendido")]
    pub served_language: Option<String>,
    /// The Pipedrive actions queued with this assignment (extension): present only when the
    /// request named a Pipedrive record (`deal_id`, `lead_id` or `person_id`) and the
    /// integration is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipedrive: Option<CrmActionsResponse>,
}

impl From<Assignment> for AssignmentResponse {
    fn from(assignment: Assignment) -> Self {
        let Assignment {
            consultant,
            protocol,
            crm_actions,
        } = assignment;
        Self {
            consultant_id: consultant.id.0,
            consultant_name: consultant.name.into(),
            consultant_email: consultant.email.map(String::from),
            consultant_phone: consultant.phone.map(String::from),
            consultant_languages: consultant
                .languages
                .iter()
                .map(|language| language.as_str().to_owned())
                .collect(),
            consultant_online: consultant.online,
            served_at: consultant.last_served_at.as_ref().map(timestamp),
            consultant_pipedrive_user_id: consultant.pipedrive_user_id.map(PipedriveUserId::get),
            protocol_number: protocol.number.to_string(),
            protocol_id: protocol.id.0,
            served_language: protocol.language.map(|l| l.as_str().to_owned()),
            pipedrive: crm_actions.map(CrmActionsResponse::new),
        }
    }
}

/// The 404 of `GET /consultor/da-vez` when nobody is free in any requested language.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "detail": "Não há consultor disponível para o idioma pt",
    "proximo_disponivel": "2026-11-30T11:00:00.000000+00:00",
    "aguardando": 0
}))]
pub struct NobodyFreeResponse {
    pub detail: String,
    /// Extension: the earliest time at which a consultant who is active, in the rotation,
    /// online and speaks a requested language will be inside their hours, off leave and under
    /// their daily limit; null if unknown.
    #[serde(rename = "proximo_disponivel")]
    pub next_available_at: Option<String>,
    /// Extension: contacts waiting in the queue for these languages.
    #[serde(rename = "aguardando")]
    pub waiting: u64,
}

impl NobodyFreeResponse {
    pub fn new(detail: String, nobody: &NobodyFree) -> Self {
        Self {
            detail,
            next_available_at: nobody.next_available.as_ref().map(timestamp),
            waiting: nobody.waiting,
        }
    }
}

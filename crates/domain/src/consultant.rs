//! Consultants: the people the rotation hands contacts to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{ConsultantName, Email, Language, LanguageList, Phone, PipedriveUserId};

/// A consultant's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConsultantId(pub i64);

/// A consultant as stored. `deleted` consultants are kept for their protocols' history but take
/// part in nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consultant {
    pub id: ConsultantId,
    pub name: ConsultantName,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub languages: LanguageList,
    /// Works here at all (`status_ativo`).
    pub active: bool,
    /// Takes part in the automatic rotation (`status_ativo_sequencial`).
    pub in_rotation: bool,
    /// Available right now (`status_online`).
    pub online: bool,
    /// When the rotation last gave this consultant a contact (`ultimo_atendimento`).
    pub last_served_at: Option<DateTime<Utc>>,
    pub pipedrive_user_id: Option<PipedriveUserId>,
    pub deleted: bool,
}

/// What it takes to register a consultant. The switches default as v6 did: active and in the
/// rotation, but offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsultant {
    pub name: ConsultantName,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub languages: LanguageList,
    pub active: bool,
    pub in_rotation: bool,
    pub online: bool,
    pub pipedrive_user_id: Option<PipedriveUserId>,
}

impl NewConsultant {
    pub fn new(name: ConsultantName, languages: LanguageList) -> Self {
        Self {
            name,
            email: None,
            phone: None,
            languages,
            active: true,
            in_rotation: true,
            online: false,
            pipedrive_user_id: None,
        }
    }
}

/// A partial update: `None` leaves a field unchanged; for the optional fields,
/// `Some(None)` clears the value and `Some(Some(v))` sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsultantPatch {
    pub name: Option<ConsultantName>,
    pub email: Option<Option<Email>>,
    pub phone: Option<Option<Phone>>,
    pub languages: Option<LanguageList>,
    pub active: Option<bool>,
    pub in_rotation: Option<bool>,
    pub online: Option<bool>,
    pub pipedrive_user_id: Option<Option<PipedriveUserId>>,
}

impl ConsultantPatch {
    /// A patch that only switches `status_online`.
    pub fn online(online: bool) -> Self {
        Self {
            online: Some(online),
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Applies the patch to a consultant in memory (repositories may do the same in SQL; this is
    /// the reference semantics).
    pub fn apply_to(&self, consultant: &mut Consultant) {
        if let Some(name) = &self.name {
            consultant.name = name.clone();
        }
        if let Some(email) = &self.email {
            consultant.email = email.clone();
        }
        if let Some(phone) = &self.phone {
            consultant.phone = phone.clone();
        }
        if let Some(languages) = &self.languages {
            consultant.languages = languages.clone();
        }
        if let Some(active) = self.active {
            consultant.active = active;
        }
        if let Some(in_rotation) = self.in_rotation {
            consultant.in_rotation = in_rotation;
        }
        if let Some(online) = self.online {
            consultant.online = online;
        }
        if let Some(id) = self.pipedrive_user_id {
            consultant.pipedrive_user_id = id;
        }
    }
}

/// Filters of `GET /consultores`; every `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsultantFilter {
    pub language: Option<Language>,
    pub online: Option<bool>,
    pub active: Option<bool>,
}

impl ConsultantFilter {
    pub fn matches(&self, consultant: &Consultant) -> bool {
        !consultant.deleted
            && self
                .language
                .as_ref()
                .is_none_or(|l| consultant.languages.contains(l))
            && self.online.is_none_or(|o| consultant.online == o)
            && self.active.is_none_or(|a| consultant.active == a)
    }
}

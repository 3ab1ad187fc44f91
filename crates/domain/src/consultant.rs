//! Consultants: the people the rotation hands contacts to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::routing::{Leave, Limit, RoutingRules, WeeklySchedule, Weight, Workload, Zone};
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
    /// The routing rules (all at their defaults: v6's behaviour).
    #[serde(default)]
    pub routing: RoutingRules,
    /// The counters the rules read.
    #[serde(default)]
    pub workload: Workload,
    /// The position in the queue, microseconds since the epoch (`None`: never served, first in
    /// line). With peso 1 it equals `last_served_at`; see [`crate::routing::next_queue_key`].
    #[serde(default)]
    pub queue_key: Option<i64>,
}

/// The routing rules as given for a new consultant; `None` fields take their defaults (the
/// zone: the service's `DEFAULT_TIME_ZONE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSettings {
    pub weight: Weight,
    pub daily_limit: Option<Limit>,
    pub open_limit: Option<Limit>,
    pub time_zone: Option<Zone>,
    pub schedule: Option<WeeklySchedule>,
    pub leave: Option<Vec<Leave>>,
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
    pub rules: RuleSettings,
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
            rules: RuleSettings::default(),
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
    /// `null` on the wire is `Some(Weight::ONE)`: back to the default.
    pub weight: Option<Weight>,
    pub daily_limit: Option<Option<Limit>>,
    pub open_limit: Option<Option<Limit>>,
    /// `Some(None)`: back to the service's default zone.
    pub time_zone: Option<Option<Zone>>,
    pub schedule: Option<Option<WeeklySchedule>>,
    pub leave: Option<Option<Vec<Leave>>>,
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
        let rules = &mut consultant.routing;
        if let Some(weight) = self.weight {
            rules.weight = weight;
        }
        if let Some(limit) = self.daily_limit {
            rules.daily_limit = limit;
        }
        if let Some(limit) = self.open_limit {
            rules.open_limit = limit;
        }
        if let Some(zone) = self.time_zone {
            // In memory the default zone is São Paulo; the store applies the configured one.
            rules.time_zone = zone.unwrap_or_default();
        }
        if let Some(schedule) = &self.schedule {
            rules.schedule = schedule.clone();
        }
        if let Some(leave) = &self.leave {
            rules.leave = leave.clone();
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

#[cfg(test)]
pub(crate) mod tests {
    use chrono::TimeZone;

    use super::*;

    pub(crate) fn languages(codes: &[&str]) -> LanguageList {
        LanguageList::new(codes.iter().map(|c| Language::parse(c).unwrap()).collect()).unwrap()
    }

    /// An eligible-looking consultant speaking `pt` and `en`: active, in the rotation, online,
    /// never served, not deleted.
    pub(crate) fn sample_consultant(id: i64) -> Consultant {
        Consultant {
            id: ConsultantId(id),
            name: ConsultantName::parse(&format!("Consultor {id}")).unwrap(),
            email: Some(Email::parse(&format!("c{id}@exemplo.com")).unwrap()),
            phone: Some(Phone::parse("+5511999999999").unwrap()),
            languages: languages(&["pt", "en"]),
            active: true,
            in_rotation: true,
            online: true,
            last_served_at: None,
            pipedrive_user_id: Some(PipedriveUserId::new(456).unwrap()),
            deleted: false,
            routing: RoutingRules::default(),
            workload: Workload::default(),
            queue_key: None,
        }
    }

    fn full_patch() -> ConsultantPatch {
        ConsultantPatch {
            name: Some(ConsultantName::parse("Novo Nome").unwrap()),
            email: Some(Some(Email::parse("novo@exemplo.com").unwrap())),
            phone: Some(Some(Phone::parse("+5521988887777").unwrap())),
            languages: Some(languages(&["es"])),
            active: Some(false),
            in_rotation: Some(false),
            online: Some(false),
            pipedrive_user_id: Some(Some(PipedriveUserId::new(999).unwrap())),
            ..ConsultantPatch::default()
        }
    }

    #[test]
    fn new_consultant_is_active_in_rotation_and_offline_by_default() {
        let new = NewConsultant::new(
            ConsultantName::parse("Ana Souza").unwrap(),
            languages(&["pt"]),
        );
        assert!(new.active);
        assert!(new.in_rotation);
        assert!(!new.online);
        assert_eq!(new.email, None);
        assert_eq!(new.phone, None);
        assert_eq!(new.pipedrive_user_id, None);
    }

    #[test]
    fn empty_patch_leaves_every_field_unchanged() {
        let original = sample_consultant(1);
        let mut patched = original.clone();
        let patch = ConsultantPatch::default();
        assert!(patch.is_empty());
        patch.apply_to(&mut patched);
        assert_eq!(patched, original);
    }

    #[test]
    fn patch_with_values_sets_every_present_field() {
        let mut consultant = sample_consultant(1);
        full_patch().apply_to(&mut consultant);
        assert_eq!(consultant.name.as_str(), "Novo Nome");
        assert_eq!(
            consultant.email.as_ref().map(Email::as_str),
            Some("novo@exemplo.com")
        );
        assert_eq!(
            consultant.phone.as_ref().map(Phone::as_str),
            Some("+5521988887777")
        );
        assert_eq!(consultant.languages, languages(&["es"]));
        assert!(!consultant.active);
        assert!(!consultant.in_rotation);
        assert!(!consultant.online);
        assert_eq!(
            consultant.pipedrive_user_id.map(PipedriveUserId::get),
            Some(999)
        );
    }

    #[test]
    fn patch_never_touches_id_last_served_at_or_deleted() {
        let mut consultant = sample_consultant(7);
        let served = Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap();
        consultant.last_served_at = Some(served);
        full_patch().apply_to(&mut consultant);
        assert_eq!(consultant.id, ConsultantId(7));
        assert_eq!(consultant.last_served_at, Some(served));
        assert!(!consultant.deleted);
    }

    #[test]
    fn null_in_patch_clears_email_phone_and_pipedrive_id() {
        let mut consultant = sample_consultant(1);
        let patch = ConsultantPatch {
            email: Some(None),
            phone: Some(None),
            pipedrive_user_id: Some(None),
            ..ConsultantPatch::default()
        };
        assert!(!patch.is_empty());
        patch.apply_to(&mut consultant);
        assert_eq!(consultant.email, None);
        assert_eq!(consultant.phone, None);
        assert_eq!(consultant.pipedrive_user_id, None);
        // Everything else stays.
        let original = sample_consultant(1);
        assert_eq!(consultant.name, original.name);
        assert_eq!(consultant.languages, original.languages);
        assert!(consultant.online);
    }

    #[test]
    fn absent_optional_fields_stay_as_they_were() {
        let mut consultant = sample_consultant(1);
        let patch = ConsultantPatch {
            name: Some(ConsultantName::parse("Outro Nome").unwrap()),
            ..ConsultantPatch::default()
        };
        patch.apply_to(&mut consultant);
        let original = sample_consultant(1);
        assert_eq!(consultant.email, original.email);
        assert_eq!(consultant.phone, original.phone);
        assert_eq!(consultant.pipedrive_user_id, original.pipedrive_user_id);
        assert_eq!(consultant.name.as_str(), "Outro Nome");
    }

    #[test]
    fn online_patch_switches_only_status_online() {
        let patch = ConsultantPatch::online(false);
        assert!(!patch.is_empty());
        assert_eq!(
            patch,
            ConsultantPatch {
                online: Some(false),
                ..ConsultantPatch::default()
            }
        );
        let mut consultant = sample_consultant(1);
        patch.apply_to(&mut consultant);
        let mut expected = sample_consultant(1);
        expected.online = false;
        assert_eq!(consultant, expected);
    }

    #[test]
    fn a_patch_setting_a_switch_to_false_is_not_empty() {
        let patch = ConsultantPatch {
            active: Some(false),
            ..ConsultantPatch::default()
        };
        assert!(!patch.is_empty());
        assert!(!ConsultantPatch {
            email: Some(None),
            ..ConsultantPatch::default()
        }
        .is_empty());
    }

    #[test]
    fn default_filter_matches_every_non_deleted_consultant() {
        let filter = ConsultantFilter::default();
        let mut offline_inactive = sample_consultant(1);
        offline_inactive.online = false;
        offline_inactive.active = false;
        assert!(filter.matches(&sample_consultant(1)));
        assert!(filter.matches(&offline_inactive));
    }

    #[test]
    fn filter_never_matches_a_deleted_consultant() {
        let mut deleted = sample_consultant(1);
        deleted.deleted = true;
        assert!(!ConsultantFilter::default().matches(&deleted));
    }

    #[test]
    fn filter_by_language_matches_case_insensitively() {
        let filter = ConsultantFilter {
            language: Some(Language::parse("EN").unwrap()),
            ..ConsultantFilter::default()
        };
        assert!(filter.matches(&sample_consultant(1)));
        let spanish = ConsultantFilter {
            language: Some(Language::parse("es").unwrap()),
            ..ConsultantFilter::default()
        };
        assert!(!spanish.matches(&sample_consultant(1)));
    }

    #[test]
    fn filter_by_online_and_active_compares_the_switches() {
        let mut offline = sample_consultant(1);
        offline.online = false;
        let online_only = ConsultantFilter {
            online: Some(true),
            ..ConsultantFilter::default()
        };
        let offline_only = ConsultantFilter {
            online: Some(false),
            ..ConsultantFilter::default()
        };
        assert!(online_only.matches(&sample_consultant(1)));
        assert!(!online_only.matches(&offline));
        assert!(offline_only.matches(&offline));

        let mut inactive = sample_consultant(2);
        inactive.active = false;
        let inactive_only = ConsultantFilter {
            active: Some(false),
            ..ConsultantFilter::default()
        };
        assert!(inactive_only.matches(&inactive));
        assert!(!inactive_only.matches(&sample_consultant(2)));
    }

    #[test]
    fn filters_combine_with_and() {
        let filter = ConsultantFilter {
            language: Some(Language::parse("pt").unwrap()),
            online: Some(true),
            active: Some(true),
        };
        assert!(filter.matches(&sample_consultant(1)));
        let mut offline = sample_consultant(1);
        offline.online = false;
        assert!(!filter.matches(&offline));
    }

    #[test]
    fn consultant_id_serializes_as_a_plain_integer() {
        use crate::values::tests::serde_probe::{from_i64, to_plain, Plain};
        assert_eq!(to_plain(&ConsultantId(7)), Plain::I64(7));
        assert_eq!(from_i64::<ConsultantId>(7).unwrap(), ConsultantId(7));
    }
}

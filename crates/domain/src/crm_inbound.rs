//! A recorded CRM event as the domain reads it, and the ports the processing of inbound events
//! needs from the CRM adapter: reading a stored payload, the labels of a field's options, the
//! catch-up of missed events. The decisions (which event leads to which assignment or update)
//! are the use case's, [`crate::services::WebhookProcessor`]; the adapter only decodes.

use crate::crm::{CrmError, CrmTarget};
use crate::crm_events::InvalidCrmEvent;
use crate::error::DomainError;
use crate::values::PipedriveUserId;

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundAction {
    /// A new record.
    Create,
    /// An update (also the surviving record of a merge).
    Change,
    /// A removal (also the record merged into another).
    Delete,
    /// Anything else, only recorded.
    Other,
}

/// The value of a custom field of the record, as far as the domain tells values apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A text value.
    Text(String),
    /// A single option: its id (the label comes from [`CrmFieldOptions`]).
    Option(i64),
    /// Multiple options: their ids.
    Options(Vec<i64>),
    /// Anything else (a number, an address, …), described as the adapter saw it.
    Other(String),
}

/// A recorded CRM event, read from its payload by the adapter ([`CrmEventReader`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundCrmEvent {
    pub action: InboundAction,
    /// The deal, lead or person the event is about (`None` for other entities, or an id that
    /// is not one).
    pub record: Option<CrmTarget>,
    /// The record this one was converted from, when the CRM says (lead → deal, deal → lead).
    pub converted_from: Option<CrmTarget>,
    /// On the delete of a record merged into another, the surviving record's id.
    pub merged_into: Option<String>,
    /// Whether a person made the change in the CRM's web app (not an API call such as ours).
    pub by_a_person: bool,
    /// The record's owner after the event.
    pub owner: Option<PipedriveUserId>,
    /// The owner before the event, when the event changed it.
    pub previous_owner: Option<PipedriveUserId>,
    /// Whether the owner is among the fields the event changed.
    pub owner_in_changes: bool,
    /// The value of the language field asked for (`None`: absent or empty).
    pub language: Option<FieldValue>,
}

impl InboundCrmEvent {
    /// The record to hand to a consultant: a newly created deal or lead. `None` for every other
    /// event (changes, deletes, persons, other entities), which the service only records.
    pub fn target(&self) -> Option<CrmTarget> {
        match (&self.action, &self.record) {
            (InboundAction::Create, Some(record @ (CrmTarget::Deal(_) | CrmTarget::Lead(_)))) => {
                Some(record.clone())
            }
            _ => None,
        }
    }

    /// True when this is the change event of an owner update to `user`: after the service
    /// makes a consultant the owner, the CRM sends exactly this event.
    pub fn is_owner_change_to(&self, user: PipedriveUserId) -> bool {
        self.action == InboundAction::Change && self.owner_in_changes && self.owner == Some(user)
    }

    /// True when the change moved the record from one owner to another.
    pub fn changed_owner(&self) -> bool {
        self.action == InboundAction::Change
            && self.previous_owner.is_some()
            && self.owner.is_some()
            && self.previous_owner != self.owner
    }
}

/// Reads a recorded event's payload (the CRM's format) into an [`InboundCrmEvent`]. Implemented
/// by the CRM adapter; pure.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmEventReader: Send + Sync {
    /// The event in `payload`, with the value of the custom field `language_field` when one is
    /// given; why the payload is unreadable otherwise.
    #[allow(clippy::needless_lifetimes)] // `mockall` needs the lifetime named
    fn read<'a>(
        &self,
        payload: &str,
        language_field: Option<&'a str>,
    ) -> Result<InboundCrmEvent, InvalidCrmEvent>;
}

/// An option of a single or multiple option custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmFieldOption {
    /// The id the CRM sends for the option.
    pub id: i64,
    /// The text shown in the CRM.
    pub label: String,
}

/// The options of a custom field, read from the CRM (a blocking call).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmFieldOptions: Send + Sync {
    /// The options of the record field `key`.
    fn field_options(&self, key: &str) -> Result<Vec<CrmFieldOption>, CrmError>;
}

/// What one catch-up of missed events did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatchUpRound {
    /// Whether it ran (it runs periodically, not while the CRM asked for a pause).
    pub ran: bool,
    /// The keys of the events recorded for records the webhook missed (`create:deal:43`).
    pub recovered: Vec<String>,
    /// What the operator should know: webhooks that look banned, inactive or deleted; a list
    /// that could not be read.
    pub warnings: Vec<String>,
}

/// Recovers the created records whose webhook never arrived, recording them as the events the
/// webhook would have delivered. Implemented by the CRM adapter.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CrmCatchUp: Send + Sync {
    /// Runs a catch-up when one is due; store failures end it with the error.
    fn run_if_due(&self) -> Result<CatchUpRound, DomainError>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An event about `record` that carries nothing else.
    pub(crate) fn event(action: InboundAction, record: CrmTarget) -> InboundCrmEvent {
        InboundCrmEvent {
            action,
            record: Some(record),
            converted_from: None,
            merged_into: None,
            by_a_person: false,
            owner: None,
            previous_owner: None,
            owner_in_changes: false,
            language: None,
        }
    }

    #[test]
    fn only_created_deals_and_leads_are_targets() {
        let deal = CrmTarget::Deal(42);
        assert_eq!(
            event(InboundAction::Create, deal.clone()).target(),
            Some(deal.clone())
        );
        let lead = CrmTarget::Lead("3c0e4a7e-1f2b-11f0-9a3d-0242ac120002".into());
        assert_eq!(
            event(InboundAction::Create, lead.clone()).target(),
            Some(lead)
        );
        assert_eq!(
            event(InboundAction::Create, CrmTarget::Person(7)).target(),
            None
        );
        assert_eq!(event(InboundAction::Change, deal).target(), None);
    }

    #[test]
    fn owner_changes_need_both_owners_and_a_difference() {
        let user = |id| PipedriveUserId::new(id).unwrap();
        let mut change = event(InboundAction::Change, CrmTarget::Deal(42));
        change.owner = Some(user(7));
        change.owner_in_changes = true;
        assert!(change.is_owner_change_to(user(7)));
        assert!(!change.is_owner_change_to(user(8)));
        assert!(!change.changed_owner(), "no previous owner");
        change.previous_owner = Some(user(8));
        assert!(change.changed_owner());
        change.previous_owner = Some(user(7));
        assert!(!change.changed_owner());
    }
}

//! The heart of the consultores service: consultants, protocols, the distribution policy
//! (who gets the next contact) and the ports through which adapters store and deliver them.
//!
//! Nothing here knows about HTTP, SQL or Pipedrive. Values are parsed into newtypes at the edge
//! (`ConsultantName::parse`, `Language::parse`, …), so a value held by the domain is always valid.

#[macro_use]
mod newtypes;
#[macro_use]
mod wire_names;

pub mod api_key;
pub mod audit;
pub mod backoff;
pub mod batch;
pub mod clock;
pub mod consultant;
pub mod crm;
pub mod crm_events;
pub mod crm_inbound;
pub mod crm_outbox;
pub mod distribution;
pub mod error;
pub mod idempotency;
pub mod periodic;
pub mod ports;
pub mod protocol;
pub mod report;
pub mod routing;
pub mod secret;
pub mod services;
pub mod values;
pub mod waiting;
pub mod web_session;
pub mod webhooks;

/// The ports' `mockall` mocks, for unit tests in other crates (feature `mocks`): a mock with no
/// expectation set fails the test on any call, which is what a port the code under test must
/// not touch needs.
#[cfg(feature = "mocks")]
pub mod mocks {
    pub use crate::clock::MockClock;
    pub use crate::crm::{MockCrmGateway, MockCrmPauseStore};
    pub use crate::crm_events::MockCrmEventInbox;
    pub use crate::crm_inbound::{MockCrmCatchUp, MockCrmEventReader, MockCrmFieldOptions};
    pub use crate::crm_outbox::{MockCrmOutbox, MockCrmThrottle, MockRetryPolicy};
    pub use crate::ports::{
        MockApiKeyStore, MockAssignmentPort, MockAuditLog, MockAvailabilityUpkeep,
        MockConsultantRepository, MockProtocolRepository, MockReportStore, MockStoreHealth,
        MockWebSessionStore,
    };
    pub use crate::waiting::MockWaitingQueue;
    pub use crate::webhooks::MockWebhookStore;
}

pub use api_key::{ApiKey, ApiKeyId, ApiKeyScope, NewApiKey};
pub use audit::{
    audit_timestamp, Actor, AuditAction, AuditChanges, AuditEntity, AuditEntry, AuditEntryId,
    AuditFilter, AuditPage, AuditPageRequest, AuditValue, FieldChange,
};
pub use backoff::Backoff;
pub use clock::{Clock, SystemClock};
pub use consultant::{
    Consultant, ConsultantFilter, ConsultantId, ConsultantPatch, NewConsultant, RuleSettings,
};
pub use crm::{CrmError, CrmGateway, CrmPause, CrmPauseStore, CrmTarget, CrmUser};
pub use crm_events::{
    CrmEvent, CrmEventClaim, CrmEventDecoder, CrmEventId, CrmEventInbox, CrmEventOutcome,
    CrmEventState, InvalidCrmEvent, NewCrmEvent,
};
pub use crm_inbound::{
    CatchUpRound, CrmCatchUp, CrmEventReader, CrmFieldOption, CrmFieldOptions, FieldValue,
    InboundAction, InboundCrmEvent,
};
pub use crm_outbox::{
    assignment_note, CrmAction, CrmActionKind, CrmActionStatus, CrmOutbox, CrmTargetKind,
    CrmThrottle, DeliveryState, DeliveryStateName, OutboxClaim, OutboxItem, OutboxItemId,
    RetryPolicy, ASSIGNMENT_NOTE_TEMPLATE,
};
pub use distribution::{
    availability, eligible_queue, is_eligible, next_available, queue_head, Assignment,
};
pub use error::{error_chain, DomainError};
pub use idempotency::{IdempotencyClaim, IdempotencyKey, Recorded, IDEMPOTENCY_WINDOW_HOURS};
pub use periodic::{Job, Periodic, StopHandle, StopSignal};
pub use ports::{
    ApiKeyStore, AssignmentPort, AssignmentRequest, AuditLog, AvailabilityUpkeep,
    ConsultantRepository, IdempotencyHousekeeping, PoolState, ProtocolRepository,
    QueueHousekeeping, ReportStore, StoreHealth, WebSessionStore,
};
pub use protocol::{
    NewProtocol, Priority, Protocol, ProtocolFilter, ProtocolId, ProtocolPatch, ProtocolSearch,
    ProtocolStatus,
};
pub use report::{
    AssignmentReport, ConsultantAssignments, DailyCount, LocalDay, ReportRequest, MAX_REPORT_DAYS,
};
pub use routing::{
    Availability, Leave, Limit, RoutingRules, Unavailability, WeeklySchedule, Weight, WorkingHours,
    Workload, Zone,
};
pub use secret::same_secret;
pub use services::{
    AssignmentBatcher, AuditService, ConsultantService, CrmDeliveryService, CrmUserDirectory,
    DeliveryRound, DeliverySettings, DispatchSignal, DistributionService, EventRound, HandledEvent,
    LanguageSource, NobodyFree, ProcessorSettings, ProtocolRecords, ProtocolService, ReportService,
    UserCheck, WaitingQueueService, WebhookProcessor, WEBHOOK_ACTOR,
};
pub use values::{
    ConsultantName, Description, Email, InvalidValue, Language, LanguageList, Phone,
    PipedriveUserId, ProtocolNumber,
};
pub use waiting::{
    DispatchRound, MaxWait, NewWaitingEntry, ServedEntry, WaitingEntry, WaitingEntryId,
    WaitingFilter, WaitingLanguages, WaitingPage, WaitingQueue, WaitingState,
};
pub use web_session::{WebSession, WebSessionToken};
pub use webhooks::{
    Delivery, DeliveryId, DeliveryOutcome, DeliveryRecord, DeliveryStatus, NewWebhook,
    SecretSource, Webhook, WebhookEvent, WebhookId, WebhookSecret, WebhookStore, DELIVERY_WINDOW,
};

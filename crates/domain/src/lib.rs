//! The heart of the consultores service: consultants, protocols, the distribution policy
//! (who gets the next contact) and the ports through which adapters store and deliver them.
//!
//! Nothing here knows about HTTP, SQL or Pipedrive. Values are parsed into newtypes at the edge
//! (`ConsultantName::parse`, `Language::parse`, …), so a value held by the domain is always valid.

pub mod api_key;
pub mod audit;
pub mod clock;
pub mod consultant;
pub mod crm;
pub mod crm_events;
pub mod crm_outbox;
pub mod distribution;
pub mod error;
pub mod idempotency;
pub mod ports;
pub mod protocol;
pub mod services;
pub mod values;
pub mod waiting;
pub mod webhooks;

pub use api_key::{ApiKey, ApiKeyId, ApiKeyScope, NewApiKey};
pub use audit::{
    audit_timestamp, Actor, AuditAction, AuditChanges, AuditEntity, AuditEntry, AuditEntryId,
    AuditFilter, AuditPage, AuditPageRequest, AuditValue, FieldChange,
};
pub use clock::{Clock, SystemClock};
pub use consultant::{Consultant, ConsultantFilter, ConsultantId, ConsultantPatch, NewConsultant};
pub use crm::{CrmError, CrmGateway, CrmTarget, CrmUser};
pub use crm_events::{
    CrmEvent, CrmEventDecoder, CrmEventId, CrmEventInbox, CrmEventOutcome, InvalidCrmEvent,
    NewCrmEvent,
};
pub use crm_outbox::{
    assignment_note, CrmAction, CrmActionKind, CrmActionStatus, CrmOutbox, CrmTargetKind,
    CrmThrottle, DeliveryState, OutboxItem, OutboxItemId, RetryPolicy, ASSIGNMENT_NOTE_TEMPLATE,
};
pub use distribution::{eligible_queue, is_eligible, queue_head, Assignment};
pub use error::DomainError;
pub use idempotency::{IdempotencyClaim, IdempotencyKey, Recorded, IDEMPOTENCY_WINDOW_HOURS};
pub use ports::{
    ApiKeyStore, AssignmentPort, AuditLog, ConsultantRepository, PoolState, ProtocolRepository,
    StoreHealth,
};
pub use protocol::{
    NewProtocol, Priority, Protocol, ProtocolFilter, ProtocolId, ProtocolPatch, ProtocolStatus,
};
pub use services::{
    AuditService, ConsultantService, CrmDeliveryService, CrmUserDirectory, DeliveryRound,
    DeliverySettings, DispatchSignal, DistributionService, ProtocolService, UserCheck,
    WaitingQueueService,
};
pub use values::{
    ConsultantName, Description, Email, InvalidValue, Language, LanguageList, Phone,
    PipedriveUserId, ProtocolNumber,
};
pub use waiting::{
    DispatchRound, MaxWait, NewWaitingEntry, ServedEntry, WaitingEntry, WaitingEntryId,
    WaitingFilter, WaitingLanguages, WaitingPage, WaitingQueue, WaitingState,
};
pub use webhooks::{
    Delivery, DeliveryId, DeliveryOutcome, DeliveryRecord, DeliveryStatus, NewWebhook,
    SecretSource, Webhook, WebhookEvent, WebhookId, WebhookSecret, WebhookStore, DELIVERY_WINDOW,
};

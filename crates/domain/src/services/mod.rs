//! The use cases of the API, over the ports.

#[macro_use]
mod over_ports;

mod audit;
mod batching;
mod consultant;
mod crm_delivery;
mod crm_inbound;
mod crm_users;
mod distribution;
mod protocol;
mod report;
#[cfg(test)]
mod test_clock;
mod waiting;

pub use audit::AuditService;
pub use batching::{AssignmentBatcher, MAX_ASSIGNMENT_BATCH};
pub use consultant::ConsultantService;
pub use crm_delivery::{CrmDeliveryService, DeliveryRound, DeliverySettings};
pub use crm_inbound::{
    EventRound, HandledEvent, LanguageSource, ProcessorSettings, ProtocolRecords, WebhookProcessor,
    WEBHOOK_ACTOR,
};
pub use crm_users::{CrmUserDirectory, UserCheck};
pub use distribution::{DistributionService, NobodyFree};
pub use protocol::ProtocolService;
pub use report::ReportService;
pub use waiting::{DispatchSignal, WaitingQueueService};

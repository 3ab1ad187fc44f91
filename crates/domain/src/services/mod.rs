//! The use cases of the API, over the ports.

mod audit;
mod consultant;
mod distribution;
mod protocol;

pub use audit::AuditService;
pub use consultant::ConsultantService;
pub use distribution::DistributionService;
pub use protocol::ProtocolService;

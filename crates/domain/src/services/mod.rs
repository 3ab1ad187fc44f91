//! The use cases of the API, over the ports.

mod consultant;
mod distribution;
mod protocol;

pub use consultant::ConsultantService;
pub use distribution::DistributionService;
pub use protocol::ProtocolService;

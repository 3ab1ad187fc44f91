use std::sync::Arc;

use crate::clock::Clock;
use crate::distribution::Assignment;
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::ports::AssignmentPort;
use crate::values::Language;

/// The rotation: hands the next contact in a language to whoever has waited longest.
#[derive(Clone)]
pub struct DistributionService {
    assignments: Arc<dyn AssignmentPort>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DistributionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributionService").finish_non_exhaustive()
    }
}

impl DistributionService {
    pub fn new(assignments: Arc<dyn AssignmentPort>, clock: Arc<dyn Clock>) -> Self {
        Self { assignments, clock }
    }

    /// Assigns the next contact in `language` atomically; [`DomainError::NoneAvailable`] when
    /// nobody is eligible. With a claim, a retry returns the first assignment again.
    pub fn assign_next(
        &self,
        language: &Language,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Recorded<Assignment>, DomainError> {
        self.assignments
            .assign_next(language, self.clock.now(), claim)
    }

    /// The time the service would stamp now (used to build idempotency claims consistently).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

use std::sync::Arc;

use crate::clock::Clock;
use crate::consultant::{Consultant, ConsultantFilter, ConsultantId, ConsultantPatch, NewConsultant};
use crate::error::DomainError;
use crate::ports::ConsultantRepository;

/// Registering, reading, editing, switching and removing consultants.
#[derive(Clone)]
pub struct ConsultantService {
    repository: Arc<dyn ConsultantRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ConsultantService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsultantService").finish_non_exhaustive()
    }
}

impl ConsultantService {
    pub fn new(repository: Arc<dyn ConsultantRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { repository, clock }
    }

    /// Registers a consultant at the back of the queue (`last_served_at` = now, as v6 did).
    pub fn register(&self, new: &NewConsultant) -> Result<Consultant, DomainError> {
        self.repository.create(new, self.clock.now())
    }

    pub fn get(&self, id: ConsultantId) -> Result<Consultant, DomainError> {
        self.repository
            .get(id)?
            .ok_or(DomainError::ConsultantNotFound)
    }

    pub fn list(&self, filter: &ConsultantFilter) -> Result<Vec<Consultant>, DomainError> {
        self.repository.list(filter)
    }

    /// Applies a partial update. An empty patch changes nothing and returns the consultant as is.
    pub fn update(
        &self,
        id: ConsultantId,
        patch: &ConsultantPatch,
    ) -> Result<Consultant, DomainError> {
        if patch.is_empty() {
            return self.get(id);
        }
        self.repository
            .update(id, patch)?
            .ok_or(DomainError::ConsultantNotFound)
    }

    /// Switches `status_online`.
    pub fn set_online(&self, id: ConsultantId, online: bool) -> Result<Consultant, DomainError> {
        self.update(id, &ConsultantPatch::online(online))
    }

    /// Removes a consultant from listings and the rotation; their protocols keep their history.
    pub fn remove(&self, id: ConsultantId) -> Result<(), DomainError> {
        if self.repository.soft_delete(id, self.clock.now())? {
            Ok(())
        } else {
            Err(DomainError::ConsultantNotFound)
        }
    }
}

use std::sync::Arc;

use crate::clock::Clock;
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::ports::ProtocolRepository;
use crate::protocol::{NewProtocol, Protocol, ProtocolFilter, ProtocolId, ProtocolPatch};

/// Opening, reading and editing protocols outside the rotation.
#[derive(Clone)]
pub struct ProtocolService {
    repository: Arc<dyn ProtocolRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ProtocolService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtocolService").finish_non_exhaustive()
    }
}

impl ProtocolService {
    pub fn new(repository: Arc<dyn ProtocolRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { repository, clock }
    }

    /// A new protocol tied to no consultant (`GET /gerar-protocolo`).
    pub fn generate(
        &self,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Recorded<Protocol>, DomainError> {
        self.repository
            .create(&NewProtocol::default(), self.clock.now(), claim)
    }

    /// A protocol opened by hand for a consultant (`POST /protocolo`); does not touch the
    /// rotation.
    pub fn open(
        &self,
        new: &NewProtocol,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Recorded<Protocol>, DomainError> {
        self.repository.create(new, self.clock.now(), claim)
    }

    pub fn get(&self, id: ProtocolId) -> Result<Protocol, DomainError> {
        self.repository.get(id)?.ok_or(DomainError::ProtocolNotFound)
    }

    pub fn list(&self, filter: &ProtocolFilter) -> Result<Vec<Protocol>, DomainError> {
        self.repository.list(filter)
    }

    /// Applies a partial update. An empty patch changes nothing (not even `updated_at`).
    pub fn update(&self, id: ProtocolId, patch: &ProtocolPatch) -> Result<Protocol, DomainError> {
        if patch.is_empty() {
            return self.get(id);
        }
        self.repository
            .update(id, patch, self.clock.now())?
            .ok_or(DomainError::ProtocolNotFound)
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

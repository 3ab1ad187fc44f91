//! What every handler and middleware shares: the domain services, the key store, the store's
//! health, the logger and the metrics.

use std::sync::Arc;

use consultores_domain::{
    ApiKeyStore, AuditService, ConsultantService, DistributionService, ProtocolService, StoreHealth,
};

use crate::metrics::Metrics;

/// The application state given to [`crate::build_server`]. Cheap to clone: everything is behind
/// an `Arc`, so every worker shares the same services, pool and metrics registry.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) consultants: ConsultantService,
    pub(crate) distribution: DistributionService,
    pub(crate) protocols: ProtocolService,
    pub(crate) audit: AuditService,
    pub(crate) api_keys: Arc<dyn ApiKeyStore>,
    pub(crate) health: Arc<dyn StoreHealth>,
    pub(crate) logger: slog::Logger,
    pub(crate) metrics: Arc<Metrics>,
}

impl ApiState {
    /// Bundles the services and ports; creates this state's own Prometheus registry.
    pub fn new(
        consultants: ConsultantService,
        distribution: DistributionService,
        protocols: ProtocolService,
        audit: AuditService,
        api_keys: Arc<dyn ApiKeyStore>,
        health: Arc<dyn StoreHealth>,
        logger: slog::Logger,
    ) -> Self {
        Self {
            consultants,
            distribution,
            protocols,
            audit,
            api_keys,
            health,
            logger,
            metrics: Arc::new(Metrics::new()),
        }
    }
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState").finish_non_exhaustive()
    }
}

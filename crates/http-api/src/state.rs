//! What every handler and middleware shares: the domain services, the key store, the store's
//! health, the logger and the metrics.

use std::sync::Arc;

use consultores_domain::{
    ApiKeyStore, AuditService, ConsultantService, DistributionService, ProtocolService,
    ReportService, SecretSource, StoreHealth, WaitingQueueService, WebhookStore,
};

use crate::auth_costs::{FailedAttempts, VerifiedKeys};
use crate::metrics::Metrics;
use crate::pipedrive::PipedriveIntegration;

/// The application state given to [`crate::build_server`]. Cheap to clone: everything is behind
/// an `Arc`, so every worker shares the same services, pool and metrics registry.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) consultants: ConsultantService,
    pub(crate) distribution: DistributionService,
    pub(crate) protocols: ProtocolService,
    pub(crate) audit: AuditService,
    pub(crate) reports: ReportService,
    /// The waiting queue; its signal wakes this process's dispatcher after every change that
    /// may free a consultant.
    pub(crate) queue: WaitingQueueService,
    pub(crate) api_keys: Arc<dyn ApiKeyStore>,
    pub(crate) health: Arc<dyn StoreHealth>,
    pub(crate) logger: slog::Logger,
    pub(crate) metrics: Arc<Metrics>,
    /// `None` while the Pipedrive integration is off (v6 behaviour).
    pub(crate) pipedrive: Option<PipedriveIntegration>,
    /// Stored keys verified lately (see [`crate::auth_costs`]).
    pub(crate) verified_keys: Arc<VerifiedKeys>,
    /// Wrong keys per client address.
    pub(crate) failed_attempts: Arc<FailedAttempts>,
    /// The last answer of `/ready` and when it was taken; locked while a check runs, so
    /// concurrent checks wait for it instead of each taking a connection.
    pub(crate) readiness: Arc<tokio::sync::Mutex<Option<Readiness>>>,
    /// Outbound webhooks' subscriptions (`/webhooks`); `None` answers those routes 404.
    pub(crate) webhooks: Option<WebhookApi>,
}

impl std::fmt::Debug for WebhookApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookApi").finish_non_exhaustive()
    }
}

/// What `/webhooks` needs: the store of subscriptions and a source of secrets.
#[derive(Clone)]
pub struct WebhookApi {
    pub store: Arc<dyn WebhookStore>,
    pub secrets: Arc<dyn SecretSource>,
}

/// An answer of the store's health check.
#[derive(Debug, Clone)]
pub(crate) struct Readiness {
    pub at: std::time::Instant,
    pub outcome: Result<(), String>,
}

impl ApiState {
    /// Bundles the services and ports; creates this state's own Prometheus registry.
    // One argument per service: a builder would let a state be missing one.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        consultants: ConsultantService,
        distribution: DistributionService,
        protocols: ProtocolService,
        audit: AuditService,
        reports: ReportService,
        queue: WaitingQueueService,
        api_keys: Arc<dyn ApiKeyStore>,
        health: Arc<dyn StoreHealth>,
        logger: slog::Logger,
    ) -> Self {
        Self {
            consultants,
            distribution,
            protocols,
            audit,
            reports,
            queue,
            api_keys,
            health,
            logger,
            metrics: Arc::new(Metrics::new()),
            pipedrive: None,
            verified_keys: Arc::default(),
            failed_attempts: Arc::default(),
            readiness: Arc::default(),
            webhooks: None,
        }
    }

    /// Reports a pass of the queue's dispatcher (which runs outside the HTTP server) into this
    /// state's metrics: assignments by language, wait times, expirations.
    pub fn observe_dispatch(&self, round: &consultores_domain::DispatchRound) {
        for served in &round.served {
            self.metrics.assignment(&served.language);
            self.metrics.queue_served(served.waited);
        }
        self.metrics.queue_expired(round.expired.len());
    }

    /// Whether the Pipedrive integration is on (the dispatcher then hands CRM records over).
    pub fn crm_enabled(&self) -> bool {
        self.pipedrive.is_some()
    }

    /// The waiting queue's service (the dispatcher runs its passes).
    pub fn queue(&self) -> &WaitingQueueService {
        &self.queue
    }

    /// Wakes the queue's dispatcher: something may have freed a consultant.
    pub(crate) fn queue_may_move(&self) {
        self.queue.signal().notify();
    }

    /// The same state serving `/webhooks` (outbound webhooks' subscriptions).
    pub fn with_webhooks(mut self, webhooks: WebhookApi) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// The same state with the Pipedrive integration on: the rotation accepts a CRM target and
    /// queues its actions, answers show their state, `id_pipedrive` is checked against
    /// Pipedrive's users, and `POST /webhooks/pipedrive` records deliveries (when its
    /// credentials are configured).
    pub fn with_pipedrive(mut self, integration: PipedriveIntegration) -> Self {
        self.pipedrive = Some(integration);
        self
    }
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState").finish_non_exhaustive()
    }
}

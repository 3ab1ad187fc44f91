//! The Pipedrive integration in the binary: the client built from `PIPEDRIVE_*`, its parts of the
//! HTTP state, the background worker of `consultores serve`, and `consultores pipedrive …`.
//!
//! The client is blocking: it is built here on the main thread, called from the worker thread
//! and from actix's blocking pool, and its last handle is dropped on the main thread after the
//! server and the worker have stopped ([`Running`]).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use consultores_domain::{
    Clock, CrmDeliveryService, CrmGateway, CrmUserDirectory, DeliverySettings, DispatchSignal,
    DistributionService, HandledEvent, LanguageSource, ProcessorSettings, ProtocolRecords,
    SystemClock, WaitingQueueService, WebhookProcessor,
};
use consultores_http::{BasicCredentials, PipedriveIntegration, WebhookIntake};
use consultores_persistence::Database;
use consultores_pipedrive::{
    setup_webhooks, Backoff, CatchUp, CatchUpSettings, PipedriveClient, PipedriveConfig,
    SharedPause, WebhookDecoder, Worker, WorkerReport, WorkerSettings,
};
use secrecy::ExposeSecret;
use slog::{error, info, warn};

use crate::cli::PipedriveCommand;
use crate::config::{Config, PipedriveSettings};
use crate::startup::StartupError;

/// The client for these settings.
pub fn client(settings: &PipedriveSettings) -> Result<Arc<PipedriveClient>, StartupError> {
    let token = settings.api_token.expose_secret().to_owned();
    let config = PipedriveConfig::new(token, settings.base_url.clone())
        .with_timeout(settings.timeout)
        .with_note_as_consultant(settings.note_as_consultant);
    PipedriveClient::new(config)
        .map(Arc::new)
        .map_err(|error| StartupError::Pipedrive(error.to_string()))
}

/// The integration while `consultores serve` runs: the worker, then the client. Dropping it
/// stops the worker (after the call in flight) and then drops the client, on this thread.
#[derive(Debug)]
pub struct Running {
    worker: Option<Worker>,
    _client: Arc<PipedriveClient>,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.worker.take());
    }
}

/// Builds the integration's part of the HTTP state and starts the worker.
pub fn start(
    settings: &PipedriveSettings,
    database: &Database,
    distribution: &DistributionService,
    logger: &slog::Logger,
) -> Result<(PipedriveIntegration, Running), StartupError> {
    let client = client(settings)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(database.clone());
    let users = Arc::new(CrmUserDirectory::new(
        client.clone(),
        clock.clone(),
        CrmUserDirectory::DEFAULT_TTL,
    ));
    let webhook = settings.webhook.as_ref().map(|credentials| WebhookIntake {
        credentials: BasicCredentials::new(&credentials.user, credentials.password.expose_secret()),
        decoder: Arc::new(WebhookDecoder),
        inbox: store.clone(),
    });
    let delivery_settings = DeliverySettings {
        lease: lease_for(
            DeliverySettings::DEFAULT.lease,
            DeliverySettings::DEFAULT.batch,
            settings.timeout,
        ),
        ..DeliverySettings::DEFAULT
    };
    let processor_settings = ProcessorSettings {
        lease: lease_for(
            ProcessorSettings::DEFAULT.lease,
            ProcessorSettings::DEFAULT.batch,
            settings.timeout,
        ),
        ..ProcessorSettings::DEFAULT
    };
    // One token, one budget: a pause Pipedrive asks of one replica holds for all of them.
    let pause = Arc::new(SharedPause::new(
        client.clone(),
        store.clone(),
        clock.clone(),
    ));
    let delivery = CrmDeliveryService::new(
        store.clone(),
        client.clone(),
        pause.clone(),
        Arc::new(Backoff::default()),
        clock.clone(),
        delivery_settings,
    );
    let processor = settings.webhook.as_ref().map(|credentials| {
        WebhookProcessor::new(
            store.clone(),
            store.clone(),
            distribution.clone(),
            Arc::new(WebhookDecoder),
            client.clone(),
            LanguageSource {
                field: settings.language_field.clone(),
                default: settings.default_language.clone(),
            },
            clock.clone(),
            processor_settings,
        )
        .with_throttle(pause.clone())
        .with_protocol_records(ProtocolRecords {
            consultants: store.clone(),
            protocols: store.clone(),
        })
        .with_catch_up(Arc::new(CatchUp::new(
            client.clone(),
            store.clone(),
            pause.clone(),
            clock.clone(),
            &credentials.user,
            CatchUpSettings::DEFAULT,
        )))
        .with_queue(WaitingQueueService::new(
            store.clone(),
            clock.clone(),
            DispatchSignal::new(),
        ))
    });
    let log = logger.new(slog::o!("component" => "pipedrive-worker"));
    let worker = Worker::spawn(
        delivery,
        processor,
        WorkerSettings::DEFAULT,
        move |report| log_report(&log, &pause, report),
    )?;
    info!(logger, "pipedrive integration on";
        "base_url" => settings.base_url.as_str(),
        "timeout_secs" => settings.timeout.as_secs(),
        "webhook" => settings.webhook.is_some(),
        "language_field" => settings.language_field.as_deref().unwrap_or("-"),
        "note_as_consultant" => settings.note_as_consultant,
        "default_language" => settings.default_language.as_ref().map_or("-", |l| l.as_str()));
    if settings.webhook.is_some()
        && settings.language_field.is_none()
        && settings.default_language.is_none()
    {
        warn!(
            logger,
            "pipedrive webhooks are on but no language is configured: every created \
            deal or lead will be recorded as failed; set PIPEDRIVE_LANGUAGE_FIELD or \
            PIPEDRIVE_DEFAULT_LANGUAGE"
        );
    }
    let integration = PipedriveIntegration {
        outbox: store,
        users,
        webhook,
    };
    Ok((
        integration,
        Running {
            worker: Some(worker),
            _client: client,
        },
    ))
}

/// A lease that outlasts a whole round even when every call of it runs into the timeout (twice
/// over), so a live worker never has its items claimed by another replica.
fn lease_for(default: Duration, batch: u32, timeout: Duration) -> Duration {
    default.max(timeout.saturating_mul(batch.saturating_mul(2)))
}

/// One log line per event handled and per delivery round that did something (never the token:
/// error texts come scrubbed from the client).
fn log_report(log: &slog::Logger, pause: &SharedPause, report: WorkerReport<'_>) {
    match report {
        WorkerReport::Events(round) => {
            if !round.catch_up.recovered.is_empty() {
                warn!(log, "pipedrive catch-up recovered created records the webhook missed";
                    "count" => round.catch_up.recovered.len(),
                    "events" => round.catch_up.recovered.join(","));
            }
            for warning in &round.catch_up.warnings {
                warn!(log, "pipedrive webhooks need attention"; "problem" => warning);
            }
            for handled in &round.handled {
                match handled {
                    HandledEvent::Finished { key, outcome } => {
                        info!(log, "pipedrive event processed";
                        "event" => key, "outcome" => outcome.state(),
                        "reason" => outcome.reason().unwrap_or("-"),
                        "protocolo_id" => outcome.protocol().map(|p| p.0))
                    }
                    HandledEvent::Deferred { key, reason } => {
                        warn!(log, "pipedrive event deferred";
                        "event" => key, "reason" => reason)
                    }
                }
            }
        }
        WorkerReport::Delivery(round) => {
            let pause_secs = round.pause.map(|pause| pause.as_secs());
            if round.pause.is_some() {
                let reason = pause.current().map(|(_, reason)| reason);
                warn!(log, "pipedrive asked for a pause (spent budget, 429 or block): pausing deliveries";
                    "pause_secs" => pause_secs, "reason" => reason.as_deref().unwrap_or("-"),
                    "delivered" => round.delivered,
                    "rescheduled" => round.rescheduled, "failed" => round.failed);
            } else {
                info!(log, "pipedrive deliveries";
                    "delivered" => round.delivered, "rescheduled" => round.rescheduled,
                    "failed" => round.failed, "released" => round.released);
            }
        }
        WorkerReport::Failed { step, error } => {
            let cause = std::error::Error::source(error)
                .map(consultores_domain::error_chain)
                .unwrap_or_default();
            error!(log, "pipedrive worker step failed; retrying later";
                "step" => step, "error" => %error, "cause" => cause);
        }
        WorkerReport::Stopped => info!(log, "pipedrive worker stopped"),
    }
}

/// `consultores pipedrive …`.
pub fn command(config: &Config, command: PipedriveCommand) -> Result<(), StartupError> {
    let Some(settings) = &config.pipedrive else {
        return Err(StartupError::Pipedrive(
            "the integration is not configured: set PIPEDRIVE_API_TOKEN (Settings > Personal \
             preferences > API in Pipedrive) and PIPEDRIVE_BASE_URL (the company domain, e.g. \
             https://acme.pipedrive.com)"
                .to_owned(),
        ));
    };
    let client = client(settings)?;
    match command {
        PipedriveCommand::Users => users(&client),
        PipedriveCommand::WebhookSetup { url } => webhook_setup(settings, &client, &url),
    }
}

fn users(client: &PipedriveClient) -> Result<(), StartupError> {
    let mut users = client
        .list_users()
        .map_err(|error| StartupError::Pipedrive(error.to_string()))?;
    users.sort_by_key(|user| user.id.get());
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:>10}  {:<30}  {:<40}  ACTIVE", "ID", "NAME", "EMAIL")?;
    for user in &users {
        writeln!(
            out,
            "{:>10}  {:<30}  {:<40}  {}",
            user.id.get(),
            user.name,
            user.email.as_deref().unwrap_or("-"),
            if user.active { "yes" } else { "no" },
        )?;
    }
    eprintln!(
        "{} users. Put a user's ID in the consultant's id_pipedrive (PUT /consultor/{{id}} \
         {{\"id_pipedrive\": ID}}); inactive users are refused.",
        users.len()
    );
    Ok(())
}

fn webhook_setup(
    settings: &PipedriveSettings,
    client: &PipedriveClient,
    url: &str,
) -> Result<(), StartupError> {
    let Some(credentials) = &settings.webhook else {
        return Err(StartupError::Pipedrive(
            "set PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD first: Pipedrive sends \
             them with every delivery and the service refuses deliveries without them"
                .to_owned(),
        ));
    };
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some())
        .ok_or_else(|| {
            StartupError::Pipedrive(format!(
                "--url must be the public address of the webhook endpoint, like \
                 https://consultores.acme.com/webhooks/pipedrive (got {url:?})"
            ))
        })?;
    if parsed.scheme() != "https" {
        eprintln!("warning: Pipedrive only delivers webhooks to https addresses");
    }
    if !parsed.path().ends_with("/webhooks/pipedrive") {
        eprintln!("warning: the service receives webhooks at /webhooks/pipedrive");
    }
    let mut out = std::io::stdout().lock();
    let (steps, error) = match setup_webhooks(
        client,
        url,
        &credentials.user,
        credentials.password.expose_secret(),
    ) {
        Ok(steps) => (steps, None),
        Err((steps, error)) => (steps, Some(error)),
    };
    for step in &steps {
        writeln!(out, "{step}")?;
    }
    match error {
        None => Ok(()),
        Some(error) => Err(StartupError::Pipedrive(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_outlast_a_round_of_timeouts() {
        let default = Duration::from_secs(300);
        assert_eq!(lease_for(default, 10, Duration::from_secs(10)), default);
        assert_eq!(
            lease_for(default, 10, Duration::from_secs(60)),
            Duration::from_secs(1200)
        );
    }
}

//! `consultores serve`: wires the adapters to the domain and runs the HTTP server until SIGTERM
//! or SIGINT, then finishes in-flight requests (bounded by `SHUTDOWN_TIMEOUT_SECS`) and exits.
//! With `PIPEDRIVE_API_TOKEN` set, it also runs the Pipedrive worker (stopped after the server).

use std::sync::Arc;

use consultores_domain::{
    Actor, ApiKeyScope, AuditService, ConsultantService, DispatchSignal, DistributionService,
    NewApiKey, ProtocolService, ReportService, SystemClock, WaitingQueueService,
};
use consultores_http::{build_server_with, ApiState, HttpSettings, WebhookApi};
use consultores_persistence::Database;
use consultores_web::{WebSettings, WebState};
use secrecy::ExposeSecret;
use slog::{info, warn};

use crate::config::Config;
use crate::dispatcher;
use crate::housekeeping;
use crate::listener;
use crate::logging;
use crate::outbound;
use crate::pipedrive;
use crate::retention;
use crate::startup::{self, StartupError};

pub fn run(config: &Config) -> Result<(), StartupError> {
    let (logger, _log_guard) = logging::init(config.log_level)?;
    let database = startup::connect(config)?;
    let applied =
        startup::migrate_when_ready(&database, config.startup_timeout, |error, delay| {
            warn!(logger, "database not ready, retrying";
            "error" => %error, "retry_in_ms" => delay.as_millis() as u64);
        })?;
    info!(logger, "database ready";
        "database" => config.redacted_database_url(),
        "backend" => ?database.backend(),
        "migrations_applied" => applied.len());
    startup::prepare_availability(&database, &logger)?;
    let unreadable = logger.clone();
    database.report_unreadable_rows(Arc::new(move |row: &str| {
        warn!(unreadable, "unreadable row left out of a listing"; "row" => row);
    }));
    let address = format!("{}:{}", config.host, config.port);
    if config.api_key.is_none() {
        announce_first_key(&database, &address)?;
    }
    let listener = listener::bind(&address).map_err(|source| StartupError::Listen {
        address: address.clone(),
        source,
    })?;
    let state = wire(&database, logger.clone());
    // Stops the worker (after its call in flight), then drops the client, when `run` returns.
    let (state, _pipedrive) = match &config.pipedrive {
        Some(settings) => {
            let distribution =
                DistributionService::new(Arc::new(database.clone()), Arc::new(SystemClock));
            let (integration, running) =
                pipedrive::start(settings, &database, &distribution, &logger)?;
            (state.with_pipedrive(integration), Some(running))
        }
        None => (state, None),
    };
    // Stops (after its batch in flight) when `run` returns.
    let _pruner = match config.audit_retention_days {
        Some(days) => Some(retention::spawn(
            audit_service(&database),
            days,
            logger.clone(),
        )?),
        None => None,
    };
    // Stops (after its round in flight) when `run` returns.
    let _deliveries = outbound::spawn(&database, logger.clone())?;
    // Stops (after its pass in flight) when `run` returns.
    let _dispatcher = dispatcher::spawn(state.clone(), logger.clone())?;
    // Stops when `run` returns.
    let _housekeeper = housekeeping::spawn(
        Arc::new(database.clone()),
        Arc::new(SystemClock),
        logger.clone(),
    )?;
    // Stops (after its chunk in flight) when `run` returns.
    let _availability = housekeeping::spawn_availability(
        Arc::new(database.clone()),
        Arc::new(SystemClock),
        logger.clone(),
    )?;
    // Stops (after its pass in flight) when `run` returns.
    let _queues = housekeeping::spawn_queue_upkeep(Arc::new(database.clone()), logger.clone())?;
    let settings = HttpSettings {
        configured_api_key: configured_api_key(config),
        log_bodies: config.log_bodies,
        cors_origins: config.cors_origins.clone(),
        metrics_public: config.metrics_public,
        request_timeout: config.request_timeout,
        shutdown_timeout: config.shutdown_timeout,
        workers: config.workers,
        max_connections: config.max_connections,
        // Waiting for a connection, then the longest statement: past both, the database is
        // not answering.
        database_deadline: Some(config.pool_timeout + config.statement_timeout),
        default_time_zone: config.default_time_zone.tz(),
        ..HttpSettings::default()
    };
    let page = consultores_web::configure(page_state(&database, config));
    info!(logger, "listening"; "address" => format!("http://{address}"));
    actix_web::rt::System::new().block_on(async move {
        let server = build_server_with(listener, state, settings, page)?;
        server.await
    })?;
    info!(logger, "stopped");
    Ok(())
}

/// Builds the services over one database handle: every port is the same `Database`.
fn wire(database: &Database, logger: slog::Logger) -> ApiState {
    let store = Arc::new(database.clone());
    let clock = Arc::new(SystemClock);
    ApiState::new(
        ConsultantService::new(store.clone(), clock.clone()),
        DistributionService::new(store.clone(), clock.clone()),
        ProtocolService::new(store.clone(), clock.clone()),
        audit_service(database),
        ReportService::new(store.clone(), store.clone()),
        WaitingQueueService::new(store.clone(), clock, DispatchSignal::new()),
        store.clone(),
        store,
        logger,
    )
    .with_webhooks(WebhookApi {
        store: Arc::new(database.clone()),
        secrets: Arc::new(consultores_webhooks::RandomSecrets),
    })
}

/// The operations page over the same database and services.
fn page_state(database: &Database, config: &Config) -> WebState {
    let store = Arc::new(database.clone());
    let clock = Arc::new(SystemClock);
    WebState {
        consultants: ConsultantService::new(store.clone(), clock.clone()),
        protocols: ProtocolService::new(store.clone(), clock.clone()),
        reports: ReportService::new(store.clone(), store.clone()),
        audit: audit_service(database),
        waiting: WaitingQueueService::new(store.clone(), clock.clone(), DispatchSignal::new()),
        api_keys: store.clone(),
        sessions: store,
        clock,
        settings: WebSettings {
            configured_api_key: configured_api_key(config),
            session_idle: chrono::Duration::from_std(config.painel_session_idle)
                .unwrap_or_else(|_| chrono::Duration::minutes(30)),
            default_time_zone: config.default_time_zone.tz(),
        },
    }
}

/// `AUTHENTICATION_API_KEY`, for the HTTP layers that compare presented keys with it.
fn configured_api_key(config: &Config) -> Option<String> {
    config
        .api_key
        .as_ref()
        .map(|key| key.expose_secret().to_owned())
}

fn audit_service(database: &Database) -> AuditService {
    AuditService::new(Arc::new(database.clone()), Arc::new(SystemClock))
}

/// First run with no key anywhere: create an admin key and show it once, so a new user can make
/// the first request without reading anything else. Replicas starting together create one.
fn announce_first_key(database: &Database, address: &str) -> Result<(), StartupError> {
    let new = NewApiKey {
        description: Some("generated on first start".to_owned()),
        scope: ApiKeyScope::Admin,
    };
    let actor = Actor::startup(format!("startup-{}", uuid::Uuid::now_v7()));
    let Some((key, secret)) = database.create_first_key(&new, chrono::Utc::now(), &actor)? else {
        return Ok(());
    };
    eprintln!(
        "\n\
         ==================================================================\n\
         No API key was configured, so an admin key was created (id {id}):\n\n\
         \x20   {secret}\n\n\
         Store it now: it is shown only this once (only its hash is kept).\n\
         Send it in the `api-key` header of every request, e.g.\n\
         \x20   curl -H 'api-key: {secret}' http://{address}/consultores\n\
         Manage keys with `consultores api-key --help`, or set\n\
         AUTHENTICATION_API_KEY to use a key of your own.\n\
         ==================================================================\n",
        id = key.id.0
    );
    Ok(())
}

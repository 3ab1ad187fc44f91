//! Prometheus metrics of the service, in a registry of its own (no global state, so tests and
//! several servers in one process never mix their counts).
//!
//! Label values are bounded: `route` is the matched route pattern (or `unmatched`, see
//! [`crate::route_table::route_label`]), `method` one of
//! the known verbs (or `OTHER`), `idioma` only a language that a consultant was actually assigned
//! for, or (`consultores_queue_waiting`) a language some contact waits in at scrape time: that
//! gauge is rebuilt at every scrape, so a language leaves it when its last contact does.

use consultores_domain::{Language, PoolState};
use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every collector of the service.
pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    assignments: IntCounterVec,
    none_available: IntCounter,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max_size: IntGauge,
    webhooks: IntCounterVec,
    pipedrive_pending: IntGauge,
    queue_waiting: IntGaugeVec,
    queue_wait: Histogram,
    queue_expired: IntCounter,
}

impl Metrics {
    /// Creates and registers every collector.
    #[allow(clippy::expect_used)] // constant, valid and distinct names: a failure is a bug that every test would show
    pub(crate) fn new() -> Self {
        Self::try_new().expect("metric definitions are valid")
    }

    fn try_new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| registered(&registry, IntGauge::new(name, help));
        let counter = |name: &str, help: &str| registered(&registry, IntCounter::new(name, help));
        let by = |name: &str, help: &str, label: &str| {
            registered(
                &registry,
                IntCounterVec::new(Opts::new(name, help), &[label]),
            )
        };
        Ok(Self {
            requests: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "http_requests_total",
                        "HTTP requests answered, by method, route pattern and status.",
                    ),
                    &["method", "route", "status"],
                ),
            )?,
            durations: registered(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "Time to answer an HTTP request, by route pattern.",
                    ),
                    &["route"],
                ),
            )?,
            assignments: by(
                "consultores_assignments_total",
                "Contacts handed to a consultant by the rotation, by language.",
                "idioma",
            )?,
            none_available: counter(
                "consultores_assignments_none_available_total",
                "Rotation requests that found no eligible consultant.",
            )?,
            pool_connections: gauge(
                "consultores_db_pool_connections",
                "Database connections currently open (idle and in use).",
            )?,
            pool_idle: gauge(
                "consultores_db_pool_idle_connections",
                "Database connections open and idle.",
            )?,
            pool_max_size: gauge(
                "consultores_db_pool_max_size",
                "Largest number of database connections the pool may open.",
            )?,
            webhooks: by(
                "consultores_pipedrive_webhooks_total",
                "Pipedrive webhook deliveries accepted, by whether the event was new \
                 (novo=\"false\": a redelivery, dropped).",
                "novo",
            )?,
            pipedrive_pending: gauge(
                "consultores_pipedrive_pending_actions",
                "Pipedrive actions (owner updates, notes) waiting for delivery; 0 with the integration off.",
            )?,
            queue_waiting: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "consultores_queue_waiting",
                        "Contacts waiting in the queue, by language (`idioma`), counted at each scrape.",
                    ),
                    &["idioma"],
                ),
            )?,
            queue_wait: registered(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "consultores_queue_wait_seconds",
                        "Time from joining the queue to being handed to a consultant (0 when served at once).",
                    )
                    .buckets(vec![
                        0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0,
                        86400.0,
                    ]),
                ),
            )?,
            queue_expired: counter(
                "consultores_queue_expired_total",
                "Queue entries that nobody took within their maximum wait.",
            )?,
            registry,
        })
    }

    /// Counts one answered request and its duration.
    pub(crate) fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = bounded_method(method);
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.durations.with_label_values(&[route]).observe(seconds);
    }

    /// Counts one successful assignment in `language`.
    pub(crate) fn assignment(&self, language: &Language) {
        self.assignments
            .with_label_values(&[language.as_str()])
            .inc();
    }

    /// Counts one rotation request that found nobody.
    pub(crate) fn none_available(&self) {
        self.none_available.inc();
    }

    /// Counts one accepted Pipedrive webhook delivery (`new`: not a redelivery).
    pub(crate) fn webhook_received(&self, new: bool) {
        self.webhooks
            .with_label_values(&[if new { "true" } else { "false" }])
            .inc();
    }

    /// Sets the number of Pipedrive actions waiting for delivery.
    pub(crate) fn pipedrive_pending(&self, pending: u64) {
        self.pipedrive_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Records one queue entry handed to a consultant after `waited`.
    pub(crate) fn queue_served(&self, waited: chrono::Duration) {
        let seconds = waited.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
        self.queue_wait.observe(seconds.max(0.0));
    }

    /// Counts queue entries that expired.
    pub(crate) fn queue_expired(&self, count: usize) {
        self.queue_expired
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Sets the waiting entries per language (languages absent from `counts` drop out).
    pub(crate) fn queue_waiting(&self, counts: &[(Language, u64)]) {
        self.queue_waiting.reset();
        for (language, count) in counts {
            self.queue_waiting
                .with_label_values(&[language.as_str()])
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
    }

    /// The text exposition of every metric, with the pool gauges set to `pool` first.
    pub(crate) fn render(&self, pool: PoolState) -> Result<String, prometheus::Error> {
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max_size.set(i64::from(pool.max_size));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|error| prometheus::Error::Msg(error.to_string()))
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// `collector`, registered in `registry` (the text exposition orders metrics by name, not by
/// registration).
fn registered<C: Collector + Clone + 'static>(
    registry: &Registry,
    collector: Result<C, prometheus::Error>,
) -> Result<C, prometheus::Error> {
    let collector = collector?;
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

/// Known HTTP verbs keep their name; anything else is `OTHER`, so random verbs make no series.
fn bounded_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
}

/// The content type of the text exposition format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

//! `GET /metrics`: Prometheus text format.

use crate::auth::Require;
use actix_web::get;
use actix_web::web::Data;
use actix_web::HttpResponse;
use consultores_domain::DomainError;

use crate::blocking;
use crate::errors::ApiError;
use crate::metrics::CONTENT_TYPE;
use crate::state::ApiState;

/// Requests by route and status, latency histograms, assignments by language, assignments that
/// found nobody, the database pool's state (read now), the waiting queue (entries waiting per
/// language, counted now; wait times; expirations) and, with the Pipedrive integration on,
/// webhook deliveries and the actions waiting for delivery (counted now).
#[utoipa::path(
    operation_id = "metrics",
    tag = "operacao",
    security(("api-key" = ["admin", "distribuicao", "leitura"])),
    extensions(("x-public-when-configured" = json!(true))),
    responses((status = 200, description = "Prometheus text exposition format.", content_type = "text/plain", body = String)),
)]
#[get("/metrics", wrap = "Require::of::<Self>()")]
pub async fn scrape(state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let health = state.health.clone();
    let metrics = state.metrics.clone();
    let outbox = state
        .pipedrive
        .as_ref()
        .map(|pipedrive| pipedrive.outbox.clone());
    let queue = state.queue.clone();
    let text = blocking::run(move || {
        if let Ok(counts) = queue.waiting_by_language() {
            metrics.queue_waiting(&counts);
        }
        // A database that does not answer leaves the gauge as it was: /metrics stays up.
        if let Some(Ok(pending)) = outbox.map(|outbox| outbox.pending_count()) {
            metrics.pipedrive_pending(pending);
        }
        metrics
            .render(health.pool_state())
            .map_err(DomainError::internal)
    })
    .await?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

//! `/health` (the process lives) and `/ready` (the database answers).

use crate::auth::Require;
use actix_web::get;
use std::time::Instant;

use actix_web::web::Data;
use actix_web::HttpResponse;

use crate::blocking;
use crate::dto::health::HealthResponse;
use crate::errors::{ApiError, DetailResponse};
use crate::settings::HttpSettings;
use crate::state::{ApiState, Readiness};

/// 200 while the process lives.
#[utoipa::path(
    operation_id = "health",
    tag = "operacao",
    security(()),
    responses((status = 200, description = "Alive.", body = HealthResponse)),
)]
#[get("/health", wrap = "Require::of::<Self>()")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse::OK)
}

/// 200 when the database answers a trivial query, 503 otherwise.
#[utoipa::path(
    operation_id = "ready",
    tag = "operacao",
    security(()),
    responses(
        (status = 200, description = "Ready to serve.", body = HealthResponse),
        (status = 503, description = "The database does not answer.", body = DetailResponse,
            example = json!({"detail": "Serviço indisponível"})),
    ),
)]
#[get("/ready", wrap = "Require::of::<Self>()")]
///
/// An answer is reused for `AuthCosts::ready_for` (a second), and concurrent calls wait for the
/// one check in flight: probes never take more than one pooled connection, so they cannot
/// starve requests of connections.
pub async fn ready(
    state: Data<ApiState>,
    settings: Data<HttpSettings>,
) -> Result<HttpResponse, ApiError> {
    let mut last = state.readiness.lock().await;
    let fresh = last
        .as_ref()
        .filter(|answer| answer.at.elapsed() < settings.auth_costs.ready_for)
        .cloned();
    let answer = match fresh {
        Some(answer) => answer,
        None => {
            let probe = state.health.clone();
            let outcome = blocking::run(move || probe.ping())
                .await
                .map_err(|error| crate::errors::cause_chain(&error));
            let answer = Readiness {
                at: Instant::now(),
                outcome,
            };
            *last = Some(answer.clone());
            answer
        }
    };
    drop(last);
    match answer.outcome {
        Ok(()) => Ok(HttpResponse::Ok().json(HealthResponse::OK)),
        // Whatever the cause, the answer to "can you serve?" is no.
        Err(cause) => Err(ApiError::unavailable(cause)),
    }
}

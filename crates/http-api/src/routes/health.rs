//! `/health` (the process lives) and `/ready` (the database answers).

use actix_web::web::Data;
use actix_web::HttpResponse;

use crate::blocking;
use crate::dto::health::HealthResponse;
use crate::errors::{ApiError, DetailResponse};
use crate::state::ApiState;

/// 200 while the process lives.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "operacao",
    responses((status = 200, description = "Alive.", body = HealthResponse)),
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse::OK)
}

/// 200 when the database answers a trivial query, 503 otherwise.
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "operacao",
    responses(
        (status = 200, description = "Ready to serve.", body = HealthResponse),
        (status = 503, description = "The database does not answer.", body = DetailResponse,
            example = json!({"detail": "Serviço indisponível"})),
    ),
)]
pub async fn ready(state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let health = state.health.clone();
    match blocking::run(move || health.ping()).await {
        Ok(()) => Ok(HttpResponse::Ok().json(HealthResponse::OK)),
        // Whatever the cause, the answer to "can you serve?" is no.
        Err(ApiError::Domain(error)) => Err(ApiError::unavailable(error)),
        Err(error) => Err(error),
    }
}

//! Services and ports block (Diesel, r2d2). They run on actix's blocking thread pool, never on
//! an async worker.

use actix_web::web;
use consultores_domain::DomainError;

use crate::errors::ApiError;

/// Runs a blocking call off the async workers and maps its failure.
pub async fn run<T, F>(call: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    web::block(call).await?.map_err(ApiError::from)
}

//! Bodies of `/health` and `/ready`.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"status": "ok"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthResponse {
    pub status: &'static str,
}

impl HealthResponse {
    pub const OK: Self = Self { status: "ok" };
}

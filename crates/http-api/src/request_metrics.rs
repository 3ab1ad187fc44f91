//! The middleware that counts and times every request by method, route label
//! ([`crate::route_table::route_label`]) and status, in the state's [`crate::metrics`].

use actix_web::web::Data;

use crate::state::ApiState;

/// The middleware: counts and times every request by route pattern.
pub async fn record(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let route = crate::route_table::route_label(req.request());
    let metrics = req
        .app_data::<Data<ApiState>>()
        .map(|state| state.metrics.clone());
    let response = next.call(req).await?.map_into_boxed_body();
    if let Some(metrics) = metrics {
        let seconds = started.elapsed().as_secs_f64();
        metrics.observe_request(&method, &route, response.status().as_u16(), seconds);
    }
    Ok(response)
}

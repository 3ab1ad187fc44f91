//! What answers when no endpoint does: 405 when the path exists with other methods (with
//! `Allow`), a 307 to the path without its trailing slash when that one exists (Starlette's
//! `redirect_slashes`), else 404. Always JSON.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use crate::errors::ApiError;
use crate::route_table::RouteTable;

/// The app's default service.
pub async fn fallback(req: HttpRequest, table: Data<RouteTable>) -> Result<HttpResponse, ApiError> {
    let path = req.match_info().as_str();
    let allowed = table.methods_for(path);
    if !allowed.is_empty() {
        return Err(ApiError::MethodNotAllowed { allowed });
    }
    let trimmed = path.trim_end_matches('/');
    if path.ends_with('/') && !trimmed.is_empty() && !table.methods_for(trimmed).is_empty() {
        let query = match req.query_string() {
            "" => String::new(),
            query => format!("?{query}"),
        };
        // Relative, so a forged Host header cannot point the redirect at another site.
        let location = format!("{trimmed}{query}");
        return Ok(HttpResponse::TemporaryRedirect()
            .insert_header((header::LOCATION, location))
            .finish());
    }
    Err(ApiError::NotFound)
}

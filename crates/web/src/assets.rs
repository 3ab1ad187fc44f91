//! The page's stylesheet and script, built into the binary (no CDN, works offline).

use actix_web::http::header;
use actix_web::web::Path;
use actix_web::HttpResponse;

use crate::errors::WebError;

const CSS: &str = include_str!("assets/painel.css");
const JS: &str = include_str!("assets/painel.js");

/// `GET /painel/static/{file}`.
pub async fn serve(file: Path<String>) -> Result<HttpResponse, WebError> {
    let (body, content_type) = match file.as_str() {
        "painel.css" => (CSS, "text/css; charset=utf-8"),
        "painel.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return Err(WebError::NotFound("Arquivo não encontrado")),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body))
}

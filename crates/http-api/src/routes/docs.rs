//! `/openapi.json` and `/docs` (Swagger UI from assets compiled into the binary: no CDN, works
//! offline).

use std::sync::{Arc, OnceLock};

use actix_web::{HttpRequest, HttpResponse};
use utoipa_swagger_ui::Config;

use super::openapi;
use crate::errors::ApiError;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where Swagger UI's page is served.
pub const INDEX_PATH: &str = "/docs";
/// Where Swagger UI's assets are served.
pub const ASSETS_PATH: &str = "/docs/{tail:.*}";

/// The OpenAPI document as JSON.
pub async fn openapi_json() -> Result<HttpResponse, ApiError> {
    static DOCUMENT: OnceLock<Result<String, String>> = OnceLock::new();
    let document = DOCUMENT.get_or_init(|| openapi().to_json().map_err(|error| error.to_string()));
    match document {
        Ok(json) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(json.clone())),
        Err(error) => Err(ApiError::internal(error.clone())),
    }
}

/// Swagger UI's page. Its assets are relative links, so the page says where they live.
pub async fn index() -> Result<HttpResponse, ApiError> {
    serve_file("index.html")
}

/// Swagger UI's assets under `/docs/`.
pub async fn asset(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let tail = req.match_info().get("tail").unwrap_or_default();
    serve_file(if tail.is_empty() { "index.html" } else { tail })
}

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                Config::new([OPENAPI_PATH])
                    .persist_authorization(true)
                    .display_request_duration(true),
            )
        })
        .clone()
}

fn serve_file(name: &str) -> Result<HttpResponse, ApiError> {
    let file = utoipa_swagger_ui::serve(name, config())
        .map_err(|error| ApiError::internal(error.to_string()))?
        .ok_or(ApiError::NotFound)?;
    let bytes = if name == "index.html" {
        let page = String::from_utf8_lossy(&file.bytes)
            .replacen("<head>", "<head>\n    <base href=\"/docs/\">", 1)
            .replacen(
                "<title>Swagger UI</title>",
                "<title>Consultores: API</title>",
                1,
            );
        page.into_bytes()
    } else {
        file.bytes.into_owned()
    };
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .body(bytes))
}

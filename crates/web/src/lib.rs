//! The operations page (`/painel`): a server-rendered web page in Portuguese for the people who
//! run the rotation. Another driving adapter beside the JSON API: it calls the same domain
//! services, signs people in with the same API keys (whose scope decides what the page shows
//! and accepts, from the API's own scope table) and records every change with the signed-in key,
//! exactly as the API does.
//!
//! - [`configure`] registers the page's routes in the application (behind the API's request id,
//!   log and metrics middleware); [`WebState`] holds what they need.
//! - Sessions live in the database ([`consultores_domain::WebSessionStore`]), so every replica
//!   knows them; the cookie is HttpOnly, SameSite=Strict, `Secure` over https; every form
//!   carries the session's CSRF token.
//! - HTML comes from compiled templates (maud), which escape every value; the stylesheet and
//!   the small script are built into the binary.

mod assets;
mod audit;
mod consultant_list;
mod consultants;
mod errors;
mod forms;
mod layout;
mod protocols;
mod queue;
mod report;
mod rules;
mod session;
mod state;

use actix_web::web;

pub use state::{WebSettings, WebState};

/// Where the page lives.
pub const BASE: &str = "/painel";

/// Registers every route of the page under [`BASE`].
pub fn configure(state: WebState) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |config: &mut web::ServiceConfig| {
        config.service(
            web::scope(BASE)
                .app_data(web::Data::new(state.clone()))
                .route("", web::get().to(queue::home))
                .route("/", web::get().to(queue::home))
                .route("/entrar", web::get().to(session::sign_in_form))
                .route("/entrar", web::post().to(session::sign_in))
                .route("/sair", web::post().to(session::sign_out))
                .route("/fila", web::get().to(queue::page))
                .route("/fila/parcial", web::get().to(queue::fragment))
                .route("/consultores", web::get().to(consultant_list::list))
                .route("/consultores", web::post().to(consultants::create))
                .route("/consultores/novo", web::get().to(consultants::new_form))
                .route("/consultores/{id}", web::get().to(consultants::edit_form))
                .route("/consultores/{id}", web::post().to(consultants::update))
                .route(
                    "/consultores/{id}/conexao",
                    web::post().to(consultants::connection),
                )
                .route(
                    "/consultores/{id}/remover",
                    web::post().to(consultants::remove),
                )
                .route("/protocolos", web::get().to(protocols::list))
                .route("/protocolos/{id}", web::get().to(protocols::edit_form))
                .route("/protocolos/{id}", web::post().to(protocols::update))
                .route("/relatorio", web::get().to(report::page))
                .route("/relatorio.csv", web::get().to(report::csv))
                .route("/auditoria", web::get().to(audit::page))
                .route("/static/{file}", web::get().to(assets::serve))
                .default_service(web::to(errors::not_found)),
        );
    }
}

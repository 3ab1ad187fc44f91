//! "Fila agora": per language, who is next (the rotation's own order), who is unavailable and
//! why, and the contacts waiting; the script refreshes it every second.
//!
//! The routing rules and the waiting queue of the second wave plug in here, each in one place:
//! [`unavailable_reason`] (the consultant's `motivo_indisponivel` once consultants carry it) and
//! [`waiting`] (the waiting entries per language once the queue exists).

use std::collections::BTreeSet;

use actix_web::web::Data;
use actix_web::HttpResponse;
use consultores_domain::{eligible_queue, Consultant, ConsultantFilter, Language};
use maud::{html, Markup};

use crate::errors::{blocking, WebError};
use crate::layout::{self, Section};
use crate::session::SignedIn;
use crate::state::WebState;

/// Why a consultant who speaks a language is not in its queue (the rotation's terms, in order).
pub fn unavailable_reason(consultant: &Consultant) -> Option<&'static str> {
    if !consultant.active {
        Some("inativo")
    } else if !consultant.in_rotation {
        Some("fora da rotação")
    } else if !consultant.online {
        Some("offline")
    } else {
        None
    }
}

/// Contacts waiting for `language`: `None` while the service has no waiting queue.
pub fn waiting(_language: &Language) -> Option<u64> {
    None
}

/// `GET /painel`.
pub async fn home() -> HttpResponse {
    layout::see_other("/painel/fila")
}

/// `GET /painel/fila`.
pub async fn page(who: SignedIn, state: Data<WebState>) -> Result<HttpResponse, WebError> {
    let content = content(&who, &state).await?;
    Ok(layout::page(
        &who,
        Section::Queue,
        "Fila agora",
        html! {
            h1 { "Fila agora" }
            p.vazio { "Quem recebe o próximo contato em cada idioma. Atualiza sozinho." }
            noscript { meta http-equiv="refresh" content="5"; }
            div data-atualizar="/painel/fila/parcial" aria-live="polite" { (content) }
        },
    ))
}

/// `GET /painel/fila/parcial`: the live part alone, for the script.
pub async fn fragment(who: SignedIn, state: Data<WebState>) -> Result<HttpResponse, WebError> {
    let content = content(&who, &state).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(content.into_string()))
}

async fn content(who: &SignedIn, state: &WebState) -> Result<Markup, WebError> {
    let service = state.consultants.clone();
    let consultants = blocking(move || service.list(&ConsultantFilter::default())).await?;
    let languages: BTreeSet<Language> = consultants
        .iter()
        .flat_map(|consultant| consultant.languages.iter().cloned())
        .collect();
    let switches = who.manages_consultants();
    Ok(html! {
        @if languages.is_empty() {
            p.vazio { "Nenhum consultor cadastrado." }
        }
        div.grade {
            @for language in &languages {
                @let queue = eligible_queue(&consultants, language, chrono::Utc::now());
                @let unavailable: Vec<(&Consultant, &str)> = consultants
                    .iter()
                    .filter(|c| c.languages.contains(language))
                    .filter_map(|c| unavailable_reason(c).map(|reason| (c, reason)))
                    .collect();
                section.cartao aria-labelledby=(format!("idioma-{}", language.as_str())) {
                    h2 id=(format!("idioma-{}", language.as_str())) { "Idioma " (language.as_str()) }
                    p.vazio {
                        "Aguardando: "
                        @match waiting(language) {
                            Some(count) => (count),
                            None => "—",
                        }
                    }
                    @if queue.is_empty() {
                        p.erro { "Ninguém disponível neste idioma." }
                    } @else {
                        ol.fila {
                            @for (position, consultant) in queue.iter().enumerate() {
                                li {
                                    span {
                                        (consultant.name.as_str())
                                        @if position == 0 { " " span.etiqueta.online { "próximo" } }
                                    }
                                    @if switches { (switch(who, consultant, "/painel/fila")) }
                                }
                            }
                        }
                    }
                    @if !unavailable.is_empty() {
                        h3.vazio { "Indisponíveis" }
                        ul.fila {
                            @for (consultant, reason) in &unavailable {
                                li {
                                    span { (consultant.name.as_str()) " " span.etiqueta { (reason) } }
                                    @if switches && consultant.active && consultant.in_rotation {
                                        (switch(who, consultant, "/painel/fila"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The online/offline switch of a consultant (shown only to keys that may switch).
/// `back` is where the page returns after the switch.
pub fn switch(who: &SignedIn, consultant: &Consultant, back: &str) -> Markup {
    let (status, label) = if consultant.online {
        ("false", "Deixar offline")
    } else {
        ("true", "Deixar online")
    };
    html! {
        form.linha method="post" action=(format!("/painel/consultores/{}/conexao", consultant.id.0)) {
            (layout::csrf(who))
            input type="hidden" name="status" value=(status);
            input type="hidden" name="voltar" value=(back);
            button.secundario type="submit" aria-label=(format!("{label}: {}", consultant.name.as_str())) { (label) }
        }
    }
}

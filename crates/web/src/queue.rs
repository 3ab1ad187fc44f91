//! "Fila agora": per language, who is next (the rotation's own order, routing rules included),
//! who is unavailable and why (the domain's `motivo_indisponivel`), and the contacts waiting in
//! the waiting queue; the script refreshes it every second.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::web::Data;
use actix_web::HttpResponse;
use consultores_domain::{
    availability, eligible_queue, Consultant, ConsultantFilter, Language, Unavailability,
    WaitingEntry, WaitingFilter, WaitingState,
};
use maud::{html, Markup};

use crate::errors::{blocking, WebError};
use crate::layout::{self, Section};
use crate::rules::reason_text;
use crate::session::SignedIn;
use crate::state::WebState;

/// The oldest waiting entries read for the page (each card lists its language's first few).
const FIRST_WAITING: u32 = 100;
/// Entries listed per language.
const LISTED_PER_LANGUAGE: usize = 5;

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
    let queue = state.waiting.clone();
    let (waiting, first_waiting) = blocking(move || {
        let counts = queue.waiting_by_language()?;
        let first = queue.list(&WaitingFilter {
            language: None,
            state: Some(WaitingState::Waiting),
            limit: FIRST_WAITING,
            after: None,
        })?;
        Ok((counts, first.entries))
    })
    .await?;
    let waiting: BTreeMap<Language, u64> = waiting.into_iter().collect();
    let zone = state.settings.default_time_zone;
    let now = state.clock.now();
    let languages: BTreeSet<Language> = consultants
        .iter()
        .flat_map(|consultant| consultant.languages.iter().cloned())
        .chain(waiting.keys().cloned())
        .collect();
    let switches = who.manages_consultants();
    Ok(html! {
        @if languages.is_empty() {
            p.vazio { "Nenhum consultor cadastrado." }
        }
        div.grade {
            @for language in &languages {
                @let queue = eligible_queue(&consultants, language, now);
                @let unavailable: Vec<(&Consultant, Unavailability)> = consultants
                    .iter()
                    .filter(|c| c.languages.contains(language))
                    .filter_map(|c| availability(c, now).reason.map(|reason| (c, reason)))
                    .collect();
                section.cartao aria-labelledby=(format!("idioma-{}", language.as_str())) {
                    h2 id=(format!("idioma-{}", language.as_str())) { "Idioma " (language.as_str()) }
                    p.vazio data-aguardando=(language.as_str()) {
                        "Contatos aguardando: " (waiting.get(language).copied().unwrap_or(0))
                    }
                    @let entries: Vec<&WaitingEntry> = first_waiting
                        .iter()
                        .filter(|entry| entry.languages.primary() == language)
                        .take(LISTED_PER_LANGUAGE)
                        .collect();
                    @if !entries.is_empty() {
                        ol.aguardando aria-label=(format!("Contatos aguardando em {}", language.as_str())) {
                            @for entry in entries {
                                li {
                                    (entry.reference.as_deref().unwrap_or("sem referência"))
                                    " " span.vazio { "desde " (layout::local_time(&entry.created_at, zone)) }
                                }
                            }
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
                                    span { (consultant.name.as_str()) " " span.etiqueta data-motivo=(reason.as_str()) { (reason_text(*reason)) } }
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

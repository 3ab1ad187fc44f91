//! The page shell: head, navigation (only what the key's scope allows), sign-out, and the
//! headers every page carries (no caching, no framing, scripts and styles from this server only).

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use maud::{html, Markup, DOCTYPE};

use crate::session::SignedIn;

/// The sections of the page, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Queue,
    Consultants,
    Protocols,
    Report,
    Audit,
}

fn link(section: Section) -> (&'static str, &'static str) {
    match section {
        Section::Queue => ("/painel/fila", "Fila agora"),
        Section::Consultants => ("/painel/consultores", "Consultores"),
        Section::Protocols => ("/painel/protocolos", "Protocolos"),
        Section::Report => ("/painel/relatorio", "Relatório"),
        Section::Audit => ("/painel/auditoria", "Auditoria"),
    }
}

/// The fixed confirmations a redirect may ask to show (`?ok=`): never text from the URL.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "criado" => "Consultor cadastrado.",
        "salvo" => "Alterações salvas.",
        "removido" => "Consultor removido.",
        "online" => "Consultor agora está online.",
        "offline" => "Consultor agora está offline.",
        _ => return None,
    })
}

/// The whole document: its head, titled, and `body`.
fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="pt-BR" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Consultores" }
                link rel="stylesheet" href="/painel/static/painel.css";
                script src="/painel/static/painel.js" defer {}
            }
            body { (body) }
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ))
        .body(markup.into_string())
}

/// A page without navigation (sign-in, errors).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    respond(
        status,
        document(title, html! { main #conteudo .estreito { (body) } }),
    )
}

/// A page of a signed-in session, in `section`.
pub fn page(who: &SignedIn, section: Section, title: &str, body: Markup) -> HttpResponse {
    page_with_status(StatusCode::OK, who, section, title, body)
}

/// [`page`] with another status (a form sent back with its errors is 422).
pub fn page_with_status(
    status: StatusCode,
    who: &SignedIn,
    section: Section,
    title: &str,
    body: Markup,
) -> HttpResponse {
    let mut sections = vec![
        Section::Queue,
        Section::Consultants,
        Section::Protocols,
        Section::Report,
    ];
    if who.reads_audit() {
        sections.push(Section::Audit);
    }
    respond(
        status,
        document(
            title,
            html! {
                a.pular href="#conteudo" { "Pular para o conteúdo" }
                header.topo {
                    span.marca { "Consultores" }
                    nav aria-label="Seções" {
                        ul {
                            @for item in &sections {
                                @let (href, label) = link(*item);
                                li {
                                    a href=(href) aria-current=[(*item == section).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    form.sair method="post" action="/painel/sair" {
                        (csrf(who))
                        span.quem { "Acesso: " (who.scope_label()) }
                        button type="submit" { "Sair" }
                    }
                }
                main #conteudo { (body) }
            },
        ),
    )
}

/// The hidden CSRF field of every form.
pub fn csrf(who: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.session.csrf_token); }
}

/// A field's message, tied to it by `aria-describedby="{id}-erro"`.
pub fn field_error(id: &str, message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.erro id=(format!("{id}-erro")) role="alert" { (message) }
        }
    }
}

/// A labelled input with its message.
pub fn input_field(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    error: Option<&str>,
) -> Markup {
    let input = html! {
        input id=(name) name=(name) type=(kind) value=(value)
            aria-describedby=[described_by(name, error)];
    };
    labelled(name, label, input, error)
}

/// A labelled choice, first of all an empty option (`blank`: any), with its message.
pub fn select_field<V: AsRef<str>, T: AsRef<str>>(
    name: &str,
    label: &str,
    blank: &str,
    options: impl IntoIterator<Item = (V, T)>,
    selected: &str,
    error: Option<&str>,
) -> Markup {
    let choice = html! {
        select id=(name) name=(name) {
            option value="" { (blank) }
            @for (value, text) in options {
                option value=(value.as_ref()) selected[value.as_ref() == selected] { (text.as_ref()) }
            }
        }
    };
    labelled(name, label, choice, error)
}

/// A form control `control` named `name`, its label before it and its message after.
fn labelled(name: &str, label: &str, control: Markup, error: Option<&str>) -> Markup {
    html! {
        div {
            label for=(name) { (label) }
            (control)
            (field_error(name, error))
        }
    }
}

/// The `aria-describedby` of a field with a message.
pub fn described_by(id: &str, message: Option<&str>) -> Option<String> {
    message.map(|_| format!("{id}-erro"))
}

/// A 303 to `location` (after a change: the browser then GETs the result).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A local instant for people: `29/11/2026 11:30` in `zone`.
pub fn local_time(at: &chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone)
        .format("%d/%m/%Y %H:%M:%S")
        .to_string()
}

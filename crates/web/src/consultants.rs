//! "Consultores": register, edit, switch online/offline, remove. Changes need the scope
//! the API needs for the same change; the form shows each field's problem next to it, in the
//! domain's own words.

use actix_web::http::{Method, StatusCode};
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::{
    availability, Availability, Consultant, ConsultantId, ConsultantName, ConsultantPatch,
    DomainError, Email, Language, LanguageList, NewConsultant, Phone, PipedriveUserId,
    RuleSettings,
};
use maud::html;

use crate::errors::{blocking, WebError};
use crate::forms::{FieldErrors, Form};
use crate::layout::{self, Section};
use crate::rules::{self, RuleValues};
use crate::session::{RecordChange, SignedIn};
use crate::state::WebState;

/// The form's values as typed (so a form sent back with problems keeps them).
#[derive(Debug, Clone, Default)]
struct Values {
    name: String,
    email: String,
    phone: String,
    languages: String,
    pipedrive_user_id: String,
    active: bool,
    in_rotation: bool,
    online: bool,
    rules: RuleValues,
    /// The status at the time the page was drawn (stored consultants only).
    availability: Option<Availability>,
}

impl Values {
    fn blank() -> Self {
        Self {
            active: true,
            in_rotation: true,
            rules: RuleValues::default(),
            ..Self::default()
        }
    }

    fn of(
        consultant: &Consultant,
        now: chrono::DateTime<chrono::Utc>,
        default_zone: chrono_tz::Tz,
    ) -> Self {
        Self {
            name: consultant.name.as_str().to_owned(),
            email: consultant
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            phone: consultant
                .phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            languages: languages_text(consultant),
            pipedrive_user_id: consultant
                .pipedrive_user_id
                .map(|id| id.get().to_string())
                .unwrap_or_default(),
            active: consultant.active,
            in_rotation: consultant.in_rotation,
            online: consultant.online,
            rules: RuleValues::of(consultant, default_zone),
            availability: Some(availability(consultant, now)),
        }
    }

    fn from_form(form: &Form) -> Self {
        let text = |name: &str| form.get(name).unwrap_or_default().to_owned();
        Self {
            name: text("nome"),
            email: text("email"),
            phone: text("telefone"),
            languages: text("idiomas"),
            pipedrive_user_id: text("id_pipedrive"),
            active: form.checked("status_ativo"),
            in_rotation: form.checked("status_ativo_sequencial"),
            online: form.checked("status_online"),
            rules: RuleValues::from_form(form),
            availability: None,
        }
    }
}

/// Every field parsed by the domain; each problem recorded under its field.
struct Parsed {
    name: ConsultantName,
    email: Option<Email>,
    phone: Option<Phone>,
    languages: LanguageList,
    pipedrive_user_id: Option<PipedriveUserId>,
    rules: RuleSettings,
}

fn parse(values: &Values, errors: &mut FieldErrors) -> Option<Parsed> {
    let optional = |text: &str| {
        Some(text.trim())
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let name = errors.take("nome", ConsultantName::parse(&values.name));
    let email = match optional(&values.email) {
        None => Some(None),
        Some(text) => errors.take("email", Email::parse(&text)).map(Some),
    };
    let phone = match optional(&values.phone) {
        None => Some(None),
        Some(text) => errors.take("telefone", Phone::parse(&text)).map(Some),
    };
    let codes: Vec<&str> = values
        .languages
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .collect();
    let mut languages = Vec::new();
    for code in codes {
        if let Some(language) = errors.take("idiomas", Language::parse(code)) {
            languages.push(language);
        }
    }
    let languages = if errors.get("idiomas").is_some() {
        None
    } else {
        errors.take("idiomas", LanguageList::new(languages))
    };
    let pipedrive = match optional(&values.pipedrive_user_id) {
        None => Some(None),
        Some(text) => match text.parse::<i64>() {
            Ok(number) => errors
                .take("id_pipedrive", PipedriveUserId::new(number))
                .map(Some),
            Err(_) => {
                errors.add("id_pipedrive", "deve ser um número inteiro");
                None
            }
        },
    };
    let rules = values.rules.parse(errors);
    Some(Parsed {
        name: name?,
        email: email?,
        phone: phone?,
        languages: languages?,
        pipedrive_user_id: pipedrive?,
        rules: rules?,
    })
}

pub fn languages_text(consultant: &Consultant) -> String {
    consultant
        .languages
        .iter()
        .map(Language::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn consultant_id(raw: &str) -> Result<ConsultantId, WebError> {
    raw.parse::<i64>()
        .map(ConsultantId)
        .map_err(|_| WebError::NotFound("Consultor não encontrado"))
}

/// The registration or edit form. `id` is `None` for a new consultant.
fn form_page(
    who: &SignedIn,
    status: StatusCode,
    id: Option<ConsultantId>,
    values: &Values,
    errors: &FieldErrors,
    notice: Option<&str>,
) -> HttpResponse {
    let (title, action) = match id {
        None => (
            "Cadastrar consultor".to_owned(),
            "/painel/consultores".to_owned(),
        ),
        Some(id) => (
            format!("Consultor {}", id.0),
            format!("/painel/consultores/{}", id.0),
        ),
    };
    let editable = who.manages_consultants();
    let text_field = |name: &'static str,
                      label: &str,
                      value: &str,
                      kind: &str,
                      hint: Option<&str>| {
        let error = errors.get(name);
        html! {
            label for=(name) { (label) }
            input id=(name) name=(name) type=(kind) value=(value) disabled[!editable]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[layout::described_by(name, error)];
            @if let Some(hint) = hint { small.vazio { (hint) } }
            (layout::field_error(name, error))
        }
    };
    let check = |name: &'static str, label: &str, checked: bool| {
        html! {
            label.caixa for=(name) {
                input id=(name) name=(name) type="checkbox" value="on" checked[checked] disabled[!editable];
                (label)
            }
        }
    };
    layout::page_with_status(
        status,
        who,
        Section::Consultants,
        &title,
        html! {
            h1 { (title) }
            @if let Some(notice) = notice { p.sucesso role="status" { (notice) } }
            @if !errors.is_empty() {
                p.erro role="alert" { "Corrija os campos marcados abaixo. Nada foi salvo." }
            }
            @if let Some(status) = &values.availability {
                dl.situacao {
                    dt { "Situação agora" } dd { (rules::status_tag(status)) }
                    dt { "Atendimentos da rotação hoje" } dd { (status.assignments_today) }
                    dt { "Protocolos abertos" } dd { (status.open_protocols) }
                }
            }
            form.cartao method="post" action=(action) novalidate {
                (layout::csrf(who))
                (text_field("nome", "Nome", &values.name, "text", None))
                (text_field("email", "Email", &values.email, "email", Some("Opcional.")))
                (text_field("telefone", "Telefone", &values.phone, "tel", Some("Opcional: + e de 10 a 15 dígitos, ex. +5511999999999.")))
                (text_field("idiomas", "Idiomas", &values.languages, "text", Some("Códigos separados por vírgula, ex. pt, en, es.")))
                (text_field("id_pipedrive", "Usuário no Pipedrive (id)", &values.pipedrive_user_id, "text", Some("Opcional.")))
                fieldset {
                    legend { "Situação" }
                    (check("status_ativo", "Ativo", values.active))
                    (check("status_ativo_sequencial", "Na rotação automática", values.in_rotation))
                    (check("status_online", "Online", values.online))
                }
                (rules::fields(&values.rules, errors, editable))
                @if editable {
                    div.acoes {
                        button type="submit" { "Salvar" }
                        a href="/painel/consultores" { "Cancelar" }
                    }
                }
            }
            @if let (Some(id), true) = (id, editable) {
                form.cartao method="post" action=(format!("/painel/consultores/{}/remover", id.0))
                    data-confirmar=(format!("Remover {}? Os protocolos continuam no histórico.", values.name)) {
                    (layout::csrf(who))
                    p { "Remover tira o consultor da rotação e das listas; os protocolos dele continuam no histórico." }
                    button.perigo type="submit" { "Remover consultor" }
                }
            }
        },
    )
}

/// `GET /painel/consultores/novo`.
pub async fn new_form(who: SignedIn) -> Result<HttpResponse, WebError> {
    who.require(Method::POST, "/consultor")?;
    Ok(form_page(
        &who,
        StatusCode::OK,
        None,
        &Values::blank(),
        &FieldErrors::default(),
        None,
    ))
}

/// `POST /painel/consultores`.
pub async fn create(
    who: SignedIn,
    body: Bytes,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let form = who.change_form(&body, Method::POST, "/consultor")?;
    let (values, parsed) = match read_form(&who, None, &form) {
        Ok(read) => read,
        Err(page) => return Ok(*page),
    };
    let mut new = NewConsultant::new(parsed.name, parsed.languages);
    new.email = parsed.email;
    new.phone = parsed.phone;
    new.pipedrive_user_id = parsed.pipedrive_user_id;
    new.active = values.active;
    new.in_rotation = values.in_rotation;
    new.online = values.online;
    new.rules = parsed.rules;
    let service = state.consultants.clone();
    let actor = who.actor();
    match blocking(move || service.register(&new, &actor)).await {
        Ok(_) => Ok(layout::see_other("/painel/consultores?ok=criado")),
        Err(error) => refused(&who, None, &values, error),
    }
}

/// The form's values and what they parse to, or the form again with its problems (422).
fn read_form(
    who: &SignedIn,
    id: Option<ConsultantId>,
    form: &Form,
) -> Result<(Values, Parsed), Box<HttpResponse>> {
    let values = Values::from_form(form);
    let mut errors = FieldErrors::default();
    match parse(&values, &mut errors) {
        Some(parsed) => Ok((values, parsed)),
        None => Err(Box::new(form_page(
            who,
            StatusCode::UNPROCESSABLE_ENTITY,
            id,
            &values,
            &errors,
            None,
        ))),
    }
}

/// A change the domain refused for a field: the form again, with the reason next to it.
fn refused(
    who: &SignedIn,
    id: Option<ConsultantId>,
    values: &Values,
    error: WebError,
) -> Result<HttpResponse, WebError> {
    let mut errors = FieldErrors::default();
    match error {
        WebError::Domain(DomainError::EmailTaken) => errors.add("email", "Email já cadastrado"),
        WebError::Domain(DomainError::Invalid { field, problem }) => {
            let field = match field {
                "id_pipedrive" | "peso" | "limite_diario" | "limite_abertos" | "fuso_horario" => {
                    field
                }
                _ => "nome",
            };
            errors.add(field, problem.to_string());
        }
        other => return Err(other),
    }
    Ok(form_page(
        who,
        StatusCode::UNPROCESSABLE_ENTITY,
        id,
        values,
        &errors,
        None,
    ))
}

/// `GET /painel/consultores/{id}`.
pub async fn edit_form(
    req: HttpRequest,
    who: SignedIn,
    id: Path<String>,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let id = consultant_id(&id)?;
    let service = state.consultants.clone();
    let consultant = blocking(move || service.get(id)).await?;
    Ok(form_page(
        &who,
        StatusCode::OK,
        Some(id),
        &Values::of(
            &consultant,
            state.clock.now(),
            state.settings.default_time_zone,
        ),
        &FieldErrors::default(),
        layout::notice(Form::query(&req).get("ok")),
    ))
}

/// `POST /painel/consultores/{id}`: every field of the form, as one `PUT /consultor/{id}`.
pub async fn update(change: RecordChange, state: Data<WebState>) -> Result<HttpResponse, WebError> {
    let (who, form, id) = change.accept(Method::PUT, "/consultor/{consultor_id}", consultant_id)?;
    let (values, parsed) = match read_form(&who, Some(id), &form) {
        Ok(read) => read,
        Err(page) => return Ok(*page),
    };
    let patch = ConsultantPatch {
        name: Some(parsed.name),
        email: Some(parsed.email),
        phone: Some(parsed.phone),
        languages: Some(parsed.languages),
        active: Some(values.active),
        in_rotation: Some(values.in_rotation),
        online: Some(values.online),
        pipedrive_user_id: Some(parsed.pipedrive_user_id),
        weight: Some(parsed.rules.weight),
        daily_limit: Some(parsed.rules.daily_limit),
        open_limit: Some(parsed.rules.open_limit),
        time_zone: Some(parsed.rules.time_zone),
        schedule: Some(parsed.rules.schedule),
        leave: Some(parsed.rules.leave),
    };
    let service = state.consultants.clone();
    let actor = who.actor();
    match blocking(move || service.update(id, &patch, &actor)).await {
        Ok(_) => Ok(layout::see_other(&format!(
            "/painel/consultores/{}?ok=salvo",
            id.0
        ))),
        Err(error) => refused(&who, Some(id), &values, error),
    }
}

/// `POST /painel/consultores/{id}/conexao` (`status=true|false`).
pub async fn connection(
    change: RecordChange,
    state: Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let (who, form, id) = change.accept(
        Method::PUT,
        "/consultor/{consultor_id}/connection",
        consultant_id,
    )?;
    let online = match form.get("status") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(WebError::NotFound("Situação desconhecida")),
    };
    let service = state.consultants.clone();
    let actor = who.actor();
    blocking(move || service.set_online(id, online, &actor)).await?;
    let back = match form.get("voltar") {
        Some("/painel/consultores") => "/painel/consultores",
        _ => "/painel/fila",
    };
    let notice = if online { "online" } else { "offline" };
    Ok(layout::see_other(&format!("{back}?ok={notice}")))
}

/// `POST /painel/consultores/{id}/remover`.
pub async fn remove(change: RecordChange, state: Data<WebState>) -> Result<HttpResponse, WebError> {
    let (who, _, id) = change.accept(Method::DELETE, "/consultor/{consultor_id}", consultant_id)?;
    let service = state.consultants.clone();
    let actor = who.actor();
    blocking(move || service.remove(id, &actor)).await?;
    Ok(layout::see_other("/painel/consultores?ok=removido"))
}

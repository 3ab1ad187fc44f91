//! `GET /consultor/da-vez`: the rotation.

use crate::auth::Require;
use actix_web::get;
use actix_web::middleware::from_fn;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use consultores_domain::{DomainError, Language};

use crate::auth::{Acting, Caller};
use crate::blocking;
use crate::clock_skew;
use crate::dto::rotation::{AssignmentResponse, NobodyFreeResponse};
use crate::errors::{ApiError, ValidationErrorResponse};
use crate::idempotency;
use crate::input::query::{alternatives, crm_target, language};
use crate::input::QueryParams;
use crate::state::ApiState;
use crate::validation::Problems;

/// Hands the next contact in `idioma` (or, when nobody is free there, in the first of
/// `alternativas` where someone is) to the eligible consultant first in line under the routing
/// rules, and opens a protocol for it, atomically.
#[utoipa::path(
    operation_id = "consultor_da_vez",
    tag = "rodizio",
    security(("api-key" = ["admin", "distribuicao"])),
    params(
        ("idioma" = String, Query, description = "The contact's language (case-insensitive): 2 to 5 letters, at most one `-` inside.", example = "pt", min_length = 2, max_length = 5, pattern = r"^[A-Za-z]+(-[A-Za-z]+)?$"),
        ("alternativas" = Option<String>, Query, description = "Extension: comma-separated languages tried in order when nobody is free in `idioma` (at most 19). The answer's `idioma_atendido` says which was served.", example = "en,es"),
        ("deal_id" = Option<i64>, Query, description = "Extension (Pipedrive integration): the deal to hand over. The consultant chosen becomes its owner and a note names the protocol; both are queued with the assignment and delivered in the background (see `pipedrive` in the answer). At most one of `deal_id`, `lead_id`, `person_id`; ignored when the integration is off.", example = 42, minimum = 1),
        ("lead_id" = Option<String>, Query, description = "Extension: the Pipedrive lead (a UUID) to hand over, as `deal_id`.", example = "adf21080-0e10-11eb-879b-05d71fb426ec"),
        ("person_id" = Option<i64>, Query, description = "Extension: the Pipedrive person to hand over, as `deal_id`.", example = 17, minimum = 1),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters: a retry with the same key (same API key and parameters) within 24 h gets the first answer again."),
    ),
    responses(
        (status = 200, description = "The consultant chosen and the protocol opened.", body = AssignmentResponse,
            headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request."))),
        (status = 404, description = "Nobody is free in `idioma` nor in `alternativas` (the message names `idioma`).", body = NobodyFreeResponse),
        (status = 422, description = "Missing or invalid `idioma`, `deal_id`, `lead_id`, `person_id` (or more than one of them) or `Idempotency-Key`, or a key reused with other parameters.", body = ValidationErrorResponse),
    )
)]
#[get(
    "/consultor/da-vez",
    wrap = "Require::of::<Self>()",
    wrap = "from_fn(crate::head::refuse)"
)]
pub async fn assign_next(
    req: HttpRequest,
    state: Data<ApiState>,
    caller: Caller,
    Acting(actor): Acting,
) -> Result<HttpResponse, ApiError> {
    let query = QueryParams::of(&req);
    let mut problems = Problems::new();
    let raw_language = query.required_text("idioma", &mut problems);
    let language = language(raw_language, "idioma", &mut problems);
    let alternatives = alternatives(&query, language.as_ref(), &mut problems);
    let target = crm_target(&query, &mut problems);
    let now = state.distribution.now();
    let claim = problems
        .take(idempotency::claim(&req, &caller, None, now))
        .flatten();
    let language = problems.finish_parsed(language)?;
    // Without the integration the CRM parameters are checked but change nothing (v6).
    let target = target.filter(|_| state.pipedrive.is_some());
    let service = state.distribution.clone();
    let requested: Vec<Language> = std::iter::once(language.clone())
        .chain(alternatives)
        .collect();
    let wanted = requested.clone();
    match blocking::run(move || service.assign_first(&wanted, claim, &actor, target)).await {
        Ok(recorded) => {
            if !recorded.replayed {
                // Counted under the language served (an alternative, perhaps).
                let served = recorded
                    .value
                    .protocol
                    .language
                    .as_ref()
                    .unwrap_or(&language);
                state.metrics.assignment(served);
                clock_skew::check(&state, &req, now, recorded.value.protocol.created_at);
            }
            Ok(idempotency::replayable(recorded.replayed)
                .json(AssignmentResponse::from(recorded.value)))
        }
        Err(error @ ApiError::Domain(DomainError::NoneAvailable(_))) => {
            state.metrics.none_available();
            let service = state.distribution.clone();
            let nobody = blocking::run(move || service.nobody_free(&requested)).await?;
            Ok(HttpResponse::NotFound().json(NobodyFreeResponse::new(error.to_string(), &nobody)))
        }
        Err(error) => Err(error),
    }
}

//! The OpenAPI 3.1 document's frame (information, components, tags) and the security of every
//! operation, generated from the access each handler declares ([`crate::scopes`]) so the
//! document and the enforcement cannot disagree. The operations themselves are collected from
//! the routes' registration ([`crate::routes::openapi`]).

use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::OneOfBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
use utoipa::OpenApi;

use crate::dto::api_key::{ApiKeyCreateRequest, ApiKeyCreatedResponse, ApiKeyResponse, ScopeWire};
use crate::dto::audit::{
    ActionWire, AuditEntryResponse, AuditPageResponse, ConnectionChangeResponse,
    ConnectionHistoryResponse, EntityWire, FieldChangeWire,
};
use crate::dto::consultant::{
    ConsultantCreateRequest, ConsultantResponse, ConsultantUpdateRequest,
};
use crate::dto::health::HealthResponse;
use crate::dto::outbound::{
    DeliveryResponse, WebhookCreateRequest, WebhookEventWire, WebhookResponse,
};
use crate::dto::pipedrive::{
    CrmActionResponse, CrmActionWire, CrmActionsResponse, CrmTargetWire, DeliveryStateWire,
};
use crate::dto::protocol::{
    GeneratedProtocolResponse, PriorityWire, ProtocolCreateRequest, ProtocolResponse,
    ProtocolUpdateRequest, StatusWire,
};
use crate::dto::queue::{
    QueueConsultantResponse, WaitingEntryCreateRequest, WaitingEntryResponse, WaitingPageResponse,
    WaitingStateWire,
};
use crate::dto::report::{ReportLine, ReportResponse};
use crate::dto::rotation::{AssignmentResponse, NobodyFreeResponse};
use crate::errors::{DetailResponse, InternalErrorResponse, ValidationErrorResponse};
use crate::scopes::{Access, PUBLIC_WHEN_CONFIGURED, SECURITY_SCHEME, WEBHOOK_SECURITY_SCHEME};
use crate::validation::{FieldError, LocPart};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sistema de Gestão de Consultores",
        description = "Hands each customer contact to the consultant who has waited longest, and keeps \
gapless numbered protocols. Compatible with the v6 API.\n\n\
Every operation except `/health`, `/ready`, `/docs` and `/openapi.json` needs the header \
`api-key`. Each operation lists the key scopes it accepts (`x-scopes`): `admin` (everything), \
`distribuicao` (the rotation, protocols and every read), `leitura` (every read but the audit \
trail, `/auditoria`).\n\n\
Every state-changing operation is recorded in the audit trail (`GET /auditoria`, admin only) in \
the same transaction as its change.\n\n\
With the Pipedrive integration on, the rotation (`consultor_da_vez`) accepts `deal_id`, `lead_id` or \
`person_id`: the consultant chosen becomes the owner of that record and a note names the \
protocol, delivered in the background (their state is `pipedrive` in the answer and in \
`GET /protocolo/{id}`); `POST /webhooks/pipedrive` (HTTP basic auth, no `api-key`) receives \
Pipedrive's webhooks and hands each created deal or lead to the next consultant.",
    ),
    components(schemas(
        ConsultantResponse,
        ConsultantCreateRequest,
        ConsultantUpdateRequest,
        AssignmentResponse,
        NobodyFreeResponse,
        ProtocolResponse,
        ProtocolCreateRequest,
        ProtocolUpdateRequest,
        GeneratedProtocolResponse,
        PriorityWire,
        StatusWire,
        WebhookResponse,
        WebhookCreateRequest,
        WebhookEventWire,
        DeliveryResponse,
        WaitingEntryResponse,
        WaitingEntryCreateRequest,
        WaitingPageResponse,
        WaitingStateWire,
        QueueConsultantResponse,
        ApiKeyCreateRequest,
        ApiKeyCreatedResponse,
        ApiKeyResponse,
        ScopeWire,
        AuditPageResponse,
        AuditEntryResponse,
        FieldChangeWire,
        ActionWire,
        EntityWire,
        ConnectionHistoryResponse,
        ConnectionChangeResponse,
        ReportResponse,
        ReportLine,
        CrmActionsResponse,
        CrmActionResponse,
        CrmActionWire,
        CrmTargetWire,
        DeliveryStateWire,
        HealthResponse,
        DetailResponse,
        ValidationErrorResponse,
        InternalErrorResponse,
        FieldError,
        LocPart,
    )),
    tags(
        (name = "consultores", description = "Consultants."),
        (name = "rodizio", description = "The rotation: who gets the next contact."),
        (name = "protocolos", description = "Numbered protocols."),
        (name = "fila", description = "The waiting queue: contacts that wait for the first consultant who frees up, in arrival order."),
        (name = "api-keys", description = "Scoped API keys (admin only)."),
        (name = "auditoria", description = "The record of operations: who changed what, and when."),
        (name = "pipedrive", description = "Pipedrive's webhooks (the integration)."),
        (name = "webhooks", description = "Outbound webhooks: signed deliveries of the service's events (Standard Webhooks)."),
        (name = "operacao", description = "Health, readiness and metrics."),
    )
)]
struct ApiDoc;

/// The document without its operations.
pub fn base() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}

/// Adds the `api-key` scheme and, for each operation, the security and `x-scopes` of the access it
/// declares, plus the 401/403/500/503 answers every protected operation can give.
pub fn secure_operations(document: &mut utoipa::openapi::OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SECURITY_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "api-key",
            "The service's key (AUTHENTICATION_API_KEY, scope admin) or a stored key.",
        ))),
    );
    components.add_security_scheme(
        WEBHOOK_SECURITY_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some(
                    "PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD, the credentials \
                     given to Pipedrive when the webhook was registered.",
                ))
                .build(),
        ),
    );
    for item in document.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            let access = Access::of_operation(operation);
            secure(operation, &access);
            allow_reused_key_detail(operation);
        }
    }
}

fn secure(operation: &mut Operation, access: &Access) {
    let scopes: Vec<&str> = access.scopes().iter().map(|scope| scope.as_str()).collect();
    let mut extensions = Extensions::default();
    extensions.insert("x-scopes".to_owned(), json!(scopes));
    if matches!(access, Access::Metrics(_)) {
        extensions.insert(PUBLIC_WHEN_CONFIGURED.to_owned(), json!(true));
    }
    operation
        .extensions
        .get_or_insert_with(Default::default)
        .merge(extensions);
    let who = if *access == Access::BasicAuth {
        "No key: HTTP basic auth with the webhook's credentials.".to_owned()
    } else if scopes.is_empty() {
        "No key needed.".to_owned()
    } else {
        let listed: Vec<String> = scopes.iter().map(|scope| format!("`{scope}`")).collect();
        format!("Key scopes: {}.", listed.join(", "))
    };
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.is_empty() => format!("{text}\n\n{who}"),
        _ => who,
    });
    if *access == Access::BasicAuth {
        operation.security = Some(vec![SecurityRequirement::new(
            WEBHOOK_SECURITY_SCHEME,
            Vec::<String>::new(),
        )]);
    } else if *access == Access::Public {
        operation.security = None;
    } else {
        operation.security = Some(vec![SecurityRequirement::new(SECURITY_SCHEME, scopes)]);
        add_response(
            operation,
            "401",
            "Missing or wrong `api-key`.",
            "API Key inválida",
        );
        add_response(
            operation,
            "403",
            "The key's scope does not allow this operation.",
            "Acesso negado para esta chave",
        );
    }
    let responses = &mut operation.responses.responses;
    if !responses.contains_key("500") {
        let internal = ResponseBuilder::new()
            .description("Unexpected failure; the details are in the log under `request_id`.")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("InternalErrorResponse")))
                    .build(),
            )
            .build();
        responses.insert("500".to_owned(), internal.into());
    }
    add_response(
        operation,
        "503",
        "The database is unreachable.",
        "Serviço indisponível",
    );
}

/// An operation that takes an `Idempotency-Key` answers a key reused with other parameters with
/// a 422 whose `detail` is a message, not a list (API.md): its 422 is either shape.
fn allow_reused_key_detail(operation: &mut Operation) {
    let idempotent = operation.parameters.iter().flatten().any(|parameter| {
        parameter.parameter_in == ParameterIn::Header
            && parameter
                .name
                .eq_ignore_ascii_case(IDEMPOTENCY_KEY_PARAMETER)
    });
    if !idempotent {
        return;
    }
    let Some(RefOr::T(response)) = operation.responses.responses.get_mut("422") else {
        return;
    };
    for content in response.content.values_mut() {
        content.schema = Some(
            OneOfBuilder::new()
                .item(Ref::from_schema_name("ValidationErrorResponse"))
                .item(Ref::from_schema_name("DetailResponse"))
                .into(),
        );
    }
}

/// The header parameter that makes a request idempotent.
const IDEMPOTENCY_KEY_PARAMETER: &str = "Idempotency-Key";

fn add_response(operation: &mut Operation, status: &str, description: &str, detail: &str) {
    let responses = &mut operation.responses.responses;
    if responses.contains_key(status) {
        return;
    }
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("DetailResponse")))
                .example(Some(json!({ "detail": detail })))
                .build(),
        )
        .build();
    responses.insert(status.to_owned(), response.into());
}

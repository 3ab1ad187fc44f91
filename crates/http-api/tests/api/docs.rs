//! `/openapi.json` and `/docs`.

use std::collections::HashSet;

use actix_web::test::TestRequest;
use consultores_http::routes::DOCUMENTATION_PATHS;
use serde_json::Value;

use crate::auth::{decision, registered_routes, Who};
use crate::common::start;
use crate::on_both_backends;

const METHODS: [&str; 4] = ["get", "post", "put", "delete"];

fn expected_scopes(who: Who) -> Vec<&'static str> {
    match who {
        Who::Anyone | Who::Webhook => vec![],
        Who::Readers => vec!["admin", "distribuicao", "leitura"],
        Who::Distribution => vec!["admin", "distribuicao"],
        Who::Admins => vec!["admin"],
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_its_operations_round_trip() {
    let document = serde_json::to_value(consultores_http::openapi()).unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );
    assert!(!document["info"]["title"].as_str().unwrap().is_empty());
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    // Every path item reads back into utoipa's model unchanged. (Whole-document round trips
    // fail on utoipa's side for typeless schemas such as a 422 item's `input`, which is valid
    // OpenAPI 3.1: any JSON value.)
    for (path, item) in document["paths"].as_object().unwrap() {
        let parsed: utoipa::openapi::path::PathItem =
            serde_json::from_value(item.clone()).unwrap_or_else(|error| panic!("{path}: {error}"));
        assert_eq!(&serde_json::to_value(parsed).unwrap(), item, "{path}");
    }
}

#[test]
fn every_operation_is_well_formed() {
    let document = serde_json::to_value(consultores_http::openapi()).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        let placeholders: Vec<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (verb, operation) in item.as_object().unwrap() {
            assert!(METHODS.contains(&verb.as_str()), "{verb} {path}");
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for parameter in &parameters {
                assert!(
                    parameter["name"].is_string() && parameter["schema"].is_object(),
                    "{verb} {path}"
                );
                assert!(["query", "path", "header"].contains(&parameter["in"].as_str().unwrap()));
            }
            for name in &placeholders {
                let declared = parameters
                    .iter()
                    .find(|p| p["in"] == "path" && p["name"] == *name)
                    .unwrap_or_else(|| {
                        panic!("{verb} {path} does not declare path parameter {name}")
                    });
                assert_eq!(declared["required"], true);
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(status.parse::<u16>().is_ok(), "{verb} {path} {status}");
                assert!(
                    response["description"].is_string(),
                    "{verb} {path} {status}"
                );
            }
        }
    }
}

#[test]
fn every_reference_resolves_to_a_component() {
    let document = serde_json::to_value(consultores_http::openapi()).unwrap();
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for target in refs {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
}

#[test]
fn every_registered_route_is_documented_with_its_scopes() {
    let document = serde_json::to_value(consultores_http::openapi()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    let mut documented = HashSet::new();
    for (method, pattern) in registered_routes() {
        if DOCUMENTATION_PATHS.contains(&pattern) {
            continue;
        }
        let verb = method.as_str().to_ascii_lowercase();
        let operation = paths
            .get(pattern)
            .and_then(|item| item.get(&verb))
            .unwrap_or_else(|| panic!("{method} {pattern} is not in the OpenAPI document"));
        documented.insert((verb.clone(), pattern.to_owned()));
        let scopes = expected_scopes(decision(&method, pattern));
        assert_eq!(
            operation["x-scopes"],
            serde_json::json!(scopes),
            "{method} {pattern}"
        );
        if decision(&method, pattern) == Who::Webhook {
            assert_eq!(
                operation["security"],
                serde_json::json!([{ "pipedrive-webhook": [] }]),
                "{method} {pattern}"
            );
            assert!(
                operation["responses"].get("401").is_some(),
                "{method} {pattern}"
            );
        } else if scopes.is_empty() {
            assert!(
                operation.get("security").is_none(),
                "{method} {pattern} is open"
            );
        } else {
            assert_eq!(
                operation["security"],
                serde_json::json!([{ "api-key": scopes }]),
                "{method} {pattern}"
            );
            assert!(
                operation["responses"].get("401").is_some(),
                "{method} {pattern}"
            );
            assert!(
                operation["responses"].get("403").is_some(),
                "{method} {pattern}"
            );
        }
        assert!(
            operation["responses"].get("200").is_some(),
            "{method} {pattern}"
        );
        assert!(operation["operationId"].is_string());
    }
    // Nothing documented that is not served.
    for (path, item) in paths {
        for verb in METHODS {
            if item.get(verb).is_some() {
                assert!(
                    documented.contains(&(verb.to_owned(), path.clone())),
                    "{verb} {path} is documented but not routed"
                );
            }
        }
    }
}

#[test]
fn operation_ids_are_unique() {
    let document = serde_json::to_value(consultores_http::openapi()).unwrap();
    let mut ids = HashSet::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operationId {id} is used twice");
        }
    }
}

#[test]
fn the_security_scheme_is_the_api_key_header() {
    let document = serde_json::to_value(consultores_http::openapi()).unwrap();
    let scheme = &document["components"]["securitySchemes"]["api-key"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "api-key");
    let webhook = &document["components"]["securitySchemes"]["pipedrive-webhook"];
    assert_eq!(webhook["type"], "http");
    assert_eq!(webhook["scheme"], "basic");
}

#[test]
fn the_wire_schemas_have_examples_and_portuguese_field_names() {
    let document = serde_json::to_value(consultores_http::openapi()).unwrap();
    let schemas = &document["components"]["schemas"];
    for name in [
        "ConsultantResponse",
        "AssignmentResponse",
        "ProtocolResponse",
        "ConsultantCreateRequest",
    ] {
        assert!(
            schemas[name].get("example").is_some() || schemas[name].get("examples").is_some(),
            "{name}"
        );
    }
    let consultant = schemas["ConsultantResponse"]["properties"]
        .as_object()
        .unwrap();
    let fields: HashSet<&str> = consultant.keys().map(String::as_str).collect();
    let expected: HashSet<&str> = [
        "id",
        "nome",
        "email",
        "telefone",
        "idiomas",
        "status_ativo",
        "status_ativo_sequencial",
        "status_online",
        "ultimo_atendimento",
        "id_pipedrive",
        "peso",
        "limite_diario",
        "limite_abertos",
        "fuso_horario",
        "horarios",
        "ausencias",
        "disponivel",
        "motivo_indisponivel",
        "atendimentos_hoje",
        "protocolos_abertos",
    ]
    .into_iter()
    .collect();
    assert_eq!(fields, expected);
    let required: Vec<&str> = schemas["ConsultantCreateRequest"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["nome", "idiomas"]);
}

on_both_backends! {
    async fn the_served_document_is_the_generated_one(backend) {
        let app = start(backend).await;
        let reply = app.send(TestRequest::get().uri("/openapi.json")).await;
        reply.expect(200);
        assert!(reply.header("content-type").unwrap().starts_with("application/json"));
        assert_eq!(reply.json(), serde_json::to_value(consultores_http::openapi()).unwrap());
    }

    async fn the_docs_page_and_its_assets_are_served_from_the_binary(backend) {
        let app = start(backend).await;
        for page in ["/docs", "/docs/"] {
            let reply = app.send(TestRequest::get().uri(page)).await;
            reply.expect(200);
            assert!(reply.header("content-type").unwrap().starts_with("text/html"));
            let html = reply.text();
            assert!(html.contains("swagger-ui"), "{html}");
            assert!(html.contains(r#"<base href="/docs/">"#));
            assert!(!html.contains("http://") && !html.contains("https://"), "no CDN: {html}");
        }
        for (asset, kind) in [
            ("swagger-ui.css", "text/css"),
            ("index.css", "text/css"),
            ("swagger-ui-bundle.js", "javascript"),
            ("swagger-ui-standalone-preset.js", "javascript"),
        ] {
            let reply = app.send(TestRequest::get().uri(&format!("/docs/{asset}"))).await;
            reply.expect(200);
            assert!(reply.header("content-type").unwrap().contains(kind), "{asset}");
            assert!(!reply.body.is_empty(), "{asset}");
        }
        let initializer = app.send(TestRequest::get().uri("/docs/swagger-initializer.js")).await;
        initializer.expect(200);
        assert!(initializer.text().contains("/openapi.json"));
    }
}

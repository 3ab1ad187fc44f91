use std::sync::atomic::{AtomicUsize, Ordering};

use consultores_domain::mocks::{
    MockAssignmentPort, MockCrmEventInbox, MockCrmOutbox, MockCrmThrottle,
};
use consultores_domain::SystemClock;
use serde_json::json;

use super::*;

const FIELD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

/// Field options from a script, counting the calls.
struct Options {
    answer: Result<Vec<FieldOption>, CrmError>,
    calls: AtomicUsize,
}

impl FieldOptionSource for Options {
    fn field_options(&self, key: &str) -> Result<Vec<FieldOption>, CrmError> {
        assert_eq!(key, FIELD);
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer.clone()
    }
}

fn options(answer: Result<Vec<FieldOption>, CrmError>) -> Arc<Options> {
    Arc::new(Options {
        answer,
        calls: AtomicUsize::new(0),
    })
}

fn labels() -> Arc<Options> {
    options(Ok(vec![
        FieldOption {
            id: 30,
            label: "pt".into(),
        },
        FieldOption {
            id: 31,
            label: " EN ".into(),
        },
        FieldOption {
            id: 32,
            label: "Português".into(),
        },
    ]))
}

fn processor(source: Arc<Options>, field: bool, default: Option<&str>) -> WebhookProcessor {
    WebhookProcessor::new(
        // Ports the language tests never reach: a mock without expectations fails on any call.
        Arc::new(MockCrmEventInbox::new()),
        Arc::new(MockCrmOutbox::new()),
        DistributionService::new(Arc::new(MockAssignmentPort::new()), Arc::new(SystemClock)),
        source,
        LanguageSource {
            field: field.then(|| FIELD.to_owned()),
            default: default.map(|code| Language::parse(code).unwrap()),
        },
        Arc::new(SystemClock),
        ProcessorSettings::DEFAULT,
    )
}

fn deal(value: serde_json::Value) -> WebhookEvent {
    WebhookEvent::from_value(json!({
        "meta": {"action": "create", "entity": "deal", "entity_id": "42", "version": "2.0"},
        "data": {"id": 42, "custom_fields": {FIELD: value}}
    }))
    .unwrap()
}

fn language(processor: &WebhookProcessor, value: serde_json::Value) -> Result<String, String> {
    match processor.language_of(&deal(value)) {
        Ok(result) => result.map(|language| language.as_str().to_owned()),
        Err(Deferral(reason)) => Err(format!("adiado: {reason}")),
    }
}

#[test]
fn a_text_value_is_the_language_code() {
    let processor = processor(labels(), true, None);
    assert_eq!(
        language(&processor, json!({"type": "varchar", "value": " PT-br "})),
        Ok("pt-br".into())
    );
    assert_eq!(language(&processor, json!("en")), Ok("en".into()));
}

#[test]
fn an_option_is_read_through_its_label_once() {
    let source = labels();
    let processor = processor(source.clone(), true, None);
    assert_eq!(
        language(&processor, json!({"type": "enum", "id": 31})),
        Ok("en".into())
    );
    assert_eq!(
        language(&processor, json!({"type": "enum", "id": 30})),
        Ok("pt".into())
    );
    assert_eq!(
        language(
            &processor,
            json!({"type": "set", "values": [{"id": 30}, {"id": 31}]})
        ),
        Ok("pt".into()),
        "several options: the first"
    );
    assert_eq!(source.calls.load(Ordering::SeqCst), 1, "labels are cached");
}

#[test]
fn unusable_values_give_the_reason() {
    let processor = processor(labels(), true, None);
    let invalid = language(&processor, json!({"type": "varchar", "value": "português"}));
    assert!(invalid.unwrap_err().starts_with("idioma inválido no campo"));
    let label = language(&processor, json!({"type": "enum", "id": 32}));
    assert!(label.unwrap_err().contains("\"Português\""));
    let missing = language(&processor, json!({"type": "enum", "id": 99}));
    assert_eq!(
        missing,
        Err(format!("a opção 99 não existe no campo {FIELD}"))
    );
    let number = language(&processor, json!({"type": "double", "value": 3}));
    assert!(number.unwrap_err().contains("não traz um idioma"));
    let empty = language(&processor, serde_json::Value::Null);
    assert!(empty.unwrap_err().starts_with("sem idioma"));
}

#[test]
fn an_empty_field_or_no_field_falls_back_to_the_default() {
    let with_field = processor(labels(), true, Some("es"));
    assert_eq!(
        language(&with_field, serde_json::Value::Null),
        Ok("es".into())
    );
    let without_field = processor(labels(), false, Some("es"));
    assert_eq!(language(&without_field, json!("en")), Ok("es".into()));
    let nothing = processor(labels(), false, None);
    assert!(language(&nothing, json!("en"))
        .unwrap_err()
        .contains("nem PIPEDRIVE_LANGUAGE_FIELD nem PIPEDRIVE_DEFAULT_LANGUAGE"));
}

/// A throttle whose budget is spent for an hour.
fn spent() -> Arc<MockCrmThrottle> {
    let mut throttle = MockCrmThrottle::new();
    throttle
        .expect_pause()
        .returning(|| Some(std::time::Duration::from_secs(3600)));
    Arc::new(throttle)
}

#[test]
fn options_wait_for_a_spent_rate_budget_without_calling_pipedrive() {
    let source = labels();
    let paused = processor(source.clone(), true, None).with_throttle(spent());
    let deferred = language(&paused, json!({"type": "enum", "id": 30}));
    assert!(deferred
        .unwrap_err()
        .starts_with("adiado: limite de requisições"));
    assert_eq!(source.calls.load(Ordering::SeqCst), 0);
    assert_eq!(
        language(&paused, json!({"type": "varchar", "value": "pt"})),
        Ok("pt".into()),
        "text values need no call"
    );
}

#[test]
fn options_that_cannot_be_read_now_defer_the_event_and_unknown_fields_fail_it() {
    let down = processor(
        options(Err(CrmError::Transient {
            reason: "Pipedrive respondeu 503 Service Unavailable".into(),
            retry_after_secs: None,
        })),
        true,
        None,
    );
    let deferred = language(&down, json!({"type": "enum", "id": 30}));
    assert!(deferred.unwrap_err().starts_with("adiado:"));
    let unknown = processor(
        options(Err(CrmError::Permanent {
            reason: "o campo não existe".into(),
        })),
        true,
        None,
    );
    let failed = language(&unknown, json!({"type": "enum", "id": 30}));
    assert!(failed
        .unwrap_err()
        .starts_with("não foi possível ler as opções"));
}

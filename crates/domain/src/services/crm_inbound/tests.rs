//! The decisions of the inbound use case, over the ports' mocks: a mock with no expectation
//! fails the test on any call, so each test names exactly the ports its path touches.

use chrono::{TimeZone, Utc};
use mockall::predicate::eq;

use super::*;
use crate::clock::SystemClock;
use crate::crm::CrmError;
use crate::crm_events::{CrmEventId, MockCrmEventInbox};
use crate::crm_inbound::tests::event;
use crate::crm_inbound::{CrmFieldOption, FieldValue, MockCrmEventReader, MockCrmFieldOptions};
use crate::crm_outbox::{MockCrmOutbox, MockCrmThrottle};
use crate::ports::MockAssignmentPort;
use crate::values::PipedriveUserId;

const FIELD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

/// Field options that answer `answer` exactly `calls` times.
fn options(answer: Result<Vec<CrmFieldOption>, CrmError>, calls: usize) -> MockCrmFieldOptions {
    let mut options = MockCrmFieldOptions::new();
    options
        .expect_field_options()
        .with(eq(FIELD))
        .times(calls)
        .returning(move |_| answer.clone());
    options
}

fn labels(calls: usize) -> MockCrmFieldOptions {
    let option = |id, label: &str| CrmFieldOption {
        id,
        label: label.to_owned(),
    };
    options(
        Ok(vec![
            option(30, "pt"),
            option(31, " EN "),
            option(32, "Português"),
        ]),
        calls,
    )
}

/// The processor over these ports; the ones not given are mocks that fail on any call.
struct Ports {
    inbox: MockCrmEventInbox,
    outbox: MockCrmOutbox,
    assignments: MockAssignmentPort,
    reader: MockCrmEventReader,
    options: MockCrmFieldOptions,
    languages: LanguageSource,
}

impl Ports {
    fn new() -> Self {
        Self {
            inbox: MockCrmEventInbox::new(),
            outbox: MockCrmOutbox::new(),
            assignments: MockAssignmentPort::new(),
            reader: MockCrmEventReader::new(),
            options: MockCrmFieldOptions::new(),
            languages: LanguageSource {
                field: None,
                default: Some(Language::parse("pt").unwrap()),
            },
        }
    }

    fn with_language(options: MockCrmFieldOptions, field: bool, default: Option<&str>) -> Self {
        Self {
            options,
            languages: LanguageSource {
                field: field.then(|| FIELD.to_owned()),
                default: default.map(|code| Language::parse(code).unwrap()),
            },
            ..Self::new()
        }
    }

    fn processor(self) -> WebhookProcessor {
        WebhookProcessor::new(
            Arc::new(self.inbox),
            Arc::new(self.outbox),
            DistributionService::new(Arc::new(self.assignments), Arc::new(SystemClock)),
            Arc::new(self.reader),
            Arc::new(self.options),
            self.languages,
            Arc::new(SystemClock),
            ProcessorSettings::DEFAULT,
        )
    }
}

fn created_deal(language: Option<FieldValue>) -> InboundCrmEvent {
    InboundCrmEvent {
        language,
        ..event(InboundAction::Create, CrmTarget::Deal(42))
    }
}

fn language(processor: &WebhookProcessor, value: Option<FieldValue>) -> Result<String, String> {
    match processor.language_of(&created_deal(value)) {
        Ok(result) => result.map(|language| language.as_str().to_owned()),
        Err(Deferral(reason)) => Err(format!("adiado: {reason}")),
    }
}

fn text(value: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(value.to_owned()))
}

#[test]
fn a_text_value_is_the_language_code() {
    let processor = Ports::with_language(labels(0), true, None).processor();
    assert_eq!(language(&processor, text(" PT-br ")), Ok("pt-br".into()));
    assert_eq!(language(&processor, text("en")), Ok("en".into()));
}

#[test]
fn an_option_is_read_through_its_label_once() {
    let processor = Ports::with_language(labels(1), true, None).processor();
    let option = |id| Some(FieldValue::Option(id));
    assert_eq!(language(&processor, option(31)), Ok("en".into()));
    assert_eq!(language(&processor, option(30)), Ok("pt".into()));
    assert_eq!(
        language(&processor, Some(FieldValue::Options(vec![30, 31]))),
        Ok("pt".into()),
        "several options: the first"
    );
}

#[test]
fn unusable_values_give_the_reason() {
    let processor = Ports::with_language(labels(1), true, None).processor();
    let invalid = language(&processor, text("português"));
    assert!(invalid.unwrap_err().starts_with("idioma inválido no campo"));
    let label = language(&processor, Some(FieldValue::Option(32)));
    assert!(label.unwrap_err().contains("\"Português\""));
    // A missing id reads the options again (an option added since), still without it.
    let missing = Ports::with_language(labels(1), true, None).processor();
    assert_eq!(
        language(&missing, Some(FieldValue::Option(99))),
        Err(format!("a opção 99 não existe no campo {FIELD}"))
    );
    let number = language(&processor, Some(FieldValue::Other("3".into())));
    assert!(number.unwrap_err().contains("não traz um idioma (valor 3)"));
    let empty = language(&processor, None);
    assert!(empty.unwrap_err().starts_with("sem idioma"));
    let unmarked = language(&processor, Some(FieldValue::Options(Vec::new())));
    assert!(unmarked.unwrap_err().contains("não tem opção marcada"));
}

#[test]
fn an_empty_field_or_no_field_falls_back_to_the_default() {
    let with_field = Ports::with_language(labels(0), true, Some("es")).processor();
    assert_eq!(language(&with_field, None), Ok("es".into()));
    let without_field = Ports::with_language(labels(0), false, Some("es")).processor();
    assert_eq!(language(&without_field, text("en")), Ok("es".into()));
    let nothing = Ports::with_language(labels(0), false, None).processor();
    assert!(language(&nothing, text("en"))
        .unwrap_err()
        .contains("nem PIPEDRIVE_LANGUAGE_FIELD nem PIPEDRIVE_DEFAULT_LANGUAGE"));
}

/// A throttle whose budget is spent for an hour.
fn spent() -> Arc<MockCrmThrottle> {
    let mut throttle = MockCrmThrottle::new();
    throttle
        .expect_pause()
        .returning(|| Some(Duration::from_secs(3600)));
    Arc::new(throttle)
}

#[test]
fn options_wait_for_a_spent_rate_budget_without_calling_the_crm() {
    let paused = Ports::with_language(labels(0), true, None)
        .processor()
        .with_throttle(spent());
    let deferred = language(&paused, Some(FieldValue::Option(30)));
    assert!(deferred
        .unwrap_err()
        .starts_with("adiado: limite de requisições"));
    assert_eq!(
        language(&paused, text("pt")),
        Ok("pt".into()),
        "text values need no call"
    );
}

#[test]
fn options_that_cannot_be_read_now_defer_the_event_and_unknown_fields_fail_it() {
    let transient = CrmError::Transient {
        reason: "Pipedrive respondeu 503 Service Unavailable".into(),
        retry_after_secs: None,
    };
    let down = Ports::with_language(options(Err(transient), 1), true, None).processor();
    let deferred = language(&down, Some(FieldValue::Option(30)));
    assert!(deferred.unwrap_err().starts_with("adiado:"));
    let permanent = CrmError::Permanent {
        reason: "o campo não existe".into(),
    };
    let unknown = Ports::with_language(options(Err(permanent), 1), true, None).processor();
    let failed = language(&unknown, Some(FieldValue::Option(30)));
    assert!(failed
        .unwrap_err()
        .starts_with("não foi possível ler as opções"));
}

// The round: which event leads to which outcome.

fn stored(id: i64) -> CrmEvent {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
    CrmEvent {
        id: CrmEventId(id),
        lease_until: at,
        key: format!("create:deal:{id}"),
        action: "create".into(),
        entity: "deal".into(),
        entity_id: id.to_string(),
        attempt: 1,
        payload: "{…}".into(),
        received_at: at,
    }
}

/// An inbox handing out `event` once and expecting it finished with `outcome`.
fn inbox_finishing(event: CrmEvent, outcome: CrmEventOutcome) -> MockCrmEventInbox {
    let mut inbox = MockCrmEventInbox::new();
    let claim = event.claim();
    inbox
        .expect_claim_pending()
        .times(1)
        .return_once(move |_, _, _| Ok(vec![event]));
    inbox
        .expect_finish()
        .withf(move |finished, recorded, _| *finished == claim && *recorded == outcome)
        .times(1)
        .returning(|_, _, _| Ok(()));
    inbox
}

fn reading(event: InboundCrmEvent) -> MockCrmEventReader {
    let mut reader = MockCrmEventReader::new();
    reader
        .expect_read()
        .times(1)
        .return_once(move |_, _| Ok(event));
    reader
}

fn one_round(processor: &WebhookProcessor) -> EventRound {
    let round = processor.process_pending(&|| false).unwrap();
    assert_eq!(round.claimed, 1);
    assert_eq!(round.handled.len(), 1);
    round
}

#[test]
fn an_unreadable_payload_fails_the_event() {
    let failed = CrmEventOutcome::Failed {
        reason: "payload ilegível: não é JSON".into(),
    };
    let mut reader = MockCrmEventReader::new();
    reader
        .expect_read()
        .returning(|_, _| Err(crate::crm_events::InvalidCrmEvent("não é JSON".into())));
    let processor = Ports {
        inbox: inbox_finishing(stored(1), failed),
        reader,
        ..Ports::new()
    }
    .processor();
    one_round(&processor);
}

#[test]
fn a_created_deal_is_assigned_idempotently_per_event_and_fails_when_nobody_is_free() {
    let mut assignments = MockAssignmentPort::new();
    assignments
        .expect_assign_next()
        .withf(|language, _, claim, actor, crm| {
            let claim = claim.as_ref().unwrap();
            language.as_str() == "pt"
                && claim.key.as_str() == "pipedrive-evento-7"
                && claim.scope == "pipedrive-webhook"
                && actor.api_key_description == WEBHOOK_ACTOR
                && *crm == Some(CrmTarget::Deal(42))
        })
        .times(1)
        .returning(|language, _, _, _, _| Err(DomainError::NoneAvailable(language.clone())));
    let failed = CrmEventOutcome::Failed {
        reason: DomainError::NoneAvailable(Language::parse("pt").unwrap()).to_string(),
    };
    let processor = Ports {
        inbox: inbox_finishing(stored(7), failed),
        reader: reading(created_deal(None)),
        assignments,
        ..Ports::new()
    }
    .processor();
    one_round(&processor);
}

#[test]
fn a_store_that_does_not_answer_leaves_the_event_for_later() {
    let mut assignments = MockAssignmentPort::new();
    assignments
        .expect_assign_next()
        .returning(|_, _, _, _, _| Err(DomainError::unavailable("conexão recusada")));
    let event = stored(7);
    let claim = event.claim();
    let mut inbox = MockCrmEventInbox::new();
    inbox
        .expect_claim_pending()
        .return_once(move |_, _, _| Ok(vec![event]));
    inbox
        .expect_defer()
        .withf(move |deferred, _, reason| *deferred == claim && reason.contains("recusada"))
        .times(1)
        .returning(|_, _, _| Ok(()));
    let processor = Ports {
        inbox,
        reader: reading(created_deal(None)),
        assignments,
        ..Ports::new()
    }
    .processor();
    let round = one_round(&processor);
    assert!(matches!(round.handled[0], HandledEvent::Deferred { .. }));
}

fn owner_change(owner: i64, previous: i64, by_a_person: bool) -> InboundCrmEvent {
    let user = |id| PipedriveUserId::new(id).ok();
    InboundCrmEvent {
        action: InboundAction::Change,
        by_a_person,
        owner: user(owner),
        previous_owner: user(previous),
        owner_in_changes: true,
        ..created_deal(None)
    }
}

fn outbox_that_set_owner(owner: i64) -> MockCrmOutbox {
    let mut outbox = MockCrmOutbox::new();
    outbox
        .expect_last_owner_set()
        .with(eq(CrmTarget::Deal(42)))
        .returning(move |_| Ok(PipedriveUserId::new(owner).ok()));
    outbox
}

#[test]
fn the_echo_of_our_own_owner_update_is_ignored_by_name() {
    let ignored = CrmEventOutcome::Ignored {
        reason: "eco da alteração de responsável feita por este serviço (usuário 7)".into(),
    };
    let processor = Ports {
        inbox: inbox_finishing(stored(3), ignored),
        reader: reading(owner_change(7, 9, false)),
        outbox: outbox_that_set_owner(7),
        ..Ports::new()
    }
    .processor();
    one_round(&processor);
}

#[test]
fn an_owner_a_person_changes_is_recorded_on_the_protocol() {
    // The same owner as ours, but set by a person in the web app: not an echo.
    let mut outbox = outbox_that_set_owner(7);
    outbox
        .expect_latest_protocol()
        .returning(|_| Ok(Some(crate::protocol::ProtocolId(5))));
    let processor = Ports {
        inbox: inbox_finishing(
            stored(3),
            CrmEventOutcome::Linked {
                protocol: crate::protocol::ProtocolId(5),
                reason: "responsável de deal 42 alterado no Pipedrive de usuário 9 para usuário \
                         7, que não é o id_pipedrive de nenhum consultor; o protocolo continua \
                         com o consultor que o recebeu"
                    .into(),
            },
        ),
        reader: reading(owner_change(7, 9, true)),
        outbox,
        ..Ports::new()
    }
    .processor();
    one_round(&processor);
}

#[test]
fn a_deleted_record_cancels_its_pending_actions() {
    let mut outbox = MockCrmOutbox::new();
    outbox
        .expect_cancel_pending()
        .withf(|record, reason, _| {
            *record == CrmTarget::Deal(42) && reason == "cancelada: deal 42 excluído no Pipedrive"
        })
        .times(1)
        .returning(|_, _, _| Ok(2));
    let ignored = CrmEventOutcome::Ignored {
        reason: "deal 42 excluído no Pipedrive: 2 ação(ões) pendente(s) cancelada(s)".into(),
    };
    let processor = Ports {
        inbox: inbox_finishing(stored(4), ignored),
        reader: reading(InboundCrmEvent {
            action: InboundAction::Delete,
            ..created_deal(None)
        }),
        outbox,
        ..Ports::new()
    }
    .processor();
    one_round(&processor);
}

#[test]
fn other_events_are_only_recorded() {
    let ignored = CrmEventOutcome::Ignored {
        reason: "evento create.deal ignorado: só negócios e leads criados são distribuídos".into(),
    };
    let processor = Ports {
        inbox: inbox_finishing(stored(5), ignored),
        reader: reading(InboundCrmEvent {
            record: Some(CrmTarget::Person(8)),
            ..created_deal(None)
        }),
        ..Ports::new()
    }
    .processor();
    one_round(&processor);
}

//! The worker's half of the inbound path: recorded CRM events become assignments.
//!
//! For a created deal or lead ([`InboundCrmEvent::target`]) the processor reads the contact's
//! language from the configured custom field (a text value, or an option whose label is the
//! code), falls back to the default language, and runs the rotation with the record as CRM
//! target, so the owner update and the note go through the outbox like those of any
//! `GET /consultor/da-vez?deal_id=…`. The assignment is idempotent per event (an
//! `Idempotency-Key` derived from the event's id), so a worker that dies between assigning and
//! recording the outcome assigns nothing twice when the event is claimed again.
//!
//! Every other event is recorded as ignored: changes (among them the echo of our own owner
//! update, recognised with [`InboundCrmEvent::is_owner_change_to`] and named as such), deletes,
//! other entities. A record that finds nobody available waits in the queue (with
//! [`WebhookProcessor::with_queue`], as the service runs it) and goes to the first consultant
//! who frees up; the event is then `concluido` with the queue entry in its reason. An event that
//! cannot be processed (unreadable payload, no usable language, nobody available without a
//! queue) is recorded as failed with the reason; a temporary failure (the database
//! or the CRM did not answer) leaves it pending for a later round.
//!
//! The CRM adapter only decodes: it reads the stored payloads ([`CrmEventReader`]), lists a
//! field's options ([`CrmFieldOptions`]) and recovers missed events ([`CrmCatchUp`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::audit::Actor;
use crate::clock::Clock;
use crate::crm::CrmTarget;
use crate::crm_events::{CrmEvent, CrmEventInbox, CrmEventOutcome};
use crate::crm_inbound::{
    CatchUpRound, CrmCatchUp, CrmEventReader, CrmFieldOptions, InboundAction, InboundCrmEvent,
};
use crate::crm_outbox::{CrmOutbox, CrmThrottle};
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, IdempotencyKey};
use crate::protocol::Priority;
use crate::services::crm_delivery::add;
use crate::services::{DistributionService, WaitingQueueService};
use crate::values::Language;
use crate::waiting::{MaxWait, NewWaitingEntry, WaitingLanguages};

mod language;
mod lifecycle;

pub use lifecycle::ProtocolRecords;

/// Where a created record's language comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LanguageSource {
    /// The key of the custom field holding the language (`PIPEDRIVE_LANGUAGE_FIELD`).
    pub field: Option<String>,
    /// The language when the field is not configured or empty (`PIPEDRIVE_DEFAULT_LANGUAGE`).
    pub default: Option<Language>,
}

/// How the processor works through the recorded events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessorSettings {
    /// Events claimed per round.
    pub batch: u32,
    /// How long a claim keeps an event away from other workers.
    pub lease: Duration,
    /// How long an event waits after a temporary failure.
    pub retry_after: Duration,
    /// How long the labels of the language field's options are reused.
    pub options_ttl: Duration,
}

impl ProcessorSettings {
    /// 10 events per round, a 2-minute lease, 30 s after a temporary failure, options cached
    /// for 10 minutes.
    pub const DEFAULT: Self = Self {
        batch: 10,
        lease: Duration::from_secs(120),
        retry_after: Duration::from_secs(30),
        options_ttl: Duration::from_secs(600),
    };
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One event handled in a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandledEvent {
    /// Processed: its outcome is recorded.
    Finished {
        key: String,
        outcome: CrmEventOutcome,
    },
    /// Left pending after a temporary failure.
    Deferred { key: String, reason: String },
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventRound {
    /// Events claimed.
    pub claimed: usize,
    /// Each event handled, in order.
    pub handled: Vec<HandledEvent>,
    /// The catch-up of missed events, when one ran before this round.
    pub catch_up: CatchUpRound,
}

impl EventRound {
    /// Whether the round did something the log should say.
    pub fn is_worth_reporting(&self) -> bool {
        !self.handled.is_empty()
            || !self.catch_up.recovered.is_empty()
            || !self.catch_up.warnings.is_empty()
    }
}

/// The description recorded in the audit trail for assignments made from Pipedrive webhooks.
pub const WEBHOOK_ACTOR: &str = Actor::PIPEDRIVE_WEBHOOK;

/// The idempotency scope of assignments made from webhooks (apart from every API key's).
const IDEMPOTENCY_SCOPE: &str = "pipedrive-webhook";

/// Turns recorded CRM events into assignments (see the module documentation).
pub struct WebhookProcessor {
    inbox: Arc<dyn CrmEventInbox>,
    outbox: Arc<dyn CrmOutbox>,
    distribution: DistributionService,
    reader: Arc<dyn CrmEventReader>,
    options: Arc<dyn CrmFieldOptions>,
    languages: LanguageSource,
    clock: Arc<dyn Clock>,
    settings: ProcessorSettings,
    labels: Mutex<Option<(Instant, HashMap<i64, String>)>>,
    throttle: Option<Arc<dyn CrmThrottle>>,
    records: Option<ProtocolRecords>,
    catch_up: Option<Arc<dyn CrmCatchUp>>,
    queue: Option<WaitingQueueService>,
}

service_debug!(WebhookProcessor, languages, settings);

/// Why an event is left for later.
struct Deferral(String);

impl WebhookProcessor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        inbox: Arc<dyn CrmEventInbox>,
        outbox: Arc<dyn CrmOutbox>,
        distribution: DistributionService,
        reader: Arc<dyn CrmEventReader>,
        options: Arc<dyn CrmFieldOptions>,
        languages: LanguageSource,
        clock: Arc<dyn Clock>,
        settings: ProcessorSettings,
    ) -> Self {
        Self {
            inbox,
            outbox,
            distribution,
            reader,
            options,
            languages,
            clock,
            settings,
            labels: Mutex::new(None),
            throttle: None,
            records: None,
            catch_up: None,
            queue: None,
        }
    }

    /// The same processor, asking `throttle` before reading field options from the CRM: while
    /// the rate budget is spent, an event that needs them waits instead of earning another 429.
    pub fn with_throttle(mut self, throttle: Arc<dyn CrmThrottle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The same processor, recording owner changes made in the CRM on the protocols: a
    /// protocol whose record a person hands to another consultant's CRM user is
    /// reassigned to that consultant (audited).
    pub fn with_protocol_records(mut self, records: ProtocolRecords) -> Self {
        self.records = Some(records);
        self
    }

    /// The same processor, running `catch_up` (when due) before its rounds, so the records it
    /// recovers are handed out in the same round.
    pub fn with_catch_up(mut self, catch_up: Arc<dyn CrmCatchUp>) -> Self {
        self.catch_up = Some(catch_up);
        self
    }

    /// The same processor, putting a record that finds nobody available in the waiting
    /// `queue` (handed to the first consultant who frees up) instead of failing the event.
    pub fn with_queue(mut self, queue: WaitingQueueService) -> Self {
        self.queue = Some(queue);
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &ProcessorSettings {
        &self.settings
    }

    /// One round: claims up to a batch of pending events and handles each, checking `stop`
    /// before each (events not handled come back when their lease ends). Store failures while
    /// claiming or recording an outcome end the round with the error.
    pub fn process_pending(&self, stop: &dyn Fn() -> bool) -> Result<EventRound, DomainError> {
        let catch_up = match &self.catch_up {
            Some(catch_up) => catch_up.run_if_due()?,
            None => CatchUpRound::default(),
        };
        let now = self.clock.now();
        let events =
            self.inbox
                .claim_pending(now, add(now, self.settings.lease), self.settings.batch)?;
        let mut round = EventRound {
            claimed: events.len(),
            handled: Vec::with_capacity(events.len()),
            catch_up,
        };
        for event in events {
            if stop() {
                break;
            }
            match self.handle(&event) {
                Ok(outcome) => {
                    self.inbox
                        .finish(event.claim(), &outcome, self.clock.now())?;
                    round.handled.push(HandledEvent::Finished {
                        key: event.key,
                        outcome,
                    });
                }
                Err(Deferral(reason)) => {
                    let retry_at = add(self.clock.now(), self.settings.retry_after);
                    self.inbox.defer(event.claim(), retry_at, &reason)?;
                    round.handled.push(HandledEvent::Deferred {
                        key: event.key,
                        reason,
                    });
                }
            }
        }
        Ok(round)
    }

    fn handle(&self, event: &CrmEvent) -> Result<CrmEventOutcome, Deferral> {
        let parsed = match self
            .reader
            .read(&event.payload, self.languages.field.as_deref())
        {
            Ok(parsed) => parsed,
            Err(reason) => return Ok(failed(format!("payload ilegível: {reason}"))),
        };
        let Some(target) = parsed.target() else {
            return self.ignored(event, &parsed);
        };
        match lifecycle::conversion(self.outbox.as_ref(), &parsed, &target) {
            Ok(Some(linked)) => return Ok(linked),
            Ok(None) => {}
            Err(error) => return settled(error),
        }
        let language = match self.language_of(&parsed)? {
            Ok(language) => language,
            Err(reason) => return Ok(failed(reason)),
        };
        self.assign(event, &language, target)
    }

    /// Events that assign nothing: deletes and merges cancel the record's pending actions;
    /// the echo of our own owner update is named as such; an owner changed by someone else is
    /// recorded on the protocol; everything else is only recorded.
    fn ignored(
        &self,
        stored: &CrmEvent,
        event: &InboundCrmEvent,
    ) -> Result<CrmEventOutcome, Deferral> {
        let now = self.clock.now();
        if event.action == InboundAction::Delete {
            if let Some(record) = &event.record {
                return lifecycle::removed(self.outbox.as_ref(), event, record, now)
                    .or_else(settled);
            }
        }
        if event.action == InboundAction::Change {
            if let Some(record) = &event.record {
                let ours = self.outbox.last_owner_set(record).map_err(defer_store)?;
                // A change made in the web app is a person's, even when it hands the record
                // back to the owner this service chose.
                let echo =
                    ours.filter(|owner| !event.by_a_person && event.is_owner_change_to(*owner));
                if let Some(owner) = echo {
                    return Ok(CrmEventOutcome::Ignored {
                        reason: format!(
                            "eco da alteração de responsável feita por este serviço (usuário {owner})"
                        ),
                    });
                }
                if event.changed_owner() {
                    return lifecycle::owner_changed(
                        self.outbox.as_ref(),
                        self.records.as_ref(),
                        event,
                        record,
                        now,
                        &webhook_actor(stored),
                    )
                    .or_else(settled);
                }
            }
        }
        Ok(CrmEventOutcome::Ignored {
            reason: format!(
                "evento {}.{} ignorado: só negócios e leads criados são distribuídos",
                stored.action, stored.entity
            ),
        })
    }

    fn assign(
        &self,
        event: &CrmEvent,
        language: &Language,
        target: CrmTarget,
    ) -> Result<CrmEventOutcome, Deferral> {
        let request = format!("pipedrive-evento-{}", event.id.0);
        let key = IdempotencyKey::parse(&request)
            .map_err(|problem| Deferral(format!("chave de idempotência inválida: {problem}")))?;
        let claim = IdempotencyClaim::new(
            IDEMPOTENCY_SCOPE.to_owned(),
            key,
            format!("webhook {}", event.key),
            self.distribution.now(),
        );
        let actor = webhook_actor(event);
        match self
            .distribution
            .assign_next(language, Some(claim), &actor, Some(target.clone()))
        {
            Ok(recorded) => Ok(CrmEventOutcome::Assigned {
                protocol: recorded.value.protocol.id,
            }),
            Err(DomainError::NoneAvailable(_)) if self.queue.is_some() => {
                self.enqueue(event, language, target, &actor)
            }
            Err(error @ DomainError::Unavailable(_)) => Err(defer_store(error)),
            // Nobody available, a bug: retrying the same event would not help.
            Err(error) => Ok(failed(crate::error_chain(&error))),
        }
    }
}

/// The actor of what an event causes: `pipedrive-webhook`, with a request id naming the event.
fn webhook_actor(event: &CrmEvent) -> Actor {
    Actor {
        api_key_id: None,
        api_key_description: WEBHOOK_ACTOR.to_owned(),
        request_id: format!("pipedrive-evento-{}", event.id.0),
    }
}

/// A store error while handling an event: the event waits when the store did not answer, and
/// fails with the reason otherwise (retrying would not help).
fn settled(error: DomainError) -> Result<CrmEventOutcome, Deferral> {
    match error {
        DomainError::Unavailable(_) => Err(defer_store(error)),
        other => Ok(failed(crate::error_chain(&other))),
    }
}

impl WebhookProcessor {
    /// Puts the record in the waiting queue (idempotent per event, like the assignment).
    fn enqueue(
        &self,
        event: &CrmEvent,
        language: &Language,
        target: CrmTarget,
        actor: &Actor,
    ) -> Result<CrmEventOutcome, Deferral> {
        let Some(queue) = &self.queue else {
            return Ok(failed("nenhum consultor disponível".to_owned()));
        };
        let key = IdempotencyKey::parse(&format!("pipedrive-fila-{}", event.id.0))
            .map_err(|problem| Deferral(format!("chave de idempotência inválida: {problem}")))?;
        let claim = IdempotencyClaim::new(
            IDEMPOTENCY_SCOPE.to_owned(),
            key,
            format!("fila {}", event.key),
            queue.now(),
        );
        let languages = WaitingLanguages::new(language.clone(), Vec::new())
            .map_err(|problem| Deferral(problem.to_string()))?;
        let new = NewWaitingEntry {
            languages,
            reference: Some(format!(
                "pipedrive:{}:{}",
                target.kind().as_str(),
                target.id_text()
            )),
            description: None,
            priority: Priority::Normal,
            crm: Some(target),
            max_wait: MaxWait::default(),
        };
        match queue.enqueue(&new, Some(claim), actor, true) {
            Ok(recorded) => {
                let entry = recorded.value;
                Ok(match entry.protocol {
                    // Someone freed up meanwhile: assigned at once.
                    Some(protocol) => CrmEventOutcome::Assigned {
                        protocol: protocol.id,
                    },
                    None => CrmEventOutcome::Queued {
                        entry: entry.id,
                        reason: format!("aguardando na fila (entrada {})", entry.id.0),
                    },
                })
            }
            Err(error @ DomainError::Unavailable(_)) => Err(defer_store(error)),
            Err(error) => Ok(failed(crate::error_chain(&error))),
        }
    }
}

fn failed(reason: String) -> CrmEventOutcome {
    CrmEventOutcome::Failed { reason }
}

fn defer_store(error: DomainError) -> Deferral {
    Deferral(crate::error_chain(&error))
}

#[cfg(test)]
mod tests;

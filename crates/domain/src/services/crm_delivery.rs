use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::crm::{CrmError, CrmGateway};
use crate::crm_outbox::{CrmAction, CrmOutbox, CrmThrottle, OutboxItem, RetryPolicy};
use crate::error::DomainError;

/// How the delivery worker works through the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// Items claimed per round.
    pub batch: u32,
    /// How long a claim keeps an item away from other workers: far longer than a round takes
    /// (`batch` calls, each bounded by the CRM client's timeout), so a live worker never loses
    /// its items; a dead worker's items come back when it ends.
    pub lease: Duration,
    /// An item still failing temporarily this long after it was written is given up
    /// (`falhou`, with the last reason).
    pub give_up_after: Duration,
}

impl DeliverySettings {
    /// 10 items per round, a 5-minute lease, giving up after 24 hours.
    pub const DEFAULT: Self = Self {
        batch: 10,
        lease: Duration::from_secs(300),
        give_up_after: Duration::from_secs(24 * 3600),
    };
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Items claimed.
    pub claimed: usize,
    /// Delivered (`concluido`).
    pub delivered: usize,
    /// Failed temporarily, due again later.
    pub rescheduled: usize,
    /// Given up (`falhou`).
    pub failed: usize,
    /// Claimed but not tried (pause or stop), released at once.
    pub released: usize,
    /// The CRM's rate budget is spent: wait this long before the next round.
    pub pause: Option<Duration>,
}

impl DeliveryRound {
    /// Whether the round used its whole batch, so more items may be due right away.
    pub fn was_full(&self, settings: &DeliverySettings) -> bool {
        self.claimed >= settings.batch as usize && self.pause.is_none()
    }
}

/// The delivery worker's logic: claims due outbox items and performs them through the CRM port.
///
/// Per item: success → `concluido`; [`CrmError::Transient`] → due again after the
/// [`RetryPolicy`]'s delay (at least what the CRM asked for), or `falhou` once the item is older
/// than [`DeliverySettings::give_up_after`]; [`CrmError::Permanent`] → `falhou` with the reason.
/// When the CRM asks for a pause ([`CrmThrottle`]: a spent budget, a 429, a block), the round
/// stops, the items not yet tried are released untouched, and the round reports the pause:
/// traffic after 429s gets a token blocked, so the whole worker waits, not just one item.
#[derive(Clone)]
pub struct CrmDeliveryService {
    outbox: Arc<dyn CrmOutbox>,
    gateway: Arc<dyn CrmGateway>,
    throttle: Arc<dyn CrmThrottle>,
    retry: Arc<dyn RetryPolicy>,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
}

impl std::fmt::Debug for CrmDeliveryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmDeliveryService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CrmDeliveryService {
    pub fn new(
        outbox: Arc<dyn CrmOutbox>,
        gateway: Arc<dyn CrmGateway>,
        throttle: Arc<dyn CrmThrottle>,
        retry: Arc<dyn RetryPolicy>,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            outbox,
            gateway,
            throttle,
            retry,
            clock,
            settings,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &DeliverySettings {
        &self.settings
    }

    /// One round: claims up to a batch of due items and tries each once, checking `stop` before
    /// each call (a stopping worker releases what it has not tried, so a restart delivers it at
    /// once instead of after the lease). Store failures end the round with the error; items
    /// claimed and not finished then come back when their lease ends.
    pub fn deliver_due(&self, stop: &dyn Fn() -> bool) -> Result<DeliveryRound, DomainError> {
        let mut round = DeliveryRound::default();
        if let Some(pause) = self.throttle.pause() {
            round.pause = Some(pause);
            return Ok(round);
        }
        let now = self.clock.now();
        let items =
            self.outbox
                .claim_due(now, add(now, self.settings.lease), self.settings.batch)?;
        round.claimed = items.len();
        let mut items = items.into_iter();
        while let Some(item) = items.next() {
            if stop() {
                round.released += self.release(std::iter::once(item).chain(items.by_ref()), now)?;
                break;
            }
            self.deliver(&item, &mut round)?;
            if let Some(pause) = self.throttle.pause() {
                let resume = add(self.clock.now(), pause);
                round.released += self.release(items.by_ref(), resume)?;
                round.pause = Some(pause);
                break;
            }
        }
        Ok(round)
    }

    fn deliver(&self, item: &OutboxItem, round: &mut DeliveryRound) -> Result<(), DomainError> {
        let result = match &item.action {
            CrmAction::SetOwner(owner) => self.gateway.set_owner(&item.target, *owner),
            CrmAction::AddNote(content) => match item.note_author {
                Some(author) => self.gateway.add_note_as(&item.target, content, author),
                None => self.gateway.add_note(&item.target, content),
            },
        };
        let attempts = item.attempts.saturating_add(1);
        let now = self.clock.now();
        match result {
            Ok(()) => {
                self.outbox.complete(item.claim(), attempts, now)?;
                round.delivered += 1;
            }
            Err(CrmError::Permanent { reason }) => {
                self.outbox.fail(item.claim(), attempts, &reason, now)?;
                round.failed += 1;
            }
            Err(CrmError::Transient {
                reason,
                retry_after_secs,
            }) => {
                if now >= add(item.created_at, self.settings.give_up_after) {
                    let hours = self.settings.give_up_after.as_secs() / 3600;
                    let reason = format!(
                        "desistiu após {attempts} tentativas em {hours} h; última falha: {reason}"
                    );
                    self.outbox.fail(item.claim(), attempts, &reason, now)?;
                    round.failed += 1;
                } else {
                    let delay = self.retry.next_delay(attempts, retry_after_secs);
                    self.outbox.reschedule(
                        item.claim(),
                        attempts,
                        add(now, delay),
                        &reason,
                        now,
                    )?;
                    round.rescheduled += 1;
                }
            }
        }
        Ok(())
    }

    fn release(
        &self,
        items: impl Iterator<Item = OutboxItem>,
        due_at: DateTime<Utc>,
    ) -> Result<usize, DomainError> {
        let now = self.clock.now();
        let mut released = 0;
        for item in items {
            self.outbox.release(item.claim(), due_at, now)?;
            released += 1;
        }
        Ok(released)
    }
}

/// `at + duration`, saturating far in the future instead of overflowing.
fn add(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|duration| at.checked_add_signed(duration))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use mockall::predicate::{always, eq};
    use mockall::Sequence;

    use super::*;
    use crate::clock::MockClock;
    use crate::crm::{CrmTarget, MockCrmGateway};
    use crate::crm_outbox::{
        MockCrmOutbox, MockCrmThrottle, MockRetryPolicy, OutboxClaim, OutboxItemId,
    };
    use crate::protocol::ProtocolId;
    use crate::services::test_clock::now;
    use crate::values::PipedriveUserId;

    fn secs(value: i64) -> chrono::Duration {
        chrono::Duration::seconds(value)
    }

    fn owner() -> PipedriveUserId {
        PipedriveUserId::new(456).unwrap()
    }

    fn lease() -> DateTime<Utc> {
        now() + secs(300)
    }

    fn claim(id: i64) -> OutboxClaim {
        OutboxClaim {
            id: OutboxItemId(id),
            lease_until: lease(),
        }
    }

    fn item(id: i64, action: CrmAction) -> OutboxItem {
        OutboxItem {
            id: OutboxItemId(id),
            lease_until: lease(),
            protocol_id: Some(ProtocolId(42)),
            target: CrmTarget::Deal(42),
            action,
            attempts: 0,
            created_at: now() - secs(5),
            note_author: None,
        }
    }

    fn set_owner(id: i64) -> OutboxItem {
        item(id, CrmAction::SetOwner(owner()))
    }

    fn note(id: i64) -> OutboxItem {
        item(
            id,
            CrmAction::AddNote("Protocolo #00042 — atendimento atribuído a João Silva".into()),
        )
    }

    fn clock() -> MockClock {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now());
        clock
    }

    fn no_pause() -> MockCrmThrottle {
        let mut throttle = MockCrmThrottle::new();
        throttle.expect_pause().return_const(None);
        throttle
    }

    fn doubling() -> MockRetryPolicy {
        let mut retry = MockRetryPolicy::new();
        retry.expect_next_delay().returning(|attempt, after| {
            let exponential = Duration::from_secs(2u64 << attempt.saturating_sub(1).min(20));
            exponential.max(Duration::from_secs(after.unwrap_or(0)))
        });
        retry
    }

    fn claims(outbox: &mut MockCrmOutbox, items: Vec<OutboxItem>) {
        outbox
            .expect_claim_due()
            .with(eq(now()), eq(now() + secs(300)), eq(10))
            .times(1)
            .return_once(move |_, _, _| Ok(items));
    }

    fn service(
        outbox: MockCrmOutbox,
        gateway: MockCrmGateway,
        throttle: MockCrmThrottle,
        retry: MockRetryPolicy,
    ) -> CrmDeliveryService {
        CrmDeliveryService::new(
            Arc::new(outbox),
            Arc::new(gateway),
            Arc::new(throttle),
            Arc::new(retry),
            Arc::new(clock()),
            DeliverySettings::DEFAULT,
        )
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn delivers_the_owner_then_the_note_and_completes_both() {
        let mut outbox = MockCrmOutbox::new();
        claims(&mut outbox, vec![set_owner(1), note(2)]);
        let mut gateway = MockCrmGateway::new();
        let mut order = Sequence::new();
        gateway
            .expect_set_owner()
            .with(eq(CrmTarget::Deal(42)), eq(owner()))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(()));
        gateway
            .expect_add_note()
            .with(
                eq(CrmTarget::Deal(42)),
                eq("Protocolo #00042 — atendimento atribuído a João Silva"),
            )
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(()));
        outbox
            .expect_complete()
            .with(eq(claim(1)), eq(1), eq(now()))
            .times(1)
            .returning(|_, _, _| Ok(()));
        outbox
            .expect_complete()
            .with(eq(claim(2)), eq(1), eq(now()))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let round = service(outbox, gateway, no_pause(), doubling())
            .deliver_due(&never)
            .unwrap();
        assert_eq!(
            round,
            DeliveryRound {
                claimed: 2,
                delivered: 2,
                ..DeliveryRound::default()
            }
        );
    }

    #[test]
    fn a_note_with_an_author_is_added_as_that_author() {
        let mut outbox = MockCrmOutbox::new();
        let mut authored = note(1);
        authored.note_author = Some(owner());
        claims(&mut outbox, vec![authored]);
        let mut gateway = MockCrmGateway::new();
        gateway
            .expect_add_note_as()
            .with(eq(CrmTarget::Deal(42)), always(), eq(owner()))
            .times(1)
            .returning(|_, _, _| Ok(()));
        gateway.expect_add_note().never();
        outbox
            .expect_complete()
            .with(eq(claim(1)), eq(1), eq(now()))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let round = service(outbox, gateway, no_pause(), doubling())
            .deliver_due(&never)
            .unwrap();
        assert_eq!(round.delivered, 1);
    }

    #[test]
    fn a_permanent_error_fails_the_item_with_the_reason() {
        let mut outbox = MockCrmOutbox::new();
        claims(&mut outbox, vec![set_owner(1)]);
        let mut gateway = MockCrmGateway::new();
        gateway.expect_set_owner().times(1).returning(|_, _| {
            Err(CrmError::Permanent {
                reason: "Pipedrive respondeu 404 Not Found: Deal not found".into(),
            })
        });
        outbox
            .expect_fail()
            .with(
                eq(claim(1)),
                eq(1),
                eq("Pipedrive respondeu 404 Not Found: Deal not found"),
                eq(now()),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let round = service(outbox, gateway, no_pause(), doubling())
            .deliver_due(&never)
            .unwrap();
        assert_eq!(round.failed, 1);
        assert_eq!(round.delivered, 0);
    }

    #[test]
    fn a_transient_error_reschedules_with_the_backoff() {
        let mut outbox = MockCrmOutbox::new();
        let mut retried = note(1);
        retried.attempts = 2;
        claims(&mut outbox, vec![retried]);
        let mut gateway = MockCrmGateway::new();
        gateway.expect_add_note().times(1).returning(|_, _| {
            Err(CrmError::Transient {
                reason: "Pipedrive respondeu 500 Internal Server Error".into(),
                retry_after_secs: None,
            })
        });
        let mut retry = MockRetryPolicy::new();
        retry
            .expect_next_delay()
            .with(eq(3), eq(None))
            .times(1)
            .return_const(Duration::from_secs(8));
        outbox
            .expect_reschedule()
            .with(
                eq(claim(1)),
                eq(3),
                eq(now() + secs(8)),
                eq("Pipedrive respondeu 500 Internal Server Error"),
                eq(now()),
            )
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        let round = service(outbox, gateway, no_pause(), retry)
            .deliver_due(&never)
            .unwrap();
        assert_eq!(round.rescheduled, 1);
    }

    #[test]
    fn the_wait_the_crm_asked_for_is_passed_to_the_retry_policy() {
        let mut outbox = MockCrmOutbox::new();
        claims(&mut outbox, vec![set_owner(1)]);
        let mut gateway = MockCrmGateway::new();
        gateway.expect_set_owner().times(1).returning(|_, _| {
            Err(CrmError::Transient {
                reason: "Pipedrive respondeu 429 Too Many Requests".into(),
                retry_after_secs: Some(30),
            })
        });
        outbox
            .expect_reschedule()
            .with(
                eq(claim(1)),
                eq(1),
                eq(now() + secs(30)),
                always(),
                eq(now()),
            )
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        service(outbox, gateway, no_pause(), doubling())
            .deliver_due(&never)
            .unwrap();
    }

    #[test]
    fn an_item_failing_temporarily_for_a_day_is_given_up() {
        let mut outbox = MockCrmOutbox::new();
        let mut old = set_owner(1);
        old.created_at = now() - secs(24 * 3600);
        old.attempts = 150;
        claims(&mut outbox, vec![old]);
        let mut gateway = MockCrmGateway::new();
        gateway.expect_set_owner().times(1).returning(|_, _| {
            Err(CrmError::Transient {
                reason: "falha de rede ao chamar o Pipedrive: connection refused".into(),
                retry_after_secs: None,
            })
        });
        outbox
            .expect_fail()
            .withf(|id, attempts, reason, _| {
                *id == claim(1)
                    && *attempts == 151
                    && reason.starts_with("desistiu após 151 tentativas em 24 h")
                    && reason.ends_with("connection refused")
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let round = service(outbox, gateway, no_pause(), MockRetryPolicy::new())
            .deliver_due(&never)
            .unwrap();
        assert_eq!(round.failed, 1);
    }

    #[test]
    fn a_spent_budget_before_the_round_claims_nothing() {
        let mut throttle = MockCrmThrottle::new();
        throttle
            .expect_pause()
            .times(1)
            .return_const(Some(Duration::from_secs(2)));
        let round = service(
            MockCrmOutbox::new(),
            MockCrmGateway::new(),
            throttle,
            MockRetryPolicy::new(),
        )
        .deliver_due(&never)
        .unwrap();
        assert_eq!(round.pause, Some(Duration::from_secs(2)));
        assert_eq!(round.claimed, 0);
    }

    #[test]
    fn a_budget_spent_mid_round_releases_the_rest_until_the_reset() {
        let mut outbox = MockCrmOutbox::new();
        claims(&mut outbox, vec![set_owner(1), note(2), set_owner(3)]);
        let mut gateway = MockCrmGateway::new();
        gateway.expect_set_owner().times(1).returning(|_, _| Ok(()));
        outbox
            .expect_complete()
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut throttle = MockCrmThrottle::new();
        let checks = AtomicUsize::new(0);
        throttle.expect_pause().returning(move || {
            // Free before the round; spent after the first call.
            if checks.fetch_add(1, Ordering::SeqCst) == 0 {
                None
            } else {
                Some(Duration::from_secs(2))
            }
        });
        for id in [2, 3] {
            outbox
                .expect_release()
                .with(eq(claim(id)), eq(now() + secs(2)), eq(now()))
                .times(1)
                .returning(|_, _, _| Ok(()));
        }
        let round = service(outbox, gateway, throttle, doubling())
            .deliver_due(&never)
            .unwrap();
        assert_eq!(
            round,
            DeliveryRound {
                claimed: 3,
                delivered: 1,
                released: 2,
                pause: Some(Duration::from_secs(2)),
                ..DeliveryRound::default()
            }
        );
    }

    #[test]
    fn a_stopping_worker_releases_what_it_has_not_tried() {
        let mut outbox = MockCrmOutbox::new();
        claims(&mut outbox, vec![set_owner(1), note(2)]);
        let mut gateway = MockCrmGateway::new();
        gateway.expect_set_owner().times(1).returning(|_, _| Ok(()));
        outbox
            .expect_complete()
            .times(1)
            .returning(|_, _, _| Ok(()));
        outbox
            .expect_release()
            .with(eq(claim(2)), eq(now()), eq(now()))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let asked = AtomicUsize::new(0);
        let stop_after_one = move || asked.fetch_add(1, Ordering::SeqCst) >= 1;
        let round = service(outbox, gateway, no_pause(), doubling())
            .deliver_due(&stop_after_one)
            .unwrap();
        assert_eq!(round.delivered, 1);
        assert_eq!(round.released, 1);
    }

    #[test]
    fn a_store_failure_ends_the_round_with_the_error() {
        let mut outbox = MockCrmOutbox::new();
        outbox
            .expect_claim_due()
            .times(1)
            .returning(|_, _, _| Err(DomainError::unavailable("pool timeout")));
        let result =
            service(outbox, MockCrmGateway::new(), no_pause(), doubling()).deliver_due(&never);
        assert!(matches!(result, Err(DomainError::Unavailable(_))));
    }

    #[test]
    fn an_empty_outbox_is_a_quiet_round() {
        let mut outbox = MockCrmOutbox::new();
        claims(&mut outbox, Vec::new());
        let round = service(outbox, MockCrmGateway::new(), no_pause(), doubling())
            .deliver_due(&never)
            .unwrap();
        assert_eq!(round, DeliveryRound::default());
        assert!(!round.was_full(&DeliverySettings::DEFAULT));
    }
}

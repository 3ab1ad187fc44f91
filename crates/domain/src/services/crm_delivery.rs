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

service_over_ports! {
    /// The delivery worker's logic: claims due outbox items and performs them through the CRM
    /// port.
    ///
    /// Per item: success → `concluido`; [`CrmError::Transient`] → due again after the
    /// [`RetryPolicy`]'s delay (at least what the CRM asked for), or `falhou` once the item is
    /// older than [`DeliverySettings::give_up_after`]; [`CrmError::Permanent`] → `falhou` with the
    /// reason.
    /// When the CRM asks for a pause ([`CrmThrottle`]: a spent budget, a 429, a block), the round
    /// stops, the items not yet tried are released untouched, and the round reports the pause:
    /// traffic after 429s gets a token blocked, so the whole worker waits, not just one item.
    pub struct CrmDeliveryService {
        outbox: Arc<dyn CrmOutbox>,
        gateway: Arc<dyn CrmGateway>,
        throttle: Arc<dyn CrmThrottle>,
        retry: Arc<dyn RetryPolicy>,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
    }
    showing settings
}

impl CrmDeliveryService {
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

/// `at + duration`, saturating far in the future instead of overflowing (the leases and
/// retries of both CRM rounds, outbound and inbound).
pub(super) fn add(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|duration| at.checked_add_signed(duration))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests;

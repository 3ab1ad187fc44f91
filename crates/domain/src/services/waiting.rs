use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::audit::Actor;
use crate::clock::Clock;
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::values::Language;
use crate::waiting::{
    DispatchRound, NewWaitingEntry, WaitingEntry, WaitingEntryId, WaitingFilter, WaitingPage,
    WaitingQueue,
};

/// Wakes this process's dispatcher: every change that may free a consultant (a switch online, a
/// protocol closed, a consultant edited or created) calls [`DispatchSignal::notify`]; the
/// dispatcher waits on [`DispatchSignal::wait`] with a short timeout, which covers the changes
/// that are only the clock and the ones made by other replicas. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct DispatchSignal {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl DispatchSignal {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a pass as soon as possible (several calls before the pass make one pass).
    pub fn notify(&self) {
        let (flag, condvar) = &*self.inner;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        condvar.notify_all();
    }

    /// Waits until notified or until `timeout` passes; `true` if notified. Clears the request.
    pub fn wait(&self, timeout: Duration) -> bool {
        let (flag, condvar) = &*self.inner;
        let guard = flag.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut guard, _) = condvar
            .wait_timeout_while(guard, timeout, |notified| !*notified)
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *guard, false)
    }
}

service_over_ports! {
    /// The waiting queue's use cases: queue, read, cancel, and the dispatcher's pass.
    pub struct WaitingQueueService {
        queue: Arc<dyn WaitingQueue>,
        clock: Arc<dyn Clock>,
        signal: DispatchSignal,
    }
}

impl WaitingQueueService {
    /// Entries examined per dispatch transaction: bounds how long one pass holds the rotation.
    pub const BATCH: u32 = 50;

    /// The signal that wakes this process's dispatcher.
    pub fn signal(&self) -> &DispatchSignal {
        &self.signal
    }

    /// The time the service would stamp now (used to build idempotency claims consistently).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Queues a contact (assigned at once when someone is free and nobody waits ahead).
    pub fn enqueue(
        &self,
        new: &NewWaitingEntry,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm_enabled: bool,
    ) -> Result<Recorded<WaitingEntry>, DomainError> {
        self.queue
            .enqueue(new, self.clock.now(), claim, actor, crm_enabled)
    }

    pub fn get(&self, id: WaitingEntryId) -> Result<WaitingEntry, DomainError> {
        self.queue
            .get(id, self.clock.now())?
            .ok_or(DomainError::WaitingEntryNotFound)
    }

    pub fn list(&self, filter: &WaitingFilter) -> Result<WaitingPage, DomainError> {
        self.queue.list(filter, self.clock.now())
    }

    pub fn cancel(&self, id: WaitingEntryId, actor: &Actor) -> Result<WaitingEntry, DomainError> {
        self.queue.cancel(id, self.clock.now(), actor)
    }

    /// One dispatcher pass (see [`WaitingQueue::dispatch`]).
    pub fn dispatch(&self, actor: &Actor, crm_enabled: bool) -> Result<DispatchRound, DomainError> {
        self.queue
            .dispatch(self.clock.now(), actor, crm_enabled, Self::BATCH)
    }

    /// Contacts waiting in any of `languages` (for the `da-vez` 404's `aguardando`).
    pub fn waiting_count(&self, languages: &[Language]) -> Result<u64, DomainError> {
        self.queue.waiting_count(languages, self.clock.now())
    }

    /// Waiting entries per primary language.
    pub fn waiting_by_language(&self) -> Result<Vec<(Language, u64)>, DomainError> {
        self.queue.waiting_by_language()
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::audit::tests::actor;
    use crate::services::test_clock::{clock_read_once, now};
    use crate::waiting::MockWaitingQueue;

    fn service(queue: MockWaitingQueue, clock: crate::clock::MockClock) -> WaitingQueueService {
        WaitingQueueService::new(Arc::new(queue), Arc::new(clock), DispatchSignal::new())
    }

    #[test]
    fn get_of_an_unknown_entry_is_not_found() {
        let mut queue = MockWaitingQueue::new();
        queue
            .expect_get()
            .with(eq(WaitingEntryId(9)), eq(now()))
            .times(1)
            .returning(|_, _| Ok(None));
        let result = service(queue, clock_read_once()).get(WaitingEntryId(9));
        assert!(matches!(result, Err(DomainError::WaitingEntryNotFound)));
    }

    #[test]
    fn dispatch_passes_now_and_the_batch_size() {
        let mut queue = MockWaitingQueue::new();
        queue
            .expect_dispatch()
            .with(
                eq(now()),
                eq(actor()),
                eq(true),
                eq(WaitingQueueService::BATCH),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(DispatchRound::default()));
        let round = service(queue, clock_read_once())
            .dispatch(&actor(), true)
            .unwrap();
        assert_eq!(round, DispatchRound::default());
    }

    #[test]
    fn a_notification_before_the_wait_is_not_lost() {
        let signal = DispatchSignal::new();
        signal.notify();
        assert!(signal.wait(Duration::from_secs(5)));
        assert!(!signal.wait(Duration::from_millis(1)));
    }

    #[test]
    fn a_notification_from_another_thread_wakes_the_waiter() {
        let signal = DispatchSignal::new();
        let notifier = signal.clone();
        let thread = std::thread::spawn(move || notifier.notify());
        assert!(signal.wait(Duration::from_secs(30)));
        thread.join().unwrap();
    }
}

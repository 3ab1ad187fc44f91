//! This process's SQLite writers take turns here (SQLite admits one writer per file). Without
//! the turns, concurrent requests would all try `BEGIN IMMEDIATE` and spin on SQLITE_BUSY
//! (each retry sleeping inside SQLite's busy handler, unfairly, and failing with "database is
//! locked" once the timeout ran out); with them they queue, and the busy timeout only has to
//! cover other processes. A writer waits at most the pool's checkout timeout for its turn, then
//! gets `Unavailable` (503), as it would waiting for a connection: never a wait without end.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use consultores_domain::DomainError;

use crate::error::StoreError;

/// The turns.
#[derive(Debug)]
pub(crate) struct WriterLock {
    busy: Mutex<bool>,
    freed: Condvar,
    deadline: Duration,
}

/// One writer's turn, given back when dropped (also while unwinding from a panic, whose
/// transaction has already rolled back).
#[derive(Debug)]
pub(crate) struct WriterTurn<'a> {
    lock: &'a WriterLock,
}

impl WriterLock {
    /// Turns for which a writer waits at most `deadline`.
    pub(crate) fn new(deadline: Duration) -> Self {
        Self {
            busy: Mutex::new(false),
            freed: Condvar::new(),
            deadline,
        }
    }

    /// Waits for this caller's turn, up to the deadline.
    pub(crate) fn turn(&self) -> Result<WriterTurn<'_>, StoreError> {
        // Poisoning is ignored: the guarded value is a flag that a panicking holder's turn
        // resets when it drops.
        let busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut busy, _) = self
            .freed
            .wait_timeout_while(busy, self.deadline, |busy| *busy)
            .unwrap_or_else(PoisonError::into_inner);
        if *busy {
            return Err(StoreError::Domain(DomainError::unavailable(format!(
                "no turn to write to the SQLite database within {} ms",
                self.deadline.as_millis()
            ))));
        }
        *busy = true;
        Ok(WriterTurn { lock: self })
    }
}

impl Drop for WriterTurn<'_> {
    fn drop(&mut self) {
        *self
            .lock
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = false;
        self.lock.freed.notify_one();
    }
}

//! Fault injection for crash-safety tests: with the `testing` feature, a test can arm one fault
//! that fires at a named step inside the next write transaction that reaches it. Without the
//! feature every check is an inlined no-op. Also, with the feature, a count of the consultant
//! rows the SQLite queue upkeep reads (`sqlite_queue.rs`), so a test can show what an assignment
//! reads.

use diesel::{PgConnection, SqliteConnection};

use crate::error::StoreError;

/// A step inside the write transactions of protocol creation and assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// The idempotency key is claimed (only with a claim).
    AfterClaim,
    /// The protocol counter is incremented (its row lock is held).
    AfterCounter,
    /// The consultant is stamped (assignment) / the protocol is inserted (creation).
    AfterWrite,
    /// Everything is written; only COMMIT is left.
    BeforeCommit,
}

/// What happens at the armed [`FaultPoint`].
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultAction {
    /// The step fails with an error (the transaction rolls back).
    Fail,
    /// The thread panics inside the transaction (the pooled connection is discarded).
    Panic,
    /// The database connection dies (PostgreSQL: the server terminates the session; SQLite has
    /// no server, so this panics like [`FaultAction::Panic`]).
    DropConnection,
}

/// The armed fault, if any.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    #[cfg(feature = "testing")]
    armed: std::sync::Mutex<Option<(FaultPoint, FaultAction)>>,
    #[cfg(feature = "testing")]
    queue_rows: std::sync::atomic::AtomicUsize,
}

/// A connection a fault can kill.
pub(crate) trait Interruptible {
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    fn kill(&mut self) -> Result<(), StoreError>;
}

impl Interruptible for PgConnection {
    fn kill(&mut self) -> Result<(), StoreError> {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT pg_terminate_backend(pg_backend_pid())").execute(self)?;
        Ok(())
    }
}

impl Interruptible for SqliteConnection {
    fn kill(&mut self) -> Result<(), StoreError> {
        panic!("injected fault: connection dropped inside the transaction");
    }
}

impl Faults {
    /// Fires the armed fault if it is armed for `point` (once).
    #[cfg(feature = "testing")]
    pub(crate) fn check(
        &self,
        point: FaultPoint,
        conn: &mut impl Interruptible,
    ) -> Result<(), StoreError> {
        let action = {
            let mut armed = self
                .armed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match *armed {
                Some((armed_point, action)) if armed_point == point => {
                    *armed = None;
                    action
                }
                _ => return Ok(()),
            }
        };
        match action {
            FaultAction::Fail => Err(StoreError::internal(format!("injected fault at {point:?}"))),
            FaultAction::Panic => panic!("injected fault: panic at {point:?}"),
            FaultAction::DropConnection => {
                conn.kill()?;
                Err(StoreError::internal(format!(
                    "injected fault: connection survived at {point:?}"
                )))
            }
        }
    }

    #[cfg(not(feature = "testing"))]
    #[inline(always)]
    pub(crate) fn check(
        &self,
        _point: FaultPoint,
        _conn: &mut impl Interruptible,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Arms `action` at `point`, replacing any armed fault.
    #[cfg(feature = "testing")]
    pub(crate) fn arm(&self, point: FaultPoint, action: FaultAction) {
        *self
            .armed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((point, action));
    }

    /// Counts `rows` consultant rows read by the SQLite queue upkeep.
    #[cfg(feature = "testing")]
    pub(crate) fn count_queue_rows(&self, rows: usize) {
        self.queue_rows
            .fetch_add(rows, std::sync::atomic::Ordering::Relaxed);
    }

    #[cfg(not(feature = "testing"))]
    #[inline(always)]
    pub(crate) fn count_queue_rows(&self, _rows: usize) {}

    /// The consultant rows the SQLite queue upkeep has read so far.
    #[cfg(feature = "testing")]
    pub(crate) fn queue_rows_read(&self) -> usize {
        self.queue_rows.load(std::sync::atomic::Ordering::Relaxed)
    }
}

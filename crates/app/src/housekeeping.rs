//! Expired idempotency records: a background thread deletes them at start-up and then hourly, so
//! the table holds about one day of keys however long the service runs. Several replicas may run
//! it at once; a pass that finds nothing to delete costs one indexed statement.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use consultores_persistence::Database;
use slog::{info, warn};

/// The time between two passes.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// The running thread; dropping it stops it.
#[derive(Debug)]
pub struct Housekeeper {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Housekeeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn spawn(database: Database, logger: slog::Logger) -> std::io::Result<Housekeeper> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("idempotency-purge".to_owned())
        .spawn(move || loop {
            match database.purge_expired_idempotency_keys(chrono::Utc::now()) {
                Ok(0) => {}
                Ok(deleted) => {
                    info!(logger, "expired idempotency keys deleted"; "deleted" => deleted)
                }
                Err(error) => warn!(logger, "idempotency purge failed; retrying later";
                    "error" => %error),
            }
            if !matches!(
                stopped.recv_timeout(INTERVAL),
                Err(RecvTimeoutError::Timeout)
            ) {
                return;
            }
        })?;
    Ok(Housekeeper {
        stop: Some(stop),
        thread: Some(thread),
    })
}

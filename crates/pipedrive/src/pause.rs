//! The pause Pipedrive asks for, shared by every replica through the database.
//!
//! Every replica uses one API token, and Pipedrive's budgets and blocks are per token: when one
//! replica is told to wait (a spent budget, any 429, the block page), every replica must wait,
//! or the token's traffic goes on after the 429 and gets it blocked. [`SharedPause`] publishes
//! each new pause its client is asked for (`pipedrive_pausa`, only ever extended) and reads the
//! pauses the other replicas published.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use consultores_domain::{Clock, CrmPauseStore, CrmThrottle};

use crate::client::PipedriveClient;

/// The delivery worker's [`CrmThrottle`]: the longer of this process's pause
/// ([`PipedriveClient::pause_asked`]) and the one stored by any replica.
///
/// When the database cannot be reached, the local pause still holds (and is published on a
/// later check); deliveries, which need the database too, stop by themselves.
pub struct SharedPause {
    client: Arc<PipedriveClient>,
    store: Arc<dyn CrmPauseStore>,
    clock: Arc<dyn Clock>,
    /// The serial of the last local pause stored.
    published: Mutex<u64>,
}

impl std::fmt::Debug for SharedPause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPause").finish_non_exhaustive()
    }
}

impl SharedPause {
    pub fn new(
        client: Arc<PipedriveClient>,
        store: Arc<dyn CrmPauseStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client,
            store,
            clock,
            published: Mutex::new(0),
        }
    }

    /// The pause in force and its reason, `None` when calls may go on.
    pub fn current(&self) -> Option<(Duration, String)> {
        let now = self.clock.now();
        let local = self.client.pause_asked();
        if let Some(asked) = &local {
            let mut published = self
                .published
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if asked.serial > *published {
                let until = chrono::Duration::from_std(asked.remaining)
                    .ok()
                    .and_then(|left| now.checked_add_signed(left));
                let stored = until.is_some_and(|until| {
                    self.store.extend_pause(until, &asked.reason, now).is_ok()
                });
                if stored {
                    *published = asked.serial;
                }
            }
        }
        let shared = self
            .store
            .current_pause(now)
            .ok()
            .flatten()
            .and_then(|pause| {
                let left = (pause.until - now).to_std().ok()?;
                (!left.is_zero()).then_some((left, pause.reason))
            });
        let local = local.map(|asked| (asked.remaining, asked.reason));
        match (local, shared) {
            (Some(local), Some(shared)) => Some(if shared.0 > local.0 { shared } else { local }),
            (local, shared) => local.or(shared),
        }
    }
}

impl CrmThrottle for SharedPause {
    fn pause(&self) -> Option<Duration> {
        self.current().map(|(left, _)| left)
    }
}

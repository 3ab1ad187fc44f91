//! The waiting queue's dispatcher: one thread per process that runs a pass
//! ([`WaitingQueueService::dispatch`]) when the HTTP handlers signal a change that may free a
//! consultant, and at least every [`TICK`] otherwise. The tick covers what no request signals:
//! the clock (expirations; shifts, leave and daily limits of the routing rules) and changes
//! made through other replicas. Passes serialise with every assignment in the database (see
//! the persistence crate's `dispatch.rs`), so any number of replicas can run one each; nothing
//! depends on a session (no LISTEN/NOTIFY, no advisory lock), so it works behind PgBouncer in
//! transaction mode.

use std::time::Duration;

use consultores_domain::{Actor, Periodic, StopSignal};
use consultores_http::ApiState;
use slog::{info, warn};

/// The longest time between two passes.
pub const TICK: Duration = Duration::from_millis(250);

/// The running thread; dropping it stops it (after its pass in flight).
#[derive(Debug)]
pub struct Dispatcher {
    job: Option<Periodic>,
    state: ApiState,
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        if let Some(mut job) = self.job.take() {
            // Raise the stop first, then wake the thread from its wait on the signal.
            job.request_stop();
            self.state.queue().signal().notify();
        }
    }
}

pub fn spawn(state: ApiState, logger: slog::Logger) -> std::io::Result<Dispatcher> {
    let job = {
        let state = state.clone();
        let mut pass: u64 = 0;
        Periodic::spawn("queue-dispatcher", move |stop: &StopSignal| {
            pass += 1;
            if run_pass(&state, pass, &logger) && !stop.is_raised() {
                return Duration::ZERO;
            }
            state.queue().signal().wait(TICK);
            Duration::ZERO
        })?
    };
    Ok(Dispatcher {
        job: Some(job),
        state,
    })
}

/// One pass; `true` when it left work for another pass at once.
fn run_pass(state: &ApiState, pass: u64, logger: &slog::Logger) -> bool {
    let actor = Actor::queue(format!("fila-{}", uuid::Uuid::now_v7()));
    match state.queue().dispatch(&actor, state.crm_enabled()) {
        Ok(round) => {
            state.observe_dispatch(&round);
            if !round.served.is_empty() || !round.expired.is_empty() {
                info!(logger, "queue dispatched";
                    "assigned" => round.served.len(), "expired" => round.expired.len(),
                    "request_id" => &actor.request_id);
            }
            round.more
        }
        // The database is down or busy: the next tick tries again.
        Err(error) => {
            warn!(logger, "queue dispatch failed; retrying";
                "error" => %error, "pass" => pass);
            false
        }
    }
}

//! The waiting queue's dispatcher: one thread per process that runs a pass
//! ([`WaitingQueueService::dispatch`]) when the HTTP handlers signal a change that may free a
//! consultant, and at least every [`TICK`] otherwise. The tick covers what no request signals:
//! the clock (expirations; shifts, leave and daily limits of the routing rules) and changes
//! made through other replicas. Passes serialise with every assignment in the database (see
//! the persistence crate's `dispatch.rs`), so any number of replicas can run one each; nothing
//! depends on a session (no LISTEN/NOTIFY, no advisory lock), so it works behind PgBouncer in
//! transaction mode.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use consultores_domain::Actor;
use consultores_http::ApiState;
use slog::{info, warn};

/// The longest time between two passes.
pub const TICK: Duration = Duration::from_millis(250);

/// The running thread; dropping it stops it (after its pass in flight).
#[derive(Debug)]
pub struct Dispatcher {
    stop: Arc<AtomicBool>,
    state: ApiState,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.state.queue().signal().notify();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn spawn(state: ApiState, logger: slog::Logger) -> std::io::Result<Dispatcher> {
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (stop, state) = (stop.clone(), state.clone());
        std::thread::Builder::new()
            .name("queue-dispatcher".to_owned())
            .spawn(move || run(&state, &stop, &logger))?
    };
    Ok(Dispatcher {
        stop,
        state,
        thread: Some(thread),
    })
}

fn run(state: &ApiState, stop: &AtomicBool, logger: &slog::Logger) {
    let queue = state.queue();
    let mut pass: u64 = 0;
    while !stop.load(Ordering::SeqCst) {
        pass += 1;
        let actor = Actor::queue(format!("fila-{}", uuid::Uuid::now_v7()));
        match queue.dispatch(&actor, state.crm_enabled()) {
            Ok(round) => {
                state.observe_dispatch(&round);
                if !round.served.is_empty() || !round.expired.is_empty() {
                    info!(logger, "queue dispatched";
                        "assigned" => round.served.len(), "expired" => round.expired.len(),
                        "request_id" => &actor.request_id);
                }
                if round.more {
                    continue;
                }
            }
            // The database is down or busy: the next tick tries again.
            Err(error) => warn!(logger, "queue dispatch failed; retrying";
                "error" => %error, "pass" => pass),
        }
        queue.signal().wait(TICK);
    }
}

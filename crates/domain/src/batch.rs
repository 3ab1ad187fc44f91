//! Group commit one level above the database: a leader/follower batcher.
//!
//! Callers [`Batcher::submit`] one request each. A caller that finds no batch in flight becomes
//! the leader: it takes every request queued so far (its own first among them, in arrival
//! order, at most `max_batch`), runs them together with the runner it was given, hands each
//! caller its own result and steps down. Callers arriving while a batch is in flight queue up
//! and wait; when the batch ends, the first of them to wake becomes the next leader and runs
//! everything queued meanwhile. So a request waits at most for the batch in flight, then runs
//! in the next one (with more than `max_batch` waiting, the later ones in the one after).
//!
//! A runner that panics fails every other request of its batch with the error of `on_panic`
//! (nobody waits forever) and the panic continues in the leader's thread.

use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Gathers concurrent requests into batches (see the module documentation).
#[derive(Debug)]
pub struct Batcher<Req, Res> {
    state: Mutex<State<Req, Res>>,
    /// Signalled when a batch ends (results are ready and the leader stepped down).
    done: Condvar,
    max_batch: usize,
}

#[derive(Debug)]
struct State<Req, Res> {
    next_ticket: u64,
    queued: VecDeque<(u64, Req)>,
    finished: HashMap<u64, Res>,
    leading: bool,
}

impl<Req, Res> Batcher<Req, Res> {
    /// A batcher running at most `max_batch` (at least 1) requests together.
    pub fn new(max_batch: usize) -> Self {
        Self {
            state: Mutex::new(State {
                next_ticket: 0,
                queued: VecDeque::new(),
                finished: HashMap::new(),
                leading: false,
            }),
            done: Condvar::new(),
            max_batch: max_batch.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<Req, Res>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `request` in a batch and returns its result. `run` gets the batch in arrival order
    /// and must return one result per request, in the same order; `on_panic` is the result of
    /// the other requests of a batch whose `run` panicked.
    pub fn submit(
        &self,
        request: Req,
        run: impl Fn(Vec<Req>) -> Vec<Res>,
        on_panic: impl Fn() -> Res,
    ) -> Res {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queued.push_back((ticket, request));
        loop {
            if let Some(result) = state.finished.remove(&ticket) {
                return result;
            }
            if state.leading {
                state = self
                    .done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Nobody leads: this caller runs the head of the queue (its own request among it,
            // unless more than `max_batch` wait ahead of it: then it leads again after).
            state.leading = true;
            let take = state.queued.len().min(self.max_batch);
            let (tickets, batch): (Vec<u64>, Vec<Req>) = state.queued.drain(..take).unzip();
            drop(state);
            let outcome = catch_unwind(AssertUnwindSafe(|| run_batch(&run, batch)));
            state = self.lock();
            state.leading = false;
            match outcome {
                Ok(results) => {
                    let mut results = results.into_iter();
                    for id in tickets {
                        let result = results.next().unwrap_or_else(&on_panic);
                        state.finished.insert(id, result);
                    }
                    self.done.notify_all();
                }
                Err(panic) => {
                    for id in tickets.iter().filter(|id| **id != ticket) {
                        state.finished.insert(*id, on_panic());
                    }
                    // Not run yet: withdrawn, since nobody will wait for its answer.
                    state.queued.retain(|(id, _)| *id != ticket);
                    drop(state);
                    self.done.notify_all();
                    resume_unwind(panic);
                }
            }
        }
    }
}

/// Calls the runner once for one batch.
fn run_batch<Req, Res>(run: &impl Fn(Vec<Req>) -> Vec<Res>, batch: Vec<Req>) -> Vec<Res> {
    run(batch)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_lone_request_runs_alone() {
        let batcher = Batcher::new(8);
        let result = batcher.submit(3, |batch| batch.iter().map(|n| n * 2).collect(), || -1);
        assert_eq!(result, 6);
    }

    #[test]
    fn concurrent_requests_share_batches_and_each_gets_its_own_result() {
        let batcher = Arc::new(Batcher::new(64));
        let batches = Arc::new(Mutex::new(Vec::<Vec<u32>>::new()));
        let start = Arc::new(Barrier::new(32));
        let handles: Vec<_> = (0..32u32)
            .map(|n| {
                let (batcher, batches, start) = (batcher.clone(), batches.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let result = batcher.submit(
                        n,
                        |batch| {
                            // Long enough for the others to queue behind this batch.
                            thread::sleep(Duration::from_millis(20));
                            batches.lock().unwrap().push(batch.clone());
                            batch.iter().map(|n| n * 10).collect()
                        },
                        || u32::MAX,
                    );
                    assert_eq!(result, n * 10);
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let batches = batches.lock().unwrap();
        let mut all: Vec<u32> = batches.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..32).collect::<Vec<_>>(),
            "each request ran exactly once"
        );
        assert!(batches.len() < 32, "requests were gathered: {batches:?}");
    }

    #[test]
    fn a_request_waits_at_most_one_batch_behind() {
        let batcher = Arc::new(Batcher::new(64));
        let runs = Arc::new(AtomicUsize::new(0));
        let (entered, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let leader = {
            let (batcher, runs) = (batcher.clone(), runs.clone());
            let (entered, release) = (entered.clone(), release.clone());
            thread::spawn(move || {
                batcher.submit(
                    1,
                    |batch| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        entered.wait();
                        release.wait();
                        batch
                    },
                    || 0,
                )
            })
        };
        entered.wait();
        let follower = {
            let (batcher, runs) = (batcher.clone(), runs.clone());
            thread::spawn(move || {
                batcher.submit(
                    2,
                    |batch| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        batch
                    },
                    || 0,
                )
            })
        };
        thread::sleep(Duration::from_millis(50));
        release.wait();
        assert_eq!(leader.join().unwrap(), 1);
        assert_eq!(follower.join().unwrap(), 2);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "the follower ran in the next batch"
        );
    }

    #[test]
    fn batches_are_capped() {
        let batcher = Arc::new(Batcher::new(4));
        let largest = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|n| {
                let (batcher, largest, start) = (batcher.clone(), largest.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    batcher.submit(
                        n,
                        |batch| {
                            largest.fetch_max(batch.len(), Ordering::SeqCst);
                            thread::sleep(Duration::from_millis(5));
                            batch
                        },
                        || -1,
                    )
                })
            })
            .collect();
        for (n, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.join().unwrap(), n as i32);
        }
        assert!(largest.load(Ordering::SeqCst) <= 4);
    }

    #[test]
    fn a_panicking_batch_fails_the_others_and_panics_in_the_leader() {
        let batcher = Arc::new(Batcher::new(64));
        let (entered, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        // A first batch holds the lead while two more requests queue behind it.
        let first = {
            let batcher = batcher.clone();
            let (entered, release) = (entered.clone(), release.clone());
            thread::spawn(move || {
                batcher.submit(
                    0,
                    |batch| {
                        entered.wait();
                        release.wait();
                        batch
                    },
                    || -1,
                )
            })
        };
        entered.wait();
        let queued: Vec<_> = (1..3)
            .map(|n| {
                let batcher = batcher.clone();
                thread::spawn(move || {
                    catch_unwind(AssertUnwindSafe(|| {
                        batcher.submit(n, |_| panic!("runner failed"), || -1)
                    }))
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(50));
        release.wait();
        assert_eq!(first.join().unwrap(), 0);
        let outcomes: Vec<_> = queued.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            outcomes.iter().filter(|o| o.is_err()).count(),
            1,
            "the leader panics"
        );
        assert!(
            outcomes.iter().any(|o| matches!(o, Ok(-1))),
            "the other is failed"
        );
        // The batcher still works.
        assert_eq!(batcher.submit(9, |batch| batch, || -1), 9);
    }
}

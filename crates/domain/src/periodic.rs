//! The one background thread of the service's jobs (the queue dispatcher, the webhook and CRM
//! delivery workers, the idempotency and audit housekeeping): a step run at once and then again
//! after the wait it returns, until the owner stops it. Dropping the [`Periodic`] stops the
//! thread (after the step in flight) and waits for it.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a step sees of its owner's wish to stop: a long step checks it between pieces of work.
#[derive(Debug)]
pub struct StopSignal(Receiver<()>);

/// The owner's side of a [`StopSignal`]: dropping it raises the signal.
#[derive(Debug)]
pub struct StopHandle(#[allow(dead_code)] Sender<()>);

impl StopSignal {
    /// A signal, and the handle whose drop raises it.
    pub fn new() -> (StopHandle, Self) {
        let (handle, signal) = mpsc::channel();
        (StopHandle(handle), Self(signal))
    }

    /// Whether the owner asked to stop.
    pub fn is_raised(&self) -> bool {
        matches!(self.0.try_recv(), Ok(()) | Err(TryRecvError::Disconnected))
    }

    /// Waits up to `timeout`, returning early (with `true`) when the owner asks to stop.
    pub fn wait(&self, timeout: Duration) -> bool {
        !matches!(self.0.recv_timeout(timeout), Err(RecvTimeoutError::Timeout))
    }
}

/// A job run by [`Periodic`]: a closure `FnMut(&StopSignal) -> Duration` is one.
pub trait Job: Send + 'static {
    /// One round; returns how long to wait before the next.
    fn step(&mut self, stop: &StopSignal) -> Duration;

    /// Called once on the thread after the last round.
    fn stopped(&mut self) {}
}

impl<F> Job for F
where
    F: FnMut(&StopSignal) -> Duration + Send + 'static,
{
    fn step(&mut self, stop: &StopSignal) -> Duration {
        self(stop)
    }
}

/// A running background job; dropping it stops the thread and waits for it.
#[derive(Debug)]
pub struct Periodic {
    stop: Option<StopHandle>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    /// Starts `job` on a thread called `name`.
    pub fn spawn(name: &str, mut job: impl Job) -> std::io::Result<Self> {
        let (stop, signal) = StopSignal::new();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                loop {
                    let wait = job.step(&signal);
                    if signal.wait(wait) {
                        break;
                    }
                }
                job.stopped();
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Asks the job to stop without waiting for it: the owner of a job that also waits on
    /// something else (the dispatcher's signal) wakes it next.
    pub fn request_stop(&mut self) {
        drop(self.stop.take());
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;

    #[test]
    fn a_step_runs_at_once_and_again_after_its_wait() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let counted = rounds.clone();
        let job = Periodic::spawn("test-job", move |_: &StopSignal| {
            counted.fetch_add(1, Ordering::SeqCst);
            Duration::from_millis(1)
        })
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while rounds.load(Ordering::SeqCst) < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(job);
        let after_stop = rounds.load(Ordering::SeqCst);
        assert!(after_stop >= 5, "{after_stop} rounds");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            rounds.load(Ordering::SeqCst),
            after_stop,
            "no round after the drop"
        );
    }

    #[test]
    fn dropping_interrupts_a_long_wait_and_reports_the_stop_once() {
        struct Counting(Arc<AtomicUsize>, Arc<AtomicUsize>);
        impl Job for Counting {
            fn step(&mut self, _: &StopSignal) -> Duration {
                self.0.fetch_add(1, Ordering::SeqCst);
                Duration::from_secs(3600)
            }
            fn stopped(&mut self) {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
        // Many jobs started and stopped from many threads at once: each runs its first step,
        // every drop returns long before the hour-long wait, and each reports its stop once.
        let started = Instant::now();
        let handles: Vec<_> = (0..16)
            .map(|n| {
                std::thread::spawn(move || {
                    let (rounds, stops) =
                        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
                    let job = Periodic::spawn(
                        &format!("test-job-{n}"),
                        Counting(rounds.clone(), stops.clone()),
                    )
                    .unwrap();
                    while rounds.load(Ordering::SeqCst) == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    drop(job);
                    (rounds.load(Ordering::SeqCst), stops.load(Ordering::SeqCst))
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), (1, 1));
        }
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn a_long_step_sees_the_stop_between_pieces_of_work() {
        let pieces = Arc::new(AtomicUsize::new(0));
        let done = pieces.clone();
        let mut job = Periodic::spawn("test-job", move |stop: &StopSignal| {
            while !stop.is_raised() {
                done.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            }
            Duration::from_secs(3600)
        })
        .unwrap();
        while pieces.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        job.request_stop();
        drop(job);
        let (_handle, signal) = StopSignal::new();
        assert!(!signal.is_raised());
        assert!(!signal.wait(Duration::from_millis(1)));
    }
}

//! Structured logs: one JSON object per line on stdout. The thread that logs formats its record
//! and appends it to a shared buffer; a writer thread writes the buffer out, at most
//! [`GATHER`] after the first record it holds.
//!
//! The writer sleeps between batches. Woken for every record (as a queue with a reader
//! thread does), it cost the service a wake-up, a write and the reader's spinning on the empty
//! queue (`sched_yield`) per request.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use slog::{Drain, Never, OwnedKVList, Record};

use crate::config::LogLevel;

/// How long the writer lets records gather once one is waiting.
const GATHER: Duration = Duration::from_millis(10);

/// Bytes waiting to be written beyond which a thread that logs waits for the writer rather than
/// dropping lines: a lost log line of an assignment is worse than a short stall.
const MAX_PENDING: usize = 4 << 20;

/// Keeps the writer thread alive; dropping it writes the lines still waiting.
pub struct LogGuard {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogGuard")
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.stopping = true;
        }
        self.shared.wake_writer.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Builds the root logger and starts the writer thread. Without that thread no line would
/// ever be written, and every thread that logs would stop once [`MAX_PENDING`] bytes wait: the
/// service does not start.
pub fn init(level: LogLevel) -> std::io::Result<(slog::Logger, LogGuard)> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake_writer: Condvar::new(),
        drained: Condvar::new(),
    });
    let writer = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || shared.write_out(&mut std::io::stdout()))
            .map_err(|error| {
                std::io::Error::new(
                    error.kind(),
                    format!("cannot start the log writer thread: {error}"),
                )
            })?
    };
    let drain = Gathered {
        shared: shared.clone(),
    };
    let drain = slog::LevelFilter::new(drain, level.to_slog()).fuse();
    let logger = slog::Logger::root(drain, slog::o!("service" => "consultores"));
    Ok((
        logger,
        LogGuard {
            shared,
            writer: Some(writer),
        },
    ))
}

#[derive(Default)]
struct State {
    /// Formatted lines not written yet.
    pending: Vec<u8>,
    /// The writer waits for a first record (it must be woken).
    writer_idle: bool,
    /// Threads waiting for room.
    waiting_for_room: usize,
    stopping: bool,
}

struct Shared {
    state: Mutex<State>,
    wake_writer: Condvar,
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked while holding the lock left whole lines (each is appended
        // at once): carry on.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends formatted lines; waits while the buffer is over its bound.
    fn append(&self, lines: &[u8]) {
        let mut state = self.lock();
        while state.pending.len() >= MAX_PENDING && !state.stopping {
            state.waiting_for_room += 1;
            state = self
                .drained
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.waiting_for_room -= 1;
        }
        state.pending.extend_from_slice(lines);
        if state.writer_idle {
            state.writer_idle = false;
            drop(state);
            self.wake_writer.notify_one();
        }
    }

    /// The writer thread: waits for a record, lets more gather, writes them all; until the
    /// guard is dropped, after which what is left is written.
    fn write_out(&self, out: &mut impl Write) {
        let mut spare = Vec::new();
        loop {
            let mut state = self.lock();
            while state.pending.is_empty() && !state.stopping {
                state.writer_idle = true;
                state = self
                    .wake_writer
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            state.writer_idle = false;
            if !state.stopping && state.pending.len() < MAX_PENDING {
                drop(state);
                std::thread::sleep(GATHER);
                state = self.lock();
            }
            std::mem::swap(&mut state.pending, &mut spare);
            let stopping = state.stopping;
            let waiting = state.waiting_for_room > 0;
            drop(state);
            if waiting {
                self.drained.notify_all();
            }
            // Nowhere to report a failed write to: the lines are dropped.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
            if stopping && self.lock().pending.is_empty() {
                return;
            }
        }
    }
}

/// The drain: formats each record on the logging thread (slog-json into a buffer of that
/// thread), then appends the line to the shared buffer.
struct Gathered {
    shared: Arc<Shared>,
}

/// A writer into one thread's line buffer.
struct LineBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for LineBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type Formatter = (slog_json::Json<LineBuffer>, Rc<RefCell<Vec<u8>>>);

fn formatter() -> Formatter {
    let line = Rc::new(RefCell::new(Vec::with_capacity(512)));
    let json = slog_json::Json::new(LineBuffer(line.clone()))
        .add_default_keys()
        .set_flush(false)
        .build();
    (json, line)
}

thread_local! {
    static FORMATTER: RefCell<Option<Formatter>> = const { RefCell::new(None) };
}

impl Drain for Gathered {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), Never> {
        let format = |(json, line): &Formatter| {
            line.borrow_mut().clear();
            // Into memory: only a value's own serialisation can fail, and then the line is
            // dropped, as slog's `fuse` would have stopped on it.
            if json.log(record, values).is_ok() {
                self.shared.append(&line.borrow());
            }
        };
        let _ = FORMATTER.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => format(slot.get_or_insert_with(formatter)),
            // A record logged while this thread formats another (from a value's
            // serialisation): formatted on its own.
            Err(_) => format(&formatter()),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake_writer: Condvar::new(),
            drained: Condvar::new(),
        })
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_the_guard_is_gone() {
        let shared = shared();
        let written = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let writer = {
            let (shared, written) = (shared.clone(), written.clone());
            std::thread::spawn(move || shared.write_out(&mut Sink(written)))
        };
        let guard = LogGuard {
            shared: shared.clone(),
            writer: Some(writer),
        };
        let logger = slog::Logger::root(
            Gathered {
                shared: shared.clone(),
            }
            .fuse(),
            slog::o!(),
        );
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let logger = logger.clone();
                std::thread::spawn(move || {
                    for n in 0..500 {
                        slog::info!(logger, "line"; "thread" => thread, "n" => n);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let mut next = [0i64; 4];
        let mut lines = 0;
        let number = |line: &str, key: &str| -> i64 {
            let at = line.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
            let digits: String = line[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap()
        };
        for line in text.lines() {
            assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
            assert!(line.contains("\"msg\":\"line\""), "{line}");
            let thread = usize::try_from(number(line, "thread")).unwrap();
            assert_eq!(number(line, "n"), next[thread], "{line}");
            next[thread] += 1;
            lines += 1;
        }
        assert_eq!(lines, 2000);
    }
}

//! Structured logs: one JSON object per line on stdout, written by a background thread.

use slog::Drain;

use crate::config::LogLevel;

/// Keeps the background log thread alive; dropping it flushes the lines still queued.
pub struct LogGuard {
    _guard: slog_async::AsyncGuard,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogGuard")
    }
}

/// Capacity of the queue between request workers and the writer thread.
const QUEUE_CAPACITY: usize = 16_384;

/// Builds the root logger. Records go through a bounded queue to a writer thread, so a worker
/// only formats and enqueues. When the queue is full the worker waits rather than dropping lines
/// (`OverflowStrategy::Block`): a lost log line of an assignment is worse than a short stall.
pub fn init(level: LogLevel) -> (slog::Logger, LogGuard) {
    // Buffered and flushed once per record: slog-json writes a record in many small pieces,
    // and straight to stdout each piece took its lock and a newline scan.
    let stdout = std::io::BufWriter::with_capacity(8192, std::io::stdout());
    let json = slog_json::Json::new(stdout)
        .add_default_keys()
        .set_flush(true)
        .build()
        .fuse();
    let (drain, guard) = slog_async::Async::new(json)
        .chan_size(QUEUE_CAPACITY)
        .overflow_strategy(slog_async::OverflowStrategy::Block)
        .thread_name("log-writer".to_owned())
        .build_with_guard();
    let drain = slog::LevelFilter::new(drain.fuse(), level.to_slog()).fuse();
    let logger = slog::Logger::root(drain, slog::o!("service" => "consultores"));
    (logger, LogGuard { _guard: guard })
}

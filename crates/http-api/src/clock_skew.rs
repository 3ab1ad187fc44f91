//! A warning when this process's clock runs ahead of the database's. The store stamps
//! assignments and protocols with the caller's time, but never more than a second past the
//! database's clock (`consultores_persistence::CLOCK_ALLOWANCE`), so a stamp earlier than the
//! time this process read before asking means its clock was cut: the operator should fix it.

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use slog::warn;

use crate::request_id::RequestId;
use crate::state::ApiState;

/// Logs `clock_skew` when `stamped` (written by the store) is earlier than `asked` (this
/// process's time, read before the request reached the store).
pub fn check(state: &ApiState, req: &HttpRequest, asked: DateTime<Utc>, stamped: DateTime<Utc>) {
    if stamped < asked {
        warn!(state.logger, "clock_skew";
            "request_id" => RequestId::of(req),
            "local_time" => asked.to_rfc3339(),
            "stamped" => stamped.to_rfc3339(),
            "ahead_ms" => (asked - stamped).num_milliseconds(),
            "detail" => "this host's clock is ahead of the database's; stamps use the database's");
    }
}

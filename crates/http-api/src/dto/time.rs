//! Timestamps on the wire: RFC 3339, UTC, microseconds, `+00:00` (as v6's Python wrote them).

use chrono::{DateTime, SecondsFormat, Utc};

/// `2026-11-29T14:30:00.123456+00:00`.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn timestamps_have_microseconds_and_a_numeric_utc_offset() {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(timestamp(&at), "2026-11-29T14:30:00.123456+00:00");
    }
}

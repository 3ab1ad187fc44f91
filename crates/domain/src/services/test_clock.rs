//! The fixed time and the clock mocks the service tests share.

use chrono::{DateTime, TimeZone, Utc};

use crate::clock::MockClock;

/// The instant every service test treats as "now".
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap()
}

/// A clock that must be read exactly once.
pub(crate) fn clock_read_once() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().times(1).return_const(now());
    clock
}

/// A clock that must not be read at all (no expectation: any call panics).
pub(crate) fn unread_clock() -> MockClock {
    MockClock::new()
}

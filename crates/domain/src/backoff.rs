//! The one retry schedule: CRM actions and webhook deliveries that failed transiently, the
//! Pipedrive worker after a failed round, start-up while the database is not up yet.

use std::time::Duration;

/// Exponential backoff without jitter: `base`, `2 × base`, `4 × base`, … capped at `max`.
///
/// Deterministic on purpose: several replicas do not retry one shared item (each item is claimed
/// by one worker), so jitter would only make the schedule harder to reason about and to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// The default first delay: 2 seconds.
    pub const DEFAULT_BASE: Duration = Duration::from_secs(2);
    /// The default cap: 10 minutes.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(600);

    /// A policy starting at `base` and never growing past `max` (a `max` below `base` is raised
    /// to `base`).
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
        }
    }

    /// The first delay.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The cap of the exponential part.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The wait before the next try after `attempt` failed tries (1 = the first try failed;
    /// 0 is treated as 1). When the other side said how long to wait (`retry_after` seconds,
    /// from `Retry-After` or the rate-limit headers), the delay is at least that, even past the
    /// cap: retrying earlier would only earn another 429.
    pub fn next_delay(&self, attempt: u32, retry_after: Option<u64>) -> Duration {
        let doublings = attempt.saturating_sub(1);
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        let exponential = self
            .base
            .checked_mul(factor)
            .map_or(self.max, |delay| delay.min(self.max));
        match retry_after {
            Some(secs) => exponential.max(Duration::from_secs(secs)),
            None => exponential,
        }
    }
}

impl crate::RetryPolicy for Backoff {
    fn next_delay(&self, attempt: u32, retry_after_secs: Option<u64>) -> Duration {
        Backoff::next_delay(self, attempt, retry_after_secs)
    }
}

impl Default for Backoff {
    /// 2 s, doubling, capped at 10 min.
    fn default() -> Self {
        Self::new(Self::DEFAULT_BASE, Self::DEFAULT_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(value: u64) -> Duration {
        Duration::from_secs(value)
    }

    #[test]
    fn doubles_from_two_seconds() {
        let backoff = Backoff::default();
        let delays: Vec<Duration> = (1..=6).map(|n| backoff.next_delay(n, None)).collect();
        assert_eq!(
            delays,
            vec![secs(2), secs(4), secs(8), secs(16), secs(32), secs(64)]
        );
    }

    #[test]
    fn attempt_zero_waits_like_the_first_failure() {
        assert_eq!(Backoff::default().next_delay(0, None), secs(2));
    }

    #[test]
    fn is_capped_at_ten_minutes() {
        let backoff = Backoff::default();
        assert_eq!(backoff.next_delay(9, None), secs(512));
        assert_eq!(backoff.next_delay(10, None), secs(600));
        assert_eq!(backoff.next_delay(40, None), secs(600));
        assert_eq!(backoff.next_delay(u32::MAX, None), secs(600));
    }

    #[test]
    fn retry_after_is_a_minimum() {
        let backoff = Backoff::default();
        assert_eq!(backoff.next_delay(1, Some(30)), secs(30));
        assert_eq!(backoff.next_delay(6, Some(30)), secs(64));
    }

    #[test]
    fn retry_after_beyond_the_cap_is_still_honoured() {
        // A block page asks for an hour, far past the cap.
        assert_eq!(Backoff::default().next_delay(3, Some(7_200)), secs(7_200));
    }

    #[test]
    fn a_cap_below_the_base_is_raised_to_the_base() {
        let backoff = Backoff::new(secs(5), secs(1));
        assert_eq!(backoff.max(), secs(5));
        assert_eq!(backoff.next_delay(4, None), secs(5));
    }
}

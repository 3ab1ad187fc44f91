//! Pipedrive's rate-limit headers, parsed so the delivery worker can pause before a 429.
//!
//! Pipedrive has two budgets (see "Rate limiting" in its developer docs,
//! <https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting>):
//! - a burst limit per token over a rolling 2-second window, reported by `x-ratelimit-limit`,
//!   `x-ratelimit-remaining` and `x-ratelimit-reset` (seconds until the window resets);
//! - for `api_token` requests, `x-daily-requests-left`: the POST and PUT requests left today.
//!   It resets at midnight of the company's server time, which no header tells; and the daily
//!   token budget of every request has no header at all (it shows only as 429s).
//!
//! Repeatedly ignoring 429s gets a token blocked (403 from Cloudflare), so the worker must pause
//! the whole delivery, not just the one item, when a budget is spent. A spent daily count is
//! checked again hourly (one request an hour is nothing to the budget, and the reset time is
//! unknown); any 429 then pauses again (see the client).

use std::time::Duration;

use reqwest::header::HeaderMap;

/// Seconds in a day: no wait Pipedrive asks for is longer.
const SECS_PER_DAY: u64 = 86_400;

/// How long deliveries wait after `x-daily-requests-left: 0` before trying again: the budget
/// resets at the company's (unknown) midnight, so the worker checks hourly.
pub const DAILY_RECHECK_SECS: u64 = 3_600;

/// The rate-limit state Pipedrive reported on one response. A header that was absent or
/// unreadable is `None`: the state says only what Pipedrive said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// Requests left in the current burst window (`x-ratelimit-remaining`).
    pub remaining: Option<u64>,
    /// Seconds until the burst window resets (`x-ratelimit-reset`), rounded up.
    pub reset_secs: Option<u64>,
    /// Write requests left today (`x-daily-requests-left`).
    pub daily_left: Option<u64>,
}

impl RateLimit {
    /// Reads the rate-limit headers of a response.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        Self::from_header_values(
            text("x-ratelimit-remaining"),
            text("x-ratelimit-reset"),
            text("x-daily-requests-left"),
        )
    }

    /// Reads the rate-limit state from the raw header values (`x-ratelimit-remaining`,
    /// `x-ratelimit-reset`, `x-daily-requests-left`).
    pub fn from_header_values(
        remaining: Option<&str>,
        reset: Option<&str>,
        daily_left: Option<&str>,
    ) -> Self {
        Self {
            remaining: remaining.and_then(parse_count),
            reset_secs: reset.and_then(parse_seconds),
            daily_left: daily_left.and_then(parse_count),
        }
    }

    /// True when this response carried no rate-limit header at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// How long to wait before the next request, when a budget is spent: until the burst window
    /// resets when `remaining` is 0, [`DAILY_RECHECK_SECS`] when the daily count is 0 (whichever
    /// is longer). `None` when requests may go on now.
    pub fn pause(&self) -> Option<Duration> {
        self.pause_secs().map(Duration::from_secs)
    }

    /// [`RateLimit::pause`] in whole seconds.
    pub fn pause_secs(&self) -> Option<u64> {
        let burst = match self.remaining {
            // A spent window with no reset header still needs a breath: the window is 2 s.
            Some(0) => Some(self.reset_secs.unwrap_or(2).max(1)),
            _ => None,
        };
        let daily = match self.daily_left {
            Some(0) => Some(DAILY_RECHECK_SECS),
            _ => None,
        };
        burst.max(daily)
    }
}

/// Parses a `Retry-After` header given in seconds. The HTTP-date form is not used by Pipedrive
/// and is ignored (the caller then falls back to the other headers or to its backoff).
pub fn parse_retry_after(value: &str) -> Option<u64> {
    parse_seconds(value)
}

fn parse_count(value: &str) -> Option<u64> {
    value.trim().parse().ok()
}

/// Whole or fractional seconds, rounded up so that waiting that long is always enough.
fn parse_seconds(value: &str) -> Option<u64> {
    let value = value.trim();
    if let Ok(whole) = value.parse::<u64>() {
        return Some(whole);
    }
    let fractional: f64 = value.parse().ok()?;
    // A day is the longest wait Pipedrive can mean; anything else is garbage, not a number to
    // squeeze into an integer.
    if fractional.is_finite() && (0.0..=SECS_PER_DAY as f64).contains(&fractional) {
        Some(fractional.ceil() as u64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_all_three_headers() {
        let state = RateLimit::from_header_values(Some("38"), Some("2"), Some("9950"));
        assert_eq!(
            state,
            RateLimit {
                remaining: Some(38),
                reset_secs: Some(2),
                daily_left: Some(9950)
            }
        );
        assert!(!state.is_empty());
    }

    #[test]
    fn missing_or_garbled_headers_are_none() {
        let state = RateLimit::from_header_values(None, Some("soon"), Some("-1"));
        assert!(state.is_empty());
    }

    #[test]
    fn fractional_reset_rounds_up() {
        let state = RateLimit::from_header_values(Some("0"), Some("1.2"), None);
        assert_eq!(state.reset_secs, Some(2));
    }

    #[test]
    fn absurd_fractional_values_are_ignored() {
        assert_eq!(parse_retry_after("1e300"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }

    #[test]
    fn no_pause_while_budget_remains() {
        let state = RateLimit::from_header_values(Some("5"), Some("2"), Some("100"));
        assert_eq!(state.pause_secs(), None);
    }

    #[test]
    fn pauses_until_burst_window_resets_when_none_remain() {
        let state = RateLimit::from_header_values(Some("0"), Some("2"), Some("100"));
        assert_eq!(state.pause_secs(), Some(2));
    }

    #[test]
    fn a_spent_daily_count_is_checked_again_hourly_not_at_utc_midnight() {
        // The count resets at the company's midnight, which no header tells.
        let state = RateLimit::from_header_values(Some("10"), Some("2"), Some("0"));
        assert_eq!(state.pause_secs(), Some(DAILY_RECHECK_SECS));
    }

    #[test]
    fn retry_after_in_seconds_is_read_and_dates_are_ignored() {
        assert_eq!(parse_retry_after("7"), Some(7));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}

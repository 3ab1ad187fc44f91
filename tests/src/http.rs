//! HTTP calls for load scenarios: every call ends in an [`Outcome`] (a status or a transport
//! failure, never a panic), so a test can log thousands of them and judge them afterwards.

use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;

/// How a call failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// No connection could be made (refused: nobody listens).
    Connect,
    /// The client's own timeout ran out.
    Timeout,
    /// The connection broke before a whole response arrived.
    Broken,
}

/// What one call ended in.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// The `Idempotency-Replayed: true` header was present.
    pub replayed: bool,
    /// Why no response arrived.
    pub failure: Option<Failure>,
    /// When the call was sent.
    pub started: Instant,
    /// How long it took.
    pub elapsed: Duration,
}

impl Outcome {
    /// Whether the answer is a 5xx.
    pub fn is_server_error(&self) -> bool {
        self.status.is_some_and(|status| status >= 500)
    }

    /// Whether the call got status `status`.
    pub fn is(&self, status: u16) -> bool {
        self.status == Some(status)
    }

    /// When the call ended.
    pub fn ended(&self) -> Instant {
        self.started + self.elapsed
    }

    /// `numero_protocolo` of a 200 answer.
    pub fn protocol_number(&self) -> Option<&str> {
        self.body["numero_protocolo"].as_str()
    }

    /// `protocolo_id` of a 200 answer.
    pub fn protocol_id(&self) -> Option<i64> {
        self.body["protocolo_id"].as_i64()
    }

    /// `consultor_id` of a 200 answer.
    pub fn consultant_id(&self) -> Option<i64> {
        self.body["consultor_id"].as_i64()
    }

    /// One line for failure messages.
    pub fn describe(&self) -> String {
        match (self.status, self.failure) {
            (Some(status), _) => format!("{status} {}", self.body),
            (None, Some(failure)) => format!("{failure:?} after {:?}", self.elapsed),
            (None, None) => "nothing".to_owned(),
        }
    }
}

/// Sends `request` and records what happened.
pub fn send(request: RequestBuilder) -> Outcome {
    let started = Instant::now();
    match request.send() {
        Ok(response) => {
            let status = response.status().as_u16();
            let replayed = response
                .headers()
                .get("idempotency-replayed")
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"));
            let body = match response.bytes() {
                Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                // The head arrived but not the whole body: no answer for the caller either.
                Err(error) => return failed(&error, started),
            };
            Outcome {
                status: Some(status),
                body,
                replayed,
                failure: None,
                started,
                elapsed: started.elapsed(),
            }
        }
        Err(error) => failed(&error, started),
    }
}

fn failed(error: &reqwest::Error, started: Instant) -> Outcome {
    Outcome {
        status: None,
        body: Value::Null,
        replayed: false,
        failure: Some(if error.is_timeout() {
            Failure::Timeout
        } else if error.is_connect() {
            Failure::Connect
        } else {
            Failure::Broken
        }),
        started,
        elapsed: started.elapsed(),
    }
}

/// A client for load: `timeout` per call, a connection pool big enough for `threads` callers.
pub fn load_client(timeout: Duration) -> Client {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(128)
        .build()
        .expect("http client")
}

/// A small deterministic random generator (xorshift64*), so each client thread draws its own
/// reproducible sequence without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for stream `seed` (any value; 0 is fine).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One element of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Percentile `p` (0..=100) of `values` (sorted here; empty gives zero).
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

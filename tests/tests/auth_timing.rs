//! What a timing test over the network can show about refusing a wrong `api-key`: no *coarse*
//! difference, such as a database lookup, a hash or a log line that only one kind of wrong key
//! causes. A real leak of that kind moves the whole distribution of refusal times by tens of
//! microseconds or more. It cannot show that the comparison itself is constant-time: an
//! early-exit compare of 32 bytes differs by nanoseconds, far below the jitter of a loopback
//! round trip; that property belongs to the compare (`subtle::ConstantTimeEq` in the http-api
//! crate) and its unit tests. The statistic: many interleaved samples, paired by round, with a
//! tolerance that scales with the measured noise (never a fixed time limit).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use consultores_tests::http::Rng;
use consultores_tests::{raw, Service, ServiceConfig, TestDatabase};

/// The configured key (32 bytes).
const KEY: &str = "tempo-constante-0123456789abcdef";
const ROUNDS: usize = 1_500;
/// The smallest shift this test claims to catch, as a share of the typical refusal time: below
/// it, scheduling and loopback jitter dominate, and no network measurement can tell.
const COARSE_SHARE: f64 = 0.10;
/// How many standard errors of the median paired difference the noise may account for.
const NOISE_STANDARD_ERRORS: f64 = 3.0;

fn refuse(stream: &mut TcpStream, request: &[u8]) -> Duration {
    let started = Instant::now();
    stream.write_all(request).unwrap();
    let response = raw::read_response(stream).expect("a response");
    let elapsed = started.elapsed();
    assert_eq!(response.status, 401, "{}", response.text());
    elapsed
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// Mean of the middle 60 % (20 % trimmed off each end).
fn trimmed_mean(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let cut = values.len() / 5;
    let kept = &values[cut..values.len() - cut];
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// Median absolute deviation from the median.
fn mad(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    let center = median(&mut sorted);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&mut deviations)
}

#[test]
fn refusing_a_wrong_key_shows_no_coarse_timing_difference_over_the_network() {
    let database = TestDatabase::sqlite();
    let mut config = ServiceConfig::with_database(database.url());
    config.api_key = Some(KEY.to_owned());
    config.extra_env = vec![("LOG_LEVEL".to_owned(), "warning".to_owned())];
    let service = Service::start(&config);

    // Same length, same prefix: only the last byte differs (what an early-exit comparison
    // would take longest on).
    let same_length = format!("{}X", &KEY[..KEY.len() - 1]);
    // Other lengths and prefixes.
    // (Much longer keys cost a little more to parse as a header, whatever the secret: that
    // says nothing about the key, so the lengths stay close to the real one's.)
    let classes: [(&str, String); 4] = [
        ("same length and prefix", same_length),
        ("same length, other prefix", format!("X{}", &KEY[1..])),
        ("short, other prefix", "x".to_owned()),
        ("longer, other prefix", "z".repeat(KEY.len() + 16)),
    ];
    for (_, key) in &classes {
        assert_ne!(key, KEY);
    }
    let requests: Vec<Vec<u8>> = classes
        .iter()
        .map(|(_, key)| raw::get("/consultores", &[format!("api-key: {key}")]))
        .collect();

    // One keep-alive connection, classes in a fresh random order every round: drift and noise
    // fall on all classes alike, and each round gives one paired sample per class.
    let mut stream = raw::connect(service.port, Duration::from_secs(30));
    for _ in 0..100 {
        for request in &requests {
            refuse(&mut stream, request);
        }
    }
    let mut rng = Rng::new(42);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); classes.len()];
    let mut order: Vec<usize> = (0..classes.len()).collect();
    for _ in 0..ROUNDS {
        rng.shuffle(&mut order);
        for &class in &order {
            let micros = refuse(&mut stream, &requests[class]).as_secs_f64() * 1e6;
            samples[class].push(micros);
        }
    }

    let mut base = samples[0].clone();
    let base_median = median(&mut base);
    let base_trimmed = trimmed_mean(&mut base);
    let mut report = Vec::new();
    for (class, (name, _)) in classes.iter().enumerate().skip(1) {
        // Paired differences of the same round: robust to drift across the run.
        let mut differences: Vec<f64> = samples[0]
            .iter()
            .zip(&samples[class])
            .map(|(reference, other)| reference - other)
            .collect();
        let difference_median = median(&mut differences.clone());
        let difference_trimmed = trimmed_mean(&mut differences);
        let mut other = samples[class].clone();
        let other_median = median(&mut other);
        let other_trimmed = trimmed_mean(&mut other);
        // The tolerance: COARSE_SHARE of the typical refusal time, or NOISE_STANDARD_ERRORS
        // standard errors of the median difference (1.4826 × MAD / √n, times 1.25 for the
        // median's efficiency), whichever is larger. A coarse leak (a lookup that only happens
        // for one class) shows as a shift of the whole distribution far beyond that.
        let standard_error = 1.25 * 1.4826 * mad(&differences) / (differences.len() as f64).sqrt();
        let tolerance = (COARSE_SHARE * base_median).max(NOISE_STANDARD_ERRORS * standard_error);
        assert!(
            difference_median.abs() <= tolerance,
            "refusing a same-length key vs {name}: median difference {difference_median:.1} µs \
             exceeds {tolerance:.1} µs (medians {base_median:.1} vs {other_median:.1} µs)"
        );
        assert!(
            difference_trimmed.abs() <= tolerance.max(COARSE_SHARE * base_trimmed),
            "refusing a same-length key vs {name}: trimmed mean of the paired differences \
             {difference_trimmed:.1} µs (trimmed means {base_trimmed:.1} vs {other_trimmed:.1} µs)"
        );
        report.push(format!(
            "vs {name}: medians {base_median:.1} / {other_median:.1} µs, trimmed means \
             {base_trimmed:.1} / {other_trimmed:.1} µs, paired differences: median \
             {difference_median:+.1} µs, trimmed mean {difference_trimmed:+.1} µs (tolerance \
             {tolerance:.1} µs)"
        ));
    }
    println!(
        "auth timing (coarse differences only): {ROUNDS} rounds × {} classes of wrong keys, all 401; {}",
        classes.len(),
        report.join("; ")
    );
}

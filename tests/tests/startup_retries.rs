//! Start-up retries only what can fix itself: a database that is not up yet is retried with
//! backoff until `DB_STARTUP_TIMEOUT_SECS`, and the service starts as soon as it comes up; a
//! configuration that can never work stops at once (see also `postgres_tls.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::time::Duration;

use consultores_tests::pg_cluster::PgCluster;
use consultores_tests::{free_port, run_command, TestDatabase};

#[test]
fn a_database_that_is_not_up_yet_is_retried_until_the_startup_timeout() {
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let outcome = run_command(
        &["migrate"],
        &[("DATABASE_URL", &url), ("DB_STARTUP_TIMEOUT_SECS", "2")],
        Duration::from_secs(120),
    );
    let status = outcome
        .status
        .expect("gave up after DB_STARTUP_TIMEOUT_SECS");
    assert!(!status.success());
    assert!(
        outcome.stderr.contains("retrying") && outcome.stderr.contains("Connection refused"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("did not answer within 2 s (DB_STARTUP_TIMEOUT_SECS)"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn start_up_waits_for_a_database_that_comes_up_later() {
    let cluster = PgCluster::start();
    cluster.stop_fast();
    let url = cluster.url();
    std::thread::scope(|scope| {
        let migrate = scope.spawn(|| {
            run_command(
                &["migrate"],
                &[("DATABASE_URL", &url), ("DB_STARTUP_TIMEOUT_SECS", "600")],
                Duration::from_secs(300),
            )
        });
        std::thread::sleep(Duration::from_secs(2));
        cluster.start_again();
        let outcome = migrate.join().unwrap();
        assert!(
            outcome.status.is_some_and(|status| status.success()),
            "{outcome:?}"
        );
        assert!(outcome.stderr.contains("retrying"), "{}", outcome.stderr);
    });
}

#[test]
fn credentials_the_server_refuses_stop_start_up_at_once() {
    let database = TestDatabase::postgres();
    let mut url = url::Url::parse(database.url()).unwrap();
    url.set_username("nobody_by_that_name").unwrap();
    let outcome = run_command(
        &["migrate"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("DB_STARTUP_TIMEOUT_SECS", "3600"),
        ],
        Duration::from_secs(120),
    );
    let status = outcome.status.expect("retried instead of stopping");
    assert!(!status.success());
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("DATABASE_URL cannot be used")
            && outcome.stderr.contains("nobody_by_that_name"),
        "{}",
        outcome.stderr
    );
}

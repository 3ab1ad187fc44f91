//! TLS to PostgreSQL, against a disposable cluster that accepts TCP connections over TLS only
//! (as managed databases with TLS enforced do), with a server certificate from a CA the test
//! makes: `verify-full` with that CA and the certificate's host name, `verify-ca` and `require`
//! connect; another CA, another host name, TLS off, or an `sslmode` libpq does not know stop
//! the binary at once with one line naming `DATABASE_URL`, instead of retrying for
//! `DB_STARTUP_TIMEOUT_SECS`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::time::Duration;

use consultores_tests::checks::SqlProbe;
use consultores_tests::pg_cluster::PgCluster;
use consultores_tests::tls::TestCa;
use consultores_tests::{json, run_command, team, CommandOutcome, Service, ServiceConfig};

/// Far longer than any failure may take: a failure that is retried instead of reported runs
/// into it and the test fails on the missing exit status.
const LIMIT: Duration = Duration::from_secs(120);

fn migrate(url: &str) -> CommandOutcome {
    run_command(
        &["migrate"],
        &[("DATABASE_URL", url), ("DB_STARTUP_TIMEOUT_SECS", "3600")],
        LIMIT,
    )
}

fn assert_migrated(url: &str) {
    let outcome = migrate(url);
    assert!(
        outcome.status.is_some_and(|status| status.success()),
        "{url}: {outcome:?}"
    );
}

/// Exits with a failure at once (not retried), in one line that names the variable and says
/// `why`.
fn assert_refused_at_once(url: &str, why: &str) {
    let outcome = migrate(url);
    let status = outcome
        .status
        .unwrap_or_else(|| panic!("{url}: still retrying after {LIMIT:?}: {}", outcome.stderr));
    assert!(!status.success(), "{url}: {outcome:?}");
    assert_eq!(
        outcome.stderr.lines().count(),
        1,
        "{url}: {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("DATABASE_URL") && outcome.stderr.contains(why),
        "{url}: expected {why:?} in {}",
        outcome.stderr
    );
    assert!(
        !outcome.stderr.contains("retrying"),
        "{url}: {}",
        outcome.stderr
    );
}

#[test]
fn tls_modes_connect_or_fail_at_once_with_one_clear_line() {
    let ca = TestCa::new("consultores test CA");
    let other_ca = TestCa::new("some other CA");
    let cluster = PgCluster::start_tls(&ca.issue_server(&["localhost"]));
    let port = cluster.port();
    let root = ca.certificate.display().to_string();
    let other_root = other_ca.certificate.display().to_string();
    let at =
        |host: &str, query: &str| format!("postgres://postgres@{host}:{port}/postgres?{query}");

    assert_migrated(&at(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ));
    assert_migrated(&at(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={root}"),
    ));
    assert_migrated(&at("127.0.0.1", "sslmode=require"));
    // `sslrootcert=system`: OpenSSL's default store, which SSL_CERT_FILE replaces (the image
    // points it at its CA certificates).
    let system = at("localhost", "sslmode=verify-full&sslrootcert=system");
    let outcome = run_command(
        &["migrate"],
        &[("DATABASE_URL", &system), ("SSL_CERT_FILE", &root)],
        LIMIT,
    );
    assert!(
        outcome.status.is_some_and(|status| status.success()),
        "{outcome:?}"
    );

    assert_refused_at_once(
        &at(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={other_root}"),
        ),
        "certificate verify failed",
    );
    assert_refused_at_once(
        &at(
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={root}"),
        ),
        "does not match host name",
    );
    assert_refused_at_once(&at("127.0.0.1", "sslmode=disable"), "no encryption");
    assert_refused_at_once(&at("127.0.0.1", "sslmode=required"), "sslmode");
    assert_refused_at_once(&at("127.0.0.1", "ssl=true"), "unsupported parameter 'ssl'");
}

#[test]
fn the_service_runs_over_verified_tls_from_the_v6_variables() {
    let ca = TestCa::new("consultores test CA");
    let cluster = PgCluster::start_tls(&ca.issue_server(&["localhost"]));
    let mut config = ServiceConfig::with_database("");
    config.database_url = None;
    let root = ca.certificate.display().to_string();
    config.extra_env = [
        ("POSTGRES_HOST", "localhost"),
        ("POSTGRES_PORT", &cluster.port().to_string()),
        ("POSTGRES_USERNAME", "postgres"),
        ("POSTGRES_DATABASE", "postgres"),
        ("POSTGRES_SSLMODE", "verify-full"),
        ("POSTGRES_SSLROOTCERT", &root),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    let service = Service::start(&config);
    let ana = team::hire(&service, "Ana", &["pt"], true);
    let (status, body) = json(service.get("/consultor/da-vez?idioma=pt"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["consultor_id"], ana.id, "{body}");
    // Every session of the service is encrypted (the server refuses the others anyway).
    let sessions = cluster.strings(
        "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'client backend' \
         AND a.pid <> pg_backend_pid()",
    );
    let (encrypted, total) = sessions[0].split_once('/').unwrap();
    assert_eq!(encrypted, total);
    assert_ne!(total, "0");
}

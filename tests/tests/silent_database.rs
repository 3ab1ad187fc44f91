//! The database host goes silent: a proxy between the service and PostgreSQL stops forwarding
//! without closing anything, as when a host's packets are dropped. Requests answer 503 once the
//! database deadline (`DB_POOL_TIMEOUT_MS` + `DB_STATEMENT_TIMEOUT_MS`) has passed instead of
//! hanging; `/health` stays 200 and `/ready` 503; once packets flow again the service serves
//! fully without a restart, and the numbering has no gap or half-done assignment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // tests fail loudly and report

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use consultores_tests::checks::{assert_gapless, assert_no_half_done_assignment};
use consultores_tests::http::{load_client, send, Outcome};
use consultores_tests::proxy::StallingProxy;
use consultores_tests::{team, Service, ServiceConfig, TestDatabase, API_KEY};

const POOL_TIMEOUT_MS: u64 = 1000;
const STATEMENT_TIMEOUT_MS: u64 = 1000;
const POOL_SIZE: usize = 3;

#[test]
fn a_silent_database_host_gives_503s_not_hangs_and_the_service_recovers_alone() {
    let database = TestDatabase::postgres();
    let mut url = url::Url::parse(database.url()).unwrap();
    let upstream: SocketAddr =
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
            .parse()
            .expect("TEST_DATABASE_URL names an IP address");
    let proxy = StallingProxy::start(upstream);
    url.set_port(Some(proxy.port())).unwrap();
    let mut config = ServiceConfig::with_database(url.as_str());
    config.extra_env = [
        ("DB_POOL_TIMEOUT_MS", POOL_TIMEOUT_MS.to_string()),
        ("DB_STATEMENT_TIMEOUT_MS", STATEMENT_TIMEOUT_MS.to_string()),
        ("DB_POOL_SIZE", POOL_SIZE.to_string()),
        ("LOG_LEVEL", "warning".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let service = Service::start(&config);
    team::hire_group(&service, &["pt"], 3);
    // Far above the deadline: a request that hangs shows up as a client timeout.
    let client = load_client(Duration::from_secs(30));
    let assign = || {
        send(
            client
                .get(service.url("/consultor/da-vez?idioma=pt"))
                .header("api-key", API_KEY),
        )
    };
    assert!(assign().is(200));

    proxy.stall();
    // More calls than pooled connections: the first ones are stuck inside libpq on their
    // connections, the later ones find the pool exhausted. All get 503.
    let during: Vec<Outcome> = (0..2 * POOL_SIZE + 2).map(|_| assign()).collect();
    for call in &during {
        assert!(
            call.is(503),
            "a call while the host is silent: {}",
            call.describe()
        );
        assert_eq!(call.body["detail"], "Serviço indisponível");
    }
    assert!(send(client.get(service.url("/health"))).is(200));
    assert!(send(client.get(service.url("/ready"))).is(503));
    let slowest = during.iter().map(|call| call.elapsed).max().unwrap();

    proxy.resume();
    let resumed = Instant::now();
    let mut recovered = None;
    while resumed.elapsed() < Duration::from_secs(60) {
        if assign().is(200) {
            recovered = Some(resumed.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let recovered = recovered.expect("the service did not recover within 60 s");
    for _ in 0..10 {
        let call = assign();
        assert!(call.is(200), "a call after recovery: {}", call.describe());
    }
    println!(
        "silent host: {} calls answered 503 (slowest {slowest:?}, deadline {} ms); \
         serving again {recovered:?} after packets flowed",
        during.len(),
        POOL_TIMEOUT_MS + STATEMENT_TIMEOUT_MS
    );
    assert_gapless(&database);
    assert_no_half_done_assignment(&database);
}

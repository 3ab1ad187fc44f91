//! What authentication and `/ready` cost the database: a verified key is trusted for a while,
//! wrong keys past an address's allowance are refused without a lookup, concurrent `/ready`
//! probes share one check. The store is wrapped to count the calls that reach it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::test::{self, TestRequest};
use chrono::{DateTime, Utc};
use consultores_domain::{
    Actor, ApiKey, ApiKeyId, ApiKeyScope, ApiKeyStore, DomainError, NewApiKey, PoolState,
    StoreHealth,
};
use consultores_http::{AuthCosts, HttpSettings};
use consultores_persistence::Database;

use crate::common::{self, Logs, Reply, TestApp, ADMIN_KEY};
use crate::on_both_backends;

/// The real store, counting key checks and pings.
struct Counting {
    database: Database,
    checks: AtomicUsize,
    pings: AtomicUsize,
}

impl ApiKeyStore for Counting {
    fn authenticate(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, DomainError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.database.authenticate(presented, now)
    }
    fn create(
        &self,
        new: &NewApiKey,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<(ApiKey, String), DomainError> {
        self.database.create(new, now, actor)
    }
    fn list(&self) -> Result<Vec<ApiKey>, DomainError> {
        ApiKeyStore::list(&self.database)
    }
    fn revoke(&self, id: ApiKeyId, now: DateTime<Utc>, actor: &Actor) -> Result<bool, DomainError> {
        self.database.revoke(id, now, actor)
    }
    fn any_active(&self) -> Result<bool, DomainError> {
        self.database.any_active()
    }
}

impl StoreHealth for Counting {
    fn ping(&self) -> Result<(), DomainError> {
        self.pings.fetch_add(1, Ordering::SeqCst);
        self.database.ping()
    }
    fn pool_state(&self) -> PoolState {
        self.database.pool_state()
    }
}

async fn start_counting(
    backend: common::Backend,
    costs: AuthCosts,
) -> (
    TestApp<
        impl actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
        >,
    >,
    Arc<Counting>,
) {
    let database = common::database(backend);
    let logs = Logs::default();
    let counting = Arc::new(Counting {
        database: database.database(),
        checks: AtomicUsize::new(0),
        pings: AtomicUsize::new(0),
    });
    let state = common::state_with_ports(
        &database.database(),
        &logs,
        counting.clone(),
        counting.clone(),
    );
    let settings = HttpSettings {
        auth_costs: costs,
        ..common::settings()
    };
    let service = test::init_service(consultores_http::app(state, settings)).await;
    (
        TestApp {
            service,
            database,
            logs,
        },
        counting,
    )
}

fn from(address: &str, key: &str) -> TestRequest {
    TestRequest::get()
        .uri("/consultores")
        .insert_header(("api-key", key))
        .peer_addr(address.parse::<SocketAddr>().unwrap())
}

const HOUR: Duration = Duration::from_secs(3600);

on_both_backends! {
    async fn a_verified_key_is_trusted_for_a_while_and_a_revocation_here_is_at_once(backend) {
        let costs = AuthCosts { verified_for: HOUR, ..AuthCosts::default() };
        let (app, counting) = start_counting(backend, costs).await;
        let (id, key) = app.key(ApiKeyScope::Read);
        for _ in 0..10 {
            app.send(from("10.0.0.1:5000", &key)).await.expect(200);
        }
        assert_eq!(counting.checks.load(Ordering::SeqCst), 1);
        app.delete(&format!("/api-keys/{id}")).await.expect(200);
        app.send(from("10.0.0.1:5000", &key)).await.expect(401);
    }

    async fn a_key_revoked_by_another_replica_stops_working_once_trusted_time_is_up(backend) {
        let costs = AuthCosts { verified_for: Duration::ZERO, ..AuthCosts::default() };
        let (app, _) = start_counting(backend, costs).await;
        let (id, key) = app.key(ApiKeyScope::Read);
        app.send(from("10.0.0.1:5000", &key)).await.expect(200);
        // Revoked in the store directly, as another replica does.
        app.database.database().revoke(ApiKeyId(id), Utc::now(), &Actor::cli("teste")).unwrap();
        app.send(from("10.0.0.1:5000", &key)).await.expect(401);
    }

    async fn wrong_keys_past_an_address_allowance_are_refused_without_a_lookup(backend) {
        let costs = AuthCosts { failures_allowed: 5, failure_window: HOUR, ..AuthCosts::default() };
        let (app, counting) = start_counting(backend, costs).await;
        let (_, key) = app.key(ApiKeyScope::Read);
        for i in 0..30 {
            app.send(from("10.0.0.1:5000", &format!("chave-errada-{i}"))).await.expect(401);
        }
        assert_eq!(counting.checks.load(Ordering::SeqCst), 5);
        // That address is refused even a right stored key until its window ends; others are
        // not, and the configured key needs no lookup.
        app.send(from("10.0.0.1:5001", &key)).await.expect(401);
        assert_eq!(counting.checks.load(Ordering::SeqCst), 5);
        app.send(from("10.0.0.2:5000", &key)).await.expect(200);
        app.send(from("10.0.0.1:5000", ADMIN_KEY)).await.expect(200);
    }

    async fn concurrent_ready_probes_share_one_check(backend) {
        let costs = AuthCosts { ready_for: HOUR, ..AuthCosts::default() };
        let (app, counting) = start_counting(backend, costs).await;
        let probes = (0..50).map(|_| app.send(TestRequest::get().uri("/ready")));
        let replies: Vec<Reply> = futures_util::future::join_all(probes).await;
        assert!(replies.iter().all(|reply| reply.status == 200));
        assert_eq!(counting.pings.load(Ordering::SeqCst), 1);
    }
}

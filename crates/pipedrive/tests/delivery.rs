//! The delivery path against a local server that answers like Pipedrive: outbox items written by
//! real assignments (PostgreSQL and SQLite), delivered by the domain's delivery service and the
//! background worker through the real client.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use consultores_domain::{
    Actor, ApiKeyId, AssignmentPort, ConsultantId, ConsultantName, ConsultantRepository,
    CrmActionKind, CrmDeliveryService, CrmEventDecoder, CrmEventInbox, CrmEventOutcome, CrmOutbox,
    CrmTarget, DeliverySettings, DeliveryState, DistributionService, HandledEvent, Language,
    LanguageList, LanguageSource, NewConsultant, PipedriveUserId, ProcessorSettings, ProtocolId,
    ProtocolRecords, ProtocolRepository, SystemClock, WebhookProcessor,
};
use consultores_persistence::testing::TestDatabase;
use consultores_persistence::Database;
use consultores_pipedrive::{
    Backoff, CatchUp, CatchUpSettings, PipedriveClient, PipedriveConfig, SharedPause,
    WebhookDecoder, Worker, WorkerSettings, BLOCK_PAUSE_SECS,
};
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const OWNER: i64 = 456;
const LEAD: &str = "adf21080-0e10-11eb-879b-05d71fb426ec";

/// A local Pipedrive (on its own runtime) and a fresh database. Everything else in these tests
/// runs on the plain test thread, where the blocking client belongs.
struct Setup {
    runtime: Runtime,
    server: MockServer,
    test: TestDatabase,
}

impl Setup {
    fn new(test: TestDatabase) -> Self {
        let runtime = Runtime::new().unwrap();
        let server = runtime.block_on(MockServer::start());
        Self {
            runtime,
            server,
            test,
        }
    }

    fn db(&self) -> Database {
        self.test.database()
    }

    fn mount(&self, mock: Mock) {
        self.runtime.block_on(mock.mount(&self.server));
    }

    fn requests(&self) -> Vec<Request> {
        self.runtime
            .block_on(self.server.received_requests())
            .unwrap()
    }

    fn client(&self, timeout: Duration) -> Arc<PipedriveClient> {
        let config = PipedriveConfig::new(TOKEN, Url::parse(&self.server.uri()).unwrap())
            .with_timeout(timeout);
        Arc::new(PipedriveClient::new(config).unwrap())
    }

    /// The delivery service over this database, with a fast backoff.
    fn delivery(&self, client: Arc<PipedriveClient>) -> CrmDeliveryService {
        CrmDeliveryService::new(
            Arc::new(self.db()),
            client.clone(),
            client,
            fast_backoff(),
            Arc::new(SystemClock),
            DeliverySettings::DEFAULT,
        )
    }

    /// The delivery service of one replica as the binary builds it: its own client, the pause
    /// shared through this database.
    fn replica(&self) -> CrmDeliveryService {
        let client = self.client(Duration::from_secs(5));
        let pause = Arc::new(SharedPause::new(
            client.clone(),
            Arc::new(self.db()),
            Arc::new(SystemClock),
        ));
        CrmDeliveryService::new(
            Arc::new(self.db()),
            client,
            pause,
            fast_backoff(),
            Arc::new(SystemClock),
            DeliverySettings::DEFAULT,
        )
    }

    /// The webhook processor as the binary builds it (language `pt` for every record).
    fn processor(&self) -> WebhookProcessor {
        let db = Arc::new(self.db());
        WebhookProcessor::new(
            db.clone(),
            db.clone(),
            DistributionService::new(db.clone(), Arc::new(SystemClock)),
            Arc::new(WebhookDecoder),
            self.client(Duration::from_secs(5)),
            LanguageSource {
                field: None,
                default: Some(Language::parse("pt").unwrap()),
            },
            Arc::new(SystemClock),
            ProcessorSettings::DEFAULT,
        )
        .with_protocol_records(ProtocolRecords {
            consultants: db.clone(),
            protocols: db,
        })
    }

    /// Records a webhook delivery as the endpoint does and processes it: its outcome.
    fn webhook(&self, processor: &WebhookProcessor, body: Value) -> CrmEventOutcome {
        let event = WebhookDecoder.decode(body.to_string().as_bytes()).unwrap();
        assert!(self.db().record(&event, Utc::now()).unwrap(), "a new event");
        let round = processor.process_pending(&|| false).unwrap();
        match round.handled.as_slice() {
            [HandledEvent::Finished { outcome, .. }] => outcome.clone(),
            other => panic!("one event finished expected, got {other:?}"),
        }
    }

    /// A consultant speaking pt with this Pipedrive user, online or not.
    fn hire(&self, name: &str, pipedrive_user: i64, online: bool) -> ConsultantId {
        let mut new = NewConsultant::new(
            ConsultantName::parse(name).unwrap(),
            LanguageList::new(vec![Language::parse("pt").unwrap()]).unwrap(),
        );
        new.online = online;
        new.pipedrive_user_id = Some(PipedriveUserId::new(pipedrive_user).unwrap());
        ConsultantRepository::create(&self.db(), &new, Utc::now(), &actor())
            .unwrap()
            .id
    }

    /// An online consultant "João Silva" speaking pt, Pipedrive user [`OWNER`].
    fn consultant(&self) {
        self.hire("João Silva", OWNER, true);
    }

    /// [`Self::consultant`], and `target` assigned to him: the protocol and its number.
    fn consultant_assigned(&self, target: CrmTarget) -> (ProtocolId, String) {
        self.consultant();
        self.assign(target)
    }

    /// [`Self::consultant`], and deal 42 assigned to him: its protocol.
    fn deal_42_assigned(&self) -> ProtocolId {
        self.consultant_assigned(CrmTarget::Deal(42)).0
    }

    /// The delivery service with a client of the usual timeout.
    fn usual_delivery(&self) -> CrmDeliveryService {
        self.delivery(self.client(Duration::from_secs(5)))
    }

    /// Pipedrive accepts every owner update, answering `owner_echo`, and every note, answering
    /// `note_echo`.
    fn accept_owners_and_notes(&self, owner_echo: Value, note_echo: Value) {
        self.mount(Mock::given(method("PATCH")).respond_with(ok(owner_echo)));
        self.mount(Mock::given(method("POST")).respond_with(ok(note_echo)));
    }

    /// Pipedrive answers the first owner update with `response`, before whatever else is
    /// mounted for owner updates.
    fn answer_first_owner_update(&self, response: ResponseTemplate) {
        self.mount(
            Mock::given(method("PATCH"))
                .respond_with(response)
                .up_to_n_times(1)
                .with_priority(1),
        );
    }

    /// [`Self::consultant`] assigned deals 1 to `deals`; Pipedrive accepts everything, each
    /// answer taking `slow`.
    fn deals_assigned_to_a_slow_pipedrive(&self, deals: i64, slow: Duration) {
        self.consultant();
        for deal in 1..=deals {
            self.assign(CrmTarget::Deal(deal));
        }
        self.mount(Mock::given(method("PATCH")).respond_with(ok(json!({})).set_delay(slow)));
        self.mount(Mock::given(method("POST")).respond_with(ok(json!({})).set_delay(slow)));
    }

    fn all_done(&self, protocol: ProtocolId) -> bool {
        self.states(protocol)
            .iter()
            .all(|(_, state, _)| *state == DeliveryState::Done)
    }

    /// The owner update delivered on its second try, the note on its first.
    fn assert_owner_retried_once_then_all_done(&self, protocol: ProtocolId) {
        assert_eq!(
            self.states(protocol),
            vec![
                (CrmActionKind::SetOwner, DeliveryState::Done, 2),
                (CrmActionKind::AddNote, DeliveryState::Done, 1),
            ]
        );
    }

    fn request_paths(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|request| request.url.path().to_owned())
            .collect()
    }

    /// A `pt` assignment for `target`, returning the protocol and its number.
    fn assign(&self, target: CrmTarget) -> (ProtocolId, String) {
        let assigned = self
            .db()
            .assign_next(
                &Language::parse("pt").unwrap(),
                Utc::now(),
                None,
                &actor(),
                Some(target),
            )
            .unwrap()
            .value;
        assert_eq!(assigned.crm_actions.map(|a| a.len()), Some(2));
        (assigned.protocol.id, assigned.protocol.number.to_string())
    }

    fn states(&self, protocol: ProtocolId) -> Vec<(CrmActionKind, DeliveryState, u32)> {
        self.db()
            .states_for_protocol(protocol)
            .unwrap()
            .into_iter()
            .map(|status| (status.action, status.state, status.attempts))
            .collect()
    }

    /// Runs delivery rounds until nothing is pending (or fails the test after 30 s).
    fn deliver_all(&self, delivery: &CrmDeliveryService) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.db().pending_count().unwrap() > 0 {
            assert!(Instant::now() < deadline, "items still pending after 30 s");
            let round = delivery.deliver_due(&|| false).unwrap();
            if round.claimed == 0 {
                std::thread::sleep(round.pause.unwrap_or(Duration::from_millis(20)));
            }
        }
    }

    fn wait_until(&self, what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Tests do not wait for the production schedule.
fn fast_backoff() -> Arc<Backoff> {
    Arc::new(Backoff::new(
        Duration::from_millis(20),
        Duration::from_millis(100),
    ))
}

fn actor() -> Actor {
    Actor::stored_key(ApiKeyId(1), Some("testes"), "req-teste")
}

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": data}))
}

fn pipedrive_error(status: u16, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "success": false, "error": error, "error_info": "Please check developers.pipedrive.com",
        "data": null, "additional_data": null
    }))
}

fn note_text(number: &str) -> String {
    format!("Protocolo {number} — atendimento atribuído a João Silva")
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// Requests by `METHOD path`, with their bodies.
fn by_route(requests: &[Request]) -> HashMap<String, Vec<Value>> {
    let mut routes: HashMap<String, Vec<Value>> = HashMap::new();
    for request in requests {
        routes
            .entry(format!("{} {}", request.method, request.url.path()))
            .or_default()
            .push(body(request));
    }
    routes
}

/// Deals 1 to `deals` each got exactly one owner update.
fn assert_each_owner_sent_once(routes: &HashMap<String, Vec<Value>>, deals: i64) {
    for deal in 1..=deals {
        assert_eq!(
            routes[&format!("PATCH /api/v2/deals/{deal}")].len(),
            1,
            "deal {deal}"
        );
    }
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name(super::Setup::new(TestDatabase::postgres()));
                }
            )+
            use consultores_persistence::testing::TestDatabase;
        }
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(super::Setup::new(TestDatabase::sqlite()));
                }
            )+
            use consultores_persistence::testing::TestDatabase;
        }
    };
}

on_both_backends!(
    a_deal_gets_its_owner_and_note_with_the_exact_requests,
    a_lead_gets_its_owner_through_v1_and_its_note,
    a_person_gets_its_owner_through_v2_and_its_note,
    a_bad_token_fails_both_actions_with_the_reason,
    an_unknown_deal_fails_with_the_reason,
    a_spent_rate_budget_is_honoured_before_any_retry,
    a_server_error_is_retried_until_it_succeeds,
    a_slow_server_times_out_and_is_retried,
    a_stopped_worker_leaves_the_rest_for_the_next_one_and_nothing_is_sent_twice,
    an_unusable_adopted_row_fails_alone_and_the_others_are_delivered,
    any_429_pauses_every_delivery_on_every_replica,
    a_block_page_pauses_every_delivery_for_long_and_fails_nothing,
    a_lead_converted_to_a_deal_keeps_its_consultant_and_protocol,
    deletes_and_merges_cancel_the_pending_actions_of_the_record,
    the_echo_of_our_own_owner_update_changes_nothing,
    an_owner_changed_by_a_person_is_recorded_on_the_protocol,
    an_owner_who_is_no_consultant_is_noted_and_a_hand_back_is_no_echo,
    missed_creations_are_recovered_once_and_a_banned_or_deleted_webhook_is_reported,
    recovered_records_are_handed_out_like_webhook_events_and_only_once,
    notes_are_written_as_the_consultant_when_configured,
);

fn a_deal_gets_its_owner_and_note_with_the_exact_requests(setup: Setup) {
    let (protocol, number) = setup.consultant_assigned(CrmTarget::Deal(42));
    setup.mount(
        Mock::given(method("PATCH"))
            .and(path("/api/v2/deals/42"))
            .and(header("x-api-token", TOKEN))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({"owner_id": OWNER})))
            .respond_with(ok(json!({"id": 42, "owner_id": OWNER})))
            .expect(1),
    );
    setup.mount(
        Mock::given(method("POST"))
            .and(path("/api/v1/notes"))
            .and(header("x-api-token", TOKEN))
            .and(body_json(
                json!({"content": note_text(&number), "deal_id": 42}),
            ))
            .respond_with(ok(json!({"id": 1, "deal_id": 42})))
            .expect(1),
    );
    let delivery = setup.usual_delivery();
    let round = delivery.deliver_due(&|| false).unwrap();
    assert_eq!((round.claimed, round.delivered), (2, 2));
    assert_eq!(
        setup.states(protocol),
        vec![
            (CrmActionKind::SetOwner, DeliveryState::Done, 1),
            (CrmActionKind::AddNote, DeliveryState::Done, 1),
        ]
    );
    let requests = setup.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].url.path(), "/api/v2/deals/42", "owner first");
    for request in &requests {
        assert!(
            request.url.query().is_none(),
            "the token never rides in the URL"
        );
    }
    setup.runtime.block_on(setup.server.verify());
}

fn a_lead_gets_its_owner_through_v1_and_its_note(setup: Setup) {
    let (protocol, number) = setup.consultant_assigned(CrmTarget::Lead(LEAD.into()));
    setup.accept_owners_and_notes(json!({"id": LEAD}), json!({"id": 2}));
    setup.deliver_all(&setup.usual_delivery());
    let routes = by_route(&setup.requests());
    assert_eq!(
        routes[&format!("PATCH /api/v1/leads/{LEAD}")],
        vec![json!({"owner_id": OWNER})]
    );
    assert_eq!(
        routes["POST /api/v1/notes"],
        vec![json!({"content": note_text(&number), "lead_id": LEAD})]
    );
    assert!(setup.all_done(protocol));
}

fn a_person_gets_its_owner_through_v2_and_its_note(setup: Setup) {
    let (_, number) = setup.consultant_assigned(CrmTarget::Person(17));
    setup.accept_owners_and_notes(json!({"id": 17}), json!({"id": 3}));
    setup.deliver_all(&setup.usual_delivery());
    let routes = by_route(&setup.requests());
    assert_eq!(
        routes["PATCH /api/v2/persons/17"],
        vec![json!({"owner_id": OWNER})]
    );
    assert_eq!(
        routes["POST /api/v1/notes"],
        vec![json!({"content": note_text(&number), "person_id": 17})]
    );
}

fn a_bad_token_fails_both_actions_with_the_reason(setup: Setup) {
    let protocol = setup.deal_42_assigned();
    setup.mount(
        Mock::given(wiremock::matchers::any())
            .respond_with(pipedrive_error(401, "unauthorized access")),
    );
    let round = setup
        .delivery(setup.client(Duration::from_secs(5)))
        .deliver_due(&|| false)
        .unwrap();
    assert_eq!(round.failed, 2);
    let failed = DeliveryState::Failed {
        reason: "Pipedrive respondeu 401 Unauthorized: unauthorized access".into(),
    };
    assert_eq!(
        setup.states(protocol),
        vec![
            (CrmActionKind::SetOwner, failed.clone(), 1),
            (CrmActionKind::AddNote, failed, 1),
        ]
    );
    assert_eq!(
        setup.db().pending_count().unwrap(),
        0,
        "no retry of a permanent error"
    );
}

fn an_unknown_deal_fails_with_the_reason(setup: Setup) {
    let (protocol, _) = setup.consultant_assigned(CrmTarget::Deal(999));
    setup.mount(
        Mock::given(method("PATCH"))
            .and(path("/api/v2/deals/999"))
            .respond_with(pipedrive_error(404, "Deal not found")),
    );
    setup.mount(Mock::given(method("POST")).respond_with(pipedrive_error(404, "Deal not found")));
    setup.deliver_all(&setup.usual_delivery());
    let states = setup.states(protocol);
    assert_eq!(
        states[0],
        (
            CrmActionKind::SetOwner,
            DeliveryState::Failed {
                reason: "Pipedrive respondeu 404 Not Found: Deal not found".into()
            },
            1
        )
    );
    assert_eq!(setup.requests().len(), 2, "tried once each");
}

fn next_attempt(setup: &Setup, protocol: ProtocolId) -> DateTime<Utc> {
    let text = setup.test.query_strings(&format!(
        "SELECT CAST(proxima_tentativa AS TEXT) AS value FROM crm_outbox \
         WHERE protocolo_id = {} AND acao = 'definir_responsavel'",
        protocol.0
    ));
    let text = text[0].replace(' ', "T");
    DateTime::parse_from_rfc3339(&text)
        .or_else(|_| DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%#z"))
        .unwrap()
        .with_timezone(&Utc)
}

fn a_spent_rate_budget_is_honoured_before_any_retry(setup: Setup) {
    let protocol = setup.deal_42_assigned();
    setup.answer_first_owner_update(
        pipedrive_error(429, "Request over limit")
            .insert_header("x-ratelimit-limit", "40")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", "2"),
    );
    setup.accept_owners_and_notes(json!({"id": 42}), json!({"id": 1}));
    let delivery = setup.usual_delivery();

    let before = Utc::now();
    let round = delivery.deliver_due(&|| false).unwrap();
    assert_eq!(round.rescheduled, 1);
    assert_eq!(
        round.released, 1,
        "the note waits too: the whole worker pauses"
    );
    let pause = round.pause.expect("the round reports the pause");
    assert!(
        pause > Duration::ZERO && pause <= Duration::from_secs(2),
        "{pause:?}"
    );
    assert!(
        next_attempt(&setup, protocol) >= before + chrono::Duration::seconds(2),
        "not due again before the window resets"
    );
    let states = setup.states(protocol);
    assert_eq!(
        states[0].1,
        DeliveryState::Pending {
            last_error: Some(
                "Pipedrive respondeu 429 Too Many Requests: Request over limit".into()
            )
        }
    );

    // Asked again at once: the pause holds, nothing is sent.
    let again = delivery.deliver_due(&|| false).unwrap();
    assert_eq!(again.claimed, 0);
    assert!(again.pause.is_some());
    assert_eq!(setup.requests().len(), 1);

    setup.deliver_all(&delivery);
    assert_eq!(
        setup.requests().len(),
        3,
        "one retry of the owner, then the note"
    );
    setup.assert_owner_retried_once_then_all_done(protocol);
}

fn a_server_error_is_retried_until_it_succeeds(setup: Setup) {
    let protocol = setup.deal_42_assigned();
    setup.answer_first_owner_update(ResponseTemplate::new(500).set_body_string("oops"));
    setup.accept_owners_and_notes(json!({"id": 42}), json!({"id": 1}));
    let delivery = setup.usual_delivery();
    let round = delivery.deliver_due(&|| false).unwrap();
    assert_eq!((round.rescheduled, round.delivered), (1, 1));
    assert_eq!(
        setup.states(protocol)[0].1,
        DeliveryState::Pending {
            last_error: Some("Pipedrive respondeu 500 Internal Server Error".into())
        }
    );
    setup.deliver_all(&delivery);
    setup.assert_owner_retried_once_then_all_done(protocol);
    assert_eq!(
        by_route(&setup.requests())["PATCH /api/v2/deals/42"].len(),
        2
    );
}

fn a_slow_server_times_out_and_is_retried(setup: Setup) {
    let protocol = setup.deal_42_assigned();
    setup.answer_first_owner_update(ok(json!({"id": 42})).set_delay(Duration::from_secs(3)));
    setup.accept_owners_and_notes(json!({"id": 42}), json!({"id": 1}));
    let delivery = setup.delivery(setup.client(Duration::from_millis(300)));
    delivery.deliver_due(&|| false).unwrap();
    match &setup.states(protocol)[0].1 {
        DeliveryState::Pending {
            last_error: Some(reason),
        } => assert!(reason.contains("timeout"), "{reason}"),
        other => panic!("expected a pending retry, got {other:?}"),
    }
    setup.deliver_all(&delivery);
    assert_eq!(
        setup.states(protocol)[0],
        (CrmActionKind::SetOwner, DeliveryState::Done, 2)
    );
}

fn a_stopped_worker_leaves_the_rest_for_the_next_one_and_nothing_is_sent_twice(setup: Setup) {
    const DEALS: i64 = 6;
    setup.deals_assigned_to_a_slow_pipedrive(DEALS, Duration::from_millis(150));
    let settings = WorkerSettings {
        idle_wait: Duration::from_millis(20),
        ..WorkerSettings::DEFAULT
    };

    let first = Worker::spawn(setup.usual_delivery(), None, settings, |_| {}).unwrap();
    setup.wait_until("the first deliveries", || setup.requests().len() >= 3);
    first.stop();
    let pending = setup.db().pending_count().unwrap();
    assert!(pending > 0, "the test stops the worker with items pending");
    let leased = setup.test.query_i64(
        "SELECT CAST(count(*) AS BIGINT) AS value FROM crm_outbox \
         WHERE estado = 'pendente' AND bloqueado_ate IS NOT NULL",
    );
    assert_eq!(
        leased, 0,
        "a stopping worker releases what it has not tried"
    );
    assert_eq!(
        setup.requests().len() as u64 + pending,
        2 * DEALS as u64,
        "every call made was recorded as done"
    );

    let second = Worker::spawn(setup.usual_delivery(), None, settings, |_| {}).unwrap();
    setup.wait_until("every delivery", || {
        setup.db().pending_count().unwrap() == 0
    });
    second.stop();

    let routes = by_route(&setup.requests());
    assert_each_owner_sent_once(&routes, DEALS);
    let mut noted: Vec<i64> = routes["POST /api/v1/notes"]
        .iter()
        .map(|body| body["deal_id"].as_i64().unwrap())
        .collect();
    noted.sort_unstable();
    assert_eq!(noted, (1..=DEALS).collect::<Vec<_>>(), "one note per deal");
}

#[test]
fn two_workers_on_one_postgresql_database_never_send_an_item_twice() {
    const DEALS: i64 = 15;
    let setup = Setup::new(TestDatabase::postgres());
    setup.deals_assigned_to_a_slow_pipedrive(DEALS, Duration::from_millis(20));
    let settings = WorkerSettings {
        idle_wait: Duration::from_millis(10),
        ..WorkerSettings::DEFAULT
    };
    // Two replicas: each its own pool on the same database, its own client.
    let replica = || {
        let database = Database::connect(
            setup.test.url(),
            &consultores_persistence::testing::test_pool_settings(),
        )
        .unwrap();
        let client = setup.client(Duration::from_secs(5));
        let delivery = CrmDeliveryService::new(
            Arc::new(database),
            client.clone(),
            client,
            fast_backoff(),
            Arc::new(SystemClock),
            DeliverySettings {
                batch: 3,
                ..DeliverySettings::DEFAULT
            },
        );
        let delivered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = delivered.clone();
        let worker = Worker::spawn(delivery, None, settings, move |report| {
            if let consultores_pipedrive::WorkerReport::Delivery(round) = report {
                count.fetch_add(round.delivered, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .unwrap();
        (worker, delivered)
    };
    let (one, one_delivered) = replica();
    let (two, two_delivered) = replica();
    setup.wait_until("every delivery", || {
        setup.db().pending_count().unwrap() == 0
    });
    one.stop();
    two.stop();

    let requests = setup.requests();
    assert_eq!(
        requests.len(),
        2 * DEALS as usize,
        "each item sent exactly once"
    );
    let routes = by_route(&requests);
    assert_each_owner_sent_once(&routes, DEALS);
    let one = one_delivered.load(std::sync::atomic::Ordering::SeqCst);
    let two = two_delivered.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(one + two, 2 * DEALS as usize, "one: {one}, two: {two}");
}

fn an_unusable_adopted_row_fails_alone_and_the_others_are_delivered(setup: Setup) {
    // An owner update with owner id 0, as a v6 adoption could leave it, queued before a real
    // assignment.
    setup.test.execute(
        "INSERT INTO crm_outbox (acao, alvo_tipo, alvo_id, owner_id, estado, tentativas, \
         proxima_tentativa, created_at, updated_at) VALUES ('definir_responsavel', 'deal', '7', \
         0, 'pendente', 0, '2026-01-01T00:00:00.000000+00:00', \
         '2026-01-01T00:00:00.000000+00:00', '2026-01-01T00:00:00.000000+00:00')",
    );
    let protocol = setup.deal_42_assigned();
    setup.accept_owners_and_notes(json!({"id": 42}), json!({"id": 1}));
    let delivery = setup.usual_delivery();

    let round = delivery.deliver_due(&|| false).unwrap();
    assert_eq!((round.claimed, round.delivered), (2, 2));
    assert!(setup.all_done(protocol));
    assert_eq!(
        setup.test.query_strings(
            "SELECT estado || '|' || ultimo_erro AS value FROM crm_outbox WHERE alvo_id = '7'"
        ),
        vec!["falhou|ação inválida no banco: owner_id 0 não é um id de usuário do Pipedrive"]
    );
    let paths = setup.request_paths();
    assert!(!paths.iter().any(|path| path.ends_with("/7")), "{paths:?}");
    assert_eq!(setup.db().pending_count().unwrap(), 0);
}

fn any_429_pauses_every_delivery_on_every_replica(setup: Setup) {
    let (first, _) = setup.consultant_assigned(CrmTarget::Deal(42));
    let (second, _) = setup.assign(CrmTarget::Deal(43));
    // A 429 whose headers still show burst room: the daily token budget, which has no header.
    setup.answer_first_owner_update(
        pipedrive_error(429, "Request over limit")
            .insert_header("retry-after", "2")
            .insert_header("x-ratelimit-limit", "40")
            .insert_header("x-ratelimit-remaining", "35")
            .insert_header("x-ratelimit-reset", "1"),
    );
    setup.accept_owners_and_notes(json!({"id": 42}), json!({"id": 1}));
    let [replica_a, replica_b] = [setup.replica(), setup.replica()];

    let round = replica_a.deliver_due(&|| false).unwrap();
    let outcome = (round.claimed, round.rescheduled, round.released);
    assert_eq!(outcome, (4, 1, 3), "the batch stops at the 429: {round:?}");
    let pause = round.pause.expect("any 429 pauses");
    assert!(pause > Duration::ZERO && pause <= Duration::from_secs(2));
    assert_eq!(setup.requests().len(), 1);

    // The other replica, whose own client never saw the 429, waits too.
    let other = replica_b.deliver_due(&|| false).unwrap();
    assert_eq!(other.claimed, 0);
    assert!(other.pause.is_some(), "{other:?}");
    assert_eq!(setup.requests().len(), 1, "nothing sent during the pause");
    let stored = setup
        .test
        .query_strings("SELECT motivo AS value FROM pipedrive_pausa");
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].starts_with("Pipedrive respondeu 429 Too Many Requests: Request over limit"),
        "{stored:?}"
    );

    setup.deliver_all(&replica_b);
    for protocol in [first, second] {
        assert!(setup.all_done(protocol));
    }
}

fn a_block_page_pauses_every_delivery_for_long_and_fails_nothing(setup: Setup) {
    let protocol = setup.deal_42_assigned();
    // The block Pipedrive applies to a token whose traffic went on after 429s: an HTML page.
    setup.mount(
        Mock::given(method("PATCH")).respond_with(
            ResponseTemplate::new(403)
                .insert_header("content-type", "text/html; charset=UTF-8")
                .insert_header("server", "cloudflare")
                .set_body_string(
                    "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title>\
                     </head><body><h1>Sorry, you have been blocked</h1></body></html>",
                ),
        ),
    );
    let [replica_a, replica_b] = [setup.replica(), setup.replica()];

    let before = Utc::now();
    let round = replica_a.deliver_due(&|| false).unwrap();
    let outcome = (round.failed, round.rescheduled, round.released);
    assert_eq!(outcome, (0, 1, 1), "{round:?}");
    let pause = round.pause.expect("a block pauses everything");
    assert!(
        pause > Duration::from_secs(BLOCK_PAUSE_SECS - 60),
        "{pause:?}"
    );
    let states = setup.states(protocol);
    let DeliveryState::Pending {
        last_error: Some(reason),
    } = &states[0].1
    else {
        panic!("the owner update waits: {states:?}");
    };
    assert!(reason.contains("bloqueio do token"), "{reason}");
    assert!(!reason.contains("<html"), "{reason}");
    assert_eq!(
        states[1].1,
        DeliveryState::Pending { last_error: None },
        "the note was not tried"
    );
    let long = chrono::Duration::seconds(i64::try_from(BLOCK_PAUSE_SECS).unwrap() - 60);
    assert!(next_attempt(&setup, protocol) >= before + long);

    let other = replica_b.deliver_due(&|| false).unwrap();
    assert_eq!(other.claimed, 0);
    assert!(other.pause.unwrap() > Duration::from_secs(BLOCK_PAUSE_SECS - 60));
    assert_eq!(setup.requests().len(), 1);
    assert_eq!(setup.db().pending_count().unwrap(), 2, "nothing failed");
}

/// A webhook v2 delivery as Pipedrive sends it.
fn delivery_of(action: &str, entity: &str, id: &str, data: Value, previous: Value) -> Value {
    json!({
        "meta": {
            "action": action, "entity": entity, "entity_id": id, "attempt": 1,
            "id": format!("evento-{action}-{entity}-{id}-{}", previous["owner_id"]),
            "company_id": "900100", "version": "2.0", "change_source": "app",
            "user_id": "1001", "webhook_id": "555", "host": "acme.pipedrive.com",
            "timestamp": "2025-03-10T12:00:00.123Z", "is_bulk_edit": false, "type": "general"
        },
        "data": data,
        "previous": previous
    })
}

fn protocol_count(setup: &Setup) -> i64 {
    setup
        .test
        .query_i64("SELECT CAST(COUNT(*) AS BIGINT) AS value FROM protocolos")
}

fn a_lead_converted_to_a_deal_keeps_its_consultant_and_protocol(setup: Setup) {
    setup.consultant();
    setup.accept_owners_and_notes(json!({"id": 1}), json!({"id": 1}));
    let processor = setup.processor();
    let delivery = setup.usual_delivery();

    let created = setup.webhook(
        &processor,
        delivery_of(
            "create",
            "lead",
            LEAD,
            json!({"id": LEAD, "title": "Lead do site", "owner_id": 1001, "source_deal_id": null}),
            Value::Null,
        ),
    );
    let CrmEventOutcome::Assigned { protocol } = created else {
        panic!("the lead is handed out: {created:?}");
    };
    setup.deliver_all(&delivery);
    let sent = setup.requests().len();
    assert_eq!(sent, 2, "owner and note of the lead");

    // Converting the lead creates a deal that names it; Pipedrive fires create.deal.
    let converted = setup.webhook(
        &processor,
        delivery_of(
            "create",
            "deal",
            "77",
            json!({"id": 77, "title": "Lead do site", "owner_id": OWNER, "source_lead_id": LEAD,
                   "status": "open", "custom_fields": {}}),
            Value::Null,
        ),
    );
    assert_eq!(
        converted,
        CrmEventOutcome::Linked {
            protocol,
            reason: format!(
                "deal 77 convertido de lead {LEAD}: mantém o consultor e o protocolo do \
                 registro de origem, sem nova atribuição"
            ),
        }
    );
    assert_eq!(protocol_count(&setup), 1, "no second protocol");
    assert_eq!(setup.states(protocol).len(), 2, "no new action");
    assert_eq!(setup.db().pending_count().unwrap(), 0);
    delivery.deliver_due(&|| false).unwrap();
    assert_eq!(setup.requests().len(), sent, "no owner change, no note");
    assert_eq!(
        setup.test.query_strings(
            "SELECT estado || '|' || CAST(protocolo_id AS TEXT) AS value \
             FROM pipedrive_webhook_eventos WHERE entidade = 'deal'"
        ),
        vec![format!("concluido|{}", protocol.0)]
    );

    // A deal created on its own is still handed out.
    let own = setup.webhook(
        &processor,
        delivery_of(
            "create",
            "deal",
            "78",
            json!({"id": 78, "owner_id": 1001, "source_lead_id": null}),
            Value::Null,
        ),
    );
    assert!(matches!(own, CrmEventOutcome::Assigned { .. }), "{own:?}");
    assert_eq!(protocol_count(&setup), 2);
}

fn deletes_and_merges_cancel_the_pending_actions_of_the_record(setup: Setup) {
    let (merged, _) = setup.consultant_assigned(CrmTarget::Deal(42));
    let (deleted, _) = setup.assign(CrmTarget::Deal(43));
    let (kept, _) = setup.assign(CrmTarget::Deal(44));
    let processor = setup.processor();

    // A merge sends a delete for the merged deal, naming the survivor, and a change for it.
    let mut merge = delivery_of(
        "delete",
        "deal",
        "42",
        Value::Null,
        json!({"id": 42, "owner_id": 1001, "title": "Duplicado"}),
    );
    merge["meta"]["merged_to_id"] = json!("44");
    let outcome = setup.webhook(&processor, merge);
    assert_eq!(
        outcome,
        CrmEventOutcome::Ignored {
            reason: "deal 42 mesclado a deal 44 no Pipedrive: 2 ação(ões) pendente(s) \
                     cancelada(s)"
                .into()
        }
    );
    setup.webhook(
        &processor,
        delivery_of(
            "delete",
            "deal",
            "43",
            Value::Null,
            json!({"id": 43, "owner_id": 1001}),
        ),
    );
    let reasons = |protocol| -> Vec<DeliveryState> {
        setup
            .states(protocol)
            .into_iter()
            .map(|(_, state, _)| state)
            .collect()
    };
    let cancelled = |reason: &str| DeliveryState::Failed {
        reason: reason.into(),
    };
    assert_eq!(
        reasons(merged),
        vec![
            cancelled("cancelada: deal 42 mesclado a deal 44 no Pipedrive"),
            cancelled("cancelada: deal 42 mesclado a deal 44 no Pipedrive"),
        ]
    );
    assert_eq!(
        reasons(deleted),
        vec![
            cancelled("cancelada: deal 43 excluído no Pipedrive"),
            cancelled("cancelada: deal 43 excluído no Pipedrive"),
        ]
    );
    assert!(reasons(kept)
        .iter()
        .all(|state| *state == DeliveryState::Pending { last_error: None }));

    setup.accept_owners_and_notes(json!({"id": 44}), json!({"id": 1}));
    setup.deliver_all(&setup.usual_delivery());
    let paths = setup.request_paths();
    assert_eq!(paths, vec!["/api/v2/deals/44", "/api/v1/notes"]);
}

const MARIA: i64 = 789;

/// The scenario of the owner-change tests: deal 42 assigned to João (`OWNER`, the service's
/// consultant), Maria (`MARIA`) hired offline, and the processor as the binary builds it.
struct OwnerScenario {
    processor: WebhookProcessor,
    protocol: ProtocolId,
    joao: Option<ConsultantId>,
    maria: ConsultantId,
}

fn owner_scenario(setup: &Setup) -> OwnerScenario {
    setup.consultant();
    let maria = setup.hire("Maria Souza", MARIA, false);
    let (protocol, _) = setup.assign(CrmTarget::Deal(42));
    OwnerScenario {
        processor: setup.processor(),
        protocol,
        joao: consultant_of(setup, protocol),
        maria,
    }
}

fn consultant_of(setup: &Setup, protocol: ProtocolId) -> Option<ConsultantId> {
    ProtocolRepository::get(&setup.db(), protocol)
        .unwrap()
        .unwrap()
        .consultant_id
}

/// A person (in the web app) hands deal 42 from `previous` to `owner`: its outcome.
fn owner_changed_in_the_app(
    setup: &Setup,
    processor: &WebhookProcessor,
    owner: i64,
    previous: i64,
) -> CrmEventOutcome {
    setup.webhook(
        processor,
        delivery_of(
            "change",
            "deal",
            "42",
            json!({"id": 42, "owner_id": owner}),
            json!({"owner_id": previous}),
        ),
    )
}

fn the_echo_of_our_own_owner_update_changes_nothing(setup: Setup) {
    let scenario = owner_scenario(&setup);
    let mut echo = delivery_of(
        "change",
        "deal",
        "42",
        json!({"id": 42, "owner_id": OWNER}),
        json!({"owner_id": 1001}),
    );
    echo["meta"]["change_source"] = json!("api");
    let outcome = setup.webhook(&scenario.processor, echo);
    assert!(
        matches!(&outcome, CrmEventOutcome::Ignored { reason } if reason.starts_with("eco")),
        "{outcome:?}"
    );
    assert_eq!(consultant_of(&setup, scenario.protocol), scenario.joao);
}

fn an_owner_changed_by_a_person_is_recorded_on_the_protocol(setup: Setup) {
    let OwnerScenario {
        processor,
        protocol,
        joao,
        maria,
    } = owner_scenario(&setup);
    let outcome = owner_changed_in_the_app(&setup, &processor, MARIA, OWNER);
    assert_eq!(
        outcome,
        CrmEventOutcome::Linked {
            protocol,
            reason: format!(
                "responsável de deal 42 alterado no Pipedrive de usuário {OWNER} para usuário \
                 {MARIA}; o protocolo passa a Maria Souza (consultor {})",
                maria.0
            ),
        }
    );
    let now_with = consultant_of(&setup, protocol);
    assert_eq!(now_with, Some(maria));
    assert_ne!(now_with, joao);
    assert_eq!(
        setup.test.query_strings(&format!(
            "SELECT acao || '|' || chave_descricao AS value FROM auditoria \
             WHERE entidade_id = {} AND acao = 'protocolo.atualizado' ORDER BY id",
            protocol.0
        )),
        vec!["protocolo.atualizado|pipedrive-webhook".to_owned()],
        "the reassignment is audited, by the webhook"
    );
}

fn an_owner_who_is_no_consultant_is_noted_and_a_hand_back_is_no_echo(setup: Setup) {
    let OwnerScenario {
        processor,
        protocol,
        joao,
        maria,
    } = owner_scenario(&setup);
    owner_changed_in_the_app(&setup, &processor, MARIA, OWNER);

    // To someone who is no consultant: said on the event, the protocol stays with Maria.
    let outcome = owner_changed_in_the_app(&setup, &processor, 999, MARIA);
    let CrmEventOutcome::Linked {
        protocol: linked,
        reason,
    } = outcome
    else {
        panic!("linked to the protocol: {outcome:?}");
    };
    assert_eq!(linked, protocol);
    assert!(
        reason.contains("usuário 999, que não é o id_pipedrive"),
        "{reason}"
    );
    assert_eq!(consultant_of(&setup, protocol), Some(maria));

    // A person hands it back to João in the web app: not our echo, although João is the owner
    // this service chose.
    let outcome = owner_changed_in_the_app(&setup, &processor, OWNER, 999);
    assert!(
        matches!(&outcome, CrmEventOutcome::Linked { reason, .. } if reason.contains("João Silva")),
        "{outcome:?}"
    );
    assert_eq!(consultant_of(&setup, protocol), joao);
    assert_eq!(protocol_count(&setup), 1);
}

/// The scenario of the catch-up tests: deal 41 arrived by webhook 30 minutes ago, then the
/// webhook was banned; Pipedrive lists deals 43 and 42 and a lead created since (and older
/// ones), and its webhooks (ours banned after a 500, none delivering created leads to us). The
/// catch-up has run once: its round.
struct MissedCreations {
    processor: WebhookProcessor,
    catch_up: CatchUp,
    round: consultores_domain::CatchUpRound,
}

fn missed_creations(setup: &Setup) -> MissedCreations {
    setup.consultant();
    let processor = setup.processor();
    let now = Utc::now();
    let at = |minutes_ago: i64| {
        (now - chrono::Duration::minutes(minutes_ago))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let seen = setup.webhook(
        &processor,
        delivery_of(
            "create",
            "deal",
            "41",
            json!({"id": 41, "owner_id": 1001, "add_time": at(30)}),
            Value::Null,
        ),
    );
    assert!(matches!(seen, CrmEventOutcome::Assigned { .. }), "{seen:?}");
    mount_created_since(setup, &at);
    setup.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/webhooks"))
            .respond_with(ok(json!([
                {"id": 555, "event_action": "create", "event_object": "deal", "version": "2.0",
                 "subscription_url": "https://consultores.acme.com/webhooks/pipedrive",
                 "is_active": 1, "http_auth_user": "pipedrive", "last_http_status": 500,
                 "last_delivery_time": "2025-03-10 12:00:00", "remove_reason": null},
                {"id": 777, "event_action": "create", "event_object": "lead", "version": "2.0",
                 "subscription_url": "https://outro.acme.com/hook", "is_active": 1,
                 "http_auth_user": "outro", "last_http_status": 200}
            ]))),
    );
    let client = setup.client(Duration::from_secs(5));
    let catch_up = CatchUp::new(
        client.clone(),
        Arc::new(setup.db()),
        client,
        Arc::new(SystemClock),
        "pipedrive",
        CatchUpSettings::DEFAULT,
    );
    let round = catch_up.run().unwrap();
    MissedCreations {
        processor,
        catch_up,
        round,
    }
}

/// The deals and leads Pipedrive lists, newest first (`at(minutes_ago)` stamps them).
fn mount_created_since(setup: &Setup, at: &dyn Fn(i64) -> String) {
    setup.mount(
        Mock::given(method("GET"))
            .and(path("/api/v2/deals"))
            .and(query_param("sort_by", "add_time"))
            .and(query_param("sort_direction", "desc"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({
                    "success": true,
                    "data": [
                        {"id": 43, "title": "Chat", "owner_id": 1001, "add_time": at(1), "custom_fields": {}},
                        {"id": 42, "title": "Site", "owner_id": 1001, "add_time": at(5), "custom_fields": {}},
                        {"id": 41, "title": "Já visto", "owner_id": OWNER, "add_time": at(30), "custom_fields": {}},
                        {"id": 40, "title": "Antigo", "owner_id": 1001, "add_time": at(2 * 24 * 60), "custom_fields": {}}
                    ],
                    "additional_data": {"next_cursor": "eyJpZCI6NDB9"}
                })),
            ),
    );
    setup.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/leads"))
            .respond_with(ok(json!([
                {"id": LEAD, "title": "Lead do chat", "owner_id": 1001,
                 "add_time": format!("{}", at(2).replace('Z', ".000Z"))}
            ]))),
    );
}

fn missed_creations_are_recovered_once_and_a_banned_or_deleted_webhook_is_reported(setup: Setup) {
    let MissedCreations { round, .. } = missed_creations(&setup);
    assert_eq!(
        round.recovered,
        vec![
            "create:deal:43".to_owned(),
            "create:deal:42".to_owned(),
            format!("create:lead:{LEAD}")
        ]
    );
    assert_eq!(round.warnings.len(), 2, "{:#?}", round.warnings);
    assert!(
        round.warnings[0].contains("webhook 555") && round.warnings[0].contains("500"),
        "{}",
        round.warnings[0]
    );
    assert!(
        round.warnings[1].starts_with("nenhum webhook entrega create.lead"),
        "{}",
        round.warnings[1]
    );
    let deals_asked = setup
        .requests()
        .into_iter()
        .filter(|request| request.url.path() == "/api/v2/deals")
        .count();
    assert_eq!(deals_asked, 1, "older records end the listing");
}

fn recovered_records_are_handed_out_like_webhook_events_and_only_once(setup: Setup) {
    let MissedCreations {
        processor,
        catch_up,
        ..
    } = missed_creations(&setup);
    let handled = processor.process_pending(&|| false).unwrap();
    assert_eq!(handled.claimed, 3);
    assert!(handled.handled.iter().all(|event| matches!(
        event,
        HandledEvent::Finished {
            outcome: CrmEventOutcome::Assigned { .. },
            ..
        }
    )));
    assert_eq!(protocol_count(&setup), 4);

    // At most once per record: a second catch-up, or the webhook arriving late, adds nothing.
    assert!(catch_up.run().unwrap().recovered.is_empty());
    let late = WebhookDecoder
        .decode(
            delivery_of(
                "create",
                "deal",
                "42",
                json!({"id": 42, "owner_id": 1001}),
                Value::Null,
            )
            .to_string()
            .as_bytes(),
        )
        .unwrap();
    assert!(!setup.db().record(&late, Utc::now()).unwrap());
    assert_eq!(processor.process_pending(&|| false).unwrap().claimed, 0);
    assert_eq!(protocol_count(&setup), 4);
}

fn notes_are_written_as_the_consultant_when_configured(setup: Setup) {
    let (deal, number) = setup.consultant_assigned(CrmTarget::Deal(42));
    let (lead, _) = setup.assign(CrmTarget::Lead(LEAD.into()));
    setup.accept_owners_and_notes(json!({"id": 42}), json!({"id": 1}));
    let config = PipedriveConfig::new(TOKEN, Url::parse(&setup.server.uri()).unwrap())
        .with_note_as_consultant(true);
    setup.deliver_all(&setup.delivery(Arc::new(PipedriveClient::new(config).unwrap())));

    let notes = &by_route(&setup.requests())["POST /api/v1/notes"];
    assert_eq!(
        notes,
        &vec![
            json!({"content": note_text(&number), "deal_id": 42, "user_id": OWNER}),
            json!({"content": notes[1]["content"], "lead_id": LEAD, "user_id": OWNER}),
        ]
    );
    for protocol in [deal, lead] {
        assert!(setup.all_done(protocol));
    }
}

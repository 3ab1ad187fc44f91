use std::sync::Arc;

use crate::audit::Actor;
use crate::clock::Clock;
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::ports::ProtocolRepository;
use crate::protocol::{
    NewProtocol, Protocol, ProtocolFilter, ProtocolId, ProtocolPatch, ProtocolSearch,
};

service_over_ports! {
    /// Opening, reading and editing protocols outside the rotation.
    pub struct ProtocolService {
        repository: Arc<dyn ProtocolRepository>,
        clock: Arc<dyn Clock>,
    }
}

impl ProtocolService {
    /// A new protocol tied to no consultant (`GET /gerar-protocolo`).
    pub fn generate(
        &self,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
    ) -> Result<Recorded<Protocol>, DomainError> {
        self.repository
            .create(&NewProtocol::default(), self.clock.now(), claim, actor)
    }

    /// A protocol opened by hand for a consultant (`POST /protocolo`); does not touch the
    /// rotation.
    pub fn open(
        &self,
        new: &NewProtocol,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
    ) -> Result<Recorded<Protocol>, DomainError> {
        self.repository.create(new, self.clock.now(), claim, actor)
    }

    pub fn get(&self, id: ProtocolId) -> Result<Protocol, DomainError> {
        self.repository
            .get(id)?
            .ok_or(DomainError::ProtocolNotFound)
    }

    pub fn list(&self, filter: &ProtocolFilter) -> Result<Vec<Protocol>, DomainError> {
        self.repository.list(filter)
    }

    /// Protocols matching every criterion of `search`, newest first.
    pub fn search(&self, search: &ProtocolSearch) -> Result<Vec<Protocol>, DomainError> {
        self.repository.search(search)
    }

    /// Applies a partial update. An empty patch changes nothing (not even `updated_at`).
    pub fn update(
        &self,
        id: ProtocolId,
        patch: &ProtocolPatch,
        actor: &Actor,
    ) -> Result<Protocol, DomainError> {
        if patch.is_empty() {
            return self.get(id);
        }
        self.repository
            .update(id, patch, self.clock.now(), actor)?
            .ok_or(DomainError::ProtocolNotFound)
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use mockall::predicate::{always, eq, function};

    use super::*;
    use crate::audit::tests::actor;
    use crate::clock::MockClock;
    use crate::consultant::ConsultantId;
    use crate::idempotency::IdempotencyKey;
    use crate::ports::MockProtocolRepository;
    use crate::protocol::tests::sample_protocol;
    use crate::protocol::{Priority, ProtocolStatus};
    use crate::services::test_clock::{clock_read_once, now, unread_clock};
    use crate::values::Description;

    fn service(repository: MockProtocolRepository, clock: MockClock) -> ProtocolService {
        ProtocolService::new(Arc::new(repository), Arc::new(clock))
    }

    fn stored(id: i64, new: &NewProtocol, now: DateTime<Utc>) -> Protocol {
        Protocol {
            consultant_id: new.consultant_id,
            description: new.description.clone(),
            priority: new.priority,
            ..sample_protocol(id, now)
        }
    }

    fn claim() -> IdempotencyClaim {
        IdempotencyClaim::new(
            "api-key:1".to_owned(),
            IdempotencyKey::parse("retry-1").unwrap(),
            "POST /protocolo".to_owned(),
            now(),
        )
    }

    /// A repository whose one `create` fails with `error`.
    fn create_failing(error: DomainError) -> MockProtocolRepository {
        answering_once!(MockProtocolRepository, expect_create, |_, _, _, _| Err(
            error
        ))
    }

    /// A repository whose one `update` answers `answer`.
    fn update_answering(answer: Result<Option<Protocol>, DomainError>) -> MockProtocolRepository {
        answering_once!(MockProtocolRepository, expect_update, |_, _, _, _| answer)
    }

    /// Expects one `get` of `id`, answering with a protocol stored under it when `found`.
    fn gets(repository: &mut MockProtocolRepository, id: i64, found: bool) {
        repository
            .expect_get()
            .with(eq(ProtocolId(id)))
            .times(1)
            .returning(move |id| Ok(found.then(|| stored(id.0, &NewProtocol::default(), now()))));
    }

    #[test]
    fn generate_creates_a_protocol_tied_to_no_consultant() {
        let mut repository = MockProtocolRepository::new();
        repository
            .expect_create()
            .with(
                function(|new: &NewProtocol| {
                    new.consultant_id.is_none()
                        && new.description.is_none()
                        && new.priority == Priority::Normal
                }),
                eq(now()),
                eq(None::<IdempotencyClaim>),
                eq(actor()),
            )
            .times(1)
            .returning(|new, now, _, _| Ok(Recorded::fresh(stored(43, new, now))));
        let recorded = service(repository, clock_read_once())
            .generate(None, &actor())
            .unwrap();
        assert_eq!(recorded.value.number.to_string(), "#00043");
        assert_eq!(recorded.value.consultant_id, None);
    }

    #[test]
    fn generate_passes_the_idempotency_claim_through() {
        let mut repository = MockProtocolRepository::new();
        repository
            .expect_create()
            .with(always(), always(), eq(Some(claim())), eq(actor()))
            .times(1)
            .returning(|new, now, _, _| Ok(Recorded::replayed(stored(43, new, now))));
        let recorded = service(repository, clock_read_once())
            .generate(Some(claim()), &actor())
            .unwrap();
        assert!(recorded.replayed);
    }

    #[test]
    fn open_passes_the_new_protocol_now_and_claim_through() {
        let new = NewProtocol {
            consultant_id: Some(ConsultantId(7)),
            description: Some(Description::parse("retornar ligação").unwrap()),
            priority: Priority::High,
        };
        let mut repository = MockProtocolRepository::new();
        repository
            .expect_create()
            .with(eq(new.clone()), eq(now()), eq(Some(claim())), eq(actor()))
            .times(1)
            .returning(|new, now, _, _| Ok(Recorded::fresh(stored(44, new, now))));
        let recorded = service(repository, clock_read_once())
            .open(&new, Some(claim()), &actor())
            .unwrap();
        assert_eq!(recorded.value.consultant_id, Some(ConsultantId(7)));
        assert_eq!(recorded.value.priority, Priority::High);
    }

    #[test]
    fn open_for_an_unknown_consultant_propagates_consultant_not_found() {
        let repository = create_failing(DomainError::ConsultantNotFound);
        let new = NewProtocol {
            consultant_id: Some(ConsultantId(404)),
            ..NewProtocol::default()
        };
        let result = service(repository, clock_read_once()).open(&new, None, &actor());
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn open_propagates_a_reused_idempotency_key() {
        let repository = create_failing(DomainError::IdempotencyKeyReused);
        let result = service(repository, clock_read_once()).open(
            &NewProtocol::default(),
            Some(claim()),
            &actor(),
        );
        assert!(matches!(result, Err(DomainError::IdempotencyKeyReused)));
    }

    #[test]
    fn get_returns_the_stored_protocol() {
        let mut repository = MockProtocolRepository::new();
        gets(&mut repository, 42, true);
        let protocol = service(repository, unread_clock())
            .get(ProtocolId(42))
            .unwrap();
        assert_eq!(protocol.number.to_string(), "#00042");
    }

    #[test]
    fn get_of_a_missing_protocol_is_protocol_not_found() {
        let mut repository = MockProtocolRepository::new();
        gets(&mut repository, 404, false);
        let result = service(repository, unread_clock()).get(ProtocolId(404));
        assert!(matches!(result, Err(DomainError::ProtocolNotFound)));
    }

    #[test]
    fn list_passes_the_page_through() {
        let filter = ProtocolFilter::new(Some(ConsultantId(7)), 100, 50).unwrap();
        let mut repository = MockProtocolRepository::new();
        repository
            .expect_list()
            .with(eq(filter))
            .times(1)
            .returning(|_| Ok(Vec::new()));
        assert!(service(repository, unread_clock())
            .list(&filter)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn update_with_an_empty_patch_reads_only_and_does_not_stamp() {
        let mut repository = MockProtocolRepository::new();
        gets(&mut repository, 42, true);
        repository.expect_update().never();
        let protocol = service(repository, unread_clock())
            .update(ProtocolId(42), &ProtocolPatch::default(), &actor())
            .unwrap();
        assert_eq!(protocol.id, ProtocolId(42));
    }

    #[test]
    fn update_with_an_empty_patch_of_a_missing_protocol_is_protocol_not_found() {
        let mut repository = MockProtocolRepository::new();
        repository.expect_get().times(1).returning(|_| Ok(None));
        repository.expect_update().never();
        let result = service(repository, unread_clock()).update(
            ProtocolId(404),
            &ProtocolPatch::default(),
            &actor(),
        );
        assert!(matches!(result, Err(DomainError::ProtocolNotFound)));
    }

    #[test]
    fn update_passes_the_patch_and_now_once_without_a_read() {
        let patch = ProtocolPatch {
            status: Some(ProtocolStatus::Closed),
            priority: Some(Priority::Urgent),
            ..ProtocolPatch::default()
        };
        let mut repository = MockProtocolRepository::new();
        repository.expect_get().never();
        repository
            .expect_update()
            .with(
                eq(ProtocolId(42)),
                eq(patch.clone()),
                eq(now()),
                eq(actor()),
            )
            .times(1)
            .returning(|id, patch, now, _| {
                let mut protocol = stored(id.0, &NewProtocol::default(), now);
                protocol.status = patch.status.unwrap_or_default();
                Ok(Some(protocol))
            });
        let protocol = service(repository, clock_read_once())
            .update(ProtocolId(42), &patch, &actor())
            .unwrap();
        assert_eq!(protocol.status, ProtocolStatus::Closed);
    }

    #[test]
    fn update_of_a_missing_protocol_is_protocol_not_found() {
        let repository = update_answering(Ok(None));
        let patch = ProtocolPatch {
            description: Some(None),
            ..ProtocolPatch::default()
        };
        let result =
            service(repository, clock_read_once()).update(ProtocolId(404), &patch, &actor());
        assert!(matches!(result, Err(DomainError::ProtocolNotFound)));
    }

    #[test]
    fn update_reassigning_to_an_unknown_consultant_propagates_consultant_not_found() {
        let repository = update_answering(Err(DomainError::ConsultantNotFound));
        let patch = ProtocolPatch {
            consultant_id: Some(ConsultantId(404)),
            ..ProtocolPatch::default()
        };
        let result = service(repository, clock_read_once()).update(ProtocolId(1), &patch, &actor());
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn unavailable_store_propagates_from_every_operation() {
        let mut repository = MockProtocolRepository::new();
        repository
            .expect_create()
            .times(1)
            .returning(|_, _, _, _| Err(DomainError::unavailable("down")));
        repository
            .expect_get()
            .times(1)
            .returning(|_| Err(DomainError::unavailable("down")));
        repository
            .expect_update()
            .times(1)
            .returning(|_, _, _, _| Err(DomainError::unavailable("down")));
        let mut clock = MockClock::new();
        clock.expect_now().times(2).return_const(now());
        let service = service(repository, clock);
        assert!(matches!(
            service.generate(None, &actor()),
            Err(DomainError::Unavailable(_))
        ));
        assert!(matches!(
            service.get(ProtocolId(1)),
            Err(DomainError::Unavailable(_))
        ));
        let patch = ProtocolPatch {
            priority: Some(Priority::Low),
            ..ProtocolPatch::default()
        };
        assert!(matches!(
            service.update(ProtocolId(1), &patch, &actor()),
            Err(DomainError::Unavailable(_))
        ));
    }
}

use std::sync::Arc;

use crate::audit::Actor;
use crate::clock::Clock;
use crate::consultant::{
    Consultant, ConsultantFilter, ConsultantId, ConsultantPatch, NewConsultant,
};
use crate::error::DomainError;
use crate::ports::ConsultantRepository;

service_over_ports! {
    /// Registering, reading, editing, switching and removing consultants.
    pub struct ConsultantService {
        repository: Arc<dyn ConsultantRepository>,
        clock: Arc<dyn Clock>,
    }
}

impl ConsultantService {
    /// Registers a consultant at the back of the queue (`last_served_at` = now, as v6 did).
    pub fn register(&self, new: &NewConsultant, actor: &Actor) -> Result<Consultant, DomainError> {
        self.repository.create(new, self.clock.now(), actor)
    }

    pub fn get(&self, id: ConsultantId) -> Result<Consultant, DomainError> {
        self.repository
            .get(id)?
            .ok_or(DomainError::ConsultantNotFound)
    }

    pub fn list(&self, filter: &ConsultantFilter) -> Result<Vec<Consultant>, DomainError> {
        self.repository.list(filter)
    }

    /// One keyset page of [`ConsultantService::list`]: at most `limit`, ids above `after`.
    pub fn list_after(
        &self,
        filter: &ConsultantFilter,
        after: Option<ConsultantId>,
        limit: usize,
    ) -> Result<Vec<Consultant>, DomainError> {
        self.repository.list_after(filter, after, limit)
    }

    /// Applies a partial update. An empty patch changes nothing and returns the consultant as is
    /// (without reading the clock or writing an audit entry).
    pub fn update(
        &self,
        id: ConsultantId,
        patch: &ConsultantPatch,
        actor: &Actor,
    ) -> Result<Consultant, DomainError> {
        if patch.is_empty() {
            return self.get(id);
        }
        self.repository
            .update(id, patch, self.clock.now(), actor)?
            .ok_or(DomainError::ConsultantNotFound)
    }

    /// Switches `status_online` (audited as `consultor.conexao` when it changes).
    pub fn set_online(
        &self,
        id: ConsultantId,
        online: bool,
        actor: &Actor,
    ) -> Result<Consultant, DomainError> {
        self.update(id, &ConsultantPatch::online(online), actor)
    }

    /// Removes a consultant from listings and the rotation; their protocols keep their history.
    pub fn remove(&self, id: ConsultantId, actor: &Actor) -> Result<(), DomainError> {
        if self.repository.soft_delete(id, self.clock.now(), actor)? {
            Ok(())
        } else {
            Err(DomainError::ConsultantNotFound)
        }
    }
}
#[cfg(test)]
mod tests {
    use mockall::predicate::{always, eq, function};

    use super::*;
    use crate::audit::tests::actor;
    use crate::clock::MockClock;
    use crate::consultant::tests::{languages, sample_consultant};
    use crate::ports::MockConsultantRepository;
    use crate::services::test_clock::{clock_read_once, now, unread_clock};
    use crate::values::{ConsultantName, Email};

    fn service(repository: MockConsultantRepository, clock: MockClock) -> ConsultantService {
        ConsultantService::new(Arc::new(repository), Arc::new(clock))
    }

    fn new_consultant() -> NewConsultant {
        let mut new = NewConsultant::new(
            ConsultantName::parse("Ana Souza").unwrap(),
            languages(&["pt"]),
        );
        new.email = Some(Email::parse("ana@exemplo.com").unwrap());
        new
    }

    /// A repository whose one `update` answers `answer`.
    fn update_answering(
        answer: Result<Option<Consultant>, DomainError>,
    ) -> MockConsultantRepository {
        answering_once!(MockConsultantRepository, expect_update, |_, _, _, _| answer)
    }

    /// A repository whose one `soft_delete` answers `answer`.
    fn soft_delete_answering(answer: Result<bool, DomainError>) -> MockConsultantRepository {
        answering_once!(MockConsultantRepository, expect_soft_delete, |_, _, _| {
            answer
        })
    }

    #[test]
    fn register_passes_the_clock_now_to_the_repository_exactly_once() {
        let new = new_consultant();
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_create()
            .with(eq(new.clone()), eq(now()), eq(actor()))
            .times(1)
            .returning(|_, now, _| {
                Ok(Consultant {
                    last_served_at: Some(now),
                    ..sample_consultant(1)
                })
            });
        let created = service(repository, clock_read_once())
            .register(&new, &actor())
            .unwrap();
        assert_eq!(created.last_served_at, Some(now()));
    }

    #[test]
    fn register_propagates_email_taken() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_create()
            .times(1)
            .returning(|_, _, _| Err(DomainError::EmailTaken));
        let result = service(repository, clock_read_once()).register(&new_consultant(), &actor());
        assert!(matches!(result, Err(DomainError::EmailTaken)));
    }

    #[test]
    fn get_returns_the_stored_consultant() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_get()
            .with(eq(ConsultantId(7)))
            .times(1)
            .returning(|id| Ok(Some(sample_consultant(id.0))));
        let consultant = service(repository, unread_clock())
            .get(ConsultantId(7))
            .unwrap();
        assert_eq!(consultant.id, ConsultantId(7));
    }

    #[test]
    fn get_of_a_missing_consultant_is_consultant_not_found() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_get()
            .with(eq(ConsultantId(404)))
            .times(1)
            .returning(|_| Ok(None));
        let result = service(repository, unread_clock()).get(ConsultantId(404));
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn get_propagates_an_unavailable_store() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_get()
            .times(1)
            .returning(|_| Err(DomainError::unavailable("pool timeout")));
        let result = service(repository, unread_clock()).get(ConsultantId(1));
        assert!(matches!(result, Err(DomainError::Unavailable(_))));
    }

    #[test]
    fn list_passes_the_filter_through() {
        let filter = ConsultantFilter {
            online: Some(true),
            ..ConsultantFilter::default()
        };
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_list()
            .with(eq(filter.clone()))
            .times(1)
            .returning(|_| Ok(vec![sample_consultant(1), sample_consultant(2)]));
        let listed = service(repository, unread_clock()).list(&filter).unwrap();
        assert_eq!(listed.len(), 2);
    }

    #[test]
    fn update_with_an_empty_patch_reads_and_does_not_write() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_get()
            .with(eq(ConsultantId(3)))
            .times(1)
            .returning(|id| Ok(Some(sample_consultant(id.0))));
        repository.expect_update().never();
        let consultant = service(repository, unread_clock())
            .update(ConsultantId(3), &ConsultantPatch::default(), &actor())
            .unwrap();
        assert_eq!(consultant, sample_consultant(3));
    }

    #[test]
    fn update_with_an_empty_patch_of_a_missing_consultant_is_consultant_not_found() {
        let mut repository = MockConsultantRepository::new();
        repository.expect_get().times(1).returning(|_| Ok(None));
        repository.expect_update().never();
        let result = service(repository, unread_clock()).update(
            ConsultantId(3),
            &ConsultantPatch::default(),
            &actor(),
        );
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn update_passes_the_patch_now_and_actor_to_the_repository_once_without_a_read() {
        let patch = ConsultantPatch {
            email: Some(None),
            ..ConsultantPatch::default()
        };
        let mut repository = MockConsultantRepository::new();
        repository.expect_get().never();
        repository
            .expect_update()
            .with(
                eq(ConsultantId(5)),
                eq(patch.clone()),
                eq(now()),
                eq(actor()),
            )
            .times(1)
            .returning(|id, patch, _, _| {
                let mut consultant = sample_consultant(id.0);
                patch.apply_to(&mut consultant);
                Ok(Some(consultant))
            });
        let updated = service(repository, clock_read_once())
            .update(ConsultantId(5), &patch, &actor())
            .unwrap();
        assert_eq!(updated.email, None);
    }

    #[test]
    fn update_of_a_missing_consultant_is_consultant_not_found() {
        let repository = update_answering(Ok(None));
        let result = service(repository, clock_read_once()).update(
            ConsultantId(404),
            &ConsultantPatch::online(true),
            &actor(),
        );
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn update_propagates_email_taken() {
        let repository = update_answering(Err(DomainError::EmailTaken));
        let patch = ConsultantPatch {
            email: Some(Some(Email::parse("outro@exemplo.com").unwrap())),
            ..ConsultantPatch::default()
        };
        let result =
            service(repository, clock_read_once()).update(ConsultantId(1), &patch, &actor());
        assert!(matches!(result, Err(DomainError::EmailTaken)));
    }

    #[test]
    fn set_online_sends_a_patch_that_switches_only_status_online() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_update()
            .with(
                eq(ConsultantId(9)),
                function(|patch: &ConsultantPatch| {
                    *patch
                        == ConsultantPatch {
                            online: Some(true),
                            ..ConsultantPatch::default()
                        }
                }),
                eq(now()),
                eq(actor()),
            )
            .times(1)
            .returning(|id, _, _, _| Ok(Some(sample_consultant(id.0))));
        let consultant = service(repository, clock_read_once())
            .set_online(ConsultantId(9), true, &actor())
            .unwrap();
        assert!(consultant.online);
    }

    #[test]
    fn set_offline_sends_online_false() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_update()
            .with(
                always(),
                eq(ConsultantPatch::online(false)),
                always(),
                always(),
            )
            .times(1)
            .returning(|id, patch, _, _| {
                let mut consultant = sample_consultant(id.0);
                patch.apply_to(&mut consultant);
                Ok(Some(consultant))
            });
        let consultant = service(repository, clock_read_once())
            .set_online(ConsultantId(9), false, &actor())
            .unwrap();
        assert!(!consultant.online);
    }

    #[test]
    fn set_online_of_a_missing_consultant_is_consultant_not_found() {
        let repository = update_answering(Ok(None));
        let result =
            service(repository, clock_read_once()).set_online(ConsultantId(404), true, &actor());
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn remove_soft_deletes_with_the_clock_now() {
        let mut repository = MockConsultantRepository::new();
        repository
            .expect_soft_delete()
            .with(eq(ConsultantId(4)), eq(now()), eq(actor()))
            .times(1)
            .returning(|_, _, _| Ok(true));
        assert!(service(repository, clock_read_once())
            .remove(ConsultantId(4), &actor())
            .is_ok());
    }

    #[test]
    fn remove_of_a_missing_consultant_is_consultant_not_found() {
        let repository = soft_delete_answering(Ok(false));
        let result = service(repository, clock_read_once()).remove(ConsultantId(404), &actor());
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn remove_propagates_an_unavailable_store() {
        let repository = soft_delete_answering(Err(DomainError::unavailable("down")));
        let result = service(repository, clock_read_once()).remove(ConsultantId(1), &actor());
        assert!(matches!(result, Err(DomainError::Unavailable(_))));
    }
}

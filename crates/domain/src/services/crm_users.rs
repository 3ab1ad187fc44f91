use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::crm::{CrmError, CrmGateway, CrmUser};
use crate::error::DomainError;
use crate::values::{InvalidValue, PipedriveUserId};

/// What a check of a consultant's `id_pipedrive` found, when it did not refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCheck {
    /// The CRM lists the user as active.
    Active,
    /// The CRM could not be asked (down, slow, rate-limited): the id is accepted unverified,
    /// because registering consultants must not depend on the CRM being up. The text says why,
    /// for the log.
    Unverified(String),
}

/// The CRM's users, read through a short cache so that consultant edits do not spend the CRM's
/// rate budget: the list is fetched at most once per `ttl`, and once more (at most every
/// [`CrmUserDirectory::MIN_REFRESH`]) when an id is missing from it, in case the user was added
/// after the list was read.
pub struct CrmUserDirectory {
    gateway: Arc<dyn CrmGateway>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    cache: Mutex<Option<CachedUsers>>,
}

/// The users as last read, and when.
type CachedUsers = (DateTime<Utc>, Arc<Vec<CrmUser>>);

service_debug!(CrmUserDirectory, ttl);

impl CrmUserDirectory {
    /// The default lifetime of the cached list.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
    /// The youngest cached list that a missing id refreshes.
    pub const MIN_REFRESH: Duration = Duration::from_secs(5);

    pub fn new(gateway: Arc<dyn CrmGateway>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            gateway,
            clock,
            ttl,
            cache: Mutex::new(None),
        }
    }

    /// Checks that `id` names an active CRM user. A user the CRM does not list, or lists as
    /// inactive, is [`DomainError::Invalid`] on `id_pipedrive` (a 422 with a message saying
    /// which); a CRM that cannot be asked gives [`UserCheck::Unverified`].
    pub fn verify(&self, id: PipedriveUserId) -> Result<UserCheck, DomainError> {
        let users = match self.users(false) {
            Ok(users) => users,
            Err(error) => return Ok(UserCheck::Unverified(error.to_string())),
        };
        let users = match find(&users, id) {
            Some(_) => users,
            None => match self.users(true) {
                Ok(fresh) => fresh,
                Err(error) => return Ok(UserCheck::Unverified(error.to_string())),
            },
        };
        match find(&users, id) {
            Some(user) if user.active => Ok(UserCheck::Active),
            Some(_) => Err(invalid(InvalidValue::InactivePipedriveUser)),
            None => Err(invalid(InvalidValue::UnknownPipedriveUser)),
        }
    }

    /// The CRM's users, fresh from the CRM (for operators filling `id_pipedrive`).
    pub fn list(&self) -> Result<Vec<CrmUser>, CrmError> {
        self.fetch().map(|users| users.as_ref().clone())
    }

    /// The cached list, or a fresh one when the cache is older than the ttl (or, with
    /// `missing`, older than [`Self::MIN_REFRESH`]).
    fn users(&self, missing: bool) -> Result<Arc<Vec<CrmUser>>, CrmError> {
        let now = self.clock.now();
        let max_age = if missing { Self::MIN_REFRESH } else { self.ttl };
        if let Some((fetched_at, users)) = self.cached() {
            let age = (now - fetched_at).to_std().unwrap_or(Duration::ZERO);
            if age < max_age {
                return Ok(users);
            }
        }
        self.fetch()
    }

    fn cached(&self) -> Option<CachedUsers> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fetch(&self) -> Result<Arc<Vec<CrmUser>>, CrmError> {
        let users = Arc::new(self.gateway.list_users()?);
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((self.clock.now(), users.clone()));
        Ok(users)
    }
}

fn find(users: &[CrmUser], id: PipedriveUserId) -> Option<&CrmUser> {
    users.iter().find(|user| user.id == id)
}

fn invalid(problem: InvalidValue) -> DomainError {
    DomainError::Invalid {
        field: "id_pipedrive",
        problem,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::TimeZone;

    use super::*;
    use crate::crm::MockCrmGateway;

    fn user(id: i64, active: bool) -> CrmUser {
        CrmUser {
            id: PipedriveUserId::new(id).unwrap(),
            name: format!("Usuário {id}"),
            email: None,
            active,
        }
    }

    fn id(value: i64) -> PipedriveUserId {
        PipedriveUserId::new(value).unwrap()
    }

    /// A clock that starts at a fixed instant and moves when told.
    struct SteppingClock(AtomicI64);

    impl SteppingClock {
        fn advance(&self, seconds: i64) {
            self.0.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    impl Clock for SteppingClock {
        fn now(&self) -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap()
                + chrono::Duration::seconds(self.0.load(Ordering::SeqCst))
        }
    }

    fn directory(gateway: MockCrmGateway) -> (CrmUserDirectory, Arc<SteppingClock>) {
        let clock = Arc::new(SteppingClock(AtomicI64::new(0)));
        (
            CrmUserDirectory::new(
                Arc::new(gateway),
                clock.clone(),
                CrmUserDirectory::DEFAULT_TTL,
            ),
            clock,
        )
    }

    /// A directory over a CRM that lists `users` and must be asked exactly `reads` times.
    fn directory_listing(
        reads: usize,
        users: Vec<CrmUser>,
    ) -> (CrmUserDirectory, Arc<SteppingClock>) {
        let mut gateway = MockCrmGateway::new();
        gateway
            .expect_list_users()
            .times(reads)
            .returning(move || Ok(users.clone()));
        directory(gateway)
    }

    #[test]
    fn an_active_user_passes_and_the_list_is_cached() {
        let (directory, clock) = directory_listing(1, vec![user(7, true), user(8, false)]);
        assert!(matches!(directory.verify(id(7)), Ok(UserCheck::Active)));
        clock.advance(59);
        assert!(matches!(directory.verify(id(7)), Ok(UserCheck::Active)));
    }

    #[test]
    fn the_list_is_read_again_after_the_ttl() {
        let (directory, clock) = directory_listing(2, vec![user(7, true)]);
        assert!(matches!(directory.verify(id(7)), Ok(UserCheck::Active)));
        clock.advance(60);
        assert!(matches!(directory.verify(id(7)), Ok(UserCheck::Active)));
    }

    #[test]
    fn an_inactive_user_is_refused_on_id_pipedrive() {
        let (directory, _) = directory_listing(1, vec![user(8, false)]);
        match directory.verify(id(8)) {
            Err(DomainError::Invalid { field, problem }) => {
                assert_eq!(field, "id_pipedrive");
                assert_eq!(problem, InvalidValue::InactivePipedriveUser);
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_user_is_refused_after_one_refresh_of_an_older_list() {
        let (directory, clock) = directory_listing(2, vec![user(7, true)]);
        assert!(matches!(directory.verify(id(7)), Ok(UserCheck::Active)));
        clock.advance(10);
        match directory.verify(id(99)) {
            Err(DomainError::Invalid { problem, .. }) => {
                assert_eq!(problem, InvalidValue::UnknownPipedriveUser);
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_user_does_not_refresh_a_list_just_read() {
        let (directory, _) = directory_listing(1, vec![user(7, true)]);
        assert!(matches!(
            directory.verify(id(99)),
            Err(DomainError::Invalid { .. })
        ));
    }

    #[test]
    fn an_unreachable_crm_leaves_the_id_unverified() {
        let mut gateway = MockCrmGateway::new();
        gateway.expect_list_users().times(1).returning(|| {
            Err(CrmError::Transient {
                reason: "o Pipedrive não respondeu em 10000 ms (timeout)".into(),
                retry_after_secs: None,
            })
        });
        let (directory, _) = directory(gateway);
        match directory.verify(id(7)) {
            Ok(UserCheck::Unverified(reason)) => assert!(reason.contains("timeout"), "{reason}"),
            other => panic!("expected Unverified, got {other:?}"),
        }
    }

    #[test]
    fn list_always_asks_the_crm() {
        let (directory, _) = directory_listing(2, vec![user(7, true)]);
        assert_eq!(directory.list().unwrap().len(), 1);
        assert_eq!(directory.list().unwrap().len(), 1);
    }
}

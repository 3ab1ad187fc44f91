//! Helpers shared by the test modules.

use chrono::{DateTime, Utc};
use consultores_domain::{
    Actor, ApiKey, ApiKeyId, ApiKeyScope, ApiKeyStore, Assignment, AssignmentPort, AuditAction,
    AuditEntry, AuditFilter, AuditLog, AuditPageRequest, Consultant, ConsultantId, ConsultantName,
    ConsultantPatch, ConsultantRepository, DomainError, Email, IdempotencyClaim, IdempotencyKey,
    Language, LanguageList, NewApiKey, NewConsultant, NewProtocol, Phone, PipedriveUserId,
    Protocol, ProtocolRepository, Recorded,
};
use consultores_persistence::Database;

/// Runs each listed test (a `fn(&TestDatabase)` of the enclosing module) against a fresh
/// PostgreSQL database and a fresh SQLite file: one suite, two backends.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name(&consultores_persistence::testing::TestDatabase::postgres());
                }
            )+
        }
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&consultores_persistence::testing::TestDatabase::sqlite());
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;

/// [`on_both_backends`] with [`big_pool`]s, for tests that run 16 threads at once.
macro_rules! on_both_backends_with_big_pools {
    ($($name:ident),+ $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name(&consultores_persistence::testing::TestDatabase::postgres_with(
                        crate::common::big_pool(),
                    ));
                }
            )+
        }
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&consultores_persistence::testing::TestDatabase::sqlite_with(
                        crate::common::big_pool(),
                    ));
                }
            )+
        }
    };
}
pub(crate) use on_both_backends_with_big_pools;

/// The caller of the tests' writes: a stored key named "testes".
pub fn actor() -> Actor {
    Actor::stored_key(ApiKeyId(1), Some("testes"), "req-teste")
}

pub fn language(code: &str) -> Language {
    Language::parse(code).unwrap()
}

pub fn languages(codes: &[&str]) -> LanguageList {
    LanguageList::new(codes.iter().map(|code| language(code)).collect()).unwrap()
}

/// An online consultant (eligible as soon as created) speaking `codes`.
pub fn consultant(name: &str, codes: &[&str]) -> NewConsultant {
    let mut new = NewConsultant::new(ConsultantName::parse(name).unwrap(), languages(codes));
    new.online = true;
    new
}

/// [`consultant`], created at `at` by [`actor`].
pub fn hire(db: &Database, name: &str, codes: &[&str], at: DateTime<Utc>) -> Consultant {
    ConsultantRepository::create(db, &consultant(name, codes), at, &actor()).unwrap()
}

/// The next consultant for `code` at `at`, by [`actor`], with no claim and no CRM record.
pub fn assign_next(
    db: &Database,
    code: &str,
    at: DateTime<Utc>,
) -> Result<Recorded<Assignment>, DomainError> {
    db.assign_next(&language(code), at, None, &actor(), None)
}

/// The consultant chosen for `code` at `at`, or `None` when nobody is available.
pub fn chosen(
    test: &consultores_persistence::testing::TestDatabase,
    code: &str,
    at: DateTime<Utc>,
) -> Option<ConsultantId> {
    match assign_next(&test.database(), code, at) {
        Ok(recorded) => Some(recorded.value.consultant.id),
        Err(DomainError::NoneAvailable(_)) => None,
        Err(other) => panic!("{other:?}"),
    }
}

/// A new API key of `scope` described as `description`, created at `at` by `by`: the key and
/// its secret.
pub fn create_key(
    db: &Database,
    description: Option<&str>,
    scope: ApiKeyScope,
    at: DateTime<Utc>,
    by: &Actor,
) -> (ApiKey, String) {
    let new = NewApiKey {
        description: description.map(str::to_owned),
        scope,
    };
    ApiKeyStore::create(db, &new, at, by).unwrap()
}

/// Switches consultant `id` on or off line at `at`, as `by`: the consultant, if there is one.
pub fn switch_online(
    db: &Database,
    id: ConsultantId,
    online: bool,
    at: DateTime<Utc>,
    by: &Actor,
) -> Option<Consultant> {
    ConsultantRepository::update(db, id, &ConsultantPatch::online(online), at, by).unwrap()
}

/// Every audit entry of an assignment (checking there are no more than 1000).
pub fn assignment_entries(db: &Database) -> Vec<AuditEntry> {
    let page = AuditLog::list(
        db,
        &AuditFilter {
            action: Some(AuditAction::Assignment),
            page: AuditPageRequest::new(None, 1000).unwrap(),
            ..AuditFilter::default()
        },
    )
    .unwrap();
    assert_eq!(page.next, None, "more than 1000 entries in a test");
    page.entries
}

/// `new` created at `at` by [`actor`], with no claim.
pub fn create_protocol(db: &Database, new: &NewProtocol, at: DateTime<Utc>) -> Protocol {
    ProtocolRepository::create(db, new, at, None, &actor())
        .unwrap()
        .value
}

pub fn with_contacts(
    mut new: NewConsultant,
    email: &str,
    phone: &str,
    pipedrive: i64,
) -> NewConsultant {
    new.email = Some(Email::parse(email).unwrap());
    new.phone = Some(Phone::parse(phone).unwrap());
    new.pipedrive_user_id = Some(PipedriveUserId::new(pipedrive).unwrap());
    new
}

pub fn claim(key: &str, fingerprint: &str, now: DateTime<Utc>) -> IdempotencyClaim {
    IdempotencyClaim::new(
        "api-key-1".to_owned(),
        IdempotencyKey::parse(key).unwrap(),
        fingerprint.to_owned(),
        now,
    )
}

/// The counter value (`controle_protocolo.ultimo_numero`).
pub fn counter(test: &consultores_persistence::testing::TestDatabase) -> i64 {
    test.query_i64("SELECT ultimo_numero AS value FROM controle_protocolo WHERE id = 1")
}

pub fn count(test: &consultores_persistence::testing::TestDatabase, table: &str) -> i64 {
    test.query_i64(&format!(
        "SELECT CAST(count(*) AS BIGINT) AS value FROM {table}"
    ))
}

/// Pool settings for tests that run 16 threads at once: 16 connections, a patient checkout.
pub fn big_pool() -> consultores_persistence::PoolSettings {
    consultores_persistence::PoolSettings {
        max_size: 16,
        connect_timeout: std::time::Duration::from_secs(60),
        ..consultores_persistence::PoolSettings::default()
    }
}

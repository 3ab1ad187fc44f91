//! Helpers shared by the test modules.

use chrono::{DateTime, Utc};
use consultores_domain::{
    Actor, ApiKeyId, ConsultantName, Email, IdempotencyClaim, IdempotencyKey, Language,
    LanguageList, NewConsultant, Phone, PipedriveUserId,
};

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

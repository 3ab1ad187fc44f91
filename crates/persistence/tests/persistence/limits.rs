//! PostgreSQL session limits: with the protocol counter locked by a stuck session, an
//! assignment gives up after `lock_timeout` with `Unavailable` (503), on a direct connection
//! (session settings) and in transaction-pooler mode (`SET LOCAL` per transaction), and works
//! again as soon as the lock is released. A statement running past `statement_timeout` is
//! cancelled the same way.

use std::time::Duration;

use consultores_domain::{AssignmentPort, DomainError};
use consultores_persistence::testing::{now_micros, test_pool_settings, TestDatabase};
use consultores_persistence::PoolSettings;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::common::{actor, assign_next, claim, hire, language};

fn limited(transaction_pooler: bool) -> PoolSettings {
    PoolSettings {
        lock_timeout: Duration::from_millis(300),
        statement_timeout: Duration::from_millis(1500),
        transaction_pooler,
        ..test_pool_settings()
    }
}

/// Holds the protocol counter's row lock in an open transaction, as a frozen replica would.
fn stuck_session(test: &TestDatabase) -> PgConnection {
    let mut conn = PgConnection::establish(test.url()).unwrap();
    conn.batch_execute("BEGIN; SELECT * FROM controle_protocolo FOR UPDATE")
        .unwrap();
    conn
}

fn assignments_give_up_on_a_locked_counter_and_recover(transaction_pooler: bool) {
    let test = TestDatabase::postgres_with(limited(transaction_pooler));
    let db = test.database();
    hire(&db, "Joana", &["pt"], now_micros());
    let mut stuck = stuck_session(&test);

    for key in [None, Some(claim("chave-travada", "fp", now_micros()))] {
        let outcome = db.assign_next(&language("pt"), now_micros(), key, &actor(), None);
        match outcome {
            Err(DomainError::Unavailable(cause)) => {
                assert!(cause.to_string().contains("lock timeout"), "{cause}")
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM protocolos"),
        0
    );

    stuck.batch_execute("ROLLBACK").unwrap();
    let assignment = assign_next(&db, "pt", now_micros()).unwrap();
    assert_eq!(assignment.value.protocol.number.counter(), 1);
}

#[test]
fn postgres_assignments_give_up_on_a_locked_counter_and_recover() {
    assignments_give_up_on_a_locked_counter_and_recover(false);
}

#[test]
fn postgres_assignments_give_up_on_a_locked_counter_and_recover_in_pooler_mode() {
    assignments_give_up_on_a_locked_counter_and_recover(true);
}

#[test]
fn postgres_statements_past_the_statement_timeout_are_cancelled_in_both_modes() {
    for transaction_pooler in [false, true] {
        let test = TestDatabase::postgres_with(limited(transaction_pooler));
        let error = test.try_execute("SELECT pg_sleep(5)").unwrap_err();
        assert!(
            error.contains("canceling statement due to statement timeout"),
            "pooler {transaction_pooler}: {error}"
        );
        test.execute("SELECT 1");
    }
}

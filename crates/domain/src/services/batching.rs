//! [`BatchedAssignments`]: the rotation's port with concurrent calls gathered into batches.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::audit::Actor;
use crate::batch::Batcher;
use crate::consultant::Consultant;
use crate::crm::CrmTarget;
use crate::distribution::Assignment;
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::ports::{AssignmentPort, AssignmentRequest};
use crate::values::Language;

/// Most assignments run together in one batch. PostgreSQL runs each in a subtransaction, and
/// a transaction with more than 64 of them overflows the snapshot's cache of subtransaction
/// ids, which slows every other session's snapshots.
pub const MAX_ASSIGNMENT_BATCH: usize = 64;

type Outcome = Result<Recorded<Assignment>, DomainError>;

/// An [`AssignmentPort`] whose concurrent `assign_first` calls (from every service sharing
/// this value: `da-vez`, Pipedrive's records) run as [`AssignmentPort::assign_batch`] of the
/// inner port, leader/follower (see [`crate::batch`]): the first caller runs everything queued
/// while the batch before it was in flight. Each caller gets what the same calls made one after
/// another in arrival order would give. Share one per process.
pub struct BatchedAssignments {
    inner: Arc<dyn AssignmentPort>,
    batcher: Batcher<AssignmentRequest, Outcome>,
}

impl std::fmt::Debug for BatchedAssignments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchedAssignments").finish_non_exhaustive()
    }
}

impl BatchedAssignments {
    /// Batches of at most [`MAX_ASSIGNMENT_BATCH`] over `inner`.
    pub fn new(inner: Arc<dyn AssignmentPort>) -> Self {
        Self::with_max_batch(inner, MAX_ASSIGNMENT_BATCH)
    }

    /// Batches of at most `max_batch` (1: every call alone, in arrival order).
    pub fn with_max_batch(inner: Arc<dyn AssignmentPort>, max_batch: usize) -> Self {
        Self {
            inner,
            batcher: Batcher::new(max_batch),
        }
    }
}

impl AssignmentPort for BatchedAssignments {
    fn assign_first(
        &self,
        languages: &[Language],
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm: Option<CrmTarget>,
    ) -> Outcome {
        let request = AssignmentRequest {
            languages: languages.to_vec(),
            now,
            claim,
            actor: actor.clone(),
            crm,
        };
        self.batcher.submit(
            request,
            |batch| self.inner.assign_batch(batch),
            || {
                Err(DomainError::internal(
                    "the assignment batch this request was in failed",
                ))
            },
        )
    }

    fn assign_batch(&self, batch: Vec<AssignmentRequest>) -> Vec<Outcome> {
        self.inner.assign_batch(batch)
    }

    fn rotation_candidates(&self, languages: &[Language]) -> Result<Vec<Consultant>, DomainError> {
        self.inner.rotation_candidates(languages)
    }

    fn waiting_contacts(&self, languages: &[Language]) -> Result<u64, DomainError> {
        self.inner.waiting_contacts(languages)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Barrier, Mutex};
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::audit::tests::actor;
    use crate::consultant::tests::sample_consultant;
    use crate::ports::MockAssignmentPort;
    use crate::protocol::{Priority, Protocol, ProtocolId, ProtocolStatus};
    use crate::values::ProtocolNumber;

    fn language(code: &str) -> Language {
        Language::parse(code).unwrap()
    }

    fn assignment(number: u64, language: &Language, now: DateTime<Utc>) -> Assignment {
        Assignment {
            consultant: sample_consultant(number as i64),
            protocol: Protocol {
                id: ProtocolId(number as i64),
                number: ProtocolNumber::from_counter(number as i64).unwrap(),
                consultant_id: None,
                language: Some(language.clone()),
                description: None,
                priority: Priority::Normal,
                status: ProtocolStatus::Aberto,
                created_at: now,
                updated_at: now,
            },
            crm_actions: None,
        }
    }

    /// A port that numbers the requests it is given in order, finds nobody for `xx`, and
    /// records the size of every batch.
    fn numbering_port(batches: Arc<Mutex<Vec<usize>>>) -> MockAssignmentPort {
        let next = Arc::new(AtomicUsize::new(1));
        let mut port = MockAssignmentPort::new();
        port.expect_assign_batch().returning(move |batch| {
            thread::sleep(Duration::from_millis(10));
            batches.lock().unwrap().push(batch.len());
            batch
                .into_iter()
                .map(|request| {
                    let wanted = &request.languages[0];
                    if wanted.as_str() == "xx" {
                        return Err(DomainError::NoneAvailable(wanted.clone()));
                    }
                    let number = next.fetch_add(1, Ordering::SeqCst) as u64;
                    Ok(Recorded::fresh(assignment(number, wanted, request.now)))
                })
                .collect()
        });
        port.expect_assign_first().never();
        port
    }

    #[test]
    fn a_lone_call_is_a_batch_of_one() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let port = BatchedAssignments::new(Arc::new(numbering_port(batches.clone())));
        let done = port
            .assign_first(&[language("pt")], Utc::now(), None, &actor(), None)
            .unwrap();
        assert_eq!(done.value.protocol.number.counter(), 1);
        assert_eq!(*batches.lock().unwrap(), vec![1]);
    }

    #[test]
    fn concurrent_calls_are_gathered_and_each_gets_its_own_answer() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let port = Arc::new(BatchedAssignments::new(Arc::new(numbering_port(
            batches.clone(),
        ))));
        let start = Arc::new(Barrier::new(48));
        let handles: Vec<_> = (0..48)
            .map(|n| {
                let (port, start) = (port.clone(), start.clone());
                thread::spawn(move || {
                    let wanted = language(if n % 4 == 0 { "xx" } else { "pt" });
                    start.wait();
                    let outcome = port.assign_first(
                        std::slice::from_ref(&wanted),
                        Utc::now(),
                        None,
                        &actor(),
                        None,
                    );
                    (wanted, outcome)
                })
            })
            .collect();
        let mut numbers = Vec::new();
        for handle in handles {
            let (wanted, outcome) = handle.join().unwrap();
            match outcome {
                Ok(done) => {
                    assert_eq!(done.value.protocol.language.as_ref(), Some(&wanted));
                    numbers.push(done.value.protocol.number.counter());
                }
                Err(DomainError::NoneAvailable(language)) => assert_eq!(language.as_str(), "xx"),
                Err(other) => panic!("{other}"),
            }
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=36).collect::<Vec<_>>(), "unique and gapless");
        let batches = batches.lock().unwrap();
        assert_eq!(batches.iter().sum::<usize>(), 48);
        assert!(batches.len() < 48, "gathered into batches: {batches:?}");
        assert!(batches.iter().all(|size| *size <= MAX_ASSIGNMENT_BATCH));
    }

    #[test]
    fn a_failed_batch_fails_each_of_its_calls() {
        let mut inner = MockAssignmentPort::new();
        inner.expect_assign_batch().returning(|batch| {
            batch
                .iter()
                .map(|_| Err(DomainError::unavailable("down")))
                .collect()
        });
        let port = BatchedAssignments::new(Arc::new(inner));
        assert!(matches!(
            port.assign_first(&[language("pt")], Utc::now(), None, &actor(), None),
            Err(DomainError::Unavailable(_))
        ));
    }

    #[test]
    fn the_other_calls_go_to_the_inner_port() {
        let mut inner = MockAssignmentPort::new();
        inner.expect_waiting_contacts().returning(|_| Ok(3));
        inner
            .expect_rotation_candidates()
            .returning(|_| Ok(vec![sample_consultant(1)]));
        let port = BatchedAssignments::new(Arc::new(inner));
        assert_eq!(port.waiting_contacts(&[language("pt")]).unwrap(), 3);
        assert_eq!(port.rotation_candidates(&[language("pt")]).unwrap().len(), 1);
    }
}

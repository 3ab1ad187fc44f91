//! [`AssignmentBatcher`]: concurrent calls of the rotation's port gathered into batches.

use crate::batch::Batcher;
use crate::distribution::Assignment;
use crate::error::DomainError;
use crate::idempotency::Recorded;
use crate::ports::{AssignmentPort, AssignmentRequest};

/// Most assignments run together in one batch: a bound on what one caller can wait behind
/// (a batch holds the counter row until its COMMIT) and on a batch's arrays and answers. SQLite
/// runs each request of a batch in a savepoint, and 64 keeps that nesting small.
pub const MAX_ASSIGNMENT_BATCH: usize = 64;

type Outcome = Result<Recorded<Assignment>, DomainError>;

/// Gathers concurrent assignments into [`AssignmentPort::assign_batch`] calls, leader/follower
/// (see [`crate::batch`]): the first caller runs everything queued while the batch before it was
/// in flight. Each caller gets what the same calls made one after another in arrival order would
/// give. An adapter holds one per process and sends its `assign_first` calls through
/// [`AssignmentBatcher::assign`] (it cannot hold the port itself: the port holds it).
pub struct AssignmentBatcher {
    batcher: Batcher<AssignmentRequest, Outcome>,
}

service_debug!(AssignmentBatcher);

impl Default for AssignmentBatcher {
    /// Batches of at most [`MAX_ASSIGNMENT_BATCH`].
    fn default() -> Self {
        Self::with_max_batch(MAX_ASSIGNMENT_BATCH)
    }
}

impl AssignmentBatcher {
    /// Batches of at most `max_batch` (1: every call alone, in arrival order).
    pub fn with_max_batch(max_batch: usize) -> Self {
        Self {
            batcher: Batcher::new(max_batch),
        }
    }

    /// Runs `request` on `port` in a batch with the calls made meanwhile.
    pub fn assign(&self, port: &dyn AssignmentPort, request: AssignmentRequest) -> Outcome {
        self.batcher.submit(
            request,
            |batch| port.assign_batch(batch),
            || {
                Err(DomainError::internal(
                    "the assignment batch this request was in failed",
                ))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier, Mutex};
    use std::thread;
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::audit::tests::actor;
    use crate::consultant::tests::sample_consultant;
    use crate::ports::MockAssignmentPort;
    use crate::protocol::tests::sample_protocol;
    use crate::protocol::Protocol;
    use crate::values::Language;

    fn language(code: &str) -> Language {
        Language::parse(code).unwrap()
    }

    fn assignment(number: u64, language: &Language, now: DateTime<Utc>) -> Assignment {
        Assignment {
            consultant: sample_consultant(number as i64),
            protocol: Protocol {
                language: Some(language.clone()),
                ..sample_protocol(number as i64, now)
            },
            crm_actions: None,
        }
    }

    fn request(code: &str) -> AssignmentRequest {
        AssignmentRequest {
            languages: vec![language(code)],
            now: Utc::now(),
            claim: None,
            actor: actor(),
            crm: None,
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
        let port = numbering_port(batches.clone());
        let done = AssignmentBatcher::default()
            .assign(&port, request("pt"))
            .unwrap();
        assert_eq!(done.value.protocol.number.counter(), 1);
        assert_eq!(*batches.lock().unwrap(), vec![1]);
    }

    #[test]
    fn concurrent_calls_are_gathered_and_each_gets_its_own_answer() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let port = Arc::new(numbering_port(batches.clone()));
        let batcher = Arc::new(AssignmentBatcher::default());
        let start = Arc::new(Barrier::new(48));
        let handles: Vec<_> = (0..48)
            .map(|n| {
                let (port, batcher, start) = (port.clone(), batcher.clone(), start.clone());
                thread::spawn(move || {
                    let wanted = if n % 4 == 0 { "xx" } else { "pt" };
                    start.wait();
                    let outcome = batcher.assign(port.as_ref(), request(wanted));
                    (language(wanted), outcome)
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
        assert!(matches!(
            AssignmentBatcher::default().assign(&inner, request("pt")),
            Err(DomainError::Unavailable(_))
        ));
    }
}

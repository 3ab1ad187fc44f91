use std::sync::Arc;

use crate::audit::Actor;
use crate::clock::Clock;
use crate::crm::CrmTarget;
use crate::distribution::{next_available, Assignment};
use crate::error::DomainError;
use crate::idempotency::{IdempotencyClaim, Recorded};
use crate::ports::AssignmentPort;
use crate::values::Language;

/// The answer's extra facts when nobody is free (`proximo_disponivel`, `aguardando`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NobodyFree {
    pub next_available: Option<chrono::DateTime<chrono::Utc>>,
    pub waiting: u64,
}

service_over_ports! {
    /// The rotation: hands the next contact in a language to whoever has waited longest.
    pub struct DistributionService {
        assignments: Arc<dyn AssignmentPort>,
        clock: Arc<dyn Clock>,
    }
}

impl DistributionService {
    /// Assigns the next contact in `language` atomically; [`DomainError::NoneAvailable`] when
    /// nobody is eligible. With a claim, a retry returns the first assignment again. With a CRM
    /// target (only when the CRM integration is on), the assignment also queues the CRM actions
    /// (owner, note) in its own transaction: the rotation never waits on the CRM.
    pub fn assign_next(
        &self,
        language: &Language,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm: Option<CrmTarget>,
    ) -> Result<Recorded<Assignment>, DomainError> {
        self.assignments
            .assign_next(language, self.clock.now(), claim, actor, crm)
    }

    /// Assigns the next contact in the first of `languages` (the requested language, then the
    /// alternatives in order) where anyone is eligible; the protocol records the language served.
    pub fn assign_first(
        &self,
        languages: &[Language],
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm: Option<CrmTarget>,
    ) -> Result<Recorded<Assignment>, DomainError> {
        self.assignments
            .assign_first(languages, self.clock.now(), claim, actor, crm)
    }

    /// What a caller who found nobody free in `languages` is told: when someone will next be
    /// available by the clock alone, and how many contacts already wait for these languages.
    pub fn nobody_free(&self, languages: &[Language]) -> Result<NobodyFree, DomainError> {
        let candidates = self.assignments.rotation_candidates(languages)?;
        Ok(NobodyFree {
            next_available: next_available(&candidates, languages, self.clock.now()),
            waiting: self.assignments.waiting_contacts(languages)?,
        })
    }

    /// The time the service would stamp now (used to build idempotency claims consistently).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use mockall::predicate::eq;

    use super::*;
    use crate::audit::tests::actor;
    use crate::clock::MockClock;
    use crate::consultant::tests::sample_consultant;
    use crate::idempotency::IdempotencyKey;
    use crate::ports::MockAssignmentPort;
    use crate::protocol::tests::sample_protocol;
    use crate::protocol::Protocol;
    use crate::services::test_clock::{clock_read_once, now};

    fn pt() -> Language {
        Language::parse("pt").unwrap()
    }

    fn service(port: MockAssignmentPort, clock: MockClock) -> DistributionService {
        DistributionService::new(Arc::new(port), Arc::new(clock))
    }

    fn assignment(language: &Language, now: DateTime<Utc>) -> Assignment {
        let consultant = crate::consultant::Consultant {
            last_served_at: Some(now),
            ..sample_consultant(7)
        };
        Assignment {
            protocol: Protocol {
                consultant_id: Some(consultant.id),
                language: Some(language.clone()),
                ..sample_protocol(42, now)
            },
            consultant,
            crm_actions: None,
        }
    }

    fn claim() -> IdempotencyClaim {
        IdempotencyClaim::new(
            "api-key:1".to_owned(),
            IdempotencyKey::parse("retry-1").unwrap(),
            "GET /consultor/da-vez?idioma=pt".to_owned(),
            now(),
        )
    }

    /// A port expecting one `assign_next` in `pt`, at `now()`, by `actor()`, with `claim` and
    /// `target`, that answers `answer(language, now, target)`.
    fn port_assigning(
        claim: Option<IdempotencyClaim>,
        target: Option<CrmTarget>,
        answer: impl Fn(&Language, DateTime<Utc>, Option<CrmTarget>) -> Assigned + Send + 'static,
    ) -> MockAssignmentPort {
        let mut port = MockAssignmentPort::new();
        port.expect_assign_next()
            .with(eq(pt()), eq(now()), eq(claim), eq(actor()), eq(target))
            .times(1)
            .returning(move |language, now, _, _, target| answer(language, now, target));
        port
    }

    /// A port whose one `assign_next` fails with `error(language)`.
    fn port_failing(
        error: impl Fn(&Language) -> DomainError + Send + 'static,
    ) -> MockAssignmentPort {
        let mut port = MockAssignmentPort::new();
        port.expect_assign_next()
            .times(1)
            .returning(move |language, _, _, _, _| Err(error(language)));
        port
    }

    type Assigned = Result<Recorded<Assignment>, DomainError>;

    #[test]
    fn assign_next_passes_language_and_now_to_the_port_exactly_once() {
        let port = port_assigning(None, None, |language, now, _| {
            Ok(Recorded::fresh(assignment(language, now)))
        });
        let recorded = service(port, clock_read_once())
            .assign_next(&pt(), None, &actor(), None)
            .unwrap();
        assert!(!recorded.replayed);
        assert_eq!(recorded.value.consultant.id.0, 7);
        assert_eq!(recorded.value.protocol.number.to_string(), "#00042");
    }

    #[test]
    fn assign_next_passes_the_idempotency_claim_through() {
        let port = port_assigning(Some(claim()), None, |language, now, _| {
            Ok(Recorded::replayed(assignment(language, now)))
        });
        let recorded = service(port, clock_read_once())
            .assign_next(&pt(), Some(claim()), &actor(), None)
            .unwrap();
        assert!(recorded.replayed);
    }

    #[test]
    fn assign_next_passes_the_crm_target_through() {
        let port = port_assigning(None, Some(CrmTarget::Deal(42)), |language, now, target| {
            let mut assignment = assignment(language, now);
            assignment.crm_actions = target.map(|target| {
                vec![crate::crm_outbox::CrmActionStatus {
                    action: crate::crm_outbox::CrmActionKind::SetOwner,
                    target,
                    state: crate::crm_outbox::DeliveryState::Pending { last_error: None },
                    attempts: 0,
                }]
            });
            Ok(Recorded::fresh(assignment))
        });
        let recorded = service(port, clock_read_once())
            .assign_next(&pt(), None, &actor(), Some(CrmTarget::Deal(42)))
            .unwrap();
        assert_eq!(
            recorded.value.crm_actions.map(|actions| actions.len()),
            Some(1)
        );
    }

    #[test]
    fn assign_next_propagates_none_available_for_the_language() {
        let port = port_failing(|language| DomainError::NoneAvailable(language.clone()));
        let result = service(port, clock_read_once()).assign_next(&pt(), None, &actor(), None);
        match result {
            Err(error @ DomainError::NoneAvailable(_)) => assert_eq!(
                error.to_string(),
                "Não há consultor disponível para o idioma pt"
            ),
            other => panic!("expected NoneAvailable, got {other:?}"),
        }
    }

    #[test]
    fn assign_next_propagates_an_unavailable_store() {
        let port = port_failing(|_| DomainError::unavailable("pool timeout"));
        let result = service(port, clock_read_once()).assign_next(&pt(), None, &actor(), None);
        assert!(matches!(result, Err(DomainError::Unavailable(_))));
    }

    #[test]
    fn assign_next_propagates_a_reused_idempotency_key() {
        let port = port_failing(|_| DomainError::IdempotencyKeyReused);
        let result =
            service(port, clock_read_once()).assign_next(&pt(), Some(claim()), &actor(), None);
        assert!(matches!(result, Err(DomainError::IdempotencyKeyReused)));
    }

    #[test]
    fn assign_first_passes_every_language_in_order() {
        let wanted = [pt(), Language::parse("en").unwrap()];
        let mut port = MockAssignmentPort::new();
        port.expect_assign_first()
            .withf(|languages, at, claim, _, crm| {
                languages.iter().map(Language::as_str).collect::<Vec<_>>() == ["pt", "en"]
                    && *at == now()
                    && claim.is_none()
                    && crm.is_none()
            })
            .times(1)
            .returning(|languages, now, _, _, _| {
                Ok(Recorded::fresh(assignment(&languages[1], now)))
            });
        let recorded = service(port, clock_read_once())
            .assign_first(&wanted, None, &actor(), None)
            .unwrap();
        assert_eq!(recorded.value.protocol.language.unwrap().as_str(), "en");
    }

    #[test]
    fn nobody_free_reports_the_earliest_candidate_and_the_waiting_count() {
        let mut port = MockAssignmentPort::new();
        port.expect_rotation_candidates().times(1).returning(|_| {
            let mut later = sample_consultant(1);
            later.routing.daily_limit = Some(crate::routing::Limit::new(1).unwrap());
            later.workload.assignments_day = Some(now().date_naive());
            later.workload.assignments_on_day = 1;
            later.routing.time_zone = crate::routing::Zone::parse("UTC").unwrap();
            Ok(vec![later])
        });
        port.expect_waiting_contacts().times(1).returning(|_| Ok(0));
        let answer = service(port, clock_read_once())
            .nobody_free(&[pt()])
            .unwrap();
        assert_eq!(
            answer.next_available,
            Some(
                now()
                    .date_naive()
                    .succ_opt()
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
            )
        );
        assert_eq!(answer.waiting, 0);
    }

    #[test]
    fn now_reads_the_clock() {
        let service = service(MockAssignmentPort::new(), clock_read_once());
        assert_eq!(service.now(), now());
    }
}

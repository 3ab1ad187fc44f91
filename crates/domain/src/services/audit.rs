use std::sync::Arc;

use chrono::Duration;

use crate::audit::{AuditFilter, AuditPage, AuditPageRequest};
use crate::clock::Clock;
use crate::consultant::ConsultantId;
use crate::error::DomainError;
use crate::ports::AuditLog;

service_over_ports! {
    /// Reading the record of operations, and its retention.
    pub struct AuditService {
        log: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
    }
}

impl AuditService {
    /// A page of entries matching `filter`, newest first.
    pub fn list(&self, filter: &AuditFilter) -> Result<AuditPage, DomainError> {
        self.log.list(filter)
    }

    /// When a consultant went online or offline and who switched it, newest first.
    /// [`DomainError::ConsultantNotFound`] if no consultant with this id ever existed.
    pub fn connection_history(
        &self,
        consultant: ConsultantId,
        page: &AuditPageRequest,
    ) -> Result<AuditPage, DomainError> {
        self.log
            .connection_history(consultant, page)?
            .ok_or(DomainError::ConsultantNotFound)
    }

    /// Deletes one batch (at most `batch` entries) of entries older than `retention`, and
    /// returns how many; 0 means nothing older is left.
    pub fn prune_batch(&self, retention: Duration, batch: u32) -> Result<usize, DomainError> {
        self.log.prune(self.clock.now() - retention, batch)
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::audit::AuditEntryId;
    use crate::clock::MockClock;
    use crate::ports::MockAuditLog;
    use crate::services::test_clock::now;

    fn service(log: MockAuditLog, clock: MockClock) -> AuditService {
        AuditService::new(Arc::new(log), Arc::new(clock))
    }

    fn empty_page() -> AuditPage {
        AuditPage {
            entries: Vec::new(),
            next: None,
        }
    }

    #[test]
    fn list_passes_the_filter_through_without_reading_the_clock() {
        let filter = AuditFilter {
            entity_id: Some(7),
            page: AuditPageRequest::new(Some(AuditEntryId(50)), 10).unwrap(),
            ..AuditFilter::default()
        };
        let mut log = MockAuditLog::new();
        log.expect_list()
            .with(eq(filter))
            .times(1)
            .returning(|_| Ok(empty_page()));
        assert_eq!(
            service(log, MockClock::new()).list(&filter).unwrap(),
            empty_page()
        );
    }

    #[test]
    fn connection_history_of_a_consultant_who_never_existed_is_consultant_not_found() {
        let mut log = MockAuditLog::new();
        log.expect_connection_history()
            .with(eq(ConsultantId(404)), eq(AuditPageRequest::default()))
            .times(1)
            .returning(|_, _| Ok(None));
        let result = service(log, MockClock::new())
            .connection_history(ConsultantId(404), &AuditPageRequest::default());
        assert!(matches!(result, Err(DomainError::ConsultantNotFound)));
    }

    #[test]
    fn connection_history_returns_the_page() {
        let mut log = MockAuditLog::new();
        log.expect_connection_history()
            .times(1)
            .returning(|_, _| Ok(Some(empty_page())));
        let page = service(log, MockClock::new())
            .connection_history(ConsultantId(7), &AuditPageRequest::default())
            .unwrap();
        assert_eq!(page, empty_page());
    }

    #[test]
    fn prune_batch_cuts_off_at_now_minus_the_retention() {
        let mut clock = MockClock::new();
        clock.expect_now().times(1).return_const(now());
        let mut log = MockAuditLog::new();
        log.expect_prune()
            .with(eq(now() - Duration::days(30)), eq(1000))
            .times(1)
            .returning(|_, _| Ok(1000));
        assert_eq!(
            service(log, clock)
                .prune_batch(Duration::days(30), 1000)
                .unwrap(),
            1000
        );
    }
}

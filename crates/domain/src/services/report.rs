use std::sync::Arc;

use crate::consultant::ConsultantFilter;
use crate::error::DomainError;
use crate::ports::{ConsultantRepository, ReportStore};
use crate::report::{AssignmentReport, ReportRequest};

service_over_ports! {
    /// Reports over the record of assignments.
    pub struct ReportService {
        store: Arc<dyn ReportStore>,
        consultants: Arc<dyn ConsultantRepository>,
    }
}

impl ReportService {
    /// Rotation assignments per consultant per local day of `request`: every consultant who got
    /// one (removed consultants included) and every current consultant who could have (speaks
    /// the requested language), with zeros.
    pub fn assignments(&self, request: &ReportRequest) -> Result<AssignmentReport, DomainError> {
        let counts = self.store.assignment_counts(request)?;
        let current = self.consultants.list(&ConsultantFilter {
            language: request.language.clone(),
            ..ConsultantFilter::default()
        })?;
        Ok(AssignmentReport::assemble(
            &request.days,
            counts,
            current.into_iter().map(|c| (c.id, c.name)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use mockall::predicate::{eq, function};

    use super::*;
    use crate::consultant::tests::sample_consultant;
    use crate::consultant::ConsultantId;
    use crate::ports::{MockConsultantRepository, MockReportStore};
    use crate::report::tests::utc_days;
    use crate::report::DailyCount;
    use crate::values::Language;

    #[test]
    fn report_merges_counts_with_the_consultants_who_speak_the_language() {
        let request = ReportRequest {
            days: utc_days(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), 2),
            language: Some(Language::parse("en").unwrap()),
        };
        let mut store = MockReportStore::new();
        store
            .expect_assignment_counts()
            .with(eq(request.clone()))
            .times(1)
            .returning(|_| {
                Ok(vec![DailyCount {
                    consultant_id: ConsultantId(4),
                    name: "Removida".to_owned(),
                    day: 1,
                    count: 3,
                }])
            });
        let mut consultants = MockConsultantRepository::new();
        consultants
            .expect_list()
            .with(function(|filter: &ConsultantFilter| {
                filter.language.as_ref().map(Language::as_str) == Some("en")
                    && filter.online.is_none()
                    && filter.active.is_none()
            }))
            .times(1)
            .returning(|_| Ok(vec![sample_consultant(2)]));
        let service = ReportService::new(Arc::new(store), Arc::new(consultants));
        let report = service.assignments(&request).unwrap();
        assert_eq!(report.total, 3);
        let lines: Vec<(i64, u64)> = report
            .consultants
            .iter()
            .map(|line| (line.consultant_id.0, line.total))
            .collect();
        assert_eq!(lines, vec![(2, 0), (4, 3)]);
    }
}

//! The assignments report: how many contacts the rotation gave each consultant on each local day.
//!
//! "Rotation assignments" are the protocols the rotation opened, which are exactly the protocols
//! with a language (`idioma`): protocols opened by hand or by `gerar-protocolo` have none.
//! Days are local days of a time zone; the adapter that knows time zones turns each date into
//! the UTC instants where it starts and ends ([`LocalDay`]), so the store only compares instants.

use chrono::{DateTime, NaiveDate, Utc};

use crate::consultant::ConsultantId;
use crate::values::{ConsultantName, Language};

/// The longest period a report may cover, in days.
pub const MAX_REPORT_DAYS: usize = 366;

/// One local calendar day: the UTC instants `[start, end)` it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDay {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What to count: consecutive local days (1 to [`MAX_REPORT_DAYS`], each starting where the
/// previous one ends) and, optionally, one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub days: Vec<LocalDay>,
    pub language: Option<Language>,
}

/// The store's answer: `count` rotation assignments of one consultant on `days[day]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCount {
    pub consultant_id: ConsultantId,
    /// The consultant's name (removed consultants keep theirs).
    pub name: String,
    /// Index into [`ReportRequest::days`].
    pub day: usize,
    pub count: u64,
}

/// One consultant's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultantAssignments {
    pub consultant_id: ConsultantId,
    pub name: String,
    pub total: u64,
    /// One count per day of the request, in its order (zeros included).
    pub per_day: Vec<u64>,
}

/// The report: every consultant who got a contact in the period (removed ones included) and
/// every current consultant who could have (speaks the language, when one is asked), by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentReport {
    pub days: Vec<NaiveDate>,
    pub total: u64,
    pub consultants: Vec<ConsultantAssignments>,
}

impl AssignmentReport {
    /// Builds the report from the store's counts and the current consultants with no count.
    pub fn assemble(
        days: &[LocalDay],
        counts: Vec<DailyCount>,
        current: impl IntoIterator<Item = (ConsultantId, ConsultantName)>,
    ) -> Self {
        let mut lines: std::collections::BTreeMap<ConsultantId, ConsultantAssignments> =
            std::collections::BTreeMap::new();
        let blank = |id: ConsultantId, name: String| ConsultantAssignments {
            consultant_id: id,
            name,
            total: 0,
            per_day: vec![0; days.len()],
        };
        for count in counts {
            let line = lines
                .entry(count.consultant_id)
                .or_insert_with(|| blank(count.consultant_id, count.name.clone()));
            if let Some(slot) = line.per_day.get_mut(count.day) {
                *slot += count.count;
                line.total += count.count;
            }
        }
        for (id, name) in current {
            lines
                .entry(id)
                .or_insert_with(|| blank(id, name.as_str().to_owned()));
        }
        let consultants: Vec<ConsultantAssignments> = lines.into_values().collect();
        Self {
            days: days.iter().map(|day| day.date).collect(),
            total: consultants.iter().map(|line| line.total).sum(),
            consultants,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    pub(crate) fn utc_days(first: NaiveDate, count: usize) -> Vec<LocalDay> {
        (0..count)
            .map(|offset| {
                let date = first + Duration::days(offset as i64);
                let start = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap());
                LocalDay {
                    date,
                    start,
                    end: start + Duration::days(1),
                }
            })
            .collect()
    }

    fn count(id: i64, day: usize, n: u64) -> DailyCount {
        DailyCount {
            consultant_id: ConsultantId(id),
            name: format!("Consultor {id}"),
            day,
            count: n,
        }
    }

    #[test]
    fn assembles_counts_per_consultant_and_day_with_zeros_and_idle_consultants() {
        let days = utc_days(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), 3);
        let report = AssignmentReport::assemble(
            &days,
            vec![count(7, 0, 2), count(3, 2, 1), count(7, 2, 4)],
            vec![
                (
                    ConsultantId(9),
                    ConsultantName::parse("Ana Sem Contatos").unwrap(),
                ),
                (
                    ConsultantId(7),
                    ConsultantName::parse("Nome Atual").unwrap(),
                ),
            ],
        );
        assert_eq!(report.total, 7);
        assert_eq!(report.days.len(), 3);
        let ids: Vec<i64> = report
            .consultants
            .iter()
            .map(|c| c.consultant_id.0)
            .collect();
        assert_eq!(ids, vec![3, 7, 9]);
        assert_eq!(report.consultants[0].per_day, vec![0, 0, 1]);
        assert_eq!(report.consultants[1].per_day, vec![2, 0, 4]);
        assert_eq!(report.consultants[1].total, 6);
        // The name of the day's counts (the stored one) is kept.
        assert_eq!(report.consultants[1].name, "Consultor 7");
        assert_eq!(report.consultants[2].per_day, vec![0, 0, 0]);
    }
}

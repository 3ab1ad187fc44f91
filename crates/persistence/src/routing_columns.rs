//! The stored form of the routing rules: `horarios` and `ausencias` are JSON text in the wire's
//! shape (`[{"dia":1,"inicio":"08:00","fim":"18:00"}]`, `[{"de":"2026-12-24","ate":"2026-12-26"}]`),
//! which the PostgreSQL assignment function reads with `jsonb` and the service with serde.

use consultores_domain::routing::{format_time_of_day, parse_date, parse_time_of_day};
use consultores_domain::{Leave, Limit, RoutingRules, WeeklySchedule, Weight, WorkingHours, Zone};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::error::StoreError;

// Borrowed from the stored text when it has no escapes (it never has: the service writes it),
// so reading a schedule allocates only its list.
#[derive(Serialize, Deserialize)]
struct StoredHours<'a> {
    #[serde(rename = "dia")]
    day: u8,
    #[serde(rename = "inicio", borrow)]
    start: Cow<'a, str>,
    #[serde(rename = "fim", borrow)]
    end: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
struct StoredLeave<'a> {
    #[serde(rename = "de", borrow)]
    from: Cow<'a, str>,
    #[serde(rename = "ate", borrow)]
    until: Cow<'a, str>,
}

/// The stored text of a schedule.
pub(crate) fn schedule_text(schedule: &WeeklySchedule) -> String {
    let rows: Vec<StoredHours> = schedule
        .periods()
        .iter()
        .map(|p| StoredHours {
            day: p.day,
            start: format_time_of_day(p.start).into(),
            end: format_time_of_day(p.end).into(),
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned())
}

/// The stored text of days off.
pub(crate) fn leave_text(leave: &[Leave]) -> String {
    let rows: Vec<StoredLeave> = leave
        .iter()
        .map(|l| StoredLeave {
            from: l.from.format("%Y-%m-%d").to_string().into(),
            until: l.to.format("%Y-%m-%d").to_string().into(),
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned())
}

fn broken(id: i64, what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::internal(format!("consultant {id}: stored {what}: {error}"))
}

fn parse_schedule(id: i64, text: &str) -> Result<WeeklySchedule, StoreError> {
    let rows: Vec<StoredHours> =
        serde_json::from_str(text).map_err(|e| broken(id, "horarios", e))?;
    rows.into_iter()
        .map(|row| {
            let start = parse_time_of_day(&row.start)?;
            let end = parse_time_of_day(&row.end)?;
            WorkingHours::new(row.day, start, end)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(WeeklySchedule::new)
        .map_err(|e| broken(id, "horarios", e))
}

fn parse_leave(id: i64, text: &str) -> Result<Vec<Leave>, StoreError> {
    let rows: Vec<StoredLeave> =
        serde_json::from_str(text).map_err(|e| broken(id, "ausencias", e))?;
    rows.into_iter()
        .map(|row| Leave::new(parse_date(&row.from)?, parse_date(&row.until)?))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| broken(id, "ausencias", e))
}

/// The stored rule columns of one consultant, as read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredRules<'a> {
    pub id: i64,
    pub weight: i32,
    pub daily_limit: Option<i32>,
    pub open_limit: Option<i32>,
    pub time_zone: Option<&'a str>,
    pub schedule: Option<&'a str>,
    pub leave: Option<&'a str>,
}

impl StoredRules<'_> {
    /// The domain rules; a consultant without a zone of their own gets `default_zone`.
    pub fn into_domain(self, default_zone: Zone) -> Result<RoutingRules, StoreError> {
        let id = self.id;
        let limit = |value: Option<i32>, what: &str| {
            value
                .map(|v| Limit::new(i64::from(v)))
                .transpose()
                .map_err(|e| broken(id, what, e))
        };
        Ok(RoutingRules {
            weight: Weight::new(i64::from(self.weight)).map_err(|e| broken(id, "peso", e))?,
            daily_limit: limit(self.daily_limit, "limite_diario")?,
            open_limit: limit(self.open_limit, "limite_abertos")?,
            time_zone: match self.time_zone {
                None => default_zone,
                Some(name) => Zone::parse(name).map_err(|e| broken(id, "fuso_horario", e))?,
            },
            schedule: self.schedule.map(|t| parse_schedule(id, t)).transpose()?,
            leave: self.leave.map(|t| parse_leave(id, t)).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_read_back_to_the_same_rules() {
        let schedule = WeeklySchedule::new(vec![
            WorkingHours::new(1, 480, 1440).unwrap(),
            WorkingHours::new(7, 0, 90).unwrap(),
        ]);
        let leave = vec![Leave::new(
            parse_date("2026-12-24").unwrap(),
            parse_date("2026-12-26").unwrap(),
        )
        .unwrap()];
        let stored_schedule = schedule_text(&schedule);
        let stored_leave = leave_text(&leave);
        assert_eq!(
            stored_schedule,
            r#"[{"dia":1,"inicio":"08:00","fim":"24:00"},{"dia":7,"inicio":"00:00","fim":"01:30"}]"#
        );
        assert_eq!(stored_leave, r#"[{"de":"2026-12-24","ate":"2026-12-26"}]"#);
        let rules = StoredRules {
            id: 1,
            weight: 3,
            daily_limit: Some(5),
            open_limit: None,
            time_zone: None,
            schedule: Some(&stored_schedule),
            leave: Some(&stored_leave),
        }
        .into_domain(Zone::SAO_PAULO)
        .unwrap();
        assert_eq!(rules.schedule, Some(schedule));
        assert_eq!(rules.leave, Some(leave));
        assert_eq!(rules.weight.get(), 3);
        assert_eq!(rules.time_zone, Zone::SAO_PAULO);
    }

    #[test]
    fn escaped_stored_text_still_reads() {
        let rules = StoredRules {
            id: 1,
            weight: 1,
            daily_limit: None,
            open_limit: None,
            time_zone: None,
            schedule: Some(r#"[{"dia":2,"inicio":"08\u003a00","fim":"18:00"}]"#),
            leave: Some(r#"[{"de":"2026\u002d12-24","ate":"2026-12-26"}]"#),
        }
        .into_domain(Zone::SAO_PAULO)
        .unwrap();
        assert_eq!(
            rules.schedule.unwrap().periods(),
            [WorkingHours::new(2, 480, 1080).unwrap()]
        );
        assert_eq!(
            rules.leave.unwrap(),
            [Leave::new(
                parse_date("2026-12-24").unwrap(),
                parse_date("2026-12-26").unwrap()
            )
            .unwrap()]
        );
    }
}

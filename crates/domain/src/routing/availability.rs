//! Availability at an instant, and the next instant of availability.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::values::{Leave, Limit, WeeklySchedule, Weight, Zone};

/// The routing rules of one consultant. The default (every field unset) is v6's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRules {
    pub weight: Weight,
    pub daily_limit: Option<Limit>,
    pub open_limit: Option<Limit>,
    /// The zone of the consultant's hours, leave and daily count: their own, or the service's
    /// default (`DEFAULT_TIME_ZONE`) when they have none.
    pub time_zone: Zone,
    /// `None`: always within hours.
    pub schedule: Option<WeeklySchedule>,
    /// `None` or empty: never on leave.
    pub leave: Option<Vec<Leave>>,
}

/// A consultant's counters, kept by the store in the transactions that change them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// The local date of the last rotation assignment, and how many that date had.
    pub assignments_day: Option<NaiveDate>,
    pub assignments_on_day: i64,
    /// Protocols of theirs that are `aberto` or `em_andamento`.
    pub open_protocols: i64,
}

impl Workload {
    /// Rotation assignments on local `today`.
    pub fn assignments_on(&self, today: NaiveDate) -> i64 {
        if self.assignments_day == Some(today) {
            self.assignments_on_day
        } else {
            0
        }
    }
}

wire_names! {
    /// Why the rotation would pass a consultant by, in the contract's order of precedence
    /// (`motivo_indisponivel`).
    pub enum Unavailability {
        #[strum(serialize = "inativo")]
        Inactive,
        #[strum(serialize = "fora_da_rotacao")]
        OutOfRotation,
        #[strum(serialize = "offline")]
        Offline,
        #[strum(serialize = "fora_do_horario")]
        OutsideHours,
        #[strum(serialize = "ausente")]
        OnLeave,
        #[strum(serialize = "limite_diario")]
        DailyLimit,
        #[strum(serialize = "limite_abertos")]
        OpenLimit,
    }
}

/// The read-only status of a consultant at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    pub reason: Option<Unavailability>,
    pub assignments_today: i64,
    pub open_protocols: i64,
}

impl Availability {
    pub fn available(&self) -> bool {
        self.reason.is_none()
    }
}

impl RoutingRules {
    /// The local date of `now` in the consultant's zone.
    pub fn local_date(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone.tz()).date_naive()
    }

    /// Whether `now` falls inside the working hours (always, without a schedule).
    pub fn within_hours(&self, now: DateTime<Utc>) -> bool {
        let Some(schedule) = &self.schedule else {
            return true;
        };
        let local = now.with_timezone(&self.time_zone.tz());
        let day = local.weekday().number_from_monday() as u8;
        schedule.covers(day, local.num_seconds_from_midnight())
    }

    /// Whether the local date `date` is a day off.
    pub fn on_leave_on(&self, date: NaiveDate) -> bool {
        self.leave
            .as_ref()
            .is_some_and(|leave| leave.iter().any(|period| period.covers(date)))
    }

    /// The first rule (after the switches) that keeps the consultant out of the rotation at
    /// `now`, given their counters.
    pub fn blocking_rule(&self, workload: &Workload, now: DateTime<Utc>) -> Option<Unavailability> {
        let today = self.local_date(now);
        if !self.within_hours(now) {
            Some(Unavailability::OutsideHours)
        } else if self.on_leave_on(today) {
            Some(Unavailability::OnLeave)
        } else if self
            .daily_limit
            .is_some_and(|limit| limit.reached_by(workload.assignments_on(today)))
        {
            Some(Unavailability::DailyLimit)
        } else if self
            .open_limit
            .is_some_and(|limit| limit.reached_by(workload.open_protocols))
        {
            Some(Unavailability::OpenLimit)
        } else {
            None
        }
    }

    /// The earliest instant at or after `now` at which the consultant is inside their hours,
    /// off leave and under their daily limit (the open limit and the switches are not
    /// predictable, so they are not considered). Looks at most a year and a week ahead; `None`
    /// past that (e.g. a schedule with no periods, or leave longer than that).
    pub fn next_available(&self, workload: &Workload, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.time_zone.tz();
        let local_now = now.with_timezone(&tz).naive_local();
        let today = local_now.date();
        let full_day = [(0u16, 1440u16)];
        for offset in 0..=372 {
            let date = today + Duration::days(offset);
            if self.on_leave_on(date) {
                continue;
            }
            if offset == 0
                && self
                    .daily_limit
                    .is_some_and(|limit| limit.reached_by(workload.assignments_on(today)))
            {
                continue;
            }
            let weekday = date.weekday().number_from_monday() as u8;
            let periods: Vec<(u16, u16)> = match &self.schedule {
                None => full_day.to_vec(),
                Some(schedule) => schedule.on(weekday).map(|p| (p.start, p.end)).collect(),
            };
            for (start, end) in periods {
                let start_at = local_minute(date, start);
                let end_at = local_minute(date, end);
                let from = if offset == 0 {
                    start_at.max(local_now)
                } else {
                    start_at
                };
                if from >= end_at {
                    continue;
                }
                if let Some(instant) = first_instant_at_or_after(&self.time_zone, from, end_at) {
                    return Some(instant.max(now));
                }
            }
        }
        None
    }
}

impl RoutingRules {
    /// For a consultant NOT available at `now` (and switched on): the next instant their
    /// availability may change by the clock alone, or `None` when only a write can change it
    /// (at their open limit). The clock changes it only at local midnight (leave is by local
    /// date, the daily count restarts) and at the start of a working period, so the earlier of
    /// the next local midnight and the next start today is early enough (waking early costs one
    /// more evaluation; waking late would be the bug). A wall-clock time repeated by a clock
    /// change is taken at its earlier instant, one skipped at the end of the gap. The twin of
    /// PostgreSQL's `consultores_proxima_mudanca` (migration `2026-10-01-000000_fila_por_idioma`).
    pub fn next_clock_change(
        &self,
        workload: &Workload,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self
            .open_limit
            .is_some_and(|limit| limit.reached_by(workload.open_protocols))
        {
            return None;
        }
        let local_now = now.with_timezone(&self.time_zone.tz()).naive_local();
        let today = local_now.date();
        let weekday = today.weekday().number_from_monday() as u8;
        let midnight = local_minute(today, 1440);
        let next = self
            .schedule
            .iter()
            .flat_map(|schedule| schedule.on(weekday))
            .map(|period| local_minute(today, period.start))
            .filter(|start| *start > local_now)
            .fold(midnight, NaiveDateTime::min);
        first_instant_at_or_after(&self.time_zone, next, next + Duration::days(1))
    }
}

/// The wall-clock time `minute` minutes after the start of local `date` (1440 is the next
/// day's midnight).
fn local_minute(date: NaiveDate, minute: u16) -> NaiveDateTime {
    date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(i64::from(minute))
}

/// The first real instant whose wall-clock time in `zone` is in `[from, until)`: `from` itself,
/// its earlier reading when a clock change repeats it, or the end of a gap that skips it (as on
/// a São Paulo DST start, when local midnight did not exist).
fn first_instant_at_or_after(
    zone: &Zone,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Option<DateTime<Utc>> {
    let tz = zone.tz();
    let mut wall = from;
    while wall < until {
        if let Some(instant) = tz.from_local_datetime(&wall).earliest() {
            return Some(instant.with_timezone(&Utc));
        }
        // Inside a gap: gaps start and end on whole minutes in every zone in use.
        wall = (wall + Duration::minutes(1))
            .with_second(0)
            .and_then(|w| w.with_nanosecond(0))?;
    }
    None
}

/// The queue key after an assignment stamped at `stamp` (microseconds since the epoch):
/// `k + (stamp - k) / peso`, or `stamp` for a consultant without a key. With peso 1 this is the
/// stamp itself, v6's `ultimo_atendimento`. Integer division truncates toward zero, as
/// PostgreSQL's `bigint / bigint` does.
pub fn next_queue_key(key: Option<i64>, stamp: i64, weight: Weight) -> i64 {
    match key {
        None => stamp,
        Some(key) => key + (stamp - key) / weight.get(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unavailability_tests;

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

/// Why the rotation would pass a consultant by, in the contract's order of precedence
/// (`motivo_indisponivel`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::VariantNames,
)]
#[serde(into = "&'static str", try_from = "String")]
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

wire_names!(Unavailability);

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
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::routing::values::{parse_date, WorkingHours};

    fn sao_paulo() -> RoutingRules {
        RoutingRules::default()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn weekdays_nine_to_six() -> WeeklySchedule {
        WeeklySchedule::new(
            (1..=5)
                .map(|day| WorkingHours::new(day, 540, 1080).unwrap())
                .collect(),
        )
    }

    #[test]
    fn no_rules_means_always_available() {
        let rules = sao_paulo();
        let workload = Workload {
            open_protocols: 10_000,
            assignments_on_day: 10_000,
            assignments_day: Some(parse_date("2026-12-01").unwrap()),
        };
        assert_eq!(rules.blocking_rule(&workload, utc(2026, 12, 1, 3, 0)), None);
        let now = utc(2026, 12, 1, 3, 0);
        assert_eq!(rules.next_available(&workload, now), Some(now));
    }

    #[test]
    fn hours_are_read_in_the_consultants_zone() {
        let rules = RoutingRules {
            schedule: Some(weekdays_nine_to_six()),
            ..sao_paulo()
        };
        // Tuesday 2026-12-01, 11:59 UTC is 08:59 in São Paulo (UTC-3, no DST since 2019).
        let before = utc(2026, 12, 1, 11, 59);
        assert_eq!(
            rules.blocking_rule(&Workload::default(), before),
            Some(Unavailability::OutsideHours)
        );
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2026, 12, 1, 12, 0)),
            None
        );
        assert_eq!(
            rules.next_available(&Workload::default(), before),
            Some(utc(2026, 12, 1, 12, 0))
        );
        // Friday evening: next is Monday 09:00 local.
        assert_eq!(
            rules.next_available(&Workload::default(), utc(2026, 12, 4, 21, 0)),
            Some(utc(2026, 12, 7, 12, 0))
        );
        let lisbon = RoutingRules {
            time_zone: Zone::parse("Europe/Lisbon").unwrap(),
            ..rules
        };
        assert_eq!(lisbon.blocking_rule(&Workload::default(), before), None);
    }

    #[test]
    fn a_period_ending_at_24_00_covers_until_local_midnight() {
        let rules = RoutingRules {
            schedule: Some(WeeklySchedule::new(vec![
                WorkingHours::new(2, 1320, 1440).unwrap(),
                WorkingHours::new(3, 0, 360).unwrap(),
            ])),
            ..sao_paulo()
        };
        // Tuesday 23:59:59 local = Wednesday 02:59:59 UTC: inside; Wednesday 00:00 local: inside
        // (the night shift's second entry); Wednesday 06:00 local: outside.
        let late = utc(2026, 12, 2, 2, 59) + Duration::seconds(59);
        assert_eq!(rules.blocking_rule(&Workload::default(), late), None);
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2026, 12, 2, 3, 0)),
            None
        );
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2026, 12, 2, 9, 0)),
            Some(Unavailability::OutsideHours)
        );
    }

    #[test]
    fn dst_start_in_sao_paulo_history_skips_the_missing_local_midnight() {
        // 2018-11-04: São Paulo clocks jumped from 00:00 to 01:00 (UTC-3 to UTC-2).
        let rules = RoutingRules {
            schedule: Some(WeeklySchedule::new(vec![
                WorkingHours::new(7, 0, 120).unwrap()
            ])),
            ..sao_paulo()
        };
        let saturday_evening = utc(2018, 11, 3, 23, 0); // 20:00 local, UTC-3
        assert_eq!(
            rules.next_available(&Workload::default(), saturday_evening),
            // 01:00 local (UTC-2) is 03:00 UTC: the first instant of Sunday.
            Some(utc(2018, 11, 4, 3, 0))
        );
        // 01:30 local on that Sunday (03:30 UTC) is inside 00:00–02:00.
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2018, 11, 4, 3, 30)),
            None
        );
        // 02:00 local (04:00 UTC) is outside.
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2018, 11, 4, 4, 0)),
            Some(Unavailability::OutsideHours)
        );
    }

    #[test]
    fn dst_end_in_sao_paulo_history_counts_the_repeated_hour_in_the_schedule() {
        // 2019-02-17 00:00 (UTC-2) became 2019-02-16 23:00 (UTC-3): 23:xx happened twice.
        let rules = RoutingRules {
            schedule: Some(WeeklySchedule::new(vec![
                WorkingHours::new(6, 1380, 1440).unwrap()
            ])),
            ..sao_paulo()
        };
        // First 23:30 (UTC-2) = 01:30 UTC, second 23:30 (UTC-3) = 02:30 UTC: both inside.
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2019, 2, 17, 1, 30)),
            None
        );
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2019, 2, 17, 2, 30)),
            None
        );
        // From Saturday noon, the next start is the first (earlier) 23:00: 01:00 UTC.
        assert_eq!(
            rules.next_available(&Workload::default(), utc(2019, 2, 16, 14, 0)),
            Some(utc(2019, 2, 17, 1, 0))
        );
    }

    #[test]
    fn leave_covers_whole_local_days() {
        let rules = RoutingRules {
            leave: Some(vec![Leave::new(
                parse_date("2026-12-24").unwrap(),
                parse_date("2026-12-25").unwrap(),
            )
            .unwrap()]),
            ..sao_paulo()
        };
        // 2026-12-24 02:59 UTC is still the 23rd in São Paulo.
        assert_eq!(
            rules.blocking_rule(&Workload::default(), utc(2026, 12, 24, 2, 59)),
            None
        );
        let on_leave = utc(2026, 12, 24, 3, 0);
        assert_eq!(
            rules.blocking_rule(&Workload::default(), on_leave),
            Some(Unavailability::OnLeave)
        );
        assert_eq!(
            rules.next_available(&Workload::default(), on_leave),
            Some(utc(2026, 12, 26, 3, 0))
        );
    }

    #[test]
    fn daily_limit_counts_only_the_local_day_and_resets_at_local_midnight() {
        let rules = RoutingRules {
            daily_limit: Some(Limit::new(2).unwrap()),
            ..sao_paulo()
        };
        let today = parse_date("2026-12-01").unwrap();
        let full = Workload {
            assignments_day: Some(today),
            assignments_on_day: 2,
            open_protocols: 0,
        };
        let now = utc(2026, 12, 1, 15, 0);
        assert_eq!(
            rules.blocking_rule(&full, now),
            Some(Unavailability::DailyLimit)
        );
        assert_eq!(
            rules.next_available(&full, now),
            Some(utc(2026, 12, 2, 3, 0))
        );
        // The next local day, yesterday's count does not apply.
        assert_eq!(rules.blocking_rule(&full, utc(2026, 12, 2, 3, 0)), None);
    }

    #[test]
    fn open_limit_blocks_but_is_not_predicted() {
        let rules = RoutingRules {
            open_limit: Some(Limit::new(3).unwrap()),
            ..sao_paulo()
        };
        let busy = Workload {
            open_protocols: 3,
            ..Workload::default()
        };
        let now = utc(2026, 12, 1, 15, 0);
        assert_eq!(
            rules.blocking_rule(&busy, now),
            Some(Unavailability::OpenLimit)
        );
        assert_eq!(rules.next_available(&busy, now), Some(now));
    }

    #[test]
    fn reasons_follow_the_contract_precedence() {
        let rules = RoutingRules {
            schedule: Some(weekdays_nine_to_six()),
            leave: Some(vec![Leave::new(
                parse_date("2026-12-05").unwrap(),
                parse_date("2026-12-06").unwrap(),
            )
            .unwrap()]),
            daily_limit: Some(Limit::new(1).unwrap()),
            ..sao_paulo()
        };
        let saturday = utc(2026, 12, 5, 15, 0);
        // Outside hours (Saturday) comes before on leave.
        assert_eq!(
            rules.blocking_rule(&Workload::default(), saturday),
            Some(Unavailability::OutsideHours)
        );
        let names: Vec<&str> = [
            Unavailability::Inactive,
            Unavailability::OutOfRotation,
            Unavailability::Offline,
            Unavailability::OutsideHours,
            Unavailability::OnLeave,
            Unavailability::DailyLimit,
            Unavailability::OpenLimit,
        ]
        .iter()
        .map(|r| r.as_str())
        .collect();
        assert_eq!(
            names,
            [
                "inativo",
                "fora_da_rotacao",
                "offline",
                "fora_do_horario",
                "ausente",
                "limite_diario",
                "limite_abertos"
            ]
        );
    }

    #[test]
    fn schedule_without_periods_is_never_available() {
        let rules = RoutingRules {
            schedule: Some(WeeklySchedule::new(Vec::new())),
            ..sao_paulo()
        };
        assert_eq!(
            rules.next_available(&Workload::default(), utc(2026, 12, 1, 0, 0)),
            None
        );
    }

    #[test]
    fn queue_key_moves_by_the_wait_divided_by_the_weight() {
        let one = Weight::ONE;
        let three = Weight::new(3).unwrap();
        assert_eq!(next_queue_key(None, 1_000, three), 1_000);
        assert_eq!(next_queue_key(Some(100), 1_000, one), 1_000);
        assert_eq!(next_queue_key(Some(100), 1_000, three), 400);
        assert_eq!(next_queue_key(Some(100), 1_001, three), 400);
    }
}

#[cfg(test)]
mod unavailability_tests {
    use super::Unavailability;

    #[test]
    fn reasons_round_trip_through_their_wire_names() {
        assert_eq!(Unavailability::names().len(), 7);
        for reason in Unavailability::all() {
            assert_eq!(reason.as_str().parse::<Unavailability>(), Ok(reason));
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(
                serde_json::from_str::<Unavailability>(&json).unwrap(),
                reason
            );
        }
        assert_eq!(Unavailability::OutOfRotation.as_str(), "fora_da_rotacao");
        assert!("Inactive".parse::<Unavailability>().is_err());
    }
}

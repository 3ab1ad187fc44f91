//! The values of the routing rules: each parses from its wire form and cannot hold an invalid
//! value once built.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::values::InvalidValue;

/// Declares a whole number the rules bound to `MIN..=MAX`, stored in `$repr` and exchanged as
/// `i64`: the derives, `MIN`, `MAX`, `new` (refusing with [`InvalidValue::OutOfRange`]), `get`
/// and serde through those.
macro_rules! bounded_integer {
    (
        $(#[$attribute:meta])*
        pub struct $name:ident($repr:ty) in $min:literal..=$max:literal;
    ) => {
        $(#[$attribute])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($repr);

        impl $name {
            pub const MIN: i64 = $min;
            pub const MAX: i64 = $max;

            pub fn new(value: i64) -> Result<Self, InvalidValue> {
                in_range(value, Self::MIN, Self::MAX).map(|v| Self(v as $repr))
            }

            pub fn get(self) -> i64 {
                i64::from(self.0)
            }
        }

        wire_conversions!($name <=> i64, |raw| Self::new(raw), |value| value.get());
    };
}

bounded_integer! {
    /// A consultant's share of contacts (`peso`, 1..=100); 1 is v6's plain rotation.
    pub struct Weight(u8) in 1..=100;
}

impl Weight {
    /// The weight of a consultant with no rule: exactly v6's order.
    pub const ONE: Weight = Weight(1);
}

impl Default for Weight {
    fn default() -> Self {
        Self::ONE
    }
}

bounded_integer! {
    /// A cap on a count (`limite_diario`, `limite_abertos`): 1..=10000.
    pub struct Limit(u16) in 1..=10_000;
}

impl Limit {
    /// Whether `count` has reached the cap.
    pub fn reached_by(self, count: i64) -> bool {
        count >= self.get()
    }
}

fn in_range(value: i64, min: i64, max: i64) -> Result<i64, InvalidValue> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(InvalidValue::OutOfRange { min, max })
    }
}

/// An IANA time zone (`America/Sao_Paulo`), parsed with the tz database built into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Zone(Tz);

impl Zone {
    /// The zone of v6's users, the default of `DEFAULT_TIME_ZONE`.
    pub const SAO_PAULO: Zone = Zone(Tz::America__Sao_Paulo);

    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Tz::from_str(name.trim())
            .map(Self)
            .map_err(|_| InvalidValue::UnknownTimeZone)
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl Default for Zone {
    fn default() -> Self {
        Self::SAO_PAULO
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

wire_conversions!(Zone <=> String, |raw| Self::parse(&raw), |zone| zone.name().to_owned());

/// Minutes since local midnight, 0..=1440 (`"24:00"` is 1440, the end of the day).
pub type MinuteOfDay = u16;

/// Parses `"HH:MM"` (two digits each, `00:00` to `24:00`) into minutes since midnight.
pub fn parse_time_of_day(text: &str) -> Result<MinuteOfDay, InvalidValue> {
    let bytes = text.as_bytes();
    let digits_at = |range: std::ops::Range<usize>| {
        bytes[range.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| text[range].parse::<u16>().ok())
            .flatten()
    };
    if bytes.len() != 5 || bytes[2] != b':' {
        return Err(InvalidValue::NotATimeOfDay);
    }
    match (digits_at(0..2), digits_at(3..5)) {
        (Some(hour), Some(minute)) if minute < 60 && (hour < 24 || (hour == 24 && minute == 0)) => {
            Ok(hour * 60 + minute)
        }
        _ => Err(InvalidValue::NotATimeOfDay),
    }
}

/// `"HH:MM"` of minutes since midnight (1440 is `"24:00"`).
pub fn format_time_of_day(minutes: MinuteOfDay) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Parses an ISO weekday (1 = Monday … 7 = Sunday).
pub fn parse_weekday(day: i64) -> Result<u8, InvalidValue> {
    in_range(day, 1, 7).map(|d| d as u8)
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, InvalidValue> {
    if text.len() != 10 {
        return Err(InvalidValue::NotADate);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| InvalidValue::NotADate)
}

/// One working period on one weekday, `[start, end)` in local minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkingHours {
    /// ISO weekday, 1 = Monday.
    pub day: u8,
    pub start: MinuteOfDay,
    pub end: MinuteOfDay,
}

impl WorkingHours {
    /// `start < end`, else [`InvalidValue::EndNotAfterStart`] (reported on `fim`).
    pub fn new(day: u8, start: MinuteOfDay, end: MinuteOfDay) -> Result<Self, InvalidValue> {
        if !(1..=7).contains(&day) || end > 1440 {
            return Err(InvalidValue::NotATimeOfDay);
        }
        if start >= end {
            return Err(InvalidValue::EndNotAfterStart);
        }
        Ok(Self { day, start, end })
    }
}

/// A week of working hours: periods sorted by day and start, overlapping or touching periods of
/// the same day merged (`08:00–12:00` + `12:00–18:00` is `08:00–18:00`). A night shift is two
/// periods (`22:00–24:00` then `00:00–06:00` of the next day) and stays two.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<WorkingHours>", into = "Vec<WorkingHours>")]
pub struct WeeklySchedule(Vec<WorkingHours>);

impl WeeklySchedule {
    pub fn new(mut periods: Vec<WorkingHours>) -> Self {
        periods.sort();
        let mut merged: Vec<WorkingHours> = Vec::with_capacity(periods.len());
        for period in periods {
            match merged.last_mut() {
                Some(last) if last.day == period.day && period.start <= last.end => {
                    last.end = last.end.max(period.end);
                }
                _ => merged.push(period),
            }
        }
        Self(merged)
    }

    pub fn periods(&self) -> &[WorkingHours] {
        &self.0
    }

    /// The periods of one ISO weekday, in order.
    pub fn on(&self, day: u8) -> impl Iterator<Item = &WorkingHours> {
        self.0.iter().filter(move |period| period.day == day)
    }

    /// Whether local `minute` (fractional minutes as seconds: `second_of_day`) of `day` is
    /// inside a period.
    pub fn covers(&self, day: u8, second_of_day: u32) -> bool {
        self.on(day).any(|period| {
            u32::from(period.start) * 60 <= second_of_day
                && second_of_day < u32::from(period.end) * 60
        })
    }
}

impl From<Vec<WorkingHours>> for WeeklySchedule {
    fn from(periods: Vec<WorkingHours>) -> Self {
        Self::new(periods)
    }
}

impl From<WeeklySchedule> for Vec<WorkingHours> {
    fn from(schedule: WeeklySchedule) -> Self {
        schedule.0
    }
}

/// Days off, inclusive local dates (`de <= ate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Leave {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Leave {
    /// `from <= to`, else [`InvalidValue::EndBeforeStart`] (reported on `ate`).
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, InvalidValue> {
        if from > to {
            return Err(InvalidValue::EndBeforeStart);
        }
        Ok(Self { from, to })
    }

    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_and_limits_accept_their_bounds_and_reject_outside() {
        assert_eq!(Weight::new(1).unwrap().get(), 1);
        assert_eq!(Weight::new(100).unwrap().get(), 100);
        assert_eq!(
            Weight::new(0),
            Err(InvalidValue::OutOfRange { min: 1, max: 100 })
        );
        assert!(Weight::new(101).is_err());
        assert!(Limit::new(0).is_err());
        assert!(Limit::new(10_001).is_err());
        assert_eq!(Limit::new(10_000).unwrap().get(), 10_000);
        assert!(Limit::new(5).unwrap().reached_by(5));
        assert!(!Limit::new(5).unwrap().reached_by(4));
    }

    #[test]
    fn zone_parses_iana_names_only() {
        assert_eq!(Zone::parse("America/Sao_Paulo").unwrap(), Zone::SAO_PAULO);
        assert_eq!(
            Zone::parse("Europe/Lisbon").unwrap().name(),
            "Europe/Lisbon"
        );
        assert_eq!(
            Zone::parse("Mars/Olympus"),
            Err(InvalidValue::UnknownTimeZone)
        );
        assert_eq!(Zone::parse(""), Err(InvalidValue::UnknownTimeZone));
    }

    #[test]
    fn time_of_day_accepts_00_00_to_24_00() {
        assert_eq!(parse_time_of_day("00:00"), Ok(0));
        assert_eq!(parse_time_of_day("08:30"), Ok(510));
        assert_eq!(parse_time_of_day("23:59"), Ok(1439));
        assert_eq!(parse_time_of_day("24:00"), Ok(1440));
        for bad in [
            "25:00", "24:01", "8:30", "08:60", "0830", "08:3a", "+8:30", "", "08:30 ",
        ] {
            assert_eq!(
                parse_time_of_day(bad),
                Err(InvalidValue::NotATimeOfDay),
                "{bad}"
            );
        }
        assert_eq!(format_time_of_day(1440), "24:00");
        assert_eq!(format_time_of_day(510), "08:30");
    }

    #[test]
    fn weekday_is_iso_1_to_7() {
        assert_eq!(parse_weekday(1), Ok(1));
        assert_eq!(parse_weekday(7), Ok(7));
        assert!(parse_weekday(0).is_err());
        assert!(parse_weekday(8).is_err());
    }

    #[test]
    fn working_hours_need_start_before_end() {
        assert!(WorkingHours::new(1, 480, 1440).is_ok());
        assert_eq!(
            WorkingHours::new(1, 600, 600),
            Err(InvalidValue::EndNotAfterStart)
        );
        assert_eq!(
            WorkingHours::new(1, 700, 600),
            Err(InvalidValue::EndNotAfterStart)
        );
    }

    #[test]
    fn schedule_merges_overlapping_and_touching_periods_of_a_day_only() {
        let hours = |day, start, end| WorkingHours::new(day, start, end).unwrap();
        let schedule = WeeklySchedule::new(vec![
            hours(2, 0, 360),
            hours(1, 720, 1080),
            hours(1, 480, 720),
            hours(1, 1320, 1440),
            hours(1, 900, 1000),
        ]);
        assert_eq!(
            schedule.periods(),
            [hours(1, 480, 1080), hours(1, 1320, 1440), hours(2, 0, 360)]
        );
        assert!(schedule.covers(1, 480 * 60));
        assert!(!schedule.covers(1, 1080 * 60));
        assert!(schedule.covers(1, 1440 * 60 - 1));
        assert!(schedule.covers(2, 0));
        assert!(!schedule.covers(3, 600 * 60));
    }

    #[test]
    fn leave_is_inclusive_and_ordered() {
        let d = |text| parse_date(text).unwrap();
        let leave = Leave::new(d("2026-12-24"), d("2026-12-26")).unwrap();
        assert!(leave.covers(d("2026-12-24")));
        assert!(leave.covers(d("2026-12-26")));
        assert!(!leave.covers(d("2026-12-27")));
        assert_eq!(
            Leave::new(d("2026-12-26"), d("2026-12-24")),
            Err(InvalidValue::EndBeforeStart)
        );
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-2-3").is_err());
    }
}

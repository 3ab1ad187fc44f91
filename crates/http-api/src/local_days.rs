//! Local calendar days of an IANA time zone as UTC ranges, for the reports: the store compares
//! instants only (SQLite has no time-zone functions), so the days are cut here.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use consultores_domain::LocalDay;

/// The first instant of `date` in `zone`. Midnight itself may not exist (a DST change at 00:00,
/// as Brazil had): the day then starts at the first local minute that does.
pub fn day_start(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..=24 * 60)
        .find_map(|minutes| {
            zone.from_local_datetime(&(midnight + Duration::minutes(minutes)))
                .earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&midnight),
            |start| start.with_timezone(&Utc),
        )
}

/// Every local day from `from` to `to` inclusive, each ending where the next begins.
pub fn local_days(zone: Tz, from: NaiveDate, to: NaiveDate) -> Vec<LocalDay> {
    from.iter_days()
        .take_while(|date| *date <= to)
        .map(|date| LocalDay {
            date,
            start: day_start(zone, date),
            end: date
                .succ_opt()
                .map_or(DateTime::<Utc>::MAX_UTC, |next| day_start(zone, next)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn sao_paulo_days_start_at_three_utc() {
        let days = local_days(
            chrono_tz::America::Sao_Paulo,
            date(2026, 11, 1),
            date(2026, 11, 2),
        );
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].start, utc("2026-11-01T03:00:00Z"));
        assert_eq!(days[0].end, utc("2026-11-02T03:00:00Z"));
        assert_eq!(days[1].start, days[0].end);
    }

    #[test]
    fn a_day_without_midnight_starts_at_one_and_is_23_hours_long() {
        // Brazil's DST began at 00:00 on 2018-11-04: clocks jumped to 01:00.
        let days = local_days(
            chrono_tz::America::Sao_Paulo,
            date(2018, 11, 4),
            date(2018, 11, 4),
        );
        assert_eq!(days[0].start, utc("2018-11-04T03:00:00Z"));
        assert_eq!(days[0].end, utc("2018-11-05T02:00:00Z"));
    }

    #[test]
    fn dst_days_in_europe_have_23_and_25_hours() {
        let berlin = chrono_tz::Europe::Berlin;
        let spring = local_days(berlin, date(2026, 3, 29), date(2026, 3, 29));
        assert_eq!(spring[0].end - spring[0].start, Duration::hours(23));
        let autumn = local_days(berlin, date(2026, 10, 25), date(2026, 10, 25));
        assert_eq!(autumn[0].end - autumn[0].start, Duration::hours(25));
    }
}

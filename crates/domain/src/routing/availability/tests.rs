use chrono::TimeZone;

use super::*;
use crate::routing::values::{parse_date, WorkingHours};

fn sao_paulo() -> RoutingRules {
    RoutingRules::default()
}

/// São Paulo rules that work only `hours`.
fn working(hours: Vec<WorkingHours>) -> RoutingRules {
    RoutingRules {
        schedule: Some(WeeklySchedule::new(hours)),
        ..sao_paulo()
    }
}

/// The rule that blocks `rules` at `at` for a consultant with nothing assigned.
fn blocked(rules: &RoutingRules, at: DateTime<Utc>) -> Option<Unavailability> {
    rules.blocking_rule(&Workload::default(), at)
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
    assert_eq!(blocked(&rules, before), Some(Unavailability::OutsideHours));
    assert_eq!(blocked(&rules, utc(2026, 12, 1, 12, 0)), None);
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
    assert_eq!(blocked(&lisbon, before), None);
}

#[test]
fn a_period_ending_at_24_00_covers_until_local_midnight() {
    let rules = working(vec![
        WorkingHours::new(2, 1320, 1440).unwrap(),
        WorkingHours::new(3, 0, 360).unwrap(),
    ]);
    // Tuesday 23:59:59 local = Wednesday 02:59:59 UTC: inside; Wednesday 00:00 local: inside
    // (the night shift's second entry); Wednesday 06:00 local: outside.
    let late = utc(2026, 12, 2, 2, 59) + Duration::seconds(59);
    assert_eq!(blocked(&rules, late), None);
    assert_eq!(blocked(&rules, utc(2026, 12, 2, 3, 0)), None);
    assert_eq!(
        blocked(&rules, utc(2026, 12, 2, 9, 0)),
        Some(Unavailability::OutsideHours)
    );
}

#[test]
fn dst_start_in_sao_paulo_history_skips_the_missing_local_midnight() {
    // 2018-11-04: São Paulo clocks jumped from 00:00 to 01:00 (UTC-3 to UTC-2).
    let rules = working(vec![WorkingHours::new(7, 0, 120).unwrap()]);
    let saturday_evening = utc(2018, 11, 3, 23, 0); // 20:00 local, UTC-3
    assert_eq!(
        rules.next_available(&Workload::default(), saturday_evening),
        // 01:00 local (UTC-2) is 03:00 UTC: the first instant of Sunday.
        Some(utc(2018, 11, 4, 3, 0))
    );
    // 01:30 local on that Sunday (03:30 UTC) is inside 00:00–02:00.
    assert_eq!(blocked(&rules, utc(2018, 11, 4, 3, 30)), None);
    // 02:00 local (04:00 UTC) is outside.
    assert_eq!(
        blocked(&rules, utc(2018, 11, 4, 4, 0)),
        Some(Unavailability::OutsideHours)
    );
}

#[test]
fn dst_end_in_sao_paulo_history_counts_the_repeated_hour_in_the_schedule() {
    // 2019-02-17 00:00 (UTC-2) became 2019-02-16 23:00 (UTC-3): 23:xx happened twice.
    let rules = working(vec![WorkingHours::new(6, 1380, 1440).unwrap()]);
    // First 23:30 (UTC-2) = 01:30 UTC, second 23:30 (UTC-3) = 02:30 UTC: both inside.
    assert_eq!(blocked(&rules, utc(2019, 2, 17, 1, 30)), None);
    assert_eq!(blocked(&rules, utc(2019, 2, 17, 2, 30)), None);
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
    assert_eq!(blocked(&rules, utc(2026, 12, 24, 2, 59)), None);
    let on_leave = utc(2026, 12, 24, 3, 0);
    assert_eq!(blocked(&rules, on_leave), Some(Unavailability::OnLeave));
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
        blocked(&rules, saturday),
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
    let rules = working(Vec::new());
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

#[test]
fn the_clock_changes_availability_at_the_next_start_today_or_local_midnight() {
    let rules = working(vec![
        WorkingHours::new(2, 9 * 60, 12 * 60).unwrap(),
        WorkingHours::new(2, 14 * 60, 18 * 60).unwrap(),
    ]);
    let idle = Workload::default();
    // Tuesday 2026-12-01 in São Paulo (UTC-3): 08:00 local waits for 09:00, 12:30 for 14:00.
    assert_eq!(
        rules.next_clock_change(&idle, utc(2026, 12, 1, 11, 0)),
        Some(utc(2026, 12, 1, 12, 0))
    );
    assert_eq!(
        rules.next_clock_change(&idle, utc(2026, 12, 1, 15, 30)),
        Some(utc(2026, 12, 1, 17, 0))
    );
    // After the last period: local midnight (03:00 UTC), even with no hours the next day.
    assert_eq!(
        rules.next_clock_change(&idle, utc(2026, 12, 1, 22, 0)),
        Some(utc(2026, 12, 2, 3, 0))
    );
    // Without hours (leave, a daily limit): local midnight.
    assert_eq!(
        sao_paulo().next_clock_change(&idle, utc(2026, 12, 1, 15, 30)),
        Some(utc(2026, 12, 2, 3, 0))
    );
}

#[test]
fn at_the_open_limit_only_a_write_changes_availability() {
    let rules = RoutingRules {
        open_limit: Some(Limit::new(2).unwrap()),
        ..sao_paulo()
    };
    let busy = Workload {
        open_protocols: 2,
        ..Workload::default()
    };
    assert_eq!(
        rules.next_clock_change(&busy, utc(2026, 12, 1, 15, 0)),
        None
    );
    let free = Workload {
        open_protocols: 1,
        ..Workload::default()
    };
    assert_eq!(
        rules.next_clock_change(&free, utc(2026, 12, 1, 15, 0)),
        Some(utc(2026, 12, 2, 3, 0))
    );
}

#[test]
fn a_clock_change_wakes_at_the_earlier_reading_or_the_end_of_the_gap() {
    let lisbon = Zone::parse("Europe/Lisbon").unwrap();
    // Sunday 2026-10-25, 01:00 local happens twice (02:00 WEST -> 01:00 WET): a period starting
    // then wakes at its first reading, 00:00 UTC.
    let repeated = RoutingRules {
        time_zone: lisbon,
        schedule: Some(WeeklySchedule::new(vec![
            WorkingHours::new(7, 60, 120).unwrap()
        ])),
        ..RoutingRules::default()
    };
    assert_eq!(
        repeated.next_clock_change(&Workload::default(), utc(2026, 10, 24, 23, 30)),
        Some(utc(2026, 10, 25, 0, 0))
    );
    // Sunday 2026-03-29, 01:00 local is skipped (01:00 WET -> 02:00 WEST): the end of the gap.
    let skipped = RoutingRules {
        time_zone: lisbon,
        schedule: Some(WeeklySchedule::new(vec![
            WorkingHours::new(7, 90, 180).unwrap()
        ])),
        ..RoutingRules::default()
    };
    assert_eq!(
        skipped.next_clock_change(&Workload::default(), utc(2026, 3, 29, 0, 30)),
        Some(utc(2026, 3, 29, 1, 0))
    );
}

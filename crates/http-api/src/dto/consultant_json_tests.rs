use chrono::{Duration, TimeZone, Utc};
use consultores_domain::routing::{format_time_of_day, parse_date};
use consultores_domain::{
    Consultant, ConsultantId, ConsultantName, Email, Language, LanguageList, Leave, Limit, Phone,
    PipedriveUserId, RoutingRules, WeeklySchedule, Weight, WorkingHours, Workload, Zone,
};

use super::*;
use crate::dto::consultant::ConsultantResponse;
use crate::dto::time::timestamp;

fn consultant(id: i64) -> Consultant {
    Consultant {
        id: ConsultantId(id),
        name: ConsultantName::parse("José \"Zé\" Ñandú \\ 🚀").unwrap(),
        email: Some(Email::parse("ze@exemplo.com").unwrap()),
        phone: Some(Phone::parse("+5511999999999").unwrap()),
        languages: LanguageList::new(vec![
            Language::parse("pt").unwrap(),
            Language::parse("pt-br").unwrap(),
        ])
        .unwrap(),
        active: true,
        in_rotation: true,
        online: true,
        last_served_at: None,
        pipedrive_user_id: None,
        deleted: false,
        routing: RoutingRules::default(),
        workload: Workload::default(),
        queue_key: None,
    }
}

fn with_rules(mut c: Consultant) -> Consultant {
    c.routing = RoutingRules {
        weight: Weight::new(3).unwrap(),
        daily_limit: Some(Limit::new(2).unwrap()),
        open_limit: Some(Limit::new(10_000).unwrap()),
        time_zone: Zone::parse("Asia/Kolkata").unwrap(),
        schedule: Some(WeeklySchedule::new(vec![
            WorkingHours::new(1, 0, 1440).unwrap(),
            WorkingHours::new(3, 8 * 60 + 5, 17 * 60 + 59).unwrap(),
            WorkingHours::new(7, 0, 90).unwrap(),
        ])),
        leave: Some(vec![
            Leave::new(
                parse_date("2026-12-24").unwrap(),
                parse_date("2027-01-02").unwrap(),
            )
            .unwrap(),
            Leave::new(
                parse_date("0001-03-09").unwrap(),
                parse_date("0001-03-09").unwrap(),
            )
            .unwrap(),
        ]),
    };
    c.workload = Workload {
        assignments_day: Some(parse_date("2026-12-02").unwrap()),
        assignments_on_day: 2,
        open_protocols: 7,
    };
    c
}

fn bytes_of_both(c: &Consultant, now: DateTime<Utc>) -> (String, String) {
    let borrowed = String::from_utf8(ConsultantJson::new(c, now).to_vec()).unwrap();
    let owned = serde_json::to_string(&ConsultantResponse::new(c.clone(), now)).unwrap();
    (borrowed, owned)
}

/// What one of the writers above appends to an empty buffer.
fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn writes_the_same_bytes_as_the_owned_response() {
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let mut cases = vec![consultant(1), with_rules(consultant(2))];
    let mut bare = consultant(3);
    bare.email = None;
    bare.phone = None;
    bare.online = false;
    bare.pipedrive_user_id = Some(PipedriveUserId::new(456).unwrap());
    bare.last_served_at = Some(now - Duration::microseconds(1));
    cases.push(bare);
    let mut empty_rules = with_rules(consultant(4));
    empty_rules.routing.schedule = Some(WeeklySchedule::new(Vec::new()));
    empty_rules.routing.leave = Some(Vec::new());
    empty_rules.deleted = true;
    cases.push(empty_rules);
    for c in &cases {
        let (borrowed, owned) = bytes_of_both(c, now);
        assert_eq!(borrowed, owned);
    }
    // Rules that block (a Monday inside the leave): the reason comes from the same availability.
    let monday_on_leave = Utc.with_ymd_and_hms(2026, 12, 28, 10, 0, 0).unwrap();
    let (borrowed, owned) = bytes_of_both(&cases[1], monday_on_leave);
    assert_eq!(borrowed, owned);
    assert!(
        borrowed.contains(r#""motivo_indisponivel":"ausente""#),
        "{borrowed}"
    );
}

#[test]
fn timestamps_match_the_wire_format_at_the_edges() {
    let instants = [
        Utc.with_ymd_and_hms(2026, 11, 29, 14, 30, 0).unwrap() + Duration::microseconds(123_456),
        Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
            + Duration::nanoseconds(999_999_999),
        Utc.with_ymd_and_hms(2000, 2, 29, 9, 5, 7).unwrap() + Duration::nanoseconds(1_500),
        Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap(),
    ];
    for at in instants {
        let text = written(|out| super::timestamp(out, &at));
        assert_eq!(text, format!("\"{}\"", timestamp(&at)));
    }
}

#[test]
fn times_of_day_and_dates_match_the_domain_formatting() {
    for minutes in 0..=1440 {
        let text = time_of_day(minutes);
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            format_time_of_day(minutes)
        );
    }
    for text in ["0000-01-01", "0999-10-31", "2026-02-28", "9999-12-31"] {
        let date = parse_date(text)
            .unwrap_or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap());
        assert_eq!(written(|out| super::date(out, date)), format!("\"{text}\""));
    }
    let far = NaiveDate::from_ymd_opt(12_345, 1, 2).unwrap();
    assert_eq!(
        written(|out| super::date(out, far)),
        format!("\"{}\"", far.format("%Y-%m-%d"))
    );
}

#[test]
fn strings_are_escaped_as_serde_json_escapes_them() {
    let mut texts: Vec<String> = (0u8..0x80)
        .map(|byte| char::from(byte).to_string())
        .collect();
    texts.extend(
        [
            "",
            "plain",
            "a\"b\\c\u{7f}d/e",
            "\u{1f}\u{0}x\u{8}\u{c}\r\n\t",
            "José Ñandú 🚀 \u{2028}\u{2029}",
        ]
        .map(String::from),
    );
    for text in texts {
        assert_eq!(
            written(|out| string(out, &text)),
            serde_json::to_string(&text).unwrap(),
            "{text:?}"
        );
    }
}

#[test]
fn integers_are_written_as_serde_json_writes_them() {
    for value in [0, 1, 9, 10, 99, 100, -1, -10, 1_234_567, i64::MAX, i64::MIN] {
        assert_eq!(
            written(|out| integer(out, value)),
            serde_json::to_string(&value).unwrap()
        );
    }
}

#[test]
fn arrays_are_the_bytes_of_the_owned_responses() {
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let mut all = [with_rules(consultant(1)), consultant(2), consultant(3)];
    all[2].email = None;
    for count in 0..=all.len() {
        let owned: Vec<ConsultantResponse> = all[..count]
            .iter()
            .map(|c| ConsultantResponse::new(c.clone(), now))
            .collect();
        let expected = serde_json::to_string(&owned).unwrap();
        assert_eq!(
            String::from_utf8(array(&all[..count], now)).unwrap(),
            expected
        );
        // The same array written as pages (the streamed listing).
        let mut pages = Vec::new();
        if count == 0 {
            pages.extend_from_slice(b"[]");
        } else {
            for (index, page) in all[..count].chunks(2).enumerate() {
                write_elements(&mut pages, page, now, index == 0);
            }
            pages.push(b']');
        }
        assert_eq!(String::from_utf8(pages).unwrap(), expected);
    }
}

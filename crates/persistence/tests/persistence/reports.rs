//! The assignments report's counts, on both backends.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use consultores_domain::{
    ConsultantId, ConsultantRepository, LocalDay, NewProtocol, ProtocolRepository, ReportRequest,
    ReportStore,
};
use consultores_persistence::testing::TestDatabase;

use crate::common::{actor, assign_next, consultant, hire, language, on_both_backends};

on_both_backends!(
    counts_rotation_assignments_per_consultant_per_local_day,
    an_empty_period_counts_nothing,
);

/// The first day of the period: ten days ahead, since protocol stamps never go back before the
/// counter's last stamp (the migration's time).
fn first_day() -> NaiveDate {
    (Utc::now() - Duration::days(30)).date_naive()
}

/// `day` days after [`first_day`] at `time` UTC (`"03:00:00"`, `"02:59:59.999999"`).
fn at(day: i64, time: &str) -> DateTime<Utc> {
    let date = first_day() + Duration::days(day);
    DateTime::parse_from_rfc3339(&format!("{date}T{time}Z"))
        .unwrap()
        .with_timezone(&Utc)
}

/// Three local days of a UTC-3 zone from [`first_day`]: each starts at 03:00 UTC.
fn days_utc_minus_3() -> Vec<LocalDay> {
    (0..3)
        .map(|offset| {
            let date = first_day() + Duration::days(offset);
            let start = Utc.from_utc_datetime(&date.and_hms_opt(3, 0, 0).unwrap());
            LocalDay {
                date,
                start,
                end: start + Duration::days(1),
            }
        })
        .collect()
}

/// `(consultant, day) -> count` of the store's answer.
fn counts(
    db: &consultores_persistence::Database,
    request: &ReportRequest,
) -> BTreeMap<(i64, usize), u64> {
    db.assignment_counts(request)
        .unwrap()
        .into_iter()
        .map(|count| ((count.consultant_id.0, count.day), count.count))
        .collect()
}

/// Assignments by the rotation just before, at and after the local midnights of the period
/// (UTC-3): the counts expected per (consultant, day of the period), all languages and `en`.
type Counts = BTreeMap<(i64, usize), u64>;

fn assign_around_local_midnights(db: &consultores_persistence::Database) -> (Counts, Counts) {
    // (instant, language, day of the period or None when outside it)
    let calls = [
        ((0, "02:59:59.999999"), "pt", None),
        ((0, "03:00:00"), "pt", Some(0)),
        ((1, "02:59:59.999999"), "pt", Some(0)),
        ((1, "12:00:00"), "en", Some(1)),
        ((1, "13:00:00"), "pt", Some(1)),
        ((3, "02:59:00"), "pt", Some(2)),
        ((3, "03:00:00"), "pt", None),
    ];
    let mut all = Counts::new();
    let mut english = Counts::new();
    for (instant, code, day) in calls {
        let assigned = assign_next(db, code, at(instant.0, instant.1))
            .unwrap()
            .value;
        if let Some(day) = day {
            *all.entry((assigned.consultant.id.0, day)).or_default() += 1;
            if code == "en" {
                *english.entry((assigned.consultant.id.0, day)).or_default() += 1;
            }
        }
    }
    (all, english)
}

fn counts_rotation_assignments_per_consultant_per_local_day(test: &TestDatabase) {
    let db = test.database();
    // Stamps never go back (nor past the database's clock): let the counter start long ago so
    // the assignments below are stamped at the past instants they name.
    test.execute("UPDATE controle_protocolo SET updated_at = '2000-01-01T00:00:00.000000+00:00'");
    let created = at(-6, "00:00:00");
    let ana = hire(&db, "Ana", &["pt", "en"], created);
    let bruno = hire(&db, "Bruno <b>", &["pt"], created + Duration::seconds(1));
    let (all, english) = assign_around_local_midnights(&db);
    // Protocols opened by hand have no language: not rotation assignments.
    for _ in 0..2 {
        let new = NewProtocol {
            consultant_id: Some(ana.id),
            ..NewProtocol::default()
        };
        ProtocolRepository::create(&db, &new, at(1, "15:00:00"), None, &actor()).unwrap();
    }
    // A removed consultant keeps their counts and name.
    assert!(ConsultantRepository::soft_delete(&db, bruno.id, at(4, "00:00:00"), &actor()).unwrap());

    let mut request = ReportRequest {
        days: days_utc_minus_3(),
        language: None,
    };
    assert_eq!(counts(&db, &request), all);
    assert_eq!(all.values().sum::<u64>(), 5);
    let names: Vec<(ConsultantId, String)> = db
        .assignment_counts(&request)
        .unwrap()
        .into_iter()
        .map(|count| (count.consultant_id, count.name))
        .collect();
    assert!(
        names.contains(&(bruno.id, "Bruno <b>".to_owned())),
        "{names:?}"
    );

    request.language = Some(language("en"));
    assert_eq!(counts(&db, &request), english);
    assert_eq!(english.values().sum::<u64>(), 1);

    request.language = Some(language("es"));
    assert!(counts(&db, &request).is_empty());
}

fn an_empty_period_counts_nothing(test: &TestDatabase) {
    let db = test.database();
    ConsultantRepository::create(
        &db,
        &consultant("Ana", &["pt"]),
        at(-6, "00:00:00"),
        &actor(),
    )
    .unwrap();
    assign_next(&db, "pt", at(-5, "00:00:00")).unwrap();
    let request = ReportRequest {
        days: days_utc_minus_3(),
        language: None,
    };
    assert!(counts(&db, &request).is_empty());
    assert!(counts(
        &db,
        &ReportRequest {
            days: Vec::new(),
            language: None
        }
    )
    .is_empty());
}

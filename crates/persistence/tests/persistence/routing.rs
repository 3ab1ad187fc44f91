//! Routing rules on both backends: stored and audited like any field, applied inside the atomic
//! assignment (hours, leave, daily and open limits, weights, alternative languages), and limits
//! that hold under concurrency.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use consultores_domain::routing::parse_date;
use consultores_domain::{
    AssignmentPort, AuditFilter, AuditLog, AuditPageRequest, AuditValue, Consultant, ConsultantId,
    ConsultantPatch, ConsultantRepository, CrmTarget, DomainError, Leave, Limit, NewConsultant,
    ProtocolId, ProtocolPatch, ProtocolRepository, ProtocolStatus, RuleSettings, WeeklySchedule,
    Weight, WorkingHours, Zone,
};
use consultores_persistence::testing::TestDatabase;

use crate::common::{
    actor, assign_next, chosen, consultant, language, on_both_backends,
    on_both_backends_with_big_pools,
};
use crate::concurrency::burst;

on_both_backends!(
    rules_are_stored_read_back_audited_and_cleared_by_null,
    a_consultant_outside_their_hours_is_skipped,
    a_consultant_on_leave_today_is_skipped,
    the_daily_limit_counts_local_days,
    the_open_limit_follows_protocol_status_and_reassignment,
    weights_one_two_three_share_contacts_one_to_two_to_three,
    alternatives_are_tried_in_order_and_the_protocol_records_the_language_served,
    a_non_positive_stored_pipedrive_id_queues_no_owner_change,
);

mod concurrent {
    use super::*;
    on_both_backends_with_big_pools!(
        sixty_four_concurrent_calls_never_exceed_a_daily_limit_of_five
    );
}

/// Tuesday 2027-03-02, 12:00 in São Paulo (UTC-3): later than any stamp of a fresh database, so
/// stamps are exactly the instants passed.
fn tuesday_noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 2, 15, 0, 0).unwrap()
}

fn create(test: &TestDatabase, new: &NewConsultant) -> Consultant {
    ConsultantRepository::create(&test.database(), new, tuesday_noon(), &actor()).unwrap()
}

fn with_rules(name: &str, codes: &[&str], rules: RuleSettings) -> NewConsultant {
    let mut new = consultant(name, codes);
    new.rules = rules;
    new
}

fn all_day_on(days: &[u8]) -> WeeklySchedule {
    WeeklySchedule::new(
        days.iter()
            .map(|&day| WorkingHours::new(day, 0, 1440).unwrap())
            .collect(),
    )
}

/// Every rule set: weight 3, both limits, a zone, two touching periods, a leave.
fn every_rule() -> RuleSettings {
    RuleSettings {
        weight: Weight::new(3).unwrap(),
        daily_limit: Some(Limit::new(40).unwrap()),
        open_limit: Some(Limit::new(7).unwrap()),
        time_zone: Some(Zone::parse("Europe/Lisbon").unwrap()),
        schedule: Some(WeeklySchedule::new(vec![
            WorkingHours::new(1, 480, 720).unwrap(),
            WorkingHours::new(1, 720, 1080).unwrap(),
        ])),
        leave: Some(vec![Leave::new(
            parse_date("2027-12-24").unwrap(),
            parse_date("2027-12-26").unwrap(),
        )
        .unwrap()]),
    }
}

fn rules_are_stored_read_back_audited_and_cleared_by_null(test: &TestDatabase) {
    let db = test.database();
    let rules = every_rule();
    let created = create(test, &with_rules("Regina Regras", &["pt"], rules.clone()));
    let read = ConsultantRepository::get(&db, created.id).unwrap().unwrap();
    assert_eq!(read.routing.weight.get(), 3);
    assert_eq!(read.routing.daily_limit, rules.daily_limit);
    assert_eq!(read.routing.open_limit, rules.open_limit);
    assert_eq!(read.routing.time_zone.name(), "Europe/Lisbon");
    // The two touching periods were merged.
    assert_eq!(
        read.routing.schedule.as_ref().unwrap().periods(),
        [WorkingHours::new(1, 480, 1080).unwrap()]
    );
    assert_eq!(read.routing.leave, rules.leave);

    let cleared = ConsultantPatch {
        weight: Some(Weight::ONE),
        daily_limit: Some(None),
        open_limit: Some(None),
        time_zone: Some(None),
        schedule: Some(None),
        leave: Some(None),
        ..ConsultantPatch::default()
    };
    let later = tuesday_noon() + Duration::seconds(1);
    let after = ConsultantRepository::update(&db, created.id, &cleared, later, &actor())
        .unwrap()
        .unwrap();
    assert_eq!(after.routing.weight, Weight::ONE);
    assert_eq!(after.routing.daily_limit, None);
    assert_eq!(after.routing.open_limit, None);
    // Back to the store's default zone.
    assert_eq!(after.routing.time_zone, Zone::SAO_PAULO);
    assert_eq!(after.routing.schedule, None);
    assert_eq!(after.routing.leave, None);

    the_clearing_is_audited_field_by_field(&db);
}

/// The latest audit entry names every rule the clearing changed, with before and after.
fn the_clearing_is_audited_field_by_field(db: &consultores_persistence::Database) {
    let page = AuditLog::list(
        db,
        &AuditFilter {
            page: AuditPageRequest {
                limit: 1,
                ..AuditPageRequest::default()
            },
            ..AuditFilter::default()
        },
    )
    .unwrap();
    let entry = &page.entries[0];
    let mut fields: Vec<&str> = entry.changes.fields().collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "ausencias",
            "fuso_horario",
            "horarios",
            "limite_abertos",
            "limite_diario",
            "peso"
        ]
    );
    let weight = entry.changes.get("peso").unwrap();
    assert_eq!(
        (&weight.before, &weight.after),
        (&AuditValue::Int(3), &AuditValue::Int(1))
    );
    let zone = entry.changes.get("fuso_horario").unwrap();
    assert_eq!(zone.after, AuditValue::Null);
}

fn a_consultant_outside_their_hours_is_skipped(test: &TestDatabase) {
    // Waited longest, but works only on Mondays and Wednesdays; today is Tuesday.
    let absent = create(
        test,
        &with_rules(
            "Fora do Horario",
            &["pt"],
            RuleSettings {
                schedule: Some(all_day_on(&[1, 3])),
                ..RuleSettings::default()
            },
        ),
    );
    test.set_last_served(absent.id, None);
    let present = create(
        test,
        &with_rules(
            "Dentro do Horario",
            &["pt"],
            RuleSettings {
                schedule: Some(WeeklySchedule::new(vec![
                    WorkingHours::new(2, 720, 780).unwrap()
                ])),
                ..RuleSettings::default()
            },
        ),
    );
    assert_eq!(chosen(test, "pt", tuesday_noon()), Some(present.id));
    // 13:00 local: the period 12:00–13:00 has ended, and nobody else works now.
    assert_eq!(
        chosen(test, "pt", tuesday_noon() + Duration::hours(1)),
        None
    );
    // Wednesday 00:00 local: the first one's day starts.
    let wednesday = Utc.with_ymd_and_hms(2027, 3, 3, 3, 0, 0).unwrap();
    assert_eq!(chosen(test, "pt", wednesday), Some(absent.id));
}

fn a_consultant_on_leave_today_is_skipped(test: &TestDatabase) {
    let on_leave = create(
        test,
        &with_rules(
            "De Ferias",
            &["pt"],
            RuleSettings {
                leave: Some(vec![Leave::new(
                    parse_date("2027-03-01").unwrap(),
                    parse_date("2027-03-02").unwrap(),
                )
                .unwrap()]),
                ..RuleSettings::default()
            },
        ),
    );
    test.set_last_served(on_leave.id, None);
    let working = create(test, &consultant("Trabalhando", &["pt"]));
    assert_eq!(chosen(test, "pt", tuesday_noon()), Some(working.id));
    assert_eq!(chosen(test, "pt", tuesday_noon()), Some(working.id));
    // 2027-03-03 00:00 in São Paulo: the leave is over.
    let back = Utc.with_ymd_and_hms(2027, 3, 3, 3, 0, 0).unwrap();
    assert_eq!(chosen(test, "pt", back), Some(on_leave.id));
}

fn the_daily_limit_counts_local_days(test: &TestDatabase) {
    let limited = create(
        test,
        &with_rules(
            "Limite Dois",
            &["pt"],
            RuleSettings {
                daily_limit: Some(Limit::new(2).unwrap()),
                ..RuleSettings::default()
            },
        ),
    );
    let at = |minutes| tuesday_noon() + Duration::minutes(minutes);
    assert_eq!(chosen(test, "pt", at(0)), Some(limited.id));
    assert_eq!(chosen(test, "pt", at(1)), Some(limited.id));
    assert_eq!(chosen(test, "pt", at(2)), None);
    let stored = ConsultantRepository::get(&test.database(), limited.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        stored
            .workload
            .assignments_on(stored.routing.local_date(at(2))),
        2
    );
    // 23:59 local is still Tuesday; 00:00 local (03:00 UTC) is a new day.
    let late = Utc.with_ymd_and_hms(2027, 3, 3, 2, 59, 0).unwrap();
    assert_eq!(chosen(test, "pt", late), None);
    let midnight = Utc.with_ymd_and_hms(2027, 3, 3, 3, 0, 0).unwrap();
    assert_eq!(chosen(test, "pt", midnight), Some(limited.id));
}

fn the_open_limit_follows_protocol_status_and_reassignment(test: &TestDatabase) {
    let db = test.database();
    let limited = create(
        test,
        &with_rules(
            "Limite Abertos",
            &["pt"],
            RuleSettings {
                open_limit: Some(Limit::new(1).unwrap()),
                ..RuleSettings::default()
            },
        ),
    );
    let other = create(test, &consultant("Outro", &["en"]));
    let first = assign_next(&db, "pt", tuesday_noon())
        .unwrap()
        .value
        .protocol;
    let open = |id| {
        ConsultantRepository::get(&db, id)
            .unwrap()
            .unwrap()
            .workload
            .open_protocols
    };
    assert_eq!(open(limited.id), 1);
    assert_eq!(chosen(test, "pt", tuesday_noon()), None);
    let patch = |status: ProtocolStatus, to: Option<ConsultantId>| ProtocolPatch {
        status: Some(status),
        consultant_id: to,
        ..ProtocolPatch::default()
    };
    let update = |id: ProtocolId, patch: ProtocolPatch| {
        ProtocolRepository::update(&db, id, &patch, tuesday_noon(), &actor())
            .unwrap()
            .unwrap();
    };
    // In progress still counts; moving it to someone else frees the first and loads the second.
    update(first.id, patch(ProtocolStatus::InProgress, None));
    assert_eq!(open(limited.id), 1);
    update(first.id, patch(ProtocolStatus::InProgress, Some(other.id)));
    assert_eq!((open(limited.id), open(other.id)), (0, 1));
    assert_eq!(chosen(test, "pt", tuesday_noon()), Some(limited.id));
    // Closing a protocol frees its consultant.
    update(first.id, patch(ProtocolStatus::Closed, None));
    assert_eq!(open(other.id), 0);
}

fn weights_one_two_three_share_contacts_one_to_two_to_three(test: &TestDatabase) {
    // Never served (as the domain's own test): the shares hold from the first turn. From keys
    // far in the past the heavier weights first catch up (each turn takes 1/peso of the wait).
    let ids: Vec<ConsultantId> = (1..=3)
        .map(|weight| {
            create(
                test,
                &with_rules(
                    &format!("Peso {weight}"),
                    &["pt"],
                    RuleSettings {
                        weight: Weight::new(weight).unwrap(),
                        ..RuleSettings::default()
                    },
                ),
            )
            .id
        })
        .collect();
    for id in &ids {
        test.set_last_served(*id, None);
    }
    // The shares follow the stamps, which never go past the database's clock (nor back): turns
    // a second apart in the past, after a counter that starts long ago.
    test.execute("UPDATE controle_protocolo SET updated_at = '2000-01-01T00:00:00.000000+00:00'");
    let start = Utc::now() - Duration::days(30);
    let mut counts: BTreeMap<ConsultantId, usize> = BTreeMap::new();
    for turn in 0..60 * 6 {
        let at = start + Duration::seconds(turn);
        let chosen = chosen(test, "pt", at).unwrap();
        *counts.entry(chosen).or_default() += 1;
    }
    for (id, expected) in ids.iter().zip([60.0, 120.0, 180.0]) {
        let got = counts[id] as f64;
        assert!((got - expected).abs() <= expected * 0.02, "{counts:?}");
    }
}

fn alternatives_are_tried_in_order_and_the_protocol_records_the_language_served(
    test: &TestDatabase,
) {
    let spanish = create(test, &consultant("Hablante", &["es"]));
    let wanted = [language("fr"), language("es"), language("pt")];
    let assigned = test
        .database()
        .assign_first(&wanted, tuesday_noon(), None, &actor(), None)
        .unwrap()
        .value;
    assert_eq!(assigned.consultant.id, spanish.id);
    assert_eq!(assigned.protocol.language, Some(language("es")));
    match test.database().assign_first(
        &[language("fr"), language("de")],
        tuesday_noon(),
        None,
        &actor(),
        None,
    ) {
        Err(DomainError::NoneAvailable(first)) => assert_eq!(first, language("fr")),
        other => panic!("expected nobody, got {other:?}"),
    }
}

fn a_non_positive_stored_pipedrive_id_queues_no_owner_change(test: &TestDatabase) {
    let adopted = create(test, &consultant("Adotado", &["pt"]));
    test.execute(&format!(
        "UPDATE consultores SET id_pipedrive = 0 WHERE id = {}",
        adopted.id.0
    ));
    let assigned = test
        .database()
        .assign_next(
            &language("pt"),
            tuesday_noon(),
            None,
            &actor(),
            Some(CrmTarget::Deal(42)),
        )
        .unwrap()
        .value;
    assert_eq!(assigned.consultant.id, adopted.id);
    assert_eq!(assigned.crm_actions, Some(Vec::new()));
    assert_eq!(
        test.query_i64("SELECT CAST(count(*) AS BIGINT) AS value FROM crm_outbox"),
        0
    );
}

fn sixty_four_concurrent_calls_never_exceed_a_daily_limit_of_five(test: &TestDatabase) {
    let limited = create(
        test,
        &with_rules(
            "Limite Cinco",
            &["pt"],
            RuleSettings {
                daily_limit: Some(Limit::new(5).unwrap()),
                ..RuleSettings::default()
            },
        ),
    );
    let db = test.database();
    let (results, _) = burst(64, |i| {
        assign_next(&db, "pt", tuesday_noon() + Duration::milliseconds(i as i64))
    });
    let served = results.iter().filter(|r| r.is_ok()).count();
    let nobody = results
        .iter()
        .filter(|r| matches!(r, Err(DomainError::NoneAvailable(_))))
        .count();
    assert_eq!((served, nobody), (5, 59), "{results:?}");
    assert!(results
        .iter()
        .flatten()
        .all(|r| r.value.consultant.id == limited.id));
    assert_eq!(
        test.query_i64("SELECT CAST(count(*) AS BIGINT) AS value FROM protocolos"),
        5
    );
    assert_eq!(
        test.query_i64("SELECT ultimo_numero AS value FROM controle_protocolo WHERE id = 1"),
        5
    );
}

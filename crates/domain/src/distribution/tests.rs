use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::consultant::tests::{languages, sample_consultant};
use crate::consultant::ConsultantId;
use crate::routing::next_queue_key;

fn pt() -> Language {
    Language::parse("pt").unwrap()
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn at_minute(minute: i64) -> Option<DateTime<Utc>> {
    Some(base_time() + Duration::minutes(minute))
}

/// The instant the policy is evaluated at (rules unset: it only matters for rules).
fn now() -> DateTime<Utc> {
    base_time() + Duration::days(1)
}

/// An eligible consultant (for `pt`) last served at `last_served_at`.
fn served(id: i64, last_served_at: Option<DateTime<Utc>>) -> Consultant {
    Consultant {
        last_served_at,
        queue_key: last_served_at.map(|t| t.timestamp_micros()),
        ..sample_consultant(id)
    }
}

fn ids(queue: &[&Consultant]) -> Vec<i64> {
    queue.iter().map(|c| c.id.0).collect()
}

fn head_id(pool: &[Consultant], language: &Language) -> Option<i64> {
    queue_head(pool, language, now()).map(|c| c.id.0)
}

/// Asserts the `pt` queue of `pool` is `expected`, its head first.
fn assert_queue(pool: &[Consultant], expected: &[i64]) {
    assert_eq!(ids(&eligible_queue(pool, &pt(), now())), expected);
    assert_eq!(head_id(pool, &pt()), expected.first().copied());
}

/// Whether the sample consultant, once `change`d, is eligible for `pt`.
fn eligible_after(change: impl FnOnce(&mut Consultant)) -> bool {
    let mut consultant = sample_consultant(1);
    change(&mut consultant);
    is_eligible(&consultant, &pt(), now())
}

#[test]
fn consultant_who_is_active_in_rotation_online_and_speaks_the_language_is_eligible() {
    assert!(is_eligible(&sample_consultant(1), &pt(), now()));
}

#[test]
fn deleted_consultant_is_not_eligible() {
    assert!(!eligible_after(|c| c.deleted = true));
}

#[test]
fn inactive_consultant_is_not_eligible() {
    assert!(!eligible_after(|c| c.active = false));
}

#[test]
fn consultant_out_of_the_rotation_is_not_eligible() {
    assert!(!eligible_after(|c| c.in_rotation = false));
}

#[test]
fn offline_consultant_is_not_eligible() {
    assert!(!eligible_after(|c| c.online = false));
}

#[test]
fn consultant_who_does_not_speak_the_language_is_not_eligible() {
    let consultant = sample_consultant(1);
    assert!(!is_eligible(
        &consultant,
        &Language::parse("es").unwrap(),
        now()
    ));
    // A regional variant is a different code: "pt" does not match "pt-br".
    let brazilian = Consultant {
        languages: languages(&["pt-br"]),
        ..sample_consultant(2)
    };
    assert!(!is_eligible(&brazilian, &pt(), now()));
}

#[test]
fn language_is_matched_case_insensitively() {
    let consultant = Consultant {
        languages: languages(&["PT-BR", "En"]),
        ..sample_consultant(1)
    };
    assert!(is_eligible(
        &consultant,
        &Language::parse("pt-br").unwrap(),
        now()
    ));
    assert!(is_eligible(
        &consultant,
        &Language::parse("PT-br").unwrap(),
        now()
    ));
    assert!(is_eligible(
        &consultant,
        &Language::parse("EN").unwrap(),
        now()
    ));
}

#[test]
fn never_served_consultant_goes_before_anyone_served() {
    let pool = [served(1, at_minute(0)), served(9, None)];
    assert_eq!(head_id(&pool, &pt()), Some(9));
}

#[test]
fn assigns_longest_waiting_consultant_first() {
    let pool = [
        served(1, at_minute(30)),
        served(2, at_minute(10)),
        served(3, at_minute(20)),
    ];
    assert_queue(&pool, &[2, 3, 1]);
}

#[test]
fn equal_times_are_broken_by_the_lower_id() {
    let pool = [
        served(8, at_minute(5)),
        served(3, at_minute(5)),
        served(5, at_minute(5)),
    ];
    assert_queue(&pool, &[3, 5, 8]);
}

#[test]
fn several_never_served_consultants_are_ordered_by_id() {
    let pool = [
        served(4, at_minute(0)),
        served(12, None),
        served(7, None),
        served(2, at_minute(1)),
        served(10, None),
    ];
    assert_queue(&pool, &[7, 10, 12, 4, 2]);
}

#[test]
fn queue_order_is_a_total_order_consistent_with_its_documentation() {
    let a = served(1, at_minute(5));
    let b = served(2, at_minute(5));
    let never = served(3, None);
    assert_eq!(queue_order(&a, &b), Ordering::Less);
    assert_eq!(queue_order(&b, &a), Ordering::Greater);
    assert_eq!(queue_order(&a, &a), Ordering::Equal);
    assert_eq!(queue_order(&never, &a), Ordering::Less);
    assert_eq!(queue_order(&a, &never), Ordering::Greater);
}

#[test]
fn eligible_queue_leaves_out_everyone_who_is_not_eligible() {
    let pool = [
        served(1, None),
        Consultant {
            deleted: true,
            ..served(2, None)
        },
        Consultant {
            online: false,
            ..served(3, None)
        },
        Consultant {
            active: false,
            ..served(4, None)
        },
        Consultant {
            in_rotation: false,
            ..served(5, None)
        },
        Consultant {
            languages: languages(&["es"]),
            ..served(6, None)
        },
        served(7, at_minute(3)),
    ];
    assert_queue(&pool, &[1, 7]);
}

#[test]
fn empty_pool_has_no_head() {
    assert_queue(&[], &[]);
}

#[test]
fn pool_where_nobody_is_eligible_has_no_head() {
    let pool = [
        Consultant {
            online: false,
            ..served(1, None)
        },
        Consultant {
            deleted: true,
            ..served(2, None)
        },
    ];
    assert_queue(&pool, &[]);
    // Nobody speaks Spanish either.
    assert_eq!(
        head_id(&[served(3, None)], &Language::parse("es").unwrap()),
        None
    );
}

#[test]
fn newcomer_stamped_with_now_joins_the_back_of_the_queue() {
    let now = at_minute(60);
    let pool = [
        served(5, now),
        served(8, at_minute(59)),
        served(9, at_minute(1)),
    ];
    assert_queue(&pool, &[9, 8, 5]);
}

/// Gives `turns` contacts in `language`, `step` apart, stamping each head as the rotation does;
/// the ids served, in order (fewer when nobody is left to serve).
fn serve_turns(
    pool: &mut [Consultant],
    language: &Language,
    turns: usize,
    step: Duration,
) -> Vec<i64> {
    let mut order = Vec::new();
    let mut now = now();
    for _ in 0..turns {
        let Some(head) = queue_head(pool, language, now).map(|c| c.id) else {
            break;
        };
        now += step;
        let chosen = pool
            .iter_mut()
            .find(|c| c.id == head)
            .expect("the head comes from the pool");
        chosen.last_served_at = Some(now);
        chosen.queue_key = Some(next_queue_key(
            chosen.queue_key,
            now.timestamp_micros(),
            chosen.routing.weight,
        ));
        order.push(head.0);
    }
    order
}

/// Gives `turns` contacts in `language` and counts how many each consultant received.
fn rotate(pool: &mut [Consultant], language: &Language, turns: usize) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for id in serve_turns(pool, language, turns, Duration::milliseconds(1)) {
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[test]
fn rotation_over_k_consultants_for_k_times_n_turns_gives_each_exactly_n() {
    let mut pool = vec![
        served(1, at_minute(40)),
        served(2, None),
        served(3, at_minute(10)),
        served(4, at_minute(10)),
        Consultant {
            online: false,
            ..served(5, None)
        },
    ];
    let counts = rotate(&mut pool, &pt(), 4 * 25);
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|&n| n == 25), "{counts:?}");
    assert!(!counts.contains_key(&5));
}

#[test]
fn rotation_serves_in_queue_order_then_cycles() {
    let mut pool = vec![
        served(1, at_minute(40)),
        served(2, None),
        served(3, at_minute(10)),
    ];
    let order = serve_turns(&mut pool, &pt(), 6, Duration::seconds(1));
    assert_eq!(order, [2, 3, 1, 2, 3, 1]);
}

fn weighted(id: i64, weight: i64) -> Consultant {
    let mut consultant = served(id, None);
    consultant.routing.weight = crate::routing::Weight::new(weight).unwrap();
    consultant
}

#[test]
fn weights_one_two_three_share_contacts_one_to_two_to_three_and_interleave() {
    let mut pool = vec![weighted(1, 1), weighted(2, 2), weighted(3, 3)];
    let order = serve_turns(&mut pool, &pt(), 60 * 6, Duration::seconds(1));
    assert_eq!(order.len(), 60 * 6);
    let count = |id| order.iter().filter(|&&x| x == id).count() as f64;
    for (id, share) in [(1, 60.0), (2, 120.0), (3, 180.0)] {
        assert!(
            (count(id) - share).abs() <= share * 0.02,
            "{id}: {}",
            count(id)
        );
    }
    // Nobody waits for long runs of the others: every window of 6 turns serves all three.
    assert!(order
        .windows(6)
        .all(|w| [1, 2, 3].iter().all(|id| w.contains(id))));
}

#[test]
fn consultant_outside_hours_on_leave_or_at_a_limit_is_skipped_like_one_offline() {
    use crate::routing::{Leave, Limit, WeeklySchedule, WorkingHours};
    let at = now();
    let today = at
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    let mut outside = served(1, None);
    outside.routing.schedule = Some(WeeklySchedule::new(vec![]));
    let mut on_leave = served(2, None);
    on_leave.routing.leave = Some(vec![Leave::new(today, today).unwrap()]);
    let mut daily = served(3, None);
    daily.routing.daily_limit = Some(Limit::new(2).unwrap());
    daily.workload.assignments_day = Some(today);
    daily.workload.assignments_on_day = 2;
    let mut open = served(4, None);
    open.routing.open_limit = Some(Limit::new(1).unwrap());
    open.workload.open_protocols = 1;
    let mut within = served(5, at_minute(50));
    within.routing.schedule = Some(WeeklySchedule::new(
        (1..=7)
            .map(|d| WorkingHours::new(d, 0, 1440).unwrap())
            .collect(),
    ));
    let pool = [outside, on_leave, daily, open, within];
    assert_eq!(ids(&eligible_queue(&pool, &pt(), at)), [5]);
    let reasons: Vec<_> = pool.iter().map(|c| availability(c, at).reason).collect();
    assert_eq!(
        reasons,
        [
            Some(Unavailability::OutsideHours),
            Some(Unavailability::OnLeave),
            Some(Unavailability::DailyLimit),
            Some(Unavailability::OpenLimit),
            None
        ]
    );
    assert_eq!(availability(&pool[2], at).assignments_today, 2);
}

#[test]
fn alternatives_are_tried_in_order_and_next_available_is_the_earliest() {
    let es = Language::parse("es").unwrap();
    let mut spanish = served(1, None);
    spanish.languages = languages(&["es"]);
    let english_offline = Consultant {
        online: false,
        ..served(2, None)
    };
    let pool = [spanish, english_offline];
    let wanted = [Language::parse("fr").unwrap(), es.clone(), pt()];
    let (head, language) = first_head(&pool, &wanted, now()).unwrap();
    assert_eq!((head.id.0, language), (1, &es));
    // Only an offline consultant speaks pt: nobody, and nothing predictable.
    assert_eq!(next_available(&pool, &[pt()], now()), None);
    let mut later = served(3, None);
    later.routing.daily_limit = Some(crate::routing::Limit::new(1).unwrap());
    later.workload.assignments_day = Some(
        now()
            .with_timezone(&chrono_tz::America::Sao_Paulo)
            .date_naive(),
    );
    later.workload.assignments_on_day = 1;
    let next = next_available(&[later], &[pt()], now()).unwrap();
    assert!(next > now() && next - now() <= Duration::days(1), "{next}");
}

mod properties;

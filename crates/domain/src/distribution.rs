//! The distribution policy: who may receive the next contact for a language, and in which order.
//!
//! These pure functions are the reference: the SQL of the persistence adapter implements the same
//! terms and order, and its tests compare the two on random pools.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consultant::Consultant;
use crate::crm_outbox::CrmActionStatus;
use crate::protocol::Protocol;
use crate::routing::{Availability, Unavailability};
use crate::values::Language;

/// The status of a consultant at `now`: the first reason (in the contract's order: the three
/// switches, then hours, leave, daily limit, open limit) that keeps them out of the rotation,
/// and their counters as of `now`. A deleted consultant is `inativo`.
pub fn availability(consultant: &Consultant, now: DateTime<Utc>) -> Availability {
    let reason = if consultant.deleted || !consultant.active {
        Some(Unavailability::Inactive)
    } else if !consultant.in_rotation {
        Some(Unavailability::OutOfRotation)
    } else if !consultant.online {
        Some(Unavailability::Offline)
    } else {
        consultant.routing.blocking_rule(&consultant.workload, now)
    };
    Availability {
        reason,
        assignments_today: consultant
            .workload
            .assignments_on(consultant.routing.local_date(now)),
        open_protocols: consultant.workload.open_protocols,
    }
}

/// A consultant may receive a contact in `language` at `now` when they are not deleted, work
/// here (`status_ativo`), take part in the rotation (`status_ativo_sequencial`), are online
/// (`status_online`), are inside their hours, off leave, under their daily and open limits, and
/// speak the language.
pub fn is_eligible(consultant: &Consultant, language: &Language, now: DateTime<Utc>) -> bool {
    consultant.languages.contains(language) && availability(consultant, now).available()
}

/// Queue order: the lower queue key goes first (with peso 1 the key is the time of the last
/// assignment: whoever has waited longest). A consultant without a key (never served) goes
/// before everyone who has one; equal keys are broken by the lower id, so the order is total
/// and the same on every replica.
pub fn queue_order(a: &Consultant, b: &Consultant) -> Ordering {
    let waited = match (a.queue_key, b.queue_key) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    };
    waited.then(a.id.cmp(&b.id))
}

/// The eligible consultants of `pool` for `language` at `now`, first in line first.
pub fn eligible_queue<'a>(
    pool: &'a [Consultant],
    language: &Language,
    now: DateTime<Utc>,
) -> Vec<&'a Consultant> {
    let mut queue: Vec<&Consultant> = pool
        .iter()
        .filter(|consultant| is_eligible(consultant, language, now))
        .collect();
    queue.sort_by(|a, b| queue_order(a, b));
    queue
}

/// The consultant who gets the next contact in `language` at `now`, if anyone is eligible.
pub fn queue_head<'a>(
    pool: &'a [Consultant],
    language: &Language,
    now: DateTime<Utc>,
) -> Option<&'a Consultant> {
    pool.iter()
        .filter(|consultant| is_eligible(consultant, language, now))
        .min_by(|a, b| queue_order(a, b))
}

/// The head for the first of `languages` (the requested one, then the alternatives in order)
/// in which anyone is eligible, with that language.
pub fn first_head<'a, 'l>(
    pool: &'a [Consultant],
    languages: &'l [Language],
    now: DateTime<Utc>,
) -> Option<(&'a Consultant, &'l Language)> {
    languages
        .iter()
        .find_map(|language| queue_head(pool, language, now).map(|head| (head, language)))
}

/// When nobody is free in `languages`: the earliest instant at which some consultant who is
/// active, in the rotation, online and speaks one of them will be inside their hours, off
/// leave and under their daily limit (`proximo_disponivel`); `None` if there is nobody such,
/// or it cannot be known.
pub fn next_available(
    pool: &[Consultant],
    languages: &[Language],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    pool.iter()
        .filter(|c| !c.deleted && c.active && c.in_rotation && c.online)
        .filter(|c| {
            languages
                .iter()
                .any(|language| c.languages.contains(language))
        })
        .filter_map(|c| c.routing.next_available(&c.workload, now))
        .min()
}

/// The outcome of one turn of the rotation: the consultant chosen (already stamped with the new
/// `last_served_at`) and the protocol opened for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub consultant: Consultant,
    pub protocol: Protocol,
    /// The CRM actions written with the assignment, when it was asked to act on a CRM record:
    /// `None` without a CRM target; empty when the consultant has no CRM user
    /// (`id_pipedrive`), so there was nothing to do. Kept in stored idempotent answers (older
    /// answers, written before this field existed, read as `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_actions: Option<Vec<CrmActionStatus>>,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{DateTime, Duration, TimeZone, Utc};
    use proptest::prelude::*;

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

    #[test]
    fn consultant_who_is_active_in_rotation_online_and_speaks_the_language_is_eligible() {
        assert!(is_eligible(&sample_consultant(1), &pt(), now()));
    }

    #[test]
    fn deleted_consultant_is_not_eligible() {
        let consultant = Consultant {
            deleted: true,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt(), now()));
    }

    #[test]
    fn inactive_consultant_is_not_eligible() {
        let consultant = Consultant {
            active: false,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt(), now()));
    }

    #[test]
    fn consultant_out_of_the_rotation_is_not_eligible() {
        let consultant = Consultant {
            in_rotation: false,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt(), now()));
    }

    #[test]
    fn offline_consultant_is_not_eligible() {
        let consultant = Consultant {
            online: false,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt(), now()));
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
        assert_eq!(head_id(&pool, &pt()), Some(2));
        assert_eq!(ids(&eligible_queue(&pool, &pt(), now())), [2, 3, 1]);
    }

    #[test]
    fn equal_times_are_broken_by_the_lower_id() {
        let pool = [
            served(8, at_minute(5)),
            served(3, at_minute(5)),
            served(5, at_minute(5)),
        ];
        assert_eq!(head_id(&pool, &pt()), Some(3));
        assert_eq!(ids(&eligible_queue(&pool, &pt(), now())), [3, 5, 8]);
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
        assert_eq!(ids(&eligible_queue(&pool, &pt(), now())), [7, 10, 12, 4, 2]);
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
        assert_eq!(ids(&eligible_queue(&pool, &pt(), now())), [1, 7]);
        assert_eq!(head_id(&pool, &pt()), Some(1));
    }

    #[test]
    fn empty_pool_has_no_head() {
        assert_eq!(head_id(&[], &pt()), None);
        assert!(eligible_queue(&[], &pt(), now()).is_empty());
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
        assert_eq!(head_id(&pool, &pt()), None);
        assert!(eligible_queue(&pool, &pt(), now()).is_empty());
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
        assert_eq!(ids(&eligible_queue(&pool, &pt(), self::now())), [9, 8, 5]);
    }

    /// Gives `turns` contacts in `language`, stamping each head with a strictly increasing clock,
    /// and counts how many each consultant received.
    fn rotate(pool: &mut [Consultant], language: &Language, turns: usize) -> HashMap<i64, usize> {
        let mut counts = HashMap::new();
        let mut now = base_time() + Duration::days(1);
        for _ in 0..turns {
            let Some(head) = queue_head(pool, language, now).map(|c| c.id) else {
                break;
            };
            now += Duration::milliseconds(1);
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
            *counts.entry(head.0).or_insert(0) += 1;
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
        let mut order = Vec::new();
        let mut now = base_time() + Duration::days(1);
        for _ in 0..6 {
            let head = queue_head(&pool, &pt(), now).map(|c| c.id).unwrap();
            now += Duration::seconds(1);
            if let Some(c) = pool.iter_mut().find(|c| c.id == head) {
                c.last_served_at = Some(now);
                c.queue_key = Some(now.timestamp_micros());
            }
            order.push(head.0);
        }
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
        let mut order = Vec::new();
        let mut now = base_time() + Duration::days(1);
        for _ in 0..60 * 6 {
            let head = queue_head(&pool, &pt(), now).map(|c| c.id).unwrap();
            now += Duration::seconds(1);
            let chosen = pool.iter_mut().find(|c| c.id == head).unwrap();
            chosen.queue_key = Some(next_queue_key(
                chosen.queue_key,
                now.timestamp_micros(),
                chosen.routing.weight,
            ));
            order.push(head.0);
        }
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

    /// A random consultant: (active, in_rotation, online, deleted, last served minute or never,
    /// which of pt/en/es they speak).
    fn arbitrary_pool(max: usize) -> impl Strategy<Value = Vec<Consultant>> {
        let consultant = (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::option::weighted(0.7, 0i64..8),
            1u8..8,
        );
        prop::collection::vec(consultant, 0..max)
            .prop_map(|rows| {
                rows.into_iter()
                    .enumerate()
                    .map(
                        |(i, (active, in_rotation, online, deleted, minute, mask))| {
                            let codes: Vec<&str> = ["pt", "en", "es"]
                                .into_iter()
                                .enumerate()
                                .filter(|(bit, _)| mask & (1 << bit) != 0)
                                .map(|(_, code)| code)
                                .collect();
                            Consultant {
                                id: ConsultantId(i64::try_from(i).unwrap() * 3 + 1),
                                languages: languages(&codes),
                                active,
                                in_rotation,
                                online,
                                deleted,
                                last_served_at: minute.and_then(at_minute),
                                queue_key: minute.and_then(at_minute).map(|t| t.timestamp_micros()),
                                ..sample_consultant(1)
                            }
                        },
                    )
                    .collect::<Vec<_>>()
            })
            .prop_shuffle()
    }

    fn any_language() -> impl Strategy<Value = Language> {
        prop::sample::select(vec!["pt", "en", "es", "PT", "fr"])
            .prop_map(|c| Language::parse(c).unwrap())
    }

    proptest! {
        #[test]
        fn queue_head_is_the_first_of_the_eligible_queue(
            pool in arbitrary_pool(16),
            language in any_language(),
        ) {
            let queue = eligible_queue(&pool, &language, now());
            prop_assert_eq!(queue_head(&pool, &language, now()), queue.first().copied());
        }

        #[test]
        fn eligible_queue_holds_exactly_the_eligible_in_strict_queue_order(
            pool in arbitrary_pool(16),
            language in any_language(),
        ) {
            let queue = eligible_queue(&pool, &language, now());
            let eligible = pool.iter().filter(|c| is_eligible(c, &language, now())).count();
            prop_assert_eq!(queue.len(), eligible);
            prop_assert!(queue.iter().all(|c| is_eligible(c, &language, now())));
            for pair in queue.windows(2) {
                prop_assert_eq!(queue_order(pair[0], pair[1]), Ordering::Less);
                // Nobody who was served waits ahead of someone never served.
                prop_assert!(!(pair[0].last_served_at.is_some() && pair[1].last_served_at.is_none()));
            }
        }

        #[test]
        fn queue_order_does_not_depend_on_pool_order(
            pool in arbitrary_pool(16),
            language in any_language(),
        ) {
            let mut reversed = pool.clone();
            reversed.reverse();
            prop_assert_eq!(
                ids(&eligible_queue(&pool, &language, now())),
                ids(&eligible_queue(&reversed, &language, now()))
            );
        }

        #[test]
        fn rotation_is_fair_over_any_pool(
            mut pool in arbitrary_pool(12),
            language in any_language(),
            rounds in 1usize..6,
        ) {
            let eligible: Vec<i64> = eligible_queue(&pool, &language, now()).iter().map(|c| c.id.0).collect();
            let counts = rotate(&mut pool, &language, eligible.len() * rounds);
            prop_assert_eq!(counts.len(), eligible.len());
            for id in eligible {
                prop_assert_eq!(counts.get(&id).copied(), Some(rounds));
            }
        }
    }
}

//! The distribution policy: who may receive the next contact for a language, and in which order.
//!
//! These pure functions are the reference: the SQL of the persistence adapter implements the same
//! order, and its tests compare the two on random pools.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::consultant::Consultant;
use crate::crm_outbox::CrmActionStatus;
use crate::protocol::Protocol;
use crate::values::Language;

/// A consultant may receive a contact in `language` when they are not deleted, work here
/// (`status_ativo`), take part in the rotation (`status_ativo_sequencial`), are online
/// (`status_online`) and speak the language.
pub fn is_eligible(consultant: &Consultant, language: &Language) -> bool {
    !consultant.deleted
        && consultant.active
        && consultant.in_rotation
        && consultant.online
        && consultant.languages.contains(language)
}

/// Queue order: whoever has waited longest goes first. A consultant never served
/// (`last_served_at` is `None`) goes before everyone who has been; equal times are broken by the
/// lower id, so the order is total and the same on every replica.
pub fn queue_order(a: &Consultant, b: &Consultant) -> Ordering {
    let waited = match (a.last_served_at, b.last_served_at) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    };
    waited.then(a.id.cmp(&b.id))
}

/// The eligible consultants of `pool` for `language`, first in line first.
pub fn eligible_queue<'a>(pool: &'a [Consultant], language: &Language) -> Vec<&'a Consultant> {
    let mut queue: Vec<&Consultant> = pool
        .iter()
        .filter(|consultant| is_eligible(consultant, language))
        .collect();
    queue.sort_by(|a, b| queue_order(a, b));
    queue
}

/// The consultant who gets the next contact in `language`, if anyone is eligible.
pub fn queue_head<'a>(pool: &'a [Consultant], language: &Language) -> Option<&'a Consultant> {
    pool.iter()
        .filter(|consultant| is_eligible(consultant, language))
        .min_by(|a, b| queue_order(a, b))
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

    fn pt() -> Language {
        Language::parse("pt").unwrap()
    }

    fn base_time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
    }

    fn at_minute(minute: i64) -> Option<DateTime<Utc>> {
        Some(base_time() + Duration::minutes(minute))
    }

    /// An eligible consultant (for `pt`) last served at `last_served_at`.
    fn served(id: i64, last_served_at: Option<DateTime<Utc>>) -> Consultant {
        Consultant {
            last_served_at,
            ..sample_consultant(id)
        }
    }

    fn ids(queue: &[&Consultant]) -> Vec<i64> {
        queue.iter().map(|c| c.id.0).collect()
    }

    fn head_id(pool: &[Consultant], language: &Language) -> Option<i64> {
        queue_head(pool, language).map(|c| c.id.0)
    }

    #[test]
    fn consultant_who_is_active_in_rotation_online_and_speaks_the_language_is_eligible() {
        assert!(is_eligible(&sample_consultant(1), &pt()));
    }

    #[test]
    fn deleted_consultant_is_not_eligible() {
        let consultant = Consultant {
            deleted: true,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt()));
    }

    #[test]
    fn inactive_consultant_is_not_eligible() {
        let consultant = Consultant {
            active: false,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt()));
    }

    #[test]
    fn consultant_out_of_the_rotation_is_not_eligible() {
        let consultant = Consultant {
            in_rotation: false,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt()));
    }

    #[test]
    fn offline_consultant_is_not_eligible() {
        let consultant = Consultant {
            online: false,
            ..sample_consultant(1)
        };
        assert!(!is_eligible(&consultant, &pt()));
    }

    #[test]
    fn consultant_who_does_not_speak_the_language_is_not_eligible() {
        let consultant = sample_consultant(1);
        assert!(!is_eligible(&consultant, &Language::parse("es").unwrap()));
        // A regional variant is a different code: "pt" does not match "pt-br".
        let brazilian = Consultant {
            languages: languages(&["pt-br"]),
            ..sample_consultant(2)
        };
        assert!(!is_eligible(&brazilian, &pt()));
    }

    #[test]
    fn language_is_matched_case_insensitively() {
        let consultant = Consultant {
            languages: languages(&["PT-BR", "En"]),
            ..sample_consultant(1)
        };
        assert!(is_eligible(&consultant, &Language::parse("pt-br").unwrap()));
        assert!(is_eligible(&consultant, &Language::parse("PT-br").unwrap()));
        assert!(is_eligible(&consultant, &Language::parse("EN").unwrap()));
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
        assert_eq!(ids(&eligible_queue(&pool, &pt())), [2, 3, 1]);
    }

    #[test]
    fn equal_times_are_broken_by_the_lower_id() {
        let pool = [
            served(8, at_minute(5)),
            served(3, at_minute(5)),
            served(5, at_minute(5)),
        ];
        assert_eq!(head_id(&pool, &pt()), Some(3));
        assert_eq!(ids(&eligible_queue(&pool, &pt())), [3, 5, 8]);
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
        assert_eq!(ids(&eligible_queue(&pool, &pt())), [7, 10, 12, 4, 2]);
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
        assert_eq!(ids(&eligible_queue(&pool, &pt())), [1, 7]);
        assert_eq!(head_id(&pool, &pt()), Some(1));
    }

    #[test]
    fn empty_pool_has_no_head() {
        assert_eq!(head_id(&[], &pt()), None);
        assert!(eligible_queue(&[], &pt()).is_empty());
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
        assert!(eligible_queue(&pool, &pt()).is_empty());
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
        assert_eq!(ids(&eligible_queue(&pool, &pt())), [9, 8, 5]);
    }

    /// Gives `turns` contacts in `language`, stamping each head with a strictly increasing clock,
    /// and counts how many each consultant received.
    fn rotate(pool: &mut [Consultant], language: &Language, turns: usize) -> HashMap<i64, usize> {
        let mut counts = HashMap::new();
        let mut now = base_time() + Duration::days(1);
        for _ in 0..turns {
            let Some(head) = queue_head(pool, language).map(|c| c.id) else {
                break;
            };
            now += Duration::milliseconds(1);
            let chosen = pool
                .iter_mut()
                .find(|c| c.id == head)
                .expect("the head comes from the pool");
            chosen.last_served_at = Some(now);
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
            let head = queue_head(&pool, &pt()).map(|c| c.id).unwrap();
            now += Duration::seconds(1);
            if let Some(c) = pool.iter_mut().find(|c| c.id == head) {
                c.last_served_at = Some(now);
            }
            order.push(head.0);
        }
        assert_eq!(order, [2, 3, 1, 2, 3, 1]);
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
            let queue = eligible_queue(&pool, &language);
            prop_assert_eq!(queue_head(&pool, &language), queue.first().copied());
        }

        #[test]
        fn eligible_queue_holds_exactly_the_eligible_in_strict_queue_order(
            pool in arbitrary_pool(16),
            language in any_language(),
        ) {
            let queue = eligible_queue(&pool, &language);
            let eligible = pool.iter().filter(|c| is_eligible(c, &language)).count();
            prop_assert_eq!(queue.len(), eligible);
            prop_assert!(queue.iter().all(|c| is_eligible(c, &language)));
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
                ids(&eligible_queue(&pool, &language)),
                ids(&eligible_queue(&reversed, &language))
            );
        }

        #[test]
        fn rotation_is_fair_over_any_pool(
            mut pool in arbitrary_pool(12),
            language in any_language(),
            rounds in 1usize..6,
        ) {
            let eligible: Vec<i64> = eligible_queue(&pool, &language).iter().map(|c| c.id.0).collect();
            let counts = rotate(&mut pool, &language, eligible.len() * rounds);
            prop_assert_eq!(counts.len(), eligible.len());
            for id in eligible {
                prop_assert_eq!(counts.get(&id).copied(), Some(rounds));
            }
        }
    }
}

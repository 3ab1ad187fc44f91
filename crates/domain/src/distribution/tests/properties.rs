//! The queue order's properties on random pools.

use proptest::prelude::*;

use super::*;

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

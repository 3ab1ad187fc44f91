//! The SQL of the assignment picks the same consultant as the domain's policy
//! (`consultores_domain::queue_head`), on random pools with random routing rules (weights,
//! zones, working hours, leave, daily and open limits), on both backends. Each pool's turns move
//! the clock forward by up to hours, so shifts start and end, local days change and leave begins
//! while consultants sit in the queue (on PostgreSQL: entries enter and leave the per-language
//! queue as data), and protocols are closed between turns (an open limit released); the next
//! pool starts earlier than the last turn (a clock behind the last evaluation).

use chrono::{DateTime, Duration, TimeZone, Utc};
use consultores_domain::routing::parse_date;
use consultores_domain::{
    queue_head, AssignmentPort, Consultant, ConsultantRepository, DomainError, Language, Leave,
    Limit, ProtocolId, ProtocolPatch, ProtocolRepository, ProtocolStatus, RuleSettings,
    WeeklySchedule, Weight, WorkingHours, Zone,
};
use consultores_persistence::testing::TestDatabase;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{actor, consultant, language, on_both_backends};

on_both_backends!(assignment_picks_the_policy_head_on_random_pools);

const POOLS: u64 = 80;
const CODES: [&str; 4] = ["pt", "en", "es", "fr"];

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).single().unwrap()
}

/// A fresh random pool of 1 to 12 consultants (spoken languages, switches, rules and last
/// service times drawn from `rng`), stored; earlier pools' consultants are deleted and stay in
/// the pool as the deleted consultants they are.
fn random_pool(test: &TestDatabase, rng: &mut StdRng, seed: u64) -> Vec<Consultant> {
    let db = test.database();
    // A fresh pool: earlier pools' consultants are deleted, so they are part of the pool
    // too (as the deleted consultants they are).
    let mut pool: Vec<Consultant> = ConsultantRepository::list(&db, &Default::default())
        .unwrap()
        .into_iter()
        .map(|mut c| {
            ConsultantRepository::soft_delete(&db, c.id, epoch(), &actor()).unwrap();
            c.deleted = true;
            c
        })
        .collect();
    for i in 0..rng.random_range(1..=12) {
        let spoken: Vec<&str> = CODES
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.5))
            .collect();
        let spoken = if spoken.is_empty() {
            vec!["pt"]
        } else {
            spoken
        };
        let mut new = consultant(&format!("Pool {seed} member {i}"), &spoken);
        new.active = rng.random_bool(0.85);
        new.in_rotation = rng.random_bool(0.85);
        new.online = rng.random_bool(0.75);
        new.rules = random_rules(rng);
        let mut stored = ConsultantRepository::create(&db, &new, epoch(), &actor()).unwrap();
        // Few distinct times, so ties (and NULLs) are common.
        let served = match rng.random_range(0..5) {
            0 => None,
            minutes => Some(epoch() + Duration::minutes(minutes)),
        };
        test.set_last_served(stored.id, served);
        stored.last_served_at = served;
        stored.queue_key = served.map(|t| t.timestamp_micros());
        if rng.random_bool(0.1) {
            ConsultantRepository::soft_delete(&db, stored.id, epoch(), &actor()).unwrap();
            stored.deleted = true;
        }
        pool.push(stored);
    }
    pool
}

fn assignment_picks_the_policy_head_on_random_pools(test: &TestDatabase) {
    let db = test.database();
    let mut compared = 0;
    let mut nobody = 0;
    for seed in 0..POOLS {
        let mut rng = StdRng::seed_from_u64(0xC0FFEE + seed);
        let mut pool = random_pool(test, &mut rng, seed);
        let mut now = epoch() + Duration::hours(1) + Duration::seconds(seed as i64 * 10);
        let mut opened: Vec<ProtocolId> = Vec::new();
        for turn in 0..8 {
            // Same instant, a few minutes, or hours later: boundaries crossed in the queue.
            now += match rng.random_range(0..4) {
                0 => Duration::zero(),
                1 => Duration::minutes(rng.random_range(1..=59)),
                _ => Duration::minutes(rng.random_range(60..=420)),
            };
            if !opened.is_empty() && rng.random_bool(0.3) {
                let closed = opened.swap_remove(rng.random_range(0..opened.len()));
                let patch = ProtocolPatch {
                    status: Some(ProtocolStatus::Closed),
                    ..ProtocolPatch::default()
                };
                let protocol = ProtocolRepository::update(&db, closed, &patch, now, &actor())
                    .unwrap()
                    .unwrap();
                let owner = protocol.consultant_id.unwrap();
                let member = pool.iter_mut().find(|c| c.id == owner).unwrap();
                *member = ConsultantRepository::get(&db, owner).unwrap().unwrap();
            }
            let wanted: Language = language(CODES[rng.random_range(0..CODES.len())]);
            let expected = queue_head(&pool, &wanted, now).map(|c| c.id);
            match db.assign_next(&wanted, now, None, &actor(), None) {
                Ok(assigned) => {
                    let chosen = assigned.value.consultant.id;
                    assert_eq!(
                        Some(chosen),
                        expected,
                        "pool {seed}, turn {turn}, {wanted} at {now}: {pool:#?}"
                    );
                    let member = pool.iter_mut().find(|c| c.id == chosen).unwrap();
                    assert!(assigned.value.consultant.last_served_at >= Some(now));
                    // Stamp, queue key and counters as the store moved them.
                    *member = assigned.value.consultant.clone();
                    opened.push(assigned.value.protocol.id);
                    compared += 1;
                }
                Err(DomainError::NoneAvailable(_)) => {
                    assert_eq!(
                        expected, None,
                        "pool {seed}, turn {turn}, {wanted} at {now}: {pool:#?}"
                    );
                    nobody += 1;
                }
                Err(other) => panic!("pool {seed}: {other:?}"),
            }
        }
    }
    println!(
        "{:?}: {compared} assignments matched the policy head, {nobody} pools had nobody",
        test.backend()
    );
    assert!(
        compared > 100 && nobody > 5,
        "the random pools cover both outcomes"
    );
}

/// Rules that are often unset (v6 behaviour) and otherwise straddle the test's instants: zones
/// on both sides of UTC, periods that begin or end around them, leave on the days around them,
/// limits small enough to be reached within the pool's turns.
fn random_rules(rng: &mut StdRng) -> RuleSettings {
    let zones = ["America/Sao_Paulo", "UTC", "Asia/Tokyo"];
    let mut rules = RuleSettings {
        weight: Weight::new(rng.random_range(1..=3)).unwrap(),
        ..RuleSettings::default()
    };
    if rng.random_bool(0.5) {
        rules.time_zone = Some(Zone::parse(zones[rng.random_range(0..zones.len())]).unwrap());
    }
    if rng.random_bool(0.4) {
        let periods = (0..rng.random_range(1..=3))
            .map(|_| {
                let start = rng.random_range(0..24u16) * 60;
                let end = (start + rng.random_range(1..=12u16) * 60).min(1440);
                WorkingHours::new(rng.random_range(1..=7), start, end).unwrap()
            })
            .collect();
        rules.schedule = Some(WeeklySchedule::new(periods));
    }
    if rng.random_bool(0.3) {
        let from = parse_date("2025-12-31").unwrap() + Duration::days(rng.random_range(0..3));
        rules.leave = Some(vec![Leave::new(from, from).unwrap()]);
    }
    if rng.random_bool(0.3) {
        rules.daily_limit = Some(Limit::new(rng.random_range(1..=2)).unwrap());
    }
    if rng.random_bool(0.3) {
        rules.open_limit = Some(Limit::new(rng.random_range(1..=2)).unwrap());
    }
    rules
}

//! Micro-benchmarks of the distribution policy and protocol-number formatting:
//! `cargo bench -p consultores-domain`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{Duration, TimeZone, Utc};
use consultores_domain::{
    queue_head, Consultant, ConsultantId, ConsultantName, Language, LanguageList, ProtocolNumber,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

fn pool(size: usize) -> Vec<Consultant> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let pt = Language::parse("pt").unwrap();
    let en = Language::parse("en").unwrap();
    (0..size)
        .map(|i| Consultant {
            id: ConsultantId(i as i64 + 1),
            name: ConsultantName::parse(&format!("Consultor {i}")).unwrap(),
            email: None,
            phone: None,
            languages: LanguageList::new(if i % 3 == 0 {
                vec![en.clone()]
            } else {
                vec![pt.clone(), en.clone()]
            })
            .unwrap(),
            active: true,
            in_rotation: i % 7 != 0,
            online: i % 5 != 0,
            // A scrambled but deterministic order of waiting times, with some never served.
            last_served_at: (i % 11 != 0)
                .then(|| start + Duration::milliseconds(((i * 7919) % 100_003) as i64)),
            pipedrive_user_id: None,
            deleted: false,
            routing: Default::default(),
            workload: Default::default(),
            queue_key: None,
        })
        .map(|mut c| {
            c.queue_key = c.last_served_at.map(|t| t.timestamp_micros());
            c
        })
        .collect()
}

fn bench_queue_head(c: &mut Criterion) {
    let pt = Language::parse("pt").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
    let mut group = c.benchmark_group("queue_head");
    for size in [10, 100, 1_000, 10_000] {
        let consultants = pool(size);
        group.bench_with_input(
            BenchmarkId::from_parameter(size),
            &consultants,
            |b, pool| b.iter(|| queue_head(black_box(pool), black_box(&pt), now).map(|c| c.id)),
        );
    }
    group.finish();
}

fn bench_protocol_number(c: &mut Criterion) {
    c.bench_function("protocol_number_display", |b| {
        let number = ProtocolNumber::from_counter(42).unwrap();
        b.iter(|| black_box(number).to_string())
    });
    c.bench_function("protocol_number_parse", |b| {
        b.iter(|| black_box("#00042").parse::<ProtocolNumber>().unwrap())
    });
}

criterion_group!(benches, bench_queue_head, bench_protocol_number);
criterion_main!(benches);

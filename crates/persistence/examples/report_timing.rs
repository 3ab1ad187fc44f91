//! Times the assignments report's count (`ReportStore::assignment_counts`) at 1,000 consultants
//! and 1,000,000 rotation protocols spread over the last 366 days, on PostgreSQL (from
//! `TEST_DATABASE_URL`) and on a SQLite file, for a 31-day and a 366-day period in a UTC-3 zone,
//! all languages and one language. Scratch databases, dropped at the end.
//!
//! `cargo run --release -p consultores-persistence --example report_timing --features testing`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveTime, TimeZone, Utc};
use consultores_domain::{Language, LocalDay, ReportRequest, ReportStore};
use consultores_persistence::testing::TestDatabase;
use consultores_persistence::Backend;

const FILL_POSTGRES: &str = "
    INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online)
    SELECT 'Consultor ' || n, true, true, true FROM generate_series(1, 1000) AS n;
    INSERT INTO protocolos (numero, consultor_id, idioma, created_at, updated_at)
    SELECT '#' || lpad(n::text, 7, '0'), 1 + n % 1000, (ARRAY['pt', 'en', 'es'])[1 + n % 3],
           now() - (n * 31 % 31622400) * interval '1 second', now()
    FROM generate_series(1, 1000000) AS n;
    UPDATE controle_protocolo SET ultimo_numero = 1000000 WHERE id = 1;
    ANALYZE;";

const FILL_SQLITE: &str = "
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
    INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online)
    SELECT 'Consultor ' || i, 1, 1, 1 FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
    INSERT INTO protocolos (numero, consultor_id, idioma, created_at, updated_at)
    SELECT '#' || substr('0000000' || i, -7), 1 + i % 1000,
           CASE i % 3 WHEN 0 THEN 'pt' WHEN 1 THEN 'en' ELSE 'es' END,
           strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || (i * 31 % 31622400) || ' seconds') || '.000000+00:00',
           strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00'
    FROM n;
    UPDATE controle_protocolo SET ultimo_numero = 1000000 WHERE id = 1;
    ANALYZE;";

/// `count` local days of UTC-3 ending today.
fn days(count: i64) -> Vec<LocalDay> {
    let today = (Utc::now() - Days::hours(3)).date_naive();
    (0..count)
        .rev()
        .map(|back| {
            let date = today - Days::days(back);
            let start = Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)) + Days::hours(3);
            LocalDay {
                date,
                start,
                end: start + Days::days(1),
            }
        })
        .collect()
}

fn median(test: &TestDatabase, request: &ReportRequest) -> (Duration, u64) {
    let db = test.database();
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let counts = db.assignment_counts(request).unwrap();
        times.push(started.elapsed());
        total = counts.iter().map(|count| count.count).sum();
    }
    times.sort();
    (times[2], total)
}

fn main() {
    for test in [TestDatabase::postgres(), TestDatabase::sqlite()] {
        let started = Instant::now();
        test.execute(match test.backend() {
            Backend::Postgres => FILL_POSTGRES,
            Backend::Sqlite => FILL_SQLITE,
        });
        if test.backend() == Backend::Postgres {
            // As autovacuum leaves a table: the visibility map set, for index-only scans.
            test.execute("VACUUM ANALYZE protocolos");
        }
        println!(
            "{:?}: 1000 consultants, 1000000 protocols in {:?}",
            test.backend(),
            started.elapsed()
        );
        for (label, count) in [("31 days", 31), ("366 days", 366)] {
            for language in [None, Some("pt")] {
                let request = ReportRequest {
                    days: days(count),
                    language: language.map(|code| Language::parse(code).unwrap()),
                };
                let (time, total) = median(&test, &request);
                println!(
                    "  {label}, idioma {}: {total} assignments counted, median of 5: {time:?}",
                    language.unwrap_or("(all)")
                );
            }
        }
    }
}

//! Times the rotation's assignment on a SQLite file with 10,000 consultants in three languages:
//! 6,000 speak `pt`, the 3,000 of them with the lowest ids (never served, so ahead of everyone)
//! outside their hours; 2,000 speak `en`, 2,000 `es`. Prints the first assignment (which, with
//! the per-language queue, evaluates everyone once) and the mean of the next ones, in `pt`.
//! Scratch database, deleted at the end. With `TIMING_NO_HOURS=1` nobody has hours (everyone
//! available: the cost of the upkeep when there is nothing to skip).
//!
//! `cargo run -p consultores-persistence --example sqlite_queue_timing --features testing`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use consultores_domain::{Actor, ApiKeyId, AssignmentPort, Language};
use consultores_persistence::testing::TestDatabase;

const FILL: &str = "
    WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
    INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online, horarios)
    SELECT 'Consultor ' || i, 1, 1, 1,
           CASE WHEN i <= 3000 THEN '[{\"dia\":2,\"inicio\":\"20:00\",\"fim\":\"21:00\"}]' END
    FROM n;
    INSERT INTO consultor_idiomas (consultor_id, idioma, posicao)
    SELECT id, CASE WHEN id <= 6000 THEN 'pt' WHEN id <= 8000 THEN 'en' ELSE 'es' END, 0
    FROM consultores;
    ANALYZE;";

const ASSIGNMENTS: i64 = 300;

fn main() {
    let no_hours = std::env::var("TIMING_NO_HOURS").is_ok_and(|value| value == "1");
    let test = TestDatabase::sqlite();
    if no_hours {
        test.execute(&FILL.replace("i <= 3000", "i < 0"));
    } else {
        test.execute(FILL);
    }
    let db = test.database();
    let actor = Actor::stored_key(ApiKeyId(1), Some("timing"), "req-timing");
    let pt = Language::parse("pt").unwrap();
    // Tuesday 2026-11-24, 12:00 in São Paulo: the first 3,000 work 20:00–21:00 only.
    let noon = Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap();
    let started = Instant::now();
    let first = db.assign_next(&pt, noon, None, &actor, None).unwrap();
    println!(
        "first assignment: {:.1} ms (consultant {})",
        started.elapsed().as_secs_f64() * 1e3,
        first.value.consultant.id.0
    );
    let started = Instant::now();
    for i in 1..=ASSIGNMENTS {
        let at = noon + Duration::milliseconds(i);
        let assigned = db.assign_next(&pt, at, None, &actor, None).unwrap();
        assert!(no_hours || assigned.value.consultant.id.0 > 3000);
    }
    println!(
        "next {ASSIGNMENTS} assignments: {:.3} ms each",
        started.elapsed().as_secs_f64() * 1e3 / ASSIGNMENTS as f64
    );
}

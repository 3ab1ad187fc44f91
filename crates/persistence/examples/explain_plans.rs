//! Prints the PostgreSQL query plans of the rotation (the assignment statement) and of
//! `GET /protocolos?consultor_id=` at 1,000 consultants and 1,000,000 protocols, on a scratch
//! database from `TEST_DATABASE_URL` (dropped at the end).
//!
//! `cargo run -p consultores-persistence --example explain_plans --features testing`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use consultores_persistence::testing::{TestDatabase, POSTGRES_ASSIGNMENT_STATEMENT};

fn main() {
    let test = TestDatabase::postgres();
    let started = Instant::now();
    test.execute(
        "INSERT INTO consultores (nome, status_ativo, status_ativo_sequencial, status_online, ultimo_atendimento)
         SELECT 'Consultor ' || n, n % 10 <> 0, n % 7 <> 0, n % 3 <> 0,
                CASE WHEN n % 50 = 0 THEN NULL ELSE now() - n * interval '1 minute' END
         FROM generate_series(1, 1000) AS n;
         INSERT INTO consultor_idiomas (consultor_id, idioma, posicao)
         SELECT id, (ARRAY['pt', 'en', 'es', 'fr'])[1 + id % 4], 0 FROM consultores;
         INSERT INTO consultor_idiomas (consultor_id, idioma, posicao)
         SELECT id, 'pt', 1 FROM consultores WHERE id % 4 = 2;
         INSERT INTO protocolos (numero, consultor_id, idioma, created_at, updated_at)
         SELECT '#' || CASE WHEN n < 100000 THEN lpad(n::text, 5, '0') ELSE n::text END, 1 + n % 1000, 'pt', now(), now()
         FROM generate_series(1, 1000000) AS n;
         UPDATE controle_protocolo SET ultimo_numero = 1000000 WHERE id = 1;",
    );
    test.execute("VACUUM ANALYZE");
    println!(
        "fixture: 1000 consultants, 1000000 protocols in {:?}\n",
        started.elapsed()
    );

    let rotation = POSTGRES_ASSIGNMENT_STATEMENT
        .replace("$1", "'pt'")
        .replace("$2", "now()")
        .replace("$3", "'America/Sao_Paulo'");
    // EXPLAIN ANALYZE runs the statement: inside a transaction that is rolled back.
    test.execute("CREATE TABLE plan_lines (n serial, line text)");
    test.execute(&format!(
        "DO $$ DECLARE plan_line text; BEGIN
           FOR plan_line IN EXECUTE $q$EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {rotation}$q$ LOOP
             INSERT INTO plan_lines (line) VALUES (plan_line);
           END LOOP;
           FOR plan_line IN EXECUTE $q$EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
               SELECT id, numero, consultor_id, idioma, descricao, prioridade, status, created_at, updated_at
               FROM protocolos WHERE consultor_id = 500 ORDER BY id ASC LIMIT 100 OFFSET 200$q$ LOOP
             INSERT INTO plan_lines (line) VALUES ('listing| ' || plan_line);
           END LOOP;
         END $$"
    ));
    let lines = test.query_strings("SELECT line AS value FROM plan_lines ORDER BY n");
    println!("== rotation (queue head of the assignment function, language 'pt') ==");
    for line in lines.iter().filter(|l| !l.starts_with("listing| ")) {
        println!("{line}");
    }
    println!("\n== GET /protocolos?consultor_id=500&skip=200&limit=100 ==");
    for line in lines.iter().filter_map(|l| l.strip_prefix("listing| ")) {
        println!("{line}");
    }
}

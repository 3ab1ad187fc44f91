//! Adopting a v6 database in place (PostgreSQL only: v6 never ran on SQLite).

use std::time::Instant;

use consultores_domain::{
    queue_head, ApiKeyScope, ApiKeyStore, Consultant, ConsultantFilter, ConsultantId,
    ConsultantRepository, ProtocolFilter, ProtocolRepository,
};
use consultores_persistence::testing::{now_micros, TestDatabase};

use crate::common::{actor, assign_next, count, counter, language};

const V6_SCHEMA: &str = include_str!("../fixtures/v6_schema.sql");

/// Consultants as they must read after adoption, computed from the v6 columns: languages
/// lowercased with first occurrences kept in order, "" contacts as none, NULL switches off.
const V6_CONSULTANTS_NORMALISED: &str = "\
SELECT concat_ws('|', c.id, c.nome, coalesce(nullif(btrim(c.email), ''), '-'),
                 coalesce(nullif(btrim(c.telefone), ''), '-'),
                 (SELECT string_agg(l.idioma, ',' ORDER BY l.ordem)
                    FROM (SELECT lower(u.idioma) AS idioma, min(u.ordem) AS ordem
                          FROM unnest(c.idiomas) WITH ORDINALITY AS u (idioma, ordem)
                          GROUP BY lower(u.idioma)) l),
                 coalesce(c.status_ativo, false), coalesce(c.status_ativo_sequencial, false),
                 coalesce(c.status_online, false), coalesce(c.ultimo_atendimento::text, '-'),
                 coalesce(c.id_pipedrive::text, '-')) AS value
FROM consultores c ORDER BY c.id";

const CONSULTANTS_ADOPTED: &str = "\
SELECT concat_ws('|', c.id, c.nome, coalesce(c.email, '-'), coalesce(c.telefone, '-'),
                 (SELECT string_agg(i.idioma, ',' ORDER BY i.posicao)
                    FROM consultor_idiomas i WHERE i.consultor_id = c.id),
                 c.status_ativo, c.status_ativo_sequencial, c.status_online,
                 coalesce(c.ultimo_atendimento::text, '-'), coalesce(c.id_pipedrive::text, '-')) AS value
FROM consultores c ORDER BY c.id";

const PROTOCOLS: &str = "\
SELECT concat_ws('|', id, numero, consultor_id, created_at) AS value FROM protocolos ORDER BY id";

fn build_v6(counter_row: Option<i64>) -> TestDatabase {
    let test = TestDatabase::postgres_unmigrated();
    test.execute(V6_SCHEMA);
    if let Some(value) = counter_row {
        test.execute(&format!(
            "INSERT INTO controle_protocolo (id, ultimo_numero, updated_at) VALUES (1, {value}, now())"
        ));
    }
    test
}

/// A v6 database (with or without its counter row) adopted by the migrations: every row kept,
/// the leftovers gone, numbering continued, keys hashed, and a second run a no-op. One
/// migration of a large database, checked aspect by aspect.
fn adopts_a_v6_database(counter_row: Option<i64>, next_number: &str) {
    let test = build_v6(counter_row);
    let consultants_before = test.query_strings(V6_CONSULTANTS_NORMALISED);
    let protocols_before = test.query_strings(PROTOCOLS);
    assert_eq!(
        (consultants_before.len(), protocols_before.len()),
        (1000, 10_000)
    );

    let started = Instant::now();
    let applied = test.migrate();
    println!(
        "adopted 1000 consultants, 10000 protocols, 3 keys in {:?} (migrations {applied:?})",
        started.elapsed()
    );
    assert!(!applied.is_empty());

    let listed = rows_are_carried_over(&test, &consultants_before, &protocols_before);
    v6_leftovers_are_gone(&test);
    numbering_continues_and_deletes_keep_protocols(&test, &listed, next_number);
    plain_keys_still_work_stored_hashed(&test);
    migrating_again_changes_nothing(&test);
}

fn rows_are_carried_over(
    test: &TestDatabase,
    consultants_before: &[String],
    protocols_before: &[String],
) -> Vec<Consultant> {
    // Every row carried over, values kept.
    assert_eq!(test.query_strings(CONSULTANTS_ADOPTED), consultants_before);
    assert_eq!(test.query_strings(PROTOCOLS), protocols_before);
    assert_eq!(count(test, "consultor_idiomas"), 1750);
    assert_eq!(count(test, "api_keys"), 3);
    let db = test.database();
    let listed = ConsultantRepository::list(&db, &ConsultantFilter::default()).unwrap();
    assert_eq!(listed.len(), 1000);
    let first = &listed[0];
    assert_eq!(
        first
            .languages
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>(),
        ["es", "en"],
        "['Es','EN','es','En'] lowercased, first occurrences in order"
    );
    assert_eq!(first.email, None, "\"\" read as no email");
    assert_eq!(
        ProtocolRepository::list(
            &db,
            &ProtocolFilter::new(Some(ConsultantId(8)), 0, 1000).unwrap()
        )
        .unwrap()
        .len(),
        10,
    );
    listed
}

fn v6_leftovers_are_gone(test: &TestDatabase) {
    // The v6 leftovers are gone.
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM pg_proc WHERE proname IN ('get_next_protocol_number', \
             'create_protocol_for_consultant', 'create_protocol_on_consultant_selection')"
        ),
        0
    );
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM pg_trigger WHERE NOT tgisinternal \
             AND tgname NOT IN ('protocolos_abertos_contagem', 'consultores_fila_reavaliar', \
             'consultores_fila_reavaliar_contagem', 'consultor_idiomas_fila')"
        ),
        0
    );
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM pg_class WHERE relname = 'seq_numero_protocolo'"
        ),
        0
    );
}

fn numbering_continues_and_deletes_keep_protocols(
    test: &TestDatabase,
    listed: &[Consultant],
    next_number: &str,
) {
    let db = test.database();
    // The next number continues after the highest; one assignment, one protocol (no trigger);
    // the queue order of the adopted pool is the policy's.
    let now = now_micros();
    let expected_head = queue_head(listed, &language("pt"), now).map(|c| c.id);
    let assigned = assign_next(&db, "pt", now).unwrap().value;
    assert_eq!(Some(assigned.consultant.id), expected_head);
    assert_eq!(assigned.protocol.number.to_string(), next_number);
    assert_eq!(count(test, "protocolos"), 10_001);

    // Deleting a consultant keeps their protocols (v6 cascaded).
    assert!(
        ConsultantRepository::soft_delete(&db, ConsultantId(8), now_micros(), &actor()).unwrap()
    );
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM protocolos WHERE consultor_id = 8"),
        10
    );
}

fn plain_keys_still_work_stored_hashed(test: &TestDatabase) {
    let db = test.database();
    // Plain keys still work, stored hashed; the inactive one stays refused.
    let key = db
        .authenticate("v6-plain-secret-key", now_micros())
        .unwrap()
        .unwrap();
    assert_eq!(key.scope, ApiKeyScope::Admin);
    assert_eq!(key.description.as_deref(), Some("AUTHENTICATION_API_KEY"));
    assert!(db
        .authenticate("n8n\\key-2024", now_micros())
        .unwrap()
        .is_some());
    assert_eq!(
        db.authenticate("v6-old-key\\with-backslash", now_micros())
            .unwrap(),
        None
    );
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM information_schema.columns \
             WHERE table_name = 'api_keys' AND column_name = 'key'"
        ),
        0
    );
    let keys = ApiKeyStore::list(&db).unwrap();
    assert_eq!(keys.iter().filter(|k| k.revoked_at.is_some()).count(), 1);
    // Stored with argon2id (slow, salted), and the plain text is gone.
    assert_eq!(
        test.query_i64(
            "SELECT count(*) AS value FROM api_keys \
             WHERE hash_kind = 'argon2id' AND key_hash LIKE '$argon2id$%'"
        ),
        3
    );
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM v6_chaves_a_converter"),
        0
    );
}

fn migrating_again_changes_nothing(test: &TestDatabase) {
    // Migrating again changes nothing.
    let consultants_after = test.query_strings(CONSULTANTS_ADOPTED);
    let protocols_after = test.query_strings(PROTOCOLS);
    let counter_after = counter(test);
    assert!(test.migrate().is_empty());
    assert_eq!(test.query_strings(CONSULTANTS_ADOPTED), consultants_after);
    assert_eq!(test.query_strings(PROTOCOLS), protocols_after);
    assert_eq!(counter(test), counter_after);
}

#[test]
fn adopts_a_v6_database_with_its_counter_row() {
    adopts_a_v6_database(Some(10_005), "#10006");
}

#[test]
fn adopts_a_v6_database_without_a_counter_row() {
    adopts_a_v6_database(None, "#10001");
}

#[test]
fn refuses_to_adopt_duplicate_emails_and_changes_nothing() {
    let test = build_v6(Some(10_000));
    test.execute(
        "UPDATE consultores SET email = 'Dup@Exemplo.com' WHERE id = 2; \
         UPDATE consultores SET email = 'dup@exemplo.COM' WHERE id = 3;",
    );
    let consultants_before = test.query_strings(V6_CONSULTANTS_NORMALISED);
    let error = test.database().run_migrations().unwrap_err().to_string();
    assert!(error.contains("dup@exemplo.com (ids 2, 3)"), "{error}");
    assert_eq!(
        test.query_strings(V6_CONSULTANTS_NORMALISED),
        consultants_before
    );
    assert_eq!(
        test.query_i64("SELECT count(*) AS value FROM pg_trigger WHERE NOT tgisinternal"),
        1,
        "the failed migration rolled back entirely"
    );
}

/// Adopting must fail with `expected` in the error, leaving the v6 database as it was.
fn refuses_to_adopt(test: &TestDatabase, expected: &[&str]) {
    let consultants_before = test.query_strings(V6_CONSULTANTS_NORMALISED);
    let protocols_before = test.query_strings(PROTOCOLS);
    let error = test.database().run_migrations().unwrap_err().to_string();
    for part in expected {
        assert!(error.contains(part), "{part:?} missing from: {error}");
    }
    assert_eq!(
        test.query_strings(V6_CONSULTANTS_NORMALISED),
        consultants_before
    );
    assert_eq!(test.query_strings(PROTOCOLS), protocols_before);
}

#[test]
fn trims_every_unicode_space_around_names_and_languages() {
    let test = build_v6(Some(10_000));
    test.execute(
        "UPDATE consultores SET nome = E'\\u00A0 Ana Souza\\t\\n\\u3000', \
                                idiomas = ARRAY[E'\\u00A0PT\\u2003', 'en'] WHERE id = 2",
    );
    test.migrate();
    let db = test.database();
    let listed = ConsultantRepository::list(&db, &ConsultantFilter::default()).unwrap();
    assert_eq!(listed.len(), 1000);
    let ana = ConsultantRepository::get(&db, ConsultantId(2))
        .unwrap()
        .unwrap();
    assert_eq!(ana.name.as_str(), "Ana Souza");
    let codes: Vec<&str> = ana.languages.iter().map(|l| l.as_str()).collect();
    assert_eq!(codes, ["pt", "en"]);
}

#[test]
fn refuses_names_the_service_cannot_read_and_lists_them() {
    let test = build_v6(Some(10_000));
    test.execute(
        "UPDATE consultores SET nome = E'Ana\\nSouza' WHERE id = 3; \
         UPDATE consultores SET nome = E'Bia\\tLima' WHERE id = 4; \
         UPDATE consultores SET nome = E'\\u00A0Al\\u00A0' WHERE id = 5;",
    );
    refuses_to_adopt(
        &test,
        &["names must have 3 to 255 characters", "3 (", "4 (", "5 ("],
    );
}

#[test]
fn refuses_protocol_numbers_the_service_cannot_read_and_lists_them() {
    let test = build_v6(Some(10_000));
    test.execute(
        "UPDATE protocolos SET numero = '#0042' WHERE id = 1; \
         UPDATE protocolos SET numero = '#00000' WHERE id = 2; \
         UPDATE protocolos SET numero = '#012345' WHERE id = 3;",
    );
    refuses_to_adopt(
        &test,
        &[
            "3 protocol numbers",
            "1 ('#0042')",
            "2 ('#00000')",
            "3 ('#012345')",
        ],
    );
}

#[test]
fn refuses_more_than_twenty_languages_and_lists_the_consultants() {
    let test = build_v6(Some(10_000));
    test.execute(
        "UPDATE consultores SET idiomas = ARRAY(SELECT 'l' || chr(97 + n / 26) || chr(97 + n % 26) \
                                               FROM generate_series(0, 20) n) WHERE id = 6",
    );
    refuses_to_adopt(
        &test,
        &["more than 20 distinct languages", "consultor 6 (21)"],
    );
}

#[test]
fn adopted_keys_are_hashed_as_they_are_presented() {
    let test = build_v6(Some(10_000));
    test.execute("UPDATE api_keys SET key = E'  chave-com-espacos\\t ' WHERE id = 3");
    test.migrate();
    let db = test.database();
    let key = db.authenticate("chave-com-espacos", now_micros()).unwrap();
    assert_eq!(key.map(|key| key.id.0), Some(3));
    assert_eq!(
        db.authenticate("chave-com-espaco", now_micros()).unwrap(),
        None
    );
    // A generated key still works, found by its SHA-256.
    let new = consultores_domain::NewApiKey {
        description: None,
        scope: ApiKeyScope::Read,
    };
    let (_, secret) = ApiKeyStore::create(&db, &new, now_micros(), &actor()).unwrap();
    assert!(db.authenticate(&secret, now_micros()).unwrap().is_some());
}

//! What must hold in the tables after any load, crash or outage, checked with plain SQL that
//! runs on both backends: numbers gapless and unique, every answered protocol stored exactly once,
//! no half-done assignment, a fair rotation.

use std::collections::{BTreeMap, HashMap, HashSet};

use consultores_persistence::testing::TestDatabase;

use crate::http::Outcome;

/// Something that answers SQL whose single column is named `value` and is TEXT.
pub trait SqlProbe {
    /// The `value` of every row.
    fn strings(&self, sql: &str) -> Vec<String>;

    /// The `value` of the first row, as an integer.
    fn int(&self, sql: &str) -> i64 {
        let rows = self.strings(sql);
        let first = rows.first().unwrap_or_else(|| panic!("no row for: {sql}"));
        first
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not an integer ({first:?}) for: {sql}"))
    }
}

impl SqlProbe for TestDatabase {
    fn strings(&self, sql: &str) -> Vec<String> {
        self.query_strings(sql)
    }
}

/// A protocol row as the checks read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolRow {
    pub id: i64,
    pub number: String,
    pub consultant: Option<i64>,
    pub language: Option<String>,
}

/// Every protocol, by id.
pub fn protocols(db: &impl SqlProbe) -> Vec<ProtocolRow> {
    db.strings(
        "SELECT CAST(id AS TEXT) || '|' || numero || '|' || \
                COALESCE(CAST(consultor_id AS TEXT), '') || '|' || COALESCE(idioma, '') AS value \
         FROM protocolos ORDER BY id",
    )
    .into_iter()
    .map(|line| {
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 4, "unexpected row {line:?}");
        ProtocolRow {
            id: parts[0].parse().expect("id"),
            number: parts[1].to_owned(),
            consultant: (!parts[2].is_empty()).then(|| parts[2].parse().expect("consultor_id")),
            language: (!parts[3].is_empty()).then(|| parts[3].to_owned()),
        }
    })
    .collect()
}

/// The counter of `#NNNNN` (`#00042` → 42).
pub fn number_value(number: &str) -> u64 {
    number
        .strip_prefix('#')
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("not a protocol number: {number:?}"))
}

/// Numbers are unique and contiguous from `#00001`, and the counter row says how many were
/// given. Returns the rows.
pub fn assert_gapless(db: &impl SqlProbe) -> Vec<ProtocolRow> {
    let rows = protocols(db);
    let mut values: Vec<u64> = rows.iter().map(|row| number_value(&row.number)).collect();
    values.sort_unstable();
    let expected: Vec<u64> = (1..=rows.len() as u64).collect();
    if values != expected {
        let seen: HashSet<u64> = values.iter().copied().collect();
        let missing: Vec<u64> = expected
            .iter()
            .filter(|n| !seen.contains(n))
            .take(10)
            .copied()
            .collect();
        let mut duplicates = values.clone();
        duplicates.dedup();
        panic!(
            "protocol numbers are not 1..={}: {} distinct, first missing {missing:?}",
            rows.len(),
            duplicates.len()
        );
    }
    let counter = db.int("SELECT CAST(ultimo_numero AS TEXT) AS value FROM controle_protocolo");
    assert_eq!(
        counter,
        rows.len() as i64,
        "the counter row disagrees with the protocols stored"
    );
    rows
}

/// Every 200 answer of the rotation names a stored protocol with the same id, number,
/// consultant and language, and no protocol was answered twice. Returns how many stored rows no
/// answer names (work whose answer never reached the client: a killed process, a lost
/// connection).
pub fn assert_answers_stored(rows: &[ProtocolRow], answers: &[&Outcome]) -> usize {
    let by_id: HashMap<i64, &ProtocolRow> = rows.iter().map(|row| (row.id, row)).collect();
    let mut answered: HashSet<i64> = HashSet::new();
    for answer in answers {
        let id = answer
            .protocol_id()
            .unwrap_or_else(|| panic!("a 200 without protocolo_id: {}", answer.body));
        assert!(
            answered.insert(id),
            "protocol {id} was handed out twice ({})",
            answer.body
        );
        let row = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("answered protocol {id} is not stored: {}", answer.body));
        assert_eq!(
            Some(row.number.as_str()),
            answer.protocol_number(),
            "number of protocol {id}"
        );
        assert_eq!(
            row.consultant,
            answer.consultant_id(),
            "consultant of protocol {id}"
        );
    }
    rows.len() - answered.len()
}

/// No half-done assignment: every rotation protocol (with a language) has its consultant, and
/// each consultant who got one carries the stamp of the latest (`ultimo_atendimento` equals that
/// protocol's `created_at`, written in the same transaction).
pub fn assert_no_half_done_assignment(db: &impl SqlProbe) {
    let orphans = db.int(
        "SELECT CAST(count(*) AS TEXT) AS value FROM protocolos \
         WHERE idioma IS NOT NULL AND consultor_id IS NULL",
    );
    assert_eq!(orphans, 0, "rotation protocols without a consultant");
    let unstamped = db.strings(
        "SELECT CAST(c.id AS TEXT) AS value FROM consultores c \
         WHERE EXISTS (SELECT 1 FROM protocolos p WHERE p.consultor_id = c.id AND p.idioma IS NOT NULL) \
           AND (c.ultimo_atendimento IS NULL OR c.ultimo_atendimento <> \
                (SELECT max(p.created_at) FROM protocolos p \
                 WHERE p.consultor_id = c.id AND p.idioma IS NOT NULL))",
    );
    assert!(
        unstamped.is_empty(),
        "consultants whose stamp is not their latest assignment: {unstamped:?}"
    );
}

/// Rotation assignments per consultant, from the table.
pub fn assignments_per_consultant(rows: &[ProtocolRow]) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for row in rows.iter().filter(|row| row.language.is_some()) {
        if let Some(consultant) = row.consultant {
            *counts.entry(consultant).or_default() += 1;
        }
    }
    counts
}

/// The fairness of one group of consultants who speak the same languages and stayed online the
/// whole time: each assignment of the group went to its member who had waited longest, so the
/// members' counts differ by at most one. Returns (group, min, max) for the report.
pub fn assert_fair(
    groups: &BTreeMap<String, Vec<i64>>,
    counts: &HashMap<i64, usize>,
) -> Vec<(String, usize, usize)> {
    let mut spreads = Vec::new();
    for (group, members) in groups {
        let got: Vec<usize> = members
            .iter()
            .map(|id| counts.get(id).copied().unwrap_or(0))
            .collect();
        let min = got.iter().copied().min().unwrap_or(0);
        let max = got.iter().copied().max().unwrap_or(0);
        assert!(
            max - min <= 1,
            "unfair rotation in group {group}: counts {got:?} of members {members:?}"
        );
        spreads.push((group.clone(), min, max));
    }
    spreads
}

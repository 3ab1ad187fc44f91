//! Rolling upgrades: while a new release rolls out, replicas of the previous release keep
//! running against the schema the new one migrated. So a migration after the first release
//! only expands the schema (new tables, new nullable or defaulted columns, new indexes, new or
//! replaced functions); whatever removes or reshapes what the previous release reads or writes
//! (dropping or renaming a table or column, changing a type, adding NOT NULL to an existing
//! column) waits for a later release, when no replica of the release that used it is left,
//! and says so on its first line with `-- contract:` and the release that stopped using it.
//! A type change that only widens a column (a longer `VARCHAR`) is an expansion: the previous
//! release reads and writes it as before; the statement says so in a trailing `-- widens:`.

use std::path::Path;

/// Statements that break the previous release's queries.
const CONTRACTING: [&str; 6] = [
    "DROP TABLE",
    "DROP COLUMN",
    "RENAME ",
    "SET NOT NULL",
    "DROP VIEW",
    "DROP FUNCTION",
];

/// The first release's migration adopts v6 in place (drops v6's trigger and functions); the
/// rule starts after it.
const FIRST_RELEASE: &str = "2026-01-01-000000_initial";

#[test]
fn migrations_after_the_first_release_only_expand_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut checked = 0;
    for backend in ["postgres", "sqlite"] {
        let mut names: Vec<String> = std::fs::read_dir(root.join(backend))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.first().map(String::as_str), Some(FIRST_RELEASE));
        for name in names.iter().filter(|name| name.as_str() > FIRST_RELEASE) {
            let sql =
                std::fs::read_to_string(root.join(backend).join(name).join("up.sql")).unwrap();
            if sql.trim_start().starts_with("-- contract:") {
                continue;
            }
            let upper = sql
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
                .to_uppercase();
            for line in upper.lines() {
                assert!(
                    !(line.contains("ALTER COLUMN")
                        && line.contains(" TYPE ")
                        && !line.contains("-- WIDENS:")),
                    "{backend}/{name} changes a column's type: {line}"
                );
            }
            for statement in CONTRACTING {
                assert!(
                    !upper.contains(statement),
                    "{backend}/{name} contains {statement:?}: replicas of the previous release \
                     still use the schema during a rolling update; expand now and contract in \
                     a later release (first line `-- contract: <why it is safe now>`)"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "checked {checked} migrations");
}

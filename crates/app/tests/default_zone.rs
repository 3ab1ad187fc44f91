//! `consultores serve` records its `DEFAULT_TIME_ZONE` at start-up, before it listens, and says
//! in one log line when the zone differs from the one recorded (the persistence tests check
//! what the change does to the queue on both backends).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The log lines of `serve` on an SQLite file in `dir` with `zone`, up to the one saying it
/// listens; then the process is stopped.
fn start_until_listening(dir: &Path, zone: &str) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_consultores"))
        .arg("serve")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("consultores.db").display()),
        )
        .env("PORT", free_port().to_string())
        .env(
            "AUTHENTICATION_API_KEY",
            "chave-de-teste-do-fuso-padrao-0123456789",
        )
        .env("DEFAULT_TIME_ZONE", zone)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let listening = line.contains(r#""msg":"listening""#);
        lines.push(line);
        if listening {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lines
            .iter()
            .any(|line| line.contains(r#""msg":"listening""#)),
        "{lines:#?}"
    );
    lines
}

/// A port nothing listens on now (PORT must be 1 to 65535).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn zone_changes(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|line| line.contains("default time zone changed"))
        .collect()
}

#[test]
fn a_start_with_another_default_zone_says_so_once_and_a_start_with_the_same_one_does_not() {
    let dir = std::env::temp_dir().join(format!("consultores-zone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let first = start_until_listening(&dir, "UTC");
    let changes = zone_changes(&first);
    assert_eq!(changes.len(), 1, "{first:#?}");
    assert!(
        changes[0].contains(r#""previous":"none""#),
        "{}",
        changes[0]
    );
    assert!(
        changes[0].contains(r#""default_time_zone":"UTC""#),
        "{}",
        changes[0]
    );

    let same = start_until_listening(&dir, "UTC");
    assert!(zone_changes(&same).is_empty(), "{same:#?}");

    let other = start_until_listening(&dir, "Europe/Lisbon");
    let changes = zone_changes(&other);
    assert_eq!(changes.len(), 1, "{other:#?}");
    assert!(changes[0].contains(r#""previous":"UTC""#), "{}", changes[0]);
    assert!(
        changes[0].contains(r#""default_time_zone":"Europe/Lisbon""#),
        "{}",
        changes[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

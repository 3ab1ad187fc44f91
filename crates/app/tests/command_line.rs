//! The built binary's command line: help lists the configuration, and a bad value stops it
//! with one line naming the variable (never the value of a secret), exit status 2.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::process::{Command, Output};

fn consultores(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!("consultores-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Command::new(env!("CARGO_BIN_EXE_consultores"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        // No `.env` of the developer's is read.
        .current_dir(&dir)
        .output()
        .unwrap()
}

#[test]
fn serve_help_lists_the_settings_with_their_defaults() {
    let output = consultores(&["serve", "--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "[env: DATABASE_URL",
        "[env: PORT=",
        "[default: 8000]",
        "[env: AUDIT_RETENTION_DAYS",
        "[env: PIPEDRIVE_NOTE_AS_CONSULTANT",
    ] {
        assert!(help.contains(expected), "{expected}:\n{help}");
    }
}

#[test]
fn help_never_shows_the_value_of_a_secret() {
    let output = consultores(
        &["--help"],
        &[
            ("AUTHENTICATION_API_KEY", "segredo-da-chave"),
            ("DATABASE_URL", "postgres://app:segredo-do-banco@db/app"),
        ],
    );
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("[env: AUTHENTICATION_API_KEY]"), "{help}");
    assert!(!help.contains("segredo"), "{help}");
}

#[test]
fn a_bad_value_stops_with_one_line_naming_the_variable() {
    for (variable, value, shown) in [
        ("PORT", "abc", "abc"),
        ("DB_POOL_SIZE", "-1", "-1"),
        ("LOG_BODIES", "talvez", "talvez"),
        ("AUDIT_RETENTION_DAYS", "0", "0"),
        ("DATABASE_URL", "mysql://root:segredo@db/app", "mysql"),
        ("DATABASE_URL", "x.db", "sqlite://"),
        ("PIPEDRIVE_API_TOKEN", "segredo com espaço", "Pipedrive"),
    ] {
        let output = consultores(&["migrate"], &[(variable, value)]);
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("consultores: invalid configuration: {variable}: ")),
            "{stderr}"
        );
        assert!(stderr.contains(shown), "{stderr}");
        assert!(!stderr.contains("segredo"), "{stderr}");
    }
}

#[test]
fn a_mistake_across_settings_names_the_missing_one() {
    let output = consultores(&["migrate"], &[("POSTGRES_HOST", "db")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim_end(),
        "consultores: invalid configuration: POSTGRES_USERNAME: must be set when POSTGRES_HOST is"
    );
}

//! The configuration's checks, through the same parser the binary uses. Values are given as
//! `(VARIABLE, value)` pairs and passed as the variable's command-line option (the process
//! environment is shared by every test thread), blank ones left out as the environment's are.

use std::ffi::OsStr;

use clap::{CommandFactory, Parser};
use consultores_domain::Zone;
use secrecy::ExposeSecret;

use super::settings::DEFAULT_DATABASE_URL;
use super::*;
use crate::cli::Cli;

/// The option of the variable `name`.
fn option_of(name: &str) -> String {
    let command = Cli::command();
    let long = command
        .get_arguments()
        .find(|arg| arg.get_env() == Some(OsStr::new(name)))
        .and_then(|arg| arg.get_long())
        .unwrap_or_else(|| panic!("no option reads {name}"));
    format!("--{long}")
}

fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut args = vec!["consultores".to_owned()];
    for (index, (name, value)) in pairs.iter().enumerate() {
        // A variable set again later wins, as in an environment.
        let set_again = pairs[index + 1..].iter().any(|(later, _)| later == name);
        if !set_again && !is_blank(OsStr::new(name), OsStr::new(value)) {
            args.push(format!("{}={value}", option_of(name)));
        }
    }
    let without_environment = Cli::command().mut_args(|arg| arg.env(None::<&'static str>));
    match parse(without_environment, args) {
        Ok((_, config)) => Ok(config),
        Err(Rejected::Invalid(error)) => Err(error),
        Err(Rejected::Usage(error)) => panic!("{error}"),
    }
}

#[test]
fn no_configuration_means_embedded_sqlite_on_localhost_8000() {
    let cfg = config(&[]).unwrap();
    assert_eq!(cfg.database_url.expose_secret(), DEFAULT_DATABASE_URL);
    assert_eq!(cfg.host, "127.0.0.1");
    assert_eq!(cfg.port, 8000);
    assert!(cfg.api_key.is_none());
    assert_eq!(cfg.log_level, LogLevel::Info);
    assert!(cfg.cors_origins.is_empty());
}

#[test]
fn v6_postgres_variables_build_a_url_with_an_encoded_password() {
    let cfg = config(&[
        ("POSTGRES_HOST", "db"),
        ("POSTGRES_PORT", "5433"),
        ("POSTGRES_USERNAME", "app"),
        ("POSTGRES_PASSWORD", "p@ss:w/rd"),
        ("POSTGRES_DATABASE", "consultores"),
    ])
    .unwrap();
    assert_eq!(
        cfg.database_url.expose_secret(),
        "postgres://app:p%40ss%3Aw%2Frd@db:5433/consultores"
    );
    assert_eq!(
        cfg.redacted_database_url(),
        "postgres://app:***@db:5433/consultores"
    );
}

#[test]
fn v6_postgres_variables_take_the_tls_settings() {
    let cfg = config(&[
        ("POSTGRES_HOST", "db.example.com"),
        ("POSTGRES_USERNAME", "app"),
        ("POSTGRES_DATABASE", "consultores"),
        ("POSTGRES_SSLMODE", "verify-full"),
        ("POSTGRES_SSLROOTCERT", "/etc/consultores/root ca+1.pem"),
    ])
    .unwrap();
    assert_eq!(
        cfg.database_url.expose_secret(),
        "postgres://app@db.example.com:5432/consultores?sslmode=verify-full\
         &sslrootcert=/etc/consultores/root%20ca%2B1.pem"
    );
}

#[test]
fn database_session_limits_have_defaults_and_bounds() {
    let cfg = config(&[]).unwrap();
    assert_eq!(cfg.statement_timeout, Duration::from_secs(10));
    assert_eq!(cfg.lock_timeout, Duration::from_secs(5));
    assert!(!cfg.transaction_pooler);
    let cfg = config(&[
        ("DB_STATEMENT_TIMEOUT_MS", "2500"),
        ("DB_LOCK_TIMEOUT_MS", "1000"),
        ("DB_TRANSACTION_POOLER", "true"),
    ])
    .unwrap();
    assert_eq!(cfg.statement_timeout, Duration::from_millis(2500));
    assert_eq!(cfg.lock_timeout, Duration::from_secs(1));
    assert!(cfg.transaction_pooler);
    let error = config(&[("DB_LOCK_TIMEOUT_MS", "0")]).unwrap_err();
    assert_eq!(error.variable, "DB_LOCK_TIMEOUT_MS");
}

#[test]
fn database_url_wins_over_postgres_variables() {
    let cfg = config(&[("DATABASE_URL", "sqlite://x.db"), ("POSTGRES_HOST", "db")]).unwrap();
    assert_eq!(cfg.database_url.expose_secret(), "sqlite://x.db");
}

#[test]
fn unsupported_database_url_names_the_variable() {
    let err = config(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
    assert_eq!(err.variable, "DATABASE_URL");
}

#[test]
fn postgres_host_without_database_is_rejected() {
    let err = config(&[("POSTGRES_HOST", "db"), ("POSTGRES_USERNAME", "u")]).unwrap_err();
    assert_eq!(err.variable, "POSTGRES_DATABASE");
}

#[test]
fn bad_numbers_name_the_variable_and_the_value() {
    for (name, value) in [("PORT", "abc"), ("PORT", "0"), ("DB_POOL_SIZE", "-1")] {
        let err = config(&[(name, value)]).unwrap_err();
        assert_eq!(err.variable, name);
        assert!(err.to_string().contains(value), "{err}");
    }
}

#[test]
fn booleans_and_levels_are_parsed_case_insensitively() {
    let cfg = config(&[("LOG_BODIES", "TRUE"), ("LOG_LEVEL", "Warning")]).unwrap();
    assert!(cfg.log_bodies);
    assert_eq!(cfg.log_level, LogLevel::Warning);
    assert_eq!(
        config(&[("LOG_BODIES", "maybe")]).unwrap_err().variable,
        "LOG_BODIES"
    );
    assert_eq!(
        config(&[("LOG_LEVEL", "loud")]).unwrap_err().variable,
        "LOG_LEVEL"
    );
}

#[test]
fn cors_origins_are_a_validated_list() {
    let cfg = config(&[(
        "CORS_ORIGINS",
        "https://a.example.com, http://b.example.com/",
    )])
    .unwrap();
    assert_eq!(
        cfg.cors_origins,
        vec!["https://a.example.com", "http://b.example.com"]
    );
    assert_eq!(
        config(&[("CORS_ORIGINS", "not an origin")])
            .unwrap_err()
            .variable,
        "CORS_ORIGINS"
    );
}

#[test]
fn default_time_zone_is_sao_paulo_unless_an_iana_name_is_set() {
    assert_eq!(config(&[]).unwrap().default_time_zone, Zone::SAO_PAULO);
    assert_eq!(
        config(&[("DEFAULT_TIME_ZONE", "Europe/Lisbon")])
            .unwrap()
            .default_time_zone
            .name(),
        "Europe/Lisbon"
    );
    let err = config(&[("DEFAULT_TIME_ZONE", "Lua/Base")]).unwrap_err();
    assert_eq!(err.variable, "DEFAULT_TIME_ZONE");
}

#[test]
fn audit_retention_is_forever_by_default_and_a_number_of_days_when_set() {
    assert_eq!(config(&[]).unwrap().audit_retention_days, None);
    assert_eq!(
        config(&[("AUDIT_RETENTION_DAYS", " ")])
            .unwrap()
            .audit_retention_days,
        None
    );
    assert_eq!(
        config(&[("AUDIT_RETENTION_DAYS", "90")])
            .unwrap()
            .audit_retention_days,
        Some(90)
    );
    for bad in ["0", "-1", "noventa", "1.5", "36501"] {
        let err = config(&[("AUDIT_RETENTION_DAYS", bad)]).unwrap_err();
        assert_eq!(err.variable, "AUDIT_RETENTION_DAYS");
        let line = err.to_string();
        assert!(
            line.contains("AUDIT_RETENTION_DAYS") && line.contains(bad),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

fn pipedrive_config(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut pairs = vec![
        ("PIPEDRIVE_API_TOKEN", TOKEN),
        ("PIPEDRIVE_BASE_URL", "https://acme.pipedrive.com"),
    ];
    pairs.extend_from_slice(extra);
    config(&pairs)
}

#[test]
fn pipedrive_is_off_without_a_token() {
    assert!(config(&[]).unwrap().pipedrive.is_none());
    let cfg = config(&[
        ("PIPEDRIVE_API_TOKEN", " "),
        ("PIPEDRIVE_BASE_URL", "not checked while off"),
    ])
    .unwrap();
    assert!(cfg.pipedrive.is_none());
}

#[test]
fn pipedrive_with_a_token_and_a_domain_has_defaults() {
    let settings = pipedrive_config(&[]).unwrap().pipedrive.unwrap();
    assert_eq!(settings.api_token.expose_secret(), TOKEN);
    assert_eq!(settings.base_url.as_str(), "https://acme.pipedrive.com/");
    assert_eq!(settings.timeout, Duration::from_secs(10));
    assert!(settings.webhook.is_none());
    assert_eq!(settings.language_field, None);
    assert_eq!(settings.default_language, None);
    assert!(!settings.note_as_consultant);
}

#[test]
fn pipedrive_settings_are_read() {
    let settings = pipedrive_config(&[
        ("PIPEDRIVE_TIMEOUT_SECS", "3"),
        ("PIPEDRIVE_WEBHOOK_USER", "pipedrive"),
        ("PIPEDRIVE_WEBHOOK_PASSWORD", "s3nh@"),
        (
            "PIPEDRIVE_LANGUAGE_FIELD",
            "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        ),
        ("PIPEDRIVE_DEFAULT_LANGUAGE", "PT-BR"),
        ("PIPEDRIVE_NOTE_AS_CONSULTANT", "true"),
    ])
    .unwrap()
    .pipedrive
    .unwrap();
    assert_eq!(settings.timeout, Duration::from_secs(3));
    let webhook = settings.webhook.unwrap();
    assert_eq!(webhook.user, "pipedrive");
    assert_eq!(webhook.password.expose_secret(), "s3nh@");
    assert_eq!(
        settings.language_field.as_deref(),
        Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
    );
    assert_eq!(settings.default_language.unwrap().as_str(), "pt-br");
    assert!(settings.note_as_consultant);
}

#[test]
fn pipedrive_mistakes_name_the_variable_on_one_line_without_secrets() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PIPEDRIVE_API_TOKEN", TOKEN)], "PIPEDRIVE_BASE_URL"),
        (
            &[("PIPEDRIVE_BASE_URL", "acme.pipedrive.com")],
            "PIPEDRIVE_BASE_URL",
        ),
        (
            &[("PIPEDRIVE_BASE_URL", "ftp://acme.pipedrive.com")],
            "PIPEDRIVE_BASE_URL",
        ),
        (&[("PIPEDRIVE_TIMEOUT_SECS", "0")], "PIPEDRIVE_TIMEOUT_SECS"),
        (
            &[("PIPEDRIVE_WEBHOOK_USER", "pipedrive")],
            "PIPEDRIVE_WEBHOOK_PASSWORD",
        ),
        (
            &[("PIPEDRIVE_WEBHOOK_PASSWORD", "segredo-do-webhook")],
            "PIPEDRIVE_WEBHOOK_USER",
        ),
        (
            &[
                ("PIPEDRIVE_WEBHOOK_USER", "pipe:drive"),
                ("PIPEDRIVE_WEBHOOK_PASSWORD", "segredo-do-webhook"),
            ],
            "PIPEDRIVE_WEBHOOK_USER",
        ),
        (
            &[("PIPEDRIVE_DEFAULT_LANGUAGE", "português")],
            "PIPEDRIVE_DEFAULT_LANGUAGE",
        ),
    ];
    for (extra, variable) in cases {
        let result = if extra.iter().any(|(name, _)| *name == "PIPEDRIVE_API_TOKEN") {
            config(extra)
        } else {
            pipedrive_config(extra)
        };
        let error = result.unwrap_err();
        assert_eq!(error.variable, *variable, "{extra:?}");
        let line = error.to_string();
        assert!(line.contains(variable) && !line.contains('\n'), "{line}");
        assert!(!line.contains(TOKEN), "{line}");
        assert!(!line.contains("segredo-do-webhook"), "{line}");
    }
    let error = config(&[
        ("PIPEDRIVE_API_TOKEN", "abc def"),
        ("PIPEDRIVE_BASE_URL", "https://acme.pipedrive.com"),
    ])
    .unwrap_err();
    assert_eq!(error.variable, "PIPEDRIVE_API_TOKEN");
    assert!(!error.to_string().contains("abc def"));
}

#[test]
fn debug_never_shows_a_secret() {
    let cfg = pipedrive_config(&[
        ("PIPEDRIVE_WEBHOOK_USER", "pipedrive"),
        ("PIPEDRIVE_WEBHOOK_PASSWORD", "segredo-do-webhook"),
        ("AUTHENTICATION_API_KEY", "segredo-da-chave"),
        ("DATABASE_URL", "postgres://app:segredo-do-banco@db/app"),
    ])
    .unwrap();
    let shown = format!("{cfg:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains("segredo"), "{shown}");
    assert!(shown.contains("acme.pipedrive.com"));
    assert_eq!(cfg.redacted_database_url(), "postgres://app:***@db/app");
    let settings = Cli::try_parse_from(["consultores", "--postgres-password=segredo-do-banco"])
        .map(|cli| format!("{cli:?}"))
        .unwrap_or_default();
    assert!(!settings.contains("segredo"), "{settings}");
}

#[test]
fn blank_api_key_counts_as_unset() {
    assert!(config(&[("AUTHENTICATION_API_KEY", "  ")])
        .unwrap()
        .api_key
        .is_none());
}

#[test]
fn database_url_follows_the_one_rule_of_the_database_layer() {
    for accepted in ["sqlite://x.db", "sqlite:x.db", "postgres://u@db/app"] {
        assert!(config(&[("DATABASE_URL", accepted)]).is_ok(), "{accepted}");
    }
    for refused in [
        "x.db",
        "./data/consultores.db",
        "mysql://root:segredo@db/app",
        "postgres://u:segredo@db/app?ssl=true",
    ] {
        let error = config(&[("DATABASE_URL", refused)]).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL", "{refused}");
        let line = error.to_string();
        assert!(!line.contains('\n') && !line.contains("segredo"), "{line}");
        assert!(line.contains("sqlite://"), "{line}");
    }
}

#[test]
fn a_blank_variable_counts_as_unset() {
    // Read by this test alone.
    const VARIABLE: &str = "CONSULTORES_TEST_BLANK_SETTING";
    std::env::set_var(VARIABLE, "  ");
    let arg = ignore_blank_env(clap::Arg::new("x").long("x").env(VARIABLE));
    assert_eq!(arg.get_env(), None, "a blank value is ignored");
    std::env::set_var(VARIABLE, "8000");
    let arg = ignore_blank_env(clap::Arg::new("x").long("x").env(VARIABLE));
    assert_eq!(arg.get_env(), Some(OsStr::new(VARIABLE)));
    std::env::remove_var(VARIABLE);
    assert!(is_blank(OsStr::new("PORT"), OsStr::new(" \t")));
    assert!(!is_blank(OsStr::new("POSTGRES_PASSWORD"), OsStr::new(" ")));
    assert!(is_blank(OsStr::new("POSTGRES_PASSWORD"), OsStr::new("")));
}

/// The variables the README's configuration table names, in its first column.
fn readme_variables() -> Vec<String> {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap_or_default();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split(" | ").next())
        .flat_map(|cell| cell.split(", "))
        .map(|name| name.trim_matches('`').to_owned())
        .collect()
}

#[test]
fn help_lists_every_variable_of_the_readme_with_its_default() {
    let variables = readme_variables();
    assert!(variables.len() >= 35, "{variables:?}");
    let mut command = Cli::command();
    command.build();
    let top = command.render_long_help().to_string();
    let serve = command
        .find_subcommand_mut("serve")
        .map(|serve| serve.render_long_help().to_string())
        .unwrap_or_default();
    for help in [&top, &serve] {
        for variable in &variables {
            assert!(
                help.contains(&format!("env: {variable}")),
                "{variable}:\n{help}"
            );
        }
        for default in ["[default: 8000]", "[default: 127.0.0.1]", "[default: info]"] {
            assert!(help.contains(default), "{default}:\n{help}");
        }
    }
    // Every declared variable is in the README's table too.
    for arg in command.get_arguments() {
        if let Some(variable) = arg.get_env() {
            let variable = variable.to_string_lossy();
            assert!(
                variables.iter().any(|listed| *listed == variable),
                "{variable} is not in the README's table"
            );
        }
    }
}

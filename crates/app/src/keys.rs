//! `consultores api-key …`: managing stored API keys from the command line.

use std::io::Write;

use consultores_domain::{Actor, ApiKeyId, ApiKeyStore, NewApiKey};

use crate::cli::ApiKeyCommand;
use crate::config::Config;
use crate::startup::{self, StartupError};

pub fn run(config: &Config, command: ApiKeyCommand) -> Result<(), StartupError> {
    let database = startup::connect(config)?;
    startup::migrate_when_ready(&database, config.startup_timeout, |_, _| {})?;
    let now = chrono::Utc::now();
    // Recorded in the audit trail as the command line; one id per run.
    let actor = Actor::cli(format!("cli-{}", uuid::Uuid::now_v7()));
    let mut out = std::io::stdout().lock();
    match command {
        ApiKeyCommand::Create { description, scope } => {
            let new = NewApiKey {
                description: Some(description),
                scope: scope.into(),
            };
            let (key, secret) = database.create(&new, now, &actor)?;
            writeln!(out, "{secret}")?;
            eprintln!(
                "Created API key {} (scope {}). Send it in the `api-key` header; it is shown only \
                 this once and only its hash is stored.",
                key.id.0, key.scope
            );
        }
        ApiKeyCommand::List => {
            writeln!(
                out,
                "{:>5}  {:<12}  {:<25}  {:<25}  {:<25}  DESCRIPTION",
                "ID", "SCOPE", "CREATED", "LAST USED", "REVOKED"
            )?;
            let format = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or_else(
                    || "-".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                )
            };
            for key in database.list()? {
                writeln!(
                    out,
                    "{:>5}  {:<12}  {:<25}  {:<25}  {:<25}  {}",
                    key.id.0,
                    key.scope.as_str(),
                    format(Some(key.created_at)),
                    format(key.last_used_at),
                    format(key.revoked_at),
                    key.description.as_deref().unwrap_or("-"),
                )?;
            }
        }
        ApiKeyCommand::Revoke { id } => {
            if database.revoke(ApiKeyId(id), now, &actor)? {
                eprintln!("Revoked API key {id}.");
            } else {
                return Err(consultores_domain::DomainError::ApiKeyNotFound.into());
            }
        }
    }
    Ok(())
}

//! The command line.

use clap::{Parser, Subcommand, ValueEnum};

/// consultores: hands each incoming contact to the consultant who has waited longest and keeps
/// a numbered protocol of every hand-off.
///
/// Configuration comes from environment variables (and an optional .env file in the working
/// directory), each listed below with its default, or from the option of the same name. With
/// no configuration at all the service keeps its data in ./data/consultores.db (SQLite) and
/// listens on http://127.0.0.1:8000.
#[derive(Debug, Parser)]
#[command(name = "consultores", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub settings: crate::config::Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Applies pending database migrations, then serves the HTTP API (the default command).
    Serve,
    /// Applies pending database migrations (also adopts a v6 database in place) and exits.
    Migrate,
    /// Manages the API keys stored in the database (only their hashes are stored).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Exits 0 if the service at HOST:PORT answers /health (for container health checks).
    Healthcheck,
    /// The Pipedrive integration (needs PIPEDRIVE_API_TOKEN and PIPEDRIVE_BASE_URL).
    #[command(subcommand)]
    Pipedrive(PipedriveCommand),
}

#[derive(Debug, Subcommand)]
pub enum PipedriveCommand {
    /// Lists the company's Pipedrive users (id, name, email, active): the ids to put in each
    /// consultant's id_pipedrive.
    Users,
    /// Registers the Pipedrive webhooks v2 for created, changed and deleted deals and leads,
    /// delivered to URL with the basic-auth credentials of PIPEDRIVE_WEBHOOK_USER and
    /// PIPEDRIVE_WEBHOOK_PASSWORD. Active v2 webhooks already on URL are left as they are;
    /// version 1.0 or inactive ones on URL are deleted and registered again as version 2.0.
    #[command(name = "webhook-setup")]
    WebhookSetup {
        /// The public address of this service's webhook endpoint, e.g.
        /// https://consultores.acme.com/webhooks/pipedrive (Pipedrive requires https).
        #[arg(long)]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Creates a key and prints it once: store it now, it cannot be shown again.
    Create {
        /// What the key is for, e.g. "chatbot do site".
        #[arg(long)]
        description: String,
        /// What the key may do. Defaults to the least privileged scope, `leitura`.
        #[arg(long, value_enum, default_value_t = ScopeArg::Read)]
        scope: ScopeArg,
    },
    /// Lists every key: id, description, scope, created, last used, revoked.
    List,
    /// Revokes a key by id; requests using it are refused from then on.
    Revoke {
        /// The key's id, as shown by `consultores api-key list`.
        id: i64,
    },
}

/// API key scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Everything, including consultant management and key management.
    Admin,
    /// The rotation and protocols (da-vez, gerar-protocolo, POST/PUT protocolo) and every read.
    #[value(name = "distribuicao")]
    Distribution,
    /// Read-only access.
    #[value(name = "leitura")]
    Read,
}

impl From<ScopeArg> for consultores_domain::ApiKeyScope {
    fn from(value: ScopeArg) -> Self {
        match value {
            ScopeArg::Admin => Self::Admin,
            ScopeArg::Distribution => Self::Distribution,
            ScopeArg::Read => Self::Read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::try_parse_from(["consultores"]).unwrap();
        assert!(cli.command.is_none());
    }

    #[test]
    fn api_key_create_defaults_to_the_read_only_scope() {
        let cli = Cli::try_parse_from(["consultores", "api-key", "create", "--description", "bot"])
            .unwrap();
        match cli.command {
            Some(Command::ApiKey(ApiKeyCommand::Create { description, scope })) => {
                assert_eq!(description, "bot");
                assert_eq!(scope, ScopeArg::Read);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn pipedrive_commands_parse() {
        let cli = Cli::try_parse_from(["consultores", "pipedrive", "users"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Pipedrive(PipedriveCommand::Users))
        ));
        let cli = Cli::try_parse_from([
            "consultores",
            "pipedrive",
            "webhook-setup",
            "--url",
            "https://consultores.acme.com/webhooks/pipedrive",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Pipedrive(PipedriveCommand::WebhookSetup { url })) => {
                assert_eq!(url, "https://consultores.acme.com/webhooks/pipedrive");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["consultores", "pipedrive", "webhook-setup"]).is_err());
    }

    #[test]
    fn api_key_revoke_requires_a_numeric_id() {
        assert!(Cli::try_parse_from(["consultores", "api-key", "revoke", "abc"]).is_err());
    }
}

//! The `consultores` binary: configuration, command line, wiring and start-up.

mod allocator;
mod cli;
mod config;
mod dispatcher;
mod healthcheck;
mod housekeeping;
mod keys;
mod listener;
mod logging;
mod outbound;
mod pipedrive;
mod retention;
mod serve;
mod startup;

use std::process::ExitCode;

use crate::cli::Command;
use crate::config::Rejected;

fn main() -> ExitCode {
    allocator::limit_arenas();
    let (cli, config) = match config::read(std::env::args_os()) {
        Ok(read) => read,
        Err(Rejected::Usage(error)) => error.exit(),
        Err(Rejected::Invalid(error)) => {
            eprintln!("consultores: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(&config),
        Command::Migrate => startup::migrate_command(&config),
        Command::Healthcheck => healthcheck::run(&config),
        Command::ApiKey(command) => keys::run(&config, command),
        Command::Pipedrive(command) => pipedrive::command(&config, command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("consultores: {error}");
            ExitCode::FAILURE
        }
    }
}

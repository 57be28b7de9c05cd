//! Subcommands of `tally`, one file each.

mod database;
mod export;
mod import;
mod metadata;
mod migrate;
mod periods;
mod serve;
mod user;

use clap::{Parser, Subcommand};

/// A DHIS2-compatible aggregate health data server.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Web API server.
    Serve(serve::Args),
    /// Import a data value set file (JSON, XML or CSV) directly into the database.
    Import(import::Args),
    /// Export data values from the database to standard output.
    Export(export::Args),
    /// Metadata commands.
    #[command(subcommand)]
    Metadata(metadata::Command),
    /// Copy a whole database into an empty one (SQLite ↔ PostgreSQL).
    Migrate(migrate::Args),
    /// List the periods of one DHIS2 period type in one year: ISO id, start and end date.
    Periods(periods::Args),
    /// User commands (add, passwd, disable, enable, list).
    #[command(subcommand)]
    User(user::Command),
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Metadata(cmd) => metadata::run(cmd),
        Command::Migrate(args) => migrate::run(&args),
        Command::Periods(args) => periods::run(&args),
        Command::User(cmd) => user::run(cmd),
    }
}

//! Subcommands of `tally`, one file each.

mod periods;

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
    /// List the periods of one DHIS2 period type in one year: ISO id, start and end date.
    Periods(periods::Args),
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Periods(args) => periods::run(&args),
    }
}

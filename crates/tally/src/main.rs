//! The `tally` binary: parses the command line and hands over to [`command`].

mod command;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = command::Cli::parse();
    match command::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tally: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

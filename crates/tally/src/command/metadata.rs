//! `tally metadata import FILE`.

use std::path::PathBuf;

use anyhow::Context as _;

use super::database::{DatabaseArgs, open};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Import a DHIS2 metadata JSON file (create and update by UID); prints the report.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Import { file, db } => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let app = open(&db.database)?;
            let report = app.import_metadata(&json)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.errors().next().is_some() {
                anyhow::bail!("the metadata import had errors; nothing was changed");
            }
            Ok(())
        }
    }
}

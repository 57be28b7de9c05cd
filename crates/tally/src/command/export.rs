//! `tally export`: data values from the database to standard output, streamed.

use std::io::Write as _;

use anyhow::Context as _;
use tally_core::export::{ExportFormat, ExportParams};

use super::database::{DatabaseArgs, local_admin, open};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OutFormat {
    Json,
    Xml,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data sets (repeatable).
    #[arg(long)]
    data_set: Vec<String>,
    /// Data elements (repeatable).
    #[arg(long)]
    data_element: Vec<String>,
    /// ISO periods (repeatable).
    #[arg(long)]
    period: Vec<String>,
    #[arg(long)]
    start_date: Option<String>,
    #[arg(long)]
    end_date: Option<String>,
    /// Org units (repeatable).
    #[arg(long)]
    org_unit: Vec<String>,
    /// Include the org units' descendants.
    #[arg(long)]
    children: bool,
    #[arg(long)]
    include_deleted: bool,
    #[arg(long)]
    last_updated: Option<String>,
    /// Output id scheme: UID, CODE, NAME or ATTRIBUTE:<uid>.
    #[arg(long)]
    id_scheme: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    format: OutFormat,
    #[command(flatten)]
    db: DatabaseArgs,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (name, list) in [
        ("dataSet", &args.data_set),
        ("dataElement", &args.data_element),
        ("period", &args.period),
        ("orgUnit", &args.org_unit),
    ] {
        pairs.extend(list.iter().map(|v| (name, v.clone())));
    }
    for (name, value) in [
        ("startDate", &args.start_date),
        ("endDate", &args.end_date),
        ("lastUpdated", &args.last_updated),
        ("idScheme", &args.id_scheme),
    ] {
        if let Some(v) = value {
            pairs.push((name, v.clone()));
        }
    }
    if args.children {
        pairs.push(("children", "true".into()));
    }
    if args.include_deleted {
        pairs.push(("includeDeleted", "true".into()));
    }
    let params = ExportParams::from_query(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .map_err(anyhow::Error::msg)?;
    let app = open(&args.db.database)?;
    let user = local_admin(&app)?;
    let plan = app.plan_export(&params, &user)?;
    let format = match args.format {
        OutFormat::Json => ExportFormat::Json,
        OutFormat::Xml => ExportFormat::Xml,
        OutFormat::Csv => ExportFormat::Csv,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = app
        .run_export(&plan, format, &mut out)
        .map_err(anyhow::Error::from)
        .and_then(|()| out.flush().context("writing standard output"));
    match result {
        // A closed pipe (`tally export | head`) is not a failure.
        Err(e) if format!("{e:#}").contains("Broken pipe") => Ok(()),
        other => other,
    }
}

//! `tally import FILE`: a data value set straight into the database, printing the
//! ImportSummary JSON. Runs as the local administrator.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use tally_core::import::{Body, Format, ImportOptions};

use super::database::{DatabaseArgs, local_admin, open};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FileFormat {
    Json,
    Xml,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data value set (optionally gzip or zip compressed).
    file: PathBuf,
    /// Format; by default taken from the file name (.json, .xml, .csv, also before .gz/.zip).
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
    /// Validate and count, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// CREATE_AND_UPDATE (default), CREATE, UPDATE or DELETE.
    #[arg(long)]
    strategy: Option<String>,
    /// General id scheme: UID, CODE, NAME or ATTRIBUTE:<uid>.
    #[arg(long)]
    id_scheme: Option<String>,
    #[arg(long)]
    data_element_id_scheme: Option<String>,
    #[arg(long)]
    org_unit_id_scheme: Option<String>,
    #[arg(long)]
    category_option_combo_id_scheme: Option<String>,
    #[arg(long)]
    data_set_id_scheme: Option<String>,
    /// CSV: the first row is data, not a header.
    #[arg(long)]
    no_header: bool,
    /// CSV: the data set the rows belong to.
    #[arg(long)]
    data_set: Option<String>,
    #[command(flatten)]
    db: DatabaseArgs,
}

fn guess(path: &std::path::Path) -> Option<FileFormat> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zip"))
        .unwrap_or(&name);
    if name.ends_with(".json") {
        Some(FileFormat::Json)
    } else if name.ends_with(".xml") {
        Some(FileFormat::Xml)
    } else if name.ends_with(".csv") {
        Some(FileFormat::Csv)
    } else {
        None
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let format = args
        .format
        .or_else(|| guess(&args.file))
        .context("cannot tell the format from the file name: pass --format json|xml|csv")?;
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if args.dry_run {
        pairs.push(("dryRun", "true".into()));
    }
    if args.no_header {
        pairs.push(("firstRowIsHeader", "false".into()));
    }
    for (name, value) in [
        ("importStrategy", &args.strategy),
        ("idScheme", &args.id_scheme),
        ("dataElementIdScheme", &args.data_element_id_scheme),
        ("orgUnitIdScheme", &args.org_unit_id_scheme),
        (
            "categoryOptionComboIdScheme",
            &args.category_option_combo_id_scheme,
        ),
        ("dataSetIdScheme", &args.data_set_id_scheme),
        ("dataSet", &args.data_set),
    ] {
        if let Some(v) = value {
            pairs.push((name, v.clone()));
        }
    }
    let options = ImportOptions::from_query(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .map_err(anyhow::Error::msg)?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let app = open(&args.db.database)?;
    let user = local_admin(&app)?;
    let body = if std::io::stderr().is_terminal() {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bar = indicatif::ProgressBar::new(len).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading {bytes}/{total_bytes} {wide_bar} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Body::Reader(Box::new(bar.wrap_read(file)))
    } else {
        Body::File(file)
    };
    let format = match format {
        FileFormat::Json => Format::Json,
        FileFormat::Xml => Format::Xml,
        FileFormat::Csv => Format::Csv,
    };
    let summary = app.import_data_values(format, options, &user, body);
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if summary.status == tally_domain::import::ImportStatus::Error {
        anyhow::bail!("{}", summary.description);
    }
    Ok(())
}

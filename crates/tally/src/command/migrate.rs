//! `tally migrate --from <sqlite path|postgres url> --to <…>`: copies a whole database
//! (metadata, users, tokens, periods, values with their versions, timestamps and
//! deleted flags, audits, registrations, jobs) into an empty one, in one transaction.
//! File contents (file values) are copied from the source's files directory into the
//! target's (see [`side_dirs`]). Sessions are not copied: users log in again.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tally_store::copy::{CopyStore, copy_database};
use tally_store_postgres::PgStore;
use tally_store_sqlite::SqliteStore;

use super::database::{describe, side_dirs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database to copy: a SQLite file or a `postgres://` URL.
    #[arg(long)]
    from: PathBuf,
    /// The empty database to copy into (a SQLite file is created if missing).
    #[arg(long)]
    to: PathBuf,
}

fn open(path: &Path, must_exist: bool) -> anyhow::Result<Box<dyn CopyStore>> {
    let what = describe(path);
    if let Some(url) = path
        .to_str()
        .filter(|s| tally_store_postgres::is_postgres_url(s))
    {
        return Ok(Box::new(
            PgStore::open(url).with_context(|| format!("opening the database {what}"))?,
        ));
    }
    if must_exist && !path.exists() {
        anyhow::bail!("the database {what} does not exist");
    }
    Ok(Box::new(
        SqliteStore::open(path).with_context(|| format!("opening the database {what}"))?,
    ))
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.from == args.to {
        anyhow::bail!("--from and --to name the same database");
    }
    let from = open(&args.from, true)?;
    let to = open(&args.to, false)?;
    let counts = copy_database(from.as_ref(), to.as_ref(), &mut |table, n| {
        eprintln!("tally migrate: {table}: {n} rows");
    })
    .with_context(|| {
        format!(
            "copying {} into {}",
            describe(&args.from),
            describe(&args.to)
        )
    })?;
    let (_, from_files) = side_dirs(&args.from)?;
    let (_, to_files) = side_dirs(&args.to)?;
    let files = copy_files(&from_files, &to_files)?;
    eprintln!("tally migrate: file contents: {files} files");
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    println!(
        "copied {total} rows from {} to {}",
        describe(&args.from),
        describe(&args.to)
    );
    Ok(())
}

/// Copies the stored file contents (named by their SHA-256, so a name never means two
/// contents) that the target lacks, each synced to disk; returns how many it copied.
fn copy_files(from: &Path, to: &Path) -> anyhow::Result<u64> {
    if from == to || !from.is_dir() {
        return Ok(0);
    }
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut copied = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let target = to.join(entry.file_name());
        if target.exists() {
            continue;
        }
        std::fs::copy(entry.path(), &target)
            .with_context(|| format!("copying {}", entry.path().display()))?;
        std::fs::File::open(&target)?.sync_all()?;
        copied += 1;
    }
    Ok(copied)
}

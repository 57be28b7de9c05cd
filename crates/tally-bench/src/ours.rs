//! tally's own import and export, in process through `tally_core::App`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use tally_core::export::{ExportFormat, ExportParams};
use tally_core::import::{Body, ImportOptions, Summary};
use tally_core::users::{User, UserRecord};
use tally_core::{App, Clock};
use tally_domain::import::ImportStatus;
use tally_domain::uid::Uid;
use tally_store_sqlite::SqliteStore;

use crate::baseline::CountingSink;
use crate::payload::PayloadFormat;
use crate::shape::{STORED_BY, Shape, Uids};

/// Opens the store at `path` as `tally` does (jobs next to the database).
///
/// # Errors
/// The store or its metadata cannot be loaded.
pub fn open(path: &Path) -> anyhow::Result<Arc<App>> {
    let store =
        SqliteStore::open(path).with_context(|| format!("opening the store {}", path.display()))?;
    let mut jobs = path.as_os_str().to_owned();
    jobs.push(".jobs");
    let app = App::open(Arc::new(store), Clock::system())
        .context("loading metadata")?
        .with_jobs_dir(PathBuf::from(jobs));
    Ok(Arc::new(app))
}

/// The benchmark user (a superuser capturing at the root).
///
/// # Errors
/// The user is not in the store.
pub fn user(app: &App) -> anyhow::Result<User> {
    app.users()
        .get(STORED_BY)
        .context("the benchmark user is missing from the store")
}

/// Creates the template store: metadata imported through `App::import_metadata` and the
/// benchmark user. Returns how long the metadata import took.
///
/// # Errors
/// Metadata errors (reported in full) or storage failures.
pub fn create_template(path: &Path, shape: &Shape, uids: &Uids) -> anyhow::Result<Duration> {
    load_template(&*open(path)?, shape, uids)
}

/// Loads the generated metadata and the benchmark user into an empty app (any store).
/// Returns how long the metadata import took.
///
/// # Errors
/// Metadata errors (reported in full) or storage failures.
pub fn load_template(app: &App, shape: &Shape, uids: &Uids) -> anyhow::Result<Duration> {
    let doc = crate::metadata::document(uids);
    let start = Instant::now();
    let report = app
        .import_metadata(&doc)
        .context("importing the generated metadata")?;
    let elapsed = start.elapsed();
    if report.errors().next().is_some() {
        bail!(
            "the generated metadata has errors: {}",
            serde_json::to_string(&report).unwrap_or_default()
        );
    }
    let root = Uid::parse(&uids.root)?;
    // Not a bcrypt hash: nobody can log in as this user, the harness needs no login.
    let mut user = UserRecord::new(Uid::parse(&uids.user)?, STORED_BY, "!".into());
    user.first_name = "Bench".into();
    user.surname = "Mark".into();
    user.authorities = vec!["ALL".into()];
    user.organisation_units = vec![root];
    user.data_view_organisation_units = vec![root];
    app.save_users(&[user])?;
    let snap = app.snapshot();
    let org_units = snap.org_units().count();
    ensure!(
        org_units == shape.org_units + 1,
        "the store has {org_units} org units, expected {}",
        shape.org_units + 1
    );
    Ok(elapsed)
}

/// What an import is expected to report.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Every value new.
    Imported(u64),
    /// Every value existing and changed.
    Updated(u64),
}

/// Fails unless the summary is SUCCESS with exactly the expected counts and no conflicts.
///
/// # Errors
/// Anything else, with the status, counts and the first conflicts.
pub fn check(summary: &Summary, what: &str, expect: Expect) -> anyhow::Result<()> {
    let c = &summary.import_count;
    let (imported, updated) = match expect {
        Expect::Imported(n) => (n, 0),
        Expect::Updated(n) => (0, n),
    };
    let ok = summary.status == ImportStatus::Success
        && c.imported == imported
        && c.updated == updated
        && c.ignored == 0
        && c.deleted == 0
        && summary.conflicts.is_empty();
    if !ok {
        let conflicts: Vec<_> = summary.conflicts.iter().take(3).collect();
        bail!(
            "{what}: expected SUCCESS with imported={imported} updated={updated}, got {:?} \
             \"{}\" imported={} updated={} ignored={} deleted={}, {} conflicts, first: {}",
            summary.status,
            summary.description,
            c.imported,
            c.updated,
            c.ignored,
            c.deleted,
            summary.conflicts.len(),
            serde_json::to_string(&conflicts).unwrap_or_default()
        );
    }
    Ok(())
}

/// Imports the payload file and checks the summary. Returns the elapsed time.
///
/// # Errors
/// The file cannot be opened or the summary is not as expected.
pub fn import(
    app: &App,
    user: &User,
    format: PayloadFormat,
    options: ImportOptions,
    payload: &Path,
    expect: Expect,
) -> anyhow::Result<Duration> {
    let file = File::open(payload).with_context(|| format!("opening {}", payload.display()))?;
    let start = Instant::now();
    let summary = app.import_data_values(format.core(), options, user, Body::File(file));
    let elapsed = start.elapsed();
    check(
        &summary,
        &format!("{} import of {}", format.name(), payload.display()),
        expect,
    )?;
    Ok(elapsed)
}

/// Exports every value of the data set as JSON into a counting sink; fails unless exactly
/// `expected` values came out. Returns the elapsed time and the bytes written.
///
/// # Errors
/// Planning or running the export fails, or the count is wrong.
pub fn export_json(
    app: &App,
    user: &User,
    shape: &Shape,
    uids: &Uids,
    expected: u64,
) -> anyhow::Result<(Duration, u64)> {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("dataSet", &uids.data_set),
        ("orgUnit", &uids.root),
        ("children", "true"),
    ];
    pairs.extend(shape.periods.iter().map(|p| ("period", p.as_str())));
    let params = ExportParams::from_query(pairs).map_err(anyhow::Error::msg)?;
    let start = Instant::now();
    let plan = app.plan_export(&params, user)?;
    let mut sink = CountingSink::default();
    app.run_export(&plan, ExportFormat::Json, &mut sink)?;
    let elapsed = start.elapsed();
    let rows = sink.braces.saturating_sub(1);
    ensure!(
        rows == expected,
        "the JSON export wrote {rows} values, expected {expected}"
    );
    Ok((elapsed, sink.bytes))
}

/// Size of the database file plus its WAL, bytes.
#[must_use]
pub fn store_bytes(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Removes the database file, its WAL/SHM and jobs directory.
pub fn remove_store(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    let mut jobs = path.as_os_str().to_owned();
    jobs.push(".jobs");
    let _ = std::fs::remove_dir_all(PathBuf::from(jobs));
}

//! Opening the database and the demo data, shared by the subcommands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use tally_core::users::UserRecord;
use tally_core::{App, Clock};
use tally_domain::uid::Uid;
use tally_store_postgres::PgStore;
use tally_store_sqlite::SqliteStore;

/// `--database PATH|URL` with the `TALLY_DATABASE` environment fallback.
#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// SQLite database file (created if missing), or a PostgreSQL URL
    /// (`postgres://user:password@host:port/database`).
    #[arg(long, env = "TALLY_DATABASE", default_value = "./tally.db")]
    pub database: PathBuf,
}

/// The database for messages: the path, or the URL without its password.
pub fn describe(path: &Path) -> String {
    let s = path.to_string_lossy();
    if !tally_store_postgres::is_postgres_url(&s) {
        return path.display().to_string();
    }
    let (scheme, rest) = s.split_once("://").unwrap_or(("postgres", &s));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = if tail.contains("password=") {
        tail.split('&')
            .map(|p| match p.split_once("password=") {
                Some((before, _)) => format!("{before}password=***"),
                None => p.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    } else {
        tail.to_owned()
    };
    format!("{scheme}://{authority}{tail}")
}

/// The directories that go with a database: async import bodies and file contents,
/// next to a SQLite file (`<file>.jobs`, `<file>.files`) or, with PostgreSQL, in the
/// current directory (`./tally.jobs`, `./tally.files`).
///
/// # Errors
/// The current directory cannot be read (PostgreSQL only).
pub fn side_dirs(path: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    if path
        .to_str()
        .is_some_and(tally_store_postgres::is_postgres_url)
    {
        let here = std::env::current_dir().context("current directory")?;
        return Ok((here.join("tally.jobs"), here.join("tally.files")));
    }
    let with = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    Ok((with(".jobs"), with(".files")))
}

/// Opens the store and the application state: PostgreSQL for a `postgres://` URL,
/// else the SQLite file. Async import bodies and file contents go next to the SQLite
/// file (`.jobs`, `.files`), or to `./tally.jobs` and `./tally.files` with PostgreSQL.
pub fn open(path: &Path) -> anyhow::Result<Arc<App>> {
    if let Some(url) = path
        .to_str()
        .filter(|s| tally_store_postgres::is_postgres_url(s))
    {
        let store = PgStore::open(url)
            .with_context(|| format!("opening the database {}", describe(path)))?;
        let (jobs, files) = side_dirs(path)?;
        let app = App::open(Arc::new(store), Clock::system())
            .context("loading metadata")?
            .with_jobs_dir(jobs)
            .with_files_dir(files);
        return Ok(Arc::new(app));
    }
    let store = SqliteStore::open(path)
        .with_context(|| format!("opening the database {}", path.display()))?;
    let (jobs, files) = side_dirs(path)?;
    let app = App::open(Arc::new(store), Clock::system())
        .context("loading metadata")?
        .with_jobs_dir(jobs)
        .with_files_dir(files);
    Ok(Arc::new(app))
}

/// The demo metadata (Sierra Leone style hierarchy, "Mortality < 5 years", the ADX
/// example of the DHIS2 docs).
pub const DEMO_METADATA: &str = include_str!("../../../../fixtures/metadata/demo.json");

/// Loads the demo metadata and the superuser `admin`/`district` into an empty database.
/// A database that already has metadata is left alone.
pub fn load_demo(app: &App) -> anyhow::Result<bool> {
    let snap = app.snapshot();
    if snap.org_units().next().is_some() {
        return Ok(false);
    }
    let report = app
        .import_metadata(DEMO_METADATA)
        .context("importing demo metadata")?;
    if report.errors().next().is_some() {
        anyhow::bail!(
            "demo metadata has errors: {}",
            serde_json::to_string(&report).unwrap_or_default()
        );
    }
    let snap = app.snapshot();
    let roots: Vec<Uid> = snap
        .org_units()
        .filter(|(_, ou)| ou.parent.is_none())
        .map(|(_, ou)| ou.common.uid)
        .collect();
    let mut admin = UserRecord::new(
        Uid::parse("M5zQapPyTZI").context("admin uid")?,
        "admin",
        tally_core::users::hash_password("district").map_err(anyhow::Error::msg)?,
    );
    admin.first_name = "John".into();
    admin.surname = "Traore".into();
    admin.authorities = vec!["ALL".into()];
    admin.organisation_units = roots.clone();
    admin.data_view_organisation_units = roots;
    app.save_users(&[admin])?;
    Ok(true)
}

/// The user the CLI acts as: the first superuser, since whoever can open the database
/// file is its administrator.
pub fn local_admin(app: &App) -> anyhow::Result<tally_core::users::User> {
    app.users().get("admin").context(
        "no user 'admin' in this database (run `tally serve --demo` once, or import users)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_hide_passwords() {
        let d = |s: &str| describe(Path::new(s));
        assert_eq!(d("./tally.db"), "./tally.db");
        assert_eq!(
            d("postgres://tally:s3cret@db.local:5432/tally"),
            "postgres://tally:***@db.local:5432/tally"
        );
        assert_eq!(d("postgresql://tally@db/x"), "postgresql://tally@db/x");
        assert_eq!(
            d("postgres://db/x?user=a&password=b&sslmode=disable"),
            "postgres://db/x?user=a&password=***&sslmode=disable"
        );
    }
}

//! Test helpers (feature `testkit`), shared by this crate's tests, the HTTP suite on
//! PostgreSQL and the binary's multi-process tests: every test gets its own schema in
//! the cluster named by `TALLY_TEST_DATABASE_URL`, so tests run in parallel and leave
//! nothing behind.
//!
//! Without that variable the tests fail (they never skip): `scripts/test` starts a
//! throwaway cluster, or run `eval "$(scripts/pg-test-cluster start)"` first.

#![allow(
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::new_without_default
)]

use std::str::FromStr as _;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Config, PgStore};

/// The cluster to test against.
pub fn base_url() -> String {
    match std::env::var("TALLY_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true and TALLY_TEST_DATABASE_URL is not set: the PostgreSQL store tests must \
             run in CI, never skip. scripts/test starts a throwaway cluster when the variable \
             is unset; check that it ran (scripts/pg-test-cluster start)."
        ),
        _ => panic!(
            "TALLY_TEST_DATABASE_URL is not set, so the PostgreSQL store tests cannot run. \
             Run scripts/test (it starts a throwaway PostgreSQL cluster and stops it after), \
             or by hand:\n  eval \"$(scripts/pg-test-cluster start)\"\n  \
             cargo test -p tally-store-postgres\n  scripts/pg-test-cluster stop"
        ),
    }
}

/// Runs `sql` (simple protocol) on a connection of its own, on a plain thread with a
/// runtime of its own, so it works from inside the tests' runtimes too.
fn admin(sql: String) -> Result<(), String> {
    let url = base_url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("connecting to {url}: {e}"))?;
            let task = tokio::spawn(connection);
            let r = client.batch_execute(&sql).await.map_err(|e| e.to_string());
            drop(client);
            let _ = task.await;
            r
        })
    })
    .join()
    .map_err(|_| "admin thread panicked".to_owned())?
}

/// A fresh schema, dropped with everything in it when the guard drops.
pub struct TestSchema {
    pub name: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestSchema {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "tally_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(format!(
            "drop schema if exists {name} cascade; create schema {name}"
        ))
        .expect("creating a test schema");
        Self { name }
    }

    /// The cluster URL with this schema as the search path.
    pub fn config(&self) -> Config {
        let mut config = Config::from_str(&base_url()).expect("TALLY_TEST_DATABASE_URL parses");
        config.options(format!("-c search_path={}", self.name));
        config
    }

    pub fn open(&self) -> PgStore {
        PgStore::open_config(self.config(), 4).expect("open store")
    }

    /// Adopts an existing schema (e.g. one [`TestSchema::keep`] left for a restart); it
    /// is dropped when this guard drops.
    pub fn adopt(name: &str) -> Self {
        Self { name: name.into() }
    }

    /// Ends the guard without dropping the schema and returns its name.
    pub fn keep(self) -> String {
        let me = std::mem::ManuallyDrop::new(self);
        me.name.clone()
    }

    /// A `postgres://` URL of this schema (the search path travels in `options`), for
    /// `tally --database`.
    pub fn url(&self) -> String {
        let base = base_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{}", self.name)
    }

    /// Runs SQL in this schema.
    pub fn sql(&self, sql: &str) {
        admin(format!("set search_path = {}; {sql}", self.name)).expect("test SQL");
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let _ = admin(format!("drop schema if exists {} cascade", self.name));
    }
}

/// A fresh, empty store in a schema of its own.
pub fn fresh() -> (TestSchema, PgStore) {
    let schema = TestSchema::new();
    let store = schema.open();
    (schema, store)
}

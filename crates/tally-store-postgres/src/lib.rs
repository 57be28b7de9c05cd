//! PostgreSQL implementation of the tally store traits (tokio-postgres).
//!
//! Layout:
//! * [`PgStore`]: a small pool of connections (`pool`), all driven by the store's own
//!   single-threaded tokio runtime on a background thread (`driver`). The traits are
//!   synchronous and are called from plain threads and from inside tokio runtimes alike;
//!   store methods hand the async work to that thread and wait on a std channel, so
//!   they never enter (or panic in) a caller's runtime.
//! * `migrations/`: numbered SQL files applied in order at open, inside one transaction
//!   holding an advisory lock, so two processes starting at once migrate once.
//! * [`sql`]: every statement, so a test can prepare them all.
//!
//! Bulk writes are set-based per batch, with no statement per value: one statement of
//! index range scans reads the stored rows of the batch, [`tally_domain::import::decide`]
//! runs per value in Rust (a key repeated in the batch sees the earlier write), one
//! statement draws the versions, then the rows go to the server as binary `COPY`
//! streams encoded on the caller's thread: rows of keys that were not stored are
//! copied straight into `datavalue` (bulk insert, the fast path of a first import);
//! rows of stored keys are copied into a session-private staging table and applied by
//! one `INSERT … SELECT … ON CONFLICT DO UPDATE` merge; the audit rows are one more
//! `COPY`. Exports stream through a server-side cursor in chunks.
//!
//! Concurrency between processes: versions come from a sequence. A stored key written
//! by two imports at once ends with the last writer's row (the merge waits for the
//! first). A *new* key created by two imports at once fails the one that commits
//! second with [`StoreError::Unavailable`] (nothing of it is written; a retry sees the
//! key), where SQLite, having one writer, never races. Single-value changes lock their
//! row (`FOR UPDATE`) and decide again after losing an insert race, so they never fail
//! that way.

pub mod sql;
#[cfg(feature = "testkit")]
pub mod testkit;

mod copy;
mod driver;
mod pool;
mod table_copy;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::ops::ControlFlow;
use std::str::FromStr as _;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tally_domain::import::{self, AuditType, Existing, Incoming, Outcome, Versioned, Write};
use tally_domain::uid::Uid;
use tally_store::{
    AuditQuery, AuditRow, ChangeGroup, ChangeResult, DataEntryStore, DataValueStore, ExportQuery,
    FileResourceRow, ImportTx, JobRecord, JobStore, LockException, MetadataRecord, MetadataStore,
    MinMaxValue, PeriodRow, Registration, Result, StoreError, StoredValue, StoredValueRef,
    ValueChange, ValueKey, ValueWrite, WriteOptions,
};
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

pub use tokio_postgres::Config;

use crate::copy::CopyWriter;
use bytes::Bytes;

use crate::driver::Pending;
use crate::pool::{Param, Pool, Pooled, copy_in};
use std::sync::Arc;
use tokio_postgres::Statement;

/// Migrations, in order. Index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/V001__init.sql"),
    include_str!("../migrations/V002__data_entry.sql"),
    include_str!("../migrations/V003__file_resources.sql"),
    include_str!("../migrations/V004__shared.sql"),
    include_str!("../migrations/V005__job_body.sql"),
    include_str!("../migrations/V006__audit_key_index.sql"),
    include_str!("../migrations/V007__version_blocks.sql"),
];

/// Versions one draw of `datavalue_version_seq` hands out (its increment, set by
/// `V007__version_blocks.sql`).
const VERSION_BLOCK: usize = tally_store::VERSION_BLOCK as usize;

/// Bytes per stored chunk of a job body.
const JOB_BODY_CHUNK: usize = 1 << 20;

/// Connections a store opens at most, unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

/// Whether `s` names a PostgreSQL database (`postgres://…` or `postgresql://…`).
#[must_use]
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// Maps a driver error to a [`StoreError`], keeping the server's message and code.
pub(crate) fn err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let mut msg = format!("{} ({code})", db.message());
        if let Some(detail) = db.detail() {
            msg.push_str(": ");
            msg.push_str(detail);
        }
        return match code {
            c if c.starts_with("23") => StoreError::Constraint(msg),
            // Connection exceptions, insufficient resources, operator intervention,
            // lock/serialization failures: the database is unavailable or busy.
            c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") => {
                StoreError::Unavailable(msg)
            }
            "40001" | "40P01" | "55P03" => StoreError::Unavailable(msg),
            "XX001" | "XX002" => StoreError::Corrupt(msg),
            _ => StoreError::Other(msg),
        };
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Other(e.to_string())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A column of a row, decode failures being corrupt data.
fn col<'r, T: FromSql<'r>>(r: &'r Row, i: usize) -> Result<T> {
    r.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

fn id(r: &Row, i: usize) -> Result<u32> {
    let v: i64 = col(r, i)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("id {v} out of range")))
}

/// The five key columns starting at column 0.
fn read_key(r: &Row) -> Result<ValueKey> {
    Ok(ValueKey {
        period: col(r, 0)?,
        org_unit: id(r, 1)?,
        data_element: id(r, 2)?,
        category_option_combo: id(r, 3)?,
        attribute_option_combo: id(r, 4)?,
    })
}

fn key_params(k: &ValueKey) -> Vec<Param> {
    vec![
        Box::new(k.period),
        Box::new(i64::from(k.org_unit)),
        Box::new(i64::from(k.data_element)),
        Box::new(i64::from(k.category_option_combo)),
        Box::new(i64::from(k.attribute_option_combo)),
    ]
}

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    /// Period keys known to exist in the `period` table (committed ones only).
    periods: Mutex<HashSet<i64>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?…`, libpq
    /// key/value strings work too) and applies pending migrations.
    ///
    /// # Errors
    /// An invalid URL, an unreachable server, or a failed migration.
    pub fn open(url: &str) -> Result<Self> {
        let config = Config::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
        Self::open_config(config, DEFAULT_MAX_CONNECTIONS)
    }

    /// Like [`PgStore::open`], with a parsed configuration (e.g. with `options` setting
    /// a `search_path`) and a connection limit.
    ///
    /// # Errors
    /// An unreachable server or a failed migration.
    pub fn open_config(mut config: Config, max_connections: usize) -> Result<Self> {
        if config.get_application_name().is_none() {
            config.application_name("tally");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let pool = Pool::new(config, max_connections)?;
        let periods = {
            let mut conn = pool.get()?;
            migrate(&mut conn)?;
            let rows = conn.query(sql::PERIOD_KEYS, Vec::new())?;
            rows.iter()
                .map(|r| col::<i64>(r, 0))
                .collect::<Result<HashSet<_>>>()?
        };
        Ok(Self {
            pool,
            periods: Mutex::new(periods),
        })
    }

    /// Schema version after migrations.
    ///
    /// # Errors
    /// Backend failures.
    pub fn schema_version(&self) -> Result<i64> {
        let rows = self.pool.get()?.query(sql::MAX_MIGRATION, Vec::new())?;
        rows.first()
            .map(|r| col(r, 0))
            .transpose()?
            .ok_or_else(|| StoreError::Other("no migration version".into()))
    }
}

fn migrate(conn: &mut Pooled<'_>) -> Result<()> {
    conn.batch("begin")?;
    conn.in_transaction = true;
    // Held until commit: a second process starting at the same time waits here and
    // then finds everything applied.
    conn.batch(sql::MIGRATION_LOCK)?;
    conn.batch(sql::CREATE_MIGRATIONS)?;
    let applied: i64 = conn
        .query(sql::MAX_MIGRATION, Vec::new())?
        .first()
        .map(|r| col(r, 0))
        .transpose()?
        .unwrap_or(0);
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= applied {
            continue;
        }
        conn.batch(migration)?;
        conn.execute(sql::RECORD_MIGRATION, vec![Box::new(version)])?;
    }
    conn.batch("commit")?;
    conn.in_transaction = false;
    Ok(())
}

impl MetadataStore for PgStore {
    fn load_metadata(&self) -> Result<Vec<MetadataRecord>> {
        let rows = self.pool.get()?.query(sql::LOAD_METADATA, Vec::new())?;
        rows.iter()
            .map(|r| {
                let uid: &str = col(r, 2)?;
                Ok(MetadataRecord {
                    id: id(r, 0)?,
                    kind: col(r, 1)?,
                    uid: Uid::parse(uid)
                        .map_err(|e| StoreError::Corrupt(format!("metadata uid {uid}: {e}")))?,
                    body: col(r, 3)?,
                })
            })
            .collect()
    }

    fn save_metadata(&self, objects: &[(String, Uid, String)]) -> Result<Vec<u32>> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        // One input row per object, the last body winning (as consecutive upserts do).
        let mut index: HashMap<(&str, &str), usize> = HashMap::with_capacity(objects.len());
        let (mut kinds, mut uids, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
        for (kind, uid, body) in objects {
            match index.entry((kind.as_str(), uid.as_str())) {
                Entry::Occupied(e) => bodies[*e.get()] = body.clone(),
                Entry::Vacant(e) => {
                    e.insert(kinds.len());
                    kinds.push(kind.clone());
                    uids.push(uid.as_str().to_owned());
                    bodies.push(body.clone());
                }
            }
        }
        let rows = self.pool.get()?.query(
            sql::SAVE_METADATA,
            vec![Box::new(kinds), Box::new(uids), Box::new(bodies)],
        )?;
        let mut ids: HashMap<(&str, &str), u32> = HashMap::with_capacity(rows.len());
        for r in &rows {
            ids.insert((col(r, 1)?, col(r, 2)?), id(r, 0)?);
        }
        objects
            .iter()
            .map(|(kind, uid, _)| {
                ids.get(&(kind.as_str(), uid.as_str()))
                    .copied()
                    .ok_or_else(|| StoreError::Other(format!("{kind} {uid} was not saved")))
            })
            .collect()
    }

    fn metadata_version(&self) -> Result<i64> {
        let rows = self.pool.get()?.query(sql::METADATA_VERSION, Vec::new())?;
        rows.first()
            .map(|r| col(r, 0))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt("metadata_version has no row".into()))
    }
}

/// A job claimed by this process: a connection inside a transaction holding the job's
/// `job_claim` row; rolled back (releasing it) on drop.
struct PgClaim<'a> {
    conn: Pooled<'a>,
}

impl tally_store::JobClaim for PgClaim<'_> {}

impl Drop for PgClaim<'_> {
    fn drop(&mut self) {
        // On failure the connection stays marked as in a transaction and is closed,
        // which ends the transaction on the server just the same.
        if self.conn.batch("rollback").is_ok() {
            self.conn.in_transaction = false;
        }
    }
}

impl tally_store::SessionStore for PgStore {
    fn stores_sessions(&self) -> bool {
        true
    }

    fn save_session(&self, s: &tally_store::SessionRecord) -> Result<()> {
        self.pool.get()?.execute(
            sql::SAVE_SESSION,
            vec![
                Box::new(s.digest.clone()),
                Box::new(s.user.clone()),
                Box::new(s.last_seen_ms),
            ],
        )?;
        Ok(())
    }

    fn session(&self, digest: &str) -> Result<Option<tally_store::SessionRecord>> {
        let rows = self
            .pool
            .get()?
            .query(sql::GET_SESSION, vec![Box::new(digest.to_owned())])?;
        rows.first()
            .map(|r| {
                Ok(tally_store::SessionRecord {
                    digest: digest.to_owned(),
                    user: col(r, 0)?,
                    last_seen_ms: col(r, 1)?,
                })
            })
            .transpose()
    }

    fn delete_session(&self, digest: &str) -> Result<()> {
        self.pool
            .get()?
            .execute(sql::DELETE_SESSION, vec![Box::new(digest.to_owned())])?;
        Ok(())
    }

    fn delete_sessions(&self, user: Option<&str>, idle_before_ms: i64) -> Result<()> {
        self.pool.get()?.execute(
            sql::DELETE_SESSIONS,
            vec![Box::new(user.map(str::to_owned)), Box::new(idle_before_ms)],
        )?;
        Ok(())
    }
}

fn read_job(r: &Row) -> Result<JobRecord> {
    Ok(JobRecord {
        id: col(r, 0)?,
        job_type: col(r, 1)?,
        status: col(r, 2)?,
        created_ms: col(r, 3)?,
        updated_ms: col(r, 4)?,
        username: col(r, 5)?,
        params: col(r, 6)?,
        body_path: col(r, 7)?,
        notifications: col(r, 8)?,
        summary: col(r, 9)?,
    })
}

impl JobStore for PgStore {
    fn save_job(&self, j: &JobRecord) -> Result<()> {
        self.pool.get()?.execute(
            sql::SAVE_JOB,
            vec![
                Box::new(j.id.clone()),
                Box::new(j.job_type.clone()),
                Box::new(j.status.clone()),
                Box::new(j.created_ms),
                Box::new(j.updated_ms),
                Box::new(j.username.clone()),
                Box::new(j.params.clone()),
                Box::new(j.body_path.clone()),
                Box::new(j.notifications.clone()),
                Box::new(j.summary.clone()),
            ],
        )?;
        Ok(())
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>> {
        let rows = self
            .pool
            .get()?
            .query(sql::GET_JOB, vec![Box::new(id.to_owned())])?;
        rows.first().map(read_job).transpose()
    }

    fn jobs(&self, job_type: &str) -> Result<Vec<JobRecord>> {
        let rows = self
            .pool
            .get()?
            .query(sql::JOBS_OF_TYPE, vec![Box::new(job_type.to_owned())])?;
        rows.iter().map(read_job).collect()
    }

    fn unfinished_jobs(&self) -> Result<Vec<JobRecord>> {
        let rows = self.pool.get()?.query(sql::UNFINISHED_JOBS, Vec::new())?;
        rows.iter().map(read_job).collect()
    }

    fn claim_job(&self, id: &str) -> Result<Option<Box<dyn tally_store::JobClaim + '_>>> {
        let mut conn = self.pool.get()?;
        conn.execute(sql::ADD_JOB_CLAIM, vec![Box::new(id.to_owned())])?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        let mut claim = PgClaim { conn };
        // Skipped when another process holds the row; nothing when the job finished.
        let rows = claim
            .conn
            .query(sql::CLAIM_JOB, vec![Box::new(id.to_owned())])?;
        Ok(if rows.is_empty() {
            None
        } else {
            Some(Box::new(claim))
        })
    }

    fn shared(&self) -> bool {
        true
    }

    fn save_job_body(&self, id: &str, body: &mut dyn std::io::Read) -> Result<()> {
        let io = |e: std::io::Error| StoreError::Other(format!("reading a job body: {e}"));
        let mut conn = self.pool.get()?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        let mut chunk: i32 = 0;
        loop {
            let mut data = Vec::with_capacity(JOB_BODY_CHUNK);
            let n = (&mut *body)
                .take(JOB_BODY_CHUNK as u64)
                .read_to_end(&mut data)
                .map_err(io)?;
            if n == 0 && chunk > 0 {
                break;
            }
            conn.execute(
                sql::SAVE_JOB_BODY,
                vec![Box::new(id.to_owned()), Box::new(chunk), Box::new(data)],
            )?;
            chunk += 1;
            if n < JOB_BODY_CHUNK {
                break;
            }
        }
        conn.batch("commit")?;
        conn.in_transaction = false;
        Ok(())
    }

    fn job_body(&self, id: &str, out: &mut dyn std::io::Write) -> Result<bool> {
        let io = |e: std::io::Error| StoreError::Other(format!("writing a job body: {e}"));
        let mut next: i32 = 0;
        loop {
            let rows = self.pool.get()?.query(
                sql::JOB_BODY_CHUNKS,
                vec![Box::new(id.to_owned()), Box::new(next)],
            )?;
            if rows.is_empty() {
                return Ok(next > 0);
            }
            for r in &rows {
                let chunk: i32 = col(r, 0)?;
                if chunk != next {
                    return Err(StoreError::Corrupt(format!(
                        "job {id}: body chunk {next} is missing"
                    )));
                }
                let data: &[u8] = col(r, 1)?;
                out.write_all(data).map_err(io)?;
                next += 1;
            }
        }
    }

    fn delete_job_body(&self, id: &str) -> Result<()> {
        self.pool
            .get()?
            .execute(sql::DELETE_JOB_BODY, vec![Box::new(id.to_owned())])?;
        Ok(())
    }
}

/// An open import: one transaction on one connection for its whole life.
///
/// Writes lag one batch behind: the writes of batch k are sent right after the read of
/// batch k+1, so the server writes batch k while this thread decides and encodes batch
/// k+1. The read of k+1 may run before the writes of k, so the rows batch k wrote are
/// laid over what it returns; the writes of k-1 are confirmed before it is sent.
struct PgImport<'a> {
    store: &'a PgStore,
    conn: Pooled<'a>,
    options: WriteOptions,
    open: bool,
    /// Periods inserted by this transaction, known to the store once it commits.
    new_periods: Vec<i64>,
    /// The last batch's writes, not sent yet.
    deferred: Option<Deferred>,
    /// Writes sent and not confirmed yet (their errors surface at the next batch or at
    /// commit).
    inflight: Option<Pending<()>>,
}

/// The encoded writes of one batch.
struct WriteOps {
    skip: bool,
    fresh: Option<(Statement, Bytes)>,
    overwrites: Option<(Statement, Statement, Statement, Bytes)>,
    audits: Option<(Statement, Bytes)>,
}

/// Writes of one batch and the rows they leave, by key.
struct Deferred {
    ops: WriteOps,
    written: HashMap<ValueKey, StoredRow>,
}

async fn run_writes(client: Arc<tokio_postgres::Client>, ops: WriteOps) -> Result<()> {
    let skip = ops.skip;
    if let Some((copy, data)) = ops.fresh {
        copy_in(&client, &copy, data).await.map_err(|e| match e {
            // Only another transaction can have created one of these keys since the read:
            // nothing of this import is written, and a retry sees it.
            StoreError::Constraint(m) if !skip => StoreError::Unavailable(format!(
                "values of this import were created by another import at the same time; \
                 nothing was written, retry ({m})"
            )),
            e => e,
        })?;
    }
    if let Some((truncate, copy, merge, data)) = ops.overwrites {
        client.execute(&truncate, &[]).await.map_err(err)?;
        copy_in(&client, &copy, data).await?;
        client.execute(&merge, &[]).await.map_err(err)?;
    }
    if let Some((copy, data)) = ops.audits {
        copy_in(&client, &copy, data).await?;
    }
    Ok(())
}

/// The stored fields `decide` compares with.
#[derive(Clone)]
struct StoredRow {
    value: Option<String>,
    comment: Option<String>,
    followup: bool,
    deleted: bool,
}

/// A `datavalue` row to write: the batch value, its `deleted` flag and its version.
struct RowOut {
    value: usize,
    deleted: bool,
    version: usize,
}

/// An audit row to write.
struct AuditOut<'b> {
    value: usize,
    previous: Option<&'b str>,
    kind: AuditType,
    version: usize,
}

impl PgImport<'_> {
    /// The stored rows of the batch's keys, by one statement of index range scans.
    /// Sends the read of the stored rows of `batch` (see [`PgImport::finish_read`]).
    fn start_read(&mut self, batch: &[ValueWrite]) -> Result<Pending<Vec<Row>>> {
        let ranges = key_ranges(batch);
        let mut cols: [Vec<i64>; 4] = std::array::from_fn(|_| Vec::with_capacity(ranges.len()));
        for r in &ranges {
            cols[0].push(r.0);
            cols[1].push(r.1);
            cols[2].push(r.2);
            cols[3].push(r.3);
        }
        let params: Vec<Param> = cols.into_iter().map(|c| Box::new(c) as Param).collect();
        let statement = self.conn.statement(sql::SELECT_EXISTING)?;
        self.conn.spawn_query(statement, params)
    }

    /// The stored rows of `batch`, by key, from the read [`PgImport::start_read`] sent.
    fn finish_read(
        &mut self,
        batch: &[ValueWrite],
        read: Pending<Vec<Row>>,
    ) -> Result<HashMap<ValueKey, StoredRow>> {
        let rows = self.conn.wait(read)?;
        let wanted: HashSet<ValueKey> = batch.iter().map(|v| v.key).collect();
        let mut stored = HashMap::with_capacity(wanted.len().min(rows.len()));
        for r in &rows {
            let key = read_key(r)?;
            if !wanted.contains(&key) {
                continue;
            }
            stored.insert(
                key,
                StoredRow {
                    value: col(r, 5)?,
                    comment: col(r, 6)?,
                    followup: col(r, 7)?,
                    deleted: col(r, 8)?,
                },
            );
        }
        Ok(stored)
    }

    /// `n` fresh versions, ascending.
    fn versions(&mut self, n: usize) -> Result<Vec<i64>> {
        let blocks = n.div_ceil(VERSION_BLOCK);
        let count =
            i64::try_from(blocks).map_err(|_| StoreError::Other("batch too large".into()))?;
        // On another connection when one is free at once (sequences are not
        // transactional), so that drawing does not wait behind the writes in flight;
        // else behind them on this one (never waiting for the pool: no deadlock).
        let rows = match self.store.pool.try_get()? {
            Some(mut side) => side.query(sql::NEXT_VERSIONS, vec![Box::new(count)])?,
            None => self.conn.query(sql::NEXT_VERSIONS, vec![Box::new(count)])?,
        };
        let mut starts = rows
            .iter()
            .map(|r| col::<i64>(r, 0))
            .collect::<Result<Vec<_>>>()?;
        if starts.len() != blocks {
            return Err(StoreError::Other(format!(
                "asked for {blocks} version blocks, got {}",
                starts.len()
            )));
        }
        starts.sort_unstable();
        Ok(expand_blocks(&starts, n))
    }

    /// Waits for the writes in flight.
    fn settle(&mut self) -> Result<()> {
        match self.inflight.take() {
            Some(p) => self.conn.wait(p),
            None => Ok(()),
        }
    }

    /// Sends writes without waiting for them.
    fn send(&mut self, ops: WriteOps) -> Result<()> {
        let pending = self
            .conn
            .spawn_with_client(move |client| run_writes(client, ops))?;
        self.inflight = Some(pending);
        Ok(())
    }
}

/// Inserts, inside the connection's open transaction, the periods neither known to the
/// store nor inserted by this transaction already (`pending`, made known after commit).
fn insert_periods(
    conn: &mut Pooled<'_>,
    known: &Mutex<HashSet<i64>>,
    pending: &mut Vec<i64>,
    periods: &[PeriodRow],
) -> Result<()> {
    let new: Vec<&PeriodRow> = {
        let known = lock(known);
        periods
            .iter()
            .filter(|p| !known.contains(&p.key) && !pending.contains(&p.key))
            .collect()
    };
    if new.is_empty() {
        return Ok(());
    }
    let keys: Vec<i64> = new.iter().map(|p| p.key).collect();
    let types: Vec<String> = new.iter().map(|p| p.period_type.to_owned()).collect();
    let starts: Vec<String> = new.iter().map(|p| p.start.to_string()).collect();
    let ends: Vec<String> = new.iter().map(|p| p.end.to_string()).collect();
    let isos: Vec<String> = new.iter().map(|p| p.iso.clone()).collect();
    conn.execute(
        sql::INSERT_PERIODS,
        vec![
            Box::new(keys.clone()),
            Box::new(types),
            Box::new(starts),
            Box::new(ends),
            Box::new(isos),
        ],
    )?;
    pending.extend(keys);
    Ok(())
}

/// A `GET_VALUE`-shaped row.
fn stored_value(r: &Row, key: ValueKey) -> Result<StoredValue> {
    Ok(StoredValue {
        key,
        value: col(r, 0)?,
        stored_by: col(r, 1)?,
        created_ms: col(r, 2)?,
        last_updated_ms: col(r, 3)?,
        comment: col(r, 4)?,
        followup: col(r, 5)?,
        deleted: col(r, 6)?,
        version: col(r, 7)?,
    })
}

/// How often a single-value insert is decided again after losing a race with another
/// transaction inserting the same key.
const INSERT_RETRIES: usize = 3;

/// One single-value change inside the connection's open transaction: lock and read the
/// row, decide, write, audit.
fn apply_change(conn: &mut Pooled<'_>, c: &ValueChange<'_>, now_ms: i64) -> Result<ChangeResult> {
    for _ in 0..INSERT_RETRIES {
        let rows = conn.query(sql::GET_VALUE_FOR_UPDATE, key_params(&c.key))?;
        let stored = rows.first().map(|r| stored_value(r, c.key)).transpose()?;
        let decision = import::decide_change(
            stored.as_ref().map(|s| Versioned {
                row: Existing {
                    value: s.value.as_deref(),
                    comment: s.comment.as_deref(),
                    followup: s.followup,
                    deleted: s.deleted,
                },
                version: s.version,
            }),
            &c.change,
            c.rule,
            c.base_version,
        );
        let Some(w) = decision.write else {
            return Ok(ChangeResult {
                outcome: decision.outcome,
                row: stored,
            });
        };
        let version = next_version(conn)?;
        let stored_by = if w.set_stored_by {
            Some(c.user.to_owned())
        } else {
            stored.as_ref().and_then(|s| s.stored_by.clone())
        };
        let created_ms = match (&stored, w.insert) {
            (Some(s), false) => s.created_ms,
            _ => now_ms,
        };
        let k = &c.key;
        let key: [Param; 5] = [
            Box::new(k.period),
            Box::new(i64::from(k.org_unit)),
            Box::new(i64::from(k.data_element)),
            Box::new(i64::from(k.category_option_combo)),
            Box::new(i64::from(k.attribute_option_combo)),
        ];
        let value = w.value.map(str::to_owned);
        let comment = w.comment.map(str::to_owned);
        if w.insert {
            let mut params: Vec<Param> = key.into_iter().collect();
            params.extend([
                Box::new(value.clone()) as Param,
                Box::new(stored_by.clone()),
                Box::new(now_ms),
                Box::new(now_ms),
                Box::new(comment.clone()),
                Box::new(w.followup),
                Box::new(w.deleted),
                Box::new(version),
            ]);
            if conn.execute(sql::INSERT_VALUE, params)? == 0 {
                // Another transaction inserted the key since the read: decide again
                // against its row (now visible, and locked by the read).
                continue;
            }
        } else {
            let mut params: Vec<Param> = vec![
                Box::new(value.clone()),
                Box::new(stored_by.clone()),
                Box::new(now_ms),
                Box::new(comment.clone()),
                Box::new(w.followup),
                Box::new(w.deleted),
                Box::new(version),
            ];
            params.extend(key);
            conn.execute(sql::OVERWRITE_VALUE, params)?;
        }
        if let Some((kind, previous)) = decision.audit {
            let mut params = key_params(&c.key);
            params.extend([
                Box::new(version) as Param,
                Box::new(previous.map(str::to_owned)),
                Box::new(now_ms),
                Box::new(c.user.to_owned()),
                Box::new(kind.name()),
            ]);
            conn.execute(sql::INSERT_AUDIT, params)?;
        }
        return Ok(ChangeResult {
            outcome: decision.outcome,
            row: Some(StoredValue {
                key: c.key,
                value,
                stored_by,
                created_ms,
                last_updated_ms: now_ms,
                comment,
                followup: w.followup,
                deleted: w.deleted,
                version,
            }),
        });
    }
    Err(StoreError::Unavailable(format!(
        "value {:?} kept being inserted concurrently",
        c.key
    )))
}

/// The first `n` versions of the blocks starting at `starts` (ascending).
fn expand_blocks(starts: &[i64], n: usize) -> Vec<i64> {
    starts
        .iter()
        .flat_map(|&s| (0..VERSION_BLOCK as i64).map(move |i| s + i))
        .take(n)
        .collect()
}

/// The version of one write: the first of a block of its own.
fn next_version(conn: &mut Pooled<'_>) -> Result<i64> {
    let rows = conn.query(sql::NEXT_VERSIONS, vec![Box::new(1_i64)])?;
    rows.first()
        .map(|r| col(r, 0))
        .transpose()?
        .ok_or_else(|| StoreError::Other("no version from the sequence".into()))
}

/// The changes in order until one fails; `true` when all succeeded.
fn apply_all(
    conn: &mut Pooled<'_>,
    known: &Mutex<HashSet<i64>>,
    pending: &mut Vec<i64>,
    periods: &[PeriodRow],
    changes: &[ValueChange<'_>],
    now_ms: i64,
) -> Result<(Vec<ChangeResult>, bool)> {
    insert_periods(conn, known, pending, periods)?;
    let mut results = Vec::with_capacity(changes.len());
    for c in changes {
        let result = apply_change(conn, c, now_ms)?;
        let failed = result.outcome.is_failure();
        results.push(result);
        if failed {
            return Ok((results, false));
        }
    }
    Ok((results, true))
}

/// Every group under its own savepoint: a group with a failed change is rolled back to
/// its savepoint, the others are kept (the caller commits).
fn apply_groups(
    conn: &mut Pooled<'_>,
    known: &Mutex<HashSet<i64>>,
    pending: &mut Vec<i64>,
    groups: &[ChangeGroup<'_>],
) -> Result<Vec<Vec<ChangeResult>>> {
    for g in groups {
        insert_periods(conn, known, pending, g.periods)?;
    }
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        conn.batch("savepoint change_group")?;
        let (results, ok) = apply_all(conn, known, pending, &[], g.changes, g.now_ms)?;
        conn.batch(if ok {
            "release savepoint change_group"
        } else {
            "rollback to savepoint change_group; release savepoint change_group"
        })?;
        out.push(results);
    }
    Ok(out)
}

/// Data element ids further apart than this start a new range, so that a read never
/// scans far past the batch's own keys.
const RANGE_GAP: i64 = 64;

/// The `(period, org unit, lowest data element, highest data element)` ranges covering
/// the keys of `batch`, in key order.
fn key_ranges(batch: &[ValueWrite]) -> Vec<(i64, i64, i64, i64)> {
    let mut prefixes: Vec<(i64, i64, i64)> = batch
        .iter()
        .map(|v| {
            (
                v.key.period,
                i64::from(v.key.org_unit),
                i64::from(v.key.data_element),
            )
        })
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let mut ranges: Vec<(i64, i64, i64, i64)> = Vec::new();
    for (pe, ou, de) in prefixes {
        match ranges.last_mut() {
            Some(r) if r.0 == pe && r.1 == ou && de - r.3 <= RANGE_GAP => r.3 = de,
            _ => ranges.push((pe, ou, de, de)),
        }
    }
    ranges
}

fn put_key(w: &mut CopyWriter, k: &ValueKey) {
    w.int8(k.period);
    w.int8(i64::from(k.org_unit));
    w.int8(i64::from(k.data_element));
    w.int8(i64::from(k.category_option_combo));
    w.int8(i64::from(k.attribute_option_combo));
}

impl ImportTx for PgImport<'_> {
    fn ensure_periods(&mut self, periods: &[PeriodRow]) -> Result<()> {
        insert_periods(
            &mut self.conn,
            &self.store.periods,
            &mut self.new_periods,
            periods,
        )
    }

    fn write_batch(&mut self, batch: &[ValueWrite], out: &mut Vec<Outcome>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // The writes of the batch before the last are done: the read below sees them.
        self.settle()?;
        let opts = self.options;
        let skip = opts.skip_existing_check;
        let read = if skip {
            None
        } else {
            Some(self.start_read(batch)?)
        };
        // The last batch's writes go now, after the read: the server writes them while
        // this thread works on this batch.
        let overlay = match self.deferred.take() {
            Some(d) => {
                self.send(d.ops)?;
                d.written
            }
            None => HashMap::new(),
        };
        let mut stored = match read {
            None => HashMap::new(),
            Some(read) => match self.finish_read(batch, read) {
                Ok(stored) => stored,
                Err(e) => {
                    // A write that failed first is the cause.
                    self.settle()?;
                    return Err(e);
                }
            },
        };
        // The read may have run before the last batch's writes: lay them over it.
        if !overlay.is_empty() {
            for v in batch {
                if let Some(row) = overlay.get(&v.key) {
                    stored.insert(v.key, row.clone());
                }
            }
        }

        // Per key written earlier in this batch: the value that wrote it and its
        // `deleted` flag, so that a repeated key sees the earlier write.
        let mut written: HashMap<ValueKey, (usize, bool)> = HashMap::new();
        // One row per key (the last write), in first-write order; with
        // `skip_existing_check` every insert, so a repeated key violates the key as it
        // does on SQLite.
        let mut rows: Vec<RowOut> = Vec::new();
        let mut row_of_key: HashMap<ValueKey, usize> = HashMap::new();
        let mut audits: Vec<AuditOut<'_>> = Vec::new();
        let mut versions = 0usize;

        for (i, v) in batch.iter().enumerate() {
            let existing = if skip {
                None
            } else if let Some(&(j, deleted)) = written.get(&v.key) {
                let w = &batch[j];
                Some(Existing {
                    value: w.value.as_deref(),
                    comment: w.comment.as_deref(),
                    followup: w.followup,
                    deleted,
                })
            } else {
                stored.get(&v.key).map(|s| Existing {
                    value: s.value.as_deref(),
                    comment: s.comment.as_deref(),
                    followup: s.followup,
                    deleted: s.deleted,
                })
            };
            let incoming = Incoming {
                value: v.value.as_deref(),
                comment: v.comment.as_deref(),
                followup: v.followup,
                deleted: v.deleted,
                zero_insignificant: v.zero_insignificant,
            };
            let decision = import::decide(existing, &incoming, opts.strategy);
            out.push(decision.outcome);
            if opts.dry_run {
                continue;
            }
            let mut write_version = None;
            if let Write::Insert { deleted } | Write::Overwrite { deleted } = decision.write {
                let version = versions;
                versions += 1;
                write_version = Some(version);
                let row = RowOut {
                    value: i,
                    deleted,
                    version,
                };
                if skip {
                    rows.push(row);
                } else {
                    match row_of_key.entry(v.key) {
                        Entry::Occupied(e) => rows[*e.get()] = row,
                        Entry::Vacant(e) => {
                            e.insert(rows.len());
                            rows.push(row);
                        }
                    }
                    written.insert(v.key, (i, deleted));
                }
            }
            if let (Some(kind), false) = (decision.audit, opts.skip_audit) {
                let previous = match kind {
                    AuditType::Create => v.value.as_deref(),
                    AuditType::Update | AuditType::Delete => existing.and_then(|e| e.value),
                };
                // The version of the write that made this audit row: unique per key,
                // and in change order.
                let version = write_version.unwrap_or_else(|| {
                    versions += 1;
                    versions - 1
                });
                audits.push(AuditOut {
                    value: i,
                    previous,
                    kind,
                    version,
                });
            }
        }
        if opts.dry_run || versions == 0 {
            return Ok(());
        }
        let numbers = self.versions(versions)?;
        let now = opts.now_ms;

        // Keys that were not stored go straight into the table by COPY (with
        // `skip_existing_check`, all of them): COPY inserts in bulk, ~1.6x faster than
        // the merge on new values. Keys that were stored are overwritten through the
        // staging table and the merge.
        let (fresh, overwrites): (Vec<&RowOut>, Vec<&RowOut>) = rows
            .iter()
            .partition(|r| skip || !stored.contains_key(&batch[r.value].key));
        let encode = |rows: &[&RowOut]| -> Result<Option<Bytes>> {
            if rows.is_empty() {
                return Ok(None);
            }
            let mut w = CopyWriter::new(rows.len(), 112);
            for r in rows {
                let v = &batch[r.value];
                w.row(13);
                put_key(&mut w, &v.key);
                w.text(v.value.as_deref())?;
                w.text(Some(&v.stored_by))?;
                w.int8(now);
                w.int8(now);
                w.text(v.comment.as_deref())?;
                w.bool(v.followup);
                w.bool(r.deleted);
                w.int8(numbers[r.version]);
            }
            Ok(Some(w.finish()))
        };
        let fresh = match encode(&fresh)? {
            Some(data) => Some((self.conn.statement(sql::COPY_VALUES)?, data)),
            None => None,
        };
        let overwrites = match encode(&overwrites)? {
            Some(data) => Some((
                self.conn.statement(sql::TRUNCATE_STAGE)?,
                self.conn.statement(sql::COPY_STAGE)?,
                self.conn.statement(sql::MERGE_STAGE)?,
                data,
            )),
            None => None,
        };
        let audit_rows = if audits.is_empty() {
            None
        } else {
            let mut w = CopyWriter::new(audits.len(), 96);
            for a in &audits {
                let v = &batch[a.value];
                w.row(10);
                put_key(&mut w, &v.key);
                w.int8(numbers[a.version]);
                w.text(a.previous)?;
                w.int8(now);
                w.text(Some(&v.stored_by))?;
                w.text(Some(a.kind.name()))?;
            }
            Some((self.conn.statement(sql::COPY_AUDITS)?, w.finish()))
        };
        let written: HashMap<ValueKey, StoredRow> = if skip {
            HashMap::new()
        } else {
            rows.iter()
                .map(|r| {
                    let v = &batch[r.value];
                    (
                        v.key,
                        StoredRow {
                            value: v.value.clone(),
                            comment: v.comment.clone(),
                            followup: v.followup,
                            deleted: r.deleted,
                        },
                    )
                })
                .collect()
        };
        let ops = WriteOps {
            skip,
            fresh,
            overwrites,
            audits: audit_rows,
        };
        if skip {
            // A key that exists fails this very batch (the trait's contract), so these
            // writes are not deferred; `skipExistingCheck` reads nothing to overlap with.
            self.send(ops)?;
            return self.settle();
        }
        self.deferred = Some(Deferred { ops, written });
        Ok(())
    }

    fn complete(&mut self, r: &Registration) -> Result<()> {
        self.conn.execute(
            sql::UPSERT_REGISTRATION,
            vec![
                Box::new(i64::from(r.data_set)),
                Box::new(r.period),
                Box::new(i64::from(r.org_unit)),
                Box::new(i64::from(r.attribute_option_combo)),
                Box::new(r.date_ms),
                Box::new(r.stored_by.clone()),
                Box::new(r.created_ms),
                Box::new(r.last_updated_ms),
                Box::new(r.last_updated_by.clone()),
                Box::new(r.completed),
            ],
        )?;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.settle()?;
        if let Some(d) = self.deferred.take() {
            self.send(d.ops)?;
            self.settle()?;
        }
        self.conn.batch("commit")?;
        self.conn.in_transaction = false;
        self.open = false;
        lock(&self.store.periods).extend(self.new_periods.drain(..));
        Ok(())
    }
}

impl Drop for PgImport<'_> {
    fn drop(&mut self) {
        if self.open && self.conn.batch("rollback").is_ok() {
            self.conn.in_transaction = false;
        }
        // If the rollback failed the connection stays marked as inside a transaction
        // and is closed instead of reused; the server rolls back.
    }
}

fn boxed(params: Vec<sql::SqlParam>) -> Vec<Param> {
    params
        .into_iter()
        .map(|p| -> Param {
            match p {
                sql::SqlParam::Ids(v) => Box::new(v),
                sql::SqlParam::Texts(v) => Box::new(v),
                sql::SqlParam::Date(d) => Box::new(d),
                sql::SqlParam::Int(i) => Box::new(i),
                sql::SqlParam::OptInt(i) => Box::new(i),
            }
        })
        .collect()
}

/// Streams the rows of `sql` through a cursor, one chunk ahead of the sink.
fn stream_export(
    conn: &mut Pooled<'_>,
    sql: String,
    params: Vec<Param>,
    sink: &mut dyn FnMut(StoredValueRef<'_>) -> ControlFlow<()>,
) -> Result<()> {
    conn.execute_dynamic(
        format!("declare {} no scroll cursor for {sql}", sql::EXPORT_CURSOR),
        params,
    )?;
    // FETCH takes its row shape from the cursor, so it is prepared after DECLARE.
    let fetch = conn.prepare_uncached(sql::FETCH_EXPORT)?;
    let mut pending = conn.spawn_query(fetch.clone(), Vec::new())?;
    loop {
        let rows = conn.wait(pending)?;
        let next = if rows.len() < sql::EXPORT_CHUNK {
            None
        } else {
            Some(conn.spawn_query(fetch.clone(), Vec::new())?)
        };
        for r in &rows {
            let row = StoredValueRef {
                key: read_key(r)?,
                value: col(r, 5)?,
                stored_by: col(r, 6)?,
                created_ms: col(r, 7)?,
                last_updated_ms: col(r, 8)?,
                comment: col(r, 9)?,
                followup: col(r, 10)?,
                deleted: col(r, 11)?,
                version: col(r, 12)?,
            };
            if sink(row).is_break() {
                // A fetch still in flight is answered before the rollback that ends
                // the transaction; its rows are dropped.
                return Ok(());
            }
        }
        match next {
            Some(p) => pending = p,
            None => return Ok(()),
        }
    }
}

impl DataValueStore for PgStore {
    fn begin_import(&self, options: WriteOptions) -> Result<Box<dyn ImportTx + '_>> {
        let mut conn = self.pool.get()?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        // Prepared now, so that no preparation waits behind writes in flight later.
        for statement in [
            sql::SELECT_EXISTING,
            sql::COPY_VALUES,
            sql::TRUNCATE_STAGE,
            sql::COPY_STAGE,
            sql::MERGE_STAGE,
            sql::COPY_AUDITS,
        ] {
            conn.statement(statement)?;
        }
        Ok(Box::new(PgImport {
            store: self,
            conn,
            options,
            open: true,
            new_periods: Vec::new(),
            deferred: None,
            inflight: None,
        }))
    }

    fn apply_changes(
        &self,
        periods: &[PeriodRow],
        changes: &[ValueChange<'_>],
        now_ms: i64,
    ) -> Result<Vec<ChangeResult>> {
        let mut conn = self.pool.get()?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        let mut pending = Vec::new();
        let applied = apply_all(
            &mut conn,
            &self.periods,
            &mut pending,
            periods,
            changes,
            now_ms,
        );
        let end = match &applied {
            Ok((_, true)) => "commit",
            // A failed change, or an error: nothing is written.
            _ => "rollback",
        };
        let ended = conn.batch(end);
        if ended.is_ok() {
            conn.in_transaction = false;
        }
        let (results, committed) = applied?;
        ended?;
        if committed {
            lock(&self.periods).extend(pending);
        }
        Ok(results)
    }

    fn apply_change_groups(&self, groups: &[ChangeGroup<'_>]) -> Result<Vec<Vec<ChangeResult>>> {
        let mut conn = self.pool.get()?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        let mut pending = Vec::new();
        let applied = apply_groups(&mut conn, &self.periods, &mut pending, groups);
        let end = if applied.is_ok() {
            "commit"
        } else {
            "rollback"
        };
        let ended = conn.batch(end);
        if ended.is_ok() {
            conn.in_transaction = false;
        }
        let results = applied?;
        ended?;
        lock(&self.periods).extend(pending);
        Ok(results)
    }

    fn export(
        &self,
        q: &ExportQuery,
        sink: &mut dyn FnMut(StoredValueRef<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        let (sql, params) = sql::export(q);
        let params = boxed(params);
        let mut conn = self.pool.get()?;
        conn.batch(sql::BEGIN_EXPORT)?;
        conn.in_transaction = true;
        let streamed = stream_export(&mut conn, sql, params, sink);
        let ended = conn.batch("rollback");
        if ended.is_ok() {
            conn.in_transaction = false;
        }
        streamed.and(ended)
    }

    fn get_value(&self, key: &ValueKey) -> Result<Option<StoredValue>> {
        let rows = self.pool.get()?.query(sql::GET_VALUE, key_params(key))?;
        rows.first().map(|r| stored_value(r, *key)).transpose()
    }

    fn audits(&self, key: &ValueKey) -> Result<Vec<AuditRow>> {
        let rows = self.pool.get()?.query(sql::AUDITS, key_params(key))?;
        rows.iter()
            .map(|r| {
                let kind: &str = col(r, 3)?;
                Ok(AuditRow {
                    key: *key,
                    value: col(r, 0)?,
                    created_ms: col(r, 1)?,
                    modified_by: col::<Option<String>>(r, 2)?.unwrap_or_default(),
                    audit_type: AuditType::parse(kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("audit type {kind}")))?,
                })
            })
            .collect()
    }

    fn query_audits(&self, q: &AuditQuery) -> Result<(Vec<AuditRow>, u64)> {
        let (count, select, params) = sql::audits(q);
        let filters = params.len() - 2;
        let count_params = boxed(params[..filters].to_vec());
        let mut conn = self.pool.get()?;
        let total: i64 = conn
            .query_dynamic(count, count_params)?
            .first()
            .map(|r| col(r, 0))
            .transpose()?
            .unwrap_or(0);
        let rows = conn.query_dynamic(select, boxed(params))?;
        let rows = rows
            .iter()
            .map(|r| {
                let kind: &str = col(r, 8)?;
                Ok(AuditRow {
                    key: read_key(r)?,
                    value: col(r, 5)?,
                    created_ms: col(r, 6)?,
                    modified_by: col::<Option<String>>(r, 7)?.unwrap_or_default(),
                    audit_type: AuditType::parse(kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("audit type {kind}")))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((rows, u64::try_from(total).unwrap_or(0)))
    }

    fn save_file_resource(&self, f: &FileResourceRow) -> Result<()> {
        self.pool.get()?.execute(
            sql::INSERT_FILE_RESOURCE,
            vec![
                Box::new(f.uid.clone()),
                Box::new(f.name.clone()),
                Box::new(f.content_type.clone()),
                Box::new(f.content_length),
                Box::new(f.content_md5.clone()),
                Box::new(f.storage_key.clone()),
                Box::new(f.domain.clone()),
                Box::new(f.assigned),
                Box::new(f.created_ms),
                Box::new(f.last_updated_ms),
                Box::new(f.created_by.clone()),
            ],
        )?;
        Ok(())
    }

    fn file_resource(&self, uid: &str) -> Result<Option<FileResourceRow>> {
        let rows = self
            .pool
            .get()?
            .query(sql::GET_FILE_RESOURCE, vec![Box::new(uid.to_owned())])?;
        rows.first()
            .map(|r| {
                Ok(FileResourceRow {
                    uid: col(r, 0)?,
                    name: col(r, 1)?,
                    content_type: col(r, 2)?,
                    content_length: col(r, 3)?,
                    content_md5: col(r, 4)?,
                    storage_key: col(r, 5)?,
                    domain: col(r, 6)?,
                    assigned: col(r, 7)?,
                    created_ms: col(r, 8)?,
                    last_updated_ms: col(r, 9)?,
                    created_by: col(r, 10)?,
                })
            })
            .transpose()
    }

    fn assign_file_resource(&self, uid: &str, assigned: bool, now_ms: i64) -> Result<bool> {
        let statement = if assigned {
            sql::ASSIGN_FILE_RESOURCE
        } else {
            sql::UNASSIGN_FILE_RESOURCE
        };
        let n = self
            .pool
            .get()?
            .execute(statement, vec![Box::new(uid.to_owned()), Box::new(now_ms)])?;
        Ok(n > 0)
    }

    fn delete_file_resource(&self, uid: &str) -> Result<Option<(FileResourceRow, u64)>> {
        let Some(row) = self.file_resource(uid)? else {
            return Ok(None);
        };
        let mut conn = self.pool.get()?;
        let deleted = conn.execute(sql::DELETE_FILE_RESOURCE, vec![Box::new(uid.to_owned())])?;
        let left = conn.query(
            sql::COUNT_STORAGE_KEY,
            vec![Box::new(row.storage_key.clone())],
        )?;
        let left: i64 = left.first().map(|r| col(r, 0)).transpose()?.unwrap_or(0);
        Ok((deleted > 0).then(|| (row, left.max(0) as u64)))
    }

    fn delete_registration(
        &self,
        data_set: u32,
        period: i64,
        org_unit: u32,
        attribute_option_combo: u32,
    ) -> Result<bool> {
        let n = self.pool.get()?.execute(
            sql::DELETE_REGISTRATION,
            vec![
                Box::new(i64::from(data_set)),
                Box::new(period),
                Box::new(i64::from(org_unit)),
                Box::new(i64::from(attribute_option_combo)),
            ],
        )?;
        Ok(n > 0)
    }

    fn registration(
        &self,
        data_set: u32,
        period: i64,
        org_unit: u32,
        attribute_option_combo: u32,
    ) -> Result<Option<Registration>> {
        let rows = self.pool.get()?.query(
            sql::GET_REGISTRATION,
            vec![
                Box::new(i64::from(data_set)),
                Box::new(period),
                Box::new(i64::from(org_unit)),
                Box::new(i64::from(attribute_option_combo)),
            ],
        )?;
        rows.first()
            .map(|r| {
                Ok(Registration {
                    data_set,
                    period,
                    org_unit,
                    attribute_option_combo,
                    date_ms: col(r, 0)?,
                    stored_by: col(r, 1)?,
                    created_ms: col(r, 2)?,
                    last_updated_ms: col(r, 3)?,
                    last_updated_by: col(r, 4)?,
                    completed: col(r, 5)?,
                })
            })
            .transpose()
    }

    fn count_values(&self) -> Result<u64> {
        let rows = self.pool.get()?.query(sql::COUNT_VALUES, Vec::new())?;
        let n: i64 = rows.first().map(|r| col(r, 0)).transpose()?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl DataEntryStore for PgStore {
    fn lock_exceptions(&self) -> Result<Vec<LockException>> {
        let rows = self.pool.get()?.query(sql::LOCK_EXCEPTIONS, Vec::new())?;
        rows.iter()
            .map(|r| {
                Ok(LockException {
                    data_set: id(r, 0)?,
                    period: col(r, 1)?,
                    org_unit: id(r, 2)?,
                    created_ms: col(r, 3)?,
                    created_by: col(r, 4)?,
                })
            })
            .collect()
    }

    fn add_lock_exceptions(&self, exceptions: &[LockException]) -> Result<()> {
        let mut conn = self.pool.get()?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        for e in exceptions {
            conn.execute(
                sql::INSERT_LOCK_EXCEPTION,
                vec![
                    Box::new(i64::from(e.data_set)),
                    Box::new(e.period),
                    Box::new(i64::from(e.org_unit)),
                    Box::new(e.created_ms),
                    Box::new(e.created_by.clone()),
                ],
            )?;
        }
        conn.batch("commit")?;
        conn.in_transaction = false;
        Ok(())
    }

    fn delete_lock_exceptions(
        &self,
        data_set: u32,
        period: Option<i64>,
        org_units: &[u32],
    ) -> Result<u64> {
        let mut conn = self.pool.get()?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        let units: Vec<Option<i64>> = if org_units.is_empty() {
            vec![None]
        } else {
            org_units.iter().map(|o| Some(i64::from(*o))).collect()
        };
        let mut n = 0;
        for unit in units {
            n += conn.execute(
                sql::DELETE_LOCK_EXCEPTIONS,
                vec![
                    Box::new(i64::from(data_set)),
                    Box::new(period),
                    Box::new(unit),
                ],
            )?;
        }
        conn.batch("commit")?;
        conn.in_transaction = false;
        Ok(n)
    }

    fn min_max_values(&self, org_unit: u32, data_elements: &[u32]) -> Result<Vec<MinMaxValue>> {
        let rows = self.pool.get()?.query(
            sql::MIN_MAX_OF_ORG_UNIT,
            vec![Box::new(i64::from(org_unit))],
        )?;
        let mut out = Vec::new();
        for r in &rows {
            let data_element = id(r, 0)?;
            if !data_elements.is_empty() && !data_elements.contains(&data_element) {
                continue;
            }
            out.push(MinMaxValue {
                data_element,
                org_unit,
                category_option_combo: id(r, 1)?,
                min_value: col(r, 2)?,
                max_value: col(r, 3)?,
                generated: col(r, 4)?,
            });
        }
        Ok(out)
    }

    fn save_min_max_value(&self, v: &MinMaxValue) -> Result<()> {
        self.pool.get()?.execute(
            sql::UPSERT_MIN_MAX,
            vec![
                Box::new(i64::from(v.org_unit)),
                Box::new(i64::from(v.data_element)),
                Box::new(i64::from(v.category_option_combo)),
                Box::new(v.min_value),
                Box::new(v.max_value),
                Box::new(v.generated),
            ],
        )?;
        Ok(())
    }

    fn delete_min_max_value(
        &self,
        data_element: u32,
        org_unit: u32,
        category_option_combo: u32,
    ) -> Result<bool> {
        let n = self.pool.get()?.execute(
            sql::DELETE_MIN_MAX,
            vec![
                Box::new(i64::from(org_unit)),
                Box::new(i64::from(data_element)),
                Box::new(i64::from(category_option_combo)),
            ],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(period: i64, org_unit: u32, data_element: u32) -> ValueWrite {
        ValueWrite {
            index: 0,
            key: ValueKey {
                period,
                org_unit,
                data_element,
                category_option_combo: 1,
                attribute_option_combo: 1,
            },
            value: None,
            comment: None,
            stored_by: String::new(),
            followup: false,
            deleted: false,
            zero_insignificant: false,
        }
    }

    #[test]
    fn key_ranges_cover_the_batch_without_wide_gaps() {
        let batch = [
            at(2, 1, 5),
            at(1, 1, 3),
            at(1, 1, 1),
            at(1, 1, 1),
            at(1, 1, 60),
            at(1, 1, 200),
            at(1, 2, 1),
            at(2, 1, 4),
        ];
        assert_eq!(
            key_ranges(&batch),
            vec![(1, 1, 1, 60), (1, 1, 200, 200), (1, 2, 1, 1), (2, 1, 4, 5)]
        );
        assert!(key_ranges(&[]).is_empty());
    }

    #[test]
    fn version_blocks_expand_to_ascending_unique_versions() {
        let b = VERSION_BLOCK as i64;
        let v = expand_blocks(&[1, 1 + b, 1 + 3 * b], 2 * VERSION_BLOCK + 2);
        assert_eq!(v.len(), 2 * VERSION_BLOCK + 2);
        assert_eq!(&v[..2], &[1, 2]);
        assert_eq!(v[VERSION_BLOCK - 1..VERSION_BLOCK + 1], [b, 1 + b]);
        assert_eq!(&v[2 * VERSION_BLOCK..], &[1 + 3 * b, 2 + 3 * b]);
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        assert!(expand_blocks(&[], 0).is_empty());
    }
}

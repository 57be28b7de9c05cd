//! SQLite implementation of the tally store traits (rusqlite, WAL).
//!
//! Layout:
//! * [`SqliteStore`]: one writer connection behind a mutex (SQLite has one writer at a
//!   time anyway) and a small pool of reader connections, so exports never wait for
//!   imports (WAL readers see the last committed state).
//! * `migrations/`: numbered SQL files applied in order at open; never edited once shipped.
//! * [`sql`]: every statement, so a test can prepare them all.
//!
//! Durability: WAL with `synchronous=FULL`, so a write acknowledged after `COMMIT`
//! survives a `kill -9` and a power cut.

pub mod sql;

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tally_domain::import::{self, AuditType, Existing, Incoming, Outcome, Versioned, Write};
use tally_domain::uid::Uid;
use tally_store::{
    AuditQuery, AuditRow, ChangeGroup, ChangeResult, DataEntryStore, DataValueStore, ExportOrder,
    ExportQuery, FileResourceRow, ImportTx, JobRecord, JobStore, LockException, MetadataRecord,
    MetadataStore, MinMaxValue, PeriodFilter, PeriodRow, Registration, Result, StoreError,
    StoredValue, StoredValueRef, ValueChange, ValueKey, ValueWrite, WriteOptions,
};

/// Migrations, in order. Index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/V001__init.sql"),
    include_str!("../migrations/V002__jobs.sql"),
    include_str!("../migrations/V003__audit_clustered.sql"),
    include_str!("../migrations/V004__data_entry.sql"),
    include_str!("../migrations/V005__file_resources.sql"),
];

/// Reader connections kept open for exports and reads.
const READERS: usize = 4;

/// The embedded default store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Last version handed out; versions are global and monotonic.
    version: AtomicI64,
    /// Period keys known to exist in the `period` table.
    periods: Mutex<HashSet<i64>>,
}

fn err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            C::ConstraintViolation => StoreError::Constraint(e.to_string()),
            C::DatabaseBusy | C::DatabaseLocked | C::CannotOpen => {
                StoreError::Unavailable(e.to_string())
            }
            C::DatabaseCorrupt | C::NotADatabase => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave SQLite inconsistent (transactions
    // roll back on drop), so a poisoned mutex is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Page cache of the writer (bulk imports touch two B-trees at once).
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Page cache of each reader (exports stream sequentially; the OS cache does the rest).
const READER_CACHE_KIB: i64 = 16 * 1024;

fn open_connection(path: &Path, cache_kib: i64) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
    conn.execute_batch(
        "pragma journal_mode = wal;
         pragma synchronous = full;
         pragma foreign_keys = off;
         pragma temp_store = memory;",
    )
    .map_err(err)?;
    conn.pragma_update(None, "cache_size", -cache_kib)
        .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(sql::CREATE_MIGRATIONS).map_err(err)?;
    let applied: i64 = conn
        .query_row(sql::MAX_MIGRATION, [], |r| r.get(0))
        .map_err(err)?;
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= applied {
            continue;
        }
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(migration).map_err(err)?;
        tx.execute(sql::RECORD_MIGRATION, params![version])
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    ///
    /// # Errors
    /// The file cannot be opened or migrated.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_connection(&path, WRITER_CACHE_KIB)?;
        migrate(&mut writer)?;
        let version: i64 = writer
            .query_row(sql::MAX_VERSION, [], |r| r.get(0))
            .map_err(err)?;
        let periods = writer
            .prepare(sql::PERIOD_KEYS)
            .and_then(|mut stmt| {
                stmt.query_map([], |r| r.get::<_, i64>(0))?
                    .collect::<Result<HashSet<_>, _>>()
            })
            .map_err(err)?;
        Ok(Self {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            version: AtomicI64::new(version),
            periods: Mutex::new(periods),
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Schema version after migrations.
    ///
    /// # Errors
    /// Backend failures.
    pub fn schema_version(&self) -> Result<i64> {
        self.with_reader(|c| {
            c.query_row(sql::MAX_MIGRATION, [], |r| r.get(0))
                .map_err(err)
        })
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => open_connection(&self.path, READER_CACHE_KIB)?,
        };
        let out = f(&conn);
        let mut pool = lock(&self.readers);
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` on the writer connection (for one-off writes outside imports).
    fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        f(&mut conn)
    }
}

impl MetadataStore for SqliteStore {
    fn load_metadata(&self) -> Result<Vec<MetadataRecord>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(sql::LOAD_METADATA).map_err(err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, kind, uid, body) = row.map_err(err)?;
                let uid = Uid::parse(&uid)
                    .map_err(|e| StoreError::Corrupt(format!("metadata uid {uid}: {e}")))?;
                let id = u32::try_from(id)
                    .map_err(|_| StoreError::Corrupt(format!("metadata id {id}")))?;
                out.push(MetadataRecord {
                    id,
                    kind,
                    uid,
                    body,
                });
            }
            Ok(out)
        })
    }

    fn save_metadata(&self, objects: &[(String, Uid, String)]) -> Result<Vec<u32>> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            let mut ids = Vec::with_capacity(objects.len());
            {
                let mut upsert = tx.prepare(sql::UPSERT_METADATA).map_err(err)?;
                for (kind, uid, body) in objects {
                    let id: i64 = upsert
                        .query_row(params![kind, uid.as_str(), body], |r| r.get(0))
                        .map_err(err)?;
                    ids.push(
                        u32::try_from(id)
                            .map_err(|_| StoreError::Corrupt(format!("metadata id {id}")))?,
                    );
                }
            }
            tx.commit().map_err(err)?;
            Ok(ids)
        })
    }
}

fn read_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: r.get(0)?,
        job_type: r.get(1)?,
        status: r.get(2)?,
        created_ms: r.get(3)?,
        updated_ms: r.get(4)?,
        username: r.get(5)?,
        params: r.get(6)?,
        body_path: r.get(7)?,
        notifications: r.get(8)?,
        summary: r.get(9)?,
    })
}

/// One process owns a SQLite file, so sessions stay in its memory.
impl tally_store::SessionStore for SqliteStore {}

impl JobStore for SqliteStore {
    fn save_job(&self, j: &JobRecord) -> Result<()> {
        self.with_writer(|c| {
            c.prepare_cached(sql::SAVE_JOB)
                .and_then(|mut s| {
                    s.execute(params![
                        j.id,
                        j.job_type,
                        j.status,
                        j.created_ms,
                        j.updated_ms,
                        j.username,
                        j.params,
                        j.body_path,
                        j.notifications,
                        j.summary
                    ])
                })
                .map(drop)
                .map_err(err)
        })
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>> {
        self.with_reader(|c| {
            c.query_row(sql::GET_JOB, params![id], read_job)
                .optional()
                .map_err(err)
        })
    }

    fn jobs(&self, job_type: &str) -> Result<Vec<JobRecord>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(sql::JOBS_OF_TYPE).map_err(err)?;
            stmt.query_map(params![job_type], read_job)
                .and_then(Iterator::collect)
                .map_err(err)
        })
    }

    fn unfinished_jobs(&self) -> Result<Vec<JobRecord>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(sql::UNFINISHED_JOBS).map_err(err)?;
            stmt.query_map([], read_job)
                .and_then(Iterator::collect)
                .map_err(err)
        })
    }
}

/// An open import: holds the writer connection for its whole life.
struct SqliteImport<'a> {
    conn: MutexGuard<'a, Connection>,
    store: &'a SqliteStore,
    options: WriteOptions,
    open: bool,
    /// Whether the batch being written has taken a version yet.
    batch_started: std::cell::Cell<bool>,
}

impl SqliteImport<'_> {
    /// The next version of the batch being written: the first takes a fresh block
    /// ([`tally_store::VERSION_BLOCK`]), the others follow it.
    fn next_version(&self) -> i64 {
        if self.batch_started.replace(true) {
            bump_version(&self.store.version, |last| last + 1)
        } else {
            bump_version(&self.store.version, tally_store::next_version_block)
        }
    }
}

/// Moves `version` (the highest version handed out) to `next` of it and returns that.
fn bump_version(version: &AtomicI64, next: impl Fn(i64) -> i64) -> i64 {
    let last = match version.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| Some(next(l))) {
        Ok(l) | Err(l) => l,
    };
    next(last)
}

fn key_params(k: &ValueKey) -> [i64; 5] {
    [
        k.period,
        i64::from(k.org_unit),
        i64::from(k.data_element),
        i64::from(k.category_option_combo),
        i64::from(k.attribute_option_combo),
    ]
}

/// The stored fields `decide` compares with.
struct ExistingRow {
    value: Option<String>,
    comment: Option<String>,
    followup: bool,
    deleted: bool,
}

/// Inserts the periods not known to exist yet (inside the caller's transaction).
fn insert_periods(
    conn: &Connection,
    known: &Mutex<HashSet<i64>>,
    periods: &[PeriodRow],
) -> Result<()> {
    let mut known = lock(known);
    let mut stmt = conn.prepare_cached(sql::INSERT_PERIOD).map_err(err)?;
    for p in periods {
        if known.contains(&p.key) {
            continue;
        }
        stmt.execute(params![
            p.key,
            p.period_type,
            p.start.to_string(),
            p.end.to_string(),
            p.iso
        ])
        .map_err(err)?;
        // Remembered only after commit would be stricter; a rolled-back period row
        // is re-inserted harmlessly next time because the insert ignores duplicates.
        known.insert(p.key);
    }
    Ok(())
}

fn read_stored(key: ValueKey) -> impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<StoredValue> {
    move |r| {
        Ok(StoredValue {
            key,
            value: r.get(0)?,
            stored_by: r.get(1)?,
            created_ms: r.get(2)?,
            last_updated_ms: r.get(3)?,
            comment: r.get(4)?,
            followup: r.get(5)?,
            deleted: r.get(6)?,
            version: r.get(7)?,
        })
    }
}

impl SqliteStore {
    /// The version of a single-value change: a block of its own.
    fn next_version(&self) -> i64 {
        bump_version(&self.version, tally_store::next_version_block)
    }

    /// One change inside the open transaction: decide, write, audit. Returns the result
    /// with the row as it is afterwards.
    fn apply_change(
        &self,
        tx: &Connection,
        c: &ValueChange<'_>,
        now_ms: i64,
    ) -> Result<ChangeResult> {
        let k = key_params(&c.key);
        let stored = tx
            .prepare_cached(sql::GET_VALUE)
            .map_err(err)?
            .query_row(k, read_stored(c.key))
            .optional()
            .map_err(err)?;
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
        let version = self.next_version();
        let stored_by = if w.set_stored_by {
            Some(c.user.to_owned())
        } else {
            stored.as_ref().and_then(|s| s.stored_by.clone())
        };
        let created_ms = match (&stored, w.insert) {
            (Some(s), false) => s.created_ms,
            _ => now_ms,
        };
        if w.insert {
            tx.prepare_cached(sql::INSERT_VALUE)
                .and_then(|mut st| {
                    st.execute(params![
                        k[0], k[1], k[2], k[3], k[4], w.value, stored_by, now_ms, now_ms,
                        w.comment, w.followup, w.deleted, version
                    ])
                })
                .map_err(err)?;
        } else {
            tx.prepare_cached(sql::OVERWRITE_VALUE)
                .and_then(|mut st| {
                    st.execute(params![
                        w.value, stored_by, now_ms, w.comment, w.followup, w.deleted, version,
                        k[0], k[1], k[2], k[3], k[4]
                    ])
                })
                .map_err(err)?;
        }
        if let Some((kind, value)) = decision.audit {
            tx.prepare_cached(sql::INSERT_AUDIT)
                .and_then(|mut st| {
                    st.execute(params![
                        k[0],
                        k[1],
                        k[2],
                        k[3],
                        k[4],
                        version,
                        value,
                        now_ms,
                        c.user,
                        kind.name()
                    ])
                })
                .map_err(err)?;
        }
        let row = StoredValue {
            key: c.key,
            value: w.value.map(str::to_owned),
            stored_by,
            created_ms,
            last_updated_ms: now_ms,
            comment: w.comment.map(str::to_owned),
            followup: w.followup,
            deleted: w.deleted,
            version,
        };
        Ok(ChangeResult {
            outcome: decision.outcome,
            row: Some(row),
        })
    }
}

impl ImportTx for SqliteImport<'_> {
    fn ensure_periods(&mut self, periods: &[PeriodRow]) -> Result<()> {
        insert_periods(&self.conn, &self.store.periods, periods)
    }

    fn write_batch(&mut self, batch: &[ValueWrite], out: &mut Vec<Outcome>) -> Result<()> {
        self.batch_started.set(false);
        let opts = self.options;
        let conn = &*self.conn;
        let mut select = conn.prepare_cached(sql::SELECT_EXISTING).map_err(err)?;
        let mut insert = conn.prepare_cached(sql::INSERT_VALUE).map_err(err)?;
        let mut overwrite = conn.prepare_cached(sql::OVERWRITE_VALUE).map_err(err)?;
        let mut audit = conn.prepare_cached(sql::INSERT_AUDIT).map_err(err)?;
        for v in batch {
            let k = key_params(&v.key);
            let existing = if opts.skip_existing_check {
                None
            } else {
                select
                    .query_row(k, |r| {
                        Ok(ExistingRow {
                            value: r.get(0)?,
                            comment: r.get(1)?,
                            followup: r.get(2)?,
                            deleted: r.get(3)?,
                        })
                    })
                    .optional()
                    .map_err(err)?
            };
            let incoming = Incoming {
                value: v.value.as_deref(),
                comment: v.comment.as_deref(),
                followup: v.followup,
                deleted: v.deleted,
                zero_insignificant: v.zero_insignificant,
            };
            let decision = import::decide(
                existing.as_ref().map(|e| Existing {
                    value: e.value.as_deref(),
                    comment: e.comment.as_deref(),
                    followup: e.followup,
                    deleted: e.deleted,
                }),
                &incoming,
                opts.strategy,
            );
            out.push(decision.outcome);
            if opts.dry_run {
                continue;
            }
            let mut written = None;
            match decision.write {
                Write::None => {}
                Write::Insert { deleted } => {
                    let version = self.next_version();
                    written = Some(version);
                    insert
                        .execute(params![
                            k[0],
                            k[1],
                            k[2],
                            k[3],
                            k[4],
                            v.value,
                            v.stored_by,
                            opts.now_ms,
                            opts.now_ms,
                            v.comment,
                            v.followup,
                            deleted,
                            version
                        ])
                        .map_err(err)?;
                }
                Write::Overwrite { deleted } => {
                    let version = self.next_version();
                    written = Some(version);
                    overwrite
                        .execute(params![
                            v.value,
                            v.stored_by,
                            opts.now_ms,
                            v.comment,
                            v.followup,
                            deleted,
                            version,
                            k[0],
                            k[1],
                            k[2],
                            k[3],
                            k[4]
                        ])
                        .map_err(err)?;
                }
            }
            if let (Some(kind), false) = (decision.audit, opts.skip_audit) {
                let previous = match kind {
                    AuditType::Create => v.value.as_deref(),
                    AuditType::Update | AuditType::Delete => {
                        existing.as_ref().and_then(|e| e.value.as_deref())
                    }
                };
                audit
                    .execute(params![
                        k[0],
                        k[1],
                        k[2],
                        k[3],
                        k[4],
                        // The version of the write that made this audit row: unique per
                        // key, and in change order.
                        written.unwrap_or_else(|| self.next_version()),
                        previous,
                        opts.now_ms,
                        v.stored_by,
                        kind.name()
                    ])
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    fn complete(&mut self, r: &Registration) -> Result<()> {
        self.conn
            .prepare_cached(sql::UPSERT_REGISTRATION)
            .map_err(err)?
            .execute(params![
                r.data_set,
                r.period,
                r.org_unit,
                r.attribute_option_combo,
                r.date_ms,
                r.stored_by,
                r.created_ms,
                r.last_updated_ms,
                r.last_updated_by,
                r.completed
            ])
            .map_err(err)?;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.conn.execute_batch("commit").map_err(err)?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteImport<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing useful can be done if the rollback itself fails: the connection
            // would roll back on close anyway.
            let _ = self.conn.execute_batch("rollback");
        }
    }
}

fn push_list(sql: &mut String, column: &str, param: usize) {
    use std::fmt::Write as _;
    let _ = write!(
        sql,
        " and {column} in (select value from json_each(?{param}))"
    );
}

fn json_list<T: std::fmt::Display>(items: &[T]) -> String {
    let mut s = String::with_capacity(items.len() * 8 + 2);
    s.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&item.to_string());
    }
    s.push(']');
    s
}

impl DataValueStore for SqliteStore {
    fn begin_import(&self, options: WriteOptions) -> Result<Box<dyn ImportTx + '_>> {
        let conn = lock(&self.writer);
        conn.execute_batch("begin immediate").map_err(err)?;
        Ok(Box::new(SqliteImport {
            conn,
            store: self,
            options,
            open: true,
            batch_started: std::cell::Cell::new(false),
        }))
    }

    fn apply_changes(
        &self,
        periods: &[PeriodRow],
        changes: &[ValueChange<'_>],
        now_ms: i64,
    ) -> Result<Vec<ChangeResult>> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            insert_periods(&tx, &self.periods, periods)?;
            let mut results = Vec::with_capacity(changes.len());
            for c in changes {
                let result = self.apply_change(&tx, c, now_ms)?;
                let failed = result.outcome.is_failure();
                results.push(result);
                if failed {
                    // Dropping the transaction rolls back what the earlier changes wrote.
                    return Ok(results);
                }
            }
            tx.commit().map_err(err)?;
            Ok(results)
        })
    }

    fn apply_change_groups(&self, groups: &[ChangeGroup<'_>]) -> Result<Vec<Vec<ChangeResult>>> {
        self.with_writer(|conn| {
            let mut tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            for g in groups {
                insert_periods(&tx, &self.periods, g.periods)?;
            }
            let mut out = Vec::with_capacity(groups.len());
            for g in groups {
                let sp = tx.savepoint().map_err(err)?;
                let mut results = Vec::with_capacity(g.changes.len());
                let mut failed = false;
                for c in g.changes {
                    let result = self.apply_change(&sp, c, g.now_ms)?;
                    failed = result.outcome.is_failure();
                    results.push(result);
                    if failed {
                        break;
                    }
                }
                if failed {
                    // Rolls back to the savepoint and releases it: only this group
                    // is undone.
                    sp.finish().map_err(err)?;
                } else {
                    sp.commit().map_err(err)?;
                }
                out.push(results);
            }
            tx.commit().map_err(err)?;
            Ok(out)
        })
    }

    fn export(
        &self,
        q: &ExportQuery,
        sink: &mut dyn FnMut(StoredValueRef<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        let mut sql = String::from(sql::EXPORT_SELECT);
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        args.push(json_list(&q.data_elements).into());
        push_list(&mut sql, "dataelementid", args.len());
        args.push(json_list(&q.org_units).into());
        push_list(&mut sql, "sourceid", args.len());
        match &q.periods {
            PeriodFilter::Any => {}
            PeriodFilter::Keys(keys) => {
                args.push(json_list(keys).into());
                push_list(&mut sql, "periodid", args.len());
            }
            PeriodFilter::Within { start, end } => {
                args.push(start.to_string().into());
                args.push(end.to_string().into());
                sql.push_str(&format!(
                    " and periodid in (select periodid from period where startdate >= ?{} and enddate <= ?{})",
                    args.len() - 1,
                    args.len()
                ));
            }
        }
        if let Some(aocs) = &q.attribute_option_combos {
            args.push(json_list(aocs).into());
            push_list(&mut sql, "attributeoptioncomboid", args.len());
        }
        if !q.include_deleted {
            sql.push_str(" and deleted = 0");
        }
        if let Some(since) = q.last_updated_since_ms {
            args.push(since.into());
            sql.push_str(&format!(" and lastupdated >= ?{}", args.len()));
        }
        if q.order == ExportOrder::OrgUnitPeriod {
            sql.push_str(" order by sourceid, periodid, attributeoptioncomboid");
        }
        if let Some(limit) = q.limit {
            args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
            sql.push_str(&format!(" limit ?{}", args.len()));
        }
        self.with_reader(|c| {
            let mut stmt = c.prepare(&sql).map_err(err)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(args.iter()))
                .map_err(err)?;
            while let Some(r) = rows.next().map_err(err)? {
                let row = StoredValueRef {
                    key: read_key(r)?,
                    value: text(r, 5)?,
                    stored_by: text(r, 6)?,
                    created_ms: r.get(7).map_err(err)?,
                    last_updated_ms: r.get(8).map_err(err)?,
                    comment: text(r, 9)?,
                    followup: r.get(10).map_err(err)?,
                    deleted: r.get(11).map_err(err)?,
                    version: r.get(12).map_err(err)?,
                };
                if sink(row).is_break() {
                    break;
                }
            }
            Ok(())
        })
    }

    fn get_value(&self, key: &ValueKey) -> Result<Option<StoredValue>> {
        self.with_reader(|c| {
            c.query_row(sql::GET_VALUE, key_params(key), read_stored(*key))
                .optional()
                .map_err(err)
        })
    }

    fn audits(&self, key: &ValueKey) -> Result<Vec<AuditRow>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(sql::AUDITS).map_err(err)?;
            let rows = stmt
                .query_map(key_params(key), |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (value, created_ms, modified_by, kind) = row.map_err(err)?;
                let audit_type = AuditType::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("audit type {kind}")))?;
                out.push(AuditRow {
                    key: *key,
                    value,
                    created_ms,
                    modified_by: modified_by.unwrap_or_default(),
                    audit_type,
                });
            }
            Ok(out)
        })
    }

    fn query_audits(&self, q: &AuditQuery) -> Result<(Vec<AuditRow>, u64)> {
        let mut filter = String::new();
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut list = |column: &str, items: String, args: &mut Vec<rusqlite::types::Value>| {
            args.push(items.into());
            push_list(&mut filter, column, args.len());
        };
        if !q.data_elements.is_empty() {
            list("dataelementid", json_list(&q.data_elements), &mut args);
        }
        if !q.periods.is_empty() {
            list("periodid", json_list(&q.periods), &mut args);
        }
        if !q.org_units.is_empty() {
            list("sourceid", json_list(&q.org_units), &mut args);
        }
        if let Some(coc) = q.category_option_combo {
            list("categoryoptioncomboid", json_list(&[coc]), &mut args);
        }
        if let Some(aoc) = q.attribute_option_combo {
            list("attributeoptioncomboid", json_list(&[aoc]), &mut args);
        }
        if !q.audit_types.is_empty() {
            let names: Vec<String> = q
                .audit_types
                .iter()
                .map(|t| format!("\"{}\"", t.name()))
                .collect();
            list("audittype", json_list(&names), &mut args);
        }
        let count_sql = format!("{}{filter}", sql::AUDIT_COUNT);
        let mut select = format!(
            "{}{filter} order by created desc, version desc",
            sql::AUDIT_SELECT
        );
        let mut page = args.clone();
        page.push(
            q.limit
                .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX))
                .into(),
        );
        page.push(i64::try_from(q.offset).unwrap_or(i64::MAX).into());
        select.push_str(&format!(
            " limit ?{} offset ?{}",
            page.len() - 1,
            page.len()
        ));
        self.with_reader(|c| {
            let total: i64 = c
                .query_row(&count_sql, rusqlite::params_from_iter(args.iter()), |r| {
                    r.get(0)
                })
                .map_err(err)?;
            let mut stmt = c.prepare(&select).map_err(err)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(page.iter()))
                .map_err(err)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(err)? {
                let kind: String = r.get(8).map_err(err)?;
                let audit_type = AuditType::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("audit type {kind}")))?;
                out.push(AuditRow {
                    key: read_key(r)?,
                    value: r.get(5).map_err(err)?,
                    created_ms: r.get(6).map_err(err)?,
                    modified_by: r
                        .get::<_, Option<String>>(7)
                        .map_err(err)?
                        .unwrap_or_default(),
                    audit_type,
                });
            }
            Ok((out, u64::try_from(total).unwrap_or(0)))
        })
    }

    fn save_file_resource(&self, f: &FileResourceRow) -> Result<()> {
        self.with_writer(|c| {
            c.execute(
                sql::INSERT_FILE_RESOURCE,
                params![
                    f.uid,
                    f.name,
                    f.content_type,
                    f.content_length,
                    f.content_md5,
                    f.storage_key,
                    f.domain,
                    f.assigned,
                    f.created_ms,
                    f.last_updated_ms,
                    f.created_by
                ],
            )
            .map(drop)
            .map_err(err)
        })
    }

    fn file_resource(&self, uid: &str) -> Result<Option<FileResourceRow>> {
        self.with_reader(|c| {
            c.query_row(sql::GET_FILE_RESOURCE, params![uid], |r| {
                Ok(FileResourceRow {
                    uid: r.get(0)?,
                    name: r.get(1)?,
                    content_type: r.get(2)?,
                    content_length: r.get(3)?,
                    content_md5: r.get(4)?,
                    storage_key: r.get(5)?,
                    domain: r.get(6)?,
                    assigned: r.get(7)?,
                    created_ms: r.get(8)?,
                    last_updated_ms: r.get(9)?,
                    created_by: r.get(10)?,
                })
            })
            .optional()
            .map_err(err)
        })
    }

    fn assign_file_resource(&self, uid: &str, assigned: bool, now_ms: i64) -> Result<bool> {
        let statement = if assigned {
            sql::ASSIGN_FILE_RESOURCE
        } else {
            sql::UNASSIGN_FILE_RESOURCE
        };
        self.with_writer(|c| {
            c.execute(statement, params![uid, now_ms])
                .map(|n| n > 0)
                .map_err(err)
        })
    }

    fn delete_file_resource(&self, uid: &str) -> Result<Option<(FileResourceRow, u64)>> {
        let Some(row) = self.file_resource(uid)? else {
            return Ok(None);
        };
        self.with_writer(|c| {
            let tx = c.transaction().map_err(err)?;
            let deleted = tx
                .execute(sql::DELETE_FILE_RESOURCE, params![uid])
                .map_err(err)?;
            let left: i64 = tx
                .query_row(sql::COUNT_STORAGE_KEY, params![row.storage_key], |r| {
                    r.get(0)
                })
                .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok((deleted > 0).then(|| (row, left.max(0) as u64)))
        })
    }

    fn delete_registration(
        &self,
        data_set: u32,
        period: i64,
        org_unit: u32,
        attribute_option_combo: u32,
    ) -> Result<bool> {
        self.with_writer(|c| {
            c.execute(
                sql::DELETE_REGISTRATION,
                params![data_set, period, org_unit, attribute_option_combo],
            )
            .map(|n| n > 0)
            .map_err(err)
        })
    }

    fn registration(
        &self,
        data_set: u32,
        period: i64,
        org_unit: u32,
        attribute_option_combo: u32,
    ) -> Result<Option<Registration>> {
        self.with_reader(|c| {
            c.query_row(
                sql::GET_REGISTRATION,
                params![data_set, period, org_unit, attribute_option_combo],
                |r| {
                    Ok(Registration {
                        data_set,
                        period,
                        org_unit,
                        attribute_option_combo,
                        date_ms: r.get(0)?,
                        stored_by: r.get(1)?,
                        created_ms: r.get(2)?,
                        last_updated_ms: r.get(3)?,
                        last_updated_by: r.get(4)?,
                        completed: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(err)
        })
    }

    fn count_values(&self) -> Result<u64> {
        self.with_reader(|c| {
            let n: i64 = c
                .query_row(sql::COUNT_VALUES, [], |r| r.get(0))
                .map_err(err)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}

fn id_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u32> {
    let v: i64 = r.get(i)?;
    u32::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v))
}

impl DataEntryStore for SqliteStore {
    fn lock_exceptions(&self) -> Result<Vec<LockException>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(sql::LOCK_EXCEPTIONS).map_err(err)?;
            stmt.query_map([], |r| {
                Ok(LockException {
                    data_set: id_col(r, 0)?,
                    period: r.get(1)?,
                    org_unit: id_col(r, 2)?,
                    created_ms: r.get(3)?,
                    created_by: r.get(4)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(err)
        })
    }

    fn add_lock_exceptions(&self, exceptions: &[LockException]) -> Result<()> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            {
                let mut insert = tx.prepare_cached(sql::INSERT_LOCK_EXCEPTION).map_err(err)?;
                for e in exceptions {
                    insert
                        .execute(params![
                            e.data_set,
                            e.period,
                            e.org_unit,
                            e.created_ms,
                            e.created_by
                        ])
                        .map_err(err)?;
                }
            }
            tx.commit().map_err(err)
        })
    }

    fn delete_lock_exceptions(
        &self,
        data_set: u32,
        period: Option<i64>,
        org_units: &[u32],
    ) -> Result<u64> {
        self.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            let units: Vec<Option<u32>> = if org_units.is_empty() {
                vec![None]
            } else {
                org_units.iter().copied().map(Some).collect()
            };
            let mut n = 0;
            {
                let mut delete = tx
                    .prepare_cached(sql::DELETE_LOCK_EXCEPTIONS)
                    .map_err(err)?;
                for unit in units {
                    n += delete
                        .execute(params![data_set, period, unit])
                        .map_err(err)?;
                }
            }
            tx.commit().map_err(err)?;
            Ok(n as u64)
        })
    }

    fn min_max_values(&self, org_unit: u32, data_elements: &[u32]) -> Result<Vec<MinMaxValue>> {
        let all: Vec<MinMaxValue> = self.with_reader(|c| {
            let mut stmt = c.prepare_cached(sql::MIN_MAX_OF_ORG_UNIT).map_err(err)?;
            stmt.query_map(params![org_unit], |r| {
                Ok(MinMaxValue {
                    data_element: id_col(r, 0)?,
                    org_unit,
                    category_option_combo: id_col(r, 1)?,
                    min_value: r.get(2)?,
                    max_value: r.get(3)?,
                    generated: r.get(4)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(err)
        })?;
        Ok(all
            .into_iter()
            .filter(|m| data_elements.is_empty() || data_elements.contains(&m.data_element))
            .collect())
    }

    fn save_min_max_value(&self, v: &MinMaxValue) -> Result<()> {
        self.with_writer(|conn| {
            conn.prepare_cached(sql::UPSERT_MIN_MAX)
                .and_then(|mut s| {
                    s.execute(params![
                        v.org_unit,
                        v.data_element,
                        v.category_option_combo,
                        v.min_value,
                        v.max_value,
                        v.generated
                    ])
                })
                .map_err(err)?;
            Ok(())
        })
    }

    fn delete_min_max_value(
        &self,
        data_element: u32,
        org_unit: u32,
        category_option_combo: u32,
    ) -> Result<bool> {
        self.with_writer(|conn| {
            let n = conn
                .prepare_cached(sql::DELETE_MIN_MAX)
                .and_then(|mut s| s.execute(params![org_unit, data_element, category_option_combo]))
                .map_err(err)?;
            Ok(n > 0)
        })
    }
}

fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<Option<&'r str>> {
    r.get_ref(i)
        .map_err(err)?
        .as_str_or_null()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn read_key(r: &rusqlite::Row<'_>) -> Result<ValueKey> {
    let id = |i: usize| -> Result<u32> {
        let v: i64 = r.get(i).map_err(err)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("id {v} out of range")))
    };
    Ok(ValueKey {
        period: r.get(0).map_err(err)?,
        org_unit: id(1)?,
        data_element: id(2)?,
        category_option_combo: id(3)?,
        attribute_option_combo: id(4)?,
    })
}

mod copy_impl {
    //! [`tally_store::copy::CopyStore`]: generic row reads and inserts over the tables
    //! of the logical schema.

    use rusqlite::types::{Value, ValueRef};
    use tally_store::copy::{Cell, ColumnType, CopyIn, CopyStore, CopyTable};

    use super::{Connection, MutexGuard, Ordering, Result, SqliteStore, StoreError, err, lock};

    fn cell(v: ValueRef<'_>, ty: ColumnType) -> Result<Cell> {
        Ok(match (v, ty) {
            (ValueRef::Null, _) => Cell::Null,
            (ValueRef::Integer(i), ColumnType::Bool) => Cell::Bool(i != 0),
            (ValueRef::Integer(i), _) => Cell::Int(i),
            (ValueRef::Text(t), _) => Cell::Text(
                std::str::from_utf8(t)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .to_owned(),
            ),
            (other, _) => {
                return Err(StoreError::Corrupt(format!(
                    "unexpected stored type {:?}",
                    other.data_type()
                )));
            }
        })
    }

    fn value(c: &Cell) -> Value {
        match c {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Integer(*i),
            Cell::Bool(b) => Value::Integer(i64::from(*b)),
            Cell::Text(t) => Value::Text(t.clone()),
        }
    }

    impl CopyStore for SqliteStore {
        fn read_rows(
            &self,
            table: &CopyTable,
            after: Option<&[Cell]>,
            limit: usize,
        ) -> Result<Vec<Vec<Cell>>> {
            let keys = table.key_list();
            let mut sql = format!("select {} from {}", table.column_list(), table.name);
            let mut params: Vec<Value> = Vec::new();
            if let Some(after) = after {
                let marks = vec!["?"; after.len()].join(", ");
                sql.push_str(&format!(" where ({keys}) > ({marks})"));
                params.extend(after.iter().map(value));
            }
            sql.push_str(&format!(" order by {keys} limit {limit}"));
            self.with_reader(|c| {
                let mut stmt = c.prepare(&sql).map_err(err)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params))
                    .map_err(err)?;
                let mut out = Vec::new();
                while let Some(r) = rows.next().map_err(err)? {
                    let mut row = Vec::with_capacity(table.columns.len());
                    for (i, (_, ty)) in table.columns.iter().enumerate() {
                        row.push(cell(r.get_ref(i).map_err(err)?, *ty)?);
                    }
                    out.push(row);
                }
                Ok(out)
            })
        }

        fn count_rows(&self, table: &CopyTable) -> Result<u64> {
            self.with_reader(|c| {
                let n: i64 = c
                    .query_row(&format!("select count(*) from {}", table.name), [], |r| {
                        r.get(0)
                    })
                    .map_err(err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
        }

        fn begin_copy_in(&self) -> Result<Box<dyn CopyIn + '_>> {
            let conn = lock(&self.writer);
            conn.execute_batch("begin immediate").map_err(err)?;
            Ok(Box::new(SqliteCopyIn {
                conn,
                store: self,
                open: true,
            }))
        }
    }

    struct SqliteCopyIn<'a> {
        conn: MutexGuard<'a, Connection>,
        store: &'a SqliteStore,
        open: bool,
    }

    impl CopyIn for SqliteCopyIn<'_> {
        fn insert_rows(&mut self, table: &CopyTable, rows: &[Vec<Cell>]) -> Result<()> {
            let marks = vec!["?"; table.columns.len()].join(", ");
            let sql = format!(
                "insert into {} ({}) values ({marks})",
                table.name,
                table.column_list()
            );
            let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
            for row in rows {
                stmt.execute(rusqlite::params_from_iter(row.iter().map(value)))
                    .map_err(err)?;
            }
            Ok(())
        }

        fn commit(mut self: Box<Self>) -> Result<()> {
            self.conn.execute_batch("commit").map_err(err)?;
            self.open = false;
            // Versions continue after the copied ones; copied periods are known.
            let version: i64 = self
                .conn
                .query_row(super::sql::MAX_VERSION, [], |r| r.get(0))
                .map_err(err)?;
            self.store.version.fetch_max(version, Ordering::Relaxed);
            let mut stmt = self.conn.prepare(super::sql::PERIOD_KEYS).map_err(err)?;
            let keys = stmt
                .query_map([], |r| r.get::<_, i64>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(err)?;
            lock(&self.store.periods).extend(keys);
            Ok(())
        }
    }

    impl Drop for SqliteCopyIn<'_> {
        fn drop(&mut self) {
            if self.open {
                let _ = self.conn.execute_batch("rollback");
            }
        }
    }
}

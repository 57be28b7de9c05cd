//! Storage traits of tally.
//!
//! The traits are narrow and batch-shaped so that two hand-written backends (SQLite
//! through rusqlite, PostgreSQL through tokio-postgres) can implement them without
//! drifting. They are synchronous: the core calls them from blocking threads (the import
//! pipeline runs on its own thread anyway), which keeps SQLite's single-writer model
//! simple and lets PostgreSQL use set-based `COPY` per batch.
//!
//! What is decided where:
//! * the import *rule* (imported, updated, deleted, ignored, audit or not) is
//!   [`tally_domain::import::decide`], called by every backend for every value;
//! * identifiers are already resolved to internal ids ([`ValueKey`]) by the core's
//!   metadata snapshot, so no backend ever looks up a UID per value;
//! * backends own transactions, durability and SQL.
//!
//! Driver errors are mapped to [`StoreError`] inside each backend: this crate never
//! names rusqlite or tokio-postgres.

use std::ops::ControlFlow;

use jiff::civil::Date;
use tally_domain::import::{
    AuditType, Change, ChangeOutcome, ElementRule, ImportStrategy, Outcome,
};
use tally_domain::uid::Uid;

#[cfg(feature = "testkit")]
pub mod conformance;
pub mod copy;

/// Result with [`StoreError`] as the default error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Infrastructure failures. Import conflicts are never store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or key constraint was violated (e.g. `skipExistingCheck` on a value
    /// that exists).
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// The database cannot be reached or is busy beyond the timeout.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data does not decode (a bug or a damaged file).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other backend failure, with the backend's message.
    #[error("database error: {0}")]
    Other(String),
}

/// Key of one data value, in internal ids. Field order is the clustering order of the
/// stores (period, org unit, data element, COC, AOC): it matches how payloads arrive
/// (one form per org unit and period), and sorting a batch by this key makes writes
/// sequential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueKey {
    /// See [`PeriodRow::key`].
    pub period: i64,
    pub org_unit: u32,
    pub data_element: u32,
    pub category_option_combo: u32,
    pub attribute_option_combo: u32,
}

/// A period as stored in the `period` table, which exists so that SQL can filter by
/// dates. The key is computed by the core from the period itself, never looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodRow {
    pub key: i64,
    pub period_type: &'static str,
    pub start: Date,
    pub end: Date,
    pub iso: String,
}

/// One value to write, already validated and normalised (trimmed; blank is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueWrite {
    /// Position of the value in the import (for `rejectedIndexes`).
    pub index: usize,
    pub key: ValueKey,
    pub value: Option<String>,
    pub comment: Option<String>,
    /// The payload `storedBy`, or the user. Also the audit's `modifiedBy`.
    pub stored_by: String,
    pub followup: bool,
    pub deleted: bool,
    /// The value is an insignificant zero for its data element.
    pub zero_insignificant: bool,
}

/// How a bulk import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    pub strategy: ImportStrategy,
    /// Compute outcomes, write nothing.
    pub dry_run: bool,
    /// Treat every value as new without looking it up.
    pub skip_existing_check: bool,
    /// Write no audit rows.
    pub skip_audit: bool,
    /// `created`/`lastUpdated` of written rows and audits, epoch milliseconds.
    pub now_ms: i64,
}

/// A completed data set registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub data_set: u32,
    pub period: i64,
    pub org_unit: u32,
    pub attribute_option_combo: u32,
    /// The completion date, epoch milliseconds.
    pub date_ms: i64,
    pub stored_by: String,
    pub created_ms: i64,
    pub last_updated_ms: i64,
    pub last_updated_by: String,
    pub completed: bool,
}

/// A stored data value, borrowed from the backend's row buffer (export hot path: no
/// allocation per row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredValueRef<'a> {
    pub key: ValueKey,
    pub value: Option<&'a str>,
    pub stored_by: Option<&'a str>,
    pub created_ms: i64,
    pub last_updated_ms: i64,
    pub comment: Option<&'a str>,
    pub followup: bool,
    pub deleted: bool,
    /// Monotonic version of the value (a global sequence), for conflict detection.
    pub version: i64,
}

/// Versions are handed out in blocks of this many, the same way on every backend (so
/// that two stores given the same writes hand out the same numbers): an import batch
/// takes consecutive numbers from the start of a fresh block, as many blocks as it
/// needs, and a single-value change takes a block of its own. PostgreSQL draws a
/// block with one `nextval` (its sequence increments by a block) instead of one per
/// write.
pub const VERSION_BLOCK: i64 = 1024;

/// The first version of the next block after `last`, the highest version handed out
/// (0: none): the smallest number above `last` that is 1 modulo [`VERSION_BLOCK`],
/// which is where a fresh PostgreSQL sequence (`start 1, increment by VERSION_BLOCK`)
/// puts its blocks.
#[must_use]
pub fn next_version_block(last: i64) -> i64 {
    (last.max(0) + VERSION_BLOCK - 1) / VERSION_BLOCK * VERSION_BLOCK + 1
}

/// An owned stored data value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredValue {
    pub key: ValueKey,
    pub value: Option<String>,
    pub stored_by: Option<String>,
    pub created_ms: i64,
    pub last_updated_ms: i64,
    pub comment: Option<String>,
    pub followup: bool,
    pub deleted: bool,
    pub version: i64,
}

impl From<StoredValueRef<'_>> for StoredValue {
    fn from(r: StoredValueRef<'_>) -> Self {
        Self {
            key: r.key,
            value: r.value.map(str::to_owned),
            stored_by: r.stored_by.map(str::to_owned),
            created_ms: r.created_ms,
            last_updated_ms: r.last_updated_ms,
            comment: r.comment.map(str::to_owned),
            followup: r.followup,
            deleted: r.deleted,
            version: r.version,
        }
    }
}

/// One single-value change (`/api/dataValues`, follow-up), already validated; the store
/// decides it with [`tally_domain::import::decide_change`] against the row it reads
/// inside its write transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueChange<'a> {
    pub key: ValueKey,
    pub change: Change<'a>,
    pub rule: ElementRule,
    /// The version the client based the change on (`0`: no live value), if it sent one.
    pub base_version: Option<i64>,
    /// The current user: `storedBy` of the written row and `modifiedBy` of its audit.
    pub user: &'a str,
}

/// The result of one [`ValueChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeResult {
    pub outcome: ChangeOutcome,
    /// The row as stored after the change (for `Stale`, the current row that made the
    /// change stale); `None` when there is no row at all.
    pub row: Option<StoredValue>,
}

/// One request's changes in a group commit ([`DataValueStore::apply_change_groups`]).
#[derive(Debug, Clone, Copy)]
pub struct ChangeGroup<'a> {
    /// Periods the changes need (made to exist first, outside the groups).
    pub periods: &'a [PeriodRow],
    pub changes: &'a [ValueChange<'a>],
    /// `lastUpdated` of this group's writes (and `created` of its new rows).
    pub now_ms: i64,
}

/// A file resource (DHIS2's `FileResource`) as stored; the content is a file named
/// `storage_key` (its SHA-256, hex) kept by the core, not by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileResourceRow {
    pub uid: String,
    pub name: String,
    pub content_type: String,
    pub content_length: i64,
    /// MD5 of the content, hex (DHIS2's `contentMd5`).
    pub content_md5: String,
    /// SHA-256 of the content, hex: the name of the stored file.
    pub storage_key: String,
    /// `DATA_VALUE`, `ICON`, …
    pub domain: String,
    /// Bound to a data value (one value per file resource).
    pub assigned: bool,
    pub created_ms: i64,
    pub last_updated_ms: i64,
    pub created_by: String,
}

/// One audit row: the previous value for UPDATE and DELETE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub key: ValueKey,
    pub value: Option<String>,
    pub created_ms: i64,
    pub modified_by: String,
    pub audit_type: AuditType,
}

/// Which audit rows an audit query selects; an empty list matches any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    pub data_elements: Vec<u32>,
    pub periods: Vec<i64>,
    pub org_units: Vec<u32>,
    pub category_option_combo: Option<u32>,
    pub attribute_option_combo: Option<u32>,
    pub audit_types: Vec<AuditType>,
    /// Rows to skip (paging).
    pub offset: u64,
    /// At most this many rows; `None`: all.
    pub limit: Option<u64>,
}

/// Which periods an export selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodFilter {
    /// Any period (e.g. a `lastUpdated`-only sync export).
    Any,
    /// These period keys.
    Keys(Vec<i64>),
    /// Periods lying entirely inside `[start, end]`, of any type.
    Within { start: Date, end: Date },
}

/// Row order of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportOrder {
    /// Storage order (DHIS2's DXF2 export has no ORDER BY either).
    #[default]
    Storage,
    /// By org unit, then period, then attribute option combo: ADX groups are contiguous.
    OrgUnitPeriod,
}

/// A resolved export query (ids, not identifiers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportQuery {
    pub data_elements: Vec<u32>,
    pub periods: PeriodFilter,
    pub org_units: Vec<u32>,
    /// `None`: any AOC.
    pub attribute_option_combos: Option<Vec<u32>>,
    pub include_deleted: bool,
    /// `lastupdated >= this`, epoch milliseconds.
    pub last_updated_since_ms: Option<i64>,
    pub limit: Option<u64>,
    pub order: ExportOrder,
}

/// A metadata object as persisted: the internal id is assigned by the store and never
/// changes, because data values reference it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRecord {
    pub id: u32,
    /// Collection name as in DHIS2's metadata JSON, e.g. `dataElements`.
    pub kind: String,
    pub uid: Uid,
    /// The object's JSON.
    pub body: String,
}

/// Metadata persistence: objects are kept as JSON and loaded into the in-memory snapshot.
pub trait MetadataStore: Send + Sync {
    /// Every stored object.
    ///
    /// # Errors
    /// Backend failures.
    fn load_metadata(&self) -> Result<Vec<MetadataRecord>>;

    /// Creates or updates objects by `(kind, uid)` in one transaction and returns their
    /// internal ids, in input order.
    ///
    /// # Errors
    /// Backend failures; nothing is written then.
    fn save_metadata(&self, objects: &[(String, Uid, String)]) -> Result<Vec<u32>>;

    /// A number that changes whenever any process saves metadata (or users, roles,
    /// tokens) into this database, so that the other processes sharing it know to
    /// reload. Single-process stores (the default) answer a constant.
    ///
    /// # Errors
    /// Backend failures.
    fn metadata_version(&self) -> Result<i64> {
        Ok(0)
    }
}

/// A login session as stored by a store that shares sessions between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 digest of the session id (the cookie value is never stored).
    pub digest: String,
    /// The user's UID.
    pub user: String,
    pub last_seen_ms: i64,
}

/// Login sessions kept in the database, so that a session made through one process
/// works through every other process on the same database. Stores used by one
/// process only (the defaults) keep no sessions: the core keeps them in memory.
pub trait SessionStore: Send + Sync {
    /// Whether sessions live in this store (else in the process's memory).
    fn stores_sessions(&self) -> bool {
        false
    }

    /// Creates or refreshes a session.
    ///
    /// # Errors
    /// Backend failures.
    fn save_session(&self, session: &SessionRecord) -> Result<()> {
        let _ = session;
        Ok(())
    }

    /// A session by digest.
    ///
    /// # Errors
    /// Backend failures.
    fn session(&self, digest: &str) -> Result<Option<SessionRecord>> {
        let _ = digest;
        Ok(None)
    }

    /// Ends a session.
    ///
    /// # Errors
    /// Backend failures.
    fn delete_session(&self, digest: &str) -> Result<()> {
        let _ = digest;
        Ok(())
    }

    /// Ends every session of a user, and those idle since before `idle_before_ms`.
    ///
    /// # Errors
    /// Backend failures.
    fn delete_sessions(&self, user: Option<&str>, idle_before_ms: i64) -> Result<()> {
        let _ = (user, idle_before_ms);
        Ok(())
    }
}

/// A job claimed by this process with [`JobStore::claim_job`]: no other process can
/// claim it while this lives; dropping it ends the claim (as does the process dying).
pub trait JobClaim {}

impl JobClaim for () {}

/// A background job (async import) as stored, so a restart finds it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job UID.
    pub id: String,
    /// e.g. `DATAVALUE_IMPORT`.
    pub job_type: String,
    /// `NOT_STARTED`, `RUNNING`, `COMPLETED` or `FAILED`.
    pub status: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Who submitted it.
    pub username: String,
    /// What to run (for imports: format and query string), as JSON.
    pub params: String,
    /// The submitted body, kept on disk until the job ends.
    pub body_path: Option<String>,
    /// Notifications as a JSON array, newest first.
    pub notifications: String,
    /// The final summary as JSON.
    pub summary: Option<String>,
}

/// Jobs persistence.
pub trait JobStore: Send + Sync {
    /// Creates or replaces a job by id.
    ///
    /// # Errors
    /// Backend failures.
    fn save_job(&self, job: &JobRecord) -> Result<()>;

    /// A job by id.
    ///
    /// # Errors
    /// Backend failures.
    fn job(&self, id: &str) -> Result<Option<JobRecord>>;

    /// Jobs of a type, newest first.
    ///
    /// # Errors
    /// Backend failures.
    fn jobs(&self, job_type: &str) -> Result<Vec<JobRecord>>;

    /// Jobs that did not reach `COMPLETED` or `FAILED` (to resume after a restart).
    ///
    /// # Errors
    /// Backend failures.
    fn unfinished_jobs(&self) -> Result<Vec<JobRecord>>;

    /// Claims the unfinished job `id` for this process, so that of several processes
    /// sharing the database exactly one runs it: `None` when another process holds it
    /// or it has finished. The claim lasts until the returned value drops or the
    /// process dies (then another process may claim the job and run it again).
    /// Single-process stores (the default) always grant it.
    ///
    /// # Errors
    /// Backend failures.
    fn claim_job(&self, id: &str) -> Result<Option<Box<dyn JobClaim + '_>>> {
        let _ = id;
        Ok(Some(Box::new(())))
    }

    /// Whether other processes may share this database, so that each process polls
    /// for their metadata changes and for unclaimed jobs.
    fn shared(&self) -> bool {
        false
    }

    /// Keeps a job's body in the database as well, so that any process sharing it can
    /// run the job (single-process stores, the default, keep nothing: the body file
    /// next to the database is enough).
    ///
    /// # Errors
    /// Backend or read failures; nothing is kept then.
    fn save_job_body(&self, id: &str, body: &mut dyn std::io::Read) -> Result<()> {
        let _ = (id, body);
        Ok(())
    }

    /// Writes the body [`JobStore::save_job_body`] kept into `out`; `false` when there
    /// is none.
    ///
    /// # Errors
    /// Backend or write failures.
    fn job_body(&self, id: &str, out: &mut dyn std::io::Write) -> Result<bool> {
        let _ = (id, out);
        Ok(false)
    }

    /// Forgets a job's kept body (the job ended).
    ///
    /// # Errors
    /// Backend failures.
    fn delete_job_body(&self, id: &str) -> Result<()> {
        let _ = id;
        Ok(())
    }
}

/// An open bulk write. Dropping it without [`ImportTx::commit`] rolls everything back,
/// so a failed import changes nothing.
pub trait ImportTx {
    /// Makes sure these periods exist in the `period` table.
    ///
    /// # Errors
    /// Backend failures.
    fn ensure_periods(&mut self, periods: &[PeriodRow]) -> Result<()>;

    /// Applies [`tally_domain::import::decide`] to each value in order (a key repeated in
    /// the batch sees the earlier write) and pushes one outcome per value onto `out`.
    ///
    /// A backend may send the writes later (PostgreSQL sends them with the next batch,
    /// to overlap them with the work on it): the outcomes are final, but a failed write
    /// may be reported by a later `write_batch` or by [`ImportTx::commit`].
    ///
    /// # Errors
    /// Backend failures, or [`StoreError::Constraint`] with `skip_existing_check` on an
    /// existing value (reported by this very call).
    fn write_batch(&mut self, batch: &[ValueWrite], out: &mut Vec<Outcome>) -> Result<()>;

    /// Creates or updates a completion registration inside this transaction.
    ///
    /// # Errors
    /// Backend failures.
    fn complete(&mut self, registration: &Registration) -> Result<()>;

    /// Makes everything durable.
    ///
    /// # Errors
    /// Backend failures; nothing is written then.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Data values, audits and registrations.
pub trait DataValueStore: Send + Sync {
    /// Starts a bulk write. Only one runs at a time on SQLite; callers wait.
    ///
    /// # Errors
    /// Backend failures.
    fn begin_import(&self, options: WriteOptions) -> Result<Box<dyn ImportTx + '_>>;

    /// Applies single-value changes in order, in one durable transaction (committed
    /// before returning), each decided by [`tally_domain::import::decide_change`]
    /// against the row as stored at that moment (live or soft-deleted), so a base
    /// version check cannot race another write. Writes and audits get the store's next
    /// versions; `now_ms` is their `lastUpdated` (and `created` of new rows). Periods
    /// are made to exist first.
    ///
    /// All or nothing: when a change comes out [`ChangeOutcome::is_failure`] (`Missing`,
    /// `Stale`), nothing is written and the results stop with that change.
    ///
    /// # Errors
    /// Backend failures; nothing is written then.
    fn apply_changes(
        &self,
        periods: &[PeriodRow],
        changes: &[ValueChange<'_>],
        now_ms: i64,
    ) -> Result<Vec<ChangeResult>>;

    /// Group commit: applies several requests' changes in ONE durable transaction
    /// (committed before returning), each group all or nothing on its own (a savepoint
    /// per group). Every group's changes behave exactly as one
    /// [`DataValueStore::apply_changes`] call: when a change comes out
    /// [`ChangeOutcome::is_failure`], that group's writes are rolled back and its results
    /// stop with that change, while the other groups are still committed. Later groups
    /// see the writes of earlier ones. One result list per group, in order.
    ///
    /// # Errors
    /// Backend failures; nothing of any group is written then.
    fn apply_change_groups(&self, groups: &[ChangeGroup<'_>]) -> Result<Vec<Vec<ChangeResult>>>;

    /// Streams the values matching `query` into `sink` until it breaks.
    ///
    /// # Errors
    /// Backend failures.
    fn export(
        &self,
        query: &ExportQuery,
        sink: &mut dyn FnMut(StoredValueRef<'_>) -> ControlFlow<()>,
    ) -> Result<()>;

    /// One value by key, live or soft-deleted.
    ///
    /// # Errors
    /// Backend failures.
    fn get_value(&self, key: &ValueKey) -> Result<Option<StoredValue>>;

    /// Audit rows of one key, newest first.
    ///
    /// # Errors
    /// Backend failures.
    fn audits(&self, key: &ValueKey) -> Result<Vec<AuditRow>>;

    /// Audit rows of any keys matching `query`, newest first (by time, then by the
    /// version of the write that made them), and the number of all matching rows
    /// (before `offset`/`limit`).
    ///
    /// # Errors
    /// Backend failures.
    fn query_audits(&self, query: &AuditQuery) -> Result<(Vec<AuditRow>, u64)>;

    /// A registration by its key.
    ///
    /// # Errors
    /// Backend failures.
    fn registration(
        &self,
        data_set: u32,
        period: i64,
        org_unit: u32,
        attribute_option_combo: u32,
    ) -> Result<Option<Registration>>;

    /// Removes a registration (durably); `true` when there was one.
    ///
    /// # Errors
    /// Backend failures.
    fn delete_registration(
        &self,
        data_set: u32,
        period: i64,
        org_unit: u32,
        attribute_option_combo: u32,
    ) -> Result<bool>;

    /// Stores a new file resource (durably).
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the UID exists; backend failures.
    fn save_file_resource(&self, row: &FileResourceRow) -> Result<()>;

    /// A file resource by UID.
    ///
    /// # Errors
    /// Backend failures.
    fn file_resource(&self, uid: &str) -> Result<Option<FileResourceRow>>;

    /// Sets the `assigned` flag. Assigning succeeds only for an unassigned resource (so
    /// two values cannot claim one file); `true` when the flag changed.
    ///
    /// # Errors
    /// Backend failures.
    fn assign_file_resource(&self, uid: &str, assigned: bool, now_ms: i64) -> Result<bool>;

    /// Removes a file resource; returns its row, and how many resources still use its
    /// storage key (the content may be removed at 0).
    ///
    /// # Errors
    /// Backend failures.
    fn delete_file_resource(&self, uid: &str) -> Result<Option<(FileResourceRow, u64)>>;

    /// Number of stored rows, live and deleted.
    ///
    /// # Errors
    /// Backend failures.
    fn count_values(&self) -> Result<u64>;
}

/// A lock exception (DHIS2 `LockException`): data of one data set for one org unit and
/// period may be written after the set's expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockException {
    pub data_set: u32,
    /// See [`PeriodRow::key`].
    pub period: i64,
    pub org_unit: u32,
    pub created_ms: i64,
    pub created_by: String,
}

/// The min-max range of one data element, org unit and COC (DHIS2
/// `MinMaxDataElement`), shown and checked by data entry clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinMaxValue {
    pub data_element: u32,
    pub org_unit: u32,
    pub category_option_combo: u32,
    pub min_value: i64,
    pub max_value: i64,
    /// Computed by the system (DHIS2's min-max generation) rather than set by a user.
    pub generated: bool,
}

/// The data entry tables: lock exceptions and min-max ranges.
pub trait DataEntryStore: Send + Sync {
    /// Every lock exception, ordered by data set, period, org unit.
    ///
    /// # Errors
    /// Backend failures.
    fn lock_exceptions(&self) -> Result<Vec<LockException>>;

    /// Creates lock exceptions in one transaction; an existing key keeps its row.
    ///
    /// # Errors
    /// Backend failures; nothing is written then.
    fn add_lock_exceptions(&self, exceptions: &[LockException]) -> Result<()>;

    /// Removes the lock exceptions of a data set: for `period` only (all periods when
    /// `None`), for these org units only (all when empty). Returns how many went.
    ///
    /// # Errors
    /// Backend failures.
    fn delete_lock_exceptions(
        &self,
        data_set: u32,
        period: Option<i64>,
        org_units: &[u32],
    ) -> Result<u64>;

    /// The min-max ranges of one org unit for these data elements (all when empty),
    /// ordered by data element, then COC.
    ///
    /// # Errors
    /// Backend failures.
    fn min_max_values(&self, org_unit: u32, data_elements: &[u32]) -> Result<Vec<MinMaxValue>>;

    /// Creates or replaces the range of a (data element, org unit, COC).
    ///
    /// # Errors
    /// Backend failures.
    fn save_min_max_value(&self, value: &MinMaxValue) -> Result<()>;

    /// Removes the range of a (data element, org unit, COC); whether there was one.
    ///
    /// # Errors
    /// Backend failures.
    fn delete_min_max_value(
        &self,
        data_element: u32,
        org_unit: u32,
        category_option_combo: u32,
    ) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_blocks_start_one_above_a_multiple_of_the_block() {
        let b = VERSION_BLOCK;
        for (last, next) in [
            (0, 1),
            (1, b + 1),
            (b - 1, b + 1),
            (b, b + 1),
            (b + 1, 2 * b + 1),
            (2 * b, 2 * b + 1),
        ] {
            assert_eq!(next_version_block(last), next, "after {last}");
        }
    }
}

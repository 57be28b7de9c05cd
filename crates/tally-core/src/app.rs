//! The shared state of a running tally.

use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use tally_domain::metadata::{
    ImportReport, MergeOptions, MetadataObject, MetadataSet, Snapshot, merge,
    parse_metadata_document,
};
use tally_store::{DataValueStore, JobStore, MetadataStore};

use crate::error::{CoreError, Result};
use crate::users::{UserDirectory, UserRecord, Users};

/// A store that holds data values, metadata and jobs.
pub trait Store: DataValueStore + MetadataStore + JobStore {}
impl<T: DataValueStore + MetadataStore + JobStore> Store for T {}

/// Metadata object kind under which users are stored.
const USERS: &str = "users";

/// The time source: the system clock, or a fixed instant in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock(Option<Timestamp>);

impl Clock {
    /// The system clock.
    #[must_use]
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock stopped at `t`.
    #[must_use]
    pub fn fixed(t: Timestamp) -> Self {
        Self(Some(t))
    }

    /// Now.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.0.unwrap_or_else(Timestamp::now)
    }
}

/// Everything a request needs, shared across threads.
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    snapshot: RwLock<Arc<Snapshot>>,
    /// The merge base for metadata imports; guarded so imports apply one at a time.
    set: Mutex<MetadataSet>,
    users: RwLock<Users>,
    pub(crate) clock: Clock,
    /// Where async import bodies wait for their job.
    pub(crate) jobs_dir: std::path::PathBuf,
}

fn lock_err<T>(_: T) -> CoreError {
    CoreError::Internal("a lock was poisoned by an earlier panic".into())
}

impl App {
    /// Loads metadata and users from the store and builds the snapshot.
    ///
    /// # Errors
    /// Storage failures or stored metadata that no longer decodes.
    pub fn open(store: Arc<dyn Store>, clock: Clock) -> Result<Self> {
        let records = store.load_metadata()?;
        let mut objects = Vec::new();
        let mut users = Vec::new();
        for r in records {
            if r.kind == USERS {
                let user: UserRecord = serde_json::from_str(&r.body)
                    .map_err(|e| CoreError::Internal(format!("stored user {}: {e}", r.uid)))?;
                users.push(user);
            } else {
                let object: MetadataObject = serde_json::from_str(&r.body).map_err(|e| {
                    CoreError::Internal(format!("stored {} {}: {e}", r.kind, r.uid))
                })?;
                objects.push((r.id, object));
            }
        }
        let mut set = MetadataSet::from_stored(objects)
            .map_err(|e| CoreError::Internal(format!("stored metadata: {e}")))?;
        // Defaults (default category combo, option combo…) get internal ids once.
        persist_missing_ids(store.as_ref(), &mut set)?;
        let snapshot = Snapshot::build(&set).map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(Self {
            store,
            snapshot: RwLock::new(Arc::new(snapshot)),
            set: Mutex::new(set),
            users: RwLock::new(Arc::new(UserDirectory::new(users))),
            clock,
            jobs_dir: std::env::temp_dir().join(format!("tally-jobs-{}", std::process::id())),
        })
    }

    /// Keeps async import bodies in `dir` (next to the database, so they survive a
    /// restart) instead of a temp dir.
    #[must_use]
    pub fn with_jobs_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.jobs_dir = dir;
        self
    }

    /// The current metadata snapshot (immutable; swapped atomically on change).
    #[must_use]
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }

    /// The user directory.
    #[must_use]
    pub fn users(&self) -> Users {
        self.users
            .read()
            .map(|u| Arc::clone(&u))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Imports a DHIS2 metadata document (create and update by UID). On any error the
    /// report says why and nothing changes.
    ///
    /// # Errors
    /// A body that is not a metadata document (400), or storage failures.
    pub fn import_metadata(&self, json: &str) -> Result<ImportReport> {
        let document =
            parse_metadata_document(json).map_err(|e| CoreError::BadRequest(e.to_string()))?;
        let mut set = self.set.lock().map_err(lock_err)?;
        let outcome = merge(&set, &document, &MergeOptions::default());
        let Some(applied) = outcome.applied else {
            return Ok(outcome.report);
        };
        let mut next = applied.set;
        let mut touched: Vec<_> = applied.changes.iter().map(|c| (c.kind, c.uid)).collect();
        touched.extend(next.missing_internal_ids());
        touched.sort();
        touched.dedup();
        save_objects(self.store.as_ref(), &mut next, touched)?;
        let snapshot = Snapshot::build(&next).map_err(|e| CoreError::Internal(e.to_string()))?;
        *set = next;
        *self.snapshot.write().map_err(lock_err)? = Arc::new(snapshot);
        Ok(outcome.report)
    }

    /// Creates or replaces users (by username's record id).
    ///
    /// # Errors
    /// Storage failures.
    pub fn save_users(&self, records: &[UserRecord]) -> Result<()> {
        let rows = records
            .iter()
            .map(|u| {
                serde_json::to_string(u)
                    .map(|body| (USERS.to_owned(), u.id, body))
                    .map_err(|e| CoreError::Internal(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        self.store.save_metadata(&rows)?;
        let mut all: Vec<UserRecord> = self
            .store
            .load_metadata()?
            .into_iter()
            .filter(|r| r.kind == USERS)
            .map(|r| {
                serde_json::from_str(&r.body)
                    .map_err(|e| CoreError::Internal(format!("stored user {}: {e}", r.uid)))
            })
            .collect::<Result<_>>()?;
        all.sort_by(|a, b| a.username.cmp(&b.username));
        *self.users.write().map_err(lock_err)? = Arc::new(UserDirectory::new(all));
        Ok(())
    }
}

/// Persists these objects of `set` and records the internal ids the store assigns.
fn save_objects(
    store: &dyn Store,
    set: &mut MetadataSet,
    objects: Vec<(tally_domain::metadata::ObjectKind, tally_domain::uid::Uid)>,
) -> Result<()> {
    if objects.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(objects.len());
    for (kind, uid) in &objects {
        let object = set
            .object(*kind, *uid)
            .ok_or_else(|| CoreError::Internal(format!("{kind:?} {uid} vanished")))?;
        let body = serde_json::to_string(&object.object)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        rows.push((kind.collection().to_owned(), *uid, body));
    }
    let ids = store.save_metadata(&rows)?;
    for ((kind, uid), id) in objects.into_iter().zip(ids) {
        set.set_internal_id(kind, uid, id)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
    }
    Ok(())
}

/// Gives internal ids to objects that have none yet (the built-in defaults).
fn persist_missing_ids(store: &dyn Store, set: &mut MetadataSet) -> Result<()> {
    let missing = set.missing_internal_ids();
    save_objects(store, set, missing)
}

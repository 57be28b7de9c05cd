//! The shared state of a running tally.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use tally_domain::metadata::{
    Catalog, ImportReport, MergeOptions, MetadataObject, MetadataSet, Snapshot, merge,
    parse_metadata_document,
};
use tally_store::{DataEntryStore, DataValueStore, JobStore, MetadataStore, SessionStore};

use crate::error::{CoreError, Result};
use crate::users::metadata::{AccessChanges, merge_access};
use crate::users::sessions::Sessions;
use crate::users::throttle::Throttle;
use crate::users::tokens::TokenRecord;
use crate::users::{User, UserDirectory, UserGroup, UserRecord, UserRole, Users};

/// A store that holds data values, metadata, jobs, the data entry tables and (when
/// shared) sessions.
pub trait Store: DataValueStore + MetadataStore + JobStore + DataEntryStore + SessionStore {}
impl<T: DataValueStore + MetadataStore + JobStore + DataEntryStore + SessionStore> Store for T {}

/// Metadata object kinds under which users, roles, groups and tokens are stored.
pub(crate) const USERS: &str = "users";
pub(crate) const USER_ROLES: &str = "userRoles";
pub(crate) const USER_GROUPS: &str = "userGroups";
pub(crate) const API_TOKENS: &str = "apiTokens";
/// Custom data entry forms (`dataEntryForms` of a metadata document), kept beside the
/// metadata model: only the data entry API reads them.
pub(crate) const DATA_ENTRY_FORMS: &str = "dataEntryForms";

/// Tokens by key digest.
pub(crate) type Tokens = Arc<std::collections::HashMap<String, TokenRecord>>;

fn decode<T: serde::de::DeserializeOwned>(r: &tally_store::MetadataRecord) -> Result<T> {
    serde_json::from_str(&r.body)
        .map_err(|e| CoreError::Internal(format!("stored {} {}: {e}", r.kind, r.uid)))
}

fn encode<T: serde::Serialize>(
    kind: &str,
    id: tally_domain::uid::Uid,
    value: &T,
) -> Result<(String, tally_domain::uid::Uid, String)> {
    serde_json::to_string(value)
        .map(|body| (kind.to_owned(), id, body))
        .map_err(|e| CoreError::Internal(e.to_string()))
}

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
    /// The single-value writer: concurrent requests share one durable transaction.
    pub(crate) commits: crate::group_commit::GroupCommit,
    snapshot: RwLock<Arc<Snapshot>>,
    /// The merge base for metadata imports; guarded so imports apply one at a time.
    set: Mutex<Arc<MetadataSet>>,
    /// The read side of the metadata and users (swapped atomically on change).
    catalog: RwLock<Arc<Catalog>>,
    users: RwLock<Users>,
    pub(crate) tokens: RwLock<Tokens>,
    pub(crate) sessions: Sessions,
    pub(crate) throttle: Throttle,
    pub(crate) clock: Clock,
    /// Where async import bodies wait for their job.
    pub(crate) jobs_dir: std::path::PathBuf,
    /// Lock exceptions as `(data set, period key, org unit)`, read by every locking check.
    pub(crate) lock_exceptions: RwLock<crate::data_entry::LockExceptionSet>,
    /// Custom data entry forms by UID.
    pub(crate) forms: RwLock<crate::data_entry::Forms>,
    /// Tagged `/api/dataEntry/metadata` bundles of the current catalog.
    pub(crate) bundles: Mutex<crate::data_entry::BundleCache>,
    /// Where file resource contents are kept (default: `files` in the jobs directory).
    pub(crate) files_dir: Option<std::path::PathBuf>,
    /// The store's metadata version this state was loaded at.
    metadata_version: AtomicI64,
}

/// Metadata, users and tokens as loaded from the store.
struct Loaded {
    set: MetadataSet,
    snapshot: Snapshot,
    directory: UserDirectory,
    tokens: std::collections::HashMap<String, TokenRecord>,
    /// Custom data entry forms by UID.
    forms: std::collections::HashMap<tally_domain::uid::Uid, crate::data_entry::DataEntryForm>,
    /// Loading saved the defaults' ids (one metadata save).
    saved: bool,
}

/// The metadata version a state loaded at `before` is current for: the version after
/// loading when nothing but the load's own save (if any) moved it, else `before` (so
/// that the next poll reloads whatever another process saved meanwhile).
fn loaded_version(store: &dyn Store, before: i64, saved: bool) -> i64 {
    match store.metadata_version() {
        Ok(after) if after == before + i64::from(saved) => after,
        _ => before,
    }
}

/// Loads metadata and users from the store and builds the snapshot.
fn load(store: &dyn Store) -> Result<Loaded> {
    let records = store.load_metadata()?;
    let mut objects = Vec::new();
    let (mut users, mut roles, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    let mut tokens = std::collections::HashMap::new();
    let mut forms = std::collections::HashMap::new();
    for r in records {
        if r.kind == USERS {
            users.push(decode::<UserRecord>(&r)?);
        } else if r.kind == USER_ROLES {
            roles.push(decode::<UserRole>(&r)?);
        } else if r.kind == USER_GROUPS {
            groups.push(decode::<UserGroup>(&r)?);
        } else if r.kind == DATA_ENTRY_FORMS {
            let f: crate::data_entry::DataEntryForm = decode(&r)?;
            forms.insert(f.id, f);
        } else if r.kind == API_TOKENS {
            let t: TokenRecord = decode(&r)?;
            tokens.insert(t.key_hash.clone(), t);
        } else {
            let object: MetadataObject = serde_json::from_str(&r.body)
                .map_err(|e| CoreError::Internal(format!("stored {} {}: {e}", r.kind, r.uid)))?;
            objects.push((r.id, object));
        }
    }
    let mut set = MetadataSet::from_stored(objects)
        .map_err(|e| CoreError::Internal(format!("stored metadata: {e}")))?;
    // Defaults (default category combo, option combo…) get internal ids once.
    let saved = !set.missing_internal_ids().is_empty();
    persist_missing_ids(store, &mut set)?;
    let snapshot = Snapshot::build(&set).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(Loaded {
        set,
        snapshot,
        directory: UserDirectory::with_roles(users, roles, groups),
        tokens,
        forms,
        saved,
    })
}

pub(crate) fn lock_err<T>(_: T) -> CoreError {
    CoreError::Internal("a lock was poisoned by an earlier panic".into())
}

impl App {
    /// Single-value write requests so far and the transactions they took (group commit).
    #[must_use]
    pub fn group_commit_stats(&self) -> (u64, u64) {
        self.commits.stats()
    }

    /// Loads metadata and users from the store and builds the snapshot.
    ///
    /// # Errors
    /// Storage failures or stored metadata that no longer decodes.
    pub fn open(store: Arc<dyn Store>, clock: Clock) -> Result<Self> {
        let version = store.metadata_version()?;
        let loaded = load(store.as_ref())?;
        let version = loaded_version(store.as_ref(), version, loaded.saved);
        let set = Arc::new(loaded.set);
        let catalog = crate::catalog::build(Arc::clone(&set), &loaded.directory).with_objects(
            DATA_ENTRY_FORMS,
            crate::data_entry::form_views(&loaded.forms),
        );
        let lock_exceptions = crate::data_entry::lock_exception_set(store.as_ref())?;
        let data_store: Arc<dyn tally_store::DataValueStore> = store.clone();
        let sessions = Sessions::for_store(&store);
        Ok(Self {
            commits: crate::group_commit::GroupCommit::start(data_store),
            store,
            snapshot: RwLock::new(Arc::new(loaded.snapshot)),
            set: Mutex::new(set),
            catalog: RwLock::new(Arc::new(catalog)),
            users: RwLock::new(Arc::new(loaded.directory)),
            tokens: RwLock::new(Arc::new(loaded.tokens)),
            sessions,
            throttle: Throttle::default(),
            clock,
            jobs_dir: std::env::temp_dir().join(format!("tally-jobs-{}", std::process::id())),
            lock_exceptions: RwLock::new(lock_exceptions),
            forms: RwLock::new(Arc::new(loaded.forms)),
            bundles: Mutex::default(),
            files_dir: None,
            metadata_version: AtomicI64::new(version),
        })
    }

    /// After this process saved metadata once on top of version `before`: when the
    /// store's version moved by exactly that save, nobody else changed anything, so the
    /// state in memory (updated by the save itself) is current and the next
    /// [`App::reload_if_changed`] need not reload it.
    fn own_save(&self, before: i64) {
        if let Ok(now) = self.store.metadata_version()
            && now == before + 1
        {
            let _ = self.metadata_version.compare_exchange(
                before,
                now,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// Reloads metadata, users and tokens when another process sharing the database
    /// changed them (its [`MetadataStore::metadata_version`] moved); `true` if it did.
    ///
    /// # Errors
    /// Storage failures or stored metadata that no longer decodes (the state in memory
    /// is kept then).
    pub fn reload_if_changed(&self) -> Result<bool> {
        let version = self.store.metadata_version()?;
        if version == self.metadata_version.load(Ordering::Acquire) {
            return Ok(false);
        }
        // One writer of the metadata at a time (imports hold the same lock).
        let mut set = self.set.lock().map_err(lock_err)?;
        let loaded = load(self.store.as_ref())?;
        let version = loaded_version(self.store.as_ref(), version, loaded.saved);
        let next = Arc::new(loaded.set);
        *set = Arc::clone(&next);
        *self.snapshot.write().map_err(lock_err)? = Arc::new(loaded.snapshot);
        *self.users.write().map_err(lock_err)? = Arc::new(loaded.directory);
        *self.tokens.write().map_err(lock_err)? = Arc::new(loaded.tokens);
        *self.forms.write().map_err(lock_err)? = Arc::new(loaded.forms);
        *self.lock_exceptions.write().map_err(lock_err)? =
            crate::data_entry::lock_exception_set(self.store.as_ref())?;
        self.refresh_catalog(next)?;
        self.metadata_version.store(version, Ordering::Release);
        Ok(true)
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

    /// The metadata catalog (metadata and users as the metadata API shows them).
    #[must_use]
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }

    /// Rebuilds the catalog from `set` and the current users.
    fn refresh_catalog(&self, set: Arc<MetadataSet>) -> Result<()> {
        let forms = self
            .forms
            .read()
            .map(|f| Arc::clone(&f))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()));
        let catalog = crate::catalog::build(set, &self.users())
            .with_objects(DATA_ENTRY_FORMS, crate::data_entry::form_views(&forms));
        *self.catalog.write().map_err(lock_err)? = Arc::new(catalog);
        Ok(())
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
        self.import_metadata_by(json, None)
    }

    /// [`App::import_metadata`] on behalf of `user` (the Web API): users, roles and
    /// groups in the document need `F_USER_ADD`, `F_USERROLE_PUBLIC_ADD` and
    /// `F_USERGROUP_PUBLIC_ADD` (or `ALL`), and a non-superuser can neither grant an
    /// authority it does not hold itself (through a role or on a user) nor change a
    /// user or role holding one, nor give a user org units outside its own capture
    /// hierarchy: no one raises their own or anyone's privileges.
    ///
    /// # Errors
    /// As [`App::import_metadata`]; 403 when the user may not make these changes
    /// (nothing changes).
    pub fn import_metadata_as(&self, json: &str, user: &User) -> Result<ImportReport> {
        self.import_metadata_by(json, Some(user))
    }

    fn import_metadata_by(&self, json: &str, by: Option<&User>) -> Result<ImportReport> {
        let document =
            parse_metadata_document(json).map_err(|e| CoreError::BadRequest(e.to_string()))?;
        // Users, roles and groups are read from the same JSON by their own merge.
        let raw: serde_json::Value =
            serde_json::from_str(json).map_err(|e| CoreError::BadRequest(e.to_string()))?;
        let forms = crate::data_entry::parse_forms(&raw)?;
        let mut set = self.set.lock().map_err(lock_err)?;
        let outcome = merge(&set, &document, &MergeOptions::default());
        let Some(applied) = outcome.applied else {
            return Ok(outcome.report);
        };
        let mut next = applied.set;
        let users = self.users();
        let mut generate = || tally_domain::uid::Uid::generate(rand::random::<u64>);
        let access = merge_access(
            &raw,
            &users,
            &|ou| {
                next.object(tally_domain::metadata::ObjectKind::OrganisationUnit, ou)
                    .is_some()
            },
            &mut generate,
        )
        .map_err(CoreError::BadRequest)?;
        if let Some(user) = by {
            may_move_org_units(user, &set, &next, &applied.changes)?;
            may_change_access(user, &users, &access, &self.snapshot())?;
        }
        if access.has_errors() {
            // Atomic: the metadata objects are refused with the users.
            let mut reports = outcome.report.type_reports;
            for t in &mut reports {
                t.stats.ignored = t.stats.total;
                t.stats.created = 0;
                t.stats.updated = 0;
            }
            reports.extend(access.type_reports);
            return Ok(ImportReport::from_type_reports(reports));
        }
        let mut touched: Vec<_> = applied.changes.iter().map(|c| (c.kind, c.uid)).collect();
        touched.extend(next.missing_internal_ids());
        touched.sort();
        touched.dedup();
        let mut extra = access_rows(&access)?;
        for f in &forms {
            extra.push(encode(DATA_ENTRY_FORMS, f.id, f)?);
        }
        let before = self.metadata_version.load(Ordering::Acquire);
        save_objects(self.store.as_ref(), &mut next, touched, extra)?;
        self.own_save(before);
        let mut form_report = None;
        if !forms.is_empty() {
            let mut all = (**self.forms.read().map_err(lock_err)?).clone();
            let mut stats = tally_domain::metadata::Stats::default();
            for f in forms {
                if all.insert(f.id, f).is_some() {
                    stats.updated += 1;
                } else {
                    stats.created += 1;
                }
                stats.total += 1;
            }
            *self.forms.write().map_err(lock_err)? = Arc::new(all);
            form_report = Some(tally_domain::metadata::TypeReport {
                klass: "org.hisp.dhis.dataentryform.DataEntryForm",
                stats,
                object_reports: Vec::new(),
            });
        }
        let snapshot = Snapshot::build(&next).map_err(|e| CoreError::Internal(e.to_string()))?;
        let next = Arc::new(next);
        *set = Arc::clone(&next);
        *self.snapshot.write().map_err(lock_err)? = Arc::new(snapshot);
        let report = if access.is_empty() && form_report.is_none() {
            outcome.report
        } else {
            let mut reports = outcome.report.type_reports;
            // Forms come before the data sets that use them, as in DHIS2's import order.
            if let Some(r) = form_report {
                reports.insert(0, r);
            }
            if !access.is_empty() {
                reports.extend(access.type_reports.clone());
                self.apply_access(&users, access)?;
            }
            ImportReport::from_type_reports(reports)
        };
        self.refresh_catalog(next)?;
        Ok(report)
    }

    /// Swaps in a directory with `changes` laid over `base`.
    fn apply_access(&self, base: &UserDirectory, changes: AccessChanges) -> Result<()> {
        let mut users: std::collections::HashMap<_, _> =
            base.records().map(|u| (u.id, u.clone())).collect();
        let mut roles: std::collections::HashMap<_, _> =
            base.roles().map(|r| (r.id, r.clone())).collect();
        let mut groups: std::collections::HashMap<_, _> =
            base.groups().map(|g| (g.id, g.clone())).collect();
        for u in changes.users {
            users.insert(u.id, u);
        }
        for r in changes.roles {
            roles.insert(r.id, r);
        }
        for g in changes.groups {
            groups.insert(g.id, g);
        }
        let directory = UserDirectory::with_roles(
            users.into_values().collect(),
            roles.into_values().collect(),
            groups.into_values().collect(),
        );
        *self.users.write().map_err(lock_err)? = Arc::new(directory);
        Ok(())
    }

    /// Creates or replaces users (by record id).
    ///
    /// # Errors
    /// Storage failures.
    pub fn save_users(&self, records: &[UserRecord]) -> Result<()> {
        let changes = AccessChanges {
            users: records.to_vec(),
            ..AccessChanges::default()
        };
        let rows = access_rows(&changes)?;
        // One writer of the directory at a time (metadata imports hold the same lock).
        let set = self.set.lock().map_err(lock_err)?;
        let base = self.users();
        let before = self.metadata_version.load(Ordering::Acquire);
        self.store.save_metadata(&rows)?;
        self.own_save(before);
        for r in records {
            let disabled_or_new_password = base
                .record_by_id(r.id)
                .is_some_and(|old| r.disabled || old.password_hash != r.password_hash);
            if disabled_or_new_password {
                self.sessions.remove_user(r.id);
            }
        }
        self.apply_access(&base, changes)?;
        self.refresh_catalog(Arc::clone(&set))
    }
}

fn access_rows(changes: &AccessChanges) -> Result<Vec<(String, tally_domain::uid::Uid, String)>> {
    let mut rows = Vec::new();
    for r in &changes.roles {
        rows.push(encode(USER_ROLES, r.id, r)?);
    }
    for g in &changes.groups {
        rows.push(encode(USER_GROUPS, g.id, g)?);
    }
    for u in &changes.users {
        rows.push(encode(USERS, u.id, u)?);
    }
    Ok(rows)
}

/// Persists these objects of `set` and records the internal ids the store assigns.
fn save_objects(
    store: &dyn Store,
    set: &mut MetadataSet,
    objects: Vec<(tally_domain::metadata::ObjectKind, tally_domain::uid::Uid)>,
    extra: Vec<(String, tally_domain::uid::Uid, String)>,
) -> Result<()> {
    if objects.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(objects.len() + extra.len());
    for (kind, uid) in &objects {
        let object = set
            .object(*kind, *uid)
            .ok_or_else(|| CoreError::Internal(format!("{kind:?} {uid} vanished")))?;
        let body = serde_json::to_string(&object.object)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        rows.push((kind.collection().to_owned(), *uid, body));
    }
    // Users, roles and groups go in the same transaction; their ids come after.
    rows.extend(extra);
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
    save_objects(store, set, missing, Vec::new())
}

/// Whether `user` may make the user, role and group changes of a metadata document (see
/// [`App::import_metadata_as`]).
fn may_change_access(
    user: &User,
    users: &UserDirectory,
    access: &AccessChanges,
    snap: &Snapshot,
) -> Result<()> {
    if user.is_super() || access.is_empty() {
        return Ok(());
    }
    let refuse = |what: String| Err(CoreError::Forbidden(what));
    for (present, authority, kind) in [
        (!access.users.is_empty(), "F_USER_ADD", "users"),
        (
            !access.roles.is_empty(),
            "F_USERROLE_PUBLIC_ADD",
            "user roles",
        ),
        (
            !access.groups.is_empty(),
            "F_USERGROUP_PUBLIC_ADD",
            "user groups",
        ),
    ] {
        if present && !user.has(authority) {
            return refuse(format!(
                "You don't have the proper permissions to create or update {kind} ({authority})"
            ));
        }
    }
    let lacking = |authorities: &[String]| -> Option<String> {
        authorities
            .iter()
            .find(|a| a.as_str() == "ALL" || !user.has(a))
            .cloned()
    };
    let mut roles: std::collections::HashMap<_, _> =
        users.roles().map(|r| (r.id, r.clone())).collect();
    for role in &access.roles {
        let before = users.role(role.id).map(|r| r.authorities.as_slice());
        if let Some(a) = lacking(&role.authorities).or_else(|| before.and_then(lacking)) {
            return refuse(format!(
                "You cannot create or update user role `{}`: it holds authority {a}, which you do not have",
                role.id
            ));
        }
        roles.insert(role.id, role.clone());
    }
    let own_roots = user.capture_roots(snap);
    for record in &access.users {
        // Org units only within the manager's own capture hierarchy: a district manager
        // cannot make a clerk (whose password it sets) for another district.
        let outside = record
            .organisation_units
            .iter()
            .chain(&record.data_view_organisation_units)
            .find(|ou| {
                snap.org_unit_id(tally_domain::metadata::LookupScheme::Uid, ou.as_str())
                    .is_none_or(|id| !snap.is_in_any_subtree(id, &own_roots))
            });
        if let Some(ou) = outside {
            return refuse(format!(
                "You cannot assign organisation unit `{ou}` to user `{}`: it is outside your hierarchy",
                record.username
            ));
        }
        let after = User::from_record(record, &roles);
        let before = users.record_by_id(record.id).map(|r| {
            users
                .get(&r.username)
                .map(|u| u.authorities)
                .unwrap_or_default()
        });
        if let Some(a) = lacking(&after.authorities).or_else(|| before.as_deref().and_then(lacking))
        {
            return refuse(format!(
                "You cannot create or update user `{}`: it holds authority {a}, which you do not have",
                record.username
            ));
        }
    }
    Ok(())
}

/// Moving an org unit (a new `parent`) changes whose hierarchy it is in, so it needs
/// `F_ORGANISATIONUNIT_MOVE` (or `ALL`), as in DHIS2.
fn may_move_org_units(
    user: &User,
    before: &MetadataSet,
    after: &MetadataSet,
    changes: &[tally_domain::metadata::Change],
) -> Result<()> {
    use tally_domain::metadata::ObjectKind;
    if user.has("F_ORGANISATIONUNIT_MOVE") {
        return Ok(());
    }
    let parent = |set: &MetadataSet, uid| match set.object(ObjectKind::OrganisationUnit, uid) {
        Some(stored) => match stored.object {
            MetadataObject::OrganisationUnit(ou) => Some(ou.parent),
            _ => None,
        },
        None => None,
    };
    for change in changes
        .iter()
        .filter(|c| c.kind == ObjectKind::OrganisationUnit)
    {
        if let (Some(old), Some(new)) = (parent(before, change.uid), parent(after, change.uid))
            && old != new
        {
            return Err(CoreError::Forbidden(format!(
                "Moving organisation unit `{}` to another parent needs authority F_ORGANISATIONUNIT_MOVE",
                change.uid
            )));
        }
    }
    Ok(())
}

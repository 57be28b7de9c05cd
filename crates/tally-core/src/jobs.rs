//! Background jobs: async data value imports (`async=true`).
//!
//! A submitted import is made durable first (body file fsynced, job row stored), then
//! runs on its own thread. Clients poll its notifications and summary. After a restart,
//! jobs that had not finished run again from their stored body (an interrupted import
//! never committed, so running it again is safe); a job whose body is gone is marked
//! FAILED with a notification saying why.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use tally_domain::import::{ImportStatus, import_summary_failed};
use tally_domain::uid::Uid;
use tally_store::JobRecord;

use crate::App;
use crate::error::{CoreError, Result};
use crate::import::{Body, Format, ImportOptions};
use crate::users::User;

/// The job type of data value imports.
pub const DATAVALUE_IMPORT: &str = "DATAVALUE_IMPORT";

/// What an import job runs: the format and the query string it was posted with.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImportJobParams {
    format: String,
    query: Vec<(String, String)>,
}

/// One task notification, in DHIS2's shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub uid: String,
    pub id: String,
    pub level: String,
    pub category: String,
    pub time: String,
    pub message: String,
    pub completed: bool,
}

/// What `submit_import` returns: enough for DHIS2's "Initiated" WebMessage.
#[derive(Debug, Clone)]
pub struct SubmittedJob {
    pub id: String,
    /// `DATAVALUE_IMPORT (<epoch millis>)`.
    pub name: String,
    pub created: String,
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Json => "json",
        Format::Xml => "xml",
        Format::Csv => "csv",
        Format::Adx => "adx",
    }
}

fn parse_format(s: &str) -> Option<Format> {
    match s {
        "json" => Some(Format::Json),
        "xml" => Some(Format::Xml),
        "csv" => Some(Format::Csv),
        "adx" => Some(Format::Adx),
        _ => None,
    }
}

fn random_uid() -> Uid {
    Uid::generate(rand::random::<u64>)
}

/// Last job name stamp handed out, so names stay unique within a millisecond.
static LAST_STAMP: AtomicI64 = AtomicI64::new(0);

fn unique_stamp(now_ms: i64) -> i64 {
    let mut prev = LAST_STAMP.load(Ordering::Relaxed);
    loop {
        let next = now_ms.max(prev + 1);
        match LAST_STAMP.compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(e.to_string())
}

impl App {
    fn timestamp_text(&self) -> String {
        self.clock
            .now()
            .strftime("%Y-%m-%dT%H:%M:%S%.3f")
            .to_string()
    }

    fn notify(&self, job: &mut JobRecord, message: &str, completed: bool, level: &str) {
        let mut list: Vec<Notification> =
            serde_json::from_str(&job.notifications).unwrap_or_default();
        list.insert(
            0,
            Notification {
                uid: random_uid().to_string(),
                id: job.id.clone(),
                level: level.into(),
                category: job.job_type.clone(),
                time: self.timestamp_text(),
                message: message.into(),
                completed,
            },
        );
        job.notifications = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
        job.updated_ms = self.clock.now().as_millisecond();
    }

    /// Stores the body and the job durably, then starts it. The returned job has not
    /// necessarily started yet.
    ///
    /// # Errors
    /// The body cannot be stored or the job row cannot be written.
    pub fn submit_import(
        self: &Arc<Self>,
        format: Format,
        query: Vec<(String, String)>,
        user: &User,
        body: Body,
    ) -> Result<SubmittedJob> {
        let id = random_uid().to_string();
        std::fs::create_dir_all(&self.jobs_dir).map_err(internal)?;
        let path = self.jobs_dir.join(format!("{id}.body"));
        let mut file = std::fs::File::create(&path).map_err(internal)?;
        match body {
            Body::Bytes(b) => file.write_all(&b).map_err(internal)?,
            Body::File(mut f) => {
                std::io::copy(&mut f, &mut file).map_err(internal)?;
            }
            Body::Reader(mut r) => {
                std::io::copy(&mut r, &mut file).map_err(internal)?;
            }
        }
        file.sync_all().map_err(internal)?;
        drop(file);
        if self.store.shared() {
            // Any process sharing the database may end up running it (its own copy of
            // the body is fetched from the database then).
            let mut body = std::fs::File::open(&path).map_err(internal)?;
            self.store.save_job_body(&id, &mut body)?;
        }
        let now = self.clock.now().as_millisecond();
        let params = ImportJobParams {
            format: format_name(format).into(),
            query,
        };
        let mut job = JobRecord {
            id: id.clone(),
            job_type: DATAVALUE_IMPORT.into(),
            status: "NOT_STARTED".into(),
            created_ms: now,
            updated_ms: now,
            username: user.username.clone(),
            params: serde_json::to_string(&params).map_err(internal)?,
            body_path: Some(path.to_string_lossy().into_owned()),
            notifications: "[]".into(),
            summary: None,
        };
        self.notify(&mut job, "Data value set import", false, "INFO");
        self.store.save_job(&job)?;
        let submitted = SubmittedJob {
            id,
            name: format!("{DATAVALUE_IMPORT} ({})", unique_stamp(now)),
            created: self.timestamp_text(),
        };
        self.spawn_job(job);
        Ok(submitted)
    }

    fn spawn_job(self: &Arc<Self>, job: JobRecord) {
        let app = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("tally-job-{}", job.id))
            .spawn(move || app.run_job(job));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a job thread");
        }
    }

    fn finish_failed(&self, mut job: JobRecord, why: &str) {
        tracing::warn!(job = %job.id, reason = why, "import job failed");
        self.notify(&mut job, why, false, "ERROR");
        let summary = import_summary_failed(ImportOptions::default(), why);
        self.notify(
            &mut job,
            "Import complete with status ERROR, 0 created, 0 updated, 0 deleted, 0 ignored",
            true,
            "ERROR",
        );
        job.status = "FAILED".into();
        job.summary = serde_json::to_string(&summary).ok();
        if let Some(path) = job.body_path.take() {
            let _ = std::fs::remove_file(path);
        }
        self.forget_body(&job.id);
        if let Err(e) = self.store.save_job(&job) {
            tracing::error!(error = %e, "could not record a failed job");
        }
    }

    fn run_job(self: Arc<Self>, job: JobRecord) {
        // Of several processes on one database, the one holding the claim runs the job,
        // from its row as stored now (another may have just finished it).
        let _claim = match self.store.claim_job(&job.id) {
            Ok(Some(claim)) => claim,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "could not claim a job");
                return;
            }
        };
        let job = match self.store.job(&job.id) {
            Ok(Some(stored)) if stored.status != "COMPLETED" && stored.status != "FAILED" => stored,
            Ok(_) => return,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "could not read a claimed job");
                return;
            }
        };
        self.run_claimed(job);
    }

    /// The body of a job submitted through another process (on another host, say), as
    /// the database keeps it: copied next to this process's jobs and opened.
    fn fetch_body(&self, job: &mut JobRecord) -> Option<std::fs::File> {
        if !self.store.shared() {
            return None;
        }
        let path = self.jobs_dir.join(format!("{}.body", job.id));
        let fetched = std::fs::create_dir_all(&self.jobs_dir)
            .map_err(internal)
            .and_then(|()| std::fs::File::create(&path).map_err(internal))
            .and_then(|mut f| {
                self.store
                    .job_body(&job.id, &mut f)
                    .map_err(CoreError::from)
            });
        match fetched {
            Ok(true) => {
                job.body_path = Some(path.to_string_lossy().into_owned());
                std::fs::File::open(&path).ok()
            }
            Ok(false) => {
                let _ = std::fs::remove_file(&path);
                None
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "could not fetch a job body");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    fn forget_body(&self, id: &str) {
        if let Err(e) = self.store.delete_job_body(id) {
            tracing::warn!(job = %id, error = %e, "could not delete a job body");
        }
    }

    fn run_claimed(&self, mut job: JobRecord) {
        let Ok(params) = serde_json::from_str::<ImportJobParams>(&job.params) else {
            return self.finish_failed(job, "The job parameters could not be read");
        };
        let Some(format) = parse_format(&params.format) else {
            return self.finish_failed(job, "Unknown import format");
        };
        let users = self.users();
        let Some(user) = users
            .record(&job.username)
            .and_then(|r| users.active_by_id(r.id))
        else {
            return self.finish_failed(
                job,
                "The user who submitted the job no longer exists or is disabled",
            );
        };
        let options = match ImportOptions::from_query(
            params.query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ) {
            Ok(o) => o,
            Err(e) => return self.finish_failed(job, &e),
        };
        let local = job
            .body_path
            .as_ref()
            .and_then(|p| std::fs::File::open(p).ok());
        let Some(file) = local.or_else(|| self.fetch_body(&mut job)) else {
            return self.finish_failed(job, "The import body was lost before the job ran");
        };
        job.status = "RUNNING".into();
        self.notify(&mut job, "Importing data...", false, "INFO");
        if let Err(e) = self.store.save_job(&job) {
            tracing::error!(error = %e, "could not record a running job");
        }
        let summary = self.import_data_values(format, options, &user, Body::File(file));
        let c = summary.import_count;
        let level = if summary.status == ImportStatus::Error {
            "ERROR"
        } else {
            "INFO"
        };
        self.notify(
            &mut job,
            &format!(
                "Import complete with status {}, {} created, {} updated, {} deleted, {} ignored",
                summary.status.name(),
                c.imported,
                c.updated,
                c.deleted,
                c.ignored
            ),
            true,
            level,
        );
        job.status = "COMPLETED".into();
        job.summary = serde_json::to_string(&summary).ok();
        if let Some(path) = job.body_path.take() {
            let _ = std::fs::remove_file(path);
        }
        self.forget_body(&job.id);
        if let Err(e) = self.store.save_job(&job) {
            tracing::error!(error = %e, "could not record a completed job");
        }
    }

    /// Runs again every job a previous process left unfinished.
    ///
    /// # Errors
    /// The job table cannot be read.
    pub fn resume_jobs(self: &Arc<Self>) -> Result<usize> {
        let jobs = self.store.unfinished_jobs()?;
        let n = jobs.len();
        for job in jobs {
            tracing::info!(job = %job.id, "resuming an unfinished import job");
            self.spawn_job(job);
        }
        Ok(n)
    }

    /// The job, if `user` may see it: its submitter, or a superuser. Anyone else is
    /// told what an unknown job gives (a summary names the submitter's org units and
    /// values).
    fn visible_job(&self, job_type: &str, id: &str, user: &User) -> Result<Option<JobRecord>> {
        Ok(self
            .store
            .job(id)?
            .filter(|j| j.job_type == job_type)
            .filter(|j| user.is_super() || j.username == user.username))
    }

    /// With a database shared by several processes, starts a thread that keeps this
    /// process in step with the others while the app lives: it reloads metadata, users
    /// and tokens another process changed (polled every `poll`, so they arrive within
    /// that time), and runs jobs no process holds (left by a process that died). Does
    /// nothing on a single-process store.
    pub fn start_sync(self: &Arc<Self>, poll: std::time::Duration) {
        if !self.store.shared() {
            return;
        }
        let app = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("tally-sync".into())
            .spawn(move || {
                let mut round: u32 = 0;
                loop {
                    std::thread::sleep(poll);
                    let Some(app) = app.upgrade() else { return };
                    if let Err(e) = app.reload_if_changed() {
                        tracing::warn!(error = %e, "could not reload changed metadata");
                    }
                    // Orphaned jobs are rarer than metadata changes: every 8th round.
                    round = round.wrapping_add(1);
                    if round.is_multiple_of(8) {
                        // Lock exceptions are not metadata: no version tells of them.
                        if let Err(e) = app.reload_lock_exceptions() {
                            tracing::warn!(error = %e, "could not reload lock exceptions");
                        }
                        match app.store.unfinished_jobs() {
                            Ok(jobs) => {
                                for job in jobs {
                                    app.spawn_job(job);
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "could not list jobs"),
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the sync thread");
        }
    }

    /// A job's notifications (newest first), `None` for an unknown job or one `user`
    /// may not see.
    ///
    /// # Errors
    /// Storage failures.
    pub fn task_notifications(
        &self,
        job_type: &str,
        id: &str,
        user: &User,
    ) -> Result<Option<Vec<Notification>>> {
        Ok(self
            .visible_job(job_type, id, user)?
            .map(|j| serde_json::from_str(&j.notifications).unwrap_or_default()))
    }

    /// A job's summary JSON, if it has one and `user` may see it.
    ///
    /// # Errors
    /// Storage failures.
    pub fn task_summary(&self, job_type: &str, id: &str, user: &User) -> Result<Option<String>> {
        Ok(self
            .visible_job(job_type, id, user)?
            .and_then(|j| j.summary))
    }

    /// Where job bodies are kept.
    #[must_use]
    pub fn jobs_dir(&self) -> &PathBuf {
        &self.jobs_dir
    }
}

//! File resources and file values (spec §6.6): `POST /api/fileResources`,
//! `GET /api/fileResources/{id}[/data]`, `POST /api/dataValues/file`,
//! `GET /api/dataValues/files`.
//!
//! The content of a file resource is a file in the files directory (next to the
//! database) named by the SHA-256 of its bytes, written and fsynced before the resource
//! row is stored, so a stored resource always has its content; equal uploads share one
//! file, which is removed with the last resource using it. A FILE_RESOURCE or IMAGE value
//! is the UID of a `DATA_VALUE` resource, bound to one value only: the value write claims
//! it (`assigned`), and a value that is deleted or replaced deletes its resource (DHIS2's
//! default retention strategy NONE).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use md5::Digest as _;
use serde::Serialize;
use sha2::Digest as _;
use tally_domain::import::ErrorCode;
use tally_domain::uid::Uid;
use tally_store::FileResourceRow;

use crate::App;
use crate::error::{CoreError, Result};
use crate::users::User;

/// DHIS2's default `max.file_upload_size`, bytes.
pub const MAX_FILE_UPLOAD_SIZE: u64 = 10_000_000;

/// The domain of file values.
pub const DATA_VALUE: &str = "DATA_VALUE";

/// DHIS2's `FileResourceDomain` names.
const DOMAINS: &[&str] = &[
    "DATA_VALUE",
    "PUSH_ANALYSIS",
    "DOCUMENT",
    "MESSAGE_ATTACHMENT",
    "USER_AVATAR",
    "ORG_UNIT",
    "JOB_DATA",
    "ICON",
];

/// An uploaded file (the multipart part `file`).
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// The part's file name.
    pub name: String,
    /// The part's content type (`application/octet-stream` when it has none).
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A file resource as the API shows it (DHIS2's `FileResource` JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileResourceView {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub created: String,
    pub last_updated: String,
    pub created_by: IdRef,
    pub content_type: String,
    pub content_length: i64,
    pub content_md5: String,
    /// Always `STORED`: the content is on disk before the resource exists.
    pub storage_status: &'static str,
    pub domain: String,
    pub assigned: bool,
    pub has_multiple_storage_files: bool,
}

/// `{"id": …}` (DHIS2 renders the creator by UID; tally names it by username).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdRef {
    pub id: String,
}

fn timestamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

impl FileResourceView {
    fn of(row: &FileResourceRow) -> Self {
        Self {
            id: row.uid.clone(),
            name: row.name.clone(),
            display_name: row.name.clone(),
            created: timestamp(row.created_ms),
            last_updated: timestamp(row.last_updated_ms),
            created_by: IdRef {
                id: row.created_by.clone(),
            },
            content_type: row.content_type.clone(),
            content_length: row.content_length,
            content_md5: row.content_md5.clone(),
            storage_status: "STORED",
            domain: row.domain.clone(),
            assigned: row.assigned,
            has_multiple_storage_files: false,
        }
    }
}

/// The content of a file resource, to stream.
#[derive(Debug, Clone)]
pub struct FileContent {
    pub resource: FileResourceView,
    pub path: PathBuf,
}

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(format!("file store: {e}"))
}

fn not_found(uid: &str) -> CoreError {
    CoreError::NotFound(format!("FileResource with id {uid} could not be found."))
}

/// Writes `bytes` as `dir/name` durably (temporary file, fsync, rename, fsync of the
/// directory); an existing file of that name already holds the same bytes.
fn write_blob(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(internal)?;
    let path = dir.join(name);
    if path.exists() {
        return Ok(());
    }
    let tmp = dir.join(format!(
        ".{name}.{}.tmp",
        Uid::generate(rand::random::<u64>)
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(internal)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl App {
    /// Where file contents are kept (next to the database).
    #[must_use]
    pub fn files_dir(&self) -> PathBuf {
        self.files_dir
            .clone()
            .unwrap_or_else(|| self.jobs_dir.join("files"))
    }

    /// Keeps file contents in `dir` (the binary: `<database>.files`).
    #[must_use]
    pub fn with_files_dir(mut self, dir: PathBuf) -> Self {
        self.files_dir = Some(dir);
        self
    }

    /// `POST /api/fileResources`: stores the upload as a new, unassigned resource of
    /// `domain` (default `DATA_VALUE`), with the given UID or a new one.
    ///
    /// # Errors
    /// 409 for a file over [`MAX_FILE_UPLOAD_SIZE`], an unknown domain, a malformed or
    /// taken UID; storage failures.
    pub fn save_file_resource(
        &self,
        user: &User,
        upload: &Upload,
        domain: Option<&str>,
        uid: Option<&str>,
    ) -> Result<FileResourceView> {
        let size = upload.bytes.len() as u64;
        if size > MAX_FILE_UPLOAD_SIZE {
            return Err(CoreError::Conflict {
                code: None,
                message: format!(
                    "File size can't be bigger than {MAX_FILE_UPLOAD_SIZE}, current file size {size}"
                ),
            });
        }
        let domain = match domain.map(str::trim).filter(|d| !d.is_empty()) {
            None => DATA_VALUE,
            Some(d) => DOMAINS.iter().copied().find(|x| *x == d).ok_or_else(|| {
                CoreError::BadRequest(format!(
                    "Value '{d}' is not valid for parameter domain. Valid values are: {DOMAINS:?}"
                ))
            })?,
        };
        let uid = match uid.map(str::trim).filter(|u| !u.is_empty()) {
            None => Uid::generate(rand::random::<u64>).to_string(),
            Some(u) => {
                let parsed = Uid::parse(u).map_err(|_| CoreError::Conflict {
                    code: None,
                    message: format!("Invalid UID `{u}` for file resource"),
                })?;
                if self.store.file_resource(u)?.is_some() {
                    return Err(CoreError::Conflict {
                        code: None,
                        message: format!("FileResource with id {u} already exists"),
                    });
                }
                parsed.to_string()
            }
        };
        let storage_key = hex(&sha2::Sha256::digest(&upload.bytes));
        write_blob(&self.files_dir(), &storage_key, &upload.bytes)?;
        let now = self.clock.now().as_millisecond();
        let name = if upload.name.trim().is_empty() {
            "file".to_owned()
        } else {
            upload.name.trim().to_owned()
        };
        let content_type = if upload.content_type.trim().is_empty() {
            "application/octet-stream".to_owned()
        } else {
            upload.content_type.trim().to_owned()
        };
        let row = FileResourceRow {
            uid,
            name,
            content_type,
            content_length: i64::try_from(size).unwrap_or(i64::MAX),
            content_md5: hex(&md5::Md5::digest(&upload.bytes)),
            storage_key,
            domain: domain.to_owned(),
            assigned: false,
            created_ms: now,
            last_updated_ms: now,
            created_by: user.username.clone(),
        };
        self.store.save_file_resource(&row).map_err(|e| match e {
            tally_store::StoreError::Constraint(_) => CoreError::Conflict {
                code: None,
                message: format!("FileResource with id {} already exists", row.uid),
            },
            other => other.into(),
        })?;
        Ok(FileResourceView::of(&row))
    }

    /// `GET /api/fileResources/{id}`.
    ///
    /// # Errors
    /// 404 for an unknown resource; storage failures.
    pub fn file_resource(&self, uid: &str) -> Result<FileResourceView> {
        let row = self
            .store
            .file_resource(uid)?
            .ok_or_else(|| not_found(uid))?;
        Ok(FileResourceView::of(&row))
    }

    /// `GET /api/fileResources/{id}/data`: the content, except for `DATA_VALUE` (and
    /// `PUSH_ANALYSIS`) resources, which DHIS2 serves only through their value (403).
    ///
    /// # Errors
    /// 404, 403 as above; storage failures.
    pub fn file_resource_content(&self, uid: &str) -> Result<FileContent> {
        let row = self
            .store
            .file_resource(uid)?
            .ok_or_else(|| not_found(uid))?;
        if row.domain == DATA_VALUE || row.domain == "PUSH_ANALYSIS" {
            return Err(CoreError::Forbidden(format!(
                "You don't have access to fileResource '{uid}' or this fileResource is not available from this endpoint"
            )));
        }
        Ok(self.content(&row))
    }

    fn content(&self, row: &FileResourceRow) -> FileContent {
        FileContent {
            resource: FileResourceView::of(row),
            path: self.files_dir().join(&row.storage_key),
        }
    }

    /// The resource a FILE_RESOURCE/IMAGE value names, checked as DHIS2's
    /// `validateFileResource` does: 404 when it is missing or not a `DATA_VALUE`
    /// resource, E2026 when another value owns it, E2027 when an IMAGE value names a
    /// non-image (the resource is then deleted, as in DHIS2).
    pub(crate) fn check_value_file(&self, uid: &str, image: bool) -> Result<FileResourceRow> {
        let row = self
            .store
            .file_resource(uid)?
            .filter(|r| r.domain == DATA_VALUE)
            .ok_or_else(|| not_found(uid))?;
        if row.assigned {
            return Err(CoreError::conflict(ErrorCode::E2026, &[]));
        }
        if image && !row.content_type.to_ascii_lowercase().starts_with("image/") {
            self.remove_file_resource(uid)?;
            return Err(CoreError::conflict(
                ErrorCode::E2027,
                &["not_valid_file_content_type"],
            ));
        }
        Ok(row)
    }

    /// Claims the resource for a value (fails with E2026 if it was claimed meanwhile).
    pub(crate) fn claim_file(&self, uid: &str) -> Result<()> {
        let now = self.clock.now().as_millisecond();
        if self.store.assign_file_resource(uid, true, now)? {
            Ok(())
        } else {
            Err(CoreError::conflict(ErrorCode::E2026, &[]))
        }
    }

    /// Gives a claimed resource back (the value write did not happen).
    pub(crate) fn release_file(&self, uid: &str) -> Result<()> {
        let now = self.clock.now().as_millisecond();
        self.store.assign_file_resource(uid, false, now)?;
        Ok(())
    }

    /// Deletes a resource and, when no other resource uses it, its content.
    ///
    /// # Errors
    /// Storage failures (a content file that cannot be removed is only logged: the
    /// resource is gone either way).
    pub fn remove_file_resource(&self, uid: &str) -> Result<()> {
        if let Some((row, 0)) = self.store.delete_file_resource(uid)? {
            let path = self.files_dir().join(&row.storage_key);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "file content not removed");
            }
        }
        Ok(())
    }

    /// The content of a `DATA_VALUE` resource named by a value
    /// (`GET /api/dataValues/files`): 404 "A data value file resource with id X does not
    /// exist." when it is missing or of another domain.
    pub(crate) fn value_file_content(&self, uid: &str) -> Result<FileContent> {
        let row = self
            .store
            .file_resource(uid)?
            .filter(|r| r.domain == DATA_VALUE)
            .ok_or_else(|| {
                CoreError::NotFound(format!(
                    "A data value file resource with id {uid} does not exist."
                ))
            })?;
        Ok(self.content(&row))
    }
}

//! Errors of the use cases.
//!
//! Which type where: domain crates return small precise enums; stores return
//! `StoreError`; use cases here return [`CoreError`], which the HTTP layer maps to a
//! WebMessage and the CLI prints. Import *conflicts* are never errors: they are data in
//! the `ImportSummary`.

use tally_domain::import::ErrorCode;
use tally_store::StoreError;

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request is malformed (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// The user may not do this (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// The addressed object does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// A DHIS2 validation failure (HTTP 409 with an `errorCode`).
    #[error("{message}")]
    Conflict {
        code: Option<ErrorCode>,
        message: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else that is our fault.
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    /// A 409 with a DHIS2 code and its message.
    #[must_use]
    pub fn conflict(code: ErrorCode, args: &[&str]) -> Self {
        Self::Conflict {
            code: Some(code),
            message: code.message(args),
        }
    }
}

/// Result with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

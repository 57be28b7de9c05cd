//! Use cases of tally, with IO only through the store traits.
//!
//! Layout:
//! * [`App`]: the shared state of a running tally (store, metadata snapshot, users, clock).
//! * [`import`]: the streaming data value import pipeline.
//! * [`export`]: the streaming data value export.
//! * [`data_value`]: the single-value API (`/api/dataValues`, follow-up), versioned.
//! * [`data_entry`]: the data entry app's API (`/api/dataEntry/*`), lock exceptions,
//!   min-max ranges, custom forms, data set templates.
//! * [`jobs`]: async imports, stored and resumed after a restart.
//! * [`users`]: users, roles, groups, tokens, sessions.
//! * [`catalog`]: the read side of metadata and users for the metadata API.
//! * [`auth`]: authentication (passwords, tokens, sessions, throttling).
//! * [`error`]: which error type to use where.
//! * [`files`]: file resources and file values (content on disk by SHA-256).
//! * [`group_commit`]: the single-value writer (one durable transaction per batch of
//!   concurrent requests, a savepoint per request).

mod adx;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod data_entry;
pub mod data_value;
pub mod error;
pub mod export;
pub mod files;
pub mod group_commit;
pub mod import;
pub mod jobs;
pub mod registrations;

pub mod users;

pub use app::{App, Clock, Store};
pub use error::{CoreError, Result};

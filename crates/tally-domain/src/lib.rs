//! Pure DHIS2 domain model for tally.
//!
//! Nothing in this crate does IO or async work: it is the vocabulary every other crate
//! shares. Layout:
//!
//! * [`uid`]: DHIS2 11-character identifiers.
//! * [`period`]: ISO period types and periods (parse, format, dates, ADX form).
//! * [`value_type`]: data element value types and their validation rules.
//! * [`id_scheme`]: UID / CODE / NAME / `ATTRIBUTE:<uid>` schemes and their precedence.
//! * [`metadata`]: the metadata model, DHIS2 metadata import (merge and report) and the
//!   immutable in-memory snapshot with lookups per id scheme.
//! * [`query`]: DHIS2's metadata query language (`fields`, `filter`, `order`, paging)
//!   over JSON object views.
//! * [`import`]: import strategies, options, the summary with grouped conflicts, and the
//!   per-value create/update/delete decision shared by every store backend.

pub mod id_scheme;
pub mod import;
pub mod metadata;
pub mod period;
pub mod query;
pub mod uid;
pub mod value_type;

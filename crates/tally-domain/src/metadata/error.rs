//! Errors of the metadata loader, set and snapshot.
//!
//! Problems *in a document* (missing fields, broken references) are not errors: the merge
//! reports them in an [`super::ImportReport`]. These errors are for input that cannot be
//! read at all, and for inconsistent store content handed to the set or the snapshot.

use super::model::ObjectKind;
use crate::uid::Uid;

/// Why metadata could not be parsed, assembled or indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The document is not valid JSON or a field has the wrong type.
    #[error("invalid metadata JSON at line {line}, column {column}: {message}")]
    Parse {
        /// The JSON parser's message.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Two stored objects of one kind have the same UID.
    #[error("{kind} {uid} is stored twice")]
    DuplicateUid {
        /// Object kind.
        kind: ObjectKind,
        /// The repeated UID.
        uid: Uid,
    },
    /// Two stored objects of one kind have the same internal id.
    #[error("internal id {id} of {kind} is used by both {first} and {second}")]
    DuplicateInternalId {
        /// Object kind.
        kind: ObjectKind,
        /// The repeated id.
        id: u32,
        /// One holder.
        first: Uid,
        /// The other holder.
        second: Uid,
    },
    /// An object has no internal id yet (the store must assign one before building a
    /// snapshot).
    #[error("{kind} {uid} has no internal id")]
    MissingInternalId {
        /// Object kind.
        kind: ObjectKind,
        /// The object.
        uid: Uid,
    },
    /// No object of that kind and UID exists.
    #[error("no {kind} {uid}")]
    UnknownObject {
        /// Object kind.
        kind: ObjectKind,
        /// The UID looked for.
        uid: Uid,
    },
    /// A stored object references an object that does not exist (a merge never produces
    /// this; it means the store content was edited or lost rows).
    #[error("{kind} {uid} references missing {target_kind} {target} through `{property}`")]
    DanglingReference {
        /// Kind of the referencing object.
        kind: ObjectKind,
        /// The referencing object.
        uid: Uid,
        /// The JSON property holding the reference.
        property: &'static str,
        /// Kind of the missing object.
        target_kind: ObjectKind,
        /// The missing UID.
        target: Uid,
    },
    /// The organisation unit parents form a cycle.
    #[error("organisation unit {uid} is its own ancestor")]
    HierarchyCycle {
        /// A unit on the cycle.
        uid: Uid,
    },
    /// A required field is absent in stored content (a merge never produces this).
    #[error("{kind} {uid} lacks required property `{property}`")]
    MissingProperty {
        /// Object kind.
        kind: ObjectKind,
        /// The object.
        uid: Uid,
        /// The property.
        property: &'static str,
    },
    /// A stored value is not valid for its property (a merge never produces this).
    #[error("{kind} {uid} has invalid `{property}`: `{value}`")]
    InvalidProperty {
        /// Object kind.
        kind: ObjectKind,
        /// The object.
        uid: Uid,
        /// The property.
        property: &'static str,
        /// The stored value.
        value: String,
    },
}

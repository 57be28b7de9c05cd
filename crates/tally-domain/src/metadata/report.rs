//! The metadata import report, shaped like the `response` of DHIS2's `POST /api/metadata`
//! (`responseType: ImportReport`).
//!
//! ```json
//! {"status": "ERROR",
//!  "stats": {"created": 0, "updated": 0, "deleted": 0, "ignored": 2, "total": 2},
//!  "typeReports": [{
//!    "klass": "org.hisp.dhis.dataset.DataSet",
//!    "stats": {"created": 0, "updated": 0, "deleted": 0, "ignored": 1, "total": 1},
//!    "objectReports": [{
//!      "klass": "org.hisp.dhis.dataset.DataSet", "index": 0, "uid": "pBOMPrpg1QX",
//!      "displayName": "Mortality < 5 years",
//!      "errorReports": [{
//!        "message": "Invalid reference [xxxxxxxxxxx] (DataElement) on object ...",
//!        "mainKlass": "org.hisp.dhis.dataset.DataSet",
//!        "errorKlass": "org.hisp.dhis.dataelement.DataElement",
//!        "errorCode": "E5002", "errorProperty": "dataElement",
//!        "errorProperties": ["[xxxxxxxxxxx] (DataElement)", "...", "dataElement"],
//!        "mainId": "pBOMPrpg1QX"}]}]}]}
//! ```
//!
//! Differences from DHIS2, on purpose:
//! * `objectReports` only lists objects with error reports (DHIS2's default
//!   `importReportMode=ERRORS` does the same); `importParams` is not echoed.
//! * When the import is refused (atomic mode ALL), every object of the document counts as
//!   `ignored` in the stats, so the counts still add up to `total`.
//! * `WARNING` is used when the import went through but some objects were dropped for a
//!   non-fatal reason (a UID repeated in the document, E5004).
//! * Checks DHIS2 lacks use codes starting with `T` ([`ErrorCode`]).
//!
//! The HTTP layer wraps this in the usual WebMessage (`httpStatus`, `httpStatusCode`,
//! `status`, `response`).

use serde::Serialize;

use super::model::ObjectKind;
use crate::uid::Uid;

/// Overall outcome of a metadata import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    /// Everything was imported.
    Ok,
    /// Imported, but some objects were dropped (see the object reports).
    Warning,
    /// Nothing was imported.
    Error,
}

/// Object counts, per type and in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Stats {
    /// Objects that did not exist before.
    pub created: u32,
    /// Existing objects replaced by the document's version (even when unchanged, as in DHIS2).
    pub updated: u32,
    /// Always 0: tally's merge does not delete.
    pub deleted: u32,
    /// Objects not imported.
    pub ignored: u32,
    /// Sum of the four counts.
    pub total: u32,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.created += other.created;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.ignored += other.ignored;
        self.total += other.total;
    }
}

/// The error codes a merge can report. `E…` codes are DHIS2's (same meaning and message
/// template); `T…` codes are tally's own checks that DHIS2 does not make or makes
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// `Missing required property `{0}`.`
    E4000,
    /// `Attribute `{0}` is unique, and value `{1}` already exist.`
    E4009,
    /// `Attribute `{0}` is not supported for type `{1}`.`
    E4010,
    /// `Value `{0}` is not a valid for property `{1}`` (DHIS2's wording).
    E4027,
    /// `Option set `{0}` already contains option `{1}``
    E4028,
    /// `Found matching object for reference, but import mode is CREATE. ...`
    E5000,
    /// `No matching object for reference. ...`
    E5001,
    /// `Invalid reference {0} on object {1} for association `{2}`.`
    E5002,
    /// `Property `{0}` with value `{1}` on object {2} already exists on object {3}.`
    E5003,
    /// `Id `{0}` for type `{1}` exists on more than 1 object in the payload, removing all
    /// but the first found.` Not fatal.
    E5004,
    /// An organisation unit is its own ancestor.
    T4001,
    /// A default object (combo, category, option, COC) lost its fixed structure.
    T4002,
    /// A category option combo is not one option from each category of its combo, or
    /// repeats the options of another COC of the combo.
    T4003,
    /// A category combo has more option combinations than tally generates.
    T4004,
}

impl ErrorCode {
    /// The code as DHIS2 writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::E4000 => "E4000",
            ErrorCode::E4009 => "E4009",
            ErrorCode::E4010 => "E4010",
            ErrorCode::E4027 => "E4027",
            ErrorCode::E4028 => "E4028",
            ErrorCode::E5000 => "E5000",
            ErrorCode::E5001 => "E5001",
            ErrorCode::E5002 => "E5002",
            ErrorCode::E5003 => "E5003",
            ErrorCode::E5004 => "E5004",
            ErrorCode::T4001 => "T4001",
            ErrorCode::T4002 => "T4002",
            ErrorCode::T4003 => "T4003",
            ErrorCode::T4004 => "T4004",
        }
    }

    /// Whether the error refuses the import (all but E5004).
    #[must_use]
    pub fn is_fatal(self) -> bool {
        self != ErrorCode::E5004
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem with one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// Human readable message, DHIS2's template filled in.
    pub message: String,
    /// Class of the object with the problem.
    pub main_klass: &'static str,
    /// Class of the referenced object, for reference errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_klass: Option<&'static str>,
    /// The code.
    pub error_code: ErrorCode,
    /// The offending property, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_property: Option<String>,
    /// The message arguments, in template order.
    pub error_properties: Vec<String>,
    /// UID of the object with the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_id: Option<Uid>,
}

/// The problems of one object of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReport {
    /// Class of the object.
    pub klass: &'static str,
    /// Position of the object in its type's array of the document.
    pub index: usize,
    /// UID of the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<Uid>,
    /// Name of the object, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The problems.
    pub error_reports: Vec<ErrorReport>,
}

/// Counts and problems for one object type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeReport {
    /// Class of the type.
    pub klass: &'static str,
    /// Counts for this type.
    pub stats: Stats,
    /// Objects of this type with problems.
    pub object_reports: Vec<ObjectReport>,
}

/// The report of one metadata merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Overall outcome.
    pub status: ReportStatus,
    /// Counts over all types.
    pub stats: Stats,
    /// One report per object type present in the document, in processing order.
    pub type_reports: Vec<TypeReport>,
}

impl ImportReport {
    /// Builds a report from per-type reports, summing the stats and deriving the status
    /// from the error reports: any fatal one gives ERROR, only non-fatal ones WARNING.
    #[must_use]
    pub fn from_type_reports(type_reports: Vec<TypeReport>) -> ImportReport {
        let mut stats = Stats::default();
        let mut fatal = false;
        let mut any = false;
        for t in &type_reports {
            stats.add(&t.stats);
            for e in t.object_reports.iter().flat_map(|o| &o.error_reports) {
                any = true;
                fatal |= e.error_code.is_fatal();
            }
        }
        let status = if fatal {
            ReportStatus::Error
        } else if any {
            ReportStatus::Warning
        } else {
            ReportStatus::Ok
        };
        ImportReport {
            status,
            stats,
            type_reports,
        }
    }

    /// Every error report, with the kind of object it is about.
    pub fn errors(&self) -> impl Iterator<Item = &ErrorReport> {
        self.type_reports
            .iter()
            .flat_map(|t| &t.object_reports)
            .flat_map(|o| &o.error_reports)
    }

    /// The type report for `kind`, if the document had objects of that kind.
    #[must_use]
    pub fn type_report(&self, kind: ObjectKind) -> Option<&TypeReport> {
        self.type_reports.iter().find(|t| t.klass == kind.klass())
    }
}

//! Aggregate metadata: the model, the DHIS2 metadata JSON loader and merger, and the
//! indexed snapshot the data value pipeline reads.
//!
//! The flow, all pure:
//!
//! 1. [`parse_metadata_document`] reads a DHIS2 `/api/metadata` JSON document into a
//!    [`MetadataDocument`] (unknown types and fields are ignored, so real exports load).
//! 2. [`merge`] applies it to the current [`MetadataSet`] with create-and-update by UID
//!    and DHIS2's atomic validation, answering with a DHIS2-shaped [`ImportReport`] and,
//!    if accepted, the new set plus the list of [`Change`]s to persist. It derives org unit
//!    paths and levels, keeps the four default objects, and generates missing category
//!    option combos.
//! 3. The store persists the changes and gives new objects internal ids
//!    ([`MetadataSet::set_internal_id`]).
//! 4. [`Snapshot::build`] indexes the set for O(1) lookups by every id scheme and for the
//!    import checks (hierarchy, option codes, data set assignment, AOC by options).
//!
//! 5. [`Catalog`] is the read side for the metadata API: views of every object with the
//!    associations DHIS2 derives (an org unit's `children`...), queried with
//!    [`crate::query`]; [`schemas`] describes each type's properties.
//!
//! Typed internal ids ([`OrgUnitId`], [`DataElementId`], ...) are the store's ids; the
//! snapshot never invents them.

mod catalog;
mod document;
mod error;
mod ids;
mod merge;
mod model;
mod report;
pub mod schemas;
mod set;
mod snapshot;

pub use catalog::Catalog;
pub use document::{MetadataDocument, parse_metadata_document};
pub use error::MetadataError;
pub use ids::{
    AttributeId, CategoryComboId, CategoryId, CategoryOptionComboId, CategoryOptionId,
    DataElementGroupId, DataElementId, DataSetId, OptionId, OptionSetId, OrgUnitGroupId, OrgUnitId,
    SectionId, TypedId,
};
pub use merge::{
    Change, ChangeKind, MAX_GENERATED_COMBINATIONS, MergeOptions, MergeOutcome, MergeResult,
    MergeStrategy, generated_coc_uid, merge,
};
pub use model::{
    Attribute, AttributeValue, Category, CategoryCombo, CategoryOption, CategoryOptionCombo,
    DataDimensionType, DataElement, DataElementGroup, DataElementOperand, DataInputPeriod, DataSet,
    DataSetElement, FileTypeValueOptions, Identifiable, MetadataObject, ObjectKind, OptionItem,
    OptionSet, OrganisationUnit, OrganisationUnitGroup, PeriodRef, Ref, Section, parse_dhis2_date,
};
pub use report::{
    ErrorCode, ErrorReport, ImportReport, ObjectReport, ReportStatus, Stats, TypeReport,
};
pub use set::{
    DEFAULT_CATEGORY_COMBO_UID, DEFAULT_CATEGORY_OPTION_COMBO_UID, DEFAULT_CATEGORY_OPTION_UID,
    DEFAULT_CATEGORY_UID, DefaultUids, MetadataSet, MetadataType, Stored,
};
pub use snapshot::{
    AttributeInfo, CategoryComboInfo, CategoryInfo, CategoryOptionComboInfo, CategoryOptionInfo,
    Common, DataElementGroupInfo, DataElementInfo, DataInputPeriodInfo, DataSetElementInfo,
    DataSetInfo, Defaults, LookupScheme, OperandInfo, OptionInfo, OptionSetInfo, OrgUnitGroupInfo,
    OrgUnitInfo, SectionInfo, Snapshot,
};

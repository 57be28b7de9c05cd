//! The immutable, indexed view of the metadata that the import and export hot paths read.
//!
//! A [`Snapshot`] is built once per metadata change from a [`MetadataSet`] whose objects
//! all have internal ids. Every lookup the data value pipeline needs is a hash lookup or
//! an index into a vector: identifier → typed id per id scheme, typed id → identifier per
//! output scheme (as `&str`, no allocation), and the per-object facts the E76xx checks use.
//!
//! Identifier resolution rules:
//! * identifiers are trimmed before lookup;
//! * UID lookups of text that is not UID-shaped find nothing;
//! * CODE and NAME are exact, case-sensitive matches (as DHIS2's SQL equality);
//! * several objects with the same NAME (or the same value of a unique attribute, which a
//!   merge prevents) resolve to the one with the **lowest internal id**, i.e. the oldest:
//!   stable across restarts and unaffected by later additions;
//! * `ATTRIBUTE:<uid>` only resolves through *unique* attributes enabled for the kind (as
//!   DHIS2's `getByUniqueAttributeValue`); it finds nothing for other attributes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jiff::civil::Date;

use super::MetadataError;
use super::ids::{
    AttributeId, CategoryComboId, CategoryId, CategoryOptionComboId, CategoryOptionId,
    DataElementGroupId, DataElementId, DataSetId, OptionId, OptionSetId, OrgUnitGroupId, OrgUnitId,
    SectionId, TypedId,
};
use super::model::{
    Attribute, Category, CategoryCombo, CategoryOption, CategoryOptionCombo, DataDimensionType,
    DataElement, DataElementGroup, DataSet, FileTypeValueOptions, Identifiable, ObjectKind,
    OptionItem, OptionSet, OrganisationUnit, OrganisationUnitGroup, Ref, Section, parse_dhis2_date,
};
use super::set::{DefaultUids, MetadataSet, MetadataType};
use crate::id_scheme::IdScheme;
use crate::period::PeriodType;
use crate::uid::Uid;
use crate::value_type::ValueType;

/// How an identifier names an object. This is the lookup side of DHIS2's id schemes:
/// `ID` means UID here and `UUID` finds nothing (aggregate metadata has no UUIDs), so a
/// caller maps its scheme onto these four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupScheme {
    /// The 11-character UID (also DHIS2's `ID`).
    Uid,
    /// The code.
    Code,
    /// The name.
    Name,
    /// The value of the given (unique) attribute.
    Attribute(Uid),
}

impl From<IdScheme> for LookupScheme {
    /// `ID` looks up by UID (DHIS2 treats it so); `UUID` too, which finds nothing but
    /// UID-shaped text (aggregate metadata has no UUIDs).
    fn from(scheme: IdScheme) -> Self {
        match scheme {
            IdScheme::Uid | IdScheme::Id | IdScheme::Uuid => LookupScheme::Uid,
            IdScheme::Code => LookupScheme::Code,
            IdScheme::Name => LookupScheme::Name,
            IdScheme::Attribute(uid) => LookupScheme::Attribute(uid),
        }
    }
}

/// The identifying fields every snapshot record has.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Common {
    /// UID.
    pub uid: Uid,
    /// Code, if any.
    pub code: Option<Arc<str>>,
    /// Name (empty if the object has none, which only category option combos may lack).
    pub name: Arc<str>,
    /// Short name, if any.
    pub short_name: Option<Arc<str>>,
    /// Attribute values, in document order.
    pub attribute_values: Box<[(AttributeId, Arc<str>)]>,
}

impl Common {
    /// The code as `&str`.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The name as `&str`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of an attribute on this object.
    #[must_use]
    pub fn attribute_value(&self, attribute: AttributeId) -> Option<&str> {
        self.attribute_values
            .iter()
            .find(|(a, _)| *a == attribute)
            .map(|(_, v)| &**v)
    }
}

/// Records that carry [`Common`].
trait Record {
    fn common(&self) -> &Common;
}

macro_rules! record {
    ($($t:ty),*) => {
        $(impl Record for $t {
            fn common(&self) -> &Common {
                &self.common
            }
        })*
    };
}

/// An organisation unit.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OrgUnitInfo {
    /// Identifying fields.
    pub common: Common,
    /// Parent unit, `None` for a root.
    pub parent: Option<OrgUnitId>,
    /// Depth, 1 for a root.
    pub level: u32,
    /// Opening date.
    pub opening_date: Option<Date>,
    /// Closed date.
    pub closed_date: Option<Date>,
}

/// An organisation unit group (members: [`Snapshot::org_unit_group_members`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OrgUnitGroupInfo {
    /// Identifying fields.
    pub common: Common,
    /// Member units, by internal id.
    pub members: Box<[OrgUnitId]>,
}

/// A data element.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DataElementInfo {
    /// Identifying fields.
    pub common: Common,
    /// DHIS2 value type name (validated by the merge).
    pub value_type: Arc<str>,
    /// The value type.
    pub value_type_enum: ValueType,
    /// `AGGREGATE` or `TRACKER`.
    pub domain_type: Arc<str>,
    /// DHIS2 aggregation type name.
    pub aggregation_type: Arc<str>,
    /// Whether the aggregation type is `AVERAGE` or `AVERAGE_SUM_ORG_UNIT`: zeros of such
    /// elements are always significant (spec §3.5).
    pub average_aggregation: bool,
    /// Whether zeros are stored.
    pub zero_is_significant: bool,
    /// Disaggregation combo (the default combo when the element names none).
    pub category_combo: CategoryComboId,
    /// Option set of the values.
    pub option_set: Option<OptionSetId>,
    /// Option set of the comments.
    pub comment_option_set: Option<OptionSetId>,
    /// File constraints for file and image elements.
    pub file_options: Option<FileTypeValueOptions>,
    /// Label for forms.
    pub form_name: Option<Arc<str>>,
    /// The data sets containing the element, by internal id.
    pub data_sets: Box<[DataSetId]>,
}

/// A data element group.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DataElementGroupInfo {
    /// Identifying fields.
    pub common: Common,
    /// Member elements, by internal id.
    pub members: Box<[DataElementId]>,
}

/// A category.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CategoryInfo {
    /// Identifying fields.
    pub common: Common,
    /// Options, in display order.
    pub options: Box<[CategoryOptionId]>,
    /// Disaggregation or attribute.
    pub data_dimension_type: DataDimensionType,
}

/// A category option.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CategoryOptionInfo {
    /// Identifying fields.
    pub common: Common,
    /// First day data may be entered for.
    pub start_date: Option<Date>,
    /// Last day data may be entered for (before `openPeriodsAfterCoEndDate`).
    pub end_date: Option<Date>,
    /// Org unit restriction: if not empty, only these units and their descendants.
    pub org_units: Box<[OrgUnitId]>,
}

/// A category combo.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CategoryComboInfo {
    /// Identifying fields.
    pub common: Common,
    /// Categories, in order.
    pub categories: Box<[CategoryId]>,
    /// The combo's option combos, in category-option order (first category slowest).
    pub option_combos: Box<[CategoryOptionComboId]>,
    /// Disaggregation or attribute.
    pub data_dimension_type: DataDimensionType,
    /// Whether forms hide totals.
    pub skip_total: bool,
    /// Whether this is DHIS2's default combo.
    pub is_default: bool,
}

/// A category option combo (COC or AOC).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CategoryOptionComboInfo {
    /// Identifying fields.
    pub common: Common,
    /// The combo.
    pub category_combo: CategoryComboId,
    /// The options, in document order.
    pub options: Box<[CategoryOptionId]>,
    /// Latest start date of the options: data for periods ending before it is refused
    /// (E7638).
    pub start_date: Option<Date>,
    /// Earliest end date of the options (to be extended by the data set's
    /// `openPeriodsAfterCoEndDate`).
    pub end_date: Option<Date>,
    /// Whether approval skips the combination.
    pub ignore_approval: bool,
}

/// A data element's membership in a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataSetElementInfo {
    /// The element.
    pub data_element: DataElementId,
    /// Combo override in this data set.
    pub category_combo: Option<CategoryComboId>,
}

/// A (data element, COC) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperandInfo {
    /// The element.
    pub data_element: DataElementId,
    /// The COC, or all of the element's COCs when `None`.
    pub category_option_combo: Option<CategoryOptionComboId>,
}

/// A data input period of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataInputPeriodInfo {
    /// ISO period.
    pub period: Arc<str>,
    /// First open day.
    pub opening_date: Option<Date>,
    /// Last open day (inclusive).
    pub closing_date: Option<Date>,
}

/// A data set.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DataSetInfo {
    /// Identifying fields.
    pub common: Common,
    /// DHIS2 period type name, in DHIS2's spelling (`Monthly`).
    pub period_type: Arc<str>,
    /// The period type; `None` only for `TwoYearly`, which has no ISO periods.
    pub period_type_enum: Option<PeriodType>,
    /// Attribute combo (the default combo when the set names none).
    pub category_combo: CategoryComboId,
    /// Elements, sorted by data element id.
    pub elements: Box<[DataSetElementInfo]>,
    /// Assigned org units.
    pub org_units: HashSet<OrgUnitId>,
    /// Lock after this many days past the period end; 0 never.
    pub expiry_days: i32,
    /// Open future periods (spec §4.5).
    pub open_future_periods: i32,
    /// Periods the options stay open after their end date.
    pub open_periods_after_co_end_date: i32,
    /// Timeliness in days.
    pub timely_days: Option<i32>,
    /// Input periods; empty means always open.
    pub data_input_periods: Box<[DataInputPeriodInfo]>,
    /// Completion requires the compulsory operands.
    pub compulsory_fields_complete_only: bool,
    /// Compulsory operands.
    pub compulsory_operands: Box<[OperandInfo]>,
    /// Sections, by sort order.
    pub sections: Box<[SectionId]>,
    /// Approval workflow UID (workflows are not modelled).
    pub workflow: Option<Uid>,
    /// Form type name.
    pub form_type: Option<Arc<str>>,
    /// Form version.
    pub version: i32,
}

impl DataSetInfo {
    /// The element's membership, if the set contains it (binary search).
    #[must_use]
    pub fn element(&self, data_element: DataElementId) -> Option<&DataSetElementInfo> {
        self.elements
            .binary_search_by_key(&data_element, |e| e.data_element)
            .ok()
            .and_then(|i| self.elements.get(i))
    }

    /// Whether the set contains the element.
    #[must_use]
    pub fn contains(&self, data_element: DataElementId) -> bool {
        self.element(data_element).is_some()
    }
}

/// A data set section.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SectionInfo {
    /// Identifying fields.
    pub common: Common,
    /// The data set.
    pub data_set: DataSetId,
    /// Position in the form.
    pub sort_order: i32,
    /// Elements, in order.
    pub data_elements: Box<[DataElementId]>,
    /// Greyed fields.
    pub greyed_fields: Box<[OperandInfo]>,
}

/// An option set.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OptionSetInfo {
    /// Identifying fields.
    pub common: Common,
    /// Value type of the codes.
    pub value_type: Arc<str>,
    /// Options, in order.
    pub options: Box<[OptionId]>,
    /// The option codes, for E7621 (exact, case-sensitive).
    pub codes: HashSet<Arc<str>>,
}

impl OptionSetInfo {
    /// Whether `code` is one of the set's option codes (exact match, no trimming).
    #[must_use]
    pub fn contains_code(&self, code: &str) -> bool {
        self.codes.contains(code)
    }
}

/// An option.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OptionInfo {
    /// Identifying fields (the code is the stored value).
    pub common: Common,
    /// The option set.
    pub option_set: Option<OptionSetId>,
    /// Position.
    pub sort_order: Option<i32>,
}

/// A metadata attribute.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AttributeInfo {
    /// Identifying fields.
    pub common: Common,
    /// Value type of the values.
    pub value_type: Arc<str>,
    /// Whether values are unique (only then is it an id scheme).
    pub unique: bool,
    applies: u16,
}

impl AttributeInfo {
    /// Whether the attribute is enabled for `kind`.
    #[must_use]
    pub fn applies_to(&self, kind: ObjectKind) -> bool {
        self.applies & kind_bit(kind) != 0
    }
}

fn kind_bit(kind: ObjectKind) -> u16 {
    let pos = ObjectKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(15);
    1 << pos
}

record!(
    OrgUnitInfo,
    OrgUnitGroupInfo,
    DataElementInfo,
    DataElementGroupInfo,
    CategoryInfo,
    CategoryOptionInfo,
    CategoryComboInfo,
    CategoryOptionComboInfo,
    DataSetInfo,
    SectionInfo,
    OptionSetInfo,
    OptionInfo,
    AttributeInfo
);

/// Maps a store id to the position of its record. Dense ids (the common case: an
/// auto-increment per table) use a vector; sparse ones a hash map.
#[derive(Debug, Clone)]
enum IdIndex {
    Dense(Vec<u32>),
    Sparse(HashMap<u32, u32>),
}

impl IdIndex {
    const NONE: u32 = u32::MAX;

    fn new(raw_ids: &[u32]) -> IdIndex {
        let max = raw_ids.iter().copied().max().unwrap_or(0) as usize;
        if max <= raw_ids.len().saturating_mul(2) + 1024 {
            let mut v = vec![Self::NONE; max + 1];
            for (pos, id) in raw_ids.iter().enumerate() {
                v[*id as usize] = pos as u32;
            }
            IdIndex::Dense(v)
        } else {
            IdIndex::Sparse(
                raw_ids
                    .iter()
                    .enumerate()
                    .map(|(pos, id)| (*id, pos as u32))
                    .collect(),
            )
        }
    }

    fn get(&self, raw: u32) -> Option<usize> {
        match self {
            IdIndex::Dense(v) => v
                .get(raw as usize)
                .copied()
                .filter(|p| *p != Self::NONE)
                .map(|p| p as usize),
            IdIndex::Sparse(m) => m.get(&raw).map(|p| *p as usize),
        }
    }
}

/// The records of one kind with their lookup maps.
#[derive(Debug, Clone)]
struct Table<I, R> {
    /// Typed ids by position (ascending internal id).
    ids: Vec<I>,
    records: Vec<R>,
    index: IdIndex,
    by_uid: HashMap<Uid, u32>,
    by_code: HashMap<Arc<str>, u32>,
    by_name: HashMap<Arc<str>, u32>,
    /// Per unique attribute enabled for the kind: value → position.
    by_attribute: HashMap<AttributeId, HashMap<Arc<str>, u32>>,
}

impl<I: TypedId, R: Record> Table<I, R> {
    fn get(&self, id: I) -> Option<&R> {
        self.index.get(id.raw()).and_then(|p| self.records.get(p))
    }

    fn id_at(&self, pos: u32) -> Option<I> {
        self.ids.get(pos as usize).copied()
    }

    fn by_uid(&self, uid: Uid) -> Option<I> {
        self.by_uid.get(&uid).and_then(|p| self.id_at(*p))
    }

    fn resolve(
        &self,
        scheme: LookupScheme,
        identifier: &str,
        attributes: &AttributeTable,
    ) -> Option<I> {
        let identifier = identifier.trim();
        let pos = match scheme {
            LookupScheme::Uid => self.by_uid.get(&Uid::parse(identifier).ok()?),
            LookupScheme::Code => self.by_code.get(identifier),
            LookupScheme::Name => self.by_name.get(identifier),
            LookupScheme::Attribute(attribute) => {
                let attribute = attributes.by_uid(attribute)?;
                self.by_attribute.get(&attribute)?.get(identifier)
            }
        }?;
        self.id_at(*pos)
    }

    fn identifier(&self, id: I, scheme: LookupScheme, attributes: &AttributeTable) -> Option<&str> {
        let common = self.get(id)?.common();
        match scheme {
            LookupScheme::Uid => Some(common.uid.as_str()),
            LookupScheme::Code => common.code(),
            LookupScheme::Name => Some(common.name()),
            LookupScheme::Attribute(attribute) => {
                common.attribute_value(attributes.by_uid(attribute)?)
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (I, &R)> {
        self.ids.iter().copied().zip(self.records.iter())
    }

    /// Fills the code, name and attribute indexes from the records; the first record (lowest
    /// internal id) wins on duplicates.
    fn index_identifiers(
        &mut self,
        kind: ObjectKind,
        attributes: &[AttributeInfo],
        attribute_ids: &[AttributeId],
    ) {
        let unique: HashSet<AttributeId> = attribute_ids
            .iter()
            .zip(attributes)
            .filter(|(_, a)| a.unique && a.applies_to(kind))
            .map(|(id, _)| *id)
            .collect();
        for (pos, record) in self.records.iter().enumerate() {
            let pos = pos as u32;
            let common = record.common();
            if let Some(code) = common.code.as_ref().filter(|c| !c.is_empty()) {
                self.by_code.entry(code.clone()).or_insert(pos);
            }
            if !common.name.is_empty() {
                self.by_name.entry(common.name.clone()).or_insert(pos);
            }
            for (attribute, value) in &*common.attribute_values {
                if unique.contains(attribute) {
                    self.by_attribute
                        .entry(*attribute)
                        .or_default()
                        .entry(value.clone())
                        .or_insert(pos);
                }
            }
        }
    }
}

type AttributeTable = Table<AttributeId, AttributeInfo>;

/// Positions of an organisation unit in the hierarchy arrays.
#[derive(Debug, Clone, Default)]
struct Hierarchy {
    /// Position → first child in `children`.
    child_start: Vec<u32>,
    children: Vec<OrgUnitId>,
    /// Position → preorder rank.
    pre: Vec<u32>,
    /// Position → end (exclusive) of its subtree in `preorder`.
    subtree_end: Vec<u32>,
    preorder: Vec<OrgUnitId>,
    /// Position → start of its ancestry (root first, itself last; length = level) in
    /// `ancestry`.
    ancestry_start: Vec<u32>,
    ancestry: Vec<OrgUnitId>,
    /// Position → first group in `groups`.
    group_start: Vec<u32>,
    groups: Vec<OrgUnitGroupId>,
}

/// Default objects' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Defaults {
    /// The default category combo.
    pub category_combo: CategoryComboId,
    /// The default category.
    pub category: CategoryId,
    /// The default category option.
    pub category_option: CategoryOptionId,
    /// The default category option combo (default COC and AOC).
    pub category_option_combo: CategoryOptionComboId,
}

/// The immutable, indexed metadata. See the module documentation.
#[derive(Debug, Clone)]
pub struct Snapshot {
    attributes: AttributeTable,
    org_units: Table<OrgUnitId, OrgUnitInfo>,
    org_unit_groups: Table<OrgUnitGroupId, OrgUnitGroupInfo>,
    category_options: Table<CategoryOptionId, CategoryOptionInfo>,
    categories: Table<CategoryId, CategoryInfo>,
    category_combos: Table<CategoryComboId, CategoryComboInfo>,
    category_option_combos: Table<CategoryOptionComboId, CategoryOptionComboInfo>,
    option_sets: Table<OptionSetId, OptionSetInfo>,
    options: Table<OptionId, OptionInfo>,
    data_elements: Table<DataElementId, DataElementInfo>,
    data_element_groups: Table<DataElementGroupId, DataElementGroupInfo>,
    data_sets: Table<DataSetId, DataSetInfo>,
    sections: Table<SectionId, SectionInfo>,
    hierarchy: Hierarchy,
    /// `[combo, sorted option ids...]` → COC.
    combinations: HashMap<Box<[u32]>, CategoryOptionComboId>,
    defaults: Defaults,
}

/// Runs `$body` with `$t` bound to the table of `$kind`.
macro_rules! with_table {
    ($snapshot:expr, $kind:expr, $t:ident => $body:expr) => {
        match $kind {
            ObjectKind::Attribute => {
                let $t = &$snapshot.attributes;
                $body
            }
            ObjectKind::OrganisationUnit => {
                let $t = &$snapshot.org_units;
                $body
            }
            ObjectKind::OrganisationUnitGroup => {
                let $t = &$snapshot.org_unit_groups;
                $body
            }
            ObjectKind::CategoryOption => {
                let $t = &$snapshot.category_options;
                $body
            }
            ObjectKind::Category => {
                let $t = &$snapshot.categories;
                $body
            }
            ObjectKind::CategoryCombo => {
                let $t = &$snapshot.category_combos;
                $body
            }
            ObjectKind::CategoryOptionCombo => {
                let $t = &$snapshot.category_option_combos;
                $body
            }
            ObjectKind::OptionSet => {
                let $t = &$snapshot.option_sets;
                $body
            }
            ObjectKind::OptionItem => {
                let $t = &$snapshot.options;
                $body
            }
            ObjectKind::DataElement => {
                let $t = &$snapshot.data_elements;
                $body
            }
            ObjectKind::DataElementGroup => {
                let $t = &$snapshot.data_element_groups;
                $body
            }
            ObjectKind::DataSet => {
                let $t = &$snapshot.data_sets;
                $body
            }
            ObjectKind::Section => {
                let $t = &$snapshot.sections;
                $body
            }
        }
    };
}

macro_rules! typed_lookups {
    ($( $(#[$meta:meta])* $resolve:ident, $get:ident, $field:ident, $id:ty, $info:ty; )*) => {
        $(
            $(#[$meta])*
            #[must_use]
            pub fn $resolve(&self, scheme: LookupScheme, identifier: &str) -> Option<$id> {
                self.$field.resolve(scheme, identifier, &self.attributes)
            }

            /// The record of an id (`None` for an id not in this snapshot).
            #[must_use]
            pub fn $get(&self, id: $id) -> Option<&$info> {
                self.$field.get(id)
            }
        )*
    };
}

impl Snapshot {
    /// Builds the snapshot.
    ///
    /// # Errors
    /// [`MetadataError::MissingInternalId`] if an object has no internal id yet;
    /// [`MetadataError::DuplicateInternalId`]; [`MetadataError::UnknownObject`] if a
    /// default object is missing; [`MetadataError::DanglingReference`] for a checked
    /// reference to a missing object; [`MetadataError::HierarchyCycle`];
    /// [`MetadataError::MissingProperty`] for a required field (a merge prevents the last
    /// three).
    pub fn build(set: &MetadataSet) -> Result<Snapshot, MetadataError> {
        build(set)
    }

    /// Ids of the default objects.
    #[must_use]
    pub fn defaults(&self) -> Defaults {
        self.defaults
    }

    /// Resolves an identifier of any kind to its raw internal id.
    #[must_use]
    pub fn resolve(&self, kind: ObjectKind, scheme: LookupScheme, identifier: &str) -> Option<u32> {
        with_table!(self, kind, t => t.resolve(scheme, identifier, &self.attributes).map(TypedId::raw))
    }

    /// The identifier of an object under an output id scheme (`None` when the object
    /// lacks a code or attribute value, or the id is unknown). No allocation.
    #[must_use]
    pub fn identifier(&self, kind: ObjectKind, raw_id: u32, scheme: LookupScheme) -> Option<&str> {
        with_table!(self, kind, t => t.identifier(TypedId::from_raw(raw_id), scheme, &self.attributes))
    }

    /// The identifying fields of an object of any kind.
    #[must_use]
    pub fn common(&self, kind: ObjectKind, raw_id: u32) -> Option<&Common> {
        with_table!(self, kind, t => t.get(TypedId::from_raw(raw_id)).map(Record::common))
    }

    /// Typed id of an object of type `T` by UID.
    #[must_use]
    pub fn id_of<I: TypedId>(&self, uid: Uid) -> Option<I> {
        with_table!(self, I::KIND, t => t.by_uid(uid).map(|i| I::from_raw(i.raw())))
    }

    /// Number of objects of `kind`.
    #[must_use]
    pub fn count(&self, kind: ObjectKind) -> usize {
        with_table!(self, kind, t => t.records.len())
    }

    typed_lookups! {
        /// Resolves a data element identifier.
        data_element_id, data_element, data_elements, DataElementId, DataElementInfo;
        /// Resolves an organisation unit identifier.
        org_unit_id, org_unit, org_units, OrgUnitId, OrgUnitInfo;
        /// Resolves a category option combo identifier (COC or AOC).
        category_option_combo_id, category_option_combo, category_option_combos, CategoryOptionComboId, CategoryOptionComboInfo;
        /// Resolves a data set identifier.
        data_set_id, data_set, data_sets, DataSetId, DataSetInfo;
        /// Resolves a category identifier.
        category_id, category, categories, CategoryId, CategoryInfo;
        /// Resolves a category option identifier.
        category_option_id, category_option, category_options, CategoryOptionId, CategoryOptionInfo;
        /// Resolves a category combo identifier.
        category_combo_id, category_combo, category_combos, CategoryComboId, CategoryComboInfo;
        /// Resolves an organisation unit group identifier.
        org_unit_group_id, org_unit_group, org_unit_groups, OrgUnitGroupId, OrgUnitGroupInfo;
        /// Resolves a data element group identifier.
        data_element_group_id, data_element_group, data_element_groups, DataElementGroupId, DataElementGroupInfo;
        /// Resolves an option set identifier.
        option_set_id, option_set, option_sets, OptionSetId, OptionSetInfo;
        /// Resolves an option identifier.
        option_id, option, options, OptionId, OptionInfo;
        /// Resolves an attribute identifier.
        attribute_id, attribute, attributes, AttributeId, AttributeInfo;
        /// Resolves a section identifier.
        section_id, section, sections, SectionId, SectionInfo;
    }

    /// All data elements, by ascending id.
    pub fn data_elements(&self) -> impl Iterator<Item = (DataElementId, &DataElementInfo)> {
        self.data_elements.iter()
    }

    /// All data sets, by ascending id.
    pub fn data_sets(&self) -> impl Iterator<Item = (DataSetId, &DataSetInfo)> {
        self.data_sets.iter()
    }

    /// All organisation units, by ascending id.
    pub fn org_units(&self) -> impl Iterator<Item = (OrgUnitId, &OrgUnitInfo)> {
        self.org_units.iter()
    }

    /// All category option combos, by ascending id.
    pub fn category_option_combos(
        &self,
    ) -> impl Iterator<Item = (CategoryOptionComboId, &CategoryOptionComboInfo)> {
        self.category_option_combos.iter()
    }

    // ----- data elements -------------------------------------------------------------

    /// The option set of the element's values, for the E7621 check.
    #[must_use]
    pub fn data_element_option_set(&self, id: DataElementId) -> Option<&OptionSetInfo> {
        self.data_element(id)
            .and_then(|d| d.option_set)
            .and_then(|o| self.option_set(o))
    }

    /// The data sets containing `data_element` that are assigned to `org_unit` (O(number of
    /// the element's data sets)).
    pub fn data_sets_for(
        &self,
        data_element: DataElementId,
        org_unit: OrgUnitId,
    ) -> impl Iterator<Item = DataSetId> + '_ {
        self.data_element(data_element)
            .map(|d| &*d.data_sets)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(move |ds| {
                self.data_set(*ds)
                    .is_some_and(|s| s.org_units.contains(&org_unit))
            })
    }

    /// The disaggregation combo of an element within a data set: the data set's override,
    /// else the element's own combo.
    #[must_use]
    pub fn element_category_combo(
        &self,
        data_set: DataSetId,
        data_element: DataElementId,
    ) -> Option<CategoryComboId> {
        let own = self.data_element(data_element)?.category_combo;
        Some(
            self.data_set(data_set)
                .and_then(|s| s.element(data_element))
                .and_then(|e| e.category_combo)
                .unwrap_or(own),
        )
    }

    // ----- organisation units -------------------------------------------------------

    fn ou_pos(&self, id: OrgUnitId) -> Option<usize> {
        self.org_units.index.get(id.raw())
    }

    /// The unit's ancestry, root first and the unit itself last (its length is the level).
    #[must_use]
    pub fn org_unit_ancestry(&self, id: OrgUnitId) -> &[OrgUnitId] {
        let h = &self.hierarchy;
        self.ou_pos(id)
            .and_then(|p| {
                let start = *h.ancestry_start.get(p)? as usize;
                let level = self.org_units.records.get(p)?.level as usize;
                h.ancestry.get(start..start + level)
            })
            .unwrap_or_default()
    }

    /// The DHIS2 path, `/rootUid/.../ownUid` (allocates; for export and data entry).
    #[must_use]
    pub fn org_unit_path(&self, id: OrgUnitId) -> Option<String> {
        let ancestry = self.org_unit_ancestry(id);
        if ancestry.is_empty() {
            return None;
        }
        let mut path = String::with_capacity(ancestry.len() * 12);
        for a in ancestry {
            path.push('/');
            path.push_str(self.org_unit(*a)?.common.uid.as_str());
        }
        Some(path)
    }

    /// Whether `unit` is `root` or one of its descendants (O(1)).
    #[must_use]
    pub fn is_in_subtree(&self, unit: OrgUnitId, root: OrgUnitId) -> bool {
        let h = &self.hierarchy;
        match (self.ou_pos(unit), self.ou_pos(root)) {
            (Some(u), Some(r)) => {
                let (Some(pu), Some(pr), Some(end)) =
                    (h.pre.get(u), h.pre.get(r), h.subtree_end.get(r))
                else {
                    return false;
                };
                pr <= pu && pu < end
            }
            _ => false,
        }
    }

    /// Whether `unit` is in the subtree of any of `roots`.
    #[must_use]
    pub fn is_in_any_subtree(&self, unit: OrgUnitId, roots: &[OrgUnitId]) -> bool {
        roots.iter().any(|r| self.is_in_subtree(unit, *r))
    }

    /// Direct children, by ascending id.
    #[must_use]
    pub fn org_unit_children(&self, id: OrgUnitId) -> &[OrgUnitId] {
        let h = &self.hierarchy;
        self.ou_pos(id)
            .and_then(|p| {
                let start = *h.child_start.get(p)? as usize;
                let end = *h.child_start.get(p + 1)? as usize;
                h.children.get(start..end)
            })
            .unwrap_or_default()
    }

    /// The unit and all its descendants, in preorder (for `children=true` exports).
    #[must_use]
    pub fn org_unit_subtree(&self, id: OrgUnitId) -> &[OrgUnitId] {
        let h = &self.hierarchy;
        self.ou_pos(id)
            .and_then(|p| {
                let start = *h.pre.get(p)? as usize;
                let end = *h.subtree_end.get(p)? as usize;
                h.preorder.get(start..end)
            })
            .unwrap_or_default()
    }

    /// The groups the unit belongs to.
    #[must_use]
    pub fn org_unit_groups_of(&self, id: OrgUnitId) -> &[OrgUnitGroupId] {
        let h = &self.hierarchy;
        self.ou_pos(id)
            .and_then(|p| {
                let start = *h.group_start.get(p)? as usize;
                let end = *h.group_start.get(p + 1)? as usize;
                h.groups.get(start..end)
            })
            .unwrap_or_default()
    }

    /// The members of a group.
    #[must_use]
    pub fn org_unit_group_members(&self, id: OrgUnitGroupId) -> &[OrgUnitId] {
        self.org_unit_group(id)
            .map(|g| &*g.members)
            .unwrap_or_default()
    }

    // ----- categories ----------------------------------------------------------------

    /// The category option combo of `combo` made of exactly `options` (any order): the
    /// AOC lookup for `cc`+`cp` and for ADX category attributes. Allocation-free for up to
    /// 15 options.
    #[must_use]
    pub fn option_combo_for(
        &self,
        combo: CategoryComboId,
        options: &[CategoryOptionId],
    ) -> Option<CategoryOptionComboId> {
        let n = options.len() + 1;
        if n <= 16 {
            let mut key = [0u32; 16];
            key[0] = combo.raw();
            for (slot, o) in key[1..n].iter_mut().zip(options) {
                *slot = o.raw();
            }
            key[1..n].sort_unstable();
            self.combinations.get(&key[..n]).copied()
        } else {
            let mut key: Vec<u32> = std::iter::once(combo.raw())
                .chain(options.iter().map(|o| o.raw()))
                .collect();
            key[1..].sort_unstable();
            self.combinations.get(&key[..]).copied()
        }
    }

    /// Whether the category option allows data for `org_unit` (no restriction, or the
    /// unit is within one of its units).
    #[must_use]
    pub fn category_option_allows_org_unit(
        &self,
        option: CategoryOptionId,
        org_unit: OrgUnitId,
    ) -> bool {
        self.category_option(option).is_some_and(|o| {
            o.org_units.is_empty() || self.is_in_any_subtree(org_unit, &o.org_units)
        })
    }

    /// Whether every option of the option combo allows data for `org_unit` (E7639).
    #[must_use]
    pub fn option_combo_allows_org_unit(
        &self,
        combo: CategoryOptionComboId,
        org_unit: OrgUnitId,
    ) -> bool {
        self.category_option_combo(combo).is_some_and(|c| {
            c.options
                .iter()
                .all(|o| self.category_option_allows_org_unit(*o, org_unit))
        })
    }
}

// ----- building ------------------------------------------------------------------------

/// Objects of one type sorted by internal id, with the typed id table skeleton.
fn skeleton<T: MetadataType, I: TypedId, R>(
    set: &MetadataSet,
) -> Result<(Table<I, R>, Vec<&T>), MetadataError> {
    let mut rows: Vec<(u32, &T)> = Vec::with_capacity(T::map(set).len());
    for stored in T::map(set).values() {
        let id = stored.internal_id.ok_or(MetadataError::MissingInternalId {
            kind: T::KIND,
            uid: stored.object.uid(),
        })?;
        rows.push((id, &stored.object));
    }
    rows.sort_by_key(|(id, _)| *id);
    for pair in rows.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(MetadataError::DuplicateInternalId {
                kind: T::KIND,
                id: pair[0].0,
                first: pair[0].1.uid(),
                second: pair[1].1.uid(),
            });
        }
    }
    let raw: Vec<u32> = rows.iter().map(|(id, _)| *id).collect();
    let table = Table {
        ids: raw.iter().map(|r| I::from_raw(*r)).collect(),
        records: Vec::with_capacity(rows.len()),
        index: IdIndex::new(&raw),
        by_uid: rows
            .iter()
            .enumerate()
            .map(|(pos, (_, o))| (o.uid(), pos as u32))
            .collect(),
        by_code: HashMap::new(),
        by_name: HashMap::new(),
        by_attribute: HashMap::new(),
    };
    Ok((table, rows.into_iter().map(|(_, o)| o).collect()))
}

/// Resolves references of one object against the tables built so far.
struct Refs<'a, T: Identifiable> {
    object: &'a T,
}

impl<T: Identifiable> Refs<'_, T> {
    fn one<I: TypedId, R>(
        &self,
        table: &Table<I, R>,
        property: &'static str,
        r: Ref,
    ) -> Result<I, MetadataError> {
        table
            .by_uid
            .get(&r.id)
            .and_then(|p| table.ids.get(*p as usize).copied())
            .ok_or(MetadataError::DanglingReference {
                kind: T::KIND,
                uid: self.object.uid(),
                property,
                target_kind: I::KIND,
                target: r.id,
            })
    }

    fn opt<I: TypedId, R>(
        &self,
        table: &Table<I, R>,
        property: &'static str,
        r: Option<Ref>,
    ) -> Result<Option<I>, MetadataError> {
        r.map(|r| self.one(table, property, r)).transpose()
    }

    fn all<I: TypedId, R>(
        &self,
        table: &Table<I, R>,
        property: &'static str,
        refs: &[Ref],
    ) -> Result<Box<[I]>, MetadataError> {
        refs.iter().map(|r| self.one(table, property, *r)).collect()
    }

    fn required<V: Clone>(
        &self,
        property: &'static str,
        v: Option<&V>,
    ) -> Result<V, MetadataError> {
        v.cloned().ok_or(MetadataError::MissingProperty {
            kind: T::KIND,
            uid: self.object.uid(),
            property,
        })
    }

    fn invalid(&self, property: &'static str, value: &str) -> MetadataError {
        MetadataError::InvalidProperty {
            kind: T::KIND,
            uid: self.object.uid(),
            property,
            value: value.to_owned(),
        }
    }

    fn common(&self, attributes: &AttributeTable) -> Result<Common, MetadataError> {
        let o = self.object;
        let attribute_values = o
            .attribute_values()
            .iter()
            .map(|v| {
                Ok((
                    self.one(attributes, "attributeValues", v.attribute)?,
                    Arc::<str>::from(v.value.as_str()),
                ))
            })
            .collect::<Result<Box<[_]>, MetadataError>>()?;
        let name: Arc<str> = Arc::from(o.name().unwrap_or_default());
        // Short names usually equal names: share the allocation.
        let short_name = o.short_name().map(|s| {
            if s == &*name {
                name.clone()
            } else {
                Arc::from(s)
            }
        });
        Ok(Common {
            uid: o.uid(),
            code: o.code().map(Arc::from),
            name,
            short_name,
            attribute_values,
        })
    }
}

fn refs<T: Identifiable>(object: &T) -> Refs<'_, T> {
    Refs { object }
}

fn date(text: Option<&str>) -> Option<Date> {
    text.and_then(parse_dhis2_date)
}

fn arc(text: Option<&str>) -> Option<Arc<str>> {
    text.map(Arc::from)
}

#[allow(clippy::too_many_lines)]
fn build(set: &MetadataSet) -> Result<Snapshot, MetadataError> {
    let (mut attributes, attribute_rows) = skeleton::<Attribute, AttributeId, AttributeInfo>(set)?;
    for a in &attribute_rows {
        let r = refs(*a);
        // An attribute's own attribute values would reference the table being built;
        // DHIS2 has no attributes of attributes, so they are dropped.
        let common = Common {
            uid: a.id,
            code: arc(a.code.as_deref()),
            name: Arc::from(a.name.as_deref().unwrap_or_default()),
            short_name: arc(a.short_name.as_deref()),
            attribute_values: Box::default(),
        };
        let applies = ObjectKind::ALL
            .iter()
            .filter(|k| a.applies_to(**k))
            .fold(0u16, |acc, k| acc | kind_bit(*k));
        attributes.records.push(AttributeInfo {
            common,
            value_type: Arc::from(r.required("valueType", a.value_type.as_ref())?.as_str()),
            unique: a.unique,
            applies,
        });
    }
    let attribute_ids = attributes.ids.clone();
    let attribute_infos = attributes.records.clone();
    attributes.index_identifiers(ObjectKind::Attribute, &attribute_infos, &attribute_ids);

    let (mut org_units, ou_rows) = skeleton::<OrganisationUnit, OrgUnitId, OrgUnitInfo>(set)?;
    let (mut org_unit_groups, oug_rows) =
        skeleton::<OrganisationUnitGroup, OrgUnitGroupId, OrgUnitGroupInfo>(set)?;
    let (mut category_options, co_rows) =
        skeleton::<CategoryOption, CategoryOptionId, CategoryOptionInfo>(set)?;
    let (mut categories, cat_rows) = skeleton::<Category, CategoryId, CategoryInfo>(set)?;
    let (mut category_combos, cc_rows) =
        skeleton::<CategoryCombo, CategoryComboId, CategoryComboInfo>(set)?;
    let (mut category_option_combos, coc_rows) =
        skeleton::<CategoryOptionCombo, CategoryOptionComboId, CategoryOptionComboInfo>(set)?;
    let (mut option_sets, os_rows) = skeleton::<OptionSet, OptionSetId, OptionSetInfo>(set)?;
    let (mut options, opt_rows) = skeleton::<OptionItem, OptionId, OptionInfo>(set)?;
    let (mut data_elements, de_rows) =
        skeleton::<DataElement, DataElementId, DataElementInfo>(set)?;
    let (mut data_element_groups, deg_rows) =
        skeleton::<DataElementGroup, DataElementGroupId, DataElementGroupInfo>(set)?;
    let (mut data_sets, ds_rows) = skeleton::<DataSet, DataSetId, DataSetInfo>(set)?;
    let (mut sections, sec_rows) = skeleton::<Section, SectionId, SectionInfo>(set)?;

    let d = DefaultUids::get();
    let missing = |kind, uid| MetadataError::UnknownObject { kind, uid };
    let defaults = Defaults {
        category_combo: category_combos
            .by_uid(d.category_combo)
            .ok_or(missing(ObjectKind::CategoryCombo, d.category_combo))?,
        category: categories
            .by_uid(d.category)
            .ok_or(missing(ObjectKind::Category, d.category))?,
        category_option: category_options
            .by_uid(d.category_option)
            .ok_or(missing(ObjectKind::CategoryOption, d.category_option))?,
        category_option_combo: category_option_combos
            .by_uid(d.category_option_combo)
            .ok_or(missing(
                ObjectKind::CategoryOptionCombo,
                d.category_option_combo,
            ))?,
    };

    // Organisation units and the hierarchy.
    for o in &ou_rows {
        let r = refs(*o);
        org_units.records.push(OrgUnitInfo {
            common: r.common(&attributes)?,
            parent: r.opt(&org_units, "parent", o.parent)?,
            level: 0,
            opening_date: date(o.opening_date.as_deref()),
            closed_date: date(o.closed_date.as_deref()),
        });
    }
    for g in &oug_rows {
        let r = refs(*g);
        org_unit_groups.records.push(OrgUnitGroupInfo {
            common: r.common(&attributes)?,
            members: r.all(&org_units, "organisationUnits", &g.organisation_units)?,
        });
    }
    let hierarchy = build_hierarchy(&mut org_units, &org_unit_groups)?;

    // Categories.
    for o in &co_rows {
        let r = refs(*o);
        category_options.records.push(CategoryOptionInfo {
            common: r.common(&attributes)?,
            start_date: date(o.start_date.as_deref()),
            end_date: date(o.end_date.as_deref()),
            org_units: r.all(&org_units, "organisationUnits", &o.organisation_units)?,
        });
    }
    for c in &cat_rows {
        let r = refs(*c);
        categories.records.push(CategoryInfo {
            common: r.common(&attributes)?,
            options: r.all(&category_options, "categoryOptions", &c.category_options)?,
            data_dimension_type: c.data_dimension_type.unwrap_or_default(),
        });
    }
    for c in &coc_rows {
        let r = refs(*c);
        let category_combo = r.one(
            &category_combos,
            "categoryCombo",
            r.required("categoryCombo", c.category_combo.as_ref())?,
        )?;
        let opts = r.all(&category_options, "categoryOptions", &c.category_options)?;
        let start_date = opts
            .iter()
            .filter_map(|o| category_options.get(*o).and_then(|i| i.start_date))
            .max();
        let end_date = opts
            .iter()
            .filter_map(|o| category_options.get(*o).and_then(|i| i.end_date))
            .min();
        category_option_combos
            .records
            .push(CategoryOptionComboInfo {
                common: r.common(&attributes)?,
                category_combo,
                options: opts,
                start_date,
                end_date,
                ignore_approval: c.ignore_approval,
            });
    }
    let mut combinations: HashMap<Box<[u32]>, CategoryOptionComboId> = HashMap::new();
    let mut combo_cocs: HashMap<CategoryComboId, Vec<CategoryOptionComboId>> = HashMap::new();
    for (id, c) in category_option_combos.iter() {
        let mut key: Vec<u32> = Vec::with_capacity(c.options.len() + 1);
        key.push(c.category_combo.raw());
        let mut opts: Vec<u32> = c.options.iter().map(|o| o.raw()).collect();
        opts.sort_unstable();
        key.extend(opts);
        combinations.entry(key.into_boxed_slice()).or_insert(id);
        combo_cocs.entry(c.category_combo).or_default().push(id);
    }
    for c in &cc_rows {
        let r = refs(*c);
        let cats = r.all(&categories, "categories", &c.categories)?;
        let id = category_combos
            .by_uid(c.id)
            .ok_or(missing(ObjectKind::CategoryCombo, c.id))?;
        // Order the COCs by the position of their options in the categories.
        let position = |coc: CategoryOptionComboId| -> Vec<usize> {
            let Some(info) = category_option_combos.get(coc) else {
                return Vec::new();
            };
            cats.iter()
                .map(|cat| {
                    categories
                        .get(*cat)
                        .and_then(|ci| ci.options.iter().position(|o| info.options.contains(o)))
                        .unwrap_or(usize::MAX)
                })
                .collect()
        };
        let mut cocs = combo_cocs.remove(&id).unwrap_or_default();
        cocs.sort_by_cached_key(|coc| (position(*coc), *coc));
        category_combos.records.push(CategoryComboInfo {
            common: r.common(&attributes)?,
            categories: cats,
            option_combos: cocs.into_boxed_slice(),
            data_dimension_type: c.data_dimension_type.unwrap_or_default(),
            skip_total: c.skip_total,
            is_default: c.id == d.category_combo,
        });
    }

    // Options.
    for o in &os_rows {
        let r = refs(*o);
        option_sets.records.push(OptionSetInfo {
            common: r.common(&attributes)?,
            value_type: Arc::from(r.required("valueType", o.value_type.as_ref())?.as_str()),
            options: Box::default(),
            codes: HashSet::new(),
        });
    }
    for o in &opt_rows {
        let r = refs(*o);
        // `optionSet` is the non-owner side: an unknown set is ignored, not an error.
        let option_set = o.option_set.and_then(|s| option_sets.by_uid(s.id));
        options.records.push(OptionInfo {
            common: r.common(&attributes)?,
            option_set,
            sort_order: o.sort_order,
        });
    }
    for (pos, o) in os_rows.iter().enumerate() {
        let r = refs(*o);
        let mut members: Vec<OptionId> = r.all(&options, "options", &o.options)?.into_vec();
        let set_id = option_sets.ids[pos];
        let mut extra: Vec<(i32, OptionId)> = options
            .iter()
            .filter(|(id, info)| info.option_set == Some(set_id) && !members.contains(id))
            .map(|(id, info)| (info.sort_order.unwrap_or(i32::MAX), id))
            .collect();
        extra.sort();
        members.extend(extra.into_iter().map(|(_, id)| id));
        let codes = members
            .iter()
            .filter_map(|m| options.get(*m).and_then(|i| i.common.code.clone()))
            .collect();
        if let Some(info) = option_sets.records.get_mut(pos) {
            info.options = members.into_boxed_slice();
            info.codes = codes;
        }
    }

    // Data elements, groups, data sets, sections.
    for o in &de_rows {
        let r = refs(*o);
        let aggregation_type = r.required("aggregationType", o.aggregation_type.as_ref())?;
        let value_type = r.required("valueType", o.value_type.as_ref())?;
        let value_type_enum: ValueType = value_type
            .parse()
            .map_err(|_| r.invalid("valueType", &value_type))?;
        data_elements.records.push(DataElementInfo {
            common: r.common(&attributes)?,
            value_type: Arc::from(value_type_enum.name()),
            value_type_enum,
            domain_type: Arc::from(o.domain_type.as_deref().unwrap_or("AGGREGATE")),
            average_aggregation: matches!(
                aggregation_type.as_str(),
                "AVERAGE" | "AVERAGE_SUM_ORG_UNIT"
            ),
            aggregation_type: Arc::from(aggregation_type.as_str()),
            zero_is_significant: o.zero_is_significant,
            category_combo: r
                .opt(&category_combos, "categoryCombo", o.category_combo)?
                .unwrap_or(defaults.category_combo),
            option_set: r.opt(&option_sets, "optionSet", o.option_set)?,
            comment_option_set: r.opt(&option_sets, "commentOptionSet", o.comment_option_set)?,
            file_options: o.value_type_options.clone(),
            form_name: arc(o.form_name.as_deref()),
            data_sets: Box::default(),
        });
    }
    for g in &deg_rows {
        let r = refs(*g);
        data_element_groups.records.push(DataElementGroupInfo {
            common: r.common(&attributes)?,
            members: r.all(&data_elements, "dataElements", &g.data_elements)?,
        });
    }
    let mut element_sets: Vec<Vec<DataSetId>> = vec![Vec::new(); data_elements.records.len()];
    for (pos, s) in ds_rows.iter().enumerate() {
        let r = refs(*s);
        let mut elements = Vec::with_capacity(s.data_set_elements.len());
        for e in &s.data_set_elements {
            let data_element = r.one(&data_elements, "dataElement", e.data_element)?;
            elements.push(DataSetElementInfo {
                data_element,
                category_combo: r.opt(&category_combos, "categoryCombo", e.category_combo)?,
            });
        }
        elements.sort_by_key(|e| e.data_element);
        elements.dedup_by_key(|e| e.data_element);
        let id = data_sets.ids[pos];
        for e in &elements {
            if let Some(p) = data_elements.index.get(e.data_element.raw())
                && let Some(v) = element_sets.get_mut(p)
            {
                v.push(id);
            }
        }
        let operand = |o: &super::model::DataElementOperand| -> Result<OperandInfo, MetadataError> {
            Ok(OperandInfo {
                data_element: r.one(&data_elements, "dataElement", o.data_element)?,
                category_option_combo: r.opt(
                    &category_option_combos,
                    "categoryOptionCombo",
                    o.category_option_combo,
                )?,
            })
        };
        let period_type = r.required("periodType", s.period_type.as_ref())?;
        let period_type_enum = period_type.parse::<PeriodType>().ok();
        if period_type_enum.is_none() && !period_type.eq_ignore_ascii_case("TwoYearly") {
            return Err(r.invalid("periodType", &period_type));
        }
        data_sets.records.push(DataSetInfo {
            common: r.common(&attributes)?,
            period_type: Arc::from(period_type_enum.map_or("TwoYearly", PeriodType::name)),
            period_type_enum,
            category_combo: r
                .opt(&category_combos, "categoryCombo", s.category_combo)?
                .unwrap_or(defaults.category_combo),
            elements: elements.into_boxed_slice(),
            org_units: r
                .all(&org_units, "organisationUnits", &s.organisation_units)?
                .into_vec()
                .into_iter()
                .collect(),
            expiry_days: s.expiry_days,
            open_future_periods: s.open_future_periods,
            open_periods_after_co_end_date: s.open_periods_after_co_end_date,
            timely_days: s.timely_days,
            data_input_periods: s
                .data_input_periods
                .iter()
                .map(|p| DataInputPeriodInfo {
                    period: Arc::from(p.period.id.as_str()),
                    opening_date: date(p.opening_date.as_deref()),
                    closing_date: date(p.closing_date.as_deref()),
                })
                .collect(),
            compulsory_fields_complete_only: s.compulsory_fields_complete_only,
            compulsory_operands: s
                .compulsory_data_element_operands
                .iter()
                .map(operand)
                .collect::<Result<_, _>>()?,
            sections: Box::default(),
            workflow: s.workflow.map(|w| w.id),
            form_type: arc(s.form_type.as_deref()),
            version: s.version,
        });
    }
    for (pos, sets) in element_sets.into_iter().enumerate() {
        if let Some(info) = data_elements.records.get_mut(pos) {
            info.data_sets = sets.into_boxed_slice();
        }
    }
    let mut set_sections: HashMap<DataSetId, Vec<(i32, SectionId)>> = HashMap::new();
    for (pos, s) in sec_rows.iter().enumerate() {
        let r = refs(*s);
        let data_set = r.one(
            &data_sets,
            "dataSet",
            r.required("dataSet", s.data_set.as_ref())?,
        )?;
        let operand = |o: &super::model::DataElementOperand| -> Result<OperandInfo, MetadataError> {
            Ok(OperandInfo {
                data_element: r.one(&data_elements, "dataElement", o.data_element)?,
                category_option_combo: r.opt(
                    &category_option_combos,
                    "categoryOptionCombo",
                    o.category_option_combo,
                )?,
            })
        };
        set_sections
            .entry(data_set)
            .or_default()
            .push((s.sort_order, sections.ids[pos]));
        sections.records.push(SectionInfo {
            common: r.common(&attributes)?,
            data_set,
            sort_order: s.sort_order,
            data_elements: r.all(&data_elements, "dataElements", &s.data_elements)?,
            greyed_fields: s
                .greyed_fields
                .iter()
                .map(operand)
                .collect::<Result<_, _>>()?,
        });
    }
    for (data_set, mut list) in set_sections {
        list.sort();
        if let Some(p) = data_sets.index.get(data_set.raw())
            && let Some(info) = data_sets.records.get_mut(p)
        {
            info.sections = list.into_iter().map(|(_, s)| s).collect();
        }
    }

    let infos = &attributes.records;
    let ids = &attributes.ids;
    org_units.index_identifiers(ObjectKind::OrganisationUnit, infos, ids);
    org_unit_groups.index_identifiers(ObjectKind::OrganisationUnitGroup, infos, ids);
    category_options.index_identifiers(ObjectKind::CategoryOption, infos, ids);
    categories.index_identifiers(ObjectKind::Category, infos, ids);
    category_combos.index_identifiers(ObjectKind::CategoryCombo, infos, ids);
    category_option_combos.index_identifiers(ObjectKind::CategoryOptionCombo, infos, ids);
    option_sets.index_identifiers(ObjectKind::OptionSet, infos, ids);
    options.index_identifiers(ObjectKind::OptionItem, infos, ids);
    data_elements.index_identifiers(ObjectKind::DataElement, infos, ids);
    data_element_groups.index_identifiers(ObjectKind::DataElementGroup, infos, ids);
    data_sets.index_identifiers(ObjectKind::DataSet, infos, ids);
    sections.index_identifiers(ObjectKind::Section, infos, ids);

    Ok(Snapshot {
        attributes,
        org_units,
        org_unit_groups,
        category_options,
        categories,
        category_combos,
        category_option_combos,
        option_sets,
        options,
        data_elements,
        data_element_groups,
        data_sets,
        sections,
        hierarchy,
        combinations,
        defaults,
    })
}

/// Children lists, preorder ranks, ancestries and levels of the units, and the unit →
/// groups lists.
fn build_hierarchy(
    org_units: &mut Table<OrgUnitId, OrgUnitInfo>,
    groups: &Table<OrgUnitGroupId, OrgUnitGroupInfo>,
) -> Result<Hierarchy, MetadataError> {
    let n = org_units.records.len();
    let pos_of = |id: OrgUnitId| org_units.index.get(id.raw());
    // Children (counting sort by parent position; children keep ascending id order).
    let mut child_start = vec![0u32; n + 1];
    for r in &org_units.records {
        if let Some(p) = r.parent.and_then(pos_of) {
            child_start[p + 1] += 1;
        }
    }
    for i in 0..n {
        child_start[i + 1] += child_start[i];
    }
    let mut fill = child_start.clone();
    let mut children = vec![OrgUnitId(0); child_start[n] as usize];
    for (pos, r) in org_units.records.iter().enumerate() {
        if let Some(p) = r.parent.and_then(pos_of) {
            children[fill[p] as usize] = org_units.ids[pos];
            fill[p] += 1;
        }
    }
    // Preorder walk from the roots, computing levels and ancestries.
    let mut pre = vec![u32::MAX; n];
    let mut subtree_end = vec![0u32; n];
    let mut preorder = Vec::with_capacity(n);
    let mut ancestry_start = vec![0u32; n];
    let mut ancestry: Vec<OrgUnitId> = Vec::with_capacity(n * 4);
    let mut levels = vec![0u32; n];
    // Stack of (position, next child index); a position is entered when pushed.
    let mut stack: Vec<(usize, u32)> = Vec::new();
    for root in 0..n {
        if org_units.records[root].parent.is_some() {
            continue;
        }
        let mut enter = |pos: usize, parent: Option<usize>, preorder: &mut Vec<OrgUnitId>| {
            pre[pos] = preorder.len() as u32;
            preorder.push(org_units.ids[pos]);
            let start = ancestry.len();
            if let Some(p) = parent {
                let ps = ancestry_start[p] as usize;
                let pl = levels[p] as usize;
                ancestry.extend_from_within(ps..ps + pl);
                levels[pos] = levels[p] + 1;
            } else {
                levels[pos] = 1;
            }
            ancestry.push(org_units.ids[pos]);
            ancestry_start[pos] = start as u32;
        };
        enter(root, None, &mut preorder);
        stack.push((root, child_start[root]));
        while let Some(top) = stack.last_mut() {
            let (pos, next) = *top;
            if next < child_start[pos + 1] {
                top.1 += 1;
                let child = children[next as usize];
                let Some(cp) = pos_of(child) else { continue };
                enter(cp, Some(pos), &mut preorder);
                stack.push((cp, child_start[cp]));
            } else {
                subtree_end[pos] = preorder.len() as u32;
                stack.pop();
            }
        }
    }
    if let Some(pos) = pre.iter().position(|p| *p == u32::MAX) {
        return Err(MetadataError::HierarchyCycle {
            uid: org_units.records[pos].common.uid,
        });
    }
    for (r, level) in org_units.records.iter_mut().zip(levels) {
        r.level = level;
    }
    // Unit → groups.
    let mut group_start = vec![0u32; n + 1];
    for g in &groups.records {
        for m in &*g.members {
            if let Some(p) = pos_of(*m) {
                group_start[p + 1] += 1;
            }
        }
    }
    for i in 0..n {
        group_start[i + 1] += group_start[i];
    }
    let mut fill = group_start.clone();
    let mut unit_groups = vec![OrgUnitGroupId(0); group_start[n] as usize];
    for (gpos, g) in groups.records.iter().enumerate() {
        for m in &*g.members {
            if let Some(p) = pos_of(*m) {
                unit_groups[fill[p] as usize] = groups.ids[gpos];
                fill[p] += 1;
            }
        }
    }
    Ok(Hierarchy {
        child_start,
        children,
        pre,
        subtree_end,
        preorder,
        ancestry_start,
        ancestry,
        group_start,
        groups: unit_groups,
    })
}

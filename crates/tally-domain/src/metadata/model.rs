//! The metadata object types, in the JSON shape of DHIS2's `/api/metadata`.
//!
//! Every struct deserializes from a DHIS2 metadata export and serializes back to the same
//! shape, so the store can persist objects as JSON and the data entry endpoints can serve
//! them. Unknown fields are ignored (a full DHIS2 export carries sharing, translations,
//! legend sets and more that tally does not model). References to other objects are
//! [`Ref`]s, written `{"id": "..."}` as DHIS2 does.
//!
//! Fields that DHIS2 requires (such as a data element's `valueType`) are still `Option`s
//! here: a document that omits them must parse, so that the merge can answer with a
//! DHIS2-style `E4000 Missing required property` report instead of a parse error. After a
//! successful merge they are always present.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::uid::Uid;

/// A reference to another metadata object, `{"id": "<uid>"}` in DHIS2 JSON.
///
/// Extra fields that exports sometimes add (`name`, `code`) are ignored: the UID is the
/// identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ref {
    /// UID of the referenced object.
    pub id: Uid,
}

impl From<Uid> for Ref {
    fn from(id: Uid) -> Self {
        Ref { id }
    }
}

/// A period reference inside a data input period, `{"id": "202301"}`. Periods are ISO
/// strings, not UIDs, so this is not a [`Ref`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodRef {
    /// The ISO period, e.g. `202301`.
    pub id: String,
}

/// One value of a metadata attribute on an object: `{"attribute": {"id": ...}, "value": ...}`.
///
/// Values of *unique* attributes are what the `ATTRIBUTE:<uid>` id scheme matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeValue {
    /// The attribute this value belongs to.
    pub attribute: Ref,
    /// The value, always text in DHIS2 JSON.
    #[serde(deserialize_with = "text_value")]
    pub value: String,
}

/// Whether a category (combo) disaggregates data values (`DISAGGREGATION`, the category
/// option combo of a value) or qualifies them (`ATTRIBUTE`, the attribute option combo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataDimensionType {
    /// Used for the category option combo of a data value.
    #[default]
    Disaggregation,
    /// Used for the attribute option combo of a data value.
    Attribute,
}

/// The metadata object types tally models, in the order a merge processes them (an object
/// is always processed after the types it can reference, like DHIS2's import order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// Metadata attributes (`attributes`).
    Attribute,
    /// Organisation units (`organisationUnits`).
    OrganisationUnit,
    /// Organisation unit groups (`organisationUnitGroups`).
    OrganisationUnitGroup,
    /// Category options (`categoryOptions`).
    CategoryOption,
    /// Categories (`categories`).
    Category,
    /// Category combos (`categoryCombos`).
    CategoryCombo,
    /// Category option combos (`categoryOptionCombos`), used both as COC and AOC.
    CategoryOptionCombo,
    /// Option sets (`optionSets`).
    OptionSet,
    /// Options of option sets (`options`).
    OptionItem,
    /// Data elements (`dataElements`).
    DataElement,
    /// Data element groups (`dataElementGroups`).
    DataElementGroup,
    /// Data sets (`dataSets`).
    DataSet,
    /// Data set sections (`sections`).
    Section,
}

impl ObjectKind {
    /// Every kind, in processing order.
    pub const ALL: [ObjectKind; 13] = [
        ObjectKind::Attribute,
        ObjectKind::OrganisationUnit,
        ObjectKind::OrganisationUnitGroup,
        ObjectKind::CategoryOption,
        ObjectKind::Category,
        ObjectKind::CategoryCombo,
        ObjectKind::CategoryOptionCombo,
        ObjectKind::OptionSet,
        ObjectKind::OptionItem,
        ObjectKind::DataElement,
        ObjectKind::DataElementGroup,
        ObjectKind::DataSet,
        ObjectKind::Section,
    ];

    /// The DHIS2 Java class name, used as `klass` in import reports.
    #[must_use]
    pub fn klass(self) -> &'static str {
        match self {
            ObjectKind::Attribute => "org.hisp.dhis.attribute.Attribute",
            ObjectKind::OrganisationUnit => "org.hisp.dhis.organisationunit.OrganisationUnit",
            ObjectKind::OrganisationUnitGroup => {
                "org.hisp.dhis.organisationunit.OrganisationUnitGroup"
            }
            ObjectKind::CategoryOption => "org.hisp.dhis.category.CategoryOption",
            ObjectKind::Category => "org.hisp.dhis.category.Category",
            ObjectKind::CategoryCombo => "org.hisp.dhis.category.CategoryCombo",
            ObjectKind::CategoryOptionCombo => "org.hisp.dhis.category.CategoryOptionCombo",
            ObjectKind::OptionSet => "org.hisp.dhis.option.OptionSet",
            ObjectKind::OptionItem => "org.hisp.dhis.option.Option",
            ObjectKind::DataElement => "org.hisp.dhis.dataelement.DataElement",
            ObjectKind::DataElementGroup => "org.hisp.dhis.dataelement.DataElementGroup",
            ObjectKind::DataSet => "org.hisp.dhis.dataset.DataSet",
            ObjectKind::Section => "org.hisp.dhis.dataset.Section",
        }
    }

    /// The simple class name DHIS2 puts in error messages, e.g. `OrganisationUnit`.
    #[must_use]
    pub fn simple_name(self) -> &'static str {
        let klass = self.klass();
        klass.rsplit('.').next().unwrap_or(klass)
    }

    /// The key of this type's array in a metadata document, e.g. `organisationUnits`.
    #[must_use]
    pub fn collection(self) -> &'static str {
        match self {
            ObjectKind::Attribute => "attributes",
            ObjectKind::OrganisationUnit => "organisationUnits",
            ObjectKind::OrganisationUnitGroup => "organisationUnitGroups",
            ObjectKind::CategoryOption => "categoryOptions",
            ObjectKind::Category => "categories",
            ObjectKind::CategoryCombo => "categoryCombos",
            ObjectKind::CategoryOptionCombo => "categoryOptionCombos",
            ObjectKind::OptionSet => "optionSets",
            ObjectKind::OptionItem => "options",
            ObjectKind::DataElement => "dataElements",
            ObjectKind::DataElementGroup => "dataElementGroups",
            ObjectKind::DataSet => "dataSets",
            ObjectKind::Section => "sections",
        }
    }

    /// The DHIS2 `Attribute.ObjectType` name whose attributes may be set on this kind, or
    /// `None` when DHIS2 has no attribute type for it (category combos): such objects
    /// cannot carry attribute values.
    #[must_use]
    pub fn attribute_object_type(self) -> Option<&'static str> {
        match self {
            ObjectKind::Attribute | ObjectKind::CategoryCombo => None,
            ObjectKind::OrganisationUnit => Some("ORGANISATION_UNIT"),
            ObjectKind::OrganisationUnitGroup => Some("ORGANISATION_UNIT_GROUP"),
            ObjectKind::CategoryOption => Some("CATEGORY_OPTION"),
            ObjectKind::Category => Some("CATEGORY"),
            ObjectKind::CategoryOptionCombo => Some("CATEGORY_OPTION_COMBO"),
            ObjectKind::OptionSet => Some("OPTION_SET"),
            ObjectKind::OptionItem => Some("OPTION"),
            ObjectKind::DataElement => Some("DATA_ELEMENT"),
            ObjectKind::DataElementGroup => Some("DATA_ELEMENT_GROUP"),
            ObjectKind::DataSet => Some("DATA_SET"),
            ObjectKind::Section => Some("SECTION"),
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.simple_name())
    }
}

/// Access to the fields every identifiable DHIS2 object has. Implemented by every object
/// struct, so merge and snapshot code can treat them uniformly.
pub trait Identifiable {
    /// The object type.
    const KIND: ObjectKind;
    /// The UID.
    fn uid(&self) -> Uid;
    /// The code, if any.
    fn code(&self) -> Option<&str>;
    /// The name, if any (required for every kind except category option combos).
    fn name(&self) -> Option<&str>;
    /// The short name, if any.
    fn short_name(&self) -> Option<&str>;
    /// The attribute values.
    fn attribute_values(&self) -> &[AttributeValue];
    /// Every owned reference of the object as (target kind, JSON property, UID), in
    /// document order. Attribute values are not included (see
    /// [`Identifiable::attribute_values`]). Only references DHIS2 checks on import (owner
    /// side of an association) are listed.
    fn references(&self) -> Vec<(ObjectKind, &'static str, Uid)>;
}

/// Defines a metadata struct with the identifiable fields every DHIS2 object has, plus its
/// own fields, and implements [`Identifiable`] for it.
macro_rules! identifiable {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($kind:ident) {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
        references($this:ident) $refs:block
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The DHIS2 UID: the identity a merge creates and updates by.
            pub id: Uid,
            /// Business code, unique per object type; what the CODE id scheme matches.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub code: Option<String>,
            /// Name; what the NAME id scheme matches.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub name: Option<String>,
            /// Short name, shown in narrow places such as data entry headers.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub short_name: Option<String>,
            /// Creation timestamp as DHIS2 wrote it (kept as text, not interpreted).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub created: Option<String>,
            /// Last update timestamp as DHIS2 wrote it (kept as text, not interpreted).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub last_updated: Option<String>,
            /// Values of metadata attributes (the ATTRIBUTE id scheme matches unique ones).
            #[serde(default, deserialize_with = "null_default")]
            pub attribute_values: Vec<AttributeValue>,
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Identifiable for $name {
            const KIND: ObjectKind = ObjectKind::$kind;
            fn uid(&self) -> Uid {
                self.id
            }
            fn code(&self) -> Option<&str> {
                self.code.as_deref()
            }
            fn name(&self) -> Option<&str> {
                self.name.as_deref()
            }
            fn short_name(&self) -> Option<&str> {
                self.short_name.as_deref()
            }
            fn attribute_values(&self) -> &[AttributeValue] {
                &self.attribute_values
            }
            fn references(&self) -> Vec<(ObjectKind, &'static str, Uid)> {
                let $this = self;
                $refs
            }
        }
    };
}

/// Appends `(kind, property, uid)` for an optional reference.
fn push_opt(
    out: &mut Vec<(ObjectKind, &'static str, Uid)>,
    kind: ObjectKind,
    property: &'static str,
    r: Option<&Ref>,
) {
    if let Some(r) = r {
        out.push((kind, property, r.id));
    }
}

/// Appends `(kind, property, uid)` for every reference of a collection.
fn push_all(
    out: &mut Vec<(ObjectKind, &'static str, Uid)>,
    kind: ObjectKind,
    property: &'static str,
    refs: &[Ref],
) {
    out.extend(refs.iter().map(|r| (kind, property, r.id)));
}

identifiable! {
    /// A metadata attribute: a custom field that can be set on the object types it is
    /// enabled for. Unique attributes can serve as identifiers (`ATTRIBUTE:<uid>` scheme).
    pub struct Attribute (Attribute) {
        /// The value type of the attribute's values (a DHIS2 `ValueType` name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub value_type: Option<String>,
        /// Whether values must be unique per object type. Only unique attributes can be
        /// used as an id scheme.
        #[serde(default, deserialize_with = "null_default")]
        pub unique: bool,
        /// Whether every object of an enabled type must have a value (not enforced).
        #[serde(default, deserialize_with = "null_default")]
        pub mandatory: bool,
        /// DHIS2 2.38+ list of enabled object types (`DATA_ELEMENT`, ...). Either this or
        /// the per-type flags below enable the attribute for a type.
        #[serde(default, deserialize_with = "null_default")]
        pub object_types: Vec<String>,
        /// Enabled for data elements.
        #[serde(default, deserialize_with = "null_default")]
        pub data_element_attribute: bool,
        /// Enabled for data element groups.
        #[serde(default, deserialize_with = "null_default")]
        pub data_element_group_attribute: bool,
        /// Enabled for organisation units.
        #[serde(default, deserialize_with = "null_default")]
        pub organisation_unit_attribute: bool,
        /// Enabled for organisation unit groups.
        #[serde(default, deserialize_with = "null_default")]
        pub organisation_unit_group_attribute: bool,
        /// Enabled for data sets.
        #[serde(default, deserialize_with = "null_default")]
        pub data_set_attribute: bool,
        /// Enabled for sections.
        #[serde(default, deserialize_with = "null_default")]
        pub section_attribute: bool,
        /// Enabled for categories.
        #[serde(default, deserialize_with = "null_default")]
        pub category_attribute: bool,
        /// Enabled for category options.
        #[serde(default, deserialize_with = "null_default")]
        pub category_option_attribute: bool,
        /// Enabled for category option combos.
        #[serde(default, deserialize_with = "null_default")]
        pub category_option_combo_attribute: bool,
        /// Enabled for option sets.
        #[serde(default, deserialize_with = "null_default")]
        pub option_set_attribute: bool,
        /// Enabled for options.
        #[serde(default, deserialize_with = "null_default")]
        pub option_attribute: bool,
    }
    references(_this) { Vec::new() }
}

impl Attribute {
    /// Whether values of this attribute may be set on objects of `kind`, by flag or by
    /// `objectTypes`.
    #[must_use]
    pub fn applies_to(&self, kind: ObjectKind) -> bool {
        let flag = match kind {
            ObjectKind::Attribute | ObjectKind::CategoryCombo => false,
            ObjectKind::OrganisationUnit => self.organisation_unit_attribute,
            ObjectKind::OrganisationUnitGroup => self.organisation_unit_group_attribute,
            ObjectKind::CategoryOption => self.category_option_attribute,
            ObjectKind::Category => self.category_attribute,
            ObjectKind::CategoryOptionCombo => self.category_option_combo_attribute,
            ObjectKind::OptionSet => self.option_set_attribute,
            ObjectKind::OptionItem => self.option_attribute,
            ObjectKind::DataElement => self.data_element_attribute,
            ObjectKind::DataElementGroup => self.data_element_group_attribute,
            ObjectKind::DataSet => self.data_set_attribute,
            ObjectKind::Section => self.section_attribute,
        };
        flag || kind
            .attribute_object_type()
            .is_some_and(|t| self.object_types.iter().any(|o| o == t))
    }
}

identifiable! {
    /// An organisation unit: a node of the reporting hierarchy (country, district,
    /// facility...). `path` and `level` are derived from the parents by the merge.
    pub struct OrganisationUnit (OrganisationUnit) {
        /// The parent unit; `None` for a root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub parent: Option<Ref>,
        /// `/rootUid/.../ownUid`. Derived by the merge; a value in the document is replaced.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub path: Option<String>,
        /// Depth in the hierarchy, 1 for a root. Derived by the merge.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_opt_u32")]
        pub level: Option<u32>,
        /// Date the unit opened (`yyyy-MM-dd` with an optional time part). Required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub opening_date: Option<String>,
        /// Date the unit closed, if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub closed_date: Option<String>,
        /// Free text description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }
    references(this) {
        let mut out = Vec::new();
        push_opt(&mut out, ObjectKind::OrganisationUnit, "parent", this.parent.as_ref());
        out
    }
}

identifiable! {
    /// A group of organisation units (e.g. "CHC"), used to select units for export.
    pub struct OrganisationUnitGroup (OrganisationUnitGroup) {
        /// The member units.
        #[serde(default, deserialize_with = "null_default")]
        pub organisation_units: Vec<Ref>,
    }
    references(this) {
        let mut out = Vec::new();
        push_all(&mut out, ObjectKind::OrganisationUnit, "organisationUnits", &this.organisation_units);
        out
    }
}

identifiable! {
    /// A category option, such as "Female" or a funding mechanism. As part of an attribute
    /// option combo it can restrict the dates and org units data may be entered for.
    pub struct CategoryOption (CategoryOption) {
        /// First day data may be entered for (date part used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub start_date: Option<String>,
        /// Last day data may be entered for (date part used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub end_date: Option<String>,
        /// If not empty, data may only be entered for these units and their descendants.
        #[serde(default, deserialize_with = "null_default")]
        pub organisation_units: Vec<Ref>,
        /// Label used in data entry forms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub form_name: Option<String>,
    }
    references(this) {
        let mut out = Vec::new();
        push_all(&mut out, ObjectKind::OrganisationUnit, "organisationUnits", &this.organisation_units);
        out
    }
}

identifiable! {
    /// A category: an ordered list of options, one of which each data value selects
    /// (e.g. "Sex" with Female and Male).
    pub struct Category (Category) {
        /// The options, in display order.
        #[serde(default, deserialize_with = "null_default")]
        pub category_options: Vec<Ref>,
        /// Disaggregation or attribute category.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_dimension_type: Option<DataDimensionType>,
        /// Whether analytics offers the category as a dimension (kept, not used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_dimension: Option<bool>,
    }
    references(this) {
        let mut out = Vec::new();
        push_all(&mut out, ObjectKind::CategoryOption, "categoryOptions", &this.category_options);
        out
    }
}

identifiable! {
    /// A category combo: the categories whose option combinations (category option
    /// combos) disaggregate a data element or qualify a data set's values.
    pub struct CategoryCombo (CategoryCombo) {
        /// The categories, in order (the order of option names in generated COC names).
        #[serde(default, deserialize_with = "null_default")]
        pub categories: Vec<Ref>,
        /// Disaggregation (data element combos) or attribute (data set combos).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_dimension_type: Option<DataDimensionType>,
        /// Whether forms hide the totals of this combo (kept for data entry).
        #[serde(default, deserialize_with = "null_default")]
        pub skip_total: bool,
    }
    references(this) {
        let mut out = Vec::new();
        push_all(&mut out, ObjectKind::Category, "categories", &this.categories);
        out
    }
}

identifiable! {
    /// A category option combo: one option of each category of a combo. It is the COC
    /// (disaggregation) or the AOC (attribute) of data values.
    pub struct CategoryOptionCombo (CategoryOptionCombo) {
        /// The combo this is a combination of. Required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub category_combo: Option<Ref>,
        /// One option from each category of the combo.
        #[serde(default, deserialize_with = "null_default")]
        pub category_options: Vec<Ref>,
        /// Whether approval skips this combination (kept, not used).
        #[serde(default, deserialize_with = "null_default")]
        pub ignore_approval: bool,
    }
    references(this) {
        let mut out = Vec::new();
        push_opt(&mut out, ObjectKind::CategoryCombo, "categoryCombo", this.category_combo.as_ref());
        push_all(&mut out, ObjectKind::CategoryOption, "categoryOptions", &this.category_options);
        out
    }
}

identifiable! {
    /// An option set: the closed list of codes a data element's values must come from.
    pub struct OptionSet (OptionSet) {
        /// Value type of the codes (a DHIS2 `ValueType` name). Required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub value_type: Option<String>,
        /// The options, in display order.
        #[serde(default, deserialize_with = "null_default")]
        pub options: Vec<Ref>,
        /// Version, bumped by DHIS2 on change (kept for clients' caches).
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_opt_i32")]
        pub version: Option<i32>,
    }
    references(this) {
        let mut out = Vec::new();
        push_all(&mut out, ObjectKind::OptionItem, "options", &this.options);
        out
    }
}

identifiable! {
    /// An option of an option set (DHIS2's `Option`). Its `code` is the stored value.
    pub struct OptionItem (OptionItem) {
        /// The set the option belongs to (the inverse of `OptionSet.options`; not checked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub option_set: Option<Ref>,
        /// Position within the set.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_opt_i32")]
        pub sort_order: Option<i32>,
    }
    references(_this) { Vec::new() }
}

/// File constraints of a FILE_RESOURCE or IMAGE data element (DHIS2
/// `FileTypeValueOptions`, property `valueTypeOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileTypeValueOptions {
    /// Largest accepted file, in bytes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub max_file_size: Option<u64>,
    /// Accepted MIME types; empty means any.
    #[serde(default, deserialize_with = "null_default")]
    pub allowed_content_types: Vec<String>,
}

identifiable! {
    /// A data element: what a data value is a value of.
    pub struct DataElement (DataElement) {
        /// DHIS2 `ValueType` name (`NUMBER`, `INTEGER_ZERO_OR_POSITIVE`, ...). Required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub value_type: Option<String>,
        /// `AGGREGATE` or `TRACKER`. Required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub domain_type: Option<String>,
        /// DHIS2 `AggregationType` name (`SUM`, `AVERAGE`, ...). Required. Averages make
        /// zeros significant on import.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub aggregation_type: Option<String>,
        /// Whether zero values are stored (otherwise a zero deletes / is ignored).
        #[serde(default, deserialize_with = "null_default")]
        pub zero_is_significant: bool,
        /// Option set the values must come from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub option_set: Option<Ref>,
        /// Option set comments must come from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub comment_option_set: Option<Ref>,
        /// Disaggregation combo; the default combo when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub category_combo: Option<Ref>,
        /// File constraints for FILE_RESOURCE / IMAGE elements.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub value_type_options: Option<FileTypeValueOptions>,
        /// Label used in data entry forms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub form_name: Option<String>,
        /// Free text description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }
    references(this) {
        let mut out = Vec::new();
        push_opt(&mut out, ObjectKind::CategoryCombo, "categoryCombo", this.category_combo.as_ref());
        push_opt(&mut out, ObjectKind::OptionSet, "optionSet", this.option_set.as_ref());
        push_opt(&mut out, ObjectKind::OptionSet, "commentOptionSet", this.comment_option_set.as_ref());
        out
    }
}

identifiable! {
    /// A group of data elements, used to select elements for export.
    pub struct DataElementGroup (DataElementGroup) {
        /// The member elements.
        #[serde(default, deserialize_with = "null_default")]
        pub data_elements: Vec<Ref>,
    }
    references(this) {
        let mut out = Vec::new();
        push_all(&mut out, ObjectKind::DataElement, "dataElements", &this.data_elements);
        out
    }
}

/// A data element's membership in a data set, optionally with a different
/// disaggregation combo than the element's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSetElement {
    /// The element.
    pub data_element: Ref,
    /// Combo override for this data set; the element's own combo when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_combo: Option<Ref>,
    /// Back reference DHIS2 exports write; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_set: Option<Ref>,
}

/// A (data element, category option combo) pair: a compulsory field or a greyed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataElementOperand {
    /// The element.
    pub data_element: Ref,
    /// The COC; all COCs of the element when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_option_combo: Option<Ref>,
}

/// A period for which a data set accepts input, optionally only between two dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataInputPeriod {
    /// The period (ISO).
    pub period: PeriodRef,
    /// First day input is open; open since always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_date: Option<String>,
    /// Last day input is open (inclusive, date only); open forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_date: Option<String>,
}

identifiable! {
    /// A data set: a form of data elements reported for a period type by the org units it
    /// is assigned to. Its combo gives the attribute option combos of its values; its
    /// locking settings drive the import's E7640–E7644 checks.
    pub struct DataSet (DataSet) {
        /// DHIS2 period type name (`Monthly`, ...). Required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub period_type: Option<String>,
        /// Attribute combo; the default combo when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub category_combo: Option<Ref>,
        /// The member elements.
        #[serde(default, deserialize_with = "null_default")]
        pub data_set_elements: Vec<DataSetElement>,
        /// The org units that report the set.
        #[serde(default, deserialize_with = "null_default")]
        pub organisation_units: Vec<Ref>,
        /// Days after the period end until the set locks; 0 never locks.
        #[serde(default, deserialize_with = "lenient_i32")]
        pub expiry_days: i32,
        /// Number of future periods open for entry (see spec §4.5).
        #[serde(default, deserialize_with = "lenient_i32")]
        pub open_future_periods: i32,
        /// Periods a category option stays open after its end date.
        #[serde(default, deserialize_with = "lenient_i32")]
        pub open_periods_after_co_end_date: i32,
        /// Periods open for input with their opening windows; none means always open.
        #[serde(default, deserialize_with = "null_default")]
        pub data_input_periods: Vec<DataInputPeriod>,
        /// Days after the period end a report still counts as timely.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_opt_i32")]
        pub timely_days: Option<i32>,
        /// Completion requires all compulsory operands to be filled.
        #[serde(default, deserialize_with = "null_default")]
        pub compulsory_fields_complete_only: bool,
        /// The compulsory fields.
        #[serde(default, deserialize_with = "null_default")]
        pub compulsory_data_element_operands: Vec<DataElementOperand>,
        /// Sections (owned by `Section.dataSet`; not checked).
        #[serde(default, deserialize_with = "null_default")]
        pub sections: Vec<Ref>,
        /// Indicators shown on the form (not modelled; kept, not checked).
        #[serde(default, deserialize_with = "null_default")]
        pub indicators: Vec<Ref>,
        /// Approval workflow (not modelled; kept, not checked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub workflow: Option<Ref>,
        /// Custom form (not modelled; kept, not checked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_entry_form: Option<Ref>,
        /// `DEFAULT`, `SECTION`, `CUSTOM` or `SECTION_MULTIORG`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub form_type: Option<String>,
        /// Version, bumped on change (clients cache forms by it).
        #[serde(default, deserialize_with = "lenient_i32")]
        pub version: i32,
        /// Completion only when validation passes.
        #[serde(default, deserialize_with = "null_default")]
        pub valid_complete_only: bool,
        /// Empty values need a comment.
        #[serde(default, deserialize_with = "null_default")]
        pub no_value_requires_comment: bool,
        /// All fields of a data element must be filled together.
        #[serde(default, deserialize_with = "null_default")]
        pub field_combination_required: bool,
        /// Offline data entry skips the set.
        #[serde(default, deserialize_with = "null_default")]
        pub skip_offline: bool,
        /// Available to mobile clients.
        #[serde(default, deserialize_with = "null_default")]
        pub mobile: bool,
        /// Sections rendered as tabs.
        #[serde(default, deserialize_with = "null_default")]
        pub render_as_tabs: bool,
        /// Sections rendered side by side.
        #[serde(default, deserialize_with = "null_default")]
        pub render_horizontally: bool,
        /// Show element descriptions in the form.
        #[serde(default, deserialize_with = "null_default")]
        pub data_element_decoration: bool,
        /// Notify the completing user.
        #[serde(default, deserialize_with = "null_default")]
        pub notify_completing_user: bool,
        /// Free text description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }
    references(this) {
        let mut out = Vec::new();
        push_opt(&mut out, ObjectKind::CategoryCombo, "categoryCombo", this.category_combo.as_ref());
        for e in &this.data_set_elements {
            out.push((ObjectKind::DataElement, "dataElement", e.data_element.id));
            push_opt(&mut out, ObjectKind::CategoryCombo, "categoryCombo", e.category_combo.as_ref());
        }
        push_all(&mut out, ObjectKind::OrganisationUnit, "organisationUnits", &this.organisation_units);
        for o in &this.compulsory_data_element_operands {
            out.push((ObjectKind::DataElement, "dataElement", o.data_element.id));
            push_opt(&mut out, ObjectKind::CategoryOptionCombo, "categoryOptionCombo", o.category_option_combo.as_ref());
        }
        out
    }
}

identifiable! {
    /// A section of a data set's form: an ordered subset of its elements.
    pub struct Section (Section) {
        /// The data set. Required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_set: Option<Ref>,
        /// Position in the form.
        #[serde(default, deserialize_with = "lenient_i32")]
        pub sort_order: i32,
        /// The elements, in order.
        #[serde(default, deserialize_with = "null_default")]
        pub data_elements: Vec<Ref>,
        /// Fields not open for input.
        #[serde(default, deserialize_with = "null_default")]
        pub greyed_fields: Vec<DataElementOperand>,
        /// Indicators shown in the section (not modelled; not checked).
        #[serde(default, deserialize_with = "null_default")]
        pub indicators: Vec<Ref>,
        /// Show row totals.
        #[serde(default, deserialize_with = "null_default")]
        pub show_row_totals: bool,
        /// Show column totals.
        #[serde(default, deserialize_with = "null_default")]
        pub show_column_totals: bool,
        /// Do not group elements by combo.
        #[serde(default, deserialize_with = "null_default")]
        pub disable_data_element_auto_group: bool,
        /// Free text description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }
    references(this) {
        let mut out = Vec::new();
        push_opt(&mut out, ObjectKind::DataSet, "dataSet", this.data_set.as_ref());
        push_all(&mut out, ObjectKind::DataElement, "dataElements", &this.data_elements);
        for o in &this.greyed_fields {
            out.push((ObjectKind::DataElement, "dataElement", o.data_element.id));
            push_opt(&mut out, ObjectKind::CategoryOptionCombo, "categoryOptionCombo", o.category_option_combo.as_ref());
        }
        out
    }
}

/// Any metadata object. This is the unit the store persists (one row per object, with
/// the store's internal id) and hands back to [`super::MetadataSet::from_stored`].
///
/// Serialized adjacently tagged: `{"kind": "dataElement", "object": {...}}`, the object
/// in its DHIS2 JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "object", rename_all = "camelCase")]
pub enum MetadataObject {
    /// A [`Attribute`].
    Attribute(Attribute),
    /// A [`OrganisationUnit`].
    OrganisationUnit(OrganisationUnit),
    /// A [`OrganisationUnitGroup`].
    OrganisationUnitGroup(OrganisationUnitGroup),
    /// A [`CategoryOption`].
    CategoryOption(CategoryOption),
    /// A [`Category`].
    Category(Category),
    /// A [`CategoryCombo`].
    CategoryCombo(CategoryCombo),
    /// A [`CategoryOptionCombo`].
    CategoryOptionCombo(CategoryOptionCombo),
    /// A [`OptionSet`].
    OptionSet(OptionSet),
    /// A [`OptionItem`].
    OptionItem(OptionItem),
    /// A [`DataElement`].
    DataElement(DataElement),
    /// A [`DataElementGroup`].
    DataElementGroup(DataElementGroup),
    /// A [`DataSet`].
    DataSet(DataSet),
    /// A [`Section`].
    Section(Section),
}

impl MetadataObject {
    /// The object's type.
    #[must_use]
    pub fn kind(&self) -> ObjectKind {
        match self {
            MetadataObject::Attribute(_) => ObjectKind::Attribute,
            MetadataObject::OrganisationUnit(_) => ObjectKind::OrganisationUnit,
            MetadataObject::OrganisationUnitGroup(_) => ObjectKind::OrganisationUnitGroup,
            MetadataObject::CategoryOption(_) => ObjectKind::CategoryOption,
            MetadataObject::Category(_) => ObjectKind::Category,
            MetadataObject::CategoryCombo(_) => ObjectKind::CategoryCombo,
            MetadataObject::CategoryOptionCombo(_) => ObjectKind::CategoryOptionCombo,
            MetadataObject::OptionSet(_) => ObjectKind::OptionSet,
            MetadataObject::OptionItem(_) => ObjectKind::OptionItem,
            MetadataObject::DataElement(_) => ObjectKind::DataElement,
            MetadataObject::DataElementGroup(_) => ObjectKind::DataElementGroup,
            MetadataObject::DataSet(_) => ObjectKind::DataSet,
            MetadataObject::Section(_) => ObjectKind::Section,
        }
    }

    /// The object's UID.
    #[must_use]
    pub fn uid(&self) -> Uid {
        match self {
            MetadataObject::Attribute(o) => o.id,
            MetadataObject::OrganisationUnit(o) => o.id,
            MetadataObject::OrganisationUnitGroup(o) => o.id,
            MetadataObject::CategoryOption(o) => o.id,
            MetadataObject::Category(o) => o.id,
            MetadataObject::CategoryCombo(o) => o.id,
            MetadataObject::CategoryOptionCombo(o) => o.id,
            MetadataObject::OptionSet(o) => o.id,
            MetadataObject::OptionItem(o) => o.id,
            MetadataObject::DataElement(o) => o.id,
            MetadataObject::DataElementGroup(o) => o.id,
            MetadataObject::DataSet(o) => o.id,
            MetadataObject::Section(o) => o.id,
        }
    }
}

/// Parses the date part of a DHIS2 date or timestamp (`2012-01-01`,
/// `2012-01-01T00:00:00.000`, `2012-01-01 00:00:00`). The time of day is ignored because
/// every date rule of the import (opening dates, option dates, input periods) compares
/// whole days.
#[must_use]
pub fn parse_dhis2_date(text: &str) -> Option<jiff::civil::Date> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return None;
    }
    date.parse().ok()
}

/// Deserializes `null` as the type's default (DHIS2 clients sometimes send `null` for
/// empty collections and flags).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A JSON number or numeric string, as integer DHIS2 fields are sometimes written
/// (`15`, `15.0`, `"15"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum LenientNumber {
    Int(i64),
    Float(f64),
    Text(String),
}

impl LenientNumber {
    fn to_i64<E: serde::de::Error>(&self) -> Result<i64, E> {
        match self {
            LenientNumber::Int(i) => Ok(*i),
            LenientNumber::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
            LenientNumber::Float(f) => Err(E::custom(format!("expected an integer, got {f}"))),
            LenientNumber::Text(s) => s
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("expected an integer, got {s:?}"))),
        }
    }
}

fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<LenientNumber>::deserialize(d)?
        .map(|n| n.to_i64::<D::Error>())
        .transpose()
}

fn lenient_i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    Ok(lenient_opt_i32(d)?.unwrap_or_default())
}

fn lenient_opt_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    lenient_opt_i64(d)?
        .map(|v| i32::try_from(v).map_err(|_| serde::de::Error::custom("integer out of range")))
        .transpose()
}

fn lenient_opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    lenient_opt_i64(d)?
        .map(|v| u32::try_from(v).map_err(|_| serde::de::Error::custom("integer out of range")))
        .transpose()
}

fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    lenient_opt_i64(d)?
        .map(|v| u64::try_from(v).map_err(|_| serde::de::Error::custom("integer out of range")))
        .transpose()
}

/// An attribute value as text: DHIS2 writes strings, but hand-written documents may use
/// numbers or booleans.
fn text_value<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(match Scalar::deserialize(d)? {
        Scalar::Text(s) => s,
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Bool(b) => b.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_take_the_day_part() {
        let d = parse_dhis2_date("1970-01-01T00:00:00.000").unwrap();
        assert_eq!(d, jiff::civil::date(1970, 1, 1));
        assert_eq!(
            parse_dhis2_date(" 2012-02-29 "),
            Some(jiff::civil::date(2012, 2, 29))
        );
        assert_eq!(parse_dhis2_date("2012-02-30"), None);
        assert_eq!(parse_dhis2_date("2012-02-3"), None);
        assert_eq!(parse_dhis2_date("2012-02-01X"), None);
    }

    #[test]
    fn simple_names_and_collections() {
        assert_eq!(ObjectKind::DataElement.simple_name(), "DataElement");
        assert_eq!(ObjectKind::OptionItem.simple_name(), "Option");
        assert_eq!(
            ObjectKind::CategoryOptionCombo.collection(),
            "categoryOptionCombos"
        );
    }

    #[test]
    fn lenient_numbers_and_nulls() {
        let ds: DataSet = serde_json::from_str(
            r#"{"id":"pBOMPrpg1QX","name":"x","periodType":"Monthly","expiryDays":"3",
                "timelyDays":15.0,"openFuturePeriods":null,"organisationUnits":null}"#,
        )
        .unwrap();
        assert_eq!(ds.expiry_days, 3);
        assert_eq!(ds.timely_days, Some(15));
        assert_eq!(ds.open_future_periods, 0);
        assert!(ds.organisation_units.is_empty());
        let bad = serde_json::from_str::<DataSet>(r#"{"id":"pBOMPrpg1QX","expiryDays":1.5}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn attribute_applicability_by_flag_or_object_type() {
        let a: Attribute = serde_json::from_str(
            r#"{"id":"uh6H2ff562G","name":"CUSTOM_ID","valueType":"TEXT",
                "dataElementAttribute":true,"objectTypes":["ORGANISATION_UNIT"]}"#,
        )
        .unwrap();
        assert!(a.applies_to(ObjectKind::DataElement));
        assert!(a.applies_to(ObjectKind::OrganisationUnit));
        assert!(!a.applies_to(ObjectKind::DataSet));
        assert!(!a.applies_to(ObjectKind::CategoryCombo));
    }

    #[test]
    fn objects_round_trip_through_the_tagged_form() {
        let de: DataElement = serde_json::from_str(
            r#"{"id":"f7n9E0hX8qk","name":"Measles","valueType":"NUMBER",
                "attributeValues":[{"attribute":{"id":"uh6H2ff562G"},"value":1}]}"#,
        )
        .unwrap();
        assert_eq!(de.attribute_values[0].value, "1");
        let obj = MetadataObject::DataElement(de);
        let json = serde_json::to_string(&obj).unwrap();
        assert!(json.starts_with(r#"{"kind":"dataElement","object":{"id":"f7n9E0hX8qk""#));
        let back: MetadataObject = serde_json::from_str(&json).unwrap();
        assert_eq!(back, obj);
        assert_eq!(back.kind(), ObjectKind::DataElement);
    }
}

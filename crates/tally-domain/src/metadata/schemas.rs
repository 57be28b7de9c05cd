//! The query schemas of the metadata types tally serves: DHIS2's property names, which
//! properties reference which collection, and which the object owns (its `/api/metadata`
//! import shape) versus which are derived for reading (display names, inverse
//! associations such as an org unit's `children`).

use crate::query::schema::Kind::{EmbeddedList, Ref, Refs, Simple};
use crate::query::schema::{Schema, computed, owner};

/// `attributeValues` entries.
pub static ATTRIBUTE_VALUE: Schema = Schema {
    collection: "",
    singular: "AttributeValue",
    properties: &[
        owner("attribute", Ref("attributes")),
        owner("value", Simple),
    ],
};

/// `dataSetElements` entries (of a data set, and derived on data elements).
pub static DATA_SET_ELEMENT: Schema = Schema {
    collection: "",
    singular: "DataSetElement",
    properties: &[
        owner("dataSet", Ref("dataSets")),
        owner("dataElement", Ref("dataElements")),
        owner("categoryCombo", Ref("categoryCombos")),
    ],
};

/// Compulsory and greyed fields.
pub static DATA_ELEMENT_OPERAND: Schema = Schema {
    collection: "",
    singular: "DataElementOperand",
    properties: &[
        owner("dataElement", Ref("dataElements")),
        owner("categoryOptionCombo", Ref("categoryOptionCombos")),
    ],
};

/// `dataInputPeriods` entries.
pub static DATA_INPUT_PERIOD: Schema = Schema {
    collection: "",
    singular: "DataInputPeriod",
    properties: &[
        owner("period", Simple),
        owner("openingDate", Simple),
        owner("closingDate", Simple),
    ],
};

/// Defines a schema with the properties every identifiable metadata object has.
macro_rules! identifiable_schema {
    ($(#[$m:meta])* $name:ident, $collection:literal, $singular:literal, [$($p:expr),* $(,)?]) => {
        $(#[$m])*
        pub static $name: Schema = Schema {
            collection: $collection,
            singular: $singular,
            properties: &[
                owner("id", Simple),
                owner("code", Simple),
                owner("name", Simple),
                owner("shortName", Simple),
                owner("created", Simple),
                owner("lastUpdated", Simple),
                owner("attributeValues", EmbeddedList(&ATTRIBUTE_VALUE)),
                $($p,)*
                computed("displayName", Simple),
                computed("displayShortName", Simple),
            ],
        };
    };
}

identifiable_schema!(
    /// `attributes`
    ATTRIBUTE, "attributes", "Attribute", [
    owner("valueType", Simple),
    owner("unique", Simple),
    owner("mandatory", Simple),
    owner("objectTypes", Simple),
    owner("dataElementAttribute", Simple),
    owner("dataElementGroupAttribute", Simple),
    owner("organisationUnitAttribute", Simple),
    owner("organisationUnitGroupAttribute", Simple),
    owner("dataSetAttribute", Simple),
    owner("sectionAttribute", Simple),
    owner("categoryAttribute", Simple),
    owner("categoryOptionAttribute", Simple),
    owner("categoryOptionComboAttribute", Simple),
    owner("optionSetAttribute", Simple),
    owner("optionAttribute", Simple),
]);

identifiable_schema!(
    /// `organisationUnits`
    ORGANISATION_UNIT, "organisationUnits", "OrganisationUnit", [
    owner("parent", Ref("organisationUnits")),
    owner("path", Simple),
    owner("level", Simple),
    owner("openingDate", Simple),
    owner("closedDate", Simple),
    owner("description", Simple),
    computed("children", Refs("organisationUnits")),
    computed("ancestors", Refs("organisationUnits")),
    computed("dataSets", Refs("dataSets")),
    computed("organisationUnitGroups", Refs("organisationUnitGroups")),
    computed("displayDescription", Simple),
]);

identifiable_schema!(
    /// `organisationUnitGroups`
    ORGANISATION_UNIT_GROUP, "organisationUnitGroups", "OrganisationUnitGroup", [
    owner("organisationUnits", Refs("organisationUnits")),
]);

identifiable_schema!(
    /// `categoryOptions`
    CATEGORY_OPTION, "categoryOptions", "CategoryOption", [
    owner("startDate", Simple),
    owner("endDate", Simple),
    owner("organisationUnits", Refs("organisationUnits")),
    owner("formName", Simple),
    computed("categories", Refs("categories")),
    computed("categoryOptionCombos", Refs("categoryOptionCombos")),
    computed("displayFormName", Simple),
]);

identifiable_schema!(
    /// `categories`
    CATEGORY, "categories", "Category", [
    owner("categoryOptions", Refs("categoryOptions")),
    owner("dataDimensionType", Simple),
    owner("dataDimension", Simple),
    computed("categoryCombos", Refs("categoryCombos")),
]);

identifiable_schema!(
    /// `categoryCombos`
    CATEGORY_COMBO, "categoryCombos", "CategoryCombo", [
    owner("categories", Refs("categories")),
    owner("dataDimensionType", Simple),
    owner("skipTotal", Simple),
    computed("categoryOptionCombos", Refs("categoryOptionCombos")),
]);

identifiable_schema!(
    /// `categoryOptionCombos`
    CATEGORY_OPTION_COMBO, "categoryOptionCombos", "CategoryOptionCombo", [
    owner("categoryCombo", Ref("categoryCombos")),
    owner("categoryOptions", Refs("categoryOptions")),
    owner("ignoreApproval", Simple),
]);

identifiable_schema!(
    /// `optionSets`
    OPTION_SET, "optionSets", "OptionSet", [
    owner("valueType", Simple),
    owner("options", Refs("options")),
    owner("version", Simple),
]);

identifiable_schema!(
    /// `options`
    OPTION, "options", "Option", [
    owner("optionSet", Ref("optionSets")),
    owner("sortOrder", Simple),
]);

identifiable_schema!(
    /// `dataElements`
    DATA_ELEMENT, "dataElements", "DataElement", [
    owner("valueType", Simple),
    owner("domainType", Simple),
    owner("aggregationType", Simple),
    owner("zeroIsSignificant", Simple),
    owner("optionSet", Ref("optionSets")),
    owner("commentOptionSet", Ref("optionSets")),
    owner("categoryCombo", Ref("categoryCombos")),
    owner("valueTypeOptions", Simple),
    owner("formName", Simple),
    owner("description", Simple),
    computed("dataSetElements", EmbeddedList(&DATA_SET_ELEMENT)),
    computed("dataElementGroups", Refs("dataElementGroups")),
    computed("displayFormName", Simple),
    computed("displayDescription", Simple),
]);

identifiable_schema!(
    /// `dataElementGroups`
    DATA_ELEMENT_GROUP, "dataElementGroups", "DataElementGroup", [
    owner("dataElements", Refs("dataElements")),
]);

identifiable_schema!(
    /// `dataSets`
    DATA_SET, "dataSets", "DataSet", [
    owner("periodType", Simple),
    owner("categoryCombo", Ref("categoryCombos")),
    owner("dataSetElements", EmbeddedList(&DATA_SET_ELEMENT)),
    owner("organisationUnits", Refs("organisationUnits")),
    owner("expiryDays", Simple),
    owner("openFuturePeriods", Simple),
    owner("openPeriodsAfterCoEndDate", Simple),
    owner("dataInputPeriods", EmbeddedList(&DATA_INPUT_PERIOD)),
    owner("timelyDays", Simple),
    owner("compulsoryFieldsCompleteOnly", Simple),
    owner("compulsoryDataElementOperands", EmbeddedList(&DATA_ELEMENT_OPERAND)),
    owner("sections", Refs("sections")),
    owner("indicators", Refs("indicators")),
    owner("workflow", Ref("dataApprovalWorkflows")),
    owner("dataEntryForm", Ref("dataEntryForms")),
    owner("formType", Simple),
    owner("version", Simple),
    owner("validCompleteOnly", Simple),
    owner("noValueRequiresComment", Simple),
    owner("fieldCombinationRequired", Simple),
    owner("skipOffline", Simple),
    owner("mobile", Simple),
    owner("renderAsTabs", Simple),
    owner("renderHorizontally", Simple),
    owner("dataElementDecoration", Simple),
    owner("notifyCompletingUser", Simple),
    owner("description", Simple),
    computed("displayDescription", Simple),
]);

identifiable_schema!(
    /// `sections`
    SECTION, "sections", "Section", [
    owner("dataSet", Ref("dataSets")),
    owner("sortOrder", Simple),
    owner("dataElements", Refs("dataElements")),
    owner("greyedFields", EmbeddedList(&DATA_ELEMENT_OPERAND)),
    owner("indicators", Refs("indicators")),
    owner("showRowTotals", Simple),
    owner("showColumnTotals", Simple),
    owner("disableDataElementAutoGroup", Simple),
    owner("description", Simple),
    computed("displayDescription", Simple),
]);

/// `organisationUnitLevels`: served (DHIS2 clients list them on connect) but tally holds
/// none, so the collection is always empty.
pub static ORGANISATION_UNIT_LEVEL: Schema = Schema {
    collection: "organisationUnitLevels",
    singular: "OrganisationUnitLevel",
    properties: &[
        owner("id", Simple),
        owner("code", Simple),
        owner("name", Simple),
        owner("created", Simple),
        owner("lastUpdated", Simple),
        owner("level", Simple),
        owner("offlineLevels", Simple),
        computed("displayName", Simple),
    ],
};

/// `users`. Passwords are never part of a view.
pub static USER: Schema = Schema {
    collection: "users",
    singular: "User",
    properties: &[
        owner("id", Simple),
        owner("code", Simple),
        owner("username", Simple),
        owner("firstName", Simple),
        owner("surname", Simple),
        owner("email", Simple),
        owner("disabled", Simple),
        owner("created", Simple),
        owner("lastUpdated", Simple),
        owner("userRoles", Refs("userRoles")),
        owner("organisationUnits", Refs("organisationUnits")),
        owner("dataViewOrganisationUnits", Refs("organisationUnits")),
        computed("name", Simple),
        computed("displayName", Simple),
        computed("userGroups", Refs("userGroups")),
    ],
};

/// `dataEntryForms`: custom forms of data sets (`DataSet.dataEntryForm`), held beside
/// the metadata model as JSON views.
pub static DATA_ENTRY_FORM: Schema = Schema {
    collection: "dataEntryForms",
    singular: "DataEntryForm",
    properties: &[
        owner("id", Simple),
        owner("name", Simple),
        owner("style", Simple),
        owner("htmlCode", Simple),
        owner("format", Simple),
        computed("displayName", Simple),
    ],
};

/// `userRoles`.
pub static USER_ROLE: Schema = Schema {
    collection: "userRoles",
    singular: "UserRole",
    properties: &[
        owner("id", Simple),
        owner("code", Simple),
        owner("name", Simple),
        owner("description", Simple),
        owner("authorities", Simple),
        computed("displayName", Simple),
        computed("users", Refs("users")),
    ],
};

/// `userGroups`. Membership is owned by the group, as in DHIS2.
pub static USER_GROUP: Schema = Schema {
    collection: "userGroups",
    singular: "UserGroup",
    properties: &[
        owner("id", Simple),
        owner("code", Simple),
        owner("name", Simple),
        owner("users", Refs("users")),
        computed("displayName", Simple),
    ],
};

/// `/api/me`: the current user with its authorities and settings.
pub static ME: Schema = Schema {
    collection: "",
    singular: "User",
    properties: &[
        owner("id", Simple),
        owner("username", Simple),
        owner("firstName", Simple),
        owner("surname", Simple),
        owner("name", Simple),
        owner("displayName", Simple),
        owner("authorities", Simple),
        owner("organisationUnits", Refs("organisationUnits")),
        owner("dataViewOrganisationUnits", Refs("organisationUnits")),
        owner("userRoles", Refs("userRoles")),
        owner("userGroups", Refs("userGroups")),
        owner("settings", Simple),
    ],
};

/// Every collection schema, in the order `/api/metadata` exports them (DHIS2's import
/// order: an object after the types it references).
pub static COLLECTIONS: [&Schema; 18] = [
    &ATTRIBUTE,
    &ORGANISATION_UNIT,
    &ORGANISATION_UNIT_GROUP,
    &ORGANISATION_UNIT_LEVEL,
    &CATEGORY_OPTION,
    &CATEGORY,
    &CATEGORY_COMBO,
    &CATEGORY_OPTION_COMBO,
    &OPTION_SET,
    &OPTION,
    &DATA_ELEMENT,
    &DATA_ELEMENT_GROUP,
    &DATA_ENTRY_FORM,
    &DATA_SET,
    &SECTION,
    &USER_ROLE,
    &USER_GROUP,
    &USER,
];

/// The schema of a collection.
#[must_use]
pub fn by_collection(collection: &str) -> Option<&'static Schema> {
    COLLECTIONS
        .iter()
        .copied()
        .find(|s| s.collection == collection)
}

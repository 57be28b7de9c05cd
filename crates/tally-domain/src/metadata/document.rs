//! Parsing a DHIS2 metadata document (`/api/metadata` JSON).

use serde::Deserialize;

use super::MetadataError;
use super::model::{
    Attribute, Category, CategoryCombo, CategoryOption, CategoryOptionCombo, DataElement,
    DataElementGroup, DataSet, OptionItem, OptionSet, OrganisationUnit, OrganisationUnitGroup, Ref,
    Section, null_default,
};
use crate::uid::Uid;

/// The objects of one metadata document, per type, in document order.
///
/// Only the types tally models are kept; every other top-level key of the document
/// (`system`, `indicators`, `users`, `validationRules`...) is ignored, as are unknown
/// fields of known objects, so a complete DHIS2 export loads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataDocument {
    /// The document's `attributes`.
    pub attributes: Vec<Attribute>,
    /// The document's `organisationUnits`.
    pub organisation_units: Vec<OrganisationUnit>,
    /// The document's `organisationUnitGroups`.
    pub organisation_unit_groups: Vec<OrganisationUnitGroup>,
    /// The document's `categoryOptions`.
    pub category_options: Vec<CategoryOption>,
    /// The document's `categories`.
    pub categories: Vec<Category>,
    /// The document's `categoryCombos`.
    pub category_combos: Vec<CategoryCombo>,
    /// The document's `categoryOptionCombos`.
    pub category_option_combos: Vec<CategoryOptionCombo>,
    /// The document's `optionSets`.
    pub option_sets: Vec<OptionSet>,
    /// Options, including options written inline in an option set (see
    /// [`parse_metadata_document`]).
    pub options: Vec<OptionItem>,
    /// The document's `dataElements`.
    pub data_elements: Vec<DataElement>,
    /// The document's `dataElementGroups`.
    pub data_element_groups: Vec<DataElementGroup>,
    /// The document's `dataSets`.
    pub data_sets: Vec<DataSet>,
    /// The document's `sections`.
    pub sections: Vec<Section>,
}

impl MetadataDocument {
    /// Number of objects in the document.
    #[must_use]
    pub fn len(&self) -> usize {
        self.attributes.len()
            + self.organisation_units.len()
            + self.organisation_unit_groups.len()
            + self.category_options.len()
            + self.categories.len()
            + self.category_combos.len()
            + self.category_option_combos.len()
            + self.option_sets.len()
            + self.options.len()
            + self.data_elements.len()
            + self.data_element_groups.len()
            + self.data_sets.len()
            + self.sections.len()
    }

    /// True when the document holds no object of a modelled type.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The raw document: option sets may carry their options inline.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDocument {
    #[serde(default, deserialize_with = "null_default")]
    attributes: Vec<Attribute>,
    #[serde(default, deserialize_with = "null_default")]
    organisation_units: Vec<OrganisationUnit>,
    #[serde(default, deserialize_with = "null_default")]
    organisation_unit_groups: Vec<OrganisationUnitGroup>,
    #[serde(default, deserialize_with = "null_default")]
    category_options: Vec<CategoryOption>,
    #[serde(default, deserialize_with = "null_default")]
    categories: Vec<Category>,
    #[serde(default, deserialize_with = "null_default")]
    category_combos: Vec<CategoryCombo>,
    #[serde(default, deserialize_with = "null_default")]
    category_option_combos: Vec<CategoryOptionCombo>,
    #[serde(default, deserialize_with = "null_default")]
    option_sets: Vec<RawOptionSet>,
    #[serde(default, deserialize_with = "null_default")]
    options: Vec<OptionItem>,
    #[serde(default, deserialize_with = "null_default")]
    data_elements: Vec<DataElement>,
    #[serde(default, deserialize_with = "null_default")]
    data_element_groups: Vec<DataElementGroup>,
    #[serde(default, deserialize_with = "null_default")]
    data_sets: Vec<DataSet>,
    #[serde(default, deserialize_with = "null_default")]
    sections: Vec<Section>,
}

/// An option set whose `options` entries may be full options rather than references.
#[derive(Deserialize)]
struct RawOptionSet {
    #[serde(flatten)]
    set: OptionSet,
    #[serde(default, deserialize_with = "null_default")]
    options: Vec<RawOptionEntry>,
}

/// An entry of `optionSet.options`: a reference, or an inline option with a code.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOptionEntry {
    id: Uid,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    sort_order: Option<i32>,
}

/// Parses a DHIS2 metadata JSON document.
///
/// Unknown object types and unknown fields are ignored. Option sets may list their
/// options inline (`"options": [{"id": ..., "code": ..., "name": ...}]`): an inline entry
/// with a `code` that has no top-level `options` object of the same id becomes an option
/// of that set, so both the export shape (references plus a top-level `options` array)
/// and the hand-written shape load.
///
/// # Errors
/// [`MetadataError::Parse`] when the text is not JSON, a field has the wrong JSON type,
/// a UID is malformed, or an enum value (such as `dataDimensionType`) is unknown. Missing
/// required fields and broken references are *not* parse errors: the merge reports them.
pub fn parse_metadata_document(json: &str) -> Result<MetadataDocument, MetadataError> {
    let raw: RawDocument = serde_json::from_str(json).map_err(|e| MetadataError::Parse {
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    })?;
    let mut options = raw.options;
    let mut option_sets = Vec::with_capacity(raw.option_sets.len());
    for RawOptionSet {
        mut set,
        options: entries,
    } in raw.option_sets
    {
        set.options = entries.iter().map(|e| Ref { id: e.id }).collect();
        for entry in entries {
            if entry.code.is_some() && !options.iter().any(|o| o.id == entry.id) {
                options.push(OptionItem {
                    id: entry.id,
                    code: entry.code,
                    name: entry.name,
                    short_name: None,
                    created: None,
                    last_updated: None,
                    attribute_values: Vec::new(),
                    option_set: Some(Ref { id: set.id }),
                    sort_order: entry.sort_order,
                });
            }
        }
        option_sets.push(set);
    }
    Ok(MetadataDocument {
        attributes: raw.attributes,
        organisation_units: raw.organisation_units,
        organisation_unit_groups: raw.organisation_unit_groups,
        category_options: raw.category_options,
        categories: raw.categories,
        category_combos: raw.category_combos,
        category_option_combos: raw.category_option_combos,
        option_sets,
        options,
        data_elements: raw.data_elements,
        data_element_groups: raw.data_element_groups,
        data_sets: raw.data_sets,
        sections: raw.sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_types_and_fields_are_ignored() {
        let doc = parse_metadata_document(
            r#"{"system":{"version":"2.41"},"indicators":[{"id":"x"}],
                "dataElements":[{"id":"f7n9E0hX8qk","name":"Measles","sharing":{"public":"rw"},
                "translations":[],"legendSets":[]}]}"#,
        )
        .unwrap();
        assert_eq!(doc.data_elements.len(), 1);
        assert_eq!(doc.len(), 1);
    }

    #[test]
    fn inline_options_are_lifted() {
        let doc = parse_metadata_document(
            r#"{"optionSets":[{"id":"OptSetA0001","name":"A","valueType":"INTEGER",
                "options":[{"id":"OptA0000001","code":"1","name":"Blue"},{"id":"OptA0000002"}]}],
                "options":[{"id":"OptA0000002","code":"2","name":"Green"}]}"#,
        )
        .unwrap();
        assert_eq!(doc.option_sets[0].options.len(), 2);
        assert_eq!(doc.options.len(), 2);
        let lifted = doc
            .options
            .iter()
            .find(|o| o.code.as_deref() == Some("1"))
            .unwrap();
        assert_eq!(lifted.option_set.unwrap().id.as_str(), "OptSetA0001");
    }

    #[test]
    fn parse_errors_carry_a_position() {
        let err = parse_metadata_document("{\"dataElements\": [{\"id\": \"bad\"}]}").unwrap_err();
        match err {
            MetadataError::Parse {
                line,
                column,
                message,
            } => {
                assert_eq!(line, 1);
                assert!(column > 0);
                assert!(message.contains("UID"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

//! Import options bound from the query string, echoed back in the summary.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use tally_domain::id_scheme::{IdScheme, IdSchemes, ObjectKind};
use tally_domain::import::ImportStrategy;

/// Echoes URL id schemes as `{"dataElementIdScheme":{"type":"CODE"}, …}`, only those
/// that were set (DHIS2 omits nulls).
fn echo_schemes<S: Serializer>(schemes: &IdSchemes, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Scheme<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        attribute: Option<String>,
    }
    let entries = [
        ("idScheme", schemes.id_scheme),
        ("dataElementIdScheme", schemes.data_element_id_scheme),
        ("orgUnitIdScheme", schemes.org_unit_id_scheme),
        (
            "categoryOptionComboIdScheme",
            schemes.category_option_combo_id_scheme,
        ),
        (
            "attributeOptionComboIdScheme",
            schemes.attribute_option_combo_id_scheme,
        ),
        ("dataSetIdScheme", schemes.data_set_id_scheme),
        ("categoryIdScheme", schemes.category_id_scheme),
        ("categoryOptionIdScheme", schemes.category_option_id_scheme),
    ];
    let mut map = s.serialize_map(None)?;
    for (name, scheme) in entries {
        if let Some(scheme) = scheme {
            let (kind, attribute) = match scheme {
                IdScheme::Uid => ("UID", None),
                IdScheme::Code => ("CODE", None),
                IdScheme::Name => ("NAME", None),
                IdScheme::Id => ("ID", None),
                IdScheme::Uuid => ("UUID", None),
                IdScheme::Attribute(uid) => ("ATTRIBUTE", Some(uid.to_string())),
            };
            map.serialize_entry(name, &Scheme { kind, attribute })?;
        }
    }
    map.end()
}

/// DHIS2's `ImportOptions` for data values (spec §3.1). Field order is the echo order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportOptions {
    #[serde(serialize_with = "echo_schemes")]
    pub id_schemes: IdSchemes,
    pub dry_run: bool,
    #[serde(rename = "async")]
    pub is_async: bool,
    pub import_strategy: ImportStrategy,
    pub merge_mode: String,
    pub report_mode: String,
    pub skip_existing_check: bool,
    pub sharing: bool,
    pub skip_notifications: bool,
    pub skip_audit: bool,
    pub dataset_allows_periods: bool,
    pub strict_periods: bool,
    pub strict_data_elements: bool,
    pub strict_category_option_combos: bool,
    pub strict_attribute_option_combos: bool,
    pub strict_organisation_units: bool,
    pub strict_data_set_approval: bool,
    pub strict_data_set_locking: bool,
    pub strict_data_set_input_periods: bool,
    pub require_category_option_combo: bool,
    pub require_attribute_option_combo: bool,
    pub skip_pattern_validation: bool,
    pub ignore_empty_collection: bool,
    pub force: bool,
    pub first_row_is_header: bool,
    pub skip_last_updated: bool,
    pub merge_data_values: bool,
    pub skip_cache: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preheat_cache: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            id_schemes: IdSchemes::NONE,
            dry_run: false,
            is_async: false,
            import_strategy: ImportStrategy::CreateAndUpdate,
            merge_mode: "REPLACE".into(),
            report_mode: "FULL".into(),
            skip_existing_check: false,
            sharing: false,
            skip_notifications: false,
            skip_audit: false,
            dataset_allows_periods: false,
            strict_periods: false,
            strict_data_elements: false,
            strict_category_option_combos: false,
            strict_attribute_option_combos: false,
            strict_organisation_units: false,
            strict_data_set_approval: false,
            strict_data_set_locking: false,
            strict_data_set_input_periods: false,
            require_category_option_combo: false,
            require_attribute_option_combo: false,
            skip_pattern_validation: false,
            ignore_empty_collection: false,
            force: false,
            first_row_is_header: true,
            skip_last_updated: false,
            merge_data_values: false,
            skip_cache: false,
            preheat_cache: None,
            notification_level: None,
            filename: None,
            data_set: None,
        }
    }
}

/// Spring's boolean binding: `true/false`, `on/off`, `yes/no`, `1/0`, any case.
///
/// # Errors
/// The text as the message of a 400.
pub fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" | "" => Ok(false),
        _ => Err(format!(
            "Value '{value}' is not valid for parameter {name}. It should be of type Boolean"
        )),
    }
}

fn scheme(value: &str) -> Result<IdScheme, String> {
    IdScheme::parse(value).map_err(|e| e.to_string())
}

fn set(o: &mut ImportOptions, kind: ObjectKind, value: &str) -> Result<(), String> {
    o.id_schemes = o.id_schemes.with(kind, scheme(value)?);
    Ok(())
}

impl ImportOptions {
    /// Binds the query parameters. Unknown parameters are ignored, as Spring does.
    ///
    /// # Errors
    /// A malformed boolean or enum value (HTTP 400 in DHIS2).
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        let mut o = Self::default();
        for (name, value) in pairs {
            let flag = |target: &mut bool| -> Result<(), String> {
                *target = parse_bool(name, value)?;
                Ok(())
            };
            match name {
                "dryRun" => flag(&mut o.dry_run)?,
                "async" => flag(&mut o.is_async)?,
                "importStrategy" | "strategy" => {
                    o.import_strategy = value.parse::<ImportStrategy>()?;
                }
                "skipExistingCheck" => flag(&mut o.skip_existing_check)?,
                "skipAudit" => flag(&mut o.skip_audit)?,
                "skipNotifications" => flag(&mut o.skip_notifications)?,
                "sharing" => flag(&mut o.sharing)?,
                "datasetAllowsPeriods" => flag(&mut o.dataset_allows_periods)?,
                "strictPeriods" => flag(&mut o.strict_periods)?,
                "strictDataElements" => flag(&mut o.strict_data_elements)?,
                "strictCategoryOptionCombos" => flag(&mut o.strict_category_option_combos)?,
                "strictAttributeOptionCombos" => flag(&mut o.strict_attribute_option_combos)?,
                "strictOrganisationUnits" => flag(&mut o.strict_organisation_units)?,
                "strictDataSetApproval" => flag(&mut o.strict_data_set_approval)?,
                "strictDataSetLocking" => flag(&mut o.strict_data_set_locking)?,
                "strictDataSetInputPeriods" => flag(&mut o.strict_data_set_input_periods)?,
                "requireCategoryOptionCombo" => flag(&mut o.require_category_option_combo)?,
                "requireAttributeOptionCombo" => flag(&mut o.require_attribute_option_combo)?,
                "skipPatternValidation" => flag(&mut o.skip_pattern_validation)?,
                "ignoreEmptyCollection" => flag(&mut o.ignore_empty_collection)?,
                "force" => flag(&mut o.force)?,
                "firstRowIsHeader" => flag(&mut o.first_row_is_header)?,
                "skipLastUpdated" => flag(&mut o.skip_last_updated)?,
                "mergeDataValues" => flag(&mut o.merge_data_values)?,
                "skipCache" => flag(&mut o.skip_cache)?,
                "preheatCache" => o.preheat_cache = Some(parse_bool(name, value)?),
                "mergeMode" => o.merge_mode = value.to_ascii_uppercase(),
                "reportMode" => o.report_mode = value.to_ascii_uppercase(),
                "notificationLevel" => o.notification_level = Some(value.to_owned()),
                "filename" => o.filename = Some(value.to_owned()),
                "dataSet" => o.data_set = Some(value.to_owned()),
                "idScheme" => o.id_schemes.id_scheme = Some(scheme(value)?),
                "dataElementIdScheme" => set(&mut o, ObjectKind::DataElement, value)?,
                "orgUnitIdScheme" => set(&mut o, ObjectKind::OrgUnit, value)?,
                "categoryOptionComboIdScheme" => {
                    set(&mut o, ObjectKind::CategoryOptionCombo, value)?;
                }
                "attributeOptionComboIdScheme" => {
                    set(&mut o, ObjectKind::AttributeOptionCombo, value)?;
                }
                "dataSetIdScheme" => set(&mut o, ObjectKind::DataSet, value)?,
                "categoryIdScheme" => set(&mut o, ObjectKind::Category, value)?,
                "categoryOptionIdScheme" => set(&mut o, ObjectKind::CategoryOption, value)?,
                _ => {}
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_query_parameters_case_insensitively_for_enums() {
        let o = ImportOptions::from_query([
            ("dryRun", "true"),
            ("importStrategy", "delete"),
            ("idScheme", "CODE"),
            ("unknown", "x"),
        ])
        .unwrap();
        assert!(o.dry_run);
        assert_eq!(o.import_strategy, ImportStrategy::Delete);
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(
            json["idSchemes"],
            serde_json::json!({"idScheme": {"type": "CODE"}})
        );
        assert_eq!(json["importStrategy"], "DELETE");
        assert_eq!(json["firstRowIsHeader"], true);
        assert!(json.get("preheatCache").is_none());
    }

    #[test]
    fn malformed_values_are_errors() {
        assert!(ImportOptions::from_query([("dryRun", "maybe")]).is_err());
        assert!(ImportOptions::from_query([("importStrategy", "MERGE")]).is_err());
        assert!(ImportOptions::from_query([("idScheme", "ATTRIBUTE:short")]).is_err());
    }

    #[test]
    fn default_echo_matches_dhis2_field_order() {
        let json = serde_json::to_string(&ImportOptions::default()).unwrap();
        assert!(json.starts_with(r#"{"idSchemes":{},"dryRun":false,"async":false,"importStrategy":"CREATE_AND_UPDATE","mergeMode":"REPLACE","reportMode":"FULL","#), "{json}");
        assert!(
            json.ends_with(r#""mergeDataValues":false,"skipCache":false}"#),
            "{json}"
        );
    }
}

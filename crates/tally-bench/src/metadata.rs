//! The synthetic metadata as a DHIS2 metadata document, so it goes through
//! `App::import_metadata` like any other metadata.

use serde_json::{Value, json};

use crate::shape::{COCS, Uids};

fn refs<'a>(uids: impl IntoIterator<Item = &'a String>) -> Value {
    Value::Array(uids.into_iter().map(|u| json!({ "id": u })).collect())
}

/// The metadata document: one root with all org units below it, data elements of type
/// `INTEGER_ZERO_OR_POSITIVE` with a five-option category combo, and one monthly data set
/// with every element assigned to every org unit, never locked (no expiry, many open
/// future periods).
#[must_use]
pub fn document(uids: &Uids) -> String {
    let opening = "1970-01-01T00:00:00.000";
    let mut org_units = vec![json!({
        "id": uids.root,
        "code": "BENCH_ROOT",
        "name": "Bench root",
        "shortName": "Bench root",
        "openingDate": opening,
    })];
    org_units.extend(uids.org_units.iter().enumerate().map(|(i, u)| {
        json!({
            "id": u,
            "code": format!("BENCH_OU_{i}"),
            "name": format!("Bench facility {i}"),
            "shortName": format!("Bench facility {i}"),
            "openingDate": opening,
            "parent": { "id": uids.root },
        })
    }));
    let options: Vec<Value> = uids
        .options
        .iter()
        .enumerate()
        .map(|(i, u)| {
            json!({
                "id": u,
                "code": format!("BENCH_OPT_{i}"),
                "name": format!("Bench option {i}"),
                "shortName": format!("Bench option {i}"),
            })
        })
        .collect();
    let cocs: Vec<Value> = (0..COCS)
        .map(|i| {
            json!({
                "id": uids.cocs[i],
                "code": format!("BENCH_COC_{i}"),
                "name": format!("Bench option {i}"),
                "ignoreApproval": false,
                "categoryCombo": { "id": uids.category_combo },
                "categoryOptions": [{ "id": uids.options[i] }],
            })
        })
        .collect();
    let elements: Vec<Value> = uids
        .data_elements
        .iter()
        .enumerate()
        .map(|(i, u)| {
            json!({
                "id": u,
                "code": format!("BENCH_DE_{i}"),
                "name": format!("Bench element {i}"),
                "shortName": format!("Bench element {i}"),
                "valueType": "INTEGER_ZERO_OR_POSITIVE",
                "aggregationType": "SUM",
                "domainType": "AGGREGATE",
                "zeroIsSignificant": false,
                "categoryCombo": { "id": uids.category_combo },
            })
        })
        .collect();
    let set_elements: Vec<Value> = uids
        .data_elements
        .iter()
        .map(|u| json!({ "dataElement": { "id": u } }))
        .collect();
    let doc = json!({
        "organisationUnits": org_units,
        "categoryOptions": options,
        "categories": [{
            "id": uids.category,
            "code": "BENCH_CATEGORY",
            "name": "Bench category",
            "shortName": "Bench category",
            "dataDimensionType": "DISAGGREGATION",
            "dataDimension": true,
            "categoryOptions": refs(&uids.options),
        }],
        "categoryCombos": [{
            "id": uids.category_combo,
            "code": "BENCH_COMBO",
            "name": "Bench combo",
            "dataDimensionType": "DISAGGREGATION",
            "skipTotal": false,
            "categories": [{ "id": uids.category }],
        }],
        "categoryOptionCombos": cocs,
        "dataElements": elements,
        "dataSets": [{
            "id": uids.data_set,
            "code": "BENCH_DS",
            "name": "Bench monthly",
            "shortName": "Bench monthly",
            "periodType": "Monthly",
            "categoryCombo": { "id": tally_domain::metadata::DEFAULT_CATEGORY_COMBO_UID },
            "expiryDays": 0,
            "openFuturePeriods": 1200,
            "openPeriodsAfterCoEndDate": 0,
            "timelyDays": 15,
            "formType": "DEFAULT",
            "version": 1,
            "compulsoryFieldsCompleteOnly": false,
            "compulsoryDataElementOperands": [],
            "dataInputPeriods": [],
            "dataSetElements": set_elements,
            "organisationUnits": refs(&uids.org_units),
        }],
    });
    doc.to_string()
}

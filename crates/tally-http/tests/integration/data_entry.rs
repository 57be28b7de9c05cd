//! The data entry API (`/api/dataEntry/*`), lock exceptions, min-max ranges, custom
//! forms and the data value set template, on the demo metadata.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Resp, TestApp};

const NGELEHUN: &str = "DiszpKrYNg8";
const NJANDAMA: &str = "g8upMTyEZGZ";
const MORTALITY: &str = "pBOMPrpg1QX";
const MEASLES: &str = "f7n9E0hX8qk";
const CHOLERA: &str = "eY5ehpbEsB7";
const MALARIA_SET: &str = "iczD3R7LCdM";
const PARTNERS: &str = "jdrs3jyhqzo";
const MOH: &str = "R01Rchx3Hqn";
const DEFAULT_COC: &str = "HllvX50cXC0";
/// A monthly set that locks 5 days after the period, no input periods.
const EXPIRING: &str = "deExpiring1";
const EXP_DE: &str = "deExpElem01";

const EXTRA_METADATA: &str = r#"{
  "dataElements": [
    {"id": "deExpElem01", "name": "DE expiring element", "shortName": "DE expiring",
     "valueType": "INTEGER", "domainType": "AGGREGATE", "aggregationType": "SUM",
     "zeroIsSignificant": false, "categoryCombo": {"id": "bjDvmb4bfuf"}}
  ],
  "dataSets": [
    {"id": "deExpiring1", "name": "DE expiring set", "shortName": "DE expiring",
     "periodType": "Monthly", "categoryCombo": {"id": "bjDvmb4bfuf"},
     "expiryDays": 5, "openFuturePeriods": 0,
     "dataSetElements": [{"dataElement": {"id": "deExpElem01"}}],
     "organisationUnits": [{"id": "DiszpKrYNg8"}, {"id": "g8upMTyEZGZ"}]},
    {"id": "deInputSet1", "name": "DE input period set", "shortName": "DE input",
     "periodType": "Monthly", "categoryCombo": {"id": "bjDvmb4bfuf"},
     "dataInputPeriods": [{"period": {"id": "202001"}, "openingDate": "2020-01-01",
                           "closingDate": "2020-02-15T00:00:00.000"}],
     "dataSetElements": [{"dataElement": {"id": "deExpElem01"}}],
     "organisationUnits": [{"id": "DiszpKrYNg8"}]}
  ]
}"#;

fn demo() -> TestApp {
    TestApp::demo_with(EXTRA_METADATA)
}

async fn post_json(t: &TestApp, user: &str, uri: &str, body: &Value) -> Resp {
    t.send(
        "POST",
        uri,
        user,
        &[("Content-Type", "application/json")],
        body.to_string().into_bytes(),
    )
    .await
}

fn assert_error(r: &Resp, status: StatusCode, code: Option<&str>, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let j = r.json();
    assert_eq!(j["httpStatusCode"], status.as_u16());
    assert_eq!(j["status"], "ERROR");
    assert_eq!(j["message"], message, "{j}");
    match code {
        Some(c) => assert_eq!(j["errorCode"], c),
        None => assert!(j.get("errorCode").is_none(), "{j}"),
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn metadata_bundle_for_the_user_with_etag() {
    let t = demo();
    let r = t.get_as("importer", "/api/dataEntry/metadata").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let j = r.json();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "dataSets",
        "dataElements",
        "indicators",
        "categoryCombos",
        "categories",
        "categoryOptions",
        "optionSets",
    ] {
        assert!(keys.contains(&k), "{k} missing: {keys:?}");
    }
    // Every data set assigned to Ngelehun (the importer's only unit in the demo), with
    // its org units cut to the user's hierarchy.
    let sets = ids(&j["dataSets"]);
    assert_eq!(
        sets,
        vec![
            EXPIRING,
            "deInputSet1",
            MALARIA_SET,
            MORTALITY,
            "mT9j5hiveR5"
        ],
        "sorted by name"
    );
    // Bare dates are written as zone-less midnight timestamps.
    let input = &j["dataSets"][1]["dataInputPeriods"][0];
    assert_eq!(input["openingDate"], "2020-01-01T00:00:00.000");
    assert_eq!(input["closingDate"], "2020-02-15T00:00:00.000");
    let malaria = j["dataSets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == MALARIA_SET)
        .unwrap();
    assert_eq!(malaria["organisationUnits"], json!([NGELEHUN]));
    assert_eq!(malaria["periodType"], "Monthly");
    assert_eq!(malaria["formType"], "SECTION");
    assert_eq!(malaria["categoryCombo"], json!({"id": PARTNERS}));
    assert_eq!(malaria["expiryDays"], 15);
    assert_eq!(malaria["dimensionItemType"], "REPORTING_RATE");
    assert_eq!(
        malaria["dataInputPeriods"][0]["period"],
        json!({"id": "202401"})
    );
    assert_eq!(malaria["sections"][0]["id"], "lXb9nArr0uJ");
    assert!(malaria.get("dataEntryForm").is_none(), "nulls are omitted");
    // Element combos with their option combos first, then attribute combos without.
    let combos = j["categoryCombos"].as_array().unwrap();
    let last = combos.last().unwrap();
    assert_eq!(last["id"], PARTNERS);
    assert_eq!(last["dataDimensionType"], "ATTRIBUTE");
    assert!(last.get("categoryOptionCombos").is_none());
    let default = combos.iter().find(|c| c["id"] == "bjDvmb4bfuf").unwrap();
    assert_eq!(default["isDefault"], true);
    assert_eq!(default["categoryOptionCombos"][0]["id"], DEFAULT_COC);
    // Option sets of the elements, with their options.
    assert_eq!(ids(&j["optionSets"]), vec!["syoLE6x1vNC"]);
    assert_eq!(j["optionSets"][0]["options"].as_array().unwrap().len(), 2);
    let measles = j["dataElements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == MEASLES)
        .unwrap();
    assert_eq!(measles["valueType"], "NUMBER");
    assert_eq!(measles["categoryCombo"], json!({"id": "bjDvmb4bfuf"}));

    // Unchanged: 304 without a body, for a strong or weak tag or a list.
    for tag in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
        let r = t
            .send(
                "GET",
                "/api/dataEntry/metadata",
                "importer",
                &[("If-None-Match", &tag)],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{tag}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
    }
    // Another user sees other metadata and another tag.
    let admin = t.get("/api/dataEntry/metadata").await;
    assert_ne!(admin.header("etag"), Some(etag.as_str()));
    assert_eq!(
        admin.json()["dataSets"][3]["organisationUnits"]
            .as_array()
            .unwrap()
            .len(),
        17,
        "the admin's roots cover the whole country"
    );

    // A metadata change gives a new tag and a 200.
    let report = t
        .app
        .import_metadata(
            r#"{"dataElements": [{"id": "f7n9E0hX8qk", "name": "Measles (renamed)",
               "shortName": "Measles", "valueType": "NUMBER", "domainType": "AGGREGATE",
               "aggregationType": "SUM", "categoryCombo": {"id": "bjDvmb4bfuf"}}]}"#,
        )
        .unwrap();
    assert!(report.errors().next().is_none());
    let r = t
        .send(
            "GET",
            "/api/dataEntry/metadata",
            "importer",
            &[("If-None-Match", &etag)],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let renamed = r.header("etag").unwrap().to_owned();
    assert_ne!(renamed, etag);
    assert!(r.text().contains("Measles (renamed)"));

    // So does a change of the user's assignment.
    let mut importer = t.app.users().record("importer").unwrap().clone();
    importer.organisation_units.push(NJANDAMA.parse().unwrap());
    t.app.save_users(&[importer]).unwrap();
    let r = t
        .send(
            "GET",
            "/api/dataEntry/metadata",
            "importer",
            &[("If-None-Match", &renamed)],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.header("etag"), Some(renamed.as_str()));
    let malaria = r.json()["dataSets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == MALARIA_SET)
        .cloned()
        .unwrap();
    assert_eq!(malaria["organisationUnits"], json!([NGELEHUN, NJANDAMA]));

    // A user without org units sees no data sets.
    let nobody = tally_core::users::UserRecord::new(
        "deNobody001".parse().unwrap(),
        "nobody",
        bcrypt::hash("district", 4).unwrap(),
    );
    t.app.save_users(&[nobody]).unwrap();
    let r = t.get_as("nobody", "/api/dataEntry/metadata").await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["dataSets"], json!([]));
    assert_eq!(j["dataElements"], json!([]));
    assert_eq!(j["categoryCombos"], json!([]));
    let unauth = t
        .request(
            Request::get("/api/dataEntry/metadata")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
}

fn form(ds: &str, pe: &str, ou: &str) -> String {
    format!("/api/dataEntry/dataValues?ds={ds}&pe={pe}&ou={ou}")
}

#[tokio::test]
async fn form_values_min_max_lock_and_completion() {
    let t = demo();
    // An empty form, exactly.
    let r = t.get(&form(MORTALITY, "202401", NGELEHUN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"dataValues":[],"minMaxValues":[],"lockStatus":"OPEN","completeStatus":{"complete":false}})
    );

    // Values (one with a comment, one deleted: only live values are returned).
    for q in [
        format!("de={MEASLES}&pe=202401&ou={NGELEHUN}&value=12&comment=checked"),
        format!("de={CHOLERA}&pe=202401&ou={NGELEHUN}&value=3"),
        format!("de={CHOLERA}&pe=202402&ou={NGELEHUN}&value=4"),
        format!("de=Ix2HsbDMLea&pe=202401&ou={NGELEHUN}&value=5"),
    ] {
        let r = t
            .send(
                "POST",
                &format!("/api/dataValues?{q}"),
                "admin",
                &[],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = t
        .send(
            "DELETE",
            &format!("/api/dataValues?de=Ix2HsbDMLea&pe=202401&ou={NGELEHUN}"),
            "admin",
            &[],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let measles_version = t
        .get(&format!(
            "/api/dataValues?de={MEASLES}&pe=202401&ou={NGELEHUN}"
        ))
        .await
        .header("etag")
        .unwrap()
        .trim_matches('"')
        .parse::<i64>()
        .unwrap();

    let r = post_json(
        &t,
        "admin",
        "/api/dataEntry/minMaxValues",
        &json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC,
                "minValue": 1, "maxValue": 10}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.body.is_empty());
    let r = post_json(
        &t,
        "admin",
        "/api/dataEntry/dataSetCompletion",
        &json!({"dataSet": MORTALITY, "period": "202401", "orgUnit": NGELEHUN, "attribute": {}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let r = t.get(&form(MORTALITY, "202401", NGELEHUN)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("no-cache, private"));
    let j = r.json();
    let values = j["dataValues"].as_array().unwrap();
    assert_eq!(values.len(), 2, "{j}");
    let measles = values.iter().find(|v| v["dataElement"] == MEASLES).unwrap();
    assert_eq!(measles["period"], "202401");
    assert_eq!(measles["orgUnit"], NGELEHUN);
    assert_eq!(measles["categoryOptionCombo"], DEFAULT_COC);
    assert_eq!(
        measles["attribute"],
        json!({"combo": "bjDvmb4bfuf", "options": ["xYerKDKCefk"]})
    );
    assert_eq!(measles["value"], "12");
    assert_eq!(measles["comment"], "checked");
    assert_eq!(measles["followUp"], false);
    assert_eq!(measles["storedBy"], "admin");
    assert_eq!(measles["version"], measles_version);
    let created = measles["created"].as_str().unwrap();
    assert_eq!(created.len(), 23, "zone-less ISO with millis: {created}");
    let cholera = values.iter().find(|v| v["dataElement"] == CHOLERA).unwrap();
    assert!(cholera.get("comment").is_none(), "nulls are omitted");
    assert_eq!(
        j["minMaxValues"],
        json!([{"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC,
                "minValue": 1, "maxValue": 10, "generated": false}])
    );
    assert_eq!(j["lockStatus"], "OPEN");
    let done = &j["completeStatus"];
    assert_eq!(done["complete"], true);
    assert_eq!(done["createdBy"], "admin");
    assert_eq!(done["lastUpdatedBy"], "admin");
    assert!(done["created"].is_string() && done["lastUpdated"].is_string());

    // An expired form is LOCKED for a user without F_EDIT_EXPIRED, OPEN for the admin.
    let malaria = format!(
        "{}&cc={PARTNERS}&cp={MOH}",
        form(MALARIA_SET, "202401", NGELEHUN)
    );
    let r = t.get_as("importer", &malaria).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["lockStatus"], "LOCKED");
    assert_eq!(t.get(&malaria).await.json()["lockStatus"], "OPEN");
    // Versioned paths work too (the app calls `/api/NN/dataEntry/...`).
    let r = t
        .get(&format!(
            "/api/41/dataEntry/dataValues?ds={MORTALITY}&pe=202401&ou={NGELEHUN}"
        ))
        .await;
    assert_eq!(r.json()["dataValues"].as_array().unwrap().len(), 2);
    // Empty cc/cp count as absent.
    let r = t
        .get(&format!("{}&cc=&cp=", form(MORTALITY, "202401", NGELEHUN)))
        .await;
    assert_eq!(r.json()["dataValues"].as_array().unwrap().len(), 2);

    // Errors.
    for (uri, status, code, message) in [
        (
            form("nonexistent", "202401", NGELEHUN),
            StatusCode::CONFLICT,
            Some("E1105"),
            "Data set not found or not accessible: `nonexistent`",
        ),
        (
            format!("/api/dataEntry/dataValues?pe=202401&ou={NGELEHUN}"),
            StatusCode::CONFLICT,
            Some("E1105"),
            "Data set not found or not accessible: `null`",
        ),
        (
            form(MORTALITY, "2024X1", NGELEHUN),
            StatusCode::CONFLICT,
            Some("E1101"),
            "Period is invalid: `2024X1`",
        ),
        (
            form(MORTALITY, "202401", "nonexistent"),
            StatusCode::CONFLICT,
            Some("E1102"),
            "Organisation unit not found or not accessible: `nonexistent`",
        ),
        (
            format!(
                "{}&cc={PARTNERS}&cp=xxxxxxxxxxx",
                form(MALARIA_SET, "202401", NGELEHUN)
            ),
            StatusCode::CONFLICT,
            Some("E1111"),
            "Category option not found or not accessible: `xxxxxxxxxxx`",
        ),
        (
            format!("{}&cc={PARTNERS}", form(MALARIA_SET, "202401", NGELEHUN)),
            StatusCode::CONFLICT,
            Some("E2040"),
            "Both category combination and category options must be specified",
        ),
    ] {
        let r = t.get(&uri).await;
        assert_error(&r, status, code, message);
    }
    let r = t
        .get_as("importer", &form(MORTALITY, "202401", NJANDAMA))
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2020"),
        "Organisation unit is not in the hierarchy of the current user: `g8upMTyEZGZ`",
    );
}

#[tokio::test]
async fn lock_exceptions_open_an_expired_form() {
    let t = demo();
    let write = |ou: &'static str| {
        format!("/api/dataValues?de={EXP_DE}&pe=202001&ou={ou}&ds={EXPIRING}&value=7")
    };
    let r = t
        .send("POST", &write(NGELEHUN), "importer", &[], vec![])
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2017"),
        "Data set is locked",
    );
    let r = t.get("/api/dataEntry/lockExceptions").await;
    assert_eq!(r.json(), json!({"lockExceptions": []}));

    // DHIS2's checks and messages.
    let base = "/api/lockExceptions";
    for (query, status, message) in [
        (
            format!("?ou={NGELEHUN}&pe=2020X1&ds={EXPIRING}"),
            StatusCode::CONFLICT,
            " DataSet or Period is invalid",
        ),
        (
            format!("?ou=&pe=202001&ds={EXPIRING}"),
            StatusCode::CONFLICT,
            "OrganisationUnit ID is invalid.",
        ),
        (
            format!("?ou=xyz&pe=202001&ds={EXPIRING}"),
            StatusCode::CONFLICT,
            "Can't find OrganisationUnit with id =xyz",
        ),
        (
            format!("?ou=YuQRtpLP10I&pe=202001&ds={EXPIRING}"),
            StatusCode::CONFLICT,
            "None of the target organisation unit(s) YuQRtpLP10I is linked to the specified data set: deExpiring1",
        ),
    ] {
        let r = t
            .send("POST", &format!("{base}{query}"), "admin", &[], vec![])
            .await;
        assert_error(&r, status, None, message);
    }
    let r = t
        .send(
            "POST",
            &format!("{base}?ou={NGELEHUN}&pe=202001&ds={EXPIRING}"),
            "importer",
            &[],
            vec![],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "needs F_DATASET_PUBLIC_ADD"
    );

    // `[a,b]` lists; units not assigned to the set are skipped.
    let r = t
        .send(
            "POST",
            &format!("{base}?ou=[{NGELEHUN},YuQRtpLP10I]&pe=202001&ds={EXPIRING}"),
            "admin",
            &[],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"httpStatus":"Created","httpStatusCode":201,"status":"OK",
               "message":"LockException created successfully."})
    );
    let r = t.get("/api/dataEntry/lockExceptions").await;
    assert_eq!(
        r.json(),
        json!({"lockExceptions": [{"period": "202001", "orgUnit": NGELEHUN, "dataSet": EXPIRING}]})
    );
    // Only users who see the org unit see the exception.
    let r = t.get_as("reader", "/api/dataEntry/lockExceptions").await;
    assert_eq!(r.json()["lockExceptions"].as_array().unwrap().len(), 1);

    // The exception really unlocks: single values, the form's status, bulk imports.
    let r = t
        .send("POST", &write(NGELEHUN), "importer", &[], vec![])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = t
        .get_as("importer", &form(EXPIRING, "202001", NGELEHUN))
        .await;
    assert_eq!(r.json()["lockStatus"], "OPEN");
    assert_eq!(r.json()["dataValues"][0]["value"], "7");
    let r = t
        .get_as("importer", &form(EXPIRING, "202002", NGELEHUN))
        .await;
    assert_eq!(
        r.json()["lockStatus"],
        "LOCKED",
        "another period stays locked"
    );
    let bulk = json!({"dataSet": EXPIRING, "dataValues": [
        {"dataElement": EXP_DE, "period": "202001", "orgUnit": NGELEHUN, "value": "8"},
        {"dataElement": EXP_DE, "period": "202002", "orgUnit": NGELEHUN, "value": "9"}
    ]});
    let r = post_json(&t, "importer", "/api/dataValueSets", &bulk).await;
    let summary = &r.json()["response"];
    assert_eq!(summary["importCount"]["updated"], 1, "{summary}");
    assert_eq!(summary["importCount"]["ignored"], 1);
    assert_eq!(summary["conflicts"][0]["errorCode"], "E7640");

    // Deleting it locks the form again.
    let r = t
        .send(
            "DELETE",
            &format!("{base}?ou={NGELEHUN}&pe=202001&ds={EXPIRING}"),
            "admin",
            &[],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = t
        .send("POST", &write(NGELEHUN), "importer", &[], vec![])
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2017"),
        "Data set is locked",
    );
    let r = t
        .send(
            "DELETE",
            &format!("{base}?pe=202001&ds=nonexistent"),
            "admin",
            &[],
            vec![],
        )
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        None,
        "Can't find LockException with combination: dataSet=nonexistent, period=202001",
    );

    // Exceptions survive a restart.
    let r = t
        .send(
            "POST",
            &format!("{base}?ou={NJANDAMA}&pe=202003&ds={EXPIRING}"),
            "admin",
            &[],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let t = TestApp::reopen(t.into_dir());
    let r = t.get("/api/dataEntry/lockExceptions").await;
    assert_eq!(
        r.json(),
        json!({"lockExceptions": [{"period": "202003", "orgUnit": NJANDAMA, "dataSet": EXPIRING}]})
    );
}

#[tokio::test]
async fn min_max_values_are_saved_and_deleted() {
    let t = demo();
    let key = json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "optionCombo": DEFAULT_COC,
                     "minValue": -5, "maxValue": 50, "generated": true});
    let r = post_json(&t, "importer", "/api/dataEntry/minMaxValues", &key).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "needs F_MINMAX_DATAELEMENT_ADD"
    );
    let r = post_json(&t, "admin", "/api/dataEntry/minMaxValues", &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mm = || async {
        t.get(&form(MORTALITY, "202401", NGELEHUN)).await.json()["minMaxValues"].clone()
    };
    assert_eq!(
        mm().await,
        json!([{"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC,
                "minValue": -5, "maxValue": 50, "generated": true}])
    );
    // A second post replaces the range.
    let r = post_json(
        &t,
        "admin",
        "/api/dataEntry/minMaxValues",
        &json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC,
                "minValue": 0, "maxValue": 20}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(mm().await[0]["maxValue"], 20);
    assert_eq!(mm().await[0]["generated"], false);

    for (body, code, message) in [
        (
            json!({"dataElement": "nonexistent", "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC, "minValue": 0, "maxValue": 1}),
            Some("E1100"),
            "Data element not found or not accessible: `nonexistent`",
        ),
        (
            json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": "nonexistent", "minValue": 0, "maxValue": 1}),
            Some("E1103"),
            "Category option combo not found or not accessible: `nonexistent`",
        ),
        (
            json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC, "maxValue": 1}),
            Some("E2042"),
            "Min value must be specified",
        ),
        (
            json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC, "minValue": 0}),
            Some("E2043"),
            "Max value must be specified",
        ),
        (
            json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC, "minValue": 5, "maxValue": 5}),
            Some("E2044"),
            "Max value must be greater than min value",
        ),
        (
            json!({"orgUnit": NGELEHUN, "categoryOptionCombo": DEFAULT_COC, "minValue": 0, "maxValue": 1}),
            Some("E1100"),
            "Data element not found or not accessible: `null`",
        ),
    ] {
        let r = post_json(&t, "admin", "/api/dataEntry/minMaxValues", &body).await;
        assert_error(&r, StatusCode::CONFLICT, code, message);
    }
    let r = t
        .send(
            "POST",
            "/api/dataEntry/minMaxValues",
            "admin",
            &[("Content-Type", "application/json")],
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        mm().await[0]["maxValue"],
        20,
        "refused writes change nothing"
    );

    // DELETE by parameters, then (after re-adding) by a JSON body.
    let by_params =
        format!("/api/dataEntry/minMaxValues?de={MEASLES}&ou={NGELEHUN}&co={DEFAULT_COC}");
    let r = t.send("DELETE", &by_params, "admin", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(mm().await, json!([]));
    // Deleting a range that is not there is not an error (DHIS2).
    let r = t.send("DELETE", &by_params, "admin", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t
        .send(
            "DELETE",
            &format!("/api/dataEntry/minMaxValues?ou={NGELEHUN}&co={DEFAULT_COC}"),
            "admin",
            &[],
            vec![],
        )
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E1100"),
        "Data element not found or not accessible: `null`",
    );
    post_json(&t, "admin", "/api/dataEntry/minMaxValues", &key).await;
    let r = t
        .send(
            "DELETE",
            "/api/dataEntry/minMaxValues",
            "admin",
            &[("Content-Type", "application/json")],
            json!({"dataElement": MEASLES, "orgUnit": NGELEHUN, "optionCombo": DEFAULT_COC})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(mm().await, json!([]));
}

#[tokio::test]
async fn value_context_has_audits_and_history() {
    let t = demo();
    let post = |pe: &str, value: &str| {
        format!("/api/dataValues?de={MEASLES}&pe={pe}&ou={NGELEHUN}&value={value}")
    };
    for (pe, value) in [
        ("202312", "9"),
        ("202401", "10"),
        ("202401", "11"),
        ("202401", "12"),
        ("202301", "1"),
        ("202212", "2"),
    ] {
        let r = t.send("POST", &post(pe, value), "admin", &[], vec![]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let q = format!(
        "/api/dataEntry/dataValueContext?de={MEASLES}&pe=202401&ou={NGELEHUN}&co={DEFAULT_COC}"
    );
    let r = t.get(&q).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    // Newest first: the current value (synthetic UPDATE), then the stored audits, the
    // oldest labelled CREATE.
    let audits: Vec<(String, String)> = j["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["auditType"].as_str().unwrap().to_owned(),
                a["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        audits,
        vec![
            ("UPDATE".into(), "12".into()),
            ("UPDATE".into(), "11".into()),
            ("CREATE".into(), "10".into()),
        ]
    );
    let first = &j["audits"][0];
    assert_eq!(first["dataElement"], MEASLES);
    assert_eq!(first["period"], "202401");
    assert_eq!(first["orgUnit"], NGELEHUN);
    assert_eq!(first["categoryOptionCombo"], DEFAULT_COC);
    assert_eq!(first["attributeOptionCombo"], DEFAULT_COC);
    assert_eq!(first["modifiedBy"], "admin");
    // History: this period and the 12 before it (202212 is the 14th), by period.
    let history: Vec<(String, String)> = j["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["period"].as_str().unwrap().to_owned(),
                h["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            ("202301".into(), "1".into()),
            ("202312".into(), "9".into()),
            ("202401".into(), "12".into()),
        ]
    );

    // A value written once has one synthetic CREATE; a missing one has nothing.
    let r = t
        .get(&format!(
            "/api/dataEntry/dataValueContext?de={MEASLES}&pe=202312&ou={NGELEHUN}"
        ))
        .await;
    let a = &r.json()["audits"];
    assert_eq!(a.as_array().unwrap().len(), 1);
    assert_eq!(a[0]["auditType"], "CREATE");
    assert_eq!(a[0]["value"], "9");
    let r = t
        .get(&format!(
            "/api/dataEntry/dataValueContext?de={CHOLERA}&pe=202401&ou={NGELEHUN}&cc=&cp="
        ))
        .await;
    assert_eq!(r.json(), json!({"audits": [], "history": []}));

    // A deleted value: its DELETE audit, then a synthetic CREATE.
    let r = t
        .send(
            "DELETE",
            &format!("/api/dataValues?de={MEASLES}&pe=202212&ou={NGELEHUN}"),
            "admin",
            &[],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t
        .get(&format!(
            "/api/dataEntry/dataValueContext?de={MEASLES}&pe=202212&ou={NGELEHUN}"
        ))
        .await;
    let j = r.json();
    let types: Vec<&str> = j["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["auditType"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["DELETE", "CREATE"]);

    for (uri, code, message) in [
        (
            format!("/api/dataEntry/dataValueContext?pe=202401&ou={NGELEHUN}"),
            "E1100",
            "Data element not found or not accessible: `null`",
        ),
        (
            format!(
                "/api/dataEntry/dataValueContext?de={MEASLES}&pe=202401&ou={NGELEHUN}&co=nonexistent"
            ),
            "E1103",
            "Category option combo not found or not accessible: `nonexistent`",
        ),
        (
            format!("/api/dataEntry/dataValueContext?de={MEASLES}&pe=x&ou={NGELEHUN}"),
            "E1101",
            "Period is invalid: `x`",
        ),
    ] {
        assert_error(
            &t.get(&uri).await,
            StatusCode::CONFLICT,
            Some(code),
            message,
        );
    }
    let r = t
        .get_as(
            "importer",
            &format!("/api/dataEntry/dataValueContext?de={MEASLES}&pe=202401&ou={NJANDAMA}"),
        )
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2020"),
        "Organisation unit is not in the hierarchy of the current user: `g8upMTyEZGZ`",
    );
}

#[tokio::test]
async fn custom_forms_come_from_metadata() {
    let t = demo();
    let doc = json!({
        "dataEntryForms": [{"id": "deFormAAAA1", "name": "Mortality form", "style": "NORMAL",
                            "htmlCode": "<table><tr><td><input id=\"f7n9E0hX8qk-HllvX50cXC0-val\"/></td></tr></table>",
                            "format": 2}],
        "dataSets": [{"id": MORTALITY, "name": "Mortality < 5 years", "shortName": "Mortality < 5",
                      "periodType": "Monthly", "categoryCombo": {"id": "bjDvmb4bfuf"},
                      "version": 23, "formType": "CUSTOM",
                      "dataEntryForm": {"id": "deFormAAAA1"},
                      "dataSetElements": [{"dataElement": {"id": MEASLES}}],
                      "organisationUnits": [{"id": NGELEHUN}]}]
    });
    let r = post_json(&t, "admin", "/api/metadata", &doc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let expected = json!({"id": "deFormAAAA1", "dataSetId": MORTALITY, "version": 23,
        "displayDensity": "NORMAL",
        "form": "<table><tr><td><input id=\"f7n9E0hX8qk-HllvX50cXC0-val\"/></td></tr></table>"});
    let r = t
        .get(&format!("/api/dataEntry/customForms/{MORTALITY}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), expected);
    // The metadata bundle names the form.
    let m = t.get("/api/dataEntry/metadata").await.json();
    let ds = m["dataSets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == MORTALITY)
        .cloned()
        .unwrap();
    assert_eq!(ds["dataEntryForm"], json!({"id": "deFormAAAA1"}));
    assert_eq!(ds["formType"], "CUSTOM");

    // The form is metadata: readable as a collection, through the data set's reference
    // (as the app asks for it) and in the metadata export.
    let r = t
        .get(&format!(
            "/api/dataSets/{MORTALITY}?fields=formType,renderAsTabs,dataEntryForm[id,htmlCode,style]"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["dataEntryForm"],
        json!({"id": "deFormAAAA1", "style": "NORMAL", "htmlCode": expected["form"]})
    );
    let r = t
        .get("/api/dataEntryForms?fields=id,displayName,format")
        .await;
    assert_eq!(
        r.json()["dataEntryForms"],
        json!([{"id": "deFormAAAA1", "displayName": "Mortality form", "format": 2}])
    );
    let export = t.get("/api/metadata?dataEntryForms=true").await.json();
    assert_eq!(export["dataEntryForms"][0]["htmlCode"], expected["form"]);

    let r = t
        .get(&format!("/api/dataEntry/customForms/{MALARIA_SET}"))
        .await;
    assert_error(
        &r,
        StatusCode::NOT_FOUND,
        None,
        "Data set iczD3R7LCdM does not have a custom data entry form",
    );
    let r = t.get("/api/dataEntry/customForms/nonexistent").await;
    assert_error(
        &r,
        StatusCode::NOT_FOUND,
        None,
        "DataSet with id nonexistent could not be found.",
    );
    // A malformed form refuses the whole document.
    let bad = json!({"dataEntryForms": [{"name": "no id"}],
                     "dataElements": [{"id": "deNeverMade", "name": "x", "shortName": "x",
                        "valueType": "NUMBER", "domainType": "AGGREGATE", "aggregationType": "SUM"}]});
    let r = post_json(&t, "admin", "/api/metadata", &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(
        t.get("/api/dataElements/deNeverMade").await.status,
        StatusCode::NOT_FOUND
    );

    // A document holding only a form updates it.
    let only = json!({"dataEntryForms": [{"id": "deFormAAAA1", "name": "Mortality form",
                                          "style": "COMPACT", "htmlCode": "<p>v2</p>"}]});
    let r = post_json(&t, "admin", "/api/metadata", &only).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .get(&format!("/api/dataEntry/customForms/{MORTALITY}"))
        .await;
    assert_eq!(r.json()["form"], "<p>v2</p>");
    assert_eq!(r.json()["displayDensity"], "COMPACT");
    let expected = r.json();

    // Forms survive a restart.
    let t = TestApp::reopen(t.into_dir());
    let r = t
        .get(&format!("/api/dataEntry/customForms/{MORTALITY}"))
        .await;
    assert_eq!(r.json(), expected);
}

#[tokio::test]
async fn data_value_set_template() {
    let t = demo();
    let r = t
        .get(&format!(
            "/api/dataSets/{MORTALITY}/dataValueSet.json?period=202401&orgUnit={NGELEHUN}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let values = r.json()["dataValues"].as_array().unwrap().clone();
    assert_eq!(values.len(), 4, "one per element and COC");
    assert_eq!(
        values[3],
        json!({"dataElement": MEASLES, "categoryOptionCombo": DEFAULT_COC,
               "period": "202401", "orgUnit": NGELEHUN, "value": ""}),
        "sorted by element name: Accute…, Cholera, Dysentery, Measles"
    );

    // XML by default, with comments; codes on request; org unit left out without one.
    let r = t
        .get(&format!("/api/dataSets/{MALARIA_SET}/dataValueSet"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let xml = r.text();
    assert!(
        xml.contains("<!-- Data set: Malaria monthly (iczD3R7LCdM) -->"),
        "{xml}"
    );
    assert!(
        xml.contains("<!-- Data element: Malaria confirmed cases Female, <5y -->"),
        "{xml}"
    );
    assert!(!xml.contains("orgUnit="));
    assert!(xml.contains(r#"period="""#));
    let count = xml.matches("<dataValue ").count();
    assert_eq!(
        count,
        2 * 4 + 4,
        "two elements with 4 COCs, four with the default"
    );

    let r = t
        .get(&format!(
            "/api/dataSets/{MORTALITY}/dataValueSet.xml?orgUnit=Ngelehun%20CHC&orgUnit=unknown&comment=false&dataElementIdScheme=code&orgUnitIdScheme=CODE&period=202401"
        ))
        .await;
    let xml = r.text();
    assert!(!xml.contains("<!--"), "{xml}");
    assert_eq!(
        xml.matches("<dataValue ").count(),
        4,
        "unknown org units are skipped"
    );

    let r = t.get("/api/dataSets/nonexistent/dataValueSet").await;
    assert_error(
        &r,
        StatusCode::NOT_FOUND,
        None,
        "DataSet with id nonexistent could not be found.",
    );
}

/// A revalidation of the metadata bundle is answered from the bytes built for the same
/// catalog and user (not rebuilt); a metadata change builds a new bundle and tag, and
/// another user gets their own.
#[test]
fn metadata_bundles_are_kept_until_the_catalog_changes() {
    let t = demo();
    let users = t.app.users();
    let importer = users.get("importer").unwrap();
    let admin = users.get("admin").unwrap();
    let (first, tag) = t.app.data_entry_metadata_tagged(&importer).unwrap();
    let (again, same_tag) = t.app.data_entry_metadata_tagged(&importer).unwrap();
    assert_eq!(tag, same_tag);
    assert_eq!(
        first.as_ptr(),
        again.as_ptr(),
        "the kept bytes, not a rebuild"
    );
    let (other, other_tag) = t.app.data_entry_metadata_tagged(&admin).unwrap();
    assert_ne!(other.as_ptr(), first.as_ptr());
    assert_ne!(other_tag, tag);

    let report = t
        .app
        .import_metadata(
            r#"{"dataElements": [{"id": "deExpElem01", "name": "DE expiring element, renamed",
               "shortName": "DE expiring", "valueType": "INTEGER", "domainType": "AGGREGATE",
               "aggregationType": "SUM", "categoryCombo": {"id": "bjDvmb4bfuf"}}]}"#,
        )
        .unwrap();
    assert!(report.errors().next().is_none());
    let (rebuilt, new_tag) = t.app.data_entry_metadata_tagged(&importer).unwrap();
    assert_ne!(new_tag, tag, "the rename is in the importer's bundle");
    assert!(
        String::from_utf8_lossy(&rebuilt).contains("DE expiring element, renamed"),
        "rebuilt from the new catalog"
    );
}

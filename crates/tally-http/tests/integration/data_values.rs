//! `/api/dataValues` and the follow-up `PUT`s (spec §6.1–§6.5), on the demo metadata,
//! plus tally's versions (`ETag`, `If-Match`, `baseVersion`).

use axum::http::StatusCode;
use tally_core::import::period_key;
use tally_domain::import::AuditType;
use tally_domain::metadata::LookupScheme;
use tally_domain::period::Period;
use tally_store::ValueKey;

use crate::harness::{Resp, TestApp};

/// Measles (NUMBER, zero not significant) in "Mortality < 5 years": no expiry, no input
/// periods, no future periods.
const MEASLES: &str = "f7n9E0hX8qk";
const CHOLERA: &str = "eY5ehpbEsB7";
const NGELEHUN: &str = "DiszpKrYNg8";
const MORTALITY: &str = "pBOMPrpg1QX";
/// Malaria monthly: expiry 15 days, input periods only in early 2024, attribute combo
/// "Implementing partner".
const MALARIA_SET: &str = "iczD3R7LCdM";
const MAL_CONF: &str = "GJMZgooJutm";
const PARTNERS: &str = "jdrs3jyhqzo";
const MOH: &str = "R01Rchx3Hqn";
/// "Health Access partner": 2020-01-01 to 2025-12-31, Bo only.
const HAP: &str = "Z9LkVUUT5Br";
/// Extra elements of the test data set below.
const TRUE_ONLY: &str = "dvTrueOnly1";
const ZERO_COUNTS: &str = "dvZeroSig01";

/// A data set without locks holding a TRUE_ONLY element and an INTEGER element whose
/// zeros are significant.
const EXTRA_METADATA: &str = r#"{
  "dataElements": [
    {"id": "dvTrueOnly1", "name": "DV true only", "shortName": "DV true only",
     "valueType": "TRUE_ONLY", "domainType": "AGGREGATE", "aggregationType": "SUM",
     "zeroIsSignificant": false, "categoryCombo": {"id": "bjDvmb4bfuf"}},
    {"id": "dvZeroSig01", "name": "DV zero counts", "shortName": "DV zero counts",
     "valueType": "INTEGER", "domainType": "AGGREGATE", "aggregationType": "SUM",
     "zeroIsSignificant": true, "categoryCombo": {"id": "bjDvmb4bfuf"}}
  ],
  "dataSets": [
    {"id": "dvTestSet01", "name": "DV test set", "shortName": "DV test set",
     "periodType": "Monthly", "categoryCombo": {"id": "bjDvmb4bfuf"},
     "expiryDays": 0, "openFuturePeriods": 0,
     "dataSetElements": [{"dataElement": {"id": "dvTrueOnly1"}},
                         {"dataElement": {"id": "dvZeroSig01"}}],
     "organisationUnits": [{"id": "DiszpKrYNg8"}]}
  ]
}"#;

fn demo() -> TestApp {
    TestApp::demo_with(EXTRA_METADATA)
}

async fn post(t: &TestApp, query: &str) -> Resp {
    t.send(
        "POST",
        &format!("/api/dataValues?{query}"),
        "admin",
        &[],
        vec![],
    )
    .await
}

async fn get(t: &TestApp, query: &str) -> Resp {
    t.send(
        "GET",
        &format!("/api/dataValues?{query}"),
        "admin",
        &[],
        vec![],
    )
    .await
}

async fn delete(t: &TestApp, query: &str) -> Resp {
    t.send(
        "DELETE",
        &format!("/api/dataValues?{query}"),
        "admin",
        &[],
        vec![],
    )
    .await
}

async fn put_json(t: &TestApp, path: &str, body: &str) -> Resp {
    t.send(
        "PUT",
        path,
        "admin",
        &[("Content-Type", "application/json")],
        body.as_bytes().to_vec(),
    )
    .await
}

fn key_query(de: &str, pe: &str) -> String {
    format!("de={de}&pe={pe}&ou={NGELEHUN}")
}

fn etag(r: &Resp) -> i64 {
    r.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {} {}", r.status, r.text()))
        .trim_matches('"')
        .parse()
        .unwrap()
}

/// The storage key of a value with the default COC and AOC.
fn key(t: &TestApp, de: &str, pe: &str) -> ValueKey {
    let snap = t.app.snapshot();
    let default = snap.defaults().category_option_combo.0;
    ValueKey {
        period: period_key(Period::parse(pe).unwrap()),
        org_unit: snap.org_unit_id(LookupScheme::Uid, NGELEHUN).unwrap().0,
        data_element: snap.data_element_id(LookupScheme::Uid, de).unwrap().0,
        category_option_combo: default,
        attribute_option_combo: default,
    }
}

fn audits(t: &TestApp, de: &str, pe: &str) -> Vec<(AuditType, Option<String>, String)> {
    t.app
        .store()
        .audits(&key(t, de, pe))
        .unwrap()
        .into_iter()
        .map(|a| (a.audit_type, a.value, a.modified_by))
        .collect()
}

/// The exported row (live or deleted) of a value.
async fn exported(t: &TestApp, de: &str, pe: &str) -> Option<serde_json::Value> {
    let r = t
        .get(&format!(
            "/api/dataValueSets.json?dataElement={de}&period={pe}&orgUnit={NGELEHUN}&includeDeleted=true"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["dataValues"]
        .as_array()
        .and_then(|a| a.first().cloned())
}

fn assert_error(r: &Resp, status: StatusCode, code: Option<&str>, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let j = r.json();
    assert_eq!(j["status"], "ERROR", "{j}");
    assert_eq!(j["httpStatusCode"], status.as_u16(), "{j}");
    assert_eq!(j["errorCode"].as_str(), code, "{j}");
    assert_eq!(j["message"], message, "{j}");
}

#[tokio::test]
async fn post_get_update_and_delete_round_trip() {
    let t = demo();
    let q = key_query(MEASLES, "202401");
    let r = post(&t, &format!("{q}&value=12&comment=first")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.body.is_empty(), "201 has an empty body");
    let v1 = etag(&r);
    assert!(v1 > 0);

    let r = get(&t, &q).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), serde_json::json!(["12"]));
    assert_eq!(etag(&r), v1);
    assert!(r.header("cache-control").unwrap().contains("no-store"));
    let row = exported(&t, MEASLES, "202401").await.unwrap();
    assert_eq!(row["storedBy"], "admin");
    assert_eq!(row["comment"], "first");
    assert!(
        audits(&t, MEASLES, "202401").is_empty(),
        "no audit on create"
    );

    // Only the value is sent: the comment stays.
    let r = post(&t, &format!("{q}&value=13")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v2 = etag(&r);
    assert!(v2 > v1);
    let row = exported(&t, MEASLES, "202401").await.unwrap();
    assert_eq!(
        (&row["value"], &row["comment"]),
        (&"13".into(), &"first".into())
    );
    assert_eq!(
        audits(&t, MEASLES, "202401"),
        vec![(AuditType::Update, Some("12".into()), "admin".into())]
    );

    let r = delete(&t, &q).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(etag(&r) > v2);
    assert_error(
        &get(&t, &q).await,
        StatusCode::CONFLICT,
        None,
        "Data value does not exist",
    );
    let row = exported(&t, MEASLES, "202401").await.unwrap();
    assert_eq!(row["deleted"], true, "soft delete keeps the row: {row}");
    assert_eq!(row["value"], "13");
    assert_error(
        &delete(&t, &q).await,
        StatusCode::CONFLICT,
        None,
        "Data value cannot be deleted because it does not exist",
    );

    // Re-creating over the soft-deleted row: a CREATE audit (single-value API only).
    assert_eq!(
        post(&t, &format!("{q}&value=20")).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        audits(&t, MEASLES, "202401"),
        vec![
            (AuditType::Create, Some("20".into()), "admin".into()),
            (AuditType::Delete, Some("13".into()), "admin".into()),
            (AuditType::Update, Some("12".into()), "admin".into()),
        ]
    );
    assert_eq!(t.count(), 1, "one row per key");
}

#[tokio::test]
async fn form_multipart_and_json_bodies_are_the_same_request() {
    let t = demo();
    // application/x-www-form-urlencoded, fields split between query and body.
    let r = t
        .send(
            "POST",
            &format!("/api/dataValues?de={MEASLES}&pe=202401"),
            "admin",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("ou={NGELEHUN}&value=1&comment=a+b%26c&ds={MORTALITY}").into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // multipart/form-data, as the DHIS2 web app sends it.
    let boundary = "----tallyBoundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value) in [
        ("de", MEASLES),
        ("co", "HllvX50cXC0"),
        ("ds", MORTALITY),
        ("ou", NGELEHUN),
        ("pe", "202402"),
        ("value", "2"),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let r = t
        .send(
            "POST",
            "/api/dataValues",
            "admin",
            &[(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )],
            body.into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // The JSON DataValueDto (numbers bind to the string value; the default attribute
    // combo as the app sends it; storedBy and dates ignored).
    let json = format!(
        r#"{{"dataElement":"{MEASLES}","period":"202403","orgUnit":"{NGELEHUN}",
            "categoryOptionCombo":"HllvX50cXC0","attribute":{{}},"dataSet":"{MORTALITY}",
            "value":3,"comment":"Good","followUp":true,"force":false,
            "storedBy":"someone","created":"2020-01-01","unknown":1}}"#
    );
    let r = t
        .send(
            "POST",
            "/api/41/dataValues",
            "admin",
            &[("Content-Type", "application/json")],
            json.into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // JSON content type with an empty body: the query parameters count.
    let r = t
        .send(
            "POST",
            &format!("/api/dataValues?{}&value=4", key_query(MEASLES, "202404")),
            "admin",
            &[("Content-Type", "application/json")],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    for (pe, value) in [
        ("202401", "1"),
        ("202402", "2"),
        ("202403", "3"),
        ("202404", "4"),
    ] {
        let r = get(&t, &key_query(MEASLES, pe)).await;
        assert_eq!(r.json(), serde_json::json!([value]), "{pe}");
    }
    let first = exported(&t, MEASLES, "202401").await.unwrap();
    assert_eq!(first["comment"], "a b&c");
    let json_row = exported(&t, MEASLES, "202403").await.unwrap();
    assert_eq!(json_row["storedBy"], "admin");
    assert_eq!(json_row["followup"], true);
    assert_eq!(json_row["comment"], "Good");

    // Broken bodies are 400s that change nothing.
    let r = t
        .send(
            "POST",
            "/api/dataValues",
            "admin",
            &[("Content-Type", "application/json")],
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = t
        .send(
            "POST",
            "/api/dataValues",
            "admin",
            &[("Content-Type", "application/json")],
            br#"{"dataElement":["x"]}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = t
        .send(
            "POST",
            "/api/dataValues",
            "admin",
            &[("Content-Type", "multipart/form-data; boundary=x")],
            b"garbage".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(t.count(), 4);
}

#[tokio::test]
async fn identifier_errors_follow_dhis2s_order_and_codes() {
    let t = demo();
    let year = jiff::Zoned::now().year();
    let base = format!("de={MEASLES}&pe=202401&ou={NGELEHUN}");
    let cases: Vec<(String, &str, String)> = vec![
        (
            format!("de=nonExisting&pe=202401&ou={NGELEHUN}&co=bad&value=1"),
            "E1100",
            "Data element not found or not accessible: `nonExisting`".into(),
        ),
        (
            format!("{base}&co=nonExisting&cc=bad&value=1"),
            "E1103",
            "Category option combo not found or not accessible: `nonExisting`".into(),
        ),
        (
            format!("{base}&cc={PARTNERS}&value=1"),
            "E2040",
            "Both category combination and category options must be specified".into(),
        ),
        (
            format!("{base}&cp={MOH}&value=1"),
            "E2040",
            "Both category combination and category options must be specified".into(),
        ),
        (
            format!("{base}&cc=nonExisting&cp={MOH}&value=1"),
            "E1110",
            "Category combo not found or not accessible: `nonExisting`".into(),
        ),
        (
            format!("{base}&cc={PARTNERS}&cp={MOH};nonExisting&value=1"),
            "E1111",
            "Category option not found or not accessible: `nonExisting`".into(),
        ),
        (
            format!("{base}&cc={PARTNERS}&cp=G1v838YHREQ&value=1"),
            "E2041",
            "Attribute option combo does not exist for given category combo and category options"
                .into(),
        ),
        (
            format!("de={MEASLES}&pe=2024W60&ou=nonExisting&value=1"),
            "E1101",
            "Period is invalid: `2024W60`".into(),
        ),
        (
            format!("de={MEASLES}&pe=202401&ou=nonExisting&value=1"),
            "E1102",
            "Organisation unit not found or not accessible: `nonExisting`".into(),
        ),
        // Old Baoma Koya MCHP closed at the end of 2015.
        (
            format!("de={MEASLES}&pe=202401&ou=MJnpwk2fYkT&ds=nonExisting&value=1"),
            "E2019",
            "Organisation unit is closed for the selected period: `MJnpwk2fYkT`".into(),
        ),
        (
            format!("{base}&ds=nonExisting&value=1"),
            "E1105",
            "Data set not found or not accessible: `nonExisting`".into(),
        ),
        (
            format!("{base}&ds=mT9j5hiveR5&value=1"),
            "E2021",
            format!("Data set: `mT9j5hiveR5` does not contain data element: `{MEASLES}`"),
        ),
        // The period window checks come before the value checks.
        (
            format!("de={MEASLES}&pe={}01&ou={NGELEHUN}&value=abc", year + 1),
            "E2022",
            format!(
                "Period: `{}01` is after latest open future period: `[latest]` for data element: `{MEASLES}`",
                year + 1
            ),
        ),
        (
            format!("de={MAL_CONF}&pe=201901&ou={NGELEHUN}&cc={PARTNERS}&cp={HAP}&value=abc"),
            "E2023",
            format!(
                "Period: `201901` is before start date: 2020-01-01 for attribute option: `{HAP}`"
            ),
        ),
        // End date 2025-12-31 extended by the data set's 2 openPeriodsAfterCoEndDate.
        (
            format!("de={MAL_CONF}&pe=202604&ou={NGELEHUN}&cc={PARTNERS}&cp={HAP}&value=1"),
            "E2024",
            format!(
                "Period: `202604` is after start date: 2026-02-28 for attribute option: `{HAP}`"
            ),
        ),
        (
            format!("{base}&value=abc"),
            "E2030",
            "Data value must match data element value type: `NUMBER`".into(),
        ),
        (
            format!("de={TRUE_ONLY}&pe=202401&ou={NGELEHUN}&value=false"),
            "E2030",
            "Data value must match data element value type: `TRUE_ONLY`".into(),
        ),
        // Stock-out (option set Y/N) is only in the malaria set, whose locks come later.
        (
            format!("de=zkBZHKtdSKn&pe=202401&ou={NGELEHUN}&cc={PARTNERS}&cp={MOH}&value=X"),
            "E2029",
            "Data value is not a valid option of the data element option set: `zkBZHKtdSKn`".into(),
        ),
        // The admin holds ALL (so F_EDIT_EXPIRED): expiry passes, the input period does
        // not, and force does not bypass it.
        (
            format!(
                "de={MAL_CONF}&pe=202401&ou={NGELEHUN}&cc={PARTNERS}&cp={MOH}&value=1&force=true"
            ),
            "E2025",
            format!("Period: `202401` is not open for data set: `{MALARIA_SET}`"),
        ),
        // Without an attribute combo of the malaria set, no data set is a target; the
        // element's data sets are all closed for input (DHIS2 answers 500 here).
        (
            format!("de={MAL_CONF}&pe=202401&ou={NGELEHUN}&value=1"),
            "E2025",
            format!("Period: `202401` is not open for data set: `{MALARIA_SET}`"),
        ),
        // Options restricted to Bo: a bulk check (E7639) the single API keeps.
        (
            format!("de={MAL_CONF}&pe=202401&ou=MI8VIHW2ss3&cc={PARTNERS}&cp={HAP}&value=1"),
            "E7639",
"Organisation unit: `MI8VIHW2ss3` is not valid for attribute option combo: `rJd6yUuSNzh`"
                .into(),
        ),
    ];
    let latest = Period::containing(
        tally_domain::period::PeriodType::Monthly,
        jiff::Zoned::now().date(),
    )
    .and_then(Period::previous)
    .unwrap()
    .to_string();
    t.redact(&format!("{}01", year + 1), "[next year]01");
    t.redact(&format!("`{latest}`"), "`[latest]`");
    for (query, code, message) in &cases {
        let r = post(&t, query).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{query}: {}", r.text());
        let message = message.replace("[latest]", &latest);
        assert_error(&r, StatusCode::CONFLICT, Some(code), &message);
    }
    // A comment over 50,000 characters (in a form body, to keep the transcript short).
    let r = t
        .send(
            "POST",
            "/api/dataValues",
            "admin",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("{base}&value=1&comment={}", "x".repeat(50_001)).into_bytes(),
        )
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2028"),
        "Comment is invalid: `comment_length_greater_than_max_length`",
    );
    assert_eq!(t.count(), 0, "nothing was written");
}

#[tokio::test]
async fn expiry_locks_non_superusers_and_force_is_for_superusers_only() {
    let t = demo();
    let q = format!("de={MAL_CONF}&pe=202401&ou={NGELEHUN}&cc={PARTNERS}&cp={MOH}&value=1");
    for query in [q.clone(), format!("{q}&force=true")] {
        let r = t
            .send(
                "POST",
                &format!("/api/dataValues?{query}"),
                "importer",
                &[],
                vec![],
            )
            .await;
        assert_error(
            &r,
            StatusCode::CONFLICT,
            Some("E2017"),
            "Data set is locked",
        );
    }
    let r = t
        .send(
            "DELETE",
            &format!("/api/dataValues?{q}"),
            "importer",
            &[],
            vec![],
        )
        .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2017"),
        "Data set is locked",
    );
}

#[tokio::test]
async fn authorities_and_hierarchy() {
    let t = demo();
    let q = format!("{}&value=1", key_query(MEASLES, "202401"));
    for method in ["POST", "DELETE"] {
        let r = t
            .send(
                method,
                &format!("/api/dataValues?{q}"),
                "reader",
                &[],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method}: {}", r.text());
    }
    // Reading needs no authority.
    let r = t
        .send(
            "GET",
            &format!("/api/dataValues?{q}"),
            "reader",
            &[],
            vec![],
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, None, "Data value does not exist");
    let r = t
        .send("GET", "/api/dataValues?de=x", "nobody", &[], vec![])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Njandama MCHP is outside the importer's capture units.
    let outside = format!("de={MEASLES}&pe=202401&ou=g8upMTyEZGZ&value=1");
    for method in ["POST", "GET", "DELETE"] {
        let r = t
            .send(
                method,
                &format!("/api/dataValues?{outside}"),
                "importer",
                &[],
                vec![],
            )
            .await;
        assert_error(
            &r,
            StatusCode::CONFLICT,
            Some("E2020"),
            "Organisation unit is not in the hierarchy of the current user: `g8upMTyEZGZ`",
        );
    }
    // Missing key parameters in the parameter form: 400 (DHIS2 maps no handler).
    let r = post(&t, &format!("de={MEASLES}&pe=202401&value=1")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = post(&t, &format!("{q}&followUp=maybe")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // GET and DELETE without a data element: E1100 for `null`, as DHIS2.
    assert_error(
        &get(&t, "pe=202401").await,
        StatusCode::CONFLICT,
        Some("E1100"),
        "Data element not found or not accessible: `null`",
    );
    assert_eq!(t.count(), 0);
}

#[tokio::test]
async fn blank_zero_and_comment_only_values() {
    let t = demo();
    let q = key_query(MEASLES, "202401");
    // New blank or insignificant zero: 201, nothing stored.
    for value in ["", "0", "0.000"] {
        let r = post(&t, &format!("{q}&value={value}")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{value}: {}", r.text());
        assert_eq!(etag(&r), 0, "no row");
    }
    assert_eq!(t.count(), 0);
    // A zero of a zero-significant element is stored.
    let r = post(&t, &format!("{}&value=0", key_query(ZERO_COUNTS, "202401"))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        get(&t, &key_query(ZERO_COUNTS, "202401")).await.json(),
        serde_json::json!(["0"])
    );
    // Comment only.
    let r = post(&t, &format!("{q}&comment=not+reported")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(get(&t, &q).await.json(), serde_json::json!([null]));
    let row = exported(&t, MEASLES, "202401").await.unwrap();
    assert_eq!(row["comment"], "not reported");
    // A value next to the comment, then an empty value: the comment keeps the row.
    post(&t, &format!("{q}&value=5")).await;
    post(&t, &format!("{q}&value=")).await;
    assert_eq!(get(&t, &q).await.json(), serde_json::json!([null]));
    // Clearing the comment too deletes the row (DELETE audit of the last value).
    let r = post(&t, &format!("{q}&comment=")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(get(&t, &q).await.status, StatusCode::CONFLICT);
    // A zero over a live value deletes it.
    post(&t, &format!("{}&value=3", key_query(CHOLERA, "202401"))).await;
    post(&t, &format!("{}&value=0", key_query(CHOLERA, "202401"))).await;
    assert_eq!(
        get(&t, &key_query(CHOLERA, "202401")).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        audits(&t, CHOLERA, "202401"),
        vec![(AuditType::Delete, Some("3".into()), "admin".into())]
    );
}

#[tokio::test]
async fn true_only_values_are_deleted_by_an_empty_post() {
    let t = demo();
    let q = key_query(TRUE_ONLY, "202401");
    // Boolean spellings are normalised before storage.
    let r = post(&t, &format!("{q}&value=T")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(get(&t, &q).await.json(), serde_json::json!(["true"]));
    let r = post(&t, &q).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(get(&t, &q).await.status, StatusCode::CONFLICT);
    assert_eq!(
        audits(&t, TRUE_ONLY, "202401"),
        vec![(AuditType::Delete, Some("true".into()), "admin".into())]
    );
}

#[tokio::test]
async fn follow_up_toggles_on_post_and_is_set_by_put() {
    let t = demo();
    let q = key_query(MEASLES, "202401");
    post(&t, &format!("{q}&value=7")).await;
    let flag = |t: &TestApp| {
        let t = t.app.clone();
        move || {
            let snap = t.snapshot();
            let default = snap.defaults().category_option_combo.0;
            let k = ValueKey {
                period: period_key(Period::parse("202401").unwrap()),
                org_unit: snap.org_unit_id(LookupScheme::Uid, NGELEHUN).unwrap().0,
                data_element: snap.data_element_id(LookupScheme::Uid, MEASLES).unwrap().0,
                category_option_combo: default,
                attribute_option_combo: default,
            };
            t.store().get_value(&k).unwrap().unwrap().followup
        }
    };
    let followup = flag(&t);
    // Any followUp on POST toggles (DHIS2 quirk), even followUp=false.
    post(&t, &format!("{q}&followUp=false")).await;
    assert!(followup());
    post(&t, &format!("{q}&followUp=true")).await;
    assert!(!followup());
    // PUT sets.
    let one = format!(
        r#"{{"dataElement":"{MEASLES}","period":"202401","orgUnit":"{NGELEHUN}","followup":true}}"#
    );
    for _ in 0..2 {
        let r = put_json(&t, "/api/dataValues/followup", &one).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(r.body.is_empty());
        assert!(followup(), "set, not toggled");
    }
    assert!(audits(&t, MEASLES, "202401").is_empty(), "no audit");
    // Bulk, with the AOC by UID and by attribute combo + options.
    post(&t, &format!("{}&value=8", key_query(CHOLERA, "202401"))).await;
    let many = format!(
        r#"{{"values":[
          {{"dataElement":"{MEASLES}","period":"202401","orgUnit":"{NGELEHUN}",
            "categoryOptionCombo":"HllvX50cXC0","attributeOptionCombo":"HllvX50cXC0","followup":false}},
          {{"dataElement":"{CHOLERA}","period":"202401","orgUnit":"{NGELEHUN}",
            "attribute":{{"combo":"bjDvmb4bfuf","options":["xYerKDKCefk"]}},"followup":true}}]}}"#
    );
    let r = put_json(&t, "/api/dataValues/followups", &many).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!followup());
    assert_eq!(
        exported(&t, CHOLERA, "202401").await.unwrap()["followup"],
        true
    );
}

#[tokio::test]
async fn follow_up_errors_change_nothing() {
    let t = demo();
    post(&t, &format!("{}&value=7", key_query(MEASLES, "202401"))).await;
    let e2033 = "Follow-up must be specified";
    for body in ["{}", "", "null", r#"{"dataElement":"f7n9E0hX8qk"}"#] {
        let r = put_json(&t, "/api/dataValues/followup", body).await;
        assert_error(&r, StatusCode::CONFLICT, Some("E2033"), e2033);
    }
    for body in [
        "{}",
        "",
        r#"{"values":null}"#,
        r#"{"values":[]}"#,
        r#"{"values":[{"dataElement":"f7n9E0hX8qk","period":"202401","orgUnit":"DiszpKrYNg8"}]}"#,
    ] {
        let r = put_json(&t, "/api/dataValues/followups", body).await;
        assert_error(&r, StatusCode::CONFLICT, Some("E2033"), e2033);
    }
    let missing = format!(
        r#"{{"dataElement":"{MEASLES}","period":"202402","orgUnit":"{NGELEHUN}","followup":true}}"#
    );
    let r = put_json(&t, "/api/dataValues/followup", &missing).await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2032"),
        "Data value not found or not accessible",
    );
    // One missing value fails the whole request: the existing one is not flagged.
    let present = format!(
        r#"{{"dataElement":"{MEASLES}","period":"202401","orgUnit":"{NGELEHUN}","followup":true}}"#
    );
    let r = put_json(
        &t,
        "/api/dataValues/followups",
        &format!(r#"{{"values":[{present},{missing}]}}"#),
    )
    .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E2032"),
        "Data value not found or not accessible",
    );
    assert_eq!(
        exported(&t, MEASLES, "202401").await.unwrap()["followup"],
        false
    );
    let r = put_json(
        &t,
        "/api/dataValues/followup",
        r#"{"dataElement":"nonExisting","period":"202401","orgUnit":"DiszpKrYNg8","followup":true}"#,
    )
    .await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        Some("E1100"),
        "Data element not found or not accessible: `nonExisting`",
    );
    let r = put_json(&t, "/api/dataValues/followup", "{broken").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stale_base_versions_are_refused_with_the_current_value() {
    let t = demo();
    let q = key_query(MEASLES, "202401");
    let uri = |extra: &str| format!("/api/dataValues?{q}{extra}");
    // "0": create only if there is no value.
    let r = t
        .send(
            "POST",
            &uri("&value=5"),
            "admin",
            &[("If-Match", "\"0\"")],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v1 = etag(&r);
    // The importer updates from v1.
    let r = t
        .send(
            "POST",
            &uri("&value=6&comment=checked"),
            "importer",
            &[("If-Match", &format!("\"{v1}\""))],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v2 = etag(&r);
    assert!(v2 > v1);
    // The admin, still at v1, is refused and told what is stored now.
    let r = t
        .send(
            "POST",
            &uri("&value=9"),
            "admin",
            &[("If-Match", &format!("W/\"{v1}\""))],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(etag(&r), v2);
    let j = r.json();
    insta::assert_json_snapshot!("stale_write_conflict", j, {
        ".response.created" => "[timestamp]",
        ".response.lastUpdated" => "[timestamp]",
    });
    assert_eq!(j["errorCode"], "VERSION_CONFLICT");
    assert_eq!(j["status"], "ERROR");
    let current = &j["response"];
    assert_eq!(current["responseType"], "DataValue");
    assert_eq!(current["value"], "6");
    assert_eq!(current["comment"], "checked");
    assert_eq!(current["storedBy"], "importer");
    assert_eq!(current["lastUpdatedBy"], "importer");
    assert_eq!(current["version"], v2);
    assert_eq!(current["baseVersion"], v1);
    assert!(
        current["lastUpdated"].as_str().unwrap().len() == 23,
        "{current}"
    );
    // The same through the baseVersion parameter and the JSON body.
    let r = post(&t, &format!("{q}&value=9&baseVersion={v1}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let json = format!(
        r#"{{"dataElement":"{MEASLES}","period":"202401","orgUnit":"{NGELEHUN}","value":"9","baseVersion":"{v1}"}}"#
    );
    let r = t
        .send(
            "POST",
            "/api/dataValues",
            "admin",
            &[("Content-Type", "application/json")],
            json.into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = t
        .send(
            "POST",
            &uri("&value=9"),
            "admin",
            &[("If-Match", "\"0\"")],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "\"0\" means no value");
    let r = t
        .send(
            "DELETE",
            &uri(""),
            "admin",
            &[("If-Match", &format!("\"{v1}\""))],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Nothing of that was written.
    assert_eq!(get(&t, &q).await.json(), serde_json::json!(["6"]));
    assert_eq!(etag(&get(&t, &q).await), v2);
    assert_eq!(
        audits(&t, MEASLES, "202401").len(),
        1,
        "only the importer's update"
    );
    // Without a base version the last writer wins, as in DHIS2.
    let r = post(&t, &format!("{q}&value=9")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v3 = etag(&r);
    // A delete based on the current version, and its replay.
    let delete_from = |v: i64| {
        let t = &t;
        let uri = uri("");
        async move {
            t.send(
                "DELETE",
                &uri,
                "admin",
                &[("If-Match", &format!("\"{v}\""))],
                vec![],
            )
            .await
        }
    };
    let r = delete_from(v3).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let v4 = etag(&r);
    let r = delete_from(v3).await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "a versioned delete is idempotent"
    );
    assert_eq!(etag(&r), v4);
    // Malformed versions are 400s.
    let r = t
        .send(
            "POST",
            &uri("&value=1"),
            "admin",
            &[("If-Match", "\"a\"")],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(&t, &format!("{q}&value=1&baseVersion=-3")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn identical_replays_are_idempotent() {
    let t = demo();
    let q = key_query(MEASLES, "202401");
    let v1 = etag(&post(&t, &format!("{q}&value=5&comment=c")).await);
    let r = post(&t, &format!("{q}&value=6&comment=c")).await;
    let v2 = etag(&r);
    let before = exported(&t, MEASLES, "202401").await.unwrap();
    // The same write again, with and without its (now stale) base version.
    for headers in [vec![], vec![("If-Match", format!("\"{v1}\""))]] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = t
            .send(
                "POST",
                &format!("/api/dataValues?{q}&value=6&comment=c"),
                "admin",
                &headers,
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(etag(&r), v2, "version unchanged");
    }
    assert_eq!(exported(&t, MEASLES, "202401").await.unwrap(), before);
    assert_eq!(
        audits(&t, MEASLES, "202401"),
        vec![(AuditType::Update, Some("5".into()), "admin".into())],
        "no second audit row"
    );
    // A bulk re-import of the same value is ignored and keeps the version too.
    let body = format!(
        r#"{{"dataValues":[{{"dataElement":"{MEASLES}","period":"202401","orgUnit":"{NGELEHUN}","value":"6","comment":"c"}}]}}"#
    );
    let r = t
        .post("/api/dataValueSets", "application/json", body.into_bytes())
        .await;
    assert_eq!(r.json()["response"]["importCount"]["ignored"], 1);
    assert_eq!(etag(&get(&t, &q).await), v2);
}

#[tokio::test]
async fn single_and_bulk_share_one_validation() {
    let t = demo();
    // Rejected by both.
    for value in ["abc", "1e400x"] {
        let r = post(
            &t,
            &format!("{}&value={value}", key_query(MEASLES, "202401")),
        )
        .await;
        assert_eq!(r.json()["errorCode"], "E2030");
        let body = format!(
            r#"{{"dataValues":[{{"dataElement":"{MEASLES}","period":"202401","orgUnit":"{NGELEHUN}","value":"{value}"}}]}}"#
        );
        let s = t
            .post("/api/dataValueSets", "application/json", body.into_bytes())
            .await
            .json();
        assert_eq!(s["response"]["conflicts"][0]["errorCode"], "E7619", "{s}");
    }
    // Accepted by the single API, seen by the bulk export and the other way round.
    post(&t, &format!("{}&value=12.5", key_query(MEASLES, "202401"))).await;
    let row = exported(&t, MEASLES, "202401").await.unwrap();
    assert_eq!(row["value"], "12.5");
    let body = format!(
        r#"{{"dataValues":[{{"dataElement":"{CHOLERA}","period":"202401","orgUnit":"{NGELEHUN}","value":"4"}}]}}"#
    );
    t.post("/api/dataValueSets", "application/json", body.into_bytes())
        .await;
    assert_eq!(
        get(&t, &key_query(CHOLERA, "202401")).await.json(),
        serde_json::json!(["4"])
    );
}

#[tokio::test]
async fn audit_trail_is_readable_through_the_audit_api() {
    let t = demo();
    let measles = key_query(MEASLES, "202401");
    for step in ["&value=5", "&value=6", "", "&value=7"] {
        let r = if step.is_empty() {
            delete(&t, &measles).await
        } else {
            post(&t, &format!("{measles}{step}")).await
        };
        assert!(r.status.is_success(), "{}", r.text());
    }
    let cholera = key_query(CHOLERA, "202402");
    post(&t, &format!("{cholera}&value=1")).await;
    post(&t, &format!("{cholera}&value=2")).await;
    // Comment and follow-up changes are not audited.
    post(&t, &format!("{cholera}&comment=x&followUp=true")).await;

    let audits = |query: &str| {
        let t = &t;
        let uri = format!("/api/audits/dataValue?{query}");
        async move {
            let r = t.get(&uri).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
            r.json()
        }
    };
    let all = audits("").await;
    assert_eq!(
        all["pager"],
        serde_json::json!({"page": 1, "pageCount": 1, "total": 4, "pageSize": 50})
    );
    let rows = all["dataValueAudits"].as_array().unwrap();
    let summary: Vec<_> = rows
        .iter()
        .map(|a| {
            (
                a["dataElement"]["id"].as_str().unwrap(),
                a["period"]["id"].as_str().unwrap(),
                a["auditType"].as_str().unwrap(),
                a["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (CHOLERA, "202402", "UPDATE", "1"),
            (MEASLES, "202401", "CREATE", "7"),
            (MEASLES, "202401", "DELETE", "6"),
            (MEASLES, "202401", "UPDATE", "5"),
        ],
        "newest first"
    );
    assert_eq!(rows[0]["organisationUnit"]["id"], NGELEHUN);
    assert_eq!(rows[0]["categoryOptionCombo"]["id"], "HllvX50cXC0");
    assert_eq!(rows[0]["attributeOptionCombo"]["id"], "HllvX50cXC0");
    assert_eq!(rows[0]["modifiedBy"], "admin");
    let count = |j: &serde_json::Value| j["dataValueAudits"].as_array().unwrap().len();
    for (query, n) in [
        (format!("de={CHOLERA}"), 1),
        (format!("de={MEASLES},{CHOLERA}"), 4),
        ("auditType=DELETE".to_owned(), 1),
        ("auditType=update&auditType=CREATE".to_owned(), 3),
        (format!("pe=202401&ou={NGELEHUN}"), 3),
        (format!("ds={MORTALITY}"), 4),
        (format!("ds=mT9j5hiveR5&de={CHOLERA}"), 1),
        ("co=HllvX50cXC0&cc=HllvX50cXC0".to_owned(), 4),
        ("de=nonExisting".to_owned(), 0),
        ("cc=nonExisting".to_owned(), 0),
    ] {
        assert_eq!(count(&audits(&query).await), n, "{query}");
    }
    let page = audits("pageSize=3&page=2").await;
    assert_eq!(
        page["pager"],
        serde_json::json!({"page": 2, "pageCount": 2, "total": 4, "pageSize": 3})
    );
    assert_eq!(page["dataValueAudits"][0]["value"], "5");
    let unpaged = audits("skipPaging=true").await;
    assert!(unpaged.get("pager").is_none());
    assert_eq!(count(&unpaged), 4);
    assert_eq!(count(&audits("paging=false").await), 4);
    let r = t.get("/api/audits/dataValue?pe=2024W60").await;
    assert_error(
        &r,
        StatusCode::CONFLICT,
        None,
        "Illegal period identifier: 2024W60",
    );
    let r = t.get("/api/audits/dataValue?auditType=READ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

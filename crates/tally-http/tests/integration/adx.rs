//! ADX import (spec §9): the DHIS2 docs example on the demo, DHIS2's own ADX fixture,
//! value-level conflicts that keep SUCCESS (quirk) and group-level aborts.

use axum::http::StatusCode;

use crate::harness::{TestApp, conformance, counts};

const ADX: &str = "application/adx+xml";

async fn post_adx(t: &TestApp, query: &str, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let r = t
        .post(&format!("/api/dataValueSets?{query}"), ADX, body)
        .await;
    let j = r.json();
    (r.status, j.get("response").cloned().unwrap_or(j))
}

#[tokio::test]
async fn dhis2_docs_example_imports_every_value_by_code() {
    let t = TestApp::demo();
    let body = std::fs::read(conformance("adx-samples/dhis2docs_example.adx.xml")).unwrap();
    let (status, s) = post_adx(&t, "", body).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["status"], "SUCCESS", "{s}");
    assert_eq!(counts(&s), (20, 0, 0, 0), "{s}");
    // The values are readable, by code, for the ADX period 2015-06-01/P1M = 201506.
    let r = t
        .get("/api/dataValueSets.json?dataSet=(TB/HIV)VCCT&inputIdScheme=CODE&orgUnit=OU_559&period=201506")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["dataValues"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn dhis2_core_import_a_with_names_and_option_uids() {
    let t = TestApp::new();
    let body = std::fs::read(conformance("dhis2-core/importA.adx.xml")).unwrap();
    let (_, s) = post_adx(
        &t,
        "dataElementIdScheme=NAME&categoryIdScheme=NAME&categoryOptionIdScheme=UID",
        body,
    )
    .await;
    assert_eq!(s["status"], "SUCCESS", "{s}");
    assert_eq!(counts(&s), (9, 0, 0, 0), "{s}");
}

#[tokio::test]
async fn value_level_problems_are_conflicts_without_indexes_and_keep_success() {
    let t = TestApp::demo();
    let body = br#"<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="OU_559" period="2015-06-01/P1M" dataSet="(TB/HIV)VCCT">
        <dataValue dataElement="VCCT_0" GENDER="FMLE" HIV_AGE="AGE0-14" value="1"/>
        <dataValue dataElement="NOPE" GENDER="FMLE" HIV_AGE="AGE0-14" value="2"/>
        <dataValue dataElement="VCCT_1" GENDER="FMLE" value="3"/>
    </group></adx>"#;
    let (status, s) = post_adx(&t, "", body.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(
        s["status"], "SUCCESS",
        "status is not recomputed (DHIS2 quirk)"
    );
    assert_eq!(counts(&s), (1, 0, 2, 0), "{s}");
    let conflicts = s["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2);
    assert_eq!(
        conflicts[0]["value"],
        "No data element matching CODE 'NOPE'"
    );
    assert!(conflicts.iter().all(|c| c.get("indexes").is_none()));
    assert!(
        conflicts[1]["value"]
            .as_str()
            .unwrap()
            .contains("must have"),
        "{s}"
    );
}

#[tokio::test]
async fn group_level_problems_abort_the_whole_import() {
    let t = TestApp::demo();
    let body = br#"<adx xmlns="urn:ihe:qrph:adx:2015">
      <group orgUnit="OU_559" period="2015-06-01/P1M" dataSet="(TB/HIV)VCCT">
        <dataValue dataElement="VCCT_0" GENDER="FMLE" HIV_AGE="AGE0-14" value="1"/>
      </group>
      <group orgUnit="OU_559" dataSet="(TB/HIV)VCCT"><dataValue dataElement="VCCT_0" value="1"/></group>
    </adx>"#;
    let (status, s) = post_adx(&t, "", body.to_vec()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(s["status"], "ERROR");
    assert_eq!(
        s["description"],
        "Data set import failed within group number: 1"
    );
    assert_eq!(s["conflicts"][0]["object"], "ADX Error");
    assert_eq!(
        s["conflicts"][0]["value"],
        "period attribute is required on 'group'"
    );
    assert_eq!(counts(&s), (0, 0, 0, 0));
    assert_eq!(t.count(), 0, "the first group is rolled back too");
    let (_, s) = post_adx(&t, "", b"<adx xmlns=\"urn:ihe:qrph:adx:2015\"><group orgUnit=\"OU_559\" period=\"2015-06-02/P7D\"/></adx>".to_vec()).await;
    assert_eq!(
        s["conflicts"][0]["value"],
        "2015-06-02/P7D is invalid weekly type"
    );
}

#[tokio::test]
async fn empty_adx_is_an_error_and_an_empty_message_succeeds() {
    let t = TestApp::demo();
    let (_, s) = post_adx(&t, "", Vec::new()).await;
    assert_eq!(s["status"], "ERROR");
    assert!(
        s["description"]
            .as_str()
            .unwrap()
            .starts_with("Data set import failed")
    );
    let (status, s) = post_adx(
        &t,
        "",
        br#"<adx xmlns="urn:ihe:qrph:adx:2015"></adx>"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["status"], "SUCCESS");
    assert_eq!(counts(&s), (0, 0, 0, 0));
}

#[tokio::test]
async fn adx_export_groups_by_code_and_round_trips() {
    let t = TestApp::demo();
    let body = std::fs::read(conformance("adx-samples/dhis2docs_example.adx.xml")).unwrap();
    let (_, s) = post_adx(&t, "", body).await;
    assert_eq!(counts(&s).0, 20);
    let r = t
        .get("/api/dataValueSets.adx.xml?dataSet=(TB/HIV)VCCT&orgUnit=OU_559&period=201506")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/adx+xml; charset=UTF-8")
    );
    let xml = r.text();
    assert!(
        xml.starts_with(r#"<adx xmlns="urn:ihe:qrph:adx:2015">"#),
        "{xml}"
    );
    assert!(!xml.contains("<?xml"), "no declaration, as DHIS2");
    assert_eq!(xml.matches("<group ").count(), 1, "{xml}");
    assert!(xml.contains(r#"dataSet="(TB/HIV)VCCT""#), "{xml}");
    assert!(xml.contains(r#"period="2015-06-01/P1M""#), "{xml}");
    assert!(xml.contains(r#"orgUnit="OU_559""#), "{xml}");
    assert_eq!(xml.matches("<dataValue ").count(), 20);
    assert!(xml.contains(r#"GENDER="FMLE""#) && xml.contains(r#"HIV_AGE="AGE15-24""#));
    // The export imports again unchanged into a fresh demo.
    let fresh = TestApp::demo();
    let (_, s) = post_adx(&fresh, "", xml.into_bytes()).await;
    assert_eq!(counts(&s), (20, 0, 0, 0), "{s}");
    // format=adx+xml with UIDs in the URL works too.
    let r = t
        .get("/api/dataValueSets?dataSet=(TB/HIV)VCCT&orgUnit=OU_559&period=201506&format=adx%2Bxml&compression=zip")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-disposition")
            .unwrap()
            .ends_with(".xml.zip"),
        "ADX attachments use .xml"
    );
}

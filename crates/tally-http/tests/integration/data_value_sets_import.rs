//! `POST /api/dataValueSets` against DHIS2's own fixtures (spec §13.2, §13.3).

use axum::http::StatusCode;

use crate::harness::{TestApp, counts, fixture};

#[tokio::test]
async fn json_single_value_is_imported() {
    let t = TestApp::new();
    let s = t.import("dataValueSetJ.json", "").await;
    assert_eq!(s["status"], "SUCCESS");
    assert_eq!(counts(&s), (1, 0, 0, 0));
    assert_eq!(t.count(), 1);
}

#[tokio::test]
async fn xml_a_then_a_deleted_imports_three_then_deletes_three() {
    let t = TestApp::new();
    let s = t.import("dataValueSetA.xml", "").await;
    assert_eq!(counts(&s), (3, 0, 0, 0), "{s}");
    let s = t.import("dataValueSetADeleted.xml", "").await;
    assert_eq!(counts(&s), (0, 0, 0, 3), "{s}");
}

#[tokio::test]
async fn b_then_b_update_imports_two_and_updates_four() {
    let t = TestApp::new();
    assert_eq!(
        counts(&t.import("dataValueSetB.xml", "").await),
        (12, 0, 0, 0)
    );
    let s = t.import("dataValueSetBUpdate.xml", "").await;
    assert_eq!(counts(&s), (2, 4, 0, 0), "{s}");
    assert_eq!(t.count(), 14);
}

#[tokio::test]
async fn deleted_flags_reverse_and_mix_as_dhis2_counts_them() {
    let t = TestApp::new();
    // Into an empty store: deleted values count as imported.
    assert_eq!(
        counts(&t.import("dataValueSetBDeleted.xml", "").await),
        (12, 0, 0, 0)
    );
    // Reversing the deletions: 4 revived, 8 unchanged.
    assert_eq!(
        counts(&t.import("dataValueSetB.xml", "").await),
        (4, 0, 8, 0)
    );
    // Deleting through deleted=true: 4 deleted, 8 unchanged.
    assert_eq!(
        counts(&t.import("dataValueSetBDeleted.xml", "").await),
        (0, 0, 8, 4)
    );
    // Adding and reversing.
    assert_eq!(
        counts(&t.import("dataValueSetBNew.xml", "").await),
        (8, 0, 4, 0)
    );
}

#[tokio::test]
async fn mixed_new_deleted_and_unchanged() {
    let t = TestApp::new();
    t.import("dataValueSetB.xml", "").await;
    assert_eq!(
        counts(&t.import("dataValueSetBNewDeleted.xml", "").await),
        (2, 0, 6, 4)
    );
}

#[tokio::test]
async fn unchanged_reimport_is_ignored_and_delete_strategy_deletes_all() {
    let t = TestApp::new();
    t.import("dataValueSetB.xml", "").await;
    let s = t.import("dataValueSetB.xml", "").await;
    assert_eq!(counts(&s), (0, 0, 12, 0));
    assert_eq!(s["status"], "SUCCESS");
    let s = t.import("dataValueSetB.xml", "importStrategy=DELETE").await;
    assert_eq!(counts(&s), (0, 0, 0, 12));
}

#[tokio::test]
async fn delete_strategy_ignores_the_value_and_zero_deletes() {
    for (file, query) in [
        ("dataValueSetJDeleteNewValue.json", "importStrategy=DELETE"),
        ("dataValueSetJDeleteNoValue.json", "importStrategy=DELETE"),
        ("dataValueSetJDeleteZeroValue.json", ""),
    ] {
        let t = TestApp::new();
        t.import("dataValueSetJ.json", "").await;
        let s = t.import(file, query).await;
        assert_eq!(counts(&s), (0, 0, 0, 1), "{file}: {s}");
    }
}

#[tokio::test]
async fn payload_created_and_last_updated_are_ignored() {
    let t = TestApp::new();
    let before = jiff::Timestamp::now();
    assert_eq!(
        counts(&t.import("dataValueSetCreateDate.json", "").await),
        (1, 0, 0, 0)
    );
    let values = t.live_values_of("f7n9E0hX8qk").await;
    let created: jiff::Timestamp = values[0]["created"]
        .as_str()
        .unwrap()
        .replace("+0000", "Z")
        .parse()
        .unwrap();
    assert!(created >= before.checked_sub(jiff::Span::new().seconds(1)).unwrap());
    let s = t.import("dataValueSetCreateDateUpdated.json", "").await;
    assert_eq!(counts(&s), (0, 1, 0, 0), "{s}");
    let after = t.live_values_of("f7n9E0hX8qk").await;
    assert_eq!(after[0]["created"], values[0]["created"], "created is kept");
}

#[tokio::test]
async fn dry_run_counts_and_stores_nothing() {
    let t = TestApp::new();
    let s = t.import("dataValueSetB.xml", "dryRun=true").await;
    assert_eq!(counts(&s), (12, 0, 0, 0));
    assert_eq!(t.count(), 0);
}

#[tokio::test]
async fn updates_strategy_on_an_empty_store_ignores_everything() {
    let t = TestApp::new();
    let s = t
        .import("dataValueSetB.xml", "importStrategy=UPDATES")
        .await;
    assert_eq!(counts(&s), (0, 0, 12, 0));
    assert_eq!(s["status"], "SUCCESS");
    assert_eq!(s["rejectedIndexes"].as_array().unwrap().len(), 12);
    assert_eq!(t.count(), 0);
}

#[tokio::test]
async fn csv_with_header_without_header_and_with_data_set_option() {
    let t = TestApp::new();
    assert_eq!(
        counts(&t.import("dataValueSetB.csv", "").await),
        (12, 0, 0, 0)
    );
    let t = TestApp::new();
    let s = t
        .import("dataValueSetBNoHeader.csv", "firstRowIsHeader=false")
        .await;
    assert_eq!(counts(&s), (12, 0, 0, 0));
    let t = TestApp::new();
    let s = t
        .import("dataValueSetWithDataSetHeader.csv", "dataSet=pBOMPrpg1QX")
        .await;
    assert_eq!(counts(&s).0, 3, "{s}");
}

#[tokio::test]
async fn boolean_csv_groups_conflicts_and_stores_canonical_booleans() {
    let t = TestApp::new();
    let s = t.import("dataValueSetBooleanTest.csv", "").await;
    assert_eq!(s["status"], "WARNING");
    let conflicts = s["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{s}");
    assert_eq!(conflicts[0]["indexes"], serde_json::json!([10, 11]));
    assert_eq!(conflicts[1]["indexes"], serde_json::json!([16, 17]));
    assert_eq!(conflicts[0]["errorCode"], "E7619");
    for v in t.live_values().await {
        let value = v["value"].as_str().unwrap();
        assert!(value == "true" || value == "false", "{v}");
    }
}

#[tokio::test]
async fn code_id_schemes_in_payload_and_url() {
    let t = TestApp::new();
    let s = t.import("dataValueSetACode.xml", "").await;
    assert_eq!(counts(&s).0, 3, "{s}");
    let t = TestApp::new();
    let s = t
        .import(
            "dataValueSetBCode.xml",
            "idScheme=code&dataElementIdScheme=CODE&orgUnitIdScheme=code",
        )
        .await;
    assert_eq!(counts(&s), (12, 0, 0, 0), "{s}");
    let t = TestApp::new();
    let s = t
        .import("dataValueSetCCode.xml", "categoryOptionComboIdScheme=CODE")
        .await;
    assert_eq!(counts(&s).0, 3, "{s}");
}

#[tokio::test]
async fn attribute_id_schemes_in_url_and_payload() {
    let t = TestApp::new();
    let s = t
        .import(
            "dataValueSetBAttribute.xml",
            "dataElementIdScheme=ATTRIBUTE:uh6H2ff562G&orgUnitIdScheme=ATTRIBUTE:uh6H2ff562G",
        )
        .await;
    assert_eq!(counts(&s), (12, 0, 0, 0), "{s}");
    let t = TestApp::new();
    let s = t.import("dataValueSetBAttributeIdScheme.xml", "").await;
    assert_eq!(counts(&s), (12, 0, 0, 0), "{s}");
}

#[tokio::test]
async fn new_periods_are_created_automatically() {
    let t = TestApp::new();
    assert_eq!(counts(&t.import("dataValueSetC.xml", "").await).0, 3);
}

#[tokio::test]
async fn header_aoc_applies_to_all_values_and_unknown_header_aoc_aborts() {
    let t = TestApp::new();
    let s = t.import("dataValueSetD.xml", "").await;
    assert_eq!(s["status"], "SUCCESS", "{s}");
    let t = TestApp::new();
    let s = t.import("dataValueSetF.xml", "").await;
    assert_eq!(s["status"], "ERROR");
    assert_eq!(s["description"], "Import process was aborted");
    assert_eq!(counts(&s), (0, 0, 0, 0));
    assert_eq!(s["conflicts"][0]["errorCode"], "E7604");
    assert_eq!(t.count(), 0);
}

#[tokio::test]
async fn unknown_data_element_and_org_unit_give_grouped_conflicts() {
    let t = TestApp::new();
    let s = t.import("dataValueSetG.xml", "").await;
    assert_eq!(s["status"], "WARNING");
    assert_eq!(counts(&s), (1, 0, 3, 0), "{s}");
    assert_eq!(s["conflicts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn xml_empty_value_and_comment_are_missing() {
    let t = TestApp::new();
    let s = t.import("dataValueSetANull.xml", "").await;
    assert_eq!(counts(&s).0, 1, "{s}");
    assert_eq!(s["conflicts"].as_array().unwrap().len(), 2, "{s}");
    assert_eq!(s["conflicts"][0]["errorCode"], "E7618");
}

#[tokio::test]
async fn org_unit_outside_the_users_hierarchy() {
    let t = TestApp::new();
    let r = t
        .post_as(
            "importer",
            "/api/dataValueSets",
            "application/xml",
            fixture("dataValueSetE.xml"),
        )
        .await;
    let s = r.json()["response"].clone();
    assert_eq!(s["status"], "WARNING", "{s}");
    let conflicts = s["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{s}");
    assert!(conflicts.iter().any(|c| c["errorCode"] == "E7617"));
    assert!(
        conflicts
            .iter()
            .any(|c| c["value"] == "Must be provided to complete data set")
    );
    assert_eq!(counts(&s).0, 1);
}

#[tokio::test]
async fn invalid_option_is_e7621() {
    let t = TestApp::new();
    let s = t.import("dataValueSetInvalid.xml", "").await;
    assert_eq!(counts(&s).0, 2, "{s}");
    assert_eq!(s["conflicts"][0]["errorCode"], "E7621");
}

#[tokio::test]
async fn updates_are_audited_once_and_skip_audit_needs_the_authority() {
    let t = TestApp::new();
    t.import("dataValueSetA.xml", "").await;
    let s = t.import("dataValueSetAUpdate.xml", "").await;
    assert_eq!(counts(&s).1, 3, "{s}");
    let snap = t.app.snapshot();
    let de = snap
        .data_element_id(tally_domain::metadata::LookupScheme::Uid, "f7n9E0hX8qk")
        .unwrap();
    let mut audits = 0;
    t.app
        .store()
        .export(
            &tally_store::ExportQuery {
                data_elements: vec![de.0],
                periods: tally_store::PeriodFilter::Any,
                org_units: snap.org_units().map(|(id, _)| id.0).collect(),
                attribute_option_combos: None,
                include_deleted: true,
                last_updated_since_ms: None,
                limit: None,
                order: tally_store::ExportOrder::Storage,
            },
            &mut |row| {
                audits += t.app.store().audits(&row.key).unwrap().len();
                std::ops::ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(audits, 3, "one UPDATE audit per updated value");

    let t = TestApp::new();
    t.post_as(
        "importer",
        "/api/dataValueSets",
        "application/xml",
        fixture("dataValueSetA.xml"),
    )
    .await;
    let r = t
        .post_as(
            "importer",
            "/api/dataValueSets?skipAudit=true",
            "application/xml",
            fixture("dataValueSetAUpdate.xml"),
        )
        .await;
    assert!(r.status == StatusCode::OK || r.status == StatusCode::CONFLICT);
}

#[tokio::test]
async fn response_wrapping_follows_the_api_version() {
    let t = TestApp::new();
    let r = t
        .post("/api/38/dataValueSets", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["httpStatus"], "OK");
    assert_eq!(j["message"], "Import was successful.");
    let r = t
        .post("/api/37/dataValueSets", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["responseType"], "ImportSummary");
    assert_eq!(j["status"], "SUCCESS");
    // WARNING is 409 when wrapped, 200 when plain.
    let r = t
        .post(
            "/api/dataValueSets",
            "application/xml",
            fixture("dataValueSetG.xml"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["message"],
        "One more conflicts encountered, please check import summary."
    );
    let r = t
        .post(
            "/api/37/dataValueSets",
            "application/xml",
            fixture("dataValueSetG.xml"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn xml_responses_for_xml_clients() {
    let t = TestApp::new();
    let req = axum::http::Request::post("/api/38/dataValueSets")
        .header("Authorization", crate::harness::basic("admin"))
        .header("Content-Type", "application/xml")
        .header("Accept", "application/xml")
        .body(axum::body::Body::from(fixture("dataValueSetA.xml")))
        .unwrap();
    let r = t.request(req).await;
    assert!(r.text().contains(r#"httpStatusCode="200""#), "{}", r.text());
    let req = axum::http::Request::post("/api/37/dataValueSets")
        .header("Authorization", crate::harness::basic("admin"))
        .header("Content-Type", "application/xml")
        .header("Accept", "application/xml")
        .body(axum::body::Body::from(fixture("dataValueSetA.xml")))
        .unwrap();
    let r = t.request(req).await;
    assert!(r.text().starts_with("<importSummary "), "{}", r.text());
}

#[tokio::test]
async fn content_types_text_csv_and_unknown_are_415() {
    let t = TestApp::new();
    for ct in [
        "text/csv",
        "text/plain",
        "application/x-www-form-urlencoded",
    ] {
        let r = t
            .post("/api/dataValueSets", ct, fixture("dataValueSetB.csv"))
            .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
        assert_eq!(r.json()["httpStatusCode"], 415);
    }
    let r = t
        .post("/api/dataValueSets", "application/csv", b"abc".to_vec())
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a lone header row imports nothing"
    );
}

#[tokio::test]
async fn gzip_and_zip_bodies_are_detected() {
    use std::io::Write as _;
    let t = TestApp::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&fixture("dataValueSetB.xml")).unwrap();
    let r = t
        .post(
            "/api/dataValueSets",
            "application/xml",
            gz.finish().unwrap(),
        )
        .await;
    assert_eq!(crate::harness::counts(&r.json()["response"]), (12, 0, 0, 0));
    let t = TestApp::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&fixture("dataValueSetJ.json")).unwrap();
    let r = t
        .post(
            "/api/dataValueSets",
            "application/json",
            gz.finish().unwrap(),
        )
        .await;
    assert_eq!(crate::harness::counts(&r.json()["response"]), (1, 0, 0, 0));
}

#[tokio::test]
async fn failures_are_errors_that_change_nothing() {
    let t = TestApp::new();
    let r = t
        .post("/api/dataValueSets", "application/json", Vec::new())
        .await;
    let s = &r.json()["response"];
    assert_eq!(s["status"], "ERROR");
    assert!(
        s["description"]
            .as_str()
            .unwrap()
            .contains("No content to map due to end-of-input"),
        "{s}"
    );
    // A document broken after its first values: nothing is written.
    let mut body = String::from(r#"{"dataValues":["#);
    body.push_str(
        r#"{"dataElement":"f7n9E0hX8qk","period":"201201","orgUnit":"DiszpKrYNg8","value":"1"},"#,
    );
    body.push_str(r#"{"dataElement": oops"#);
    let r = t
        .post("/api/dataValueSets", "application/json", body.into_bytes())
        .await;
    assert_eq!(r.json()["response"]["status"], "ERROR");
    assert_eq!(t.count(), 0);
    let r = t
        .post(
            "/api/dataValueSets",
            "application/json",
            br#"{"strategy":"MERGE","dataValues":[]}"#.to_vec(),
        )
        .await;
    assert_eq!(r.json()["response"]["status"], "ERROR");
    let r = t
        .post(
            "/api/dataValueSets?dryRun=maybe",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn authentication_and_authority_are_required() {
    let t = TestApp::new();
    let req = axum::http::Request::post("/api/dataValueSets")
        .header("Content-Type", "application/json")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    let r = t.request(req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["httpStatusCode"], 401);
    let r = t
        .post_as(
            "reader",
            "/api/dataValueSets",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn summary_shape_snapshot() {
    let t = TestApp::new();
    let s = t.import("dataValueSetG.xml", "").await;
    insta::assert_json_snapshot!("import_summary_g", s);
}

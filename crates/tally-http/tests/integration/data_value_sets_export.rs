//! `GET /api/dataValueSets`: validation order, filters, shapes, compression (spec §5).

use axum::http::StatusCode;

use crate::harness::TestApp;

async fn error_code(t: &TestApp, query: &str) -> (StatusCode, String) {
    let r = t.get(&format!("/api/dataValueSets?{query}")).await;
    let code = r.json()["errorCode"].as_str().unwrap_or("").to_owned();
    (r.status, code)
}

#[tokio::test]
async fn validation_reports_the_last_failing_check() {
    let t = TestApp::new();
    let cases = [
        ("", "E2006"),
        ("orgUnit=DiszpKrYNg8", "E2002"),
        ("orgUnit=DiszpKrYNg8&period=201201", "E2001"),
        (
            "dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&startDate=2012-02-01&endDate=2012-01-01",
            "E2004",
        ),
        (
            "dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&lastUpdatedDuration=5x",
            "E2005",
        ),
        ("dataSet=pBOMPrpg1QX&period=201201&children=true", "E2008"),
        (
            "dataSet=pBOMPrpg1QX&period=201201&orgUnitGroup=x&children=true",
            "E2008",
        ),
        (
            "dataSet=pBOMPrpg1QX&period=201201&orgUnit=DiszpKrYNg8&limit=-1",
            "E2009",
        ),
    ];
    for (query, code) in cases {
        let (status, got) = error_code(&t, query).await;
        assert_eq!(status, StatusCode::CONFLICT, "{query}");
        assert_eq!(got, code, "{query}");
    }
}

#[tokio::test]
async fn org_units_outside_the_view_hierarchy_are_refused() {
    let t = TestApp::new();
    let r = t
        .get_as(
            "importer",
            "/api/dataValueSets?dataSet=pBOMPrpg1QX&period=201201&orgUnit=j7Hg26FpoIa",
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["errorCode"], "E2012");
    assert_eq!(
        r.json()["message"],
        "User is not allowed to view org unit: `j7Hg26FpoIa`"
    );
}

#[tokio::test]
async fn single_set_header_and_json_shape() {
    let t = TestApp::new();
    t.import("dataValueSetB.xml", "").await;
    let r = t
        .get("/api/dataValueSets.json?dataSet=pBOMPrpg1QX&period=201201&orgUnit=DiszpKrYNg8")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(
        r.header("cache-control"),
        Some("no-cache, no-store, max-age=0, must-revalidate")
    );
    let j = r.json();
    assert_eq!(j["dataSet"], "pBOMPrpg1QX");
    assert_eq!(j["period"], "201201");
    assert_eq!(j["orgUnit"], "DiszpKrYNg8");
    assert!(
        j.get("completeDate").is_some(),
        "completeDate is written even when null"
    );
    let values = j["dataValues"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    for v in values {
        assert!(v["comment"].is_null() || v["comment"].is_string());
        assert_eq!(v["followup"], false);
        assert!(v.get("deleted").is_none());
        assert!(v["lastUpdated"].as_str().unwrap().ends_with("+0000"));
    }
    insta::assert_json_snapshot!("export_single_set", j, {
        ".dataValues[].created" => "[timestamp]",
        ".dataValues[].lastUpdated" => "[timestamp]",
    });
}

#[tokio::test]
async fn multi_set_export_has_no_header_and_filters_apply() {
    let t = TestApp::new();
    t.import("dataValueSetB.xml", "").await;
    let base =
        "/api/dataValueSets.json?dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&orgUnit=BdfsJfj87js";
    let all = t
        .get(&format!("{base}&startDate=2012-01-01&endDate=2012-12-31"))
        .await
        .json();
    assert!(all.get("dataSet").is_none());
    assert_eq!(all["dataValues"].as_array().unwrap().len(), 12);
    let jan = t.get(&format!("{base}&period=201201")).await.json();
    assert_eq!(jan["dataValues"].as_array().unwrap().len(), 6);
    let within = t
        .get(&format!("{base}&startDate=2012-01-15&endDate=2012-12-31"))
        .await
        .json();
    assert_eq!(
        within["dataValues"].as_array().unwrap().len(),
        6,
        "only whole periods"
    );
    let one_ou = t
        .get("/api/dataValueSets.json?dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&period=201201&period=201202")
        .await
        .json();
    assert_eq!(one_ou["dataValues"].as_array().unwrap().len(), 6);
    let limited = t.get(&format!("{base}&period=201201&limit=2")).await.json();
    assert_eq!(limited["dataValues"].as_array().unwrap().len(), 2);
    let by_element = t
        .get("/api/dataValueSets.json?dataElement=f7n9E0hX8qk&orgUnit=DiszpKrYNg8&period=201201")
        .await
        .json();
    assert_eq!(by_element["dataValues"].as_array().unwrap().len(), 1);
    let recent = t
        .get(&format!("{base}&lastUpdatedDuration=1d"))
        .await
        .json();
    assert_eq!(recent["dataValues"].as_array().unwrap().len(), 12);
    let future = t
        .get(&format!("{base}&lastUpdated=2999-01-01"))
        .await
        .json();
    assert_eq!(future["dataValues"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn deleted_values_only_with_include_deleted() {
    let t = TestApp::new();
    t.import("dataValueSetBDeleted.xml", "").await;
    let base = "/api/dataValueSets.json?dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&orgUnit=BdfsJfj87js&startDate=2012-01-01&endDate=2012-12-31";
    assert_eq!(
        t.get(base).await.json()["dataValues"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let all = t.get(&format!("{base}&includeDeleted=true")).await.json();
    let values = all["dataValues"].as_array().unwrap();
    assert_eq!(values.len(), 12);
    assert_eq!(values.iter().filter(|v| v["deleted"] == true).count(), 4);
}

#[tokio::test]
async fn output_id_schemes() {
    let t = TestApp::new();
    t.import("dataValueSetB.xml", "").await;
    let j = t
        .get("/api/dataValueSets.json?dataSet=pBOMPrpg1QX&period=201201&orgUnit=DiszpKrYNg8&idScheme=CODE")
        .await
        .json();
    assert_eq!(j["dataSet"], "DS_A");
    assert_eq!(j["orgUnit"], "OU_A");
    let codes: Vec<_> = j["dataValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["dataElement"].as_str().unwrap().to_owned())
        .collect();
    assert!(codes.iter().all(|c| c.starts_with("DE_")), "{codes:?}");
    let j = t
        .get("/api/dataValueSets.json?dataSet=DS_A&period=201201&orgUnit=OU_A&inputIdScheme=CODE")
        .await
        .json();
    assert_eq!(j["dataValues"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn formats_by_extension_format_parameter_and_accept() {
    let t = TestApp::new();
    t.import("dataValueSetB.xml", "").await;
    let q = "dataSet=pBOMPrpg1QX&period=201201&orgUnit=DiszpKrYNg8";
    let xml = t.get(&format!("/api/dataValueSets.xml?{q}")).await;
    assert_eq!(
        xml.header("content-type"),
        Some("application/xml; charset=UTF-8")
    );
    assert!(
        xml.text()
            .contains("<dataValueSet xmlns=\"http://dhis2.org/schema/dxf/2.0\"")
    );
    let csv = t.get(&format!("/api/dataValueSets?{q}&format=csv")).await;
    assert_eq!(
        csv.header("content-type"),
        Some("application/csv; charset=UTF-8")
    );
    let text = csv.text();
    assert!(text.starts_with("dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted\n"));
    assert!(text.lines().skip(1).all(|l| l.ends_with(",null")), "{text}");
    let other = t
        .get(&format!("/api/dataValueSets.csv?{q}&format=whatever"))
        .await;
    assert_eq!(
        other.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    let req = axum::http::Request::get(format!("/api/dataValueSets?{q}"))
        .header("Authorization", crate::harness::basic("admin"))
        .header("Accept", "application/xml")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = t.request(req).await;
    assert_eq!(
        r.header("content-type"),
        Some("application/xml; charset=UTF-8")
    );
}

#[tokio::test]
async fn compression_and_attachment_headers() {
    use std::io::Read as _;
    let t = TestApp::new();
    t.import("dataValueSetB.xml", "").await;
    let q = "dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&startDate=2012-01-01&endDate=2012-01-31";
    let r = t
        .get(&format!(
            "/api/dataValueSets?{q}&format=json&compression=zip&attachment=dataValues.json.zip"
        ))
        .await;
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=dataValues_2012-01-01_2012-01-31.json.zip")
    );
    assert_eq!(r.header("content-transfer-encoding"), Some("binary"));
    assert!(r.body.starts_with(b"PK\x03\x04"));
    let r = t
        .get(&format!(
            "/api/dataValueSets?{q}&format=xml&compression=gzip"
        ))
        .await;
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=dataValues_2012-01-01_2012-01-31.xml.gz")
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("<dataValueSet"), "{text}");
    let r = t
        .get("/api/dataValueSets?dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&period=201201&attachment=data.json")
        .await;
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=data.json.json")
    );
}

#[tokio::test]
async fn completion_from_import_shows_in_the_export_header() {
    let t = TestApp::new();
    let s = t.import("dataValueSetACatCombo.xml", "").await;
    assert_ne!(s["dataSetComplete"], "false", "{s}");
    let j = t
        .get("/api/dataValueSets.json?dataSet=pBOMPrpg1QX&period=201201&orgUnit=DiszpKrYNg8")
        .await
        .json();
    let complete = j["completeDate"].as_str().unwrap_or("");
    assert!(complete.ends_with("+0000"), "{j}");
}

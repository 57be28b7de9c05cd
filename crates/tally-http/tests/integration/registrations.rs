//! Complete data set registrations and the data entry completion endpoint.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::harness::{TestApp, basic};

const DS: &str = "pBOMPrpg1QX";
const OU: &str = "DiszpKrYNg8";
const BADJIA: &str = "YuQRtpLP10I";

async fn post_json(
    t: &TestApp,
    user: &str,
    uri: &str,
    body: serde_json::Value,
) -> crate::harness::Resp {
    t.post_as(user, uri, "application/json", body.to_string().into_bytes())
        .await
}

async fn delete(t: &TestApp, uri: &str) -> crate::harness::Resp {
    t.request(
        Request::delete(uri)
            .header("Authorization", basic("admin"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn register_read_and_uncomplete() {
    let t = TestApp::demo();
    let q = format!("/api/completeDataSetRegistrations?dataSet={DS}&period=202401&orgUnit={OU}");
    let none = t.get(&q).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json(), json!({}));

    // Parameter validation (409s as DHIS2).
    for (uri, message) in [
        (
            "/api/completeDataSetRegistrations",
            "At least one data set must be specified",
        ),
        (
            &format!("/api/completeDataSetRegistrations?dataSet={DS}")[..],
            "At least one valid period or start/end dates must be specified",
        ),
        (
            &format!("/api/completeDataSetRegistrations?dataSet={DS}&period=202401")[..],
            "At least one organisation unit must be specified",
        ),
        (
            &format!("/api/completeDataSetRegistrations?orgUnit={OU}&period=202401")[..],
            "At least one data set must be specified",
        ),
    ] {
        let r = t.get(uri).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{uri}");
        assert_eq!(r.json()["message"], message);
    }
    let r = post_json(&t, "admin", "/api/completeDataSetRegistrations", json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let body = json!({"completeDataSetRegistrations": [
        {"dataSet": DS, "period": "202401", "organisationUnit": OU, "completed": "true"}
    ]});
    let r = post_json(
        &t,
        "admin",
        "/api/completeDataSetRegistrations",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["message"], "Import was successful.");
    assert_eq!(j["response"]["status"], "SUCCESS");
    assert_eq!(j["response"]["importCount"]["imported"], 1);
    let again = post_json(&t, "admin", "/api/completeDataSetRegistrations", body).await;
    assert_eq!(again.json()["response"]["importCount"]["updated"], 1);

    let r = t.get(&q).await.json();
    let reg = &r["completeDataSetRegistrations"][0];
    assert_eq!(reg["period"], "202401");
    assert_eq!(reg["dataSet"], DS);
    assert_eq!(reg["organisationUnit"], OU);
    assert_eq!(reg["attributeOptionCombo"], "HllvX50cXC0");
    assert_eq!(reg["completed"], true);
    assert_eq!(reg["storedBy"], "admin");

    // The district with children finds the facility; start/end dates select periods.
    let r = t
        .get(&format!(
            "/api/completeDataSetRegistrations?dataSet={DS}&startDate=2024-01-01&endDate=2024-03-31&orgUnit={BADJIA}&children=true"
        ))
        .await;
    assert_eq!(
        r.json()["completeDataSetRegistrations"][0]["organisationUnit"],
        OU
    );
    let r = t
        .get(&format!(
            "/api/completeDataSetRegistrations?dataSet={DS}&period=202401&orgUnit={BADJIA}"
        ))
        .await;
    assert_eq!(r.json(), json!({}), "without children only the unit itself");

    let r = delete(
        &t,
        &format!("/api/completeDataSetRegistrations?ds={DS}&pe=202401&ou={OU}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = t.get(&q).await.json();
    assert_eq!(r, json!({}), "DELETE removes the registration");
    let r = delete(
        &t,
        &format!("/api/completeDataSetRegistrations?ds={DS}&pe=202401&ou={OU}"),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "nothing to delete is fine"
    );
    let r = delete(
        &t,
        &format!("/api/completeDataSetRegistrations?ds={DS}&pe=2024XX&ou={OU}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn scope_and_authority() {
    let t = TestApp::demo();
    // `reader` lacks F_DATAVALUE_ADD.
    let body = json!({"completeDataSetRegistrations": [
        {"dataSet": DS, "period": "202401", "organisationUnit": OU}
    ]});
    let r = post_json(&t, "reader", "/api/completeDataSetRegistrations", body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // `importer` captures for A and B only (not Bo's other facilities).
    let body = json!({"completeDataSetRegistrations": [
        {"dataSet": DS, "period": "202401", "organisationUnit": "g8upMTyEZGZ"},
        {"dataSet": "xxxxxxxxxxx", "period": "202401", "organisationUnit": OU},
        {"dataSet": DS, "period": "2024-13", "organisationUnit": OU}
    ]});
    let r = post_json(&t, "importer", "/api/completeDataSetRegistrations", body).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let s = &r.json()["response"];
    assert_eq!(s["status"], "WARNING");
    assert_eq!(s["importCount"]["ignored"], 3);
    assert_eq!(s["conflicts"].as_array().unwrap().len(), 3, "{s}");
    // Reading outside the view hierarchy is refused.
    let r = t
        .get_as(
            "importer",
            &format!(
                "/api/completeDataSetRegistrations?dataSet={DS}&period=202401&orgUnit=ImspTQPwCqd"
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn data_entry_completion_checks_compulsory_operands() {
    let t = TestApp::demo();
    let completion = json!({"dataSet": "iczD3R7LCdM", "period": "202611", "orgUnit": OU,
                            "attribute": {"combo": "jdrs3jyhqzo", "options": ["R01Rchx3Hqn"]},
                            "completed": true});
    let r = post_json(
        &t,
        "admin",
        "/api/dataEntry/dataSetCompletion",
        completion.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["errorCode"], "E7605");
    assert_eq!(r.json()["status"], "ERROR");
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("All compulsory data element operands need to be filled: ["),
        "{message}"
    );
    assert!(
        message.contains("GJMZgooJutm.iDUUWcAC1XA") && message.contains("zkBZHKtdSKn.HllvX50cXC0")
    );

    let mut values: Vec<_> = ["iDUUWcAC1XA", "qHJkzLyzRTB", "AbaaqRtrhgw", "N92yVCgMGnO"]
        .iter()
        .map(|coc| json!({"dataElement": "GJMZgooJutm", "categoryOptionCombo": coc, "value": "3"}))
        .collect();
    values.push(json!({"dataElement": "zkBZHKtdSKn", "value": "Y"}));
    let set = json!({"dataSet": "iczD3R7LCdM", "period": "202611", "orgUnit": OU,
                     "attributeOptionCombo": "h4vkEmoRdNq", "dataValues": values});
    // The set has closed input periods: the superuser forces the values in.
    let r = post_json(&t, "admin", "/api/dataValueSets?force=true", set).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let r = post_json(&t, "admin", "/api/dataEntry/dataSetCompletion", completion).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.body.is_empty());
    let reg = t
        .get(&format!(
            "/api/completeDataSetRegistrations?dataSet=iczD3R7LCdM&period=202611&orgUnit={OU}"
        ))
        .await
        .json();
    let reg = &reg["completeDataSetRegistrations"][0];
    assert_eq!(reg["attributeOptionCombo"], "h4vkEmoRdNq");
    assert_eq!(reg["completed"], true);

    // Un-completing needs no compulsory values; a wrong option is a 409.
    let r = post_json(
        &t,
        "admin",
        "/api/dataEntry/dataSetCompletion",
        json!({"dataSet": "iczD3R7LCdM", "period": "202611", "orgUnit": OU,
               "attribute": {"combo": "jdrs3jyhqzo", "options": ["xxxxxxxxxxx"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

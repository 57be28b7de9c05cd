//! The permission matrix: users × data endpoints × org units. Every cell asserts the
//! status and `errorCode` (or what the read shows), and for a refused request that
//! nothing changed (values, follow-up flags, deletions, audits and registrations read
//! back as the superuser).
//!
//! The scopes are written out per user ([`USERS`]), not derived from the hierarchy, so
//! the table is the specification. Adding an endpoint is one row of [`endpoints`]: what
//! it needs (authority, capture or view scope), the request for an org unit, and the
//! outcome inside and outside the scope.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tally_core::users::UserRecord;
use tally_domain::uid::Uid;

use crate::harness::{Resp, TestApp, basic};

const DATA_SET: &str = "pBOMPrpg1QX";
const DE: &str = "f7n9E0hX8qk";
const PE: &str = "202401";

/// Ngelehun CHC: in Badjia (chiefdom), in Bo (district).
const NGELEHUN: &str = "DiszpKrYNg8";
/// Baoma CHC: in Bo, not in Badjia.
const BAOMA: &str = "hExCLRDF8xI";
/// Nongowa Kenema CHC: another district (Kenema).
const KENEMA: &str = "AGm1hDiA4aS";
/// Sierra Leone: the parent of every district.
const ROOT: &str = "ImspTQPwCqd";
const UNITS: [&str; 4] = [NGELEHUN, BAOMA, KENEMA, ROOT];

const BO: &str = "O6uvpzGd5pu";
const BADJIA: &str = "YuQRtpLP10I";

/// A user of the matrix, with the org units of [`UNITS`] it may capture and view
/// (spelled out, not computed).
struct Who {
    name: &'static str,
    authorities: &'static [&'static str],
    capture_roots: &'static [&'static str],
    view_roots: &'static [&'static str],
    disabled: bool,
    captures: &'static [&'static str],
    views: &'static [&'static str],
}

const USERS: &[Who] = &[
    // The harness's superuser: org units include Sierra Leone. Not exempt from scope,
    // but its scope is everything.
    Who {
        name: "admin",
        authorities: &["ALL"],
        capture_roots: &[],
        view_roots: &[],
        disabled: false,
        captures: &[NGELEHUN, BAOMA, KENEMA, ROOT],
        views: &[NGELEHUN, BAOMA, KENEMA, ROOT],
    },
    // A data clerk for the district of Bo.
    Who {
        name: "boclerk",
        authorities: &["F_DATAVALUE_ADD"],
        capture_roots: &[BO],
        view_roots: &[],
        disabled: false,
        captures: &[NGELEHUN, BAOMA],
        views: &[NGELEHUN, BAOMA],
    },
    // Read-only in Bo: no F_DATAVALUE_ADD.
    Who {
        name: "boreader",
        authorities: &[],
        capture_roots: &[BO],
        view_roots: &[],
        disabled: false,
        captures: &[NGELEHUN, BAOMA],
        views: &[NGELEHUN, BAOMA],
    },
    // Captures for the chiefdom of Badjia, views the whole district of Bo.
    Who {
        name: "badjia",
        authorities: &["F_DATAVALUE_ADD"],
        capture_roots: &[BADJIA],
        view_roots: &[BO],
        disabled: false,
        captures: &[NGELEHUN],
        views: &[NGELEHUN, BAOMA],
    },
    // A disabled Bo clerk: refused everywhere with the right password.
    Who {
        name: "retired",
        authorities: &["F_DATAVALUE_ADD"],
        capture_roots: &[BO],
        view_roots: &[],
        disabled: true,
        captures: &[],
        views: &[],
    },
];

/// A request: method, URI, content type and body.
type Call = (Method, String, Option<&'static str>, String);

/// Which scope an endpoint checks.
#[derive(Clone, Copy)]
enum Scope {
    /// The data capture hierarchy.
    Capture,
    /// The data view hierarchy (falling back to capture).
    View,
}

/// One endpoint: a row of the matrix.
struct Endpoint {
    name: &'static str,
    /// Needs `F_DATAVALUE_ADD` (403 without).
    write: bool,
    scope: Scope,
    /// The request for an org unit: method, URI, content type and body.
    request: fn(&str) -> Call,
    /// The outcome inside the scope and outside it, as [`outcome`] writes them.
    inside: &'static str,
    outside: &'static str,
}

fn query(method: Method, uri: String) -> Call {
    (method, uri, None, String::new())
}

fn json_body(method: Method, uri: &str, body: &Value) -> Call {
    (
        method,
        uri.to_owned(),
        Some("application/json"),
        body.to_string(),
    )
}

/// Every data read and write endpoint.
fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            name: "POST /api/dataValueSets",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                json_body(
                    Method::POST,
                    "/api/dataValueSets",
                    &json!({"dataSet": DATA_SET, "period": PE, "orgUnit": ou,
                            "dataValues": [{"dataElement": DE, "value": "20"}]}),
                )
            },
            inside: "200 written=1",
            outside: "409 E7617 written=0",
        },
        Endpoint {
            name: "POST /api/dataValueSets (CSV)",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                (
                    Method::POST,
                    "/api/dataValueSets".into(),
                    Some("application/csv"),
                    format!(
                        "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n{DE},{PE},{ou},,,23\n"
                    ),
                )
            },
            inside: "200 written=1",
            outside: "409 E7617 written=0",
        },
        Endpoint {
            name: "POST /api/dataValueSets (XML)",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                (
                    Method::POST,
                    "/api/dataValueSets".into(),
                    Some("application/xml"),
                    format!(
                        r#"<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" period="{PE}" orgUnit="{ou}"><dataValue dataElement="{DE}" value="24"/></dataValueSet>"#
                    ),
                )
            },
            inside: "200 written=1",
            outside: "409 E7617 written=0",
        },
        Endpoint {
            name: "POST /api/dataValueSets with completeDate",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                json_body(
                    Method::POST,
                    "/api/dataValueSets",
                    &json!({"dataSet": DATA_SET, "period": "202402", "orgUnit": ou,
                            "completeDate": "2024-03-01",
                            "dataValues": [{"dataElement": DE, "value": "5"}]}),
                )
            },
            inside: "200 written=1 complete",
            outside: "409 E7617 written=0",
        },
        Endpoint {
            name: "GET /api/dataValueSets",
            write: false,
            scope: Scope::View,
            request: |ou| {
                query(
                    Method::GET,
                    format!("/api/dataValueSets.json?dataSet={DATA_SET}&period={PE}&orgUnit={ou}"),
                )
            },
            inside: "200 values=1",
            outside: "409 E2012",
        },
        Endpoint {
            name: "GET /api/dataValueSets children=true",
            write: false,
            scope: Scope::View,
            request: |ou| {
                query(
                    Method::GET,
                    format!(
                        "/api/dataValueSets.json?dataElement={DE}&period={PE}&orgUnit={ou}&children=true"
                    ),
                )
            },
            inside: "200 values>0",
            outside: "409 E2012",
        },
        Endpoint {
            name: "POST /api/dataValues",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                query(
                    Method::POST,
                    format!("/api/dataValues?de={DE}&pe={PE}&ou={ou}&value=21"),
                )
            },
            inside: "201",
            outside: "409 E2020",
        },
        Endpoint {
            name: "POST /api/dataValues (JSON)",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                json_body(
                    Method::POST,
                    "/api/dataValues",
                    &json!({"dataElement": DE, "period": PE, "orgUnit": ou, "value": "22"}),
                )
            },
            inside: "201",
            outside: "409 E2020",
        },
        Endpoint {
            name: "GET /api/dataValues",
            write: false,
            scope: Scope::Capture,
            request: |ou| {
                query(
                    Method::GET,
                    format!("/api/dataValues.json?de={DE}&pe={PE}&ou={ou}"),
                )
            },
            inside: "200 [\"10\"]",
            outside: "409 E2020",
        },
        Endpoint {
            name: "DELETE /api/dataValues",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                query(
                    Method::DELETE,
                    format!("/api/dataValues?de={DE}&pe={PE}&ou={ou}"),
                )
            },
            inside: "204",
            outside: "409 E2020",
        },
        Endpoint {
            name: "PUT /api/dataValues/followup",
            write: false,
            scope: Scope::Capture,
            request: |ou| {
                json_body(
                    Method::PUT,
                    "/api/dataValues/followup",
                    &json!({"dataElement": DE, "period": PE, "orgUnit": ou, "followup": true}),
                )
            },
            inside: "200",
            outside: "409 E2020",
        },
        Endpoint {
            name: "PUT /api/dataValues/followups",
            write: false,
            scope: Scope::Capture,
            request: |ou| {
                json_body(
                    Method::PUT,
                    "/api/dataValues/followups",
                    &json!({"values": [{"dataElement": DE, "period": PE, "orgUnit": ou,
                                        "followup": true}]}),
                )
            },
            inside: "200",
            outside: "409 E2020",
        },
        Endpoint {
            name: "GET /api/audits/dataValue",
            write: false,
            scope: Scope::View,
            request: |ou| {
                query(
                    Method::GET,
                    format!("/api/audits/dataValue?de={DE}&ou={ou}"),
                )
            },
            inside: "200 audits>0",
            outside: "200 audits=0",
        },
        Endpoint {
            name: "GET /api/completeDataSetRegistrations",
            write: false,
            scope: Scope::View,
            request: |ou| {
                query(
                    Method::GET,
                    format!(
                        "/api/completeDataSetRegistrations?dataSet={DATA_SET}&period={PE}&orgUnit={ou}"
                    ),
                )
            },
            inside: "200 registrations=1",
            outside: "403",
        },
        Endpoint {
            name: "POST /api/completeDataSetRegistrations",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                json_body(
                    Method::POST,
                    "/api/completeDataSetRegistrations",
                    &json!({"completeDataSetRegistrations": [
                        {"dataSet": DATA_SET, "period": "202403", "organisationUnit": ou}]}),
                )
            },
            inside: "200 written=1",
            outside: "409 written=0",
        },
        Endpoint {
            name: "DELETE /api/completeDataSetRegistrations",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                query(
                    Method::DELETE,
                    format!("/api/completeDataSetRegistrations?ds={DATA_SET}&pe={PE}&ou={ou}"),
                )
            },
            inside: "204",
            outside: "409",
        },
        Endpoint {
            name: "GET /api/dataEntry/dataValues",
            write: false,
            scope: Scope::View,
            request: |ou| {
                query(
                    Method::GET,
                    format!("/api/dataEntry/dataValues?ds={DATA_SET}&pe={PE}&ou={ou}"),
                )
            },
            inside: "200 values>0",
            outside: "409 E2020",
        },
        Endpoint {
            name: "GET /api/dataEntry/dataValueContext",
            write: false,
            scope: Scope::View,
            request: |ou| {
                query(
                    Method::GET,
                    format!(
                        "/api/dataEntry/dataValueContext?de={DE}&pe={PE}&ou={ou}&co=HllvX50cXC0"
                    ),
                )
            },
            inside: "200",
            outside: "409 E2020",
        },
        Endpoint {
            name: "POST /api/dataEntry/dataSetCompletion",
            write: true,
            scope: Scope::Capture,
            request: |ou| {
                json_body(
                    Method::POST,
                    "/api/dataEntry/dataSetCompletion",
                    &json!({"dataSet": DATA_SET, "period": "202403", "orgUnit": ou,
                            "completed": true}),
                )
            },
            inside: "200",
            outside: "409",
        },
    ]
}

/// What a response shows, in the matrix's words: the status, the `errorCode` (of the
/// WebMessage, or of the first conflict of an import summary) and what a read found.
fn outcome(r: &Resp) -> String {
    let mut parts = vec![r.status.as_u16().to_string()];
    let j: Option<Value> = serde_json::from_slice(&r.body).ok();
    let Some(j) = j else {
        return parts.join(" ");
    };
    let summary = j.get("response").filter(|s| s.get("importCount").is_some());
    let code = j.get("errorCode").and_then(Value::as_str).or_else(|| {
        summary
            .and_then(|s| s["conflicts"].get(0))
            .and_then(|c| c["errorCode"].as_str())
    });
    if let Some(code) = code {
        parts.push(code.to_owned());
    }
    if let Some(s) = summary {
        let c = &s["importCount"];
        let written = c["imported"].as_u64().unwrap_or(0) + c["updated"].as_u64().unwrap_or(0);
        parts.push(format!("written={written}"));
        if s.get("dataSetComplete")
            .and_then(Value::as_str)
            .is_some_and(|d| d != "false")
        {
            parts.push("complete".into());
        }
    } else if let Some(values) = j.get("dataValues").and_then(Value::as_array) {
        if j.get("dataSet").is_some() {
            parts.push(format!("values={}", values.len()));
        } else {
            parts.push(
                if values.is_empty() {
                    "values=0"
                } else {
                    "values>0"
                }
                .into(),
            );
        }
    } else if j.get("dataSet").is_some() || j.get("orgUnit").is_some() {
        // A single data value set without values.
        parts.push("values=0".into());
    } else if let Some(a) = j.get("dataValueAudits").and_then(Value::as_array) {
        parts.push(if a.is_empty() { "audits=0" } else { "audits>0" }.into());
    } else if let Some(list) = j
        .get("completeDataSetRegistrations")
        .and_then(Value::as_array)
    {
        parts.push(format!("registrations={}", list.len()));
    } else if j == json!({}) {
        parts.push("registrations=0".into());
    } else if j.is_array() {
        parts.push(j.to_string());
    }
    parts.join(" ")
}

fn record(who: &Who) -> UserRecord {
    let uid = |u: &&str| Uid::parse(u).unwrap();
    // Stable UIDs from the name, so the transcript is stable.
    let id = format!("{:A<11}", who.name);
    let mut r = UserRecord::new(
        Uid::parse(&id[..11]).unwrap(),
        who.name,
        bcrypt::hash("district", 4).unwrap(),
    );
    r.authorities = who.authorities.iter().map(|a| (*a).to_owned()).collect();
    r.organisation_units = who.capture_roots.iter().map(uid).collect();
    r.data_view_organisation_units = who.view_roots.iter().map(uid).collect();
    r.disabled = who.disabled;
    r
}

async fn as_admin(t: &TestApp, method: Method, uri: &str, body: Option<Value>) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", basic("admin"));
    if body.is_some() {
        req = req.header("Content-Type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    t.request(req.body(body).unwrap()).await
}

/// The value `10` in every unit for `PE` (reviving deleted ones, clearing follow-ups),
/// and a completed registration for `PE` everywhere; no live value in February and no
/// completed registration in March (the periods the writes create).
async fn seed(t: &TestApp) {
    for ou in UNITS {
        let r = as_admin(
            t,
            Method::POST,
            "/api/dataValueSets",
            Some(json!({"dataSet": DATA_SET, "period": PE, "orgUnit": ou,
                        "dataValues": [{"dataElement": DE, "value": "10"}]})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "seeding {ou}: {}", r.text());
    }
    // Nothing for February (values deleted) and March (registrations not complete).
    for ou in UNITS {
        let r = as_admin(
            t,
            Method::POST,
            "/api/dataValueSets?importStrategy=DELETE",
            Some(
                json!({"dataSet": DATA_SET, "period": "202402", "orgUnit": ou,
                        "dataValues": [{"dataElement": DE, "value": "5"}]}),
            ),
        )
        .await;
        assert!(r.status.is_success(), "clearing {ou}: {}", r.text());
        let r = as_admin(
            t,
            Method::DELETE,
            &format!("/api/completeDataSetRegistrations?ds={DATA_SET}&pe=202403&ou={ou}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }
    let items: Vec<Value> = UNITS
        .iter()
        .map(|ou| json!({"dataSet": DATA_SET, "period": PE, "organisationUnit": ou}))
        .collect();
    let r = as_admin(
        t,
        Method::POST,
        "/api/completeDataSetRegistrations",
        Some(json!({ "completeDataSetRegistrations": items })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// Everything a write could change, read back by the superuser: every value (deleted
/// too) of the data set's periods, every audit, every registration.
async fn state(t: &TestApp) -> Value {
    let values = as_admin(
        t,
        Method::GET,
        &format!(
            "/api/dataValueSets.json?dataSet={DATA_SET}&startDate=2024-01-01&endDate=2024-12-31&orgUnit={ROOT}&children=true&includeDeleted=true"
        ),
        None,
    )
    .await;
    assert_eq!(values.status, StatusCode::OK, "{}", values.text());
    let audits = as_admin(
        t,
        Method::GET,
        "/api/audits/dataValue?skipPaging=true",
        None,
    )
    .await;
    let registrations = as_admin(
        t,
        Method::GET,
        &format!(
            "/api/completeDataSetRegistrations?dataSet={DATA_SET}&startDate=2024-01-01&endDate=2024-12-31&orgUnit={ROOT}&children=true"
        ),
        None,
    )
    .await;
    json!({"values": values.json(), "audits": audits.json(), "registrations": registrations.json()})
}

/// The values, audits and registrations the seed starts from, with `10` written over a
/// `9` so every unit has one UPDATE audit.
async fn setup() -> TestApp {
    let t = TestApp::demo();
    t.app
        .save_users(&USERS.iter().skip(1).map(record).collect::<Vec<_>>())
        .unwrap();
    t.pause_transcript(true);
    for ou in UNITS {
        let r = as_admin(
            &t,
            Method::POST,
            "/api/dataValueSets",
            Some(json!({"dataSet": DATA_SET, "period": PE, "orgUnit": ou,
                        "dataValues": [{"dataElement": DE, "value": "9"}]})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{ou}: {}", r.text());
    }
    seed(&t).await;
    t.pause_transcript(false);
    t
}

#[tokio::test]
async fn nobody_reads_or_writes_outside_their_scope() {
    let t = setup().await;
    let mut failures = Vec::new();
    for endpoint in endpoints() {
        for who in USERS {
            for ou in UNITS {
                t.pause_transcript(true);
                seed(&t).await;
                let before = state(&t).await;
                t.pause_transcript(false);

                let (method, uri, content_type, body) = (endpoint.request)(ou);
                let mut req = Request::builder()
                    .method(method)
                    .uri(&uri)
                    .header("Authorization", basic(who.name));
                if let Some(ct) = content_type {
                    req = req.header("Content-Type", ct);
                }
                let resp = t.request(req.body(Body::from(body)).unwrap()).await;

                let in_scope = match endpoint.scope {
                    Scope::Capture => who.captures.contains(&ou),
                    Scope::View => who.views.contains(&ou),
                };
                let (want, refused) = if who.disabled {
                    ("401", true)
                } else if endpoint.write
                    && !who
                        .authorities
                        .iter()
                        .any(|a| *a == "ALL" || *a == "F_DATAVALUE_ADD")
                {
                    ("403", true)
                } else if in_scope {
                    (endpoint.inside, false)
                } else {
                    (endpoint.outside, true)
                };
                let got = outcome(&resp);
                let cell = format!("{} | {} | {ou}", endpoint.name, who.name);
                if got != want {
                    failures.push(format!(
                        "{cell}: want `{want}`, got `{got}`: {}",
                        resp.text()
                    ));
                    continue;
                }
                let read = (endpoint.request)(ou).0 == Method::GET;
                if refused || read {
                    t.pause_transcript(true);
                    let after = state(&t).await;
                    t.pause_transcript(false);
                    if before != after {
                        failures.push(format!("{cell}: refused or read-only, yet changed data"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// An async import's status and summary name the submitter's org units and values: only
/// the submitter and superusers see them; anyone else gets what an unknown job gives.
#[tokio::test]
async fn async_jobs_are_visible_to_their_submitter_and_superusers() {
    let t = setup().await;
    let body = json!({"dataSet": DATA_SET, "period": "202405", "orgUnit": NGELEHUN,
                      "dataValues": [{"dataElement": DE, "value": "3"}]});
    let r = t
        .post_as(
            "boclerk",
            "/api/dataValueSets?async=true",
            "application/json",
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()["response"]["id"].as_str().unwrap().to_owned();
    t.redact(&id, "[job id]");
    let summary = format!("/api/system/taskSummaries/DATAVALUE_IMPORT/{id}");
    let tasks = format!("/api/system/tasks/DATAVALUE_IMPORT/{id}");
    t.pause_transcript(true);
    let mut done = false;
    for _ in 0..200 {
        if !t.get_as("boclerk", &summary).await.body.is_empty() {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    t.pause_transcript(false);
    assert!(done, "job {id} did not finish");
    for who in ["boclerk", "admin"] {
        let r = t.get_as(who, &summary).await;
        assert_eq!(
            r.json()["importCount"]["imported"],
            1,
            "{who}: {}",
            r.text()
        );
        let r = t.get_as(who, &tasks).await;
        assert!(!r.json().as_array().unwrap().is_empty(), "{who}");
    }
    for who in ["badjia", "boreader"] {
        let r = t.get_as(who, &summary).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.is_empty(), "{who} sees the summary: {}", r.text());
        let r = t.get_as(who, &tasks).await;
        assert_eq!(r.json(), json!([]), "{who}");
    }
    let r = t.get_as("retired", &tasks).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// `/api/metadata` with users, roles or groups: the user-management authorities, and no
/// one grants (or takes over) authorities they do not hold. Refused documents change
/// nothing.
#[tokio::test]
async fn metadata_imports_cannot_raise_privileges() {
    let t = setup().await;
    let manager = UserRecord {
        authorities: vec![
            "F_METADATA_IMPORT".into(),
            "F_USER_ADD".into(),
            "F_USERROLE_PUBLIC_ADD".into(),
            "F_DATAVALUE_ADD".into(),
        ],
        organisation_units: vec![Uid::parse(BO).unwrap()],
        ..UserRecord::new(
            Uid::parse("managerAAAA").unwrap(),
            "manager",
            bcrypt::hash("district", 4).unwrap(),
        )
    };
    let importer = UserRecord {
        authorities: vec!["F_METADATA_IMPORT".into()],
        ..UserRecord::new(
            Uid::parse("importerAAA").unwrap(),
            "mdimporter",
            bcrypt::hash("district", 4).unwrap(),
        )
    };
    t.app.save_users(&[manager, importer]).unwrap();
    let post = |who: &'static str, doc: Value| {
        let t = &t;
        async move {
            t.post_as(
                who,
                "/api/metadata",
                "application/json",
                doc.to_string().into_bytes(),
            )
            .await
        }
    };
    let forbidden = |r: &Resp, needle: &str| {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert!(r.text().contains(needle), "{}", r.text());
    };
    let user = |id: &str, name: &str, extra: Value| {
        let mut u = json!({"id": id, "username": name, "password": "Pass-2026!",
                           "organisationUnits": [{"id": BO}]});
        u.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        u
    };
    // Without F_USER_ADD: no users at all.
    let r = post(
        "mdimporter",
        json!({"users": [user("newUserAAAA", "newclerk", json!({}))]}),
    )
    .await;
    forbidden(&r, "F_USER_ADD");
    // A role with ALL, or with an authority the manager lacks.
    for authorities in [json!(["ALL"]), json!(["F_DATAVALUE_ADD", "F_EDIT_EXPIRED"])] {
        let r = post(
            "manager",
            json!({"userRoles": [{"id": "roleAAAAAAA", "name": "Too much",
                                  "authorities": authorities}]}),
        )
        .await;
        forbidden(&r, "authority");
    }
    // A user given a role the manager could not have made, or the superuser's password
    // changed.
    let r = post(
        "admin",
        json!({"userRoles": [{"id": "superRoleAA", "name": "Superuser", "authorities": ["ALL"]}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(
        "manager",
        json!({"users": [user("newUserAAAA", "newclerk",
                              json!({"userRoles": [{"id": "superRoleAA"}]}))]}),
    )
    .await;
    forbidden(&r, "newclerk");
    let r = post(
        "manager",
        json!({"users": [{"id": "M5zQapPyTZI", "username": "admin", "password": "Mine-2026!"}]}),
    )
    .await;
    forbidden(&r, "admin");
    // A clerk for another district (the manager is in Bo).
    let r = post(
        "manager",
        json!({"users": [{"id": "newUserAAAA", "username": "newclerk", "password": "Pass-2026!",
                          "organisationUnits": [{"id": KENEMA}]}]}),
    )
    .await;
    forbidden(&r, KENEMA);
    assert!(t.app.users().record("newclerk").is_none());
    assert!(
        t.app
            .users()
            .role(Uid::parse("roleAAAAAAA").unwrap())
            .is_none()
    );
    assert_eq!(
        t.get("/api/me").await.status,
        StatusCode::OK,
        "admin's password kept"
    );
    // Moving Kenema's clinic into Bo would widen the manager's own hierarchy.
    let clinic = |parent: &str| {
        json!({"organisationUnits": [{"id": KENEMA, "name": "Nongowa Kenema CHC",
                                      "shortName": "Nongowa Kenema CHC",
                                      "openingDate": "1970-01-01", "parent": {"id": parent}}]})
    };
    let r = post("mdimporter", clinic(BADJIA)).await;
    forbidden(&r, "F_ORGANISATIONUNIT_MOVE");
    let r = t
        .get(&format!("/api/organisationUnits/{KENEMA}?fields=parent"))
        .await;
    assert_eq!(r.json()["parent"]["id"], "KIUCimTXf8Q", "not moved");
    // Within its own authorities the manager creates a role and a clerk who can log in.
    let r = post(
        "manager",
        json!({"userRoles": [{"id": "roleAAAAAAA", "name": "Clerk",
                              "authorities": ["F_DATAVALUE_ADD"]}],
               "users": [user("newUserAAAA", "newclerk",
                              json!({"userRoles": [{"id": "roleAAAAAAA"}]}))]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let me = t
        .request(
            Request::get("/api/me/authorization")
                .header(
                    "Authorization",
                    format!(
                        "Basic {}",
                        base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            "newclerk:Pass-2026!"
                        )
                    ),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(me.json(), json!(["F_DATAVALUE_ADD"]));
}

/// Metadata reads: every user reads every org unit, and `userOnly`,
/// `userDataViewOnly`, `userDataViewFallback`, `withinUserHierarchy` and
/// `withinUserSearchHierarchy` narrow the list to the user's own units; `/api/users`
/// without `F_USER_VIEW` shows the user alone.
#[tokio::test]
async fn metadata_reads_respect_the_users_scope() {
    let t = setup().await;
    let ids = |r: &Resp, collection: &str| -> Vec<String> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let mut ids: Vec<String> = r.json()[collection]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let units = |who: &'static str, params: &'static str| {
        let t = &t;
        async move {
            t.get_as(
                who,
                &format!("/api/organisationUnits?paging=false&fields=id&{params}"),
            )
            .await
        }
    };
    assert_eq!(
        ids(&units("badjia", "").await, "organisationUnits").len(),
        36
    );
    assert_eq!(
        ids(&units("badjia", "userOnly=true").await, "organisationUnits"),
        [BADJIA]
    );
    assert_eq!(
        ids(
            &units("badjia", "userDataViewOnly=TRUE").await,
            "organisationUnits"
        ),
        [BO]
    );
    // The clerk has no data view units: only the fallback shows the capture units.
    assert!(
        ids(
            &units("boclerk", "userDataViewOnly=true").await,
            "organisationUnits"
        )
        .is_empty()
    );
    assert_eq!(
        ids(
            &units("boclerk", "userDataViewFallback=true").await,
            "organisationUnits"
        ),
        [BO]
    );
    let badjia_subtree = ids(
        &units("badjia", "withinUserHierarchy=true").await,
        "organisationUnits",
    );
    assert_eq!(
        badjia_subtree,
        ["DiszpKrYNg8", "YuQRtpLP10I", "aVnI0mVGBbS", "g8upMTyEZGZ"]
    );
    assert_eq!(
        ids(
            &units("badjia", "withinUserSearchHierarchy=true").await,
            "organisationUnits"
        ),
        badjia_subtree
    );
    // With the other parameters, paged: the pager counts the scoped list.
    let r = t
        .get_as(
            "boclerk",
            "/api/organisationUnits?withinUserHierarchy=true&pageSize=5&filter=name:ilike:CHC",
        )
        .await;
    assert_eq!(r.json()["pager"]["total"], 3, "{}", r.text());

    // Users: the clerk sees itself only, in lists, by id and in the metadata export.
    assert_eq!(
        ids(&t.get_as("boclerk", "/api/users").await, "users"),
        ["boclerkAAAA"]
    );
    assert_eq!(
        t.get_as("boclerk", "/api/users/M5zQapPyTZI").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get_as("boclerk", "/api/users/boclerkAAAA").await.status,
        StatusCode::OK
    );
    assert_eq!(ids(&t.get("/api/users").await, "users").len(), 7);
    // Nor through another collection's fields or filters: a group of the clerk and the
    // superuser shows the superuser as a bare reference.
    let r = t
        .post(
            "/api/metadata",
            "application/json",
            json!({"userGroups": [{"id": "groupAAAAAA", "name": "Bo team",
                                   "users": [{"id": "boclerkAAAA"}, {"id": "M5zQapPyTZI"}]}]})
            .to_string()
            .into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let group = t
        .get_as(
            "boclerk",
            "/api/userGroups/groupAAAAAA?fields=users[id,username]",
        )
        .await
        .json();
    assert_eq!(
        group,
        json!({"users": [{"id": "M5zQapPyTZI"}, {"id": "boclerkAAAA", "username": "boclerk"}]})
    );
    let r = t
        .get_as(
            "boclerk",
            "/api/userGroups?filter=users.username:eq:admin&fields=id",
        )
        .await;
    assert_eq!(r.json()["userGroups"], json!([]), "{}", r.text());
    let r = t
        .get_as(
            "admin",
            "/api/userGroups?filter=users.username:eq:admin&fields=id",
        )
        .await;
    assert_eq!(r.json()["userGroups"], json!([{"id": "groupAAAAAA"}]));
    // /api/me shows the user's own units.
    let me = t
        .get_as(
            "badjia",
            "/api/me?fields=organisationUnits[id],dataViewOrganisationUnits[id]",
        )
        .await
        .json();
    assert_eq!(
        me,
        json!({"organisationUnits": [{"id": BADJIA}],
               "dataViewOrganisationUnits": [{"id": BO}]})
    );
}

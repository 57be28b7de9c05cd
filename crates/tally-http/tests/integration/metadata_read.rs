//! Metadata reads: `/api/<collection>`, `/api/<collection>/{id}`, `/api/metadata` and
//! `/api/me?fields=`, over the demo metadata (Sierra Leone subset).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tally_core::users::UserRecord;
use tally_core::{App, Clock};
use tally_domain::uid::Uid;
use tower::ServiceExt as _;

use crate::harness::{Resp, TestApp, basic};

/// Escapes what a URI may not contain (tests write queries readably).
fn enc(uri: &str) -> String {
    uri.replace(' ', "+")
        .replace('[', "%5B")
        .replace(']', "%5D")
        .replace('<', "%3C")
}

async fn ok_json(t: &TestApp, uri: &str) -> Value {
    let r = t.get(&enc(uri)).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    r.json()
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn lists_default_to_id_and_display_name_with_a_pager() {
    let t = TestApp::demo();
    let r = t.get("/api/dataSets").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // The pager comes first, in DHIS2's field order.
    assert!(
        r.text().starts_with(
            r#"{"pager":{"page":1,"total":3,"pageSize":50,"pageCount":1},"dataSets":["#
        ),
        "{}",
        r.text()
    );
    insta::assert_json_snapshot!("data_sets_default", r.json());
    // The `.json` suffix and an API version are the same resource.
    let j = ok_json(&t, "/api/41/dataSets.json").await;
    assert_eq!(j, r.json());
    // Every collection tally holds is served; levels are held by none.
    for collection in [
        "dataElements",
        "dataElementGroups",
        "organisationUnits",
        "organisationUnitGroups",
        "categoryCombos",
        "categoryOptionCombos",
        "categoryOptions",
        "categories",
        "optionSets",
        "options",
        "attributes",
        "sections",
        "users",
        "userRoles",
        "userGroups",
    ] {
        let j = ok_json(&t, &format!("/api/{collection}.json?paging=false")).await;
        assert!(j[collection].is_array(), "{collection}: {j}");
        assert!(j.get("pager").is_none(), "{collection}");
    }
    let levels = ok_json(&t, "/api/organisationUnitLevels?paging=false").await;
    assert_eq!(levels, json!({"organisationUnitLevels": []}));
}

#[tokio::test]
async fn fields_nest_into_references() {
    let t = TestApp::demo();
    let bo = ok_json(
        &t,
        "/api/organisationUnits/O6uvpzGd5pu?fields=id,name,level,parent[name],children[id,name,children::size]",
    )
    .await;
    insta::assert_json_snapshot!("org_unit_children", bo);
    // The requests dhis2-pocket-knife makes.
    let ds = ok_json(
        &t,
        "/api/dataSets/pBOMPrpg1QX.json?fields=id,name,periodType",
    )
    .await;
    assert_eq!(
        ds,
        json!({"id": "pBOMPrpg1QX", "name": "Mortality < 5 years", "periodType": "Monthly"})
    );
    let ds = ok_json(
        &t,
        "/api/dataSets/pBOMPrpg1QX.json?fields=id,name,categoryCombo[categoryOptionCombos]",
    )
    .await;
    assert_eq!(
        ds["categoryCombo"]["categoryOptionCombos"],
        json!([{"id": "HllvX50cXC0"}])
    );
    let ds = ok_json(
        &t,
        "/api/dataSets/mT9j5hiveR5.json?fields=id,name,organisationUnits[id]",
    )
    .await;
    assert_eq!(ds["organisationUnits"].as_array().unwrap().len(), 5);
    // dhis2w-client groups values per data set with this.
    let all = ok_json(
        &t,
        "/api/dataSets?fields=id,dataSetElements[dataElement[id]]&paging=false",
    )
    .await;
    assert_eq!(
        all["dataSets"][0]["dataSetElements"][0],
        json!({"dataElement": {"id": "GJMZgooJutm"}})
    );
    // Deeper nesting, presets, exclusions, renames and transformers.
    let de = ok_json(
        &t,
        "/api/dataElements/GJMZgooJutm?fields=:identifiable,!created,categoryCombo[name,categories[name,categoryOptions~pluck[name]]],dataSetElements[dataSet[name]],name~rename(label)",
    )
    .await;
    insta::assert_json_snapshot!("data_element_nested", de);
    // Without fields an object renders all its properties, references as ids.
    let measles = ok_json(&t, "/api/dataElements/f7n9E0hX8qk").await;
    insta::assert_json_snapshot!("data_element_all", measles);
    let owner = ok_json(
        &t,
        "/api/dataSets/pBOMPrpg1QX?fields=:owner,!organisationUnits",
    )
    .await;
    assert!(owner.get("organisationUnits").is_none());
    assert!(owner.get("displayName").is_none(), "not owned");
    assert_eq!(owner["periodType"], "Monthly");
    // Any object by UID, whatever its type (openhexa reads valueType this way).
    let any = ok_json(
        &t,
        "/api/identifiableObjects/f7n9E0hX8qk?fields=id,valueType",
    )
    .await;
    assert_eq!(any, json!({"id": "f7n9E0hX8qk", "valueType": "NUMBER"}));
    let any = ok_json(&t, "/api/identifiableObjects/pBOMPrpg1QX.json").await;
    assert_eq!(any["periodType"], "Monthly");
    let r = t.get("/api/identifiableObjects/xxxxxxxxxxx").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["message"],
        "IdentifiableObject with id xxxxxxxxxxx could not be found."
    );
    // A metadata attribute's UID is a field.
    let ou = ok_json(
        &t,
        "/api/organisationUnits/DiszpKrYNg8?fields=name,n2xYlNbsfko",
    )
    .await;
    assert_eq!(ou, json!({"name": "Ngelehun CHC", "n2xYlNbsfko": "GHE51"}));
}

#[tokio::test]
async fn each_filter_operator() {
    let t = TestApp::demo();
    let cases: &[(&str, &[&str])] = &[
        ("code:eq:DE_MEASLES", &["Measles"]),
        ("name:ieq:CHOLERA", &["Cholera"]),
        (
            "code:!eq:DE_MEASLES&filter=code:like:DE_",
            &[
                "Accute Flaccid Paralysis (Deaths < 5 yrs)",
                "Cholera",
                "Dysentery",
            ],
        ),
        (
            "code:ne:DE_MEASLES&filter=code:$like:DE_",
            &[
                "Accute Flaccid Paralysis (Deaths < 5 yrs)",
                "Cholera",
                "Dysentery",
            ],
        ),
        (
            "name:like:persons tested",
            &["VCCT persons tested", "VCCT persons tested HIV positive"],
        ),
        (
            "name:!like:a",
            &[
                "ACT stock-out during month",
                "Dysentery",
                "PLHIV screened for TB",
                "VCCT persons counselled",
                "VCCT persons tested",
                "VCCT persons tested HIV positive",
            ],
        ),
        (
            "name:ilike:MALARIA",
            &[
                "Malaria confirmed cases",
                "Malaria deaths",
                "Malaria register page photo",
                "Malaria report remarks",
            ],
        ),
        ("name:!ilike:a&filter=name:!ilike:v", &["Dysentery"]),
        (
            "name:$like:PLHIV",
            &[
                "PLHIV screened for TB",
                "PLHIV with TB started on treatment",
            ],
        ),
        ("name:like$:positive", &["VCCT persons tested HIV positive"]),
        (
            "name:$ilike:plhiv w",
            &["PLHIV with TB started on treatment"],
        ),
        ("name:ilike$:DEATHS", &["Malaria deaths"]),
        (
            "code:in:[DE_MEASLES,MAL_DEATHS,NOPE]",
            &["Malaria deaths", "Measles"],
        ),
        (
            "code:!in:[VCCT_0,VCCT_1,VCCT_2]&filter=code:$like:VCCT",
            &[],
        ),
        ("optionSet:!null", &["ACT stock-out during month"]),
        ("optionSet:null&filter=valueType:eq:TEXT", &[]),
        (
            "dataElementGroups:empty",
            &["Malaria register page photo", "Malaria report remarks"],
        ),
        (
            "name:token:tested vcct positive",
            &["VCCT persons tested HIV positive"],
        ),
        ("identifiable:token:mal_deaths", &["Malaria deaths"]),
        (
            "name:!token:vcct&filter=name:!$like:M&filter=name:!like$:B\
             &filter=name:!$ilike:p&filter=name:!ilike$:S",
            &[
                "Accute Flaccid Paralysis (Deaths < 5 yrs)",
                "ACT stock-out during month",
                "Cholera",
                "Dysentery",
                "RDT stock on hand (average)",
            ],
        ),
        (
            "dataElementGroups:!empty&filter=categoryCombo.categories:gt:1",
            &[
                "Malaria confirmed cases",
                "Malaria deaths",
                "PLHIV screened for TB",
                "PLHIV with TB started on treatment",
                "VCCT persons counselled",
                "VCCT persons tested",
                "VCCT persons tested HIV positive",
            ],
        ),
        ("zeroIsSignificant:eq:true", &["Malaria deaths"]),
        (
            "categoryCombo.id:eq:wykt23rmDHc",
            &["Malaria confirmed cases", "Malaria deaths"],
        ),
        (
            "dataSetElements.dataSet.id:eq:pBOMPrpg1QX&filter=name:like:s",
            &[
                "Accute Flaccid Paralysis (Deaths < 5 yrs)",
                "Dysentery",
                "Measles",
            ],
        ),
        (
            "dataElementGroups.name:eq:HIV/TB&filter=name:$like:PLHIV",
            &[
                "PLHIV screened for TB",
                "PLHIV with TB started on treatment",
            ],
        ),
    ];
    for (filter, expected) in cases {
        let j = ok_json(
            &t,
            &format!("/api/dataElements.json?fields=id,name&paging=false&filter={filter}"),
        )
        .await;
        assert_eq!(names(&j["dataElements"]), *expected, "filter={filter}");
    }
    // Numbers, dates and collection sizes on org units; nested paths on data sets.
    let ou = |q: &str| format!("/api/organisationUnits?fields=id,name&paging=false&{q}");
    let j = ok_json(
        &t,
        &ou("filter=level:gt:1&filter=level:lt:3&filter=children:ge:3"),
    )
    .await;
    assert_eq!(names(&j["organisationUnits"]), ["Bo"]);
    let j = ok_json(
        &t,
        &ou("filter=level:le:1&filter=openingDate:ge:1970-01-01"),
    )
    .await;
    assert_eq!(names(&j["organisationUnits"]), ["Sierra Leone"]);
    // The org unit list's own `level` and `maxLevel` (ANDed even with rootJunction=OR).
    let j = ok_json(&t, &ou("level=2&filter=children:ge:3&rootJunction=OR")).await;
    assert_eq!(names(&j["organisationUnits"]), ["Bo"]);
    let j = ok_json(&t, &ou("maxLevel=1")).await;
    assert_eq!(names(&j["organisationUnits"]), ["Sierra Leone"]);
    let r = t.get(&ou("level=two")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let j = ok_json(&t, &ou("filter=parent.code:eq:OU_539")).await;
    assert_eq!(ids(&j["organisationUnits"]).len(), 3);
    let j = ok_json(
        &t,
        "/api/dataSets?fields=id&filter=organisationUnits.id:eq:MI8VIHW2ss3",
    )
    .await;
    assert_eq!(ids(&j["dataSets"]), ["iczD3R7LCdM", "pBOMPrpg1QX"]);
}

#[tokio::test]
async fn root_junction_and_order() {
    let t = TestApp::demo();
    let j = ok_json(
        &t,
        "/api/dataElements?fields=name&filter=code:eq:DE_MEASLES&filter=code:eq:DE_CHOLERA&rootJunction=OR",
    )
    .await;
    assert_eq!(
        j["dataElements"],
        json!([{"name": "Cholera"}, {"name": "Measles"}])
    );
    let j = ok_json(
        &t,
        "/api/dataElements?fields=name&filter=code:eq:DE_MEASLES&filter=code:eq:DE_CHOLERA",
    )
    .await;
    assert_eq!(j["dataElements"], json!([]), "AND is the default");
    let j = ok_json(
        &t,
        "/api/organisationUnits?fields=name,level&order=level:desc,name:asc&pageSize=4",
    )
    .await;
    assert_eq!(
        names(&j["organisationUnits"]),
        [
            "Badjia Station CHP",
            "Baoma CHC",
            "Baoma Koya MCHP",
            "Biriwa CHC"
        ]
    );
    let j = ok_json(
        &t,
        "/api/categoryOptions?fields=code&order=code:desc&paging=false",
    )
    .await;
    let codes: Vec<&str> = j["categoryOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(codes, sorted);
}

#[tokio::test]
async fn paging_pager_and_last_page() {
    let t = TestApp::demo();
    let r = t
        .get("/api/organisationUnits.json?fields=id&pageSize=10&page=2&filter=level:ge:1")
        .await;
    let j = r.json();
    assert_eq!(
        j["pager"],
        json!({
            "page": 2, "total": 36, "pageSize": 10, "pageCount": 4,
            "nextPage": "/api/organisationUnits.json?page=3&pageSize=10&fields=id&filter=level%3Age%3A1",
            "prevPage": "/api/organisationUnits.json?pageSize=10&fields=id&filter=level%3Age%3A1",
        })
    );
    assert_eq!(j["organisationUnits"].as_array().unwrap().len(), 10);
    let last = ok_json(&t, "/api/organisationUnits?fields=id&pageSize=10&page=4").await;
    assert_eq!(last["organisationUnits"].as_array().unwrap().len(), 6);
    assert!(last["pager"].get("nextPage").is_none());
    assert_eq!(
        last["pager"]["prevPage"],
        "/api/organisationUnits?page=3&pageSize=10&fields=id"
    );
    // Past the end: no items, and the pager says the last page (as DHIS2 does).
    let past = ok_json(&t, "/api/organisationUnits?fields=id&pageSize=10&page=7").await;
    assert_eq!(past["organisationUnits"], json!([]));
    assert_eq!(past["pager"]["page"], 4);
    // Pages cover every object once, in the default order (name, then id).
    let mut seen = Vec::new();
    for page in 1..=4 {
        let j = ok_json(
            &t,
            &format!("/api/organisationUnits?fields=id,name&pageSize=10&page={page}"),
        )
        .await;
        seen.extend(
            j["organisationUnits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["name"].as_str().unwrap().to_lowercase()),
        );
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 36);
    // paging=false (any case, as Python clients send it): everything, no pager.
    let all = ok_json(&t, "/api/organisationUnits?fields=id&paging=False").await;
    assert_eq!(all["organisationUnits"].as_array().unwrap().len(), 36);
    assert!(all.get("pager").is_none());
    // dhis2.py's paging helper sends totalPages=True, which changes nothing.
    let p = ok_json(
        &t,
        "/api/dataElements.json?fields=id,name,valueType&filter=domainType:eq:AGGREGATE&pageSize=300&page=1&totalPages=True",
    )
    .await;
    assert_eq!(
        (
            p["pager"]["page"].as_u64(),
            p["pager"]["pageCount"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(p["dataElements"].as_array().unwrap().len(), 15);
}

#[tokio::test]
async fn errors_are_web_messages() {
    let t = TestApp::demo();
    let r = t.get("/api/dataElements/abcdefghijk").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({
            "httpStatus": "Not Found", "httpStatusCode": 404, "status": "ERROR",
            "message": "DataElement with id abcdefghijk could not be found.",
            "errorCode": "E1005",
        })
    );
    let r = t.get("/api/organisationUnits/nope.json").await;
    assert_eq!(
        r.json()["message"],
        "OrganisationUnit with id nope could not be found."
    );
    for (uri, status) in [
        (
            "/api/dataElements?filter=nope:eq:1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/dataElements?filter=name:almost:1",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/dataElements?filter=name", StatusCode::BAD_REQUEST),
        ("/api/dataElements?fields=id~keyBy", StatusCode::BAD_REQUEST),
        ("/api/dataElements?fields=id]", StatusCode::BAD_REQUEST),
        ("/api/dataElements.xml", StatusCode::NOT_ACCEPTABLE),
        ("/api/indicators", StatusCode::NOT_FOUND),
    ] {
        let r = t.get(&enc(uri)).await;
        assert_eq!(r.status, status, "{uri}: {}", r.text());
        assert_eq!(r.json()["status"], "ERROR", "{uri}");
    }
    // Every route needs credentials.
    for uri in [
        "/api/dataElements",
        "/api/dataSets/pBOMPrpg1QX",
        "/api/metadata",
    ] {
        let r = t
            .request(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    // The export needs F_METADATA_EXPORT.
    let r = t.get_as("reader", "/api/metadata").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn users_never_show_passwords() {
    let t = TestApp::demo();
    let j = ok_json(&t, "/api/users?fields=*&paging=false").await;
    let text = j.to_string();
    assert!(!text.contains("$2"), "no bcrypt hash: {text}");
    assert!(!text.to_lowercase().contains("password"), "{text}");
    assert_eq!(
        j["users"].as_array().unwrap().len(),
        3,
        "admin, importer, reader"
    );
    let admin = ok_json(
        &t,
        "/api/users/M5zQapPyTZI?fields=username,displayName,organisationUnits[name]",
    )
    .await;
    assert_eq!(admin["username"], "admin");
    assert_eq!(admin["displayName"], "admin Test");
    // Units the demo metadata does not hold render as bare references.
    assert!(
        admin["organisationUnits"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "Sierra Leone"}))
    );
    let j = ok_json(
        &t,
        "/api/users?fields=username&filter=organisationUnits.id:eq:DiszpKrYNg8&order=username",
    )
    .await;
    assert_eq!(
        j["users"],
        json!([{"username": "admin"}, {"username": "importer"}, {"username": "reader"}])
    );
}

#[tokio::test]
async fn me_honours_fields() {
    let t = TestApp::demo();
    let plain = ok_json(&t, "/api/me").await;
    assert_eq!(plain["username"], "admin");
    assert!(plain["authorities"].is_array());
    let j = ok_json(&t, "/api/me?fields=id").await;
    assert_eq!(j, json!({"id": "M5zQapPyTZI"}));
    let j = ok_json(&t, "/api/me?fields=username,firstName,surname").await;
    assert_eq!(
        j,
        json!({"username": "admin", "firstName": "admin", "surname": "Test"})
    );
    let j = ok_json(&t, "/api/me.json?fields=organisationUnits[id,level,path]").await;
    assert!(
        j["organisationUnits"]
            .as_array()
            .unwrap()
            .contains(&json!({"id": "ImspTQPwCqd", "level": 1, "path": "/ImspTQPwCqd"}))
    );
    let j = ok_json(&t, "/api/me?fields=authorities,name,settings").await;
    assert_eq!(
        j,
        json!({"authorities": ["ALL"], "name": "admin Test", "settings": {}})
    );
    let j = ok_json(
        &t,
        "/api/me?fields=:all,!authorities,!organisationUnits,!dataViewOrganisationUnits",
    )
    .await;
    insta::assert_json_snapshot!("me_all", j);
    let r = t.get("/api/me?fields=id~nope").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// A tally with only the built-in defaults and one superuser, `root`.
fn fresh_app() -> (
    (
        tempfile::TempDir,
        Option<tally_store_postgres::testkit::TestSchema>,
    ),
    Arc<App>,
) {
    let dir = tempfile::tempdir().unwrap();
    let (store, schema) = crate::harness::open_store(dir.path());
    let app = App::open(store, Clock::system()).unwrap();
    let mut root = UserRecord::new(
        Uid::parse("RootUser001").unwrap(),
        "root",
        bcrypt::hash("district", 4).unwrap(),
    );
    root.authorities = vec!["ALL".into()];
    app.save_users(&[root]).unwrap();
    ((dir, schema), Arc::new(app))
}

async fn send(app: &Arc<App>, req: Request<Body>) -> Resp {
    let svc = tally_http::service(tally_http::AppState {
        app: Arc::clone(app),
    });
    let resp = svc.oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

fn without_system(mut doc: Value) -> Value {
    doc.as_object_mut().unwrap().remove("system");
    doc
}

#[tokio::test]
async fn metadata_export_imports_into_a_fresh_tally() {
    let t = TestApp::demo();
    let export = t.get("/api/metadata?download=true").await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text());
    assert_eq!(
        export.header("content-disposition"),
        Some("attachment; filename=metadata.json")
    );
    let doc = export.json();
    assert_eq!(doc["system"]["version"], "2.41.0");
    assert!(export.text().starts_with(r#"{"system":"#));
    assert_eq!(doc["organisationUnits"].as_array().unwrap().len(), 36);
    assert_eq!(doc["dataSets"].as_array().unwrap().len(), 3);
    assert!(
        doc.get("organisationUnitLevels").is_none(),
        "empty types are left out"
    );
    // Owned properties only, and no passwords.
    assert!(doc["organisationUnits"][0].get("children").is_none());
    assert!(doc["dataElements"][0].get("displayName").is_none());
    assert!(!export.text().contains("$2"));
    // The demo users point at units the demo metadata lacks: left out, so it imports.
    let admin = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "admin")
        .unwrap();
    assert_eq!(
        admin["organisationUnits"],
        json!([{"id": "DiszpKrYNg8"}, {"id": "ImspTQPwCqd"}])
    );

    let (_dir, fresh) = fresh_app();
    let import = send(
        &fresh,
        Request::post("/api/metadata")
            .header("Authorization", basic("root"))
            .header("Content-Type", "application/json")
            .body(Body::from(export.body.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(import.status, StatusCode::OK, "{}", import.text());
    assert_eq!(import.json()["status"], "OK");
    // Reading back gives the same document (the fresh tally's own user aside).
    let again = send(
        &fresh,
        Request::get("/api/metadata")
            .header("Authorization", basic("root"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let mut back = without_system(again.json());
    let users = back["users"].as_array_mut().unwrap();
    users.retain(|u| u["username"] != "root");
    assert_eq!(back, without_system(doc));
    // Imported users have no password: they cannot log in until one is set.
    let r = send(
        &fresh,
        Request::get("/api/me")
            .header("Authorization", basic("admin"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn metadata_export_selects_types_fields_and_defaults() {
    let t = TestApp::demo();
    let j = ok_json(
        &t,
        "/api/metadata?dataSets=true&categoryCombos=true&dataSets:fields=id,name&categoryCombos:filter=code:eq:GENDER_HIV_AGE&fields=id,code",
    )
    .await;
    assert_eq!(
        without_system(j),
        json!({
            "categoryCombos": [{"id": "WTPz0sXNulq", "code": "GENDER_HIV_AGE"}],
            "dataSets": [
                {"id": "iczD3R7LCdM", "name": "Malaria monthly"},
                {"id": "pBOMPrpg1QX", "name": "Mortality < 5 years"},
                {"id": "mT9j5hiveR5", "name": "TB/HIV (VCCT) monthly summary"},
            ],
        })
    );
    let with = ok_json(&t, "/api/metadata?categoryOptionCombos=true&fields=id").await;
    let without = ok_json(
        &t,
        "/api/metadata?categoryOptionCombos=true&fields=id&defaults=EXCLUDE",
    )
    .await;
    let (with, without) = (
        ids(&with["categoryOptionCombos"]),
        ids(&without["categoryOptionCombos"]),
    );
    assert!(with.contains(&"HllvX50cXC0"));
    assert!(!without.contains(&"HllvX50cXC0"));
    assert_eq!(with.len(), without.len() + 1);
    let no_users = ok_json(&t, "/api/metadata?users=false&fields=id").await;
    assert!(no_users.get("users").is_none());
    assert!(no_users.get("dataElements").is_some());
    let r = t.get(&enc("/api/metadata?filter=bogus:eq:1")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

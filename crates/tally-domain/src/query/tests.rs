//! The engine over the demo metadata (`fixtures/metadata/demo.json`).

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::metadata::{Catalog, MergeOptions, MetadataSet, merge, parse_metadata_document};

fn demo() -> Catalog {
    let text = include_str!("../../../../fixtures/metadata/demo.json");
    let doc = parse_metadata_document(text).unwrap();
    let outcome = merge(&MetadataSet::new(), &doc, &MergeOptions::default());
    let set = outcome.applied.expect("demo metadata merges").set;
    let mut user = Map::new();
    user.insert("id".into(), json!("xE7jOejl9FI"));
    user.insert("name".into(), json!("Ama Koroma"));
    user.insert("username".into(), json!("clerk"));
    user.insert(
        "organisationUnits".into(),
        json!([{"id": "O6uvpzGd5pu"}, {"id": "Gone0000001"}]),
    );
    Catalog::new(Arc::new(set)).with_objects("users", [user])
}

fn query(params: &str) -> ListQuery {
    let pairs: Vec<(String, String)> = params
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    ListQuery::from_params(&pairs, None, "id,displayName").unwrap()
}

fn run(collection: &str, params: &str) -> Page {
    list(
        &demo(),
        collection,
        &query(params),
        None,
        SelectOptions::default(),
    )
    .unwrap()
}

fn ids(page: &Page) -> Vec<&str> {
    page.items
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect()
}

fn names(page: &Page) -> Vec<&str> {
    page.items
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect()
}

#[test]
fn default_list_is_id_and_display_name_by_name() {
    let p = run("dataSets", "");
    assert_eq!(
        Value::Array(p.items.clone()),
        json!([
            {"id": "iczD3R7LCdM", "displayName": "Malaria monthly"},
            {"id": "pBOMPrpg1QX", "displayName": "Mortality < 5 years"},
            {"id": "mT9j5hiveR5", "displayName": "TB/HIV (VCCT) monthly summary"},
        ])
    );
    let pager = p.pager.unwrap();
    assert_eq!(
        (pager.page, pager.total, pager.page_size, pager.page_count),
        (1, 3, 50, 1)
    );
}

#[test]
fn nested_fields_expand_references() {
    let p = run(
        "organisationUnits",
        "fields=id,name,children[id,name],parent[name,parent[code]]&filter=id:eq:O6uvpzGd5pu",
    );
    assert_eq!(
        p.items[0],
        json!({
            "id": "O6uvpzGd5pu",
            "name": "Bo",
            "children": [
                {"id": "BGGmAwx33dj", "name": "Bumpe Ngao"},
                {"id": "U6Kr7Gtpidn", "name": "Kakua"},
                {"id": "YuQRtpLP10I", "name": "Badjia"},
                {"id": "vWbkYPRmKyS", "name": "Baoma"},
            ],
            "parent": {"name": "Sierra Leone"},
        }),
        "a missing nested value (the root's parent) is left out"
    );
    // Without nested fields a reference is its id; embedded objects render whole.
    let p = run(
        "dataSets",
        "fields=id,categoryCombo,dataSetElements[dataElement[name]]&filter=id:eq:pBOMPrpg1QX",
    );
    assert_eq!(p.items[0]["categoryCombo"], json!({"id": "bjDvmb4bfuf"}));
    assert_eq!(
        p.items[0]["dataSetElements"][0],
        json!({"dataElement": {"name": "Measles"}})
    );
    let p = run(
        "dataSets",
        "fields=dataSetElements&filter=id:eq:pBOMPrpg1QX",
    );
    assert_eq!(
        p.items[0]["dataSetElements"][0],
        json!({"dataElement": {"id": "f7n9E0hX8qk"}, "dataSet": {"id": "pBOMPrpg1QX"}})
    );
    // pocket-knife: the category option combos of a data set's combo (a derived list).
    let p = run(
        "dataSets",
        "fields=categoryCombo[categoryOptionCombos]&filter=id:eq:pBOMPrpg1QX",
    );
    assert_eq!(
        p.items[0],
        json!({"categoryCombo": {"categoryOptionCombos": [{"id": "HllvX50cXC0"}]}})
    );
}

#[test]
fn presets_exclusions_and_transformers() {
    let c = demo();
    let view = c.view("dataElements", "f7n9E0hX8qk").unwrap();
    let schema = c.schema("dataElements").unwrap();
    let all = select(
        &c,
        schema,
        &view,
        &parse_fields("*").unwrap(),
        SelectOptions::default(),
    );
    assert!(all.contains_key("displayName") && all.contains_key("dataSetElements"));
    let owner = select(
        &c,
        schema,
        &view,
        &parse_fields(":owner").unwrap(),
        SelectOptions::default(),
    );
    assert!(owner.contains_key("valueType") && !owner.contains_key("displayName"));
    assert!(!owner.contains_key("dataElementGroups"));
    let some = select(
        &c,
        schema,
        &view,
        &parse_fields(":identifiable,!code,categoryCombo[name]").unwrap(),
        SelectOptions::default(),
    );
    assert_eq!(
        Value::Object(some),
        json!({"id": "f7n9E0hX8qk", "name": "Measles",
               "categoryCombo": {"name": "default"}})
    );
    let ou = c.view("organisationUnits", "O6uvpzGd5pu").unwrap();
    let ou_schema = c.schema("organisationUnits").unwrap();
    let t = select(
        &c,
        ou_schema,
        &ou,
        &parse_fields(
            "id~rename(i),children::size,children~isEmpty~rename(leaf),children~pluck[name]",
        )
        .unwrap(),
        SelectOptions::default(),
    );
    assert_eq!(
        Value::Object(t),
        json!({"i": "O6uvpzGd5pu", "leaf": false,
               "children": ["Bumpe Ngao", "Kakua", "Badjia", "Baoma"]}),
        "entries with the same output key merge, the later one winning"
    );
    let facility = c.view("organisationUnits", "DiszpKrYNg8").unwrap();
    let a = select(
        &c,
        ou_schema,
        &facility,
        &parse_fields("name,n2xYlNbsfko").unwrap(),
        SelectOptions::default(),
    );
    assert_eq!(
        Value::Object(a),
        json!({"name": "Ngelehun CHC", "n2xYlNbsfko": "GHE51"}),
        "an attribute UID renders the attribute's value"
    );
}

#[test]
fn dangling_references_can_be_dropped() {
    let c = demo();
    let view = c.view("users", "xE7jOejl9FI").unwrap();
    let schema = c.schema("users").unwrap();
    let fields = parse_fields("organisationUnits").unwrap();
    let kept = select(&c, schema, &view, &fields, SelectOptions::default());
    assert_eq!(kept["organisationUnits"].as_array().unwrap().len(), 2);
    let dropped = select(
        &c,
        schema,
        &view,
        &fields,
        SelectOptions {
            drop_dangling: true,
        },
    );
    assert_eq!(dropped["organisationUnits"], json!([{"id": "O6uvpzGd5pu"}]));
}

#[test]
fn each_filter_operator() {
    let de = |f: &str| {
        let p = run("dataElements", &format!("fields=id,name&paging=false&{f}"));
        names(&p).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(de("filter=code:eq:DE_MEASLES"), ["Measles"]);
    assert_eq!(de("filter=name:ieq:measles"), ["Measles"]);
    assert_eq!(de("filter=valueType:!eq:INTEGER_ZERO_OR_POSITIVE").len(), 7);
    assert_eq!(de("filter=valueType:ne:NUMBER").len(), 11);
    assert_eq!(
        de("filter=name:like:VCCT persons tested"),
        ["VCCT persons tested", "VCCT persons tested HIV positive"]
    );
    assert_eq!(de("filter=name:!like:a").len(), 6);
    assert_eq!(de("filter=name:ilike:MALARIA").len(), 4);
    assert_eq!(de("filter=name:!ilike:malaria").len(), 11);
    assert_eq!(de("filter=name:$like:Malaria").len(), 4);
    assert_eq!(de("filter=name:!$like:Malaria").len(), 11);
    assert_eq!(de("filter=name:like$:deaths"), ["Malaria deaths"]);
    assert_eq!(de("filter=name:!like$:deaths").len(), 14);
    assert_eq!(de("filter=name:$ilike:malaria").len(), 4);
    assert_eq!(de("filter=name:ilike$:DEATHS"), ["Malaria deaths"]);
    assert_eq!(
        de("filter=code:in:[DE_MEASLES,VCCT_0,nope]"),
        ["Measles", "VCCT persons counselled"]
    );
    assert_eq!(de("filter=code:!in:[DE_MEASLES]").len(), 14);
    assert_eq!(de("filter=optionSet:null").len(), 14);
    assert_eq!(de("filter=optionSet:!null"), ["ACT stock-out during month"]);
    assert_eq!(de("filter=dataElementGroups:empty").len(), 2);
    assert_eq!(
        de("filter=name:token:persons vcct HIV"),
        ["VCCT persons tested HIV positive"]
    );
    assert_eq!(de("filter=name:!token:vcct").len(), 12);
    assert_eq!(de("filter=identifiable:token:de_measles"), ["Measles"]);
    assert_eq!(de("filter=zeroIsSignificant:eq:false").len(), 14);
    assert_eq!(de("filter=zeroIsSignificant:eq:true"), ["Malaria deaths"]);
    // Nested paths through references, lists and embedded objects.
    assert_eq!(
        de("filter=dataSetElements.dataSet.id:eq:mT9j5hiveR5").len(),
        5
    );
    assert_eq!(de("filter=dataSetElements.dataSet.name:$like:TB").len(), 5);
    assert_eq!(
        de("filter=categoryCombo.code:eq:GENDER_AGE_U5"),
        ["Malaria confirmed cases", "Malaria deaths"]
    );
    assert_eq!(de("filter=dataElementGroups.id:eq:PgVF0mC6hjz").len(), 4);
    let ds = run(
        "dataSets",
        "fields=id&filter=organisationUnits.id:eq:MI8VIHW2ss3&filter=organisationUnits:gt:16",
    );
    assert_eq!(ids(&ds), ["pBOMPrpg1QX"]);
    let ou = run(
        "organisationUnits",
        "fields=name&filter=level:eq:2&filter=children:eq:1",
    );
    assert_eq!(names(&ou), ["Bonthe", "Kailahun"]);
    let ou = run(
        "organisationUnits",
        "fields=name&filter=level:ge:4&filter=n2xYlNbsfko:eq:GHE51",
    );
    assert_eq!(names(&ou), ["Ngelehun CHC"]);
    let ou = run(
        "organisationUnits",
        "fields=name&filter=openingDate:lt:1970-01-02&filter=level:le:1",
    );
    assert_eq!(names(&ou), ["Sierra Leone"]);
}

#[test]
fn root_junction_or() {
    let p = run(
        "dataElements",
        "fields=name&filter=code:eq:DE_MEASLES&filter=code:eq:DE_CHOLERA&rootJunction=OR",
    );
    assert_eq!(names(&p), ["Cholera", "Measles"]);
    let and = run(
        "dataElements",
        "fields=name&filter=code:eq:DE_MEASLES&filter=code:eq:DE_CHOLERA",
    );
    assert!(and.items.is_empty());
}

#[test]
fn order_and_paging() {
    let p = run(
        "organisationUnits",
        "fields=name&order=level:desc,name:idesc&pageSize=3&page=2",
    );
    assert_eq!(
        names(&p),
        ["Njandama MCHP", "Ngelehun CHC", "Makeni Sebora CHP"]
    );
    let pager = p.pager.unwrap();
    assert_eq!(
        (pager.page, pager.total, pager.page_size, pager.page_count),
        (2, 36, 3, 12)
    );
    let p = run(
        "organisationUnits",
        "fields=code&order=code&pageSize=20&page=2",
    );
    assert_eq!(p.items.len(), 16, "last page");
    assert_eq!(
        p.items.last().unwrap(),
        &json!({}),
        "no code: sorted last, and absent fields are left out"
    );
    let p = run("organisationUnits", "fields=id&page=9&pageSize=20");
    assert!(p.items.is_empty());
    assert_eq!(p.pager.unwrap().page, 2, "the pager reports the last page");
    let p = run("organisationUnits", "fields=id&paging=FALSE");
    assert_eq!(p.items.len(), 36);
    assert!(p.pager.is_none());
    let p = run("organisationUnits", "fields=id&pageSize=abc&page=-3");
    assert_eq!(
        p.pager.unwrap().page_size,
        50,
        "unreadable numbers are defaults"
    );
}

#[test]
fn errors_and_restrictions() {
    let c = demo();
    let q = query("filter=nope:eq:1");
    assert_eq!(
        list(&c, "dataSets", &q, None, SelectOptions::default()).unwrap_err(),
        QueryError::UnknownProperty {
            path: "nope".into(),
            singular: "DataSet"
        }
    );
    for bad in [
        "filter=categoryCombo.nope:eq:1",
        "filter=name.x:eq:1",
        "filter=indicators.name:eq:x",
    ] {
        let q = query(bad);
        assert!(
            list(&c, "dataSets", &q, None, SelectOptions::default()).is_err(),
            "{bad}"
        );
    }
    let q = query("filter=indicators.id:eq:x");
    assert!(list(&c, "dataSets", &q, None, SelectOptions::default()).is_ok());
    assert!(matches!(
        list(&c, "indicators", &query(""), None, SelectOptions::default()),
        Err(QueryError::UnknownCollection(_))
    ));
    // A restriction limits the list before counting.
    let only_bo = |v: &Map<String, Value>| {
        v.get("path")
            .and_then(Value::as_str)
            .is_some_and(|p| p.contains("O6uvpzGd5pu"))
    };
    let p = list(
        &c,
        "organisationUnits",
        &query("fields=id"),
        Some(&only_bo),
        SelectOptions::default(),
    )
    .unwrap();
    assert_eq!(p.pager.unwrap().total, 14, "Bo, 4 chiefdoms, 9 facilities");
}

/// Timing check on a large hierarchy (run with `--ignored --nocapture`).
#[test]
#[ignore = "timing check, not a correctness test"]
fn large_collections_page_without_building_every_view() {
    let mut units = vec![
        json!({"id": "Root0000000", "name": "Root", "shortName": "Root",
        "openingDate": "1970-01-01"}),
    ];
    for i in 0..20_000u32 {
        units.push(
            json!({"id": format!("Unit{i:07}"), "name": format!("Unit {i}"),
            "shortName": format!("U{i}"), "openingDate": "1970-01-01",
            "parent": {"id": "Root0000000"}}),
        );
    }
    let doc = parse_metadata_document(&json!({"organisationUnits": units}).to_string()).unwrap();
    let set = merge(&MetadataSet::new(), &doc, &MergeOptions::default())
        .applied
        .unwrap()
        .set;
    let start = std::time::Instant::now();
    let c = Catalog::new(Arc::new(set));
    println!("catalog: {:?}", start.elapsed());
    for q in [
        "fields=id,name",
        "fields=id,name&page=300",
        "fields=id,name&filter=name:like:99",
        "fields=id,name&order=shortName:desc",
        "fields=id,children::size&filter=id:eq:Root0000000",
    ] {
        let start = std::time::Instant::now();
        let p = list(
            &c,
            "organisationUnits",
            &query(q),
            None,
            SelectOptions::default(),
        )
        .unwrap();
        println!("{q}: {:?} ({} items)", start.elapsed(), p.items.len());
    }
}

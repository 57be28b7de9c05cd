//! Two apps on one database, as two processes would be: on a store shared between
//! processes (PostgreSQL) metadata saved through one reaches the other's snapshot on its
//! next `reload_if_changed`, and an app's own saves need no reload; a single-process
//! store (SQLite) never reloads.

use std::sync::Arc;

use tally_core::{App, Clock};
use tally_domain::metadata::DataElementId;
use tally_domain::uid::Uid;

use crate::harness::{TestApp, open_store};

fn element(uid: &str) -> String {
    format!(
        r#"{{"dataElements":[{{"id":"{uid}","name":"{uid}","shortName":"{uid}","valueType":"NUMBER","aggregationType":"SUM","domainType":"AGGREGATE"}}]}}"#
    )
}

fn knows(app: &App, uid: &str) -> bool {
    app.snapshot()
        .id_of::<DataElementId>(Uid::parse(uid).unwrap())
        .is_some()
}

#[test]
fn metadata_saved_by_another_app_reaches_this_one_on_a_shared_store() {
    let t = TestApp::new();
    let shared = t.app.store().shared();
    // Its own change is in memory already: nothing to reload.
    let report = t.app.import_metadata(&element("OwnElemA001")).unwrap();
    assert!(report.errors().next().is_none());
    assert!(knows(&t.app, "OwnElemA001"));
    assert!(!t.app.reload_if_changed().unwrap());

    // Another app on the same database (the schema stays with `t`).
    let (store, schema) = open_store(t.dir());
    if let Some(schema) = schema {
        schema.keep();
    }
    let other = Arc::new(App::open(store, Clock::system()).unwrap());
    assert!(knows(&other, "OwnElemA001"), "loaded from the database");
    let report = other.import_metadata(&element("OtherElem01")).unwrap();
    assert!(report.errors().next().is_none());
    assert!(!knows(&t.app, "OtherElem01"));
    assert_eq!(t.app.reload_if_changed().unwrap(), shared);
    assert_eq!(knows(&t.app, "OtherElem01"), shared);
    assert!(!t.app.reload_if_changed().unwrap(), "once");
}

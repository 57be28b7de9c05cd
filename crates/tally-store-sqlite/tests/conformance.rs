//! The shared store conformance suite, on SQLite files in temp dirs.

use tally_store_sqlite::SqliteStore;

fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("tally.db")).expect("open store");
    (dir, store)
}

tally_store::conformance_tests!(fresh());

#[test]
fn every_statement_prepares_against_the_migrated_schema() {
    let (dir, store) = fresh();
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("tally.db")).unwrap();
    for sql in tally_store_sqlite::sql::ALL {
        conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[test]
fn reopening_keeps_data_and_does_not_reapply_migrations() {
    let (dir, store) = fresh();
    assert_eq!(store.schema_version().unwrap(), latest_migration());
    drop(store);
    let again = SqliteStore::open(dir.path().join("tally.db")).unwrap();
    assert_eq!(again.schema_version().unwrap(), latest_migration());
}

/// V003 moves the audit trail into a table clustered on the value key: rows written by
/// the V001 layout keep their order (newest first), and new rows sort after them.
#[test]
fn audit_rows_survive_the_v003_migration_in_order() {
    use tally_domain::import::{AuditType, ImportStrategy, Outcome};
    use tally_store::{DataValueStore, ValueKey, ValueWrite, WriteOptions};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../migrations/V001__init.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../migrations/V002__jobs.sql"))
            .unwrap();
        conn.execute_batch(
            "create table schema_migrations (version integer primary key, applied_at text);
             insert into schema_migrations (version) values (1), (2);
             insert into period values (1, 'Monthly', '2024-01-01', '2024-01-31', '202401');
             insert into datavalue (periodid, sourceid, dataelementid, categoryoptioncomboid,
               attributeoptioncomboid, value, storedby, created, lastupdated, followup,
               deleted, version) values (1, 2, 3, 4, 4, 'c', 'u', 10, 30, 0, 0, 7);
             insert into datavalueaudit (periodid, sourceid, dataelementid,
               categoryoptioncomboid, attributeoptioncomboid, value, created, modifiedby,
               audittype) values
               (1, 2, 3, 4, 4, 'a', 20, 'u', 'UPDATE'),
               (1, 2, 3, 4, 4, 'b', 30, 'u', 'UPDATE');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_migration());
    let key = ValueKey {
        period: 1,
        org_unit: 2,
        data_element: 3,
        category_option_combo: 4,
        attribute_option_combo: 4,
    };
    let old: Vec<_> = store
        .audits(&key)
        .unwrap()
        .into_iter()
        .map(|a| a.value)
        .collect();
    assert_eq!(old, [Some("b".to_owned()), Some("a".to_owned())]);

    let mut tx = store
        .begin_import(WriteOptions {
            strategy: ImportStrategy::CreateAndUpdate,
            dry_run: false,
            skip_existing_check: false,
            skip_audit: false,
            now_ms: 40,
        })
        .unwrap();
    let mut out = Vec::new();
    tx.write_batch(
        &[ValueWrite {
            index: 0,
            key,
            value: Some("d".into()),
            comment: None,
            stored_by: "v".into(),
            followup: false,
            deleted: false,
            zero_insignificant: false,
        }],
        &mut out,
    )
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(out, [Outcome::Updated]);
    let audits = store.audits(&key).unwrap();
    let values: Vec<_> = audits.iter().map(|a| a.value.as_deref()).collect();
    assert_eq!(values, [Some("c"), Some("b"), Some("a")]);
    assert_eq!(audits[0].audit_type, AuditType::Update);
    // The version counter continues above everything stored.
    assert!(store.get_value(&key).unwrap().unwrap().version > 7);
}

/// One schema version per file in this backend's `migrations/`.
fn latest_migration() -> i64 {
    tally_store::conformance::migration_count(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations"
    )))
}

/// `tally migrate` copies the tables of `tally_store::copy::TABLES`: every table of the
/// schema must be one of them (or bookkeeping of this backend), so a new table cannot be
/// left behind by a migration unnoticed.
#[test]
fn every_table_is_copied_by_migrate() {
    let (dir, store) = fresh();
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("tally.db")).unwrap();
    let mut stmt = conn
        .prepare("select name from sqlite_master where type = 'table' order by name")
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let copied: Vec<&str> = tally_store::copy::TABLES.iter().map(|t| t.name).collect();
    let bookkeeping = ["schema_migrations"];
    for t in &tables {
        assert!(
            copied.contains(&t.as_str()) || bookkeeping.contains(&t.as_str()),
            "table {t} is not in tally_store::copy::TABLES"
        );
    }
    for t in copied {
        assert!(
            tables.iter().any(|n| n == t),
            "{t} is copied but not in the schema"
        );
    }
}

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
    assert_eq!(store.schema_version().unwrap(), 2);
    drop(store);
    let again = SqliteStore::open(dir.path().join("tally.db")).unwrap();
    assert_eq!(again.schema_version().unwrap(), 2);
}

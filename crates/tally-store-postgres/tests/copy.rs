//! Whole-database copies (`tally migrate`) between SQLite and PostgreSQL: SQLite → PG →
//! SQLite keeps every row of every table (ids, versions, timestamps, deleted flags,
//! audits, registrations, jobs), refuses a target that holds anything, and the copy
//! goes on numbering versions and metadata ids after the copied ones.

mod common;

use jiff::civil::date;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tally_domain::import::ImportStrategy;
use tally_domain::uid::Uid;
use tally_store::copy::{CopyStore, TABLES, copy_database};
use tally_store::{
    DataValueStore, JobRecord, JobStore, MetadataStore, PeriodRow, Registration, StoreError,
    ValueKey, ValueWrite, WriteOptions,
};
use tally_store_sqlite::SqliteStore;

fn periods() -> Vec<PeriodRow> {
    (1..=12)
        .map(|m| PeriodRow {
            key: 800_000_000 + 20_240_001 + m * 100,
            period_type: "Monthly",
            start: date(2024, i8::try_from(m).unwrap(), 1),
            end: date(2024, i8::try_from(m).unwrap(), 28),
            iso: format!("2024{m:02}"),
        })
        .collect()
}

fn write(store: &dyn DataValueStore, now_ms: i64, values: &[ValueWrite]) {
    let mut tx = store
        .begin_import(WriteOptions {
            strategy: ImportStrategy::CreateAndUpdate,
            dry_run: false,
            skip_existing_check: false,
            skip_audit: false,
            now_ms,
        })
        .unwrap();
    tx.ensure_periods(&periods()).unwrap();
    let mut out = Vec::new();
    let mut sorted = values.to_vec();
    sorted.sort_by_key(|v| v.key);
    tx.write_batch(&sorted, &mut out).unwrap();
    tx.complete(&Registration {
        data_set: 7,
        period: periods()[0].key,
        org_unit: 1,
        attribute_option_combo: 1,
        date_ms: now_ms,
        stored_by: "admin".into(),
        created_ms: now_ms,
        last_updated_ms: now_ms,
        last_updated_by: "admin".into(),
        completed: true,
    })
    .unwrap();
    tx.commit().unwrap();
}

/// 12,000 values (more than one copy batch), then rounds of updates and deletes.
fn fill(store: &SqliteStore) {
    let objects: Vec<_> = ["fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"]
        .iter()
        .map(|u| {
            (
                "dataElements".to_owned(),
                Uid::parse(u).unwrap(),
                format!(r#"{{"id":"{u}"}}"#),
            )
        })
        .collect();
    store.save_metadata(&objects).unwrap();
    let ps = periods();
    let key = |i: u32| ValueKey {
        period: ps[(i % 12) as usize].key,
        org_unit: i / 120 + 1,
        data_element: (i / 12) % 10 + 1,
        category_option_combo: 1,
        attribute_option_combo: 1,
    };
    let value = |i: u32, v: Option<String>, deleted: bool| ValueWrite {
        index: i as usize,
        key: key(i),
        value: v,
        comment: i.is_multiple_of(7).then(|| "note".to_owned()),
        stored_by: "admin".into(),
        followup: i.is_multiple_of(11),
        deleted,
        zero_insignificant: false,
    };
    write(
        store,
        1_000,
        &(0..12_000)
            .map(|i| value(i, Some(i.to_string()), false))
            .collect::<Vec<_>>(),
    );
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..5 {
        let mut seen = std::collections::HashSet::new();
        let mut batch = Vec::new();
        for _ in 0..500 {
            let i = rng.random_range(0..12_000);
            if seen.insert(i) {
                let deleted = rng.random_bool(0.2);
                batch.push(value(i, Some(format!("r{round}")), deleted));
            }
        }
        write(store, 2_000 + round, &batch);
    }
    store
        .save_job(&JobRecord {
            id: "jobAAAAAAA1".into(),
            job_type: "DATAVALUE_IMPORT".into(),
            status: "COMPLETED".into(),
            created_ms: 5,
            updated_ms: 6,
            username: "admin".into(),
            params: "{}".into(),
            body_path: None,
            notifications: r#"[{"message":"done"}]"#.into(),
            summary: Some("{}".into()),
        })
        .unwrap();
}

fn all_rows(store: &dyn CopyStore) -> Vec<Vec<Vec<tally_store::copy::Cell>>> {
    TABLES
        .iter()
        .map(|t| store.read_rows(t, None, usize::MAX >> 2).unwrap())
        .collect()
}

#[test]
fn sqlite_to_postgres_and_back_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let source = SqliteStore::open(dir.path().join("a.db")).unwrap();
    fill(&source);
    let (_schema, pg) = common::fresh();
    let counts = copy_database(&source, &pg, &mut |_, _| {}).unwrap();
    let by_name: std::collections::HashMap<_, _> = counts.into_iter().collect();
    assert_eq!(by_name["datavalue"], 12_000);
    assert!(by_name["datavalueaudit"] > 2_000, "{by_name:?}");
    assert_eq!(by_name["completedatasetregistration"], 1);
    assert_eq!(by_name["job"], 1);
    assert_eq!(by_name["metadata_object"], 3);
    assert_eq!(by_name["period"], 12);

    let back = SqliteStore::open(dir.path().join("b.db")).unwrap();
    copy_database(&pg, &back, &mut |_, _| {}).unwrap();
    let original = all_rows(&source);
    assert_eq!(original, all_rows(&pg), "SQLite → PostgreSQL");
    assert_eq!(original, all_rows(&back), "PostgreSQL → SQLite");

    // Refused: a target holding anything, and nothing is written.
    match copy_database(&source, &pg, &mut |_, _| {}) {
        Err(StoreError::Constraint(m)) => assert!(m.contains("not empty"), "{m}"),
        other => panic!("copied into a non-empty database: {other:?}"),
    }
    assert_eq!(pg.count_values().unwrap(), 12_000);

    // The copies number on after the copied versions and ids.
    for store in [&pg as &dyn CopyAndWrite, &back] {
        let max_version = store
            .read_rows(&TABLES[2], None, usize::MAX >> 2)
            .unwrap()
            .iter()
            .map(|r| match r[12] {
                tally_store::copy::Cell::Int(v) => v,
                _ => 0,
            })
            .max()
            .unwrap();
        let k = ValueKey {
            period: periods()[0].key,
            org_unit: 99,
            data_element: 1,
            category_option_combo: 1,
            attribute_option_combo: 1,
        };
        write(
            store.as_values(),
            9_000,
            &[ValueWrite {
                index: 0,
                key: k,
                value: Some("new".into()),
                comment: None,
                stored_by: "admin".into(),
                followup: false,
                deleted: false,
                zero_insignificant: false,
            }],
        );
        let v = store.as_values().get_value(&k).unwrap().unwrap();
        assert!(v.version > max_version, "{} <= {max_version}", v.version);
        let ids = store
            .as_metadata()
            .save_metadata(&[(
                "dataElements".into(),
                Uid::parse("NewElemA001").unwrap(),
                "{}".into(),
            )])
            .unwrap();
        let max_id = source
            .load_metadata()
            .unwrap()
            .iter()
            .map(|r| r.id)
            .max()
            .unwrap();
        assert!(ids[0] > max_id);
    }
}

trait CopyAndWrite: CopyStore {
    fn as_values(&self) -> &dyn DataValueStore;
    fn as_metadata(&self) -> &dyn MetadataStore;
}

impl<T: CopyStore + DataValueStore + MetadataStore> CopyAndWrite for T {
    fn as_values(&self) -> &dyn DataValueStore {
        self
    }
    fn as_metadata(&self) -> &dyn MetadataStore {
        self
    }
}

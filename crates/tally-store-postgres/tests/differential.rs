//! The PostgreSQL store against the SQLite reference on the same random batches:
//! outcomes, stored rows (versions included), audits and exports must be identical.
//! Keys repeat a lot, within and across batches, under every import strategy.

mod common;

use std::ops::ControlFlow;

use jiff::civil::date;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tally_domain::import::{ImportStrategy, Outcome};
use tally_store::{
    AuditQuery, DataValueStore, ExportOrder, ExportQuery, PeriodFilter, PeriodRow, StoredValue,
    ValueKey, ValueWrite, WriteOptions,
};

const STRATEGIES: [ImportStrategy; 4] = [
    ImportStrategy::CreateAndUpdate,
    ImportStrategy::Create,
    ImportStrategy::Update,
    ImportStrategy::Delete,
];

fn periods() -> Vec<PeriodRow> {
    vec![
        PeriodRow {
            key: 1,
            period_type: "Monthly",
            start: date(2024, 1, 1),
            end: date(2024, 1, 31),
            iso: "202401".into(),
        },
        PeriodRow {
            key: 2,
            period_type: "Monthly",
            start: date(2024, 2, 1),
            end: date(2024, 2, 29),
            iso: "202402".into(),
        },
    ]
}

fn all_keys() -> Vec<ValueKey> {
    let mut keys = Vec::new();
    for period in 1..=2 {
        for org_unit in 1..=3 {
            for data_element in 1..=4 {
                for coc in 1..=2 {
                    keys.push(ValueKey {
                        period,
                        org_unit,
                        data_element,
                        category_option_combo: coc,
                        attribute_option_combo: 1,
                    });
                }
            }
        }
    }
    keys
}

fn random_batch(rng: &mut StdRng, keys: &[ValueKey], sorted: bool) -> Vec<ValueWrite> {
    let n = rng.random_range(1..80);
    let mut batch: Vec<ValueWrite> = (0..n)
        .map(|i| {
            let value = match rng.random_range(0..6) {
                0 => None,
                1 => Some("0".to_owned()),
                2 => Some("1".to_owned()),
                3 => Some("2".to_owned()),
                4 => Some("x y".to_owned()),
                _ => Some(format!("{}", rng.random_range(0..3))),
            };
            ValueWrite {
                index: i,
                key: keys[rng.random_range(0..keys.len())],
                zero_insignificant: value.as_deref() == Some("0") && rng.random_bool(0.5),
                value,
                comment: rng.random_bool(0.2).then(|| "note".to_owned()),
                stored_by: ["admin", "john"][rng.random_range(0..2)].to_owned(),
                followup: rng.random_bool(0.2),
                deleted: rng.random_bool(0.05),
            }
        })
        .collect();
    if sorted {
        // Stable: a repeated key keeps its order.
        batch.sort_by_key(|v| v.key);
    }
    batch
}

fn write(
    store: &dyn DataValueStore,
    options: WriteOptions,
    batches: &[Vec<ValueWrite>],
) -> Vec<Outcome> {
    let mut tx = store.begin_import(options).unwrap();
    tx.ensure_periods(&periods()).unwrap();
    let mut out = Vec::new();
    for b in batches {
        tx.write_batch(b, &mut out).unwrap();
    }
    tx.commit().unwrap();
    out
}

fn export(store: &dyn DataValueStore, include_deleted: bool) -> Vec<StoredValue> {
    let mut rows = Vec::new();
    store
        .export(
            &ExportQuery {
                data_elements: (1..=4).collect(),
                periods: PeriodFilter::Within {
                    start: date(2024, 1, 1),
                    end: date(2024, 12, 31),
                },
                org_units: (1..=3).collect(),
                attribute_option_combos: None,
                include_deleted,
                last_updated_since_ms: None,
                limit: None,
                order: ExportOrder::Storage,
            },
            &mut |r| {
                rows.push(StoredValue::from(r));
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    rows
}

#[test]
fn random_imports_match_the_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = tally_store_sqlite::SqliteStore::open(dir.path().join("t.db")).unwrap();
    let (_schema, pg) = common::fresh();
    let keys = all_keys();
    let mut rng = StdRng::seed_from_u64(0x7a11);
    for round in 0..120 {
        let options = WriteOptions {
            strategy: STRATEGIES[rng.random_range(0..STRATEGIES.len())],
            dry_run: rng.random_bool(0.1),
            skip_existing_check: false,
            skip_audit: rng.random_bool(0.1),
            now_ms: 1_000 + round,
        };
        let sorted = rng.random_bool(0.5);
        let batches: Vec<_> = (0..rng.random_range(1..4))
            .map(|_| random_batch(&mut rng, &keys, sorted))
            .collect();
        let a = write(&sqlite, options, &batches);
        let b = write(&pg, options, &batches);
        assert_eq!(a, b, "outcomes of round {round} ({options:?})");
    }
    for key in &keys {
        assert_eq!(
            sqlite.get_value(key).unwrap(),
            pg.get_value(key).unwrap(),
            "row {key:?}"
        );
        assert_eq!(
            sqlite.audits(key).unwrap(),
            pg.audits(key).unwrap(),
            "audits {key:?}"
        );
    }
    assert_eq!(sqlite.count_values().unwrap(), pg.count_values().unwrap());
    for q in [
        AuditQuery::default(),
        AuditQuery {
            org_units: vec![2],
            audit_types: vec![tally_domain::import::AuditType::Delete],
            offset: 1,
            limit: Some(5),
            ..AuditQuery::default()
        },
    ] {
        let a = sqlite.query_audits(&q).unwrap();
        assert!(a.1 > 0);
        assert_eq!(a, pg.query_audits(&q).unwrap(), "audit query {q:?}");
    }
    for include_deleted in [false, true] {
        let a = export(&sqlite, include_deleted);
        assert!(!a.is_empty());
        assert_eq!(a, export(&pg, include_deleted), "export");
    }
}

/// `skipExistingCheck` writes plain inserts: new keys go in, a repeated or stored key
/// fails the whole import on both stores.
#[test]
fn skip_existing_check_matches_the_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = tally_store_sqlite::SqliteStore::open(dir.path().join("t.db")).unwrap();
    let (_schema, pg) = common::fresh();
    let keys = all_keys();
    let options = WriteOptions {
        strategy: ImportStrategy::CreateAndUpdate,
        dry_run: false,
        skip_existing_check: true,
        skip_audit: false,
        now_ms: 5,
    };
    let fresh: Vec<_> = keys[..10]
        .iter()
        .enumerate()
        .map(|(i, k)| ValueWrite {
            index: i,
            key: *k,
            value: Some(i.to_string()),
            comment: None,
            stored_by: "admin".into(),
            followup: false,
            deleted: false,
            zero_insignificant: false,
        })
        .collect();
    assert_eq!(
        write(&sqlite, options, std::slice::from_ref(&fresh)),
        write(&pg, options, std::slice::from_ref(&fresh))
    );
    let mut repeated = vec![fresh[0].clone()];
    repeated[0].key = keys[20];
    repeated.push(repeated[0].clone());
    for store in [&sqlite as &dyn DataValueStore, &pg] {
        let mut tx = store.begin_import(options).unwrap();
        let mut out = Vec::new();
        let e = tx.write_batch(&repeated, &mut out).unwrap_err();
        assert!(matches!(e, tally_store::StoreError::Constraint(_)), "{e:?}");
    }
    assert_eq!(export(&sqlite, true), export(&pg, true));
}

//! The store is synchronous but gets called from inside tokio runtimes (axum handlers,
//! async tasks) as well as from plain threads: neither may panic because of runtime
//! nesting, including opening and dropping the store.

mod common;

use std::ops::ControlFlow;
use std::sync::Arc;

use jiff::civil::date;
use tally_domain::import::{Change, ElementRule, ImportStrategy, Outcome};
use tally_domain::value_type::ValueType;
use tally_store::{
    DataValueStore, ExportOrder, ExportQuery, JobStore, PeriodFilter, PeriodRow, ValueChange,
    ValueKey, ValueWrite, WriteOptions,
};
use tally_store_postgres::PgStore;

fn period() -> PeriodRow {
    PeriodRow {
        key: 720_240_101,
        period_type: "Monthly",
        start: date(2024, 1, 1),
        end: date(2024, 1, 31),
        iso: "202401".into(),
    }
}

fn key(org_unit: u32) -> ValueKey {
    ValueKey {
        period: 720_240_101,
        org_unit,
        data_element: 1,
        category_option_combo: 1,
        attribute_option_combo: 1,
    }
}

/// Every kind of store call once; `tag` keeps callers' keys apart.
fn exercise(store: &PgStore, tag: u32) {
    let mut tx = store
        .begin_import(WriteOptions {
            strategy: ImportStrategy::CreateAndUpdate,
            dry_run: false,
            skip_existing_check: false,
            skip_audit: false,
            now_ms: 1,
        })
        .unwrap();
    tx.ensure_periods(&[period()]).unwrap();
    let mut out = Vec::new();
    tx.write_batch(
        &[ValueWrite {
            index: 0,
            key: key(tag),
            value: Some("1".into()),
            comment: None,
            stored_by: "admin".into(),
            followup: false,
            deleted: false,
            zero_insignificant: false,
        }],
        &mut out,
    )
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(out, [Outcome::Imported]);
    let mut rows = 0;
    store
        .export(
            &ExportQuery {
                data_elements: vec![1],
                periods: PeriodFilter::Any,
                org_units: vec![tag],
                attribute_option_combos: None,
                include_deleted: false,
                last_updated_since_ms: None,
                limit: None,
                order: ExportOrder::Storage,
            },
            &mut |_| {
                rows += 1;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(rows, 1);
    let r = store
        .apply_changes(
            &[period()],
            &[ValueChange {
                key: key(tag),
                change: Change::FollowUp(true),
                rule: ElementRule {
                    value_type: ValueType::Number,
                    zero_is_significant: false,
                    average: false,
                },
                base_version: None,
                user: "admin",
            }],
            2,
        )
        .unwrap();
    assert!(r[0].row.as_ref().unwrap().followup);
    assert!(store.get_value(&key(tag)).unwrap().unwrap().followup);
    assert!(store.job("none").unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime_and_its_tasks() {
    // Opened, used and dropped inside the runtime.
    let (schema, store) = common::fresh();
    exercise(&store, 10);
    let store = Arc::new(store);
    let s = Arc::clone(&store);
    tokio::spawn(async move { exercise(&s, 11) }).await.unwrap();
    let s = Arc::clone(&store);
    tokio::task::spawn_blocking(move || exercise(&s, 12))
        .await
        .unwrap();
    // Many async tasks at once, more than the pool has connections.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = Arc::clone(&store);
            tokio::spawn(async move { exercise(&s, 100 + i) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    drop(store);
    drop(schema);
}

#[tokio::test(flavor = "current_thread")]
async fn inside_a_current_thread_runtime() {
    let (_schema, store) = common::fresh();
    exercise(&store, 20);
    drop(store);
}

#[test]
fn from_plain_threads() {
    let (_schema, store) = common::fresh();
    std::thread::scope(|s| {
        for i in 0..4 {
            let store = &store;
            s.spawn(move || exercise(store, 30 + i));
        }
    });
}

#[test]
fn opened_outside_and_used_inside_a_runtime() {
    let (_schema, store) = common::fresh();
    let store = Arc::new(store);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = Arc::clone(&store);
    rt.block_on(async move { tokio::spawn(async move { exercise(&s, 40) }).await })
        .unwrap();
    drop(rt);
    exercise(&store, 41);
}

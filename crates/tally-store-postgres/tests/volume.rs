//! Batches of the size the core writes (4096 values) and exports longer than one cursor
//! chunk.

mod common;

use std::ops::ControlFlow;

use jiff::civil::date;
use tally_domain::import::{ImportStrategy, Outcome};
use tally_store::{
    DataValueStore, ExportOrder, ExportQuery, PeriodFilter, PeriodRow, ValueKey, ValueWrite,
    WriteOptions,
};

fn values(n: u32, value: &str) -> Vec<ValueWrite> {
    (0..n)
        .map(|i| ValueWrite {
            index: i as usize,
            key: ValueKey {
                period: 1,
                org_unit: 1 + i / 100,
                data_element: 1 + i % 100,
                category_option_combo: 1,
                attribute_option_combo: 1,
            },
            value: Some(value.to_owned()),
            comment: None,
            stored_by: "admin".into(),
            followup: false,
            deleted: false,
            zero_insignificant: false,
        })
        .collect()
}

fn import(store: &dyn DataValueStore, all: &[ValueWrite], now_ms: i64) -> Vec<Outcome> {
    let mut tx = store
        .begin_import(WriteOptions {
            strategy: ImportStrategy::CreateAndUpdate,
            dry_run: false,
            skip_existing_check: false,
            skip_audit: false,
            now_ms,
        })
        .unwrap();
    tx.ensure_periods(&[PeriodRow {
        key: 1,
        period_type: "Monthly",
        start: date(2024, 1, 1),
        end: date(2024, 1, 31),
        iso: "202401".into(),
    }])
    .unwrap();
    let mut out = Vec::new();
    for batch in all.chunks(4096) {
        tx.write_batch(batch, &mut out).unwrap();
    }
    tx.commit().unwrap();
    out
}

fn query(limit: Option<u64>) -> ExportQuery {
    ExportQuery {
        data_elements: (1..=100).collect(),
        periods: PeriodFilter::Keys(vec![1]),
        org_units: (1..=100).collect(),
        attribute_option_combos: None,
        include_deleted: false,
        last_updated_since_ms: None,
        limit,
        order: ExportOrder::Storage,
    }
}

#[test]
fn large_imports_and_streamed_exports() {
    let (_schema, store) = common::fresh();
    let n = 10_000;
    let out = import(&store, &values(n, "1"), 1);
    assert!(out.iter().all(|o| *o == Outcome::Imported));
    assert_eq!(store.count_values().unwrap(), u64::from(n));
    let out = import(&store, &values(n, "1"), 2);
    assert!(out.iter().all(|o| *o == Outcome::Ignored));
    let out = import(&store, &values(n, "2"), 3);
    assert!(out.iter().all(|o| *o == Outcome::Updated));

    let mut seen = Vec::new();
    store
        .export(&query(None), &mut |r| {
            seen.push((r.key, r.value.map(str::to_owned), r.last_updated_ms));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen.len(), n as usize);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "key order");
    assert!(seen.iter().all(|r| r.1.as_deref() == Some("2") && r.2 == 3));

    // Stopping in the middle of the second chunk leaves the store usable.
    let mut count = 0;
    store
        .export(&query(None), &mut |_| {
            count += 1;
            if count == 3000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(count, 3000);
    let mut limited = 0;
    store
        .export(&query(Some(4096)), &mut |_| {
            limited += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(limited, 4096, "an exact multiple of the chunk size");
    assert_eq!(store.count_values().unwrap(), u64::from(n));
}

/// Two writers racing to create the same key through the single-value path: one
/// creates, the other updates it (its insert lost, it decides again on the new row).
#[test]
fn concurrent_single_value_creates_of_one_key() {
    use tally_domain::import::{Change, ChangeOutcome, ElementRule};
    use tally_domain::value_type::ValueType;
    use tally_store::ValueChange;

    let (_schema, store) = common::fresh();
    let key = ValueKey {
        period: 1,
        org_unit: 1,
        data_element: 1,
        category_option_combo: 1,
        attribute_option_combo: 1,
    };
    for round in 0..20 {
        let mut k = key;
        k.data_element = 1 + round;
        let barrier = std::sync::Barrier::new(2);
        let outcomes: Vec<ChangeOutcome> = std::thread::scope(|s| {
            let hs: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|v| {
                    let (store, barrier) = (&store, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        store
                            .apply_changes(
                                &[],
                                &[ValueChange {
                                    key: k,
                                    change: Change::Save {
                                        value: Some(Some(v)),
                                        comment: None,
                                        follow_up: None,
                                    },
                                    rule: ElementRule {
                                        value_type: ValueType::Text,
                                        zero_is_significant: false,
                                        average: false,
                                    },
                                    base_version: None,
                                    user: v,
                                }],
                                10,
                            )
                            .unwrap()[0]
                            .outcome
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = outcomes.clone();
        sorted.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(sorted, [ChangeOutcome::Created, ChangeOutcome::Updated]);
        assert_eq!(store.audits(&k).unwrap().len(), 1);
    }
}

/// Two imports creating the same new key at once: the first to write it wins, the other
/// fails as a whole with a retryable error and writes nothing.
#[test]
fn concurrent_imports_creating_one_new_key() {
    let (_schema, store) = common::fresh();
    let mut first = values(2, "1");
    first.truncate(1);
    let mut second = values(2, "2");
    second.swap(0, 1); // another new key, then the contested one
    second[0].index = 0;
    second[1].index = 1;
    let options = WriteOptions {
        strategy: ImportStrategy::CreateAndUpdate,
        dry_run: false,
        skip_existing_check: false,
        skip_audit: false,
        now_ms: 1,
    };
    // Both read before either commits (the barrier), then race on the key; the store
    // sends a batch's writes with the next batch or at commit, where a loser fails.
    let barrier = std::sync::Barrier::new(2);
    let run = |values: &[ValueWrite]| {
        let mut tx = store.begin_import(options).unwrap();
        let mut out = Vec::new();
        let written = tx.write_batch(values, &mut out);
        barrier.wait();
        written.and_then(|()| tx.commit())
    };
    let (ra, rb) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&first));
        let b = s.spawn(|| run(&second));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (winner, loser) = match (&ra, &rb) {
        (Ok(()), Err(e)) => (&first, e),
        (Err(e), Ok(())) => (&second, e),
        other => panic!("exactly one import must win: {other:?}"),
    };
    assert!(
        matches!(loser, tally_store::StoreError::Unavailable(_)),
        "{loser:?}"
    );
    // The loser wrote nothing: the stored rows are the winner's.
    assert_eq!(store.count_values().unwrap(), winner.len() as u64);
    for v in winner {
        assert_eq!(
            store.get_value(&v.key).unwrap().unwrap().value,
            v.value,
            "{:?}",
            v.key
        );
    }
}

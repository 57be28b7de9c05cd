//! The store conformance suite: one set of checks that every backend runs.
//!
//! A backend's test file calls [`conformance_tests!`](crate::conformance_tests) with an
//! expression that makes a fresh, empty store; the macro expands to one `#[test]` per
//! check so failures are reported by name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::ops::ControlFlow;

use jiff::civil::date;
use tally_domain::import::{
    AuditType, Change, ChangeOutcome, ElementRule, ImportStrategy, Outcome,
};
use tally_domain::uid::Uid;
use tally_domain::value_type::ValueType;

use crate::{
    AuditQuery, ChangeResult, DataValueStore, ExportOrder, ExportQuery, JobRecord, JobStore,
    MetadataStore, PeriodFilter, PeriodRow, Registration, StoreError, StoredValue, ValueChange,
    ValueKey, ValueWrite, WriteOptions,
};

/// What the suite needs from a backend.
pub trait TestStore: DataValueStore + MetadataStore + JobStore + crate::DataEntryStore {}
impl<T: DataValueStore + MetadataStore + JobStore + crate::DataEntryStore> TestStore for T {}

const T0: i64 = 1_700_000_000_000;

/// Jan and Feb 2024 as monthly period rows (keys are arbitrary but distinct).
fn months() -> Vec<PeriodRow> {
    vec![
        PeriodRow {
            key: 720_240_101,
            period_type: "Monthly",
            start: date(2024, 1, 1),
            end: date(2024, 1, 31),
            iso: "202401".into(),
        },
        PeriodRow {
            key: 720_240_201,
            period_type: "Monthly",
            start: date(2024, 2, 1),
            end: date(2024, 2, 29),
            iso: "202402".into(),
        },
    ]
}

fn key(period: i64, org_unit: u32, data_element: u32) -> ValueKey {
    ValueKey {
        period,
        org_unit,
        data_element,
        category_option_combo: 1,
        attribute_option_combo: 1,
    }
}

fn value(index: usize, k: ValueKey, v: Option<&str>) -> ValueWrite {
    ValueWrite {
        index,
        key: k,
        value: v.map(str::to_owned),
        comment: None,
        stored_by: "admin".into(),
        followup: false,
        deleted: false,
        zero_insignificant: false,
    }
}

fn opts(strategy: ImportStrategy, now_ms: i64) -> WriteOptions {
    WriteOptions {
        strategy,
        dry_run: false,
        skip_existing_check: false,
        skip_audit: false,
        now_ms,
    }
}

/// Writes one batch in its own committed transaction and returns the outcomes.
pub fn write(store: &dyn DataValueStore, o: WriteOptions, batch: &[ValueWrite]) -> Vec<Outcome> {
    let mut tx = store.begin_import(o).unwrap();
    tx.ensure_periods(&months()).unwrap();
    let mut out = Vec::new();
    tx.write_batch(batch, &mut out).unwrap();
    tx.commit().unwrap();
    out
}

fn get(store: &dyn DataValueStore, k: ValueKey) -> Option<StoredValue> {
    store.get_value(&k).unwrap()
}

fn export_all(store: &dyn DataValueStore, q: &ExportQuery) -> Vec<StoredValue> {
    let mut rows = Vec::new();
    store
        .export(q, &mut |r| {
            rows.push(StoredValue::from(r));
            ControlFlow::Continue(())
        })
        .unwrap();
    rows
}

fn query() -> ExportQuery {
    ExportQuery {
        data_elements: vec![1, 2, 3],
        periods: PeriodFilter::Any,
        org_units: vec![10, 11, 12],
        attribute_option_combos: None,
        include_deleted: false,
        last_updated_since_ms: None,
        limit: None,
        order: ExportOrder::Storage,
    }
}

const JAN: i64 = 720_240_101;
const FEB: i64 = 720_240_201;

pub fn new_values_are_created_with_fields_and_versions(s: &dyn TestStore) {
    let mut v = value(0, key(JAN, 10, 1), Some("12"));
    v.comment = Some("note".into());
    v.followup = true;
    let out = write(s, opts(ImportStrategy::CreateAndUpdate, T0), &[v]);
    assert_eq!(out, vec![Outcome::Imported]);
    let row = get(s, key(JAN, 10, 1)).expect("stored");
    assert_eq!(row.value.as_deref(), Some("12"));
    assert_eq!(row.comment.as_deref(), Some("note"));
    assert_eq!(row.stored_by.as_deref(), Some("admin"));
    assert!(row.followup);
    assert!(!row.deleted);
    assert_eq!((row.created_ms, row.last_updated_ms), (T0, T0));
    assert!(row.version > 0);
    assert_eq!(s.count_values().unwrap(), 1);
    assert!(
        s.audits(&key(JAN, 10, 1)).unwrap().is_empty(),
        "no audit on create"
    );
}

pub fn unchanged_values_are_ignored_and_keep_their_version(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, k, Some("5"))],
    );
    let before = get(s, k).unwrap();
    let out = write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0 + 10),
        &[value(0, k, Some("5"))],
    );
    assert_eq!(out, vec![Outcome::Ignored]);
    assert_eq!(get(s, k).unwrap(), before);
}

pub fn updates_keep_created_and_audit_the_previous_value(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, k, Some("5"))],
    );
    let v1 = get(s, k).unwrap().version;
    let mut upd = value(0, k, Some("6"));
    upd.stored_by = "john".into();
    let out = write(s, opts(ImportStrategy::CreateAndUpdate, T0 + 1000), &[upd]);
    assert_eq!(out, vec![Outcome::Updated]);
    let row = get(s, k).unwrap();
    assert_eq!(row.value.as_deref(), Some("6"));
    assert_eq!(row.created_ms, T0);
    assert_eq!(row.last_updated_ms, T0 + 1000);
    assert_eq!(row.stored_by.as_deref(), Some("john"));
    assert!(row.version > v1, "every write gets a new version");
    let audits = s.audits(&k).unwrap();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].audit_type, AuditType::Update);
    assert_eq!(audits[0].value.as_deref(), Some("5"));
    assert_eq!(audits[0].modified_by, "john");
    assert_eq!(audits[0].created_ms, T0 + 1000);
}

pub fn blank_deletes_softly_and_create_revives_without_audit(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, k, Some("5"))],
    );
    let out = write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0 + 1),
        &[value(0, k, None)],
    );
    assert_eq!(out, vec![Outcome::Deleted]);
    let row = get(s, k).unwrap();
    assert!(row.deleted, "soft delete keeps the row");
    assert!(
        export_all(s, &query()).is_empty(),
        "deleted rows are hidden"
    );
    let mut q = query();
    q.include_deleted = true;
    assert_eq!(export_all(s, &q).len(), 1);
    let out = write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0 + 2),
        &[value(0, k, Some("7"))],
    );
    assert_eq!(out, vec![Outcome::Imported]);
    let row = get(s, k).unwrap();
    assert!(!row.deleted);
    assert_eq!(row.value.as_deref(), Some("7"));
    assert_eq!(row.created_ms, T0, "revival keeps created");
    let types: Vec<_> = s.audits(&k).unwrap().iter().map(|a| a.audit_type).collect();
    assert_eq!(
        types,
        vec![AuditType::Delete],
        "revival writes no audit in bulk import"
    );
}

pub fn repeated_key_in_one_batch_sees_the_earlier_write(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    let out = write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, k, Some("1")), value(1, k, Some("2"))],
    );
    assert_eq!(out, vec![Outcome::Imported, Outcome::Updated]);
    assert_eq!(get(s, k).unwrap().value.as_deref(), Some("2"));
}

pub fn dry_run_counts_but_writes_nothing(s: &dyn TestStore) {
    let mut o = opts(ImportStrategy::CreateAndUpdate, T0);
    o.dry_run = true;
    let out = write(s, o, &[value(0, key(JAN, 10, 1), Some("1"))]);
    assert_eq!(out, vec![Outcome::Imported]);
    assert_eq!(s.count_values().unwrap(), 0);
}

pub fn dropping_an_import_rolls_everything_back(s: &dyn TestStore) {
    {
        let mut tx = s
            .begin_import(opts(ImportStrategy::CreateAndUpdate, T0))
            .unwrap();
        tx.ensure_periods(&months()).unwrap();
        let mut out = Vec::new();
        tx.write_batch(&[value(0, key(JAN, 10, 1), Some("1"))], &mut out)
            .unwrap();
        tx.complete(&registration(T0)).unwrap();
    }
    assert_eq!(s.count_values().unwrap(), 0);
    assert!(s.registration(5, JAN, 10, 1).unwrap().is_none());
    // The store is usable afterwards.
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, key(JAN, 10, 1), Some("1"))],
    );
    assert_eq!(s.count_values().unwrap(), 1);
}

pub fn skip_existing_check_on_an_existing_value_is_a_constraint_error(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, k, Some("1"))],
    );
    let mut o = opts(ImportStrategy::CreateAndUpdate, T0);
    o.skip_existing_check = true;
    let mut tx = s.begin_import(o).unwrap();
    let mut out = Vec::new();
    let e = tx
        .write_batch(&[value(0, k, Some("2"))], &mut out)
        .unwrap_err();
    assert!(matches!(e, StoreError::Constraint(_)), "{e:?}");
    drop(tx);
    assert_eq!(get(s, k).unwrap().value.as_deref(), Some("1"));
}

pub fn skip_audit_writes_no_audit(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, k, Some("1"))],
    );
    let mut o = opts(ImportStrategy::CreateAndUpdate, T0 + 1);
    o.skip_audit = true;
    assert_eq!(
        write(s, o, &[value(0, k, Some("2"))]),
        vec![Outcome::Updated]
    );
    assert!(s.audits(&k).unwrap().is_empty());
}

pub fn delete_strategy_audits_every_delete(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0),
        &[value(0, k, Some("1"))],
    );
    let out = write(
        s,
        opts(ImportStrategy::Delete, T0 + 1),
        &[value(0, k, Some("1")), value(1, key(JAN, 11, 1), Some("1"))],
    );
    assert_eq!(out, vec![Outcome::Deleted, Outcome::Rejected]);
    let audits = s.audits(&k).unwrap();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].audit_type, AuditType::Delete);
    assert_eq!(audits[0].value.as_deref(), Some("1"));
}

pub fn export_filters_select_exactly_the_matching_rows(s: &dyn TestStore) {
    let mut batch = Vec::new();
    for (i, (pe, ou, de)) in [
        (JAN, 10, 1),
        (JAN, 11, 1),
        (JAN, 12, 2),
        (FEB, 10, 1),
        (FEB, 11, 3),
    ]
    .into_iter()
    .enumerate()
    {
        batch.push(value(i, key(pe, ou, de), Some(&i.to_string())));
    }
    let mut other_aoc = value(9, key(FEB, 12, 2), Some("x"));
    other_aoc.key.attribute_option_combo = 2;
    batch.push(other_aoc);
    write(s, opts(ImportStrategy::CreateAndUpdate, T0), &batch);
    write(
        s,
        opts(ImportStrategy::CreateAndUpdate, T0 + 5000),
        &[value(0, key(FEB, 11, 3), Some("changed"))],
    );

    assert_eq!(export_all(s, &query()).len(), 6);
    let mut q = query();
    q.periods = PeriodFilter::Keys(vec![JAN]);
    assert_eq!(export_all(s, &q).len(), 3);
    q.periods = PeriodFilter::Within {
        start: date(2024, 2, 1),
        end: date(2024, 2, 29),
    };
    assert_eq!(export_all(s, &q).len(), 3);
    q.periods = PeriodFilter::Within {
        start: date(2024, 2, 2),
        end: date(2024, 12, 31),
    };
    assert_eq!(
        export_all(s, &q).len(),
        0,
        "only periods entirely inside the range"
    );
    let mut q = query();
    q.org_units = vec![10];
    assert_eq!(export_all(s, &q).len(), 2);
    let mut q = query();
    q.data_elements = vec![2];
    assert_eq!(export_all(s, &q).len(), 2);
    q.attribute_option_combos = Some(vec![2]);
    let rows = export_all(s, &q);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].value.as_deref(), Some("x"));
    let mut q = query();
    q.last_updated_since_ms = Some(T0 + 1000);
    let rows = export_all(s, &q);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].value.as_deref(), Some("changed"));
    let mut q = query();
    q.limit = Some(2);
    assert_eq!(export_all(s, &q).len(), 2);
    let mut q = query();
    q.order = ExportOrder::OrgUnitPeriod;
    let keys: Vec<_> = export_all(s, &q)
        .iter()
        .map(|r| (r.key.org_unit, r.key.period))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
}

pub fn export_sink_can_stop_early(s: &dyn TestStore) {
    let batch: Vec<_> = (0..10)
        .map(|i| value(i, key(JAN, 10, i as u32 + 1), Some("1")))
        .collect();
    write(s, opts(ImportStrategy::CreateAndUpdate, T0), &batch);
    let mut q = query();
    q.data_elements = (1..=10).collect();
    let mut seen = 0;
    s.export(&q, &mut |_| {
        seen += 1;
        if seen == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(seen, 3);
}

const NUMBER: ElementRule = ElementRule {
    value_type: ValueType::Number,
    zero_is_significant: false,
    average: false,
};

fn save(value: &str) -> Change<'_> {
    Change::Save {
        value: Some(Some(value)),
        comment: None,
        follow_up: None,
    }
}

fn change<'a>(
    k: ValueKey,
    change: Change<'a>,
    base: Option<i64>,
    user: &'a str,
) -> ValueChange<'a> {
    ValueChange {
        key: k,
        change,
        rule: NUMBER,
        base_version: base,
        user,
    }
}

fn apply(s: &dyn DataValueStore, now: i64, changes: &[ValueChange<'_>]) -> Vec<ChangeResult> {
    s.apply_changes(&months(), changes, now).unwrap()
}

pub fn single_changes_create_update_and_delete_with_audits(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    let r = apply(s, T0, &[change(k, save("5"), None, "admin")]);
    assert_eq!(r[0].outcome, ChangeOutcome::Created);
    let row = r[0].row.clone().unwrap();
    assert_eq!(get(s, k).unwrap(), row, "the result is the stored row");
    assert_eq!((row.created_ms, row.last_updated_ms), (T0, T0));
    assert_eq!(row.stored_by.as_deref(), Some("admin"));
    assert!(s.audits(&k).unwrap().is_empty(), "no audit on create");

    let r = apply(s, T0 + 1, &[change(k, save("6"), None, "john")]);
    assert_eq!(r[0].outcome, ChangeOutcome::Updated);
    let row = get(s, k).unwrap();
    assert_eq!(row.value.as_deref(), Some("6"));
    assert_eq!(row.created_ms, T0);
    assert_eq!(row.stored_by.as_deref(), Some("john"));

    let r = apply(s, T0 + 2, &[change(k, Change::Delete, None, "mary")]);
    assert_eq!(r[0].outcome, ChangeOutcome::Deleted);
    assert!(get(s, k).unwrap().deleted);
    let r = apply(s, T0 + 3, &[change(k, save("9"), None, "admin")]);
    assert_eq!(r[0].outcome, ChangeOutcome::Created, "revived");
    let audits: Vec<_> = s
        .audits(&k)
        .unwrap()
        .into_iter()
        .map(|a| (a.audit_type, a.value, a.modified_by))
        .collect();
    assert_eq!(
        audits,
        vec![
            (AuditType::Create, Some("9".into()), "admin".into()),
            (AuditType::Delete, Some("6".into()), "mary".into()),
            (AuditType::Update, Some("5".into()), "john".into()),
        ],
        "newest first"
    );
}

pub fn single_changes_replays_are_unchanged_and_keep_the_version(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    apply(s, T0, &[change(k, save("5"), None, "admin")]);
    let before = get(s, k).unwrap();
    let r = apply(
        s,
        T0 + 5,
        &[change(k, save("5"), Some(before.version - 1), "admin")],
    );
    assert_eq!(r[0].outcome, ChangeOutcome::Unchanged);
    assert_eq!(r[0].row.as_ref(), Some(&before));
    assert_eq!(
        get(s, k).unwrap(),
        before,
        "nothing written, not even lastUpdated"
    );
    assert!(s.audits(&k).unwrap().is_empty());
}

pub fn single_changes_with_a_stale_base_version_write_nothing(s: &dyn TestStore) {
    let k = key(JAN, 10, 1);
    let v1 = apply(s, T0, &[change(k, save("5"), Some(0), "admin")])[0]
        .row
        .as_ref()
        .unwrap()
        .version;
    let v2 = apply(s, T0 + 1, &[change(k, save("6"), Some(v1), "john")])[0]
        .row
        .as_ref()
        .unwrap()
        .version;
    assert!(v2 > v1);
    let r = apply(s, T0 + 2, &[change(k, save("7"), Some(v1), "mary")]);
    assert_eq!(r[0].outcome, ChangeOutcome::Stale);
    let current = r[0].row.clone().unwrap();
    assert_eq!(current.value.as_deref(), Some("6"));
    assert_eq!(current.stored_by.as_deref(), Some("john"));
    assert_eq!(current.version, v2);
    assert_eq!(get(s, k).unwrap(), current);
    assert_eq!(s.audits(&k).unwrap().len(), 1, "only john's update");
    let r = apply(s, T0 + 3, &[change(k, save("7"), Some(0), "mary")]);
    assert_eq!(r[0].outcome, ChangeOutcome::Stale, "0 means no live value");
}

pub fn single_changes_are_all_or_nothing(s: &dyn TestStore) {
    let (a, b) = (key(JAN, 10, 1), key(JAN, 11, 1));
    apply(s, T0, &[change(a, save("5"), None, "admin")]);
    let r = apply(
        s,
        T0 + 1,
        &[
            change(a, Change::FollowUp(true), None, "john"),
            change(b, Change::FollowUp(true), None, "john"),
        ],
    );
    assert_eq!(
        r.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        vec![ChangeOutcome::Updated, ChangeOutcome::Missing]
    );
    assert!(!get(s, a).unwrap().followup, "rolled back");
    let r = apply(
        s,
        T0 + 2,
        &[change(a, Change::FollowUp(true), None, "john")],
    );
    assert_eq!(r[0].outcome, ChangeOutcome::Updated);
    let row = get(s, a).unwrap();
    assert!(row.followup);
    assert_eq!(
        row.stored_by.as_deref(),
        Some("admin"),
        "follow-up keeps storedBy"
    );
    assert_eq!(row.last_updated_ms, T0 + 2);
    assert!(s.audits(&a).unwrap().is_empty(), "follow-up is not audited");
    let r = apply(s, T0 + 3, &[change(b, Change::Delete, None, "john")]);
    assert_eq!(
        (r[0].outcome, r[0].row.clone()),
        (ChangeOutcome::Missing, None)
    );
}

pub fn group_commit_keeps_each_group_all_or_nothing(s: &dyn TestStore) {
    use crate::ChangeGroup;
    let (a, b, c, d) = (
        key(JAN, 10, 1),
        key(FEB, 10, 1),
        key(JAN, 12, 1),
        key(JAN, 13, 1),
    );
    let v1 = apply(s, T0, &[change(a, save("5"), None, "admin")])[0]
        .row
        .as_ref()
        .unwrap()
        .version;
    let periods = months();
    let g0 = [change(b, save("1"), Some(0), "john")];
    // Its first change succeeds, its second is stale: the whole group is undone.
    let g1 = [
        change(c, save("2"), None, "mary"),
        change(a, save("7"), Some(v1 - 1), "mary"),
    ];
    let g2 = [change(a, save("8"), Some(v1), "john")];
    let g3 = [change(d, Change::Delete, None, "john")];
    let g4 = [change(b, save("3"), None, "admin")];
    let groups: Vec<ChangeGroup<'_>> = [&g0[..], &g1, &g2, &g3, &g4]
        .into_iter()
        .enumerate()
        .map(|(i, changes)| ChangeGroup {
            periods: &periods,
            changes,
            now_ms: T0 + 10 + i as i64,
        })
        .collect();
    let results = s.apply_change_groups(&groups).unwrap();
    let outcomes: Vec<Vec<ChangeOutcome>> = results
        .iter()
        .map(|g| g.iter().map(|r| r.outcome).collect())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            vec![ChangeOutcome::Created],
            vec![ChangeOutcome::Created, ChangeOutcome::Stale],
            vec![ChangeOutcome::Updated],
            vec![ChangeOutcome::Missing],
            vec![ChangeOutcome::Updated],
        ]
    );
    assert_eq!(
        get(s, c),
        None,
        "the stale group's first change is rolled back"
    );
    let a_row = get(s, a).unwrap();
    assert_eq!(a_row.value.as_deref(), Some("8"));
    assert_eq!(results[2][0].row.as_ref(), Some(&a_row));
    assert_eq!(
        a_row.last_updated_ms,
        T0 + 12,
        "each group has its own time"
    );
    let b_row = get(s, b).unwrap();
    assert_eq!(
        (
            b_row.value.as_deref(),
            b_row.created_ms,
            b_row.last_updated_ms
        ),
        (Some("3"), T0 + 10, T0 + 14),
        "a later group sees an earlier one's write"
    );
    assert_eq!(get(s, d), None);
    let audits: Vec<_> = s
        .audits(&a)
        .unwrap()
        .into_iter()
        .map(|x| (x.audit_type, x.value, x.modified_by))
        .collect();
    assert_eq!(
        audits,
        vec![(AuditType::Update, Some("5".into()), "john".into())],
        "no audit of the rolled-back group"
    );
    assert_eq!(s.audits(&b).unwrap().len(), 1);
    assert_eq!(s.count_values().unwrap(), 2);
    // An empty batch and a group without changes are fine.
    assert!(s.apply_change_groups(&[]).unwrap().is_empty());
    let empty = [ChangeGroup {
        periods: &periods,
        changes: &[],
        now_ms: T0 + 20,
    }];
    assert_eq!(s.apply_change_groups(&empty).unwrap(), vec![Vec::new()]);
}

pub fn audit_queries_filter_page_and_count(s: &dyn TestStore) {
    let (a, b, c) = (key(JAN, 10, 1), key(FEB, 10, 1), key(JAN, 11, 2));
    for (i, k) in [a, b, c].into_iter().enumerate() {
        let t = T0 + 10 * i as i64;
        apply(s, t, &[change(k, save("1"), None, "admin")]);
        apply(s, t + 1, &[change(k, save("2"), None, "john")]);
        apply(s, t + 2, &[change(k, Change::Delete, None, "mary")]);
    }
    let all = |q: AuditQuery| s.query_audits(&q).unwrap();
    let (rows, total) = all(AuditQuery::default());
    assert_eq!((rows.len(), total), (6, 6));
    let times: Vec<_> = rows.iter().map(|r| r.created_ms).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|x, y| y.cmp(x));
    assert_eq!(times, sorted, "newest first");
    assert_eq!(rows[0].key, c);
    assert_eq!(rows[0].audit_type, AuditType::Delete);
    assert_eq!(rows[0].value.as_deref(), Some("2"));
    assert_eq!(rows[0].modified_by, "mary");
    let (rows, total) = all(AuditQuery {
        periods: vec![JAN],
        org_units: vec![10],
        ..AuditQuery::default()
    });
    assert_eq!(total, 2);
    assert!(rows.iter().all(|r| r.key == a));
    let (rows, total) = all(AuditQuery {
        data_elements: vec![2],
        audit_types: vec![AuditType::Update],
        ..AuditQuery::default()
    });
    assert_eq!((rows.len(), total), (1, 1));
    assert_eq!((rows[0].key, rows[0].audit_type), (c, AuditType::Update));
    let (rows, total) = all(AuditQuery {
        offset: 2,
        limit: Some(3),
        ..AuditQuery::default()
    });
    assert_eq!((rows.len(), total), (3, 6), "a page, and the count of all");
    let (rows, total) = all(AuditQuery {
        category_option_combo: Some(1),
        attribute_option_combo: Some(2),
        ..AuditQuery::default()
    });
    assert_eq!((rows.len(), total), (0, 0));
}

fn registration(now: i64) -> Registration {
    Registration {
        data_set: 5,
        period: JAN,
        org_unit: 10,
        attribute_option_combo: 1,
        date_ms: now,
        stored_by: "admin".into(),
        created_ms: now,
        last_updated_ms: now,
        last_updated_by: "admin".into(),
        completed: true,
    }
}

pub fn registrations_are_created_and_updated(s: &dyn TestStore) {
    let mut tx = s
        .begin_import(opts(ImportStrategy::CreateAndUpdate, T0))
        .unwrap();
    tx.complete(&registration(T0)).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        s.registration(5, JAN, 10, 1).unwrap(),
        Some(registration(T0))
    );
    let mut later = registration(T0 + 10);
    later.last_updated_by = "john".into();
    let mut tx = s
        .begin_import(opts(ImportStrategy::CreateAndUpdate, T0))
        .unwrap();
    tx.complete(&later).unwrap();
    tx.commit().unwrap();
    let got = s.registration(5, JAN, 10, 1).unwrap().unwrap();
    assert_eq!(got.created_ms, T0, "created is kept");
    assert_eq!(got.date_ms, T0 + 10);
    assert_eq!(got.last_updated_by, "john");
    assert!(s.delete_registration(5, JAN, 10, 1).unwrap(), "removed");
    assert_eq!(s.registration(5, JAN, 10, 1).unwrap(), None);
    assert!(
        !s.delete_registration(5, JAN, 10, 1).unwrap(),
        "already gone"
    );
}

pub fn file_resources_are_stored_assigned_once_and_deleted(s: &dyn TestStore) {
    use crate::FileResourceRow;
    let row = |uid: &str| FileResourceRow {
        uid: uid.into(),
        name: "scan.png".into(),
        content_type: "image/png".into(),
        content_length: 1234,
        content_md5: "0cc175b9c0f1b6a831c399e269772661".into(),
        storage_key: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb".into(),
        domain: "DATA_VALUE".into(),
        assigned: false,
        created_ms: T0,
        last_updated_ms: T0,
        created_by: "admin".into(),
    };
    s.save_file_resource(&row("fileResAAA1")).unwrap();
    s.save_file_resource(&row("fileResBBB2")).unwrap();
    assert!(
        matches!(
            s.save_file_resource(&row("fileResAAA1")),
            Err(StoreError::Constraint(_))
        ),
        "a UID is stored once"
    );
    assert_eq!(
        s.file_resource("fileResAAA1").unwrap(),
        Some(row("fileResAAA1"))
    );
    assert_eq!(s.file_resource("fileResCCC3").unwrap(), None);
    assert!(s.assign_file_resource("fileResAAA1", true, T0 + 1).unwrap());
    assert!(
        !s.assign_file_resource("fileResAAA1", true, T0 + 2).unwrap(),
        "an assigned resource cannot be claimed again"
    );
    let got = s.file_resource("fileResAAA1").unwrap().unwrap();
    assert!(got.assigned);
    assert_eq!(got.last_updated_ms, T0 + 1);
    assert!(
        s.assign_file_resource("fileResAAA1", false, T0 + 3)
            .unwrap()
    );
    assert!(!s.file_resource("fileResAAA1").unwrap().unwrap().assigned);
    assert!(!s.assign_file_resource("fileResCCC3", true, T0).unwrap());
    let (gone, left) = s.delete_file_resource("fileResAAA1").unwrap().unwrap();
    assert_eq!(
        (gone.uid.as_str(), left),
        ("fileResAAA1", 1),
        "B shares the content"
    );
    assert_eq!(s.file_resource("fileResAAA1").unwrap(), None);
    assert_eq!(s.delete_file_resource("fileResAAA1").unwrap(), None);
    let (_, left) = s.delete_file_resource("fileResBBB2").unwrap().unwrap();
    assert_eq!(left, 0);
}

pub fn metadata_ids_are_assigned_once_and_kept_on_update(s: &dyn TestStore) {
    let a = Uid::parse("f7n9E0hX8qk").unwrap();
    let b = Uid::parse("DiszpKrYNg8").unwrap();
    let ids = s
        .save_metadata(&[
            ("dataElements".into(), a, r#"{"id":"f7n9E0hX8qk"}"#.into()),
            (
                "organisationUnits".into(),
                b,
                r#"{"id":"DiszpKrYNg8"}"#.into(),
            ),
        ])
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    let again = s
        .save_metadata(&[(
            "dataElements".into(),
            a,
            r#"{"id":"f7n9E0hX8qk","name":"x"}"#.into(),
        )])
        .unwrap();
    assert_eq!(again, vec![ids[0]]);
    let all = s.load_metadata().unwrap();
    assert_eq!(all.len(), 2);
    let de = all.iter().find(|r| r.uid == a).unwrap();
    assert_eq!(de.id, ids[0]);
    assert_eq!(de.kind, "dataElements");
    assert!(de.body.contains("\"name\":\"x\""));
}

fn job(id: &str, status: &str, created_ms: i64) -> JobRecord {
    JobRecord {
        id: id.into(),
        job_type: "DATAVALUE_IMPORT".into(),
        status: status.into(),
        created_ms,
        updated_ms: created_ms,
        username: "admin".into(),
        params: r#"{"format":"json"}"#.into(),
        body_path: Some("/tmp/x".into()),
        notifications: "[]".into(),
        summary: None,
    }
}

pub fn jobs_are_saved_updated_and_listed(s: &dyn TestStore) {
    s.save_job(&job("jobAAAAAAAA", "NOT_STARTED", T0)).unwrap();
    s.save_job(&job("jobBBBBBBBB", "RUNNING", T0 + 1)).unwrap();
    s.save_job(&job("jobCCCCCCCC", "COMPLETED", T0 + 2))
        .unwrap();
    let unfinished: Vec<_> = s
        .unfinished_jobs()
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(unfinished, vec!["jobAAAAAAAA", "jobBBBBBBBB"]);
    let mut done = job("jobAAAAAAAA", "COMPLETED", T0);
    done.summary = Some(r#"{"status":"SUCCESS"}"#.into());
    done.notifications = r#"[{"message":"done"}]"#.into();
    done.body_path = None;
    done.updated_ms = T0 + 50;
    s.save_job(&done).unwrap();
    assert_eq!(s.job("jobAAAAAAAA").unwrap(), Some(done));
    assert_eq!(s.job("missing0000").unwrap(), None);
    let newest_first: Vec<_> = s
        .jobs("DATAVALUE_IMPORT")
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(
        newest_first,
        vec!["jobCCCCCCCC", "jobBBBBBBBB", "jobAAAAAAAA"]
    );
    assert!(s.jobs("OTHER").unwrap().is_empty());
}

/// Lock exceptions: added once per key (a repeat keeps the first row), listed in key
/// order, deleted by data set with an optional period and org units.
pub fn lock_exceptions_are_added_listed_and_deleted(s: &dyn TestStore) {
    use crate::LockException;
    let le = |data_set: u32, period: i64, org_unit: u32, by: &str| LockException {
        data_set,
        period,
        org_unit,
        created_ms: T0,
        created_by: by.into(),
    };
    assert!(s.lock_exceptions().unwrap().is_empty());
    s.add_lock_exceptions(&[le(2, 720_240_201, 7, "a"), le(1, 720_240_101, 8, "a")])
        .unwrap();
    s.add_lock_exceptions(&[le(1, 720_240_101, 8, "b"), le(1, 720_240_101, 7, "a")])
        .unwrap();
    let all = s.lock_exceptions().unwrap();
    assert_eq!(
        all,
        vec![
            le(1, 720_240_101, 7, "a"),
            le(1, 720_240_101, 8, "a"),
            le(2, 720_240_201, 7, "a"),
        ]
    );
    assert_eq!(
        s.delete_lock_exceptions(1, Some(720_240_201), &[]).unwrap(),
        0
    );
    assert_eq!(
        s.delete_lock_exceptions(1, Some(720_240_101), &[8])
            .unwrap(),
        1
    );
    assert_eq!(s.lock_exceptions().unwrap().len(), 2);
    s.add_lock_exceptions(&[le(1, 720_240_201, 9, "a")])
        .unwrap();
    assert_eq!(s.delete_lock_exceptions(1, None, &[]).unwrap(), 2);
    assert_eq!(
        s.lock_exceptions().unwrap(),
        vec![le(2, 720_240_201, 7, "a")]
    );
}

/// Min-max ranges: created, replaced on the same key, read per org unit (optionally
/// for some data elements), deleted by key.
pub fn min_max_values_are_saved_read_and_deleted(s: &dyn TestStore) {
    use crate::MinMaxValue;
    let mm = |de: u32, ou: u32, coc: u32, min: i64, max: i64| MinMaxValue {
        data_element: de,
        org_unit: ou,
        category_option_combo: coc,
        min_value: min,
        max_value: max,
        generated: false,
    };
    assert!(s.min_max_values(5, &[]).unwrap().is_empty());
    s.save_min_max_value(&mm(3, 5, 2, 1, 10)).unwrap();
    s.save_min_max_value(&mm(3, 5, 1, -4, 4)).unwrap();
    s.save_min_max_value(&mm(4, 5, 1, 0, 100)).unwrap();
    s.save_min_max_value(&mm(3, 6, 1, 0, 1)).unwrap();
    let replaced = MinMaxValue {
        generated: true,
        ..mm(4, 5, 1, 5, 50)
    };
    s.save_min_max_value(&replaced).unwrap();
    assert_eq!(
        s.min_max_values(5, &[]).unwrap(),
        vec![mm(3, 5, 1, -4, 4), mm(3, 5, 2, 1, 10), replaced.clone()]
    );
    assert_eq!(s.min_max_values(5, &[4]).unwrap(), vec![replaced]);
    assert!(s.delete_min_max_value(3, 5, 2).unwrap());
    assert!(!s.delete_min_max_value(3, 5, 2).unwrap());
    assert_eq!(s.min_max_values(5, &[3]).unwrap(), vec![mm(3, 5, 1, -4, 4)]);
    assert_eq!(s.min_max_values(6, &[]).unwrap(), vec![mm(3, 6, 1, 0, 1)]);
}

/// Expands to one `#[test]` per conformance check. `$make` is an expression giving
/// `(guard, store)`: a fresh, empty store and whatever must outlive it (a temp dir, a
/// database schema); it is evaluated once per test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            new_values_are_created_with_fields_and_versions,
            unchanged_values_are_ignored_and_keep_their_version,
            updates_keep_created_and_audit_the_previous_value,
            blank_deletes_softly_and_create_revives_without_audit,
            repeated_key_in_one_batch_sees_the_earlier_write,
            dry_run_counts_but_writes_nothing,
            dropping_an_import_rolls_everything_back,
            skip_existing_check_on_an_existing_value_is_a_constraint_error,
            skip_audit_writes_no_audit,
            delete_strategy_audits_every_delete,
            export_filters_select_exactly_the_matching_rows,
            export_sink_can_stop_early,
            registrations_are_created_and_updated,
            metadata_ids_are_assigned_once_and_kept_on_update,
            jobs_are_saved_updated_and_listed,
            single_changes_create_update_and_delete_with_audits,
            single_changes_replays_are_unchanged_and_keep_the_version,
            single_changes_with_a_stale_base_version_write_nothing,
            single_changes_are_all_or_nothing,
            group_commit_keeps_each_group_all_or_nothing,
            file_resources_are_stored_assigned_once_and_deleted,
            audit_queries_filter_page_and_count,
            lock_exceptions_are_added_listed_and_deleted,
            min_max_values_are_saved_read_and_deleted,
        );
    };
    (@each $make:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let (_guard, store) = $make;
                $crate::conformance::$name(&store);
            }
        )*
    };
}

/// The schema version a fresh store of a backend reaches: one per `.sql` file in its
/// `migrations/` folder (`dir`), so adding a migration needs no test edit.
///
/// # Panics
/// When the folder cannot be read (a test helper).
#[must_use]
pub fn migration_count(dir: &std::path::Path) -> i64 {
    let files = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "sql"))
        .count();
    i64::try_from(files).unwrap_or(i64::MAX)
}

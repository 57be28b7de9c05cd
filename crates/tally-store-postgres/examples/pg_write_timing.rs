//! Quick timing of the store's bulk write path against raw PostgreSQL baselines on the
//! same rows, in a schema of its own on `TALLY_TEST_DATABASE_URL`:
//!
//! ```text
//! cargo run --release -p tally-store-postgres --example pg_write_timing -- [VALUES]
//! ```
//!
//! * store: `write_batch` in batches of 4096 (new values; an identical re-import; a
//!   re-import with every value changed, which also writes the audit rows);
//! * raw: binary `COPY` of the same rows into an empty table shaped like `datavalue`,
//!   and an array-based `INSERT … SELECT unnest(…) ON CONFLICT DO UPDATE` of the
//!   changed rows, 4096 rows per statement, one transaction.
//!
//! The full benchmark with HTTP and parsing lives in `tally-bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use jiff::civil::date;
use tally_domain::import::{ImportStrategy, Outcome};
use tally_store::{DataValueStore, PeriodRow, ValueKey, ValueWrite, WriteOptions};
use tally_store_postgres::{Config, PgStore};
use tokio_postgres::NoTls;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

const BATCH: usize = 4096;

fn values(n: usize, value: &str) -> Vec<ValueWrite> {
    (0..n)
        .map(|i| ValueWrite {
            index: i,
            key: ValueKey {
                period: 1,
                org_unit: 1 + (i / 1000) as u32,
                data_element: 1 + (i % 200) as u32,
                category_option_combo: 1 + ((i / 200) % 5) as u32,
                attribute_option_combo: 1,
            },
            value: Some(format!("{value}{}", i % 97)),
            comment: None,
            stored_by: "admin".into(),
            followup: false,
            deleted: false,
            zero_insignificant: false,
        })
        .collect()
}

fn import(
    store: &PgStore,
    rows: &[ValueWrite],
    now_ms: i64,
    skip_audit: bool,
) -> (Duration, Vec<Outcome>) {
    let start = Instant::now();
    let mut tx = store
        .begin_import(WriteOptions {
            strategy: ImportStrategy::CreateAndUpdate,
            dry_run: false,
            skip_existing_check: false,
            skip_audit,
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
    let mut out = Vec::with_capacity(rows.len());
    for batch in rows.chunks(BATCH) {
        tx.write_batch(batch, &mut out).unwrap();
    }
    tx.commit().unwrap();
    (start.elapsed(), out)
}

const RAW_TABLE: &str = "create table raw_datavalue (
    periodid bigint not null, sourceid bigint not null, dataelementid bigint not null,
    categoryoptioncomboid bigint not null, attributeoptioncomboid bigint not null,
    value text, storedby text, created bigint not null, lastupdated bigint not null,
    comment text, followup boolean not null, deleted boolean not null, version bigint not null,
    primary key (periodid, sourceid, dataelementid, categoryoptioncomboid, attributeoptioncomboid));
    create index raw_datavalue_lastupdated on raw_datavalue (lastupdated);";

/// Raw COPY of `rows`, then a raw unnest upsert of `changed`; both timed.
async fn raw(
    config: Config,
    rows: Vec<ValueWrite>,
    changed: Vec<ValueWrite>,
) -> (Duration, Duration) {
    let (client, connection) = config.connect(NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    client.batch_execute(RAW_TABLE).await.unwrap();

    let start = Instant::now();
    client.batch_execute("begin").await.unwrap();
    let sink = client
        .copy_in("copy raw_datavalue from stdin (format binary)")
        .await
        .unwrap();
    let types = [
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::BOOL,
        Type::BOOL,
        Type::INT8,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    for (i, v) in rows.iter().enumerate() {
        let k = v.key;
        let row: [&(dyn ToSql + Sync); 13] = [
            &k.period,
            &i64::from(k.org_unit),
            &i64::from(k.data_element),
            &i64::from(k.category_option_combo),
            &i64::from(k.attribute_option_combo),
            &v.value,
            &v.stored_by,
            &1_i64,
            &1_i64,
            &v.comment,
            &v.followup,
            &v.deleted,
            &(i as i64),
        ];
        writer.as_mut().write(&row).await.unwrap();
    }
    writer.finish().await.unwrap();
    client.batch_execute("commit").await.unwrap();
    let copy = start.elapsed();

    let upsert = client
        .prepare(
            "insert into raw_datavalue select pe, ou, de, coc, aoc, v, sb, 2, 2, null, false, false, ver
             from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                         $6::text[], $7::text[], $8::bigint[]) as t(pe, ou, de, coc, aoc, v, sb, ver)
             on conflict (periodid, sourceid, dataelementid, categoryoptioncomboid, attributeoptioncomboid)
             do update set value = excluded.value, storedby = excluded.storedby,
               lastupdated = excluded.lastupdated, comment = excluded.comment,
               followup = excluded.followup, deleted = excluded.deleted, version = excluded.version",
        )
        .await
        .unwrap();
    let start = Instant::now();
    client.batch_execute("begin").await.unwrap();
    for (b, batch) in changed.chunks(BATCH).enumerate() {
        let col =
            |f: &dyn Fn(&ValueKey) -> i64| batch.iter().map(|v| f(&v.key)).collect::<Vec<_>>();
        let pe = col(&|k| k.period);
        let ou = col(&|k| i64::from(k.org_unit));
        let de = col(&|k| i64::from(k.data_element));
        let coc = col(&|k| i64::from(k.category_option_combo));
        let aoc = col(&|k| i64::from(k.attribute_option_combo));
        let val: Vec<_> = batch.iter().map(|v| v.value.clone()).collect();
        let sb: Vec<_> = batch.iter().map(|v| v.stored_by.clone()).collect();
        let ver: Vec<i64> = (0..batch.len()).map(|i| (b * BATCH + i) as i64).collect();
        client
            .execute(&upsert, &[&pe, &ou, &de, &coc, &aoc, &val, &sb, &ver])
            .await
            .unwrap();
    }
    client.batch_execute("commit").await.unwrap();
    let upsert_time = start.elapsed();
    drop(client);
    let _ = task.await;
    (copy, upsert_time)
}

fn admin(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
            let task = tokio::spawn(connection);
            client.batch_execute(&sql).await.unwrap();
            drop(client);
            let _ = task.await;
        });
    })
    .join()
    .unwrap();
}

fn rate(n: usize, d: Duration) -> String {
    format!(
        "{:>8.0} values/s ({:.3} s)",
        n as f64 / d.as_secs_f64(),
        d.as_secs_f64()
    )
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("VALUES is a number"))
        .unwrap_or(100_000);
    let url = std::env::var("TALLY_TEST_DATABASE_URL")
        .expect("set TALLY_TEST_DATABASE_URL (eval \"$(scripts/pg-test-cluster start)\")");
    let schema = format!("tally_timing_{}", std::process::id());
    admin(
        &url,
        &format!("drop schema if exists {schema} cascade; create schema {schema}"),
    );
    let mut config = Config::from_str(&url).unwrap();
    config.options(format!("-c search_path={schema}"));

    let store = PgStore::open_config(config.clone(), 4).unwrap();
    let new = values(n, "1");
    let changed = values(n, "2");
    let (t_new, out) = import(&store, &new, 1, false);
    assert!(out.iter().all(|o| *o == Outcome::Imported));
    let (t_same, out) = import(&store, &new, 2, false);
    assert!(out.iter().all(|o| *o == Outcome::Ignored));
    let (t_changed, out) = import(&store, &changed, 3, false);
    assert!(out.iter().all(|o| *o == Outcome::Updated));
    let (t_no_audit, out) = import(&store, &new, 4, true);
    assert!(out.iter().all(|o| *o == Outcome::Updated));
    drop(store);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (t_copy, t_upsert) = rt.block_on(raw(config, new, changed));
    admin(&url, &format!("drop schema {schema} cascade"));

    println!("{n} values, batches of {BATCH}, one transaction each");
    println!("store write_batch, new values:      {}", rate(n, t_new));
    println!("store write_batch, identical:       {}", rate(n, t_same));
    println!(
        "store write_batch, all changed:     {}  (+ {n} audit rows)",
        rate(n, t_changed)
    );
    println!(
        "store write_batch, changed, skipAudit: {}",
        rate(n, t_no_audit)
    );
    println!("raw binary COPY, new values:        {}", rate(n, t_copy));
    println!("raw unnest upsert, all changed:     {}", rate(n, t_upsert));
    println!(
        "ratios: new/COPY {:.2}, changed/unnest-upsert {:.2} (skipAudit {:.2})",
        t_copy.as_secs_f64() / t_new.as_secs_f64(),
        t_upsert.as_secs_f64() / t_changed.as_secs_f64(),
        t_upsert.as_secs_f64() / t_no_audit.as_secs_f64()
    );
}

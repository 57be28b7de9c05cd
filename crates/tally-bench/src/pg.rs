//! The PostgreSQL mode (`--postgres URL`, issue 6 / goal G10 of the performance
//! anchors): on one PostgreSQL server, in the same run and on the same rows, tally's JSON
//! import (new values, then every value changed) against
//!
//! * `R_copy`: a raw binary `COPY` of the rows into tally's own `datavalue` table;
//! * `R_unnest_ups`: a raw array-based `INSERT … SELECT unnest(…) ON CONFLICT DO UPDATE`
//!   (10,000 rows a statement, one transaction) of the changed rows into the full table;
//! * `R_dhis243`: DHIS2 2.43's SQL write path as the anchors (§1.3, §4.3) describe it:
//!   DHIS2's `datavalue` shape (bigint ids, `created`/`lastupdated`/`storedby` from
//!   column defaults, `set_config('dhis2.user')`), prepared multi-row `VALUES`×500
//!   `ON CONFLICT … DO UPDATE` statements in one transaction, and a per-row audit
//!   trigger writing `datavalueaudit` (with `nextval('hibernate_sequence')`) on every
//!   insert and on every update that changes the value or the deleted flag, on tables
//!   with the foreign keys and indexes of a DHIS2 database (see [`dhis2_schema`]);
//!   measured for new values and for every value changed.
//!
//! Everything lives in a schema of its own (`tally_bench_<pid>`), dropped at the end.

use std::cell::Cell;
use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use tally_core::import::ImportOptions;
use tally_core::{App, Clock};
use tally_store_postgres::{Config as PgConfig, PgStore};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use crate::baseline::Keys;
use crate::ours::{self, Expect};
use crate::payload::{self, PayloadFormat};
use crate::report::{Baseline, Goal, Report};
use crate::shape::{STORED_BY, Shape, Uids, value_of};
use crate::{measurement, progress};

/// Rows per statement of DHIS2 2.43's upsert (`MAX_ROWS_PER_INSERT`).
const DHIS2_ROWS: usize = 500;
/// Rows per statement of the unnest baseline.
const UNNEST_ROWS: usize = 10_000;

const G10_NEW: Goal = Goal {
    name: "G10 (new)",
    min_ratio: 0.5,
};
const G10_CHANGED: Goal = Goal {
    name: "G10 (changed)",
    min_ratio: 0.8,
};
const G10_DHIS2: Goal = Goal {
    name: "G10 (vs DHIS2)",
    min_ratio: 2.0,
};

/// The two shapes of DHIS2 2.43's tables the baseline runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dhis2Shape {
    /// As a DHIS2 database has them: the five foreign keys of `datavalue` and of
    /// `datavalueaudit` (to data element, period, org unit and category option combo
    /// tables, here holding just their keys), `in_datavalue_lastupdated`,
    /// `in_datavalue_deleted`, `in_datavalueaudit` (the value key) and
    /// `id_datavalueaudit_created`.
    Constraints,
    /// Primary keys and the trigger only, as the anchors' own reproduction (§4.3).
    Bare,
}

impl Dhis2Shape {
    /// The prefix of its tables, sequence and trigger function.
    fn prefix(self) -> &'static str {
        match self {
            Self::Constraints => "dhis2_",
            Self::Bare => "dhis2bare_",
        }
    }
}

/// DHIS2 2.43's tables, sequence and audit trigger in `shape`. The trigger is 2.43's
/// `log_datavalue_audit` (`V2_43_17__data_entry_import_adjustments.sql`): on every insert
/// and on every update that changes the value or the deleted flag it writes the new
/// value with `nextval('hibernate_sequence')`.
fn dhis2_schema(shape: Dhis2Shape) -> String {
    let p = shape.prefix();
    let constraints = shape == Dhis2Shape::Constraints;
    let fk = |table: &str| {
        if constraints {
            format!(" references {p}{table}")
        } else {
            String::new()
        }
    };
    let (de, pe, ou, coc) = (
        fk("dataelement"),
        fk("period"),
        fk("organisationunit"),
        fk("categoryoptioncombo"),
    );
    let indexes = if constraints {
        format!(
            "create index {p}in_datavalue_lastupdated on {p}datavalue (lastupdated);
create index {p}in_datavalue_deleted on {p}datavalue (deleted);
create index {p}in_datavalueaudit on {p}datavalueaudit (dataelementid, periodid,
    organisationunitid, categoryoptioncomboid, attributeoptioncomboid);
create index {p}id_datavalueaudit_created on {p}datavalueaudit (created);"
        )
    } else {
        String::new()
    };
    format!(
        "
create sequence {p}hibernate_sequence;
create table {p}dataelement (dataelementid bigint primary key);
create table {p}period (periodid bigint primary key);
create table {p}organisationunit (organisationunitid bigint primary key);
create table {p}categoryoptioncombo (categoryoptioncomboid bigint primary key);
create table {p}datavalue (
    dataelementid          bigint not null{de},
    periodid               bigint not null{pe},
    sourceid               bigint not null{ou},
    categoryoptioncomboid  bigint not null{coc},
    attributeoptioncomboid bigint not null{coc},
    value                  varchar(50000),
    storedby               varchar(255) default current_setting('dhis2.user', true),
    created                timestamp not null default now(),
    lastupdated            timestamp not null default now(),
    comment                varchar(50000),
    followup               boolean,
    deleted                boolean not null default false,
    primary key (dataelementid, periodid, sourceid, categoryoptioncomboid,
                 attributeoptioncomboid)
);
create table {p}datavalueaudit (
    datavalueauditid       bigint primary key,
    dataelementid          bigint not null{de},
    periodid               bigint not null{pe},
    organisationunitid     bigint not null{ou},
    categoryoptioncomboid  bigint not null{coc},
    attributeoptioncomboid bigint not null{coc},
    value                  varchar(50000),
    created                timestamp not null,
    modifiedby             varchar(100),
    audittype              varchar(100) not null
);
{indexes}
create function {p}datavalue_audit() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' or (tg_op = 'UPDATE' and (
        old.value is distinct from new.value or old.deleted is distinct from new.deleted))
    then
        insert into {p}datavalueaudit (datavalueauditid, created, modifiedby,
            dataelementid, periodid, organisationunitid, categoryoptioncomboid,
            attributeoptioncomboid, value, audittype)
        values (nextval('{p}hibernate_sequence'), now(), left(new.storedby, 100),
            new.dataelementid, new.periodid, new.sourceid, new.categoryoptioncomboid,
            new.attributeoptioncomboid, new.value,
            case when tg_op = 'INSERT' then 'CREATE'
                 when new.deleted and (old.deleted is null or not old.deleted) then 'DELETED'
                 else 'UPDATE' end);
    end if;
    return new;
end $$;
create trigger {p}trg_datavalue_audit after insert or update on {p}datavalue
    for each row execute function {p}datavalue_audit();
"
    )
}

/// Fills DHIS2's referenced tables with the ids the rows use (not timed: a DHIS2
/// database holds its metadata before any import).
fn dhis2_metadata(raw: &Raw, keys: &Keys, shape: Dhis2Shape) -> anyhow::Result<()> {
    let p = shape.prefix();
    let distinct = |i: usize| {
        let mut ids: Vec<i64> = keys.rows.iter().map(|k| k[i]).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut combos = distinct(3);
    combos.extend(distinct(4));
    combos.sort_unstable();
    combos.dedup();
    for (table, ids) in [
        ("period", distinct(0)),
        ("organisationunit", distinct(1)),
        ("dataelement", distinct(2)),
        ("categoryoptioncombo", combos),
    ] {
        raw.rt.block_on(raw.client.execute(
            &format!("insert into {p}{table} select unnest($1::bigint[])"),
            &[&ids],
        ))?;
    }
    Ok(())
}

/// A blocking client on a runtime of its own, in the bench schema.
struct Raw {
    rt: tokio::runtime::Runtime,
    client: Client,
    /// Whether the server refused a checkpoint (see [`Raw::prepare_phase`]).
    checkpoint_refused: Cell<bool>,
}

impl Raw {
    fn connect(config: &PgConfig) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let config = config.clone();
        let client = rt.block_on(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok::<_, tokio_postgres::Error>(client)
        })?;
        Ok(Self {
            rt,
            client,
            checkpoint_refused: Cell::new(false),
        })
    }

    fn batch(&self, sql: &str) -> anyhow::Result<()> {
        self.rt
            .block_on(self.client.batch_execute(sql))
            .with_context(|| format!("running {}", sql.lines().next().unwrap_or(sql)))
    }

    /// Brings the server to the same state before every timed phase, so that no phase
    /// pays for another's leftovers: the tables the phase fills from nothing emptied,
    /// the tables it overwrites vacuumed and analyzed, as autovacuum leaves a table in
    /// service (autovacuum itself is off for the bench tables, so that it never runs
    /// inside a timed phase at a random moment), then a checkpoint, so that every
    /// phase starts with no dirty buffers and pays the same full-page images. A
    /// refused checkpoint (it needs superuser or `pg_checkpoint`) is remembered for
    /// the report.
    fn prepare_phase(&self, emptied: &[&str], overwritten: &[&str]) -> anyhow::Result<()> {
        if !emptied.is_empty() {
            self.batch(&format!("truncate {}", emptied.join(", ")))?;
        }
        if !overwritten.is_empty() {
            self.batch(&format!("vacuum (analyze) {}", overwritten.join(", ")))?;
        }
        if self.batch("checkpoint").is_err() {
            self.checkpoint_refused.set(true);
        }
        Ok(())
    }
}

/// Every table a timed phase writes, in the bench schema.
const BENCH_TABLES: [&str; 7] = [
    "raw_datavalue",
    "dhis2_datavalue",
    "dhis2_datavalueaudit",
    "dhis2bare_datavalue",
    "dhis2bare_datavalueaudit",
    "datavalue",
    "datavalueaudit",
];

/// R_copy: binary COPY of every row into the empty table.
fn raw_copy(raw: &Raw, keys: &Keys) -> anyhow::Result<Duration> {
    raw.prepare_phase(&["raw_datavalue"], &[])?;
    let start = Instant::now();
    raw.rt.block_on(async {
        raw.client.batch_execute("begin").await?;
        let sink = raw
            .client
            .copy_in(
                "copy raw_datavalue (periodid, sourceid, dataelementid, categoryoptioncomboid,
                 attributeoptioncomboid, value, storedby, created, lastupdated, comment,
                 followup, deleted, version) from stdin binary",
            )
            .await?;
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
        let now = jiff::Timestamp::now().as_millisecond();
        let none: Option<&str> = None;
        for (i, k) in keys.rows.iter().enumerate() {
            let value = value_of(i, 0).to_string();
            let version = i as i64 + 1;
            let row: [&(dyn ToSql + Sync); 13] = [
                &k[0], &k[1], &k[2], &k[3], &k[4], &value, &STORED_BY, &now, &now, &none, &false,
                &false, &version,
            ];
            writer.as_mut().write(&row).await?;
        }
        writer.finish().await?;
        raw.client.batch_execute("commit").await?;
        Ok::<_, tokio_postgres::Error>(())
    })?;
    Ok(start.elapsed())
}

/// R_unnest_ups: every row changed, `UNNEST_ROWS` a statement, one transaction.
fn raw_unnest_upsert(raw: &Raw, keys: &Keys) -> anyhow::Result<Duration> {
    raw.prepare_phase(&[], &["raw_datavalue"])?;
    let start = Instant::now();
    let changed = raw.rt.block_on(async {
        let statement = raw
            .client
            .prepare(
                "insert into raw_datavalue (periodid, sourceid, dataelementid,
                   categoryoptioncomboid, attributeoptioncomboid, value, storedby, created,
                   lastupdated, followup, deleted, version)
                 select p, o, d, c, a, v, $7, $8, $8, false, false, ver
                 from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                   $5::bigint[], $6::text[], $9::bigint[]) as u(p, o, d, c, a, v, ver)
                 on conflict (periodid, sourceid, dataelementid, categoryoptioncomboid,
                   attributeoptioncomboid)
                 do update set value = excluded.value, storedby = excluded.storedby,
                   lastupdated = excluded.lastupdated, followup = excluded.followup,
                   deleted = excluded.deleted, version = excluded.version",
            )
            .await?;
        raw.client.batch_execute("begin").await?;
        let now = jiff::Timestamp::now().as_millisecond();
        let mut changed = 0;
        for (c, chunk) in keys.rows.chunks(UNNEST_ROWS).enumerate() {
            let col = |j: usize| chunk.iter().map(|k| k[j]).collect::<Vec<i64>>();
            let base = c * UNNEST_ROWS;
            let values: Vec<String> = (0..chunk.len())
                .map(|i| value_of(base + i, 1).to_string())
                .collect();
            let versions: Vec<i64> = (0..chunk.len())
                .map(|i| (keys.rows.len() + base + i) as i64 + 1)
                .collect();
            changed += raw
                .client
                .execute(
                    &statement,
                    &[
                        &col(0),
                        &col(1),
                        &col(2),
                        &col(3),
                        &col(4),
                        &values,
                        &STORED_BY,
                        &now,
                        &versions,
                    ],
                )
                .await?;
        }
        raw.client.batch_execute("commit").await?;
        Ok::<_, tokio_postgres::Error>(changed)
    })?;
    let elapsed = start.elapsed();
    ensure!(
        changed == keys.rows.len() as u64,
        "the unnest upsert changed {changed} rows, expected {}",
        keys.rows.len()
    );
    Ok(elapsed)
}

fn dhis2_statement(rows: usize, shape: Dhis2Shape) -> String {
    let mut sql = format!(
        "insert into {}datavalue (dataelementid, periodid, sourceid, categoryoptioncomboid,
         attributeoptioncomboid, value, comment, followup, deleted) values ",
        shape.prefix()
    );
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        let b = r * 9;
        sql.push_str(&format!(
            "(${},${},${},${},${},${},${},${},${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9
        ));
    }
    sql.push_str(
        " on conflict (dataelementid, periodid, sourceid, categoryoptioncomboid,
          attributeoptioncomboid)
          do update set value = excluded.value, comment = excluded.comment,
          followup = excluded.followup, deleted = excluded.deleted,
          lastupdated = now(), storedby = excluded.storedby",
    );
    sql
}

/// R_dhis243: DHIS2 2.43's write path for pass `pass` (0: into empty tables).
fn dhis2_path(raw: &Raw, keys: &Keys, pass: u32, shape: Dhis2Shape) -> anyhow::Result<Duration> {
    let p = shape.prefix();
    let tables = [format!("{p}datavalue"), format!("{p}datavalueaudit")];
    let tables = tables.each_ref().map(String::as_str);
    if pass == 0 {
        raw.prepare_phase(&tables, &[])?;
    } else {
        raw.prepare_phase(&[], &tables)?;
    }
    let start = Instant::now();
    raw.rt.block_on(async {
        let full = raw
            .client
            .prepare(&dhis2_statement(DHIS2_ROWS, shape))
            .await?;
        raw.client.batch_execute("begin").await?;
        raw.client
            .execute("select set_config('dhis2.user', $1, true)", &[&STORED_BY])
            .await?;
        let none: Option<&str> = None;
        for (c, chunk) in keys.rows.chunks(DHIS2_ROWS).enumerate() {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| value_of(c * DHIS2_ROWS + i, pass).to_string())
                .collect();
            let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * 9);
            for (k, v) in chunk.iter().zip(&values) {
                // DHIS2's key order: data element, period, org unit, COC, AOC.
                params.extend_from_slice(&[&k[2], &k[0], &k[1], &k[3], &k[4], v, &none]);
                params.push(&false);
                params.push(&false);
            }
            if chunk.len() == DHIS2_ROWS {
                raw.client.execute(&full, &params).await?;
            } else {
                let last = raw
                    .client
                    .prepare(&dhis2_statement(chunk.len(), shape))
                    .await?;
                raw.client.execute(&last, &params).await?;
            }
        }
        raw.client.batch_execute("commit").await?;
        Ok::<_, tokio_postgres::Error>(())
    })?;
    let elapsed = start.elapsed();
    let audits: i64 = raw
        .rt
        .block_on(
            raw.client
                .query_one(&format!("select count(*) from {p}datavalueaudit"), &[]),
        )?
        .get(0);
    let expected = keys.rows.len() as i64 * (i64::from(pass) + 1);
    ensure!(
        audits == expected,
        "the DHIS2 trigger wrote {audits} audit rows, expected {expected}"
    );
    Ok(elapsed)
}

/// Runs the PostgreSQL measurements into `report`.
///
/// # Errors
/// Connection or SQL failures, or a miscounted import.
pub fn throughput(
    url: &str,
    values: usize,
    runs: usize,
    dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let shape = Shape::new(values)?;
    let uids = Uids::new(&shape)?;
    let n = shape.values;
    eprintln!("PostgreSQL: {}", shape.describe());
    report.data = Some(shape.describe());

    let schema = format!("tally_bench_{}", std::process::id());
    let base = PgConfig::from_str(url).context("parsing the --postgres URL")?;
    let admin = Raw::connect(&base)?;
    admin.batch(&format!(
        "drop schema if exists {schema} cascade; create schema {schema}"
    ))?;
    let result = (|| {
        let mut config = base.clone();
        config.options(format!("-c search_path={schema}"));
        let server: String = admin
            .rt
            .block_on(admin.client.query_one("show server_version", &[]))?
            .get(0);
        report.environment.push(("PostgreSQL".into(), server));
        let store = PgStore::open_config(config.clone(), 4).context("opening the store")?;
        let app = Arc::new(App::open(Arc::new(store), Clock::system())?);
        report.metadata_seconds = Some(ours::load_template(&app, &shape, &uids)?.as_secs_f64());
        let user = ours::user(&app)?;
        let keys = Keys::resolve(&app.snapshot(), &shape, &uids)?;
        let raw = Raw::connect(&config)?;
        raw.batch("create table raw_datavalue (like datavalue including all)")?;
        for shape in [Dhis2Shape::Constraints, Dhis2Shape::Bare] {
            raw.batch(&dhis2_schema(shape))?;
            dhis2_metadata(&raw, &keys, shape)?;
        }
        for table in BENCH_TABLES {
            raw.batch(&format!(
                "alter table {table} set (autovacuum_enabled = false)"
            ))?;
        }
        report.environment.push((
            "Between phases".into(),
            "autovacuum off for the bench tables; before each timed phase the tables it \
             overwrites are vacuumed and analyzed, then a checkpoint"
                .into(),
        ));

        let paths = [0, 1].map(|pass| dir.join(format!("pg-payload-{pass}.json")));
        for (pass, path) in (0u32..).zip(&paths) {
            let bytes = payload::write(PayloadFormat::Json, &shape, &uids, pass, path)?;
            if pass == 0 {
                report.payloads.push((PayloadFormat::Json, bytes));
            }
        }

        for run in 1..=runs {
            eprintln!("PostgreSQL run {run}/{runs}");
            let copy = raw_copy(&raw, &keys)?;
            progress("R_copy", n, copy);
            let ups = raw_unnest_upsert(&raw, &keys)?;
            progress("R_unnest_ups", n, ups);
            let dhis2_new = dhis2_path(&raw, &keys, 0, Dhis2Shape::Constraints)?;
            progress("R_dhis243 new", n, dhis2_new);
            let dhis2_changed = dhis2_path(&raw, &keys, 1, Dhis2Shape::Constraints)?;
            progress("R_dhis243 changed", n, dhis2_changed);
            let bare_new = dhis2_path(&raw, &keys, 0, Dhis2Shape::Bare)?;
            progress("R_dhis243_bare new", n, bare_new);
            let bare_changed = dhis2_path(&raw, &keys, 1, Dhis2Shape::Bare)?;
            progress("R_dhis243_bare changed", n, bare_changed);
            for (base, secs, label) in [
                (
                    Baseline::Copy,
                    copy,
                    "R_copy: raw binary `COPY` into tally's `datavalue`, empty table",
                ),
                (
                    Baseline::UnnestUpsert,
                    ups,
                    "R_unnest_ups: raw `INSERT … SELECT unnest(…) ON CONFLICT DO UPDATE`, 10k rows a statement, every value changed",
                ),
                (
                    Baseline::Dhis243New,
                    dhis2_new,
                    "R_dhis243 new: DHIS2 2.43 SQL path (500-row `VALUES … ON CONFLICT`, audit trigger, DHIS2's foreign keys and indexes), empty table",
                ),
                (
                    Baseline::Dhis243Changed,
                    dhis2_changed,
                    "R_dhis243 changed: the same, every value changed",
                ),
                (
                    Baseline::Dhis243BareNew,
                    bare_new,
                    "R_dhis243_bare new: the same path on tables with primary keys only (the anchors' §4.3 shape), empty table",
                ),
                (
                    Baseline::Dhis243BareChanged,
                    bare_changed,
                    "R_dhis243_bare changed: the same, every value changed",
                ),
            ] {
                report.record(
                    base.id(),
                    measurement(base.id(), label.into(), n, None, None),
                    secs.as_secs_f64(),
                    None,
                );
            }

            raw.prepare_phase(
                &["datavalue", "datavalueaudit", "completedatasetregistration"],
                &[],
            )?;
            let t = ours::import(
                &app,
                &user,
                PayloadFormat::Json,
                ImportOptions::default(),
                &paths[0],
                Expect::Imported(n as u64),
            )?;
            progress("PostgreSQL JSON import", n, t);
            raw.prepare_phase(&[], &["datavalue", "datavalueaudit"])?;
            let t2 = ours::import(
                &app,
                &user,
                PayloadFormat::Json,
                ImportOptions::default(),
                &paths[1],
                Expect::Updated(n as u64),
            )?;
            progress("PostgreSQL JSON re-import", n, t2);
            for (id, label, secs, base, goal) in [
                (
                    "pg:import:json",
                    "PostgreSQL: JSON import, empty store",
                    t,
                    Baseline::Copy,
                    G10_NEW,
                ),
                (
                    "pg:reimport:json",
                    "PostgreSQL: JSON re-import, every value changed",
                    t2,
                    Baseline::UnnestUpsert,
                    G10_CHANGED,
                ),
                (
                    "pg:import:json:dhis2",
                    "PostgreSQL: JSON import, empty store, vs DHIS2 2.43",
                    t,
                    Baseline::Dhis243New,
                    G10_DHIS2,
                ),
                (
                    "pg:reimport:json:dhis2",
                    "PostgreSQL: JSON re-import, every value changed, vs DHIS2 2.43",
                    t2,
                    Baseline::Dhis243Changed,
                    G10_DHIS2,
                ),
                (
                    "pg:import:json:dhis2bare",
                    "PostgreSQL: JSON import, empty store, vs DHIS2 2.43 on bare tables",
                    t,
                    Baseline::Dhis243BareNew,
                    G10_DHIS2,
                ),
                (
                    "pg:reimport:json:dhis2bare",
                    "PostgreSQL: JSON re-import, every value changed, vs DHIS2 2.43 on bare tables",
                    t2,
                    Baseline::Dhis243BareChanged,
                    G10_DHIS2,
                ),
            ] {
                report.record(
                    id,
                    measurement(id, label.into(), n, Some(base), Some(goal)),
                    secs.as_secs_f64(),
                    None,
                );
            }
        }
        if raw.checkpoint_refused.get() {
            report.environment.push((
                "Checkpoints".into(),
                "refused by the server (needs superuser or pg_checkpoint): phases may \
                 pay for each other's dirty buffers"
                    .into(),
            ));
        }
        for p in &paths {
            let _ = std::fs::remove_file(p);
        }
        drop(raw);
        drop(app);
        Ok(())
    })();
    let dropped = admin.batch(&format!("drop schema if exists {schema} cascade"));
    result.and(dropped)
}

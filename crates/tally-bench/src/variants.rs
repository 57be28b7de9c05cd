//! Raw statement shapes the store could use for its writes, timed on the same rows in
//! the store's order (batches of 4,096 sorted by key), to tell the cost of the statement
//! shape from the cost of the code around it, and to size proposed changes before they
//! are made. One database, one pass per shape, each starting with empty audit tables:
//! inserting shapes start from an empty `datavalue`, updating ones change every value.
//! Run with `--phases`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension as _, Statement, TransactionBehavior, params};

use crate::baseline::{INSERT, Keys, STORE_PRAGMAS, UPSERT};
use crate::report::Baseline;
use crate::shape::{STORED_BY, value_of};

/// How a shape finds the existing row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// It does not.
    None,
    /// `SELECT` by full key per value (the store today).
    PerValue,
    /// One prefix scan per (period, org unit) in the batch, merged with the sorted batch.
    PerForm,
    /// One `limit 1` probe per (period, org unit): an empty form needs no read at all,
    /// otherwise `SELECT` per value.
    FormProbe,
}

/// How a shape writes each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// `INSERT` (the key must be new).
    Insert,
    /// `UPDATE` by key (the key must exist).
    Update,
    /// `INSERT … ON CONFLICT DO UPDATE`.
    Upsert,
}

/// Where a shape writes the audit row of a changed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audit {
    /// No audit row.
    None,
    /// The store's audit layout before migration V003 (rowid table, index led by the
    /// data element), one `INSERT` per value.
    Store,
    /// A copy of it with the index in the clustering order of `datavalue`.
    KeyOrderedIndex,
    /// A `WITHOUT ROWID` table clustered on the `datavalue` key plus the version (the
    /// store's layout since V003).
    Clustered,
    /// The pre-V003 layout, rows written 64 per `INSERT` statement.
    MultiRow,
    /// The pre-V003 layout, rows written by an `AFTER UPDATE` trigger on `datavalue`.
    Trigger,
}

struct Shape {
    id: &'static str,
    label: &'static str,
    baseline: Baseline,
    read: Read,
    write: Write,
    audit: Audit,
}

const SHAPES: &[Shape] = &[
    Shape {
        id: "raw-select-insert",
        label: "raw: `SELECT` + `INSERT` per value, empty table (the store's statements)",
        baseline: Baseline::Insert,
        read: Read::PerValue,
        write: Write::Insert,
        audit: Audit::None,
    },
    Shape {
        id: "raw-formprobe-insert",
        label: "raw: one existence probe per form (empty: no `SELECT`) + `INSERT` per value, empty table",
        baseline: Baseline::Insert,
        read: Read::FormProbe,
        write: Write::Insert,
        audit: Audit::None,
    },
    Shape {
        id: "raw-select-update-audit",
        label: "raw: `SELECT` + `UPDATE` + audit `INSERT` per value, rowid audit table (the store before V003)",
        baseline: Baseline::Upsert,
        read: Read::PerValue,
        write: Write::Update,
        audit: Audit::Store,
    },
    Shape {
        id: "raw-select-update",
        label: "raw: `SELECT` + `UPDATE` per value, no audit",
        baseline: Baseline::Upsert,
        read: Read::PerValue,
        write: Write::Update,
        audit: Audit::None,
    },
    Shape {
        id: "raw-upsert-audit",
        label: "raw: upsert + audit `INSERT` per value, no read",
        baseline: Baseline::Upsert,
        read: Read::None,
        write: Write::Upsert,
        audit: Audit::Store,
    },
    Shape {
        id: "raw-select-update-audit-keyindex",
        label: "raw: store's statements, audit index in `datavalue` key order",
        baseline: Baseline::Upsert,
        read: Read::PerValue,
        write: Write::Update,
        audit: Audit::KeyOrderedIndex,
    },
    Shape {
        id: "raw-select-update-audit-clustered",
        label: "raw: `SELECT` + `UPDATE` + audit `INSERT` per value, audit `WITHOUT ROWID` on the key (the store since V003)",
        baseline: Baseline::Upsert,
        read: Read::PerValue,
        write: Write::Update,
        audit: Audit::Clustered,
    },
    Shape {
        id: "raw-select-update-audit-multirow",
        label: "raw: store's statements, audit rows 64 per `INSERT`",
        baseline: Baseline::Upsert,
        read: Read::PerValue,
        write: Write::Update,
        audit: Audit::MultiRow,
    },
    Shape {
        id: "raw-select-update-audit-trigger",
        label: "raw: store's statements, audit rows written by an `AFTER UPDATE` trigger",
        baseline: Baseline::Upsert,
        read: Read::PerValue,
        write: Write::Update,
        audit: Audit::Trigger,
    },
    Shape {
        id: "raw-formread-update-audit-multirow",
        label: "raw: one prefix read per form + `UPDATE` per value + audit rows 64 per `INSERT`",
        baseline: Baseline::Upsert,
        read: Read::PerForm,
        write: Write::Update,
        audit: Audit::MultiRow,
    },
];

const SELECT_ONE: &str = "select value from datavalue
    where periodid = ?1 and sourceid = ?2 and dataelementid = ?3
      and categoryoptioncomboid = ?4 and attributeoptioncomboid = ?5";
const PROBE_FORM: &str = "select 1 from datavalue where periodid = ?1 and sourceid = ?2 limit 1";
const SELECT_FORM: &str = "select dataelementid, categoryoptioncomboid,
    attributeoptioncomboid, value from datavalue where periodid = ?1 and sourceid = ?2
    order by periodid, sourceid, dataelementid, categoryoptioncomboid, attributeoptioncomboid";
const UPDATE_ONE: &str = "update datavalue set value = ?1, storedby = ?2, lastupdated = ?3,
    comment = null, followup = 0, deleted = 0, version = ?4
    where periodid = ?5 and sourceid = ?6 and dataelementid = ?7
      and categoryoptioncomboid = ?8 and attributeoptioncomboid = ?9";
const AUDIT_TABLES: &str = "create table audit_rowid (
        datavalueauditid integer primary key, periodid integer not null,
        sourceid integer not null, dataelementid integer not null,
        categoryoptioncomboid integer not null, attributeoptioncomboid integer not null,
        value text, created integer not null, modifiedby text, audittype text not null);
    create index audit_rowid_key on audit_rowid
        (dataelementid, periodid, sourceid, categoryoptioncomboid, attributeoptioncomboid);
    create table audit_keyindex (
        datavalueauditid integer primary key, periodid integer not null,
        sourceid integer not null, dataelementid integer not null,
        categoryoptioncomboid integer not null, attributeoptioncomboid integer not null,
        value text, created integer not null, modifiedby text, audittype text not null);
    create index audit_keyindex_key on audit_keyindex
        (periodid, sourceid, dataelementid, categoryoptioncomboid, attributeoptioncomboid);
    create table audit_clustered (
        periodid integer not null, sourceid integer not null,
        dataelementid integer not null, categoryoptioncomboid integer not null,
        attributeoptioncomboid integer not null, version integer not null,
        value text, created integer not null, modifiedby text, audittype text not null,
        primary key (periodid, sourceid, dataelementid, categoryoptioncomboid,
          attributeoptioncomboid, version)) without rowid;";
const TRIGGER: &str = "create trigger bench_audit after update of value on datavalue
    when old.value is not new.value
    begin
      insert into audit_rowid (periodid, sourceid, dataelementid, categoryoptioncomboid,
        attributeoptioncomboid, value, created, modifiedby, audittype)
      values (old.periodid, old.sourceid, old.dataelementid, old.categoryoptioncomboid,
        old.attributeoptioncomboid, old.value, new.lastupdated, new.storedby,
        case when new.deleted then 'DELETE' else 'UPDATE' end);
    end";
const AUDIT_COLUMNS: &str = "(periodid, sourceid, dataelementid, categoryoptioncomboid,
    attributeoptioncomboid, value, created, modifiedby, audittype)";
/// Audit rows per multi-row `INSERT`.
const AUDIT_ROWS: usize = 64;

fn audit_values(rows: usize) -> String {
    let one = "(?, ?, ?, ?, ?, ?, ?, ?, 'UPDATE')";
    let all: Vec<&str> = std::iter::repeat_n(one, rows).collect();
    format!(
        "insert into audit_rowid {AUDIT_COLUMNS} values {}",
        all.join(", ")
    )
}

/// One shape's time.
#[derive(Debug, Clone)]
pub struct VariantTime {
    /// Stable identifier.
    pub id: &'static str,
    /// Row label of the report.
    pub label: &'static str,
    /// The baseline the ratio is taken against.
    pub baseline: Baseline,
    /// Time of the pass over all rows, commit included.
    pub elapsed: Duration,
}

/// An audit row waiting for a multi-row insert.
struct Pending {
    key: [i64; 5],
    value: Option<String>,
}

struct Statements<'c> {
    select: Statement<'c>,
    form: Statement<'c>,
    probe: Statement<'c>,
    write: Statement<'c>,
    audit_one: Option<Statement<'c>>,
    audit_many: Statement<'c>,
    audit_single: Statement<'c>,
}

fn flush_audits(
    stmts: &mut Statements<'_>,
    pending: &mut Vec<Pending>,
    now_ms: i64,
    all: bool,
) -> anyhow::Result<()> {
    while pending.len() >= AUDIT_ROWS {
        let rest = pending.split_off(AUDIT_ROWS);
        let mut args: Vec<&dyn ToSql> = Vec::with_capacity(AUDIT_ROWS * 8);
        for p in pending.iter() {
            for k in &p.key {
                args.push(k);
            }
            args.push(&p.value);
            args.push(&now_ms);
            args.push(&STORED_BY);
        }
        stmts.audit_many.execute(args.as_slice())?;
        *pending = rest;
    }
    if all {
        for p in pending.drain(..) {
            let k = p.key;
            stmts.audit_single.execute(params![
                k[0], k[1], k[2], k[3], k[4], p.value, now_ms, STORED_BY
            ])?;
        }
    }
    Ok(())
}

/// Runs every shape on a new database file at `path`.
///
/// # Errors
/// SQLite failures, or a value found (or not found) where it should not be.
pub fn run(path: &Path, keys: &Keys) -> anyhow::Result<Vec<VariantTime>> {
    drop(tally_store_sqlite::SqliteStore::open(path).context("creating the variants database")?);
    let mut conn = Connection::open(path)?;
    conn.execute_batch(STORE_PRAGMAS)?;
    conn.execute_batch(AUDIT_TABLES)?;
    let mut order: Vec<usize> = (0..keys.rows.len()).collect();
    for chunk in order.chunks_mut(4096) {
        chunk.sort_by_key(|&i| keys.rows[i]);
    }
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let mut version = 0i64;
    let mut times = Vec::new();
    for (pass, shape) in (0u32..).zip(SHAPES) {
        // Every shape starts with empty audit tables (truncated, untimed), so that no
        // shape pays for the audit rows of the ones before it.
        conn.execute_batch(
            "delete from audit_rowid; delete from audit_keyindex; delete from audit_clustered;",
        )?;
        if shape.write == Write::Insert {
            conn.execute_batch("delete from datavalue")?;
        }
        if shape.audit == Audit::Trigger {
            conn.execute_batch(TRIGGER)?;
        }
        let start = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmts = Statements {
                select: tx.prepare(SELECT_ONE)?,
                form: tx.prepare(SELECT_FORM)?,
                probe: tx.prepare(PROBE_FORM)?,
                write: tx.prepare(match shape.write {
                    Write::Insert => INSERT,
                    Write::Update => UPDATE_ONE,
                    Write::Upsert => UPSERT,
                })?,
                audit_one: match shape.audit {
                    Audit::Store => Some(tx.prepare(&format!(
                        "insert into audit_rowid {AUDIT_COLUMNS}
                         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'UPDATE')"
                    ))?),
                    Audit::KeyOrderedIndex => Some(tx.prepare(&format!(
                        "insert into audit_keyindex {AUDIT_COLUMNS}
                         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'UPDATE')"
                    ))?),
                    Audit::Clustered => Some(tx.prepare(
                        "insert into audit_clustered (periodid, sourceid, dataelementid,
                         categoryoptioncomboid, attributeoptioncomboid, value, created,
                         modifiedby, audittype, version)
                         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'UPDATE', ?9)",
                    )?),
                    Audit::None | Audit::MultiRow | Audit::Trigger => None,
                },
                audit_many: tx.prepare(&audit_values(AUDIT_ROWS))?,
                audit_single: tx.prepare(&audit_values(1))?,
            };
            let mut pending: Vec<Pending> = Vec::with_capacity(AUDIT_ROWS * 2);
            let mut form_rows: Vec<([i64; 3], Option<String>)> = Vec::new();
            let mut form_of: Option<(i64, i64)> = None;
            let mut form_empty = false;
            for &i in &order {
                let k = &keys.rows[i];
                let value = value_of(i, pass).to_string();
                version += 1;
                let found: Option<Option<String>> = match shape.read {
                    Read::None => None,
                    Read::PerValue => stmts
                        .select
                        .query_row([k[0], k[1], k[2], k[3], k[4]], |r| r.get(0))
                        .optional()?,
                    Read::FormProbe => {
                        if form_of != Some((k[0], k[1])) {
                            form_of = Some((k[0], k[1]));
                            form_empty = !stmts.probe.exists([k[0], k[1]])?;
                        }
                        if form_empty {
                            None
                        } else {
                            stmts
                                .select
                                .query_row([k[0], k[1], k[2], k[3], k[4]], |r| r.get(0))
                                .optional()?
                        }
                    }
                    Read::PerForm => {
                        if form_of != Some((k[0], k[1])) {
                            form_of = Some((k[0], k[1]));
                            form_rows.clear();
                            let mut rows = stmts.form.query([k[0], k[1]])?;
                            while let Some(r) = rows.next()? {
                                form_rows.push(([r.get(0)?, r.get(1)?, r.get(2)?], r.get(3)?));
                            }
                        }
                        let rest = [k[2], k[3], k[4]];
                        form_rows
                            .binary_search_by(|(key, _)| key.cmp(&rest))
                            .ok()
                            .map(|at| form_rows[at].1.clone())
                    }
                };
                match (shape.read, shape.write, &found) {
                    (Read::None, _, _) | (_, Write::Upsert, _) => {}
                    (_, Write::Insert, None) | (_, Write::Update, Some(_)) => {}
                    (_, Write::Insert, Some(_)) => bail!("row {i} exists already"),
                    (_, Write::Update, None) => bail!("row {i} is missing"),
                }
                match shape.write {
                    Write::Insert | Write::Upsert => stmts.write.execute(params![
                        k[0], k[1], k[2], k[3], k[4], value, STORED_BY, now_ms, now_ms, false,
                        false, version
                    ])?,
                    Write::Update => stmts.write.execute(params![
                        value, STORED_BY, now_ms, version, k[0], k[1], k[2], k[3], k[4]
                    ])?,
                };
                // Without a read the previous value is unknown; the audit row is as large.
                let previous = found.flatten().unwrap_or_else(|| value.clone());
                match shape.audit {
                    Audit::None | Audit::Trigger => {}
                    Audit::Store | Audit::KeyOrderedIndex => {
                        if let Some(a) = &mut stmts.audit_one {
                            a.execute(params![
                                k[0], k[1], k[2], k[3], k[4], previous, now_ms, STORED_BY
                            ])?;
                        }
                    }
                    Audit::Clustered => {
                        if let Some(a) = &mut stmts.audit_one {
                            a.execute(params![
                                k[0], k[1], k[2], k[3], k[4], previous, now_ms, STORED_BY, version
                            ])?;
                        }
                    }
                    Audit::MultiRow => {
                        pending.push(Pending {
                            key: *k,
                            value: Some(previous),
                        });
                        if pending.len() >= AUDIT_ROWS {
                            flush_audits(&mut stmts, &mut pending, now_ms, false)?;
                        }
                    }
                }
            }
            flush_audits(&mut stmts, &mut pending, now_ms, true)?;
        }
        tx.commit()?;
        let elapsed = start.elapsed();
        if shape.audit == Audit::Trigger {
            conn.execute_batch("drop trigger bench_audit")?;
        }
        times.push(VariantTime {
            id: shape.id,
            label: shape.label,
            baseline: shape.baseline,
            elapsed,
        });
    }
    Ok(times)
}

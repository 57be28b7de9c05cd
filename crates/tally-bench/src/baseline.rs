//! The raw SQLite baselines (`R_ins`, `R_ups`, `R_sel` of the performance anchors §6):
//! the same rows, already resolved to integer keys, written and read with plain prepared
//! statements on a file created by `SqliteStore::open` (so schema and pragmas are ours).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use rusqlite::{Connection, TransactionBehavior, params};
use serde::Serialize;
use tally_domain::metadata::{CategoryOptionComboId, DataElementId, OrgUnitId, Snapshot};
use tally_domain::period::Period;
use tally_domain::uid::Uid;

use crate::shape::{DEFAULT_COC, STORED_BY, Shape, Uids, value_of};

/// The pragmas `SqliteStore` sets on its connections (kept in step by hand; the schema
/// itself comes from `SqliteStore::open`).
pub const STORE_PRAGMAS: &str = "pragma journal_mode = wal;
     pragma synchronous = full;
     pragma foreign_keys = off;
     pragma cache_size = -65536;
     pragma temp_store = memory;";

pub(crate) const INSERT: &str = "insert into datavalue (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    followup, deleted, version)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

pub(crate) const UPSERT: &str = "insert into datavalue (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    followup, deleted, version)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
    on conflict (periodid, sourceid, dataelementid, categoryoptioncomboid,
      attributeoptioncomboid)
    do update set value = excluded.value, storedby = excluded.storedby,
      lastupdated = excluded.lastupdated, followup = excluded.followup,
      deleted = excluded.deleted, version = excluded.version";

const SELECT: &str = "select periodid, sourceid, dataelementid, categoryoptioncomboid,
    attributeoptioncomboid, value, storedby, created, lastupdated, comment, followup, deleted,
    version from datavalue";

/// The rows as the store keys them, in arrival order, plus the reverse maps an export
/// needs (internal id → UID, period key → ISO).
pub struct Keys {
    /// `[period, org unit, data element, COC, AOC]` per row.
    pub rows: Vec<[i64; 5]>,
    /// UID by internal id (ids are small and dense).
    pub uid_by_id: Vec<Option<String>>,
    /// `(period key, ISO)`.
    pub periods: Vec<(i64, String)>,
}

fn id_of<I: tally_domain::metadata::TypedId>(snap: &Snapshot, uid: &str) -> anyhow::Result<I> {
    let parsed = Uid::parse(uid).with_context(|| format!("uid {uid}"))?;
    snap.id_of::<I>(parsed)
        .with_context(|| format!("{uid} is not in the imported metadata"))
}

impl Keys {
    /// Resolves every row through the metadata snapshot, as the import does.
    ///
    /// # Errors
    /// An object missing from the snapshot, or an unparsable period.
    pub fn resolve(snap: &Snapshot, shape: &Shape, uids: &Uids) -> anyhow::Result<Self> {
        let mut uid_by_id: Vec<Option<String>> = Vec::new();
        let mut remember = |id: u32, uid: &str| {
            let i = id as usize;
            if uid_by_id.len() <= i {
                uid_by_id.resize(i + 1, None);
            }
            uid_by_id[i] = Some(uid.to_owned());
            i64::from(id)
        };
        let mut ids = |uids: &[String], f: &dyn Fn(&str) -> anyhow::Result<u32>| {
            uids.iter()
                .map(|u| f(u).map(|id| remember(id, u)))
                .collect::<anyhow::Result<Vec<i64>>>()
        };
        let des = ids(&uids.data_elements, &|u| {
            id_of::<DataElementId>(snap, u).map(|i| i.0)
        })?;
        let ous = ids(&uids.org_units, &|u| {
            id_of::<OrgUnitId>(snap, u).map(|i| i.0)
        })?;
        let cocs = ids(&uids.cocs, &|u| {
            id_of::<CategoryOptionComboId>(snap, u).map(|i| i.0)
        })?;
        let aoc = ids(&[DEFAULT_COC.to_owned()], &|u| {
            id_of::<CategoryOptionComboId>(snap, u).map(|i| i.0)
        })?[0];
        let periods = shape
            .periods
            .iter()
            .map(|iso| {
                Period::parse(iso)
                    .map(|p| (tally_core::import::period_key(p), iso.clone()))
                    .with_context(|| format!("period {iso}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let rows = (0..shape.values)
            .map(|i| {
                let r = shape.row(i);
                [
                    periods[r.period].0,
                    ous[r.org_unit],
                    des[r.data_element],
                    cocs[r.coc],
                    aoc,
                ]
            })
            .collect();
        Ok(Self {
            rows,
            uid_by_id,
            periods,
        })
    }

    fn uid(&self, id: i64) -> &str {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.uid_by_id.get(i))
            .and_then(Option::as_deref)
            .unwrap_or("")
    }

    fn iso(&self, key: i64) -> &str {
        self.periods
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, iso)| iso.as_str())
    }
}

/// Times of one baseline run.
#[derive(Debug, Clone, Copy)]
pub struct BaselineTimes {
    /// `R_ins`.
    pub insert: Duration,
    /// `R_ups`.
    pub upsert: Duration,
    /// `R_sel`.
    pub select: Duration,
    /// Bytes of JSON the select produced.
    pub select_bytes: u64,
    /// Peak RSS during each phase (KiB), when the kernel lets us reset the peak.
    pub rss_kib: [Option<u64>; 3],
}

/// Counts what is written and throws it away.
#[derive(Debug, Default)]
pub struct CountingSink {
    /// Bytes written.
    pub bytes: u64,
    /// `{` bytes written (one per exported value plus one for the document).
    pub braces: u64,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        self.braces += buf.iter().filter(|&&b| b == b'{').count() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One exported value, DHIS2-shaped, with the timestamps left as stored integers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRow<'a> {
    data_element: &'a str,
    period: &'a str,
    org_unit: &'a str,
    category_option_combo: &'a str,
    attribute_option_combo: &'a str,
    value: Option<&'a str>,
    stored_by: Option<&'a str>,
    created: i64,
    last_updated: i64,
    comment: Option<&'a str>,
    followup: bool,
    deleted: bool,
}

fn measured<T>(
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, Duration, Option<u64>)> {
    let reset = crate::rss::reset_peak();
    let start = Instant::now();
    let out = f()?;
    let elapsed = start.elapsed();
    let rss = if reset { crate::rss::peak_kib() } else { None };
    Ok((out, elapsed, rss))
}

/// Runs `R_ins`, `R_ups` and `R_sel` on a new database file at `path`.
///
/// # Errors
/// SQLite failures, or a row count that is not `keys.rows.len()`.
pub fn run(path: &Path, keys: &Keys) -> anyhow::Result<BaselineTimes> {
    drop(tally_store_sqlite::SqliteStore::open(path).context("creating the baseline database")?);
    let mut conn = Connection::open(path)?;
    conn.execute_batch(STORE_PRAGMAS)?;
    let n = keys.rows.len();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let mut version = 0i64;
    let mut text = String::with_capacity(16);
    let mut write_pass = |conn: &mut Connection, sql: &str, pass: u32| -> anyhow::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare(sql)?;
            for (i, k) in keys.rows.iter().enumerate() {
                use std::fmt::Write as _;
                text.clear();
                let _ = write!(text, "{}", value_of(i, pass));
                version += 1;
                stmt.execute(params![
                    k[0], k[1], k[2], k[3], k[4], text, STORED_BY, now_ms, now_ms, false, false,
                    version
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    };
    let ((), insert, rss_ins) = measured(|| write_pass(&mut conn, INSERT, 0))?;
    let ((), upsert, rss_ups) = measured(|| write_pass(&mut conn, UPSERT, 1))?;
    let ((rows, bytes), select, rss_sel) = measured(|| select_json(&conn, keys))?;
    if rows != n as u64 {
        bail!("baseline select returned {rows} rows, expected {n}");
    }
    let stored: i64 = conn.query_row("select count(*) from datavalue", [], |r| r.get(0))?;
    ensure!(
        stored == n as i64,
        "baseline table holds {stored} rows, expected {n}"
    );
    Ok(BaselineTimes {
        insert,
        upsert,
        select,
        select_bytes: bytes,
        rss_kib: [rss_ins, rss_ups, rss_sel],
    })
}

/// `R_sel`: every row, serialised with serde_json into a counting sink.
fn select_json(conn: &Connection, keys: &Keys) -> anyhow::Result<(u64, u64)> {
    let mut sink = CountingSink::default();
    let mut rows = 0u64;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut sink);
        out.write_all(b"{\"dataValues\":[")?;
        let mut stmt = conn.prepare(SELECT)?;
        let mut cursor = stmt.query([])?;
        while let Some(r) = cursor.next()? {
            if rows > 0 {
                out.write_all(b",")?;
            }
            let text = |i: usize| -> rusqlite::Result<Option<&str>> {
                r.get_ref(i)?.as_str_or_null().map_err(Into::into)
            };
            let row = JsonRow {
                data_element: keys.uid(r.get(2)?),
                period: keys.iso(r.get(0)?),
                org_unit: keys.uid(r.get(1)?),
                category_option_combo: keys.uid(r.get(3)?),
                attribute_option_combo: keys.uid(r.get(4)?),
                value: text(5)?,
                stored_by: text(6)?,
                created: r.get(7)?,
                last_updated: r.get(8)?,
                comment: text(9)?,
                followup: r.get(10)?,
                deleted: r.get(11)?,
            };
            serde_json::to_writer(&mut out, &row)?;
            rows += 1;
        }
        out.write_all(b"]}")?;
        out.flush()?;
    }
    Ok((rows, sink.bytes))
}

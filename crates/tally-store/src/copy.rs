//! Copying a whole database between backends (`tally migrate`): every table of the
//! logical schema (the same in every backend) as rows of typed cells, read in key
//! order by key ranges and written into an empty target in one transaction, keeping
//! internal ids, versions, timestamps and deleted flags as they are.

use crate::{Result, StoreError};

/// How a column is stored (each backend maps these to its own types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
    Bool,
    /// A calendar date, `YYYY-MM-DD` in a [`Cell::Text`].
    Date,
}

/// One value of a copied row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

/// A table of the logical schema: its columns, the first `key` of which are its
/// primary key (the copy reads in that order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyTable {
    pub name: &'static str,
    pub columns: &'static [(&'static str, ColumnType)],
    pub key: usize,
}

impl CopyTable {
    /// The column names, comma-separated.
    #[must_use]
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The key column names, comma-separated.
    #[must_use]
    pub fn key_list(&self) -> String {
        self.columns[..self.key]
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

use ColumnType::{Bool, Date, Int, Text};

/// Every table a copy carries, parents first. Sessions are not copied (they are
/// ephemeral), nor are the bookkeeping tables of one backend.
pub const TABLES: &[CopyTable] = &[
    CopyTable {
        name: "metadata_object",
        columns: &[("id", Int), ("kind", Text), ("uid", Text), ("body", Text)],
        key: 1,
    },
    CopyTable {
        name: "period",
        columns: &[
            ("periodid", Int),
            ("periodtype", Text),
            ("startdate", Date),
            ("enddate", Date),
            ("iso", Text),
        ],
        key: 1,
    },
    CopyTable {
        name: "datavalue",
        columns: &[
            ("periodid", Int),
            ("sourceid", Int),
            ("dataelementid", Int),
            ("categoryoptioncomboid", Int),
            ("attributeoptioncomboid", Int),
            ("value", Text),
            ("storedby", Text),
            ("created", Int),
            ("lastupdated", Int),
            ("comment", Text),
            ("followup", Bool),
            ("deleted", Bool),
            ("version", Int),
        ],
        key: 5,
    },
    CopyTable {
        name: "datavalueaudit",
        columns: &[
            ("periodid", Int),
            ("sourceid", Int),
            ("dataelementid", Int),
            ("categoryoptioncomboid", Int),
            ("attributeoptioncomboid", Int),
            ("version", Int),
            ("value", Text),
            ("created", Int),
            ("modifiedby", Text),
            ("audittype", Text),
        ],
        key: 6,
    },
    CopyTable {
        name: "completedatasetregistration",
        columns: &[
            ("datasetid", Int),
            ("periodid", Int),
            ("sourceid", Int),
            ("attributeoptioncomboid", Int),
            ("date", Int),
            ("storedby", Text),
            ("created", Int),
            ("lastupdated", Int),
            ("lastupdatedby", Text),
            ("completed", Bool),
        ],
        key: 4,
    },
    CopyTable {
        name: "job",
        columns: &[
            ("id", Text),
            ("jobtype", Text),
            ("status", Text),
            ("created", Int),
            ("updated", Int),
            ("username", Text),
            ("params", Text),
            ("bodypath", Text),
            ("notifications", Text),
            ("summary", Text),
        ],
        key: 1,
    },
    CopyTable {
        name: "lockexception",
        columns: &[
            ("datasetid", Int),
            ("periodid", Int),
            ("sourceid", Int),
            ("created", Int),
            ("createdby", Text),
        ],
        key: 3,
    },
    CopyTable {
        name: "minmaxdataelement",
        columns: &[
            ("sourceid", Int),
            ("dataelementid", Int),
            ("categoryoptioncomboid", Int),
            ("minimumvalue", Int),
            ("maximumvalue", Int),
            ("generated", Bool),
        ],
        key: 3,
    },
    CopyTable {
        name: "fileresource",
        columns: &[
            ("uid", Text),
            ("name", Text),
            ("contenttype", Text),
            ("contentlength", Int),
            ("contentmd5", Text),
            ("storagekey", Text),
            ("domain", Text),
            ("assigned", Bool),
            ("created", Int),
            ("lastupdated", Int),
            ("createdby", Text),
        ],
        key: 1,
    },
];

/// A store that can be copied from and into.
pub trait CopyStore {
    /// Rows of `table` in key order: the first `limit` after the key `after` (the
    /// first rows without it).
    ///
    /// # Errors
    /// Backend failures.
    fn read_rows(
        &self,
        table: &CopyTable,
        after: Option<&[Cell]>,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>>;

    /// Number of rows in `table`.
    ///
    /// # Errors
    /// Backend failures.
    fn count_rows(&self, table: &CopyTable) -> Result<u64>;

    /// Starts writing rows, in one transaction (nothing is written without
    /// [`CopyIn::commit`]).
    ///
    /// # Errors
    /// Backend failures.
    fn begin_copy_in(&self) -> Result<Box<dyn CopyIn + '_>>;
}

/// An open copy into a store.
pub trait CopyIn {
    /// Inserts rows (as [`CopyStore::read_rows`] gives them) into `table`.
    ///
    /// # Errors
    /// Backend failures, a key already present.
    fn insert_rows(&mut self, table: &CopyTable, rows: &[Vec<Cell>]) -> Result<()>;

    /// Makes the copy durable and moves the target's counters (value versions,
    /// metadata ids) past what it holds now.
    ///
    /// # Errors
    /// Backend failures; nothing is written then.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Rows a copy reads and writes at a time.
pub const COPY_BATCH: usize = 5000;

/// Copies every table of `from` into `to`, which must hold no rows at all (else
/// [`StoreError::Constraint`] and nothing is written). Calls `progress` after each
/// table with its name and row count; returns the counts in [`TABLES`] order.
///
/// # Errors
/// A non-empty target, backend failures (nothing is written then).
pub fn copy_database(
    from: &dyn CopyStore,
    to: &dyn CopyStore,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Vec<(&'static str, u64)>> {
    for table in TABLES {
        let n = to.count_rows(table)?;
        if n > 0 {
            return Err(StoreError::Constraint(format!(
                "the target database is not empty: table {} holds {n} rows",
                table.name
            )));
        }
    }
    let mut tx = to.begin_copy_in()?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut n: u64 = 0;
        let mut after: Option<Vec<Cell>> = None;
        loop {
            let rows = from.read_rows(table, after.as_deref(), COPY_BATCH)?;
            if rows.is_empty() {
                break;
            }
            tx.insert_rows(table, &rows)?;
            n += rows.len() as u64;
            let last = rows.last().map(|r| r[..table.key].to_vec());
            if rows.len() < COPY_BATCH {
                break;
            }
            after = last;
        }
        progress(table.name, n);
        counts.push((table.name, n));
    }
    tx.commit()?;
    Ok(counts)
}

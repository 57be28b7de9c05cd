//! [`tally_store::copy::CopyStore`]: generic row reads (key ranges) and inserts (one
//! `unnest` of column arrays per batch) over the tables of the logical schema.

use tally_store::copy::{Cell, ColumnType, CopyIn, CopyStore, CopyTable};
use tally_store::{Result, StoreError};
use tokio_postgres::Row;

use crate::pool::{Param, Pooled};
use crate::{PgStore, col, sql};

fn pg_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Int => "bigint",
        ColumnType::Bool => "boolean",
        ColumnType::Text | ColumnType::Date => "text",
    }
}

fn read_cell(r: &Row, i: usize, ty: ColumnType) -> Result<Cell> {
    Ok(match ty {
        ColumnType::Int => col::<Option<i64>>(r, i)?.map_or(Cell::Null, Cell::Int),
        ColumnType::Bool => col::<Option<bool>>(r, i)?.map_or(Cell::Null, Cell::Bool),
        ColumnType::Text | ColumnType::Date => {
            col::<Option<String>>(r, i)?.map_or(Cell::Null, Cell::Text)
        }
    })
}

fn key_param(c: &Cell) -> Result<Param> {
    Ok(match c {
        Cell::Int(i) => Box::new(*i),
        Cell::Text(t) => Box::new(t.clone()),
        Cell::Bool(b) => Box::new(*b),
        Cell::Null => return Err(StoreError::Other("a key cell is NULL".into())),
    })
}

fn mismatch(table: &CopyTable, column: &str, c: &Cell) -> StoreError {
    StoreError::Other(format!(
        "{}.{column}: unexpected cell {c:?} for the column type",
        table.name
    ))
}

/// One array parameter per column, in column order.
fn column_arrays(table: &CopyTable, rows: &[Vec<Cell>]) -> Result<Vec<Param>> {
    let mut params: Vec<Param> = Vec::with_capacity(table.columns.len());
    for (i, (name, ty)) in table.columns.iter().enumerate() {
        let cells = rows.iter().map(|r| r.get(i).unwrap_or(&Cell::Null));
        match ty {
            ColumnType::Int => {
                let v = cells
                    .map(|c| match c {
                        Cell::Null => Ok(None),
                        Cell::Int(i) => Ok(Some(*i)),
                        other => Err(mismatch(table, name, other)),
                    })
                    .collect::<Result<Vec<Option<i64>>>>()?;
                params.push(Box::new(v));
            }
            ColumnType::Bool => {
                let v = cells
                    .map(|c| match c {
                        Cell::Null => Ok(None),
                        Cell::Bool(b) => Ok(Some(*b)),
                        other => Err(mismatch(table, name, other)),
                    })
                    .collect::<Result<Vec<Option<bool>>>>()?;
                params.push(Box::new(v));
            }
            ColumnType::Text | ColumnType::Date => {
                let v = cells
                    .map(|c| match c {
                        Cell::Null => Ok(None),
                        Cell::Text(t) => Ok(Some(t.clone())),
                        other => Err(mismatch(table, name, other)),
                    })
                    .collect::<Result<Vec<Option<String>>>>()?;
                params.push(Box::new(v));
            }
        }
    }
    Ok(params)
}

impl CopyStore for PgStore {
    fn read_rows(
        &self,
        table: &CopyTable,
        after: Option<&[Cell]>,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        let select: Vec<String> = table
            .columns
            .iter()
            .map(|(c, ty)| match ty {
                ColumnType::Date => format!("to_char({c}, 'YYYY-MM-DD')"),
                _ => (*c).to_owned(),
            })
            .collect();
        let keys = table.key_list();
        let mut query = format!("select {} from {}", select.join(", "), table.name);
        let mut params: Vec<Param> = Vec::new();
        if let Some(after) = after {
            let marks: Vec<String> = (1..=after.len()).map(|i| format!("${i}")).collect();
            query.push_str(&format!(" where ({keys}) > ({})", marks.join(", ")));
            for c in after {
                params.push(key_param(c)?);
            }
        }
        query.push_str(&format!(" order by {keys} limit {limit}"));
        let rows = self.pool.get()?.query_dynamic(query, params)?;
        rows.iter()
            .map(|r| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, ty))| read_cell(r, i, *ty))
                    .collect()
            })
            .collect()
    }

    fn count_rows(&self, table: &CopyTable) -> Result<u64> {
        let rows = self
            .pool
            .get()?
            .query_dynamic(format!("select count(*) from {}", table.name), Vec::new())?;
        let n: i64 = rows.first().map(|r| col(r, 0)).transpose()?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn begin_copy_in(&self) -> Result<Box<dyn CopyIn + '_>> {
        let mut conn = self.pool.get()?;
        conn.batch("begin")?;
        conn.in_transaction = true;
        Ok(Box::new(PgCopyIn { store: self, conn }))
    }
}

struct PgCopyIn<'a> {
    store: &'a PgStore,
    conn: Pooled<'a>,
}

impl CopyIn for PgCopyIn<'_> {
    fn insert_rows(&mut self, table: &CopyTable, rows: &[Vec<Cell>]) -> Result<()> {
        let n = table.columns.len();
        let arrays: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| format!("${}::{}[]", i + 1, pg_type(*ty)))
            .collect();
        let aliases: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let values: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| match ty {
                ColumnType::Date => format!("u.c{i}::date"),
                _ => format!("u.c{i}"),
            })
            .collect();
        let statement = format!(
            "insert into {} ({}) select {} from unnest({}) as u({})",
            table.name,
            table.column_list(),
            values.join(", "),
            arrays.join(", "),
            aliases.join(", ")
        );
        let params = column_arrays(table, rows)?;
        self.conn.execute_dynamic(statement, params)?;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        // Versions and metadata ids continue after the copied ones; the other processes
        // reload the copied metadata.
        for statement in [
            sql::COPY_VERSIONS,
            sql::COPY_METADATA_IDS,
            sql::COPY_BUMP_METADATA,
        ] {
            self.conn.batch(statement)?;
        }
        self.conn.batch("commit")?;
        self.conn.in_transaction = false;
        let rows = self.conn.query(sql::PERIOD_KEYS, Vec::new())?;
        let keys = rows
            .iter()
            .map(|r| col::<i64>(r, 0))
            .collect::<Result<Vec<_>>>()?;
        crate::lock(&self.store.periods).extend(keys);
        Ok(())
    }
}

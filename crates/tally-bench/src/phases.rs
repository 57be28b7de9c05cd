//! Pieces of the import timed separately, to see where an import's time goes:
//! parsing alone, a dry run (parse + validate + existence checks, no writes), and the
//! store alone (`ImportTx::write_batch` with already-resolved values).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use tally_core::App;
use tally_domain::import::{ImportStrategy, Outcome};
use tally_formats::{DataValueSink, RawDataValue, RawHeader, Stop};
use tally_store::{ValueKey, ValueWrite, WriteOptions};

use crate::baseline::Keys;
use crate::payload::PayloadFormat;
use crate::shape::{STORED_BY, value_of};

/// Batch size of the store-only phase (the import's own batch size).
const BATCH: usize = 4096;

struct Count(u64);

impl DataValueSink for Count {
    fn header(&mut self, _: RawHeader) -> Result<(), Stop> {
        Ok(())
    }

    fn value(&mut self, _: RawDataValue) -> Result<(), Stop> {
        self.0 += 1;
        Ok(())
    }
}

impl tally_formats::AdxSink for Count {
    fn group(&mut self, _: usize, _: Vec<(String, String)>) -> Result<(), Stop> {
        Ok(())
    }

    fn value(&mut self, _: Vec<(String, String)>, _: Option<String>) -> Result<(), Stop> {
        self.0 += 1;
        Ok(())
    }

    fn group_end(&mut self) -> Result<(), Stop> {
        Ok(())
    }
}

/// Parses the payload with the `tally-formats` reader into a sink that only counts, on
/// this thread.
///
/// # Errors
/// The payload does not parse, or holds a different number of values.
pub fn parse_only(format: PayloadFormat, path: &Path, expected: u64) -> anyhow::Result<Duration> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut sink = Count(0);
    let start = Instant::now();
    match format {
        PayloadFormat::Json => tally_formats::read_json(file, &mut sink),
        PayloadFormat::Csv => tally_formats::read_csv(file, true, &mut sink),
        PayloadFormat::Xml => {
            tally_formats::read_xml(BufReader::with_capacity(1 << 16, file), &mut sink)
        }
        PayloadFormat::Adx => {
            tally_formats::read_adx(BufReader::with_capacity(1 << 16, file), &mut sink)
        }
    }
    .with_context(|| format!("parsing {}", path.display()))?;
    let elapsed = start.elapsed();
    ensure!(
        sink.0 == expected,
        "the {} reader saw {} values, expected {expected}",
        format.name(),
        sink.0
    );
    Ok(elapsed)
}

/// Store-only import: writes the rows (value pass `pass`) through the store's import
/// transaction in sorted batches of 4,096, as the core does, without parsing or
/// validation. Fails unless every outcome is `expect`.
///
/// # Errors
/// Storage failures or unexpected outcomes.
pub fn store_only(
    app: &App,
    keys: &Keys,
    pass: u32,
    skip_audit: bool,
    expect: Outcome,
) -> anyhow::Result<Duration> {
    let options = WriteOptions {
        strategy: ImportStrategy::CreateAndUpdate,
        dry_run: false,
        skip_existing_check: false,
        skip_audit,
        now_ms: jiff::Timestamp::now().as_millisecond(),
    };
    let mut periods: Vec<tally_store::PeriodRow> = Vec::new();
    for (key, iso) in &keys.periods {
        let p = tally_domain::period::Period::parse(iso).context("period")?;
        let row = tally_core::import::period_row(p);
        ensure!(row.key == *key, "period key of {iso} changed");
        periods.push(row);
    }
    let start = Instant::now();
    let mut tx = app.store().begin_import(options)?;
    tx.ensure_periods(&periods)?;
    let mut writes: Vec<ValueWrite> = Vec::with_capacity(BATCH);
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(BATCH);
    let mut wrong = 0u64;
    for (b, chunk) in keys.rows.chunks(BATCH).enumerate() {
        writes.clear();
        outcomes.clear();
        writes.extend(chunk.iter().enumerate().map(|(j, k)| {
            let index = b * BATCH + j;
            ValueWrite {
                index,
                key: ValueKey {
                    period: k[0],
                    org_unit: k[1] as u32,
                    data_element: k[2] as u32,
                    category_option_combo: k[3] as u32,
                    attribute_option_combo: k[4] as u32,
                },
                value: Some(value_of(index, pass).to_string()),
                comment: None,
                stored_by: STORED_BY.to_owned(),
                followup: false,
                deleted: false,
                zero_insignificant: false,
            }
        }));
        writes.sort_by_key(|w| w.key);
        tx.write_batch(&writes, &mut outcomes)?;
        wrong += outcomes.iter().filter(|o| **o != expect).count() as u64;
    }
    tx.commit()?;
    let elapsed = start.elapsed();
    ensure!(
        wrong == 0,
        "store-only write: {wrong} outcomes other than {expect:?}"
    );
    Ok(elapsed)
}

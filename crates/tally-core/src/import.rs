//! The data value import pipeline (`POST /api/dataValueSets`, `tally import`).
//!
//! ```text
//! body ──► parser thread (tally-formats reader) ──► bounded channel of batches
//!                                                        │
//!   header rules (aborts, completion) ◄──────────────────┘
//!   per value: resolve ids (snapshot) → checks in DHIS2 order → ValueWrite
//!   per batch: sort by key → store ImportTx::write_batch → counts
//!   end: commit (or roll back on a parse error) → ImportSummary
//! ```
//!
//! Memory is bounded by the batch size and the channel depth, not by the body size.
//! One store transaction spans the whole import, so an import that fails part way changes
//! nothing, and its summary (ERROR, zero counts) is true.

pub mod options;
pub(crate) mod validate;

pub(crate) use validate::lookup;
pub use validate::{period_key, period_row};

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use tally_domain::import::{
    Conflicts, ImportCount, ImportStatus, ImportSummary, Outcome, import_summary_failed,
};
use tally_formats::{DataValueSink, FormatError, RawDataValue, RawHeader, Stop};
use tally_store::{PeriodRow, ValueWrite, WriteOptions};

pub use options::ImportOptions;

use crate::App;
use crate::users::User;
use validate::{HeaderOutcome, Validator};

/// Values per batch handed from the parser to the writer.
pub(crate) const BATCH: usize = 4096;
/// Batches in flight between the threads.
pub(crate) const DEPTH: usize = 4;
/// Bodies up to this size are decompressed in memory; larger ones spill to a temp file.
const SPOOL_IN_MEMORY: usize = 8 << 20;

/// The payload format of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
    Csv,
    /// ADX (`application/adx+xml`), converted to DXF2 values on the way in.
    Adx,
}

/// The request body: in memory, a file the HTTP layer spooled to disk, or any reader
/// (the CLI wraps files in a progress bar).
pub enum Body {
    Bytes(Vec<u8>),
    File(std::fs::File),
    Reader(Box<dyn Read + Send>),
}

/// The summary type of data value imports.
pub type Summary = ImportSummary<ImportOptions>;

enum Msg {
    Header(RawHeader),
    Values(Vec<RawDataValue>),
    Done(Result<(), FormatError>),
}

struct ChannelSink {
    tx: SyncSender<Msg>,
    batch: Vec<RawDataValue>,
}

impl DataValueSink for ChannelSink {
    fn header(&mut self, header: RawHeader) -> Result<(), Stop> {
        self.tx.send(Msg::Header(header)).map_err(|_| Stop)
    }

    fn value(&mut self, value: RawDataValue) -> Result<(), Stop> {
        self.batch.push(value);
        if self.batch.len() >= BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            self.tx.send(Msg::Values(full)).map_err(|_| Stop)?;
        }
        Ok(())
    }
}

pub(crate) fn reader(body: Body) -> Box<dyn Read + Send> {
    match body {
        Body::Bytes(b) => Box::new(std::io::Cursor::new(b)),
        Body::File(f) => Box::new(f),
        Body::Reader(r) => r,
    }
}

/// A seekable, decompressed view of the body (the JSON reader makes two passes).
fn seekable(body: Body) -> std::io::Result<Box<dyn ReadSeek>> {
    match body {
        Body::File(mut f) => {
            let mut prefix = [0u8; 4];
            let n = f.read(&mut prefix)?;
            f.seek(SeekFrom::Start(0))?;
            if tally_formats::detect_compression(&prefix[..n])
                == tally_formats::BodyCompression::None
            {
                return Ok(Box::new(f));
            }
            Ok(Box::new(tally_formats::decompress_seekable(
                f,
                SPOOL_IN_MEMORY,
            )?))
        }
        Body::Reader(r) => Ok(Box::new(tally_formats::decompress_seekable(
            r,
            SPOOL_IN_MEMORY,
        )?)),
        Body::Bytes(b) => {
            if tally_formats::detect_compression(&b) == tally_formats::BodyCompression::None {
                return Ok(Box::new(std::io::Cursor::new(b)));
            }
            Ok(Box::new(tally_formats::decompress_seekable(
                std::io::Cursor::new(b),
                SPOOL_IN_MEMORY,
            )?))
        }
    }
}

trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

fn parse(format: Format, body: Body, first_row_is_header: bool, tx: SyncSender<Msg>) {
    let mut sink = ChannelSink {
        tx: tx.clone(),
        batch: Vec::with_capacity(BATCH),
    };
    let result = match format {
        Format::Json => seekable(body)
            .map_err(FormatError::from)
            .and_then(|r| tally_formats::read_json(r, &mut sink)),
        Format::Xml => tally_formats::decompress(reader(body))
            .map_err(FormatError::from)
            .and_then(|r| tally_formats::read_xml(BufReader::new(r), &mut sink)),
        Format::Csv => tally_formats::decompress(reader(body))
            .map_err(FormatError::from)
            .and_then(|r| tally_formats::read_csv(r, first_row_is_header, &mut sink)),
        Format::Adx => Ok(()),
    };
    if result.is_ok() && !sink.batch.is_empty() {
        let rest = std::mem::take(&mut sink.batch);
        if tx.send(Msg::Values(rest)).is_err() {
            return;
        }
    }
    // The receiver may be gone (aborted import): nothing left to tell.
    let _ = tx.send(Msg::Done(result));
}

impl App {
    /// Imports a data value set and returns DHIS2's summary. Never fails: problems with
    /// the payload become conflicts or an ERROR summary; storage failures become an
    /// ERROR summary too (and roll everything back).
    #[must_use]
    pub fn import_data_values(
        &self,
        format: Format,
        options: ImportOptions,
        user: &User,
        body: Body,
    ) -> Summary {
        if format == Format::Adx {
            return self.import_adx(options, user, body);
        }
        let (tx, rx) = sync_channel(DEPTH);
        let first_row_is_header = options.first_row_is_header;
        let parser = std::thread::Builder::new()
            .name("tally-import-parse".into())
            .spawn(move || parse(format, body, first_row_is_header, tx));
        let parser = match parser {
            Ok(p) => p,
            Err(e) => return import_summary_failed(options, &e.to_string()),
        };
        // The parser stops on its next send once the receiver is gone.
        let summary = self.consume(options, user, rx);
        let _ = parser.join();
        summary
    }

    fn consume(&self, options: ImportOptions, user: &User, rx: Receiver<Msg>) -> Summary {
        let header = match rx.recv() {
            Ok(Msg::Header(h)) => h,
            Ok(Msg::Done(Err(e))) => return import_summary_failed(options, &e.to_string()),
            Ok(_) | Err(_) => {
                return import_summary_failed(options, "the import body could not be read");
            }
        };
        self.import_stream(options, user, header, &mut move || match rx.recv() {
            Ok(Msg::Values(v)) => Ok(Some(v)),
            Ok(Msg::Done(Ok(()))) | Err(_) => Ok(None),
            Ok(Msg::Done(Err(e))) => Err(e.to_string()),
            Ok(Msg::Header(_)) => Err("unexpected second header".into()),
        })
    }

    /// Runs the import for a header and a stream of value batches (`next` returns
    /// `Ok(None)` at the end, `Err(message)` when the body turned out to be broken).
    pub(crate) fn import_stream(
        &self,
        options: ImportOptions,
        user: &User,
        header: RawHeader,
        next: &mut (dyn FnMut() -> Result<Option<Vec<RawDataValue>>, String> + Send),
    ) -> Summary {
        let snapshot = self.snapshot();
        let now = self.clock.now();
        let mut validator = match Validator::new(&snapshot, user, &options, &header, now) {
            Ok(v) => v.with_lock_exceptions(self.lock_exception_set()),
            Err(message) => return import_summary_failed(options, &message),
        };
        let mut conflicts = Conflicts::default();
        if let HeaderOutcome::Abort(conflict) = validator.header_checks() {
            conflicts.add(conflict, None);
            return Summary {
                response_type: "ImportSummary",
                status: ImportStatus::Error,
                import_options: options,
                description: Summary::ABORTED.into(),
                import_count: ImportCount::default(),
                conflicts: conflicts.into_vec(),
                rejected_indexes: Vec::new(),
                data_set_complete: None,
            };
        }
        let write_options = WriteOptions {
            strategy: validator.strategy(),
            dry_run: validator.dry_run(),
            skip_existing_check: options.skip_existing_check,
            skip_audit: options.skip_audit && user.has("F_SKIP_DATA_IMPORT_AUDIT"),
            now_ms: now.as_millisecond(),
        };
        let mut tx = match self.store.begin_import(write_options) {
            Ok(tx) => tx,
            Err(e) => return import_summary_failed(options, &e.to_string()),
        };
        // Completion runs before any value, and is written even on a dry run (quirk).
        let data_set_complete = match validator.completion(&mut conflicts) {
            Ok(Some((registration, period))) => {
                if let Err(e) = tx
                    .ensure_periods(&[period])
                    .and_then(|()| tx.complete(&registration))
                {
                    return import_summary_failed(options, &e.to_string());
                }
                validator.complete_date_text()
            }
            Ok(None) => "false".to_owned(),
            Err(message) => return import_summary_failed(options, &message),
        };
        let completion_refusal = validator.completion_refusal();

        // Validation runs on its own thread, so the writer (the bottleneck: B-tree pages
        // and audit rows) only writes. Conflicts stay with the validator until the end.
        let mut count = ImportCount::default();
        let mut rejected = Vec::new();
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(BATCH);
        let validated = std::thread::scope(|scope| {
            let (vtx, vrx) = sync_channel::<Validated>(DEPTH);
            let validating = std::thread::Builder::new()
                .name("tally-import-validate".into())
                .spawn_scoped(scope, move || {
                    validate_batches(validator, conflicts, next, &vtx)
                });
            let validating = match validating {
                Ok(v) => v,
                Err(e) => return Err(e.to_string()),
            };
            let mut failure = None;
            for batch in &vrx {
                count.ignored += batch.rejected.len() as u64;
                rejected.extend_from_slice(&batch.rejected);
                outcomes.clear();
                let written = tx
                    .ensure_periods(&batch.periods)
                    .and_then(|()| tx.write_batch(&batch.writes, &mut outcomes));
                if let Err(e) = written {
                    failure = Some(e.to_string());
                    break;
                }
                for (w, outcome) in batch.writes.iter().zip(&outcomes) {
                    match outcome {
                        Outcome::Imported => count.imported += 1,
                        Outcome::Updated => count.updated += 1,
                        Outcome::Deleted => count.deleted += 1,
                        Outcome::Ignored => count.ignored += 1,
                        Outcome::Rejected => {
                            count.ignored += 1;
                            rejected.push(w.index);
                        }
                    }
                }
            }
            // Hanging up stops the validator at its next send.
            drop(vrx);
            let result = validating
                .join()
                .unwrap_or_else(|_| Err("the import validator stopped unexpectedly".into()));
            match failure {
                Some(message) => Err(message),
                None => result,
            }
        });
        let mut conflicts = match validated {
            Ok(c) => c,
            Err(message) => return import_summary_failed(options, &message),
        };
        if let Some(c) = completion_refusal {
            conflicts.add(c, None);
        }
        if let Err(e) = tx.commit() {
            return import_summary_failed(options, &e.to_string());
        }
        rejected.sort_unstable();
        let status = if conflicts.is_empty() {
            ImportStatus::Success
        } else {
            ImportStatus::Warning
        };
        Summary {
            response_type: "ImportSummary",
            status,
            import_options: options,
            description: Summary::COMPLETED.into(),
            import_count: count,
            conflicts: conflicts.into_vec(),
            rejected_indexes: rejected,
            data_set_complete: Some(data_set_complete),
        }
    }
}

/// One batch, validated and sorted, on its way to the writer.
struct Validated {
    writes: Vec<ValueWrite>,
    periods: Vec<PeriodRow>,
    /// Indexes of values rejected by validation.
    rejected: Vec<usize>,
}

/// The validation stage: pulls raw batches, checks each value in DHIS2's order and hands
/// sorted writes on. Returns the conflicts, or the message of a broken body.
fn validate_batches(
    mut validator: Validator<'_>,
    mut conflicts: Conflicts,
    next: &mut (dyn FnMut() -> Result<Option<Vec<RawDataValue>>, String> + Send),
    out: &SyncSender<Validated>,
) -> Result<Conflicts, String> {
    let mut index = 0usize;
    while let Some(batch) = next()? {
        let mut validated = Validated {
            writes: Vec::with_capacity(batch.len()),
            periods: Vec::new(),
            rejected: Vec::new(),
        };
        for raw in &batch {
            match validator.value(raw, index, &mut conflicts, &mut validated.periods) {
                Some(w) => validated.writes.push(w),
                None => validated.rejected.push(index),
            }
            index += 1;
        }
        // Key order makes the B-tree writes sequential; the sort is stable, so a key
        // repeated in the batch keeps payload order.
        validated.writes.sort_by_key(|w| w.key);
        if out.send(validated).is_err() {
            // The writer failed and reports why.
            break;
        }
    }
    Ok(conflicts)
}

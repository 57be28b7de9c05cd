//! Streaming reader for DHIS2 CSV data values (spec §1.4).
//!
//! DHIS2 parses CSV with javacsv's `CsvReader` in its default configuration, whose behaviour
//! differs from RFC 4180 readers such as the `csv` crate in ways that change values:
//! whitespace around *unquoted* fields is trimmed (quoted fields keep theirs), and empty lines
//! are skipped. This module implements that dialect directly; it is a small state machine over
//! a 64 KiB buffer and allocates nothing per row beyond the returned strings.
//!
//! Dialect: delimiter `,`, quote `"` with `""` as an escaped quote, records end at `\n`, `\r\n`
//! or `\r`, quoted fields may span lines. After a closing quote, characters up to the next
//! delimiter are ignored (as javacsv does). An unterminated quote ends at end of input. Text
//! must be UTF-8; a UTF-8 byte order mark at the start is skipped.

use std::io::{self, Read};

use crate::error::{Format, FormatError, Location, Stop};
use crate::model::{DataValueSink, RawDataValue, RawHeader};

const BUF_SIZE: usize = 64 * 1024;
/// Bound on one record so that an unterminated quote cannot buffer the whole body.
const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Columns DHIS2 reads; extra columns are ignored.
const COLUMNS: usize = 11;

/// Reads CSV data values and pushes them into `sink`, after `RawHeader::default()`.
///
/// Columns are positional (0 dataElement, 1 period, 2 orgUnit, 3 categoryOptionCombo,
/// 4 attributeOptionCombo, 5 value, 6 storedBy, 7 lastUpdated, 8 comment, 9 followup,
/// 10 deleted); header names are never interpreted. When `first_row_is_header` is true the
/// first record is skipped whatever it contains. Missing trailing columns read as `""`, so
/// every string field is `Some` (possibly empty) and `followup`/`deleted` are always `Some`:
/// true when the cell equals `true` in any letter case. `created` is always `None` (CSV has no
/// such column).
pub fn read_csv<R: Read>(
    r: R,
    first_row_is_header: bool,
    sink: &mut impl DataValueSink,
) -> Result<(), FormatError> {
    sink.header(RawHeader::default())
        .map_err(|Stop| FormatError::Stopped)?;
    let mut parser = CsvParser::new(r);
    let mut record = Record::default();
    let mut skip = first_row_is_header;
    let mut index: u64 = 0;
    while parser.next_record(&mut record)? {
        if skip {
            skip = false;
            continue;
        }
        let value = record.to_raw(|| Location {
            line: Some(parser.record_line),
            value_index: Some(index),
            ..Location::default()
        })?;
        sink.value(value).map_err(|Stop| FormatError::Stopped)?;
        index += 1;
    }
    Ok(())
}

/// One record: all field bytes in one buffer plus field end offsets.
#[derive(Default)]
struct Record {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Record {
    fn field(&self, i: usize) -> &[u8] {
        if i >= self.ends.len() {
            return b"";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn to_raw(&self, location: impl Fn() -> Location) -> Result<RawDataValue, FormatError> {
        let text = |i: usize| -> Result<Option<String>, FormatError> {
            std::str::from_utf8(self.field(i))
                .map(|s| Some(s.to_owned()))
                .map_err(|_| {
                    FormatError::invalid(
                        Format::Csv,
                        format!("column {i} is not valid UTF-8"),
                        location(),
                    )
                })
        };
        let flag = |i: usize| Some(self.field(i).eq_ignore_ascii_case(b"true"));
        Ok(RawDataValue {
            data_element: text(0)?,
            period: text(1)?,
            org_unit: text(2)?,
            category_option_combo: text(3)?,
            attribute_option_combo: text(4)?,
            value: text(5)?,
            stored_by: text(6)?,
            created: None,
            last_updated: text(7)?,
            comment: text(8)?,
            followup: flag(9),
            deleted: flag(10),
        })
    }
}

struct CsvParser<R> {
    src: R,
    buf: Box<[u8]>,
    len: usize,
    pos: usize,
    eof: bool,
    started: bool,
    line: u64,
    /// Line on which the last returned record started.
    record_line: u64,
}

impl<R: Read> CsvParser<R> {
    fn new(src: R) -> Self {
        CsvParser {
            src,
            buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
            len: 0,
            pos: 0,
            eof: false,
            started: false,
            line: 1,
            record_line: 1,
        }
    }

    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.pos = 0;
        self.len = 0;
        loop {
            match self.src.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    #[inline]
    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.pos < self.len {
            return Ok(Some(self.buf[self.pos]));
        }
        if self.fill()? {
            Ok(Some(self.buf[self.pos]))
        } else {
            Ok(None)
        }
    }

    /// Skips a UTF-8 BOM at the very start of the input.
    fn start(&mut self) -> io::Result<()> {
        self.started = true;
        while self.len < 3 && !self.eof {
            let len = self.len;
            match self.src.read(&mut self.buf[len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.len >= 3 && self.buf[..3] == [0xEF, 0xBB, 0xBF] {
            self.pos = 3;
        }
        Ok(())
    }

    /// Consumes a record terminator whose first byte (`\r` or `\n`) is next.
    fn end_of_line(&mut self) -> io::Result<()> {
        let first = self.buf[self.pos];
        self.pos += 1;
        self.line += 1;
        if first == b'\r' && self.peek()? == Some(b'\n') {
            self.pos += 1;
        }
        Ok(())
    }

    /// Reads the next non-empty record. Returns false at end of input.
    fn next_record(&mut self, rec: &mut Record) -> Result<bool, FormatError> {
        if !self.started {
            self.start()?;
        }
        loop {
            rec.bytes.clear();
            rec.ends.clear();
            // Skip blank lines (javacsv skips empty records).
            loop {
                match self.peek()? {
                    None => return Ok(false),
                    Some(b'\r' | b'\n') => self.end_of_line()?,
                    Some(_) => break,
                }
            }
            self.record_line = self.line;
            let mut all_blank = true;
            loop {
                // One field. Leading whitespace of the field is skipped.
                while let Some(b' ' | b'\t') = self.peek()? {
                    self.pos += 1;
                }
                let field_start = rec.bytes.len();
                let mut end_of_record = false;
                match self.peek()? {
                    Some(b'"') => {
                        all_blank = false;
                        self.pos += 1;
                        self.quoted(rec)?;
                        // Ignore anything after the closing quote up to the delimiter.
                        loop {
                            match self.peek()? {
                                None => {
                                    end_of_record = true;
                                    break;
                                }
                                Some(b',') => {
                                    self.pos += 1;
                                    break;
                                }
                                Some(b'\r' | b'\n') => {
                                    self.end_of_line()?;
                                    end_of_record = true;
                                    break;
                                }
                                Some(_) => self.pos += 1,
                            }
                        }
                    }
                    _ => {
                        loop {
                            let chunk = &self.buf[self.pos..self.len];
                            match chunk
                                .iter()
                                .position(|&b| matches!(b, b',' | b'\r' | b'\n'))
                            {
                                Some(i) => {
                                    rec.bytes.extend_from_slice(&chunk[..i]);
                                    self.pos += i;
                                    if self.buf[self.pos] == b',' {
                                        self.pos += 1;
                                    } else {
                                        self.end_of_line()?;
                                        end_of_record = true;
                                    }
                                    break;
                                }
                                None => {
                                    rec.bytes.extend_from_slice(chunk);
                                    self.pos = self.len;
                                    if !self.fill()? {
                                        end_of_record = true;
                                        break;
                                    }
                                    self.check_size(rec)?;
                                }
                            }
                        }
                        // Trim trailing whitespace of the unquoted field.
                        while rec.bytes.len() > field_start
                            && matches!(rec.bytes[rec.bytes.len() - 1], b' ' | b'\t')
                        {
                            rec.bytes.pop();
                        }
                        if rec.bytes.len() > field_start {
                            all_blank = false;
                        }
                    }
                }
                rec.ends.push(rec.bytes.len());
                self.check_size(rec)?;
                if end_of_record {
                    break;
                }
                // A delimiter was consumed, so there is at least one more field.
                all_blank = false;
            }
            // A line holding only whitespace is an empty record too.
            if all_blank && rec.ends.len() == 1 {
                continue;
            }
            if rec.ends.len() > COLUMNS {
                rec.ends.truncate(COLUMNS);
            }
            return Ok(true);
        }
    }

    /// Reads a quoted field after its opening quote, up to and including the closing quote.
    fn quoted(&mut self, rec: &mut Record) -> Result<(), FormatError> {
        loop {
            let chunk = &self.buf[self.pos..self.len];
            match chunk.iter().position(|&b| b == b'"') {
                Some(i) => {
                    rec.bytes.extend_from_slice(&chunk[..i]);
                    self.line += count_newlines(&chunk[..i]);
                    self.pos += i + 1;
                    if self.peek()? == Some(b'"') {
                        rec.bytes.push(b'"');
                        self.pos += 1;
                    } else {
                        return Ok(());
                    }
                }
                None => {
                    rec.bytes.extend_from_slice(chunk);
                    self.line += count_newlines(chunk);
                    self.pos = self.len;
                    self.check_size(rec)?;
                    if !self.fill()? {
                        // Unterminated quote: javacsv ends the field at end of input.
                        return Ok(());
                    }
                }
            }
        }
    }

    fn check_size(&self, rec: &Record) -> Result<(), FormatError> {
        if rec.bytes.len() > MAX_RECORD_BYTES {
            return Err(FormatError::invalid(
                Format::Csv,
                format!("record longer than {MAX_RECORD_BYTES} bytes (unterminated quote?)"),
                Location {
                    line: Some(self.record_line),
                    ..Location::default()
                },
            ));
        }
        Ok(())
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    // Counts line starts the way end_of_line does: `\r\n` once, lone `\r` or `\n` once.
    let mut n = 0;
    let mut prev_cr = false;
    for &b in bytes {
        match b {
            b'\n' if prev_cr => {}
            b'\n' | b'\r' => n += 1,
            _ => {}
        }
        prev_cr = b == b'\r';
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<Vec<String>> {
        let mut p = CsvParser::new(input.as_bytes());
        let mut rec = Record::default();
        let mut out = Vec::new();
        while p.next_record(&mut rec).unwrap() {
            out.push(
                (0..rec.ends.len())
                    .map(|i| String::from_utf8(rec.field(i).to_vec()).unwrap())
                    .collect(),
            );
        }
        out
    }

    #[test]
    fn javacsv_dialect() {
        assert_eq!(
            records("a, b ,\" c \",\"d\"\"e\"\n\n  \r\nf\r\ng,\"multi\nline\",h"),
            vec![
                vec!["a", "b", " c ", "d\"e"],
                vec!["f"],
                vec!["g", "multi\nline", "h"],
            ]
        );
        assert_eq!(records("a,,\n"), vec![vec!["a", "", ""]]);
        assert_eq!(records(",\n"), vec![vec!["", ""]]);
        assert_eq!(records("\u{feff}x,y"), vec![vec!["x", "y"]]);
        assert_eq!(records("\"ab\"cd,e"), vec![vec!["ab", "e"]]);
        assert_eq!(records("\"open"), vec![vec!["open"]]);
        assert!(records("").is_empty());
    }
}

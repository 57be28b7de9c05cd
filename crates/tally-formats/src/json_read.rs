//! Streaming reader for DHIS2 JSON data value sets (spec §1.3).
//!
//! DHIS2 binds the whole object with Jackson, so header keys may come before or after
//! `dataValues`. To hand the sink a complete header before the first value without holding the
//! values, the reader makes two passes over a seekable source:
//!
//! 1. a full parse of the document that collects the header and validates every data value
//!    (syntax and field types) without keeping any of them;
//! 2. after seeking back, a parse that skips the header keys and streams `dataValues`.
//!
//! Because pass 1 validates everything, a malformed document fails before the sink has seen a
//! single value, exactly like DHIS2, which fails while binding. Memory use is bounded by the
//! 64 KiB read buffer plus one data value.

use std::io::{BufReader, Read, Seek, SeekFrom};

use serde::Deserialize;

use crate::error::{Format, FormatError, Location, Stop};
use crate::json_lexer::{LexError, LexResult, Lexer, Scalar};
use crate::model::{DataValueSink, RawDataValue, RawHeader};

/// Message DHIS2 (Jackson) gives for an empty body; DHIS2 clients look for this text.
pub const EMPTY_JSON_MESSAGE: &str = "No content to map due to end-of-input";

/// Reads a JSON data value set and pushes its header and values into `sink`.
///
/// `r` must be positioned at the start of the document; it is read twice (see the module
/// documentation), so it must be seekable: use [`crate::decompress_seekable`] for request bodies.
///
/// Field rules: unknown keys are ignored; string fields accept strings, numbers (their source
/// text, as Jackson does: `12.50` gives `"12.50"`), booleans (`"true"`/`"false"`) and `null`
/// (absent); `followup`, `deleted` and `dryRun` accept booleans, the strings
/// `true`/`True`/`TRUE`/`false`/`False`/`FALSE` (`""` is absent) and integers (0 is false).
/// The follow-up key is `followup` (lower case); `followUp` is ignored. A repeated key keeps the
/// last occurrence, and when `dataValues` is repeated only the last array is imported (Jackson
/// semantics). A UTF-8 byte order mark is skipped; anything after the top-level object is
/// ignored (Jackson does not check for trailing tokens).
///
/// Errors: an empty body gives a message containing [`EMPTY_JSON_MESSAGE`]; syntax errors carry
/// serde_json's message and line/column; type errors name the value index.
pub fn read_json<R: Read + Seek>(
    mut r: R,
    sink: &mut impl DataValueSink,
) -> Result<(), FormatError> {
    let start = r.stream_position()?;
    let scan = {
        let mut lx = Lexer::new(&mut r);
        match scan_header(&mut lx) {
            Ok(scan) => scan,
            Err(e) => return Err(rediagnose(&mut r, start, e)),
        }
    };
    r.seek(SeekFrom::Start(start))?;
    sink.header(scan.header)
        .map_err(|Stop| FormatError::Stopped)?;
    if scan.data_values_keys == 0 {
        return Ok(());
    }
    let mut lx = Lexer::new(&mut r);
    stream_values(&mut lx, scan.data_values_keys, sink).map_err(|e| e.error)
}

struct Scan {
    header: RawHeader,
    /// How many `dataValues` keys the object has (only the last one is imported).
    data_values_keys: usize,
}

fn scan_header<R: Read>(lx: &mut Lexer<R>) -> LexResult<Scan> {
    let mut header = RawHeader::default();
    let mut data_values_keys = 0;
    let mut text = Vec::new();
    let mut scratch = ValueScratch::default();
    top_level(lx, |lx, key| {
        let slot = match key {
            b"dataValues" => {
                data_values_keys += 1;
                return values(lx, &mut scratch, &mut |_, _| Ok(()));
            }
            b"attributeCategoryOptions" => {
                header.attribute_category_options = string_list(lx, &mut text)?;
                return Ok(());
            }
            b"dryRun" => {
                header.dry_run = boolean(lx, &mut text)?;
                return Ok(());
            }
            b"dataSet" => &mut header.data_set,
            b"completeDate" => &mut header.complete_date,
            b"period" => &mut header.period,
            b"orgUnit" => &mut header.org_unit,
            b"attributeOptionCombo" => &mut header.attribute_option_combo,
            b"idScheme" => &mut header.id_scheme,
            b"dataElementIdScheme" => &mut header.data_element_id_scheme,
            b"orgUnitIdScheme" => &mut header.org_unit_id_scheme,
            b"categoryOptionComboIdScheme" => &mut header.category_option_combo_id_scheme,
            b"dataSetIdScheme" => &mut header.data_set_id_scheme,
            b"strategy" => &mut header.strategy,
            _ => return lx.skip_value(),
        };
        *slot = if string_scalar(lx, &mut text)? {
            Some(lx.check_utf8(&text)?.to_owned())
        } else {
            None
        };
        Ok(())
    })?;
    Ok(Scan {
        header,
        data_values_keys,
    })
}

fn stream_values<R: Read, S: DataValueSink>(
    lx: &mut Lexer<R>,
    data_values_keys: usize,
    sink: &mut S,
) -> LexResult<()> {
    let mut seen = 0;
    let mut scratch = ValueScratch::default();
    top_level(lx, |lx, key| {
        if key != b"dataValues" {
            return lx.skip_value();
        }
        seen += 1;
        if seen < data_values_keys {
            return lx.skip_value();
        }
        values(lx, &mut scratch, &mut |lx, s| {
            let value = s.to_raw(lx)?;
            sink.value(value).map_err(|Stop| LexError {
                syntax: false,
                error: FormatError::Stopped,
            })
        })
    })
}

/// Parses the top-level object, calling `on_member` with the lexer positioned at each value.
fn top_level<R: Read>(
    lx: &mut Lexer<R>,
    on_member: impl FnMut(&mut Lexer<R>, &[u8]) -> LexResult<()>,
) -> LexResult<()> {
    lx.skip_bom()?;
    match lx.skip_ws()? {
        None => {
            return Err(LexError {
                syntax: false,
                error: FormatError::invalid(Format::Json, EMPTY_JSON_MESSAGE, lx.location()),
            });
        }
        Some(b'{') => lx.bump(),
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            lx.skip_value()?;
            return Err(lx.type_error(
                "Cannot deserialize a data value set: expected a JSON object at the top level",
            ));
        }
        Some(_) => return Err(lx.syntax_error("expected value")),
    }
    let mut key = Vec::new();
    members(lx, &mut key, on_member)
}

/// Iterates the members of an object whose `{` was just consumed.
fn members<R: Read>(
    lx: &mut Lexer<R>,
    key: &mut Vec<u8>,
    mut on_member: impl FnMut(&mut Lexer<R>, &[u8]) -> LexResult<()>,
) -> LexResult<()> {
    match lx.skip_ws()? {
        Some(b'}') => {
            lx.bump();
            return Ok(());
        }
        Some(b'"') => {}
        Some(_) => return Err(lx.syntax_error("key must be a string")),
        None => return Err(lx.syntax_error("EOF while parsing an object")),
    }
    loop {
        key.clear();
        lx.string(key)?;
        lx.validate_last(key)?;
        lx.expect(b':', "expected `:`")?;
        on_member(lx, key)?;
        match lx.skip_ws()? {
            Some(b',') => {
                lx.bump();
                match lx.skip_ws()? {
                    Some(b'"') => {}
                    Some(b'}') => return Err(lx.syntax_error("trailing comma")),
                    Some(_) => return Err(lx.syntax_error("key must be a string")),
                    None => return Err(lx.syntax_error("EOF while parsing an object")),
                }
            }
            Some(b'}') => {
                lx.bump();
                return Ok(());
            }
            Some(_) => return Err(lx.syntax_error("expected `,` or `}`")),
            None => return Err(lx.syntax_error("EOF while parsing an object")),
        }
    }
}

/// Parses the `dataValues` value (an array of objects, or `null`), calling `emit` per value.
fn values<R: Read>(
    lx: &mut Lexer<R>,
    scratch: &mut ValueScratch,
    emit: &mut dyn FnMut(&mut Lexer<R>, &ValueScratch) -> LexResult<()>,
) -> LexResult<()> {
    match lx.skip_ws()? {
        Some(b'[') => lx.bump(),
        Some(b'n') => {
            let mut text = Vec::new();
            if lx.scalar(&mut text, "a list of data values")? == Scalar::Null {
                return Ok(());
            }
            return Err(lx.type_error("invalid type: expected a list of data values"));
        }
        Some(b'{' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f') => {
            lx.skip_value()?;
            return Err(lx.type_error("invalid type: `dataValues` must be a list"));
        }
        Some(_) => return Err(lx.syntax_error("expected value")),
        None => return Err(lx.syntax_error("EOF while parsing a value")),
    }
    let mut index: u64 = 0;
    let mut key = Vec::new();
    if lx.skip_ws()? == Some(b']') {
        lx.bump();
        return Ok(());
    }
    loop {
        lx.value_index = Some(index);
        value_object(lx, scratch, &mut key)?;
        emit(lx, scratch)?;
        index += 1;
        match lx.skip_ws()? {
            Some(b',') => {
                lx.bump();
                if lx.skip_ws()? == Some(b']') {
                    return Err(lx.syntax_error("trailing comma"));
                }
            }
            Some(b']') => {
                lx.bump();
                lx.value_index = None;
                return Ok(());
            }
            Some(_) => return Err(lx.syntax_error("expected `,` or `]`")),
            None => return Err(lx.syntax_error("EOF while parsing a list")),
        }
    }
}

/// The string fields of a data value, in [`RawDataValue`] order.
const STRING_FIELDS: usize = 10;

/// Reusable per-value buffers, so that pass 1 allocates nothing per value.
#[derive(Default)]
struct ValueScratch {
    text: [Vec<u8>; STRING_FIELDS],
    present: [bool; STRING_FIELDS],
    followup: Option<bool>,
    deleted: Option<bool>,
    bool_text: Vec<u8>,
}

impl ValueScratch {
    fn to_raw<R: Read>(&self, lx: &Lexer<R>) -> LexResult<RawDataValue> {
        let field = |i: usize| -> LexResult<Option<String>> {
            if self.present[i] {
                Ok(Some(lx.check_utf8(&self.text[i])?.to_owned()))
            } else {
                Ok(None)
            }
        };
        Ok(RawDataValue {
            data_element: field(0)?,
            period: field(1)?,
            org_unit: field(2)?,
            category_option_combo: field(3)?,
            attribute_option_combo: field(4)?,
            value: field(5)?,
            stored_by: field(6)?,
            created: field(7)?,
            last_updated: field(8)?,
            comment: field(9)?,
            followup: self.followup,
            deleted: self.deleted,
        })
    }
}

fn value_object<R: Read>(
    lx: &mut Lexer<R>,
    s: &mut ValueScratch,
    key: &mut Vec<u8>,
) -> LexResult<()> {
    match lx.skip_ws()? {
        Some(b'{') => lx.bump(),
        Some(b'n') => {
            lx.scalar(&mut s.bool_text, "a data value")?;
            return Err(lx.type_error("invalid type: null, expected a data value object"));
        }
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f') => {
            lx.skip_value()?;
            return Err(lx.type_error("invalid type: expected a data value object"));
        }
        Some(_) => return Err(lx.syntax_error("expected value")),
        None => return Err(lx.syntax_error("EOF while parsing a list")),
    }
    s.present = [false; STRING_FIELDS];
    s.followup = None;
    s.deleted = None;
    members(lx, key, |lx, key| {
        let i = match key {
            b"dataElement" => 0,
            b"period" => 1,
            b"orgUnit" => 2,
            b"categoryOptionCombo" => 3,
            b"attributeOptionCombo" => 4,
            b"value" => 5,
            b"storedBy" => 6,
            b"created" => 7,
            b"lastUpdated" => 8,
            b"comment" => 9,
            b"followup" => {
                s.followup = boolean(lx, &mut s.bool_text)?;
                return Ok(());
            }
            b"deleted" => {
                s.deleted = boolean(lx, &mut s.bool_text)?;
                return Ok(());
            }
            _ => return lx.skip_value(),
        };
        s.present[i] = string_scalar(lx, &mut s.text[i])?;
        if s.present[i] {
            lx.validate_last(&s.text[i])?;
        }
        Ok(())
    })
}

/// Reads a scalar coerced to a string into `out`; returns false for `null`.
fn string_scalar<R: Read>(lx: &mut Lexer<R>, out: &mut Vec<u8>) -> LexResult<bool> {
    match lx.scalar(out, "a string")? {
        Scalar::Str | Scalar::Num => Ok(true),
        Scalar::True => {
            out.extend_from_slice(b"true");
            Ok(true)
        }
        Scalar::False => {
            out.extend_from_slice(b"false");
            Ok(true)
        }
        Scalar::Null => Ok(false),
    }
}

/// Reads a Jackson-style `Boolean`.
fn boolean<R: Read>(lx: &mut Lexer<R>, text: &mut Vec<u8>) -> LexResult<Option<bool>> {
    match lx.scalar(text, "a boolean")? {
        Scalar::True => Ok(Some(true)),
        Scalar::False => Ok(Some(false)),
        Scalar::Null => Ok(None),
        Scalar::Str => match text.as_slice() {
            b"true" | b"True" | b"TRUE" => Ok(Some(true)),
            b"false" | b"False" | b"FALSE" => Ok(Some(false)),
            b"" | b"null" => Ok(None),
            other => {
                let shown = String::from_utf8_lossy(other).into_owned();
                Err(lx.type_error(format!(
                    "Cannot coerce String value (\"{shown}\") to `java.lang.Boolean`: only \"true\"/\"True\"/\"TRUE\" or \"false\"/\"False\"/\"FALSE\" recognized"
                )))
            }
        },
        Scalar::Num => {
            if text.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                let shown = String::from_utf8_lossy(text).into_owned();
                return Err(lx.type_error(format!(
                    "Cannot coerce Floating-point value ({shown}) to `java.lang.Boolean`"
                )));
            }
            Ok(Some(text.iter().any(|b| matches!(b, b'1'..=b'9'))))
        }
    }
}

/// Reads `attributeCategoryOptions`: `null` or an array of scalars.
fn string_list<R: Read>(lx: &mut Lexer<R>, text: &mut Vec<u8>) -> LexResult<Option<Vec<String>>> {
    match lx.skip_ws()? {
        Some(b'[') => lx.bump(),
        Some(b'{' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            return match lx.scalar(text, "a list of strings") {
                Ok(Scalar::Null) => Ok(None),
                Ok(_) => Err(lx.type_error("invalid type: expected a list of strings")),
                Err(e) => Err(e),
            };
        }
        Some(_) => return Err(lx.syntax_error("expected value")),
        None => return Err(lx.syntax_error("EOF while parsing a value")),
    }
    let mut list = Vec::new();
    if lx.skip_ws()? == Some(b']') {
        lx.bump();
        return Ok(Some(list));
    }
    loop {
        // Jackson keeps null elements as null; there is no useful option id in them, so they
        // are dropped here and the core sees only real ids.
        if string_scalar(lx, text)? {
            list.push(lx.check_utf8(text)?.to_owned());
        }
        match lx.skip_ws()? {
            Some(b',') => lx.bump(),
            Some(b']') => {
                lx.bump();
                return Ok(Some(list));
            }
            Some(_) => return Err(lx.syntax_error("expected `,` or `]`")),
            None => return Err(lx.syntax_error("EOF while parsing a list")),
        }
    }
}

/// Replaces a syntax error found by the lexer with serde_json's diagnosis of the same document,
/// so that messages keep serde_json's wording. Falls back to the lexer's error when serde_json
/// accepts the text or cannot be run (I/O error while seeking).
fn rediagnose<R: Read + Seek>(r: &mut R, start: u64, e: LexError) -> FormatError {
    if !e.syntax {
        return e.error;
    }
    let mut bom = [0u8; 3];
    let skip = match r.seek(SeekFrom::Start(start)) {
        Ok(_) => match r.read_exact(&mut bom) {
            Ok(()) if bom == [0xEF, 0xBB, 0xBF] => 3,
            _ => 0,
        },
        Err(_) => return e.error,
    };
    if r.seek(SeekFrom::Start(start + skip)).is_err() {
        return e.error;
    }
    let mut de = serde_json::Deserializer::from_reader(BufReader::new(r));
    match serde::de::IgnoredAny::deserialize(&mut de) {
        Ok(_) => e.error,
        Err(json) => {
            let full = json.to_string();
            let suffix = format!(" at line {} column {}", json.line(), json.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
            let index = e.error.location().and_then(|l| l.value_index);
            FormatError::invalid(
                Format::Json,
                message,
                Location {
                    line: (json.line() > 0).then_some(json.line() as u64),
                    column: (json.line() > 0).then_some(json.column() as u64),
                    byte_offset: None,
                    value_index: index,
                },
            )
        }
    }
}

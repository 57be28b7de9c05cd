//! The one error type of every reader, plus the [`Stop`] signal a sink uses to end a read early.

use std::fmt;
use std::io;

/// Which wire format an error came from, so the import core can word its summary and tests can
/// assert that the right reader failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// DHIS2 JSON data value set.
    Json,
    /// DXF2 XML data value set.
    Xml,
    /// DHIS2 CSV data values.
    Csv,
    /// ADX (IHE aggregate data exchange) XML.
    Adx,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Xml => "XML",
            Format::Csv => "CSV",
            Format::Adx => "ADX",
        })
    }
}

/// Where in the body an error was found. Every part is optional because the formats can tell
/// different things: JSON and CSV know lines, quick-xml only knows byte offsets, and the value
/// index (0-based position of the data value in the document) is what DHIS2 users see in
/// `rejectedIndexes`, so it is the most useful part when present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: Option<u64>,
    /// 1-based column (in bytes) within [`Location::line`]; 0 means "before the first byte" as in
    /// serde_json's end-of-input messages.
    pub column: Option<u64>,
    /// 0-based byte offset from the start of the (decompressed) body.
    pub byte_offset: Option<u64>,
    /// 0-based index of the data value (for ADX: of the group) being read when the error
    /// happened. When the error lies between values, it is the index the next value would have,
    /// i.e. the number of values already delivered.
    pub value_index: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(line) = self.line {
            write!(f, "line {line}")?;
            if let Some(column) = self.column {
                write!(f, " column {column}")?;
            }
            sep = ", ";
        } else if let Some(offset) = self.byte_offset {
            write!(f, "byte offset {offset}")?;
            sep = ", ";
        }
        if let Some(index) = self.value_index {
            write!(f, "{sep}data value index {index}")?;
        }
        Ok(())
    }
}

impl Location {
    /// True when no part of the location is known (the error is about the whole body).
    pub fn is_empty(&self) -> bool {
        self.line.is_none()
            && self.column.is_none()
            && self.byte_offset.is_none()
            && self.value_index.is_none()
    }
}

/// Everything that can make a reader fail.
///
/// The import core turns [`FormatError::Invalid`] and [`FormatError::Io`] into an ERROR import
/// summary ("The import process failed: ..."); [`FormatError::Stopped`] only echoes the sink's own
/// decision and is not an error of the body.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The body is not a well-formed document of the format, or a field has a type the format
    /// cannot coerce (for example a JSON array where a string is expected).
    #[error("{message}{}", display_location(location))]
    Invalid {
        /// The reader that failed.
        format: Format,
        /// Human readable cause. For JSON syntax errors this is serde_json's own text; for an
        /// empty JSON body it contains `No content to map due to end-of-input`, which DHIS2
        /// clients look for.
        message: String,
        /// Where the problem was found.
        location: Location,
    },
    /// Reading the body failed (including a corrupt gzip or zip stream).
    #[error("error reading the request body: {0}")]
    Io(#[from] io::Error),
    /// The sink returned [`Stop`]; the reader ended without reading the rest.
    #[error("reading stopped by the consumer")]
    Stopped,
}

fn display_location(location: &Location) -> String {
    if location.is_empty() {
        String::new()
    } else {
        format!(" (at {location})")
    }
}

impl FormatError {
    /// Shorthand used by the readers.
    pub(crate) fn invalid(format: Format, message: impl Into<String>, location: Location) -> Self {
        FormatError::Invalid {
            format,
            message: message.into(),
            location,
        }
    }

    /// The location of an [`FormatError::Invalid`] error, if any.
    pub fn location(&self) -> Option<&Location> {
        match self {
            FormatError::Invalid { location, .. } => Some(location),
            _ => None,
        }
    }
}

/// Returned by a sink to ask the reader to stop early (for example because the import was
/// aborted by a data-set-level check or the client went away). The reader then returns
/// `Err(FormatError::Stopped)` without reading further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stop requested by the consumer")
    }
}

impl std::error::Error for Stop {}

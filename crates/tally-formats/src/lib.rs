//! Wire formats of DHIS2 aggregate data values: streaming readers and writers for data value
//! sets in JSON, DXF2 XML, CSV and ADX, and request/response body (de)compression.
//!
//! This crate deliberately knows nothing about metadata: readers report raw strings exactly as
//! DHIS2's parsers would see them (after each format's own normalisation), and the import core
//! resolves identifiers and validates. Everything streams: readers push into a sink
//! ([`DataValueSink`], [`AdxSink`]) while parsing, writers are fed one value at a time, so
//! memory stays bounded by one record plus fixed buffers whatever the document size.
//!
//! | Format | Reader | Writer |
//! |---|---|---|
//! | JSON (spec §1.3, §5.5) | [`read_json`] (needs `Read + Seek`: two passes) | [`JsonWriter`] |
//! | DXF2 XML (§1.2, §5.5) | [`read_xml`] | [`XmlWriter`] |
//! | CSV (§1.4, §5.5) | [`read_csv`] | [`CsvWriter`] |
//! | ADX (§9.1, §9.5) | [`read_adx`] | [`AdxWriter`] |
//!
//! Compression: [`decompress`] / [`decompress_seekable`] for request bodies (magic-byte
//! sniffing), [`gzip_writer`] / [`ZipStreamWriter`] for exports. Timestamps:
//! [`format_epoch_millis`].
//!
//! Typical import of a JSON body:
//!
//! ```
//! use tally_formats::{read_json, decompress_seekable, DataValueSink, RawHeader, RawDataValue, Stop};
//!
//! struct Count(usize);
//! impl DataValueSink for Count {
//!     fn header(&mut self, _h: RawHeader) -> Result<(), Stop> { Ok(()) }
//!     fn value(&mut self, _v: RawDataValue) -> Result<(), Stop> { self.0 += 1; Ok(()) }
//! }
//!
//! let body: &[u8] = br#"{"dataValues":[{"dataElement":"a","value":1}],"dataSet":"ds"}"#;
//! let spool = decompress_seekable(body, 8 << 20).unwrap();
//! let mut sink = Count(0);
//! read_json(spool, &mut sink).unwrap();
//! assert_eq!(sink.0, 1);
//! ```

#![warn(missing_docs)]

mod compress;
mod csv_read;
mod error;
mod escape;
mod json_lexer;
mod json_read;
mod model;
mod timestamp;
mod write;
mod xml_read;

pub use compress::{
    BodyCompression, ZipStreamWriter, decompress, decompress_seekable, detect_compression,
    gzip_writer,
};
pub use csv_read::read_csv;
pub use error::{Format, FormatError, Location, Stop};
pub use escape::is_xml_name;
pub use flate2::write::GzEncoder;
pub use json_read::{EMPTY_JSON_MESSAGE, read_json};
pub use model::{AdxSink, DataValueSink, ExportHeader, ExportValue, RawDataValue, RawHeader};
pub use timestamp::{epoch_millis_to_string, format_epoch_millis};
pub use write::{
    ADX_NAMESPACE, AdxWriter, CSV_HEADER, CsvWriter, DXF2_NAMESPACE, JsonWriter, XmlWriter,
};
pub use xml_read::{read_adx, read_xml};

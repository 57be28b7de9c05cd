//! Streaming writers for exported data value sets (spec §5.5) and ADX (spec §9.5).
//!
//! All writers are push-based: `begin` (JSON, XML, CSV), then one call per value, then
//! `finish`, which writes the closing syntax, flushes and returns the underlying writer. They
//! buffer internally (about 64 KiB), so pass the raw destination (a file, a socket adapter, a
//! [`crate::gzip_writer`] or [`crate::ZipStreamWriter`]) without an extra `BufWriter`.
//! Nothing is written to the destination until 64 KiB are buffered, [`JsonWriter::flush`] (and
//! the like) is called, or the writer finishes.
//!
//! Calling methods out of order (a value before `begin`, `begin` twice, ADX values outside a
//! group) is a programming error reported as `io::ErrorKind::InvalidInput`, not a panic.

use std::io::{self, Write};

use crate::escape::{Out, csv_field, is_xml_name, json_opt, json_string, xml_attribute, xml_text};
use crate::model::{ExportHeader, ExportValue};

/// Namespace of DXF2 documents.
pub const DXF2_NAMESPACE: &str = "http://dhis2.org/schema/dxf/2.0";
/// Namespace of ADX documents.
pub const ADX_NAMESPACE: &str = "urn:ihe:qrph:adx:2015";
/// The CSV export header row (without line terminator).
pub const CSV_HEADER: &str = "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted";

fn misuse(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    First,
    Values,
}

/// Writes the DHIS2 JSON export shape:
/// `{"dataSet":..,"completeDate":..,"period":..,"orgUnit":..,"dataValues":[{..},..]}`, where the
/// four header keys appear only when the [`ExportHeader`] is not empty (and then all four, with
/// `null` for missing ones). Every string field of a value is written, `null` included;
/// `followup` is always a boolean; `deleted: true` only for deleted values. Compact (no
/// whitespace).
pub struct JsonWriter<W: Write> {
    out: Out<W>,
    state: State,
}

impl<W: Write> JsonWriter<W> {
    /// Wraps `w`; nothing is written until [`JsonWriter::begin`].
    pub fn new(w: W) -> Self {
        JsonWriter {
            out: Out::new(w),
            state: State::New,
        }
    }

    /// Writes the opening of the document and the header keys.
    pub fn begin(&mut self, header: &ExportHeader<'_>) -> io::Result<()> {
        if self.state != State::New {
            return Err(misuse("JsonWriter::begin called twice"));
        }
        let b = &mut self.out.buf;
        b.push(b'{');
        if !header.is_empty() {
            b.extend_from_slice(b"\"dataSet\":");
            json_opt(b, header.data_set);
            b.extend_from_slice(b",\"completeDate\":");
            json_opt(b, header.complete_date);
            b.extend_from_slice(b",\"period\":");
            json_opt(b, header.period);
            b.extend_from_slice(b",\"orgUnit\":");
            json_opt(b, header.org_unit);
            b.push(b',');
        }
        b.extend_from_slice(b"\"dataValues\":[");
        self.state = State::First;
        Ok(())
    }

    /// Writes one data value.
    pub fn write(&mut self, v: &ExportValue<'_>) -> io::Result<()> {
        let b = &mut self.out.buf;
        match self.state {
            State::New => return Err(misuse("JsonWriter::write called before begin")),
            State::First => self.state = State::Values,
            State::Values => b.push(b','),
        }
        b.extend_from_slice(b"{\"dataElement\":");
        json_opt(b, v.data_element);
        b.extend_from_slice(b",\"period\":");
        json_opt(b, v.period);
        b.extend_from_slice(b",\"orgUnit\":");
        json_opt(b, v.org_unit);
        b.extend_from_slice(b",\"categoryOptionCombo\":");
        json_opt(b, v.category_option_combo);
        b.extend_from_slice(b",\"attributeOptionCombo\":");
        json_opt(b, v.attribute_option_combo);
        b.extend_from_slice(b",\"value\":");
        json_opt(b, v.value);
        b.extend_from_slice(b",\"storedBy\":");
        json_opt(b, v.stored_by);
        b.extend_from_slice(b",\"created\":");
        json_string(b, v.created);
        b.extend_from_slice(b",\"lastUpdated\":");
        json_string(b, v.last_updated);
        b.extend_from_slice(b",\"comment\":");
        json_opt(b, v.comment);
        b.extend_from_slice(if v.followup {
            b",\"followup\":true"
        } else {
            b",\"followup\":false"
        });
        if v.deleted {
            b.extend_from_slice(b",\"deleted\":true");
        }
        b.push(b'}');
        self.out.commit()
    }

    /// Passes everything buffered so far to the underlying writer and flushes it (for example
    /// to start sending a slow export early).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    /// Closes the document, flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.state == State::New {
            return Err(misuse("JsonWriter::finish called before begin"));
        }
        self.out.buf.extend_from_slice(b"]}");
        self.out.into_inner()
    }
}

/// Writes the DXF2 XML export shape: an XML declaration, then
/// `<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" ...>` with only the present header
/// attributes, one empty `<dataValue .../>` element per value with absent attributes omitted,
/// `followUp="true|false"` always and `deleted="true"` only for deleted values. Compact.
pub struct XmlWriter<W: Write> {
    out: Out<W>,
    state: State,
}

impl<W: Write> XmlWriter<W> {
    /// Wraps `w`; nothing is written until [`XmlWriter::begin`].
    pub fn new(w: W) -> Self {
        XmlWriter {
            out: Out::new(w),
            state: State::New,
        }
    }

    /// Writes the declaration and the root start tag.
    pub fn begin(&mut self, header: &ExportHeader<'_>) -> io::Result<()> {
        if self.state != State::New {
            return Err(misuse("XmlWriter::begin called twice"));
        }
        let b = &mut self.out.buf;
        b.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><dataValueSet xmlns=\"");
        b.extend_from_slice(DXF2_NAMESPACE.as_bytes());
        b.push(b'"');
        for (name, value) in [
            ("dataSet", header.data_set),
            ("completeDate", header.complete_date),
            ("period", header.period),
            ("orgUnit", header.org_unit),
        ] {
            if let Some(value) = value {
                xml_attribute(b, name, value);
            }
        }
        b.push(b'>');
        self.state = State::Values;
        Ok(())
    }

    /// Writes one data value.
    pub fn write(&mut self, v: &ExportValue<'_>) -> io::Result<()> {
        if self.state == State::New {
            return Err(misuse("XmlWriter::write called before begin"));
        }
        let b = &mut self.out.buf;
        b.extend_from_slice(b"<dataValue");
        for (name, value) in [
            ("dataElement", v.data_element),
            ("period", v.period),
            ("orgUnit", v.org_unit),
            ("categoryOptionCombo", v.category_option_combo),
            ("attributeOptionCombo", v.attribute_option_combo),
            ("value", v.value),
            ("storedBy", v.stored_by),
            ("created", Some(v.created)),
            ("lastUpdated", Some(v.last_updated)),
            ("comment", v.comment),
        ] {
            if let Some(value) = value {
                xml_attribute(b, name, value);
            }
        }
        b.extend_from_slice(if v.followup {
            b" followUp=\"true\""
        } else {
            b" followUp=\"false\""
        });
        if v.deleted {
            b.extend_from_slice(b" deleted=\"true\"");
        }
        b.extend_from_slice(b"/>");
        self.out.commit()
    }

    /// Passes everything buffered so far to the underlying writer and flushes it.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    /// Closes the root element, flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.state == State::New {
            return Err(misuse("XmlWriter::finish called before begin"));
        }
        self.out.buf.extend_from_slice(b"</dataValueSet>");
        self.out.into_inner()
    }
}

/// Writes the DHIS2 CSV export: the [`CSV_HEADER`] row, then one row per value with `\n` line
/// ends. Absent strings are empty cells; `followup` is `true`/`false`; the `deleted` column is
/// the text `null` for live rows and `true` for deleted ones (quirk). `created` is not written.
/// Cells are quoted only when needed (see the crate docs); unlike javacsv's writer, cell text is
/// never trimmed, so exports round-trip.
pub struct CsvWriter<W: Write> {
    out: Out<W>,
    state: State,
}

impl<W: Write> CsvWriter<W> {
    /// Wraps `w`; nothing is written until [`CsvWriter::begin`].
    pub fn new(w: W) -> Self {
        CsvWriter {
            out: Out::new(w),
            state: State::New,
        }
    }

    /// Writes the header row. CSV has no data set header, so `_header` is unused; the parameter
    /// keeps the three writers interchangeable.
    pub fn begin(&mut self, _header: &ExportHeader<'_>) -> io::Result<()> {
        if self.state != State::New {
            return Err(misuse("CsvWriter::begin called twice"));
        }
        self.out.buf.extend_from_slice(CSV_HEADER.as_bytes());
        self.out.buf.push(b'\n');
        self.state = State::Values;
        Ok(())
    }

    /// Writes one row.
    pub fn write(&mut self, v: &ExportValue<'_>) -> io::Result<()> {
        if self.state == State::New {
            return Err(misuse("CsvWriter::write called before begin"));
        }
        let b = &mut self.out.buf;
        for cell in [
            v.data_element,
            v.period,
            v.org_unit,
            v.category_option_combo,
            v.attribute_option_combo,
            v.value,
            v.stored_by,
            Some(v.last_updated),
            v.comment,
        ] {
            csv_field(b, cell.unwrap_or(""));
            b.push(b',');
        }
        b.extend_from_slice(if v.followup { b"true," } else { b"false," });
        b.extend_from_slice(if v.deleted { b"true\n" } else { b"null\n" });
        self.out.commit()
    }

    /// Passes everything buffered so far to the underlying writer and flushes it.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> io::Result<W> {
        if self.state == State::New {
            return Err(misuse("CsvWriter::finish called before begin"));
        }
        self.out.into_inner()
    }
}

/// Writes the DHIS2 ADX export shape: `<adx xmlns="urn:ihe:qrph:adx:2015">` with no XML
/// declaration and no `exported` attribute, `<group ...>` elements with the given attributes,
/// and `<dataValue dataElement=".." [category attributes] value=".."/>`, or with an
/// `<annotation>` child when an annotation is given (DHIS2 passes `value="0"` for text values;
/// that choice is the caller's). Compact.
///
/// Attribute names must be XML names ([`is_xml_name`]); an invalid one is an
/// `InvalidInput` error and nothing of that element is written.
pub struct AdxWriter<W: Write> {
    out: Out<W>,
    in_group: bool,
}

impl<W: Write> AdxWriter<W> {
    /// Wraps `w` and buffers the root start tag.
    pub fn new(w: W) -> Self {
        let mut out = Out::new(w);
        out.buf.extend_from_slice(b"<adx xmlns=\"");
        out.buf.extend_from_slice(ADX_NAMESPACE.as_bytes());
        out.buf.extend_from_slice(b"\">");
        AdxWriter {
            out,
            in_group: false,
        }
    }

    /// Starts a group with `attrs` in the given order (typically `dataSet`, `period`,
    /// `orgUnit`, then the attribute categories).
    pub fn group(&mut self, attrs: &[(&str, &str)]) -> io::Result<()> {
        if self.in_group {
            return Err(misuse("AdxWriter::group called inside a group"));
        }
        check_names(attrs)?;
        let b = &mut self.out.buf;
        b.extend_from_slice(b"<group");
        for (name, value) in attrs {
            xml_attribute(b, name, value);
        }
        b.push(b'>');
        self.in_group = true;
        Ok(())
    }

    /// Writes one value of the current group.
    pub fn value(
        &mut self,
        data_element: &str,
        category_attrs: &[(&str, &str)],
        value: &str,
        annotation: Option<&str>,
    ) -> io::Result<()> {
        if !self.in_group {
            return Err(misuse("AdxWriter::value called outside a group"));
        }
        check_names(category_attrs)?;
        let b = &mut self.out.buf;
        b.extend_from_slice(b"<dataValue");
        xml_attribute(b, "dataElement", data_element);
        for (name, v) in category_attrs {
            xml_attribute(b, name, v);
        }
        xml_attribute(b, "value", value);
        match annotation {
            Some(text) => {
                b.extend_from_slice(b"><annotation>");
                xml_text(b, text);
                b.extend_from_slice(b"</annotation></dataValue>");
            }
            None => b.extend_from_slice(b"/>"),
        }
        self.out.commit()
    }

    /// Ends the current group.
    pub fn end_group(&mut self) -> io::Result<()> {
        if !self.in_group {
            return Err(misuse("AdxWriter::end_group called outside a group"));
        }
        self.out.buf.extend_from_slice(b"</group>");
        self.in_group = false;
        self.out.commit()
    }

    /// Passes everything buffered so far to the underlying writer and flushes it.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends an open group if any, closes the root, flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.in_group {
            self.end_group()?;
        }
        self.out.buf.extend_from_slice(b"</adx>");
        self.out.into_inner()
    }
}

fn check_names(attrs: &[(&str, &str)]) -> io::Result<()> {
    for (name, _) in attrs {
        if !is_xml_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{name}` is not a valid XML attribute name"),
            ));
        }
    }
    Ok(())
}

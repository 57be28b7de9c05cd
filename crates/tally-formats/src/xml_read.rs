//! Streaming readers for DXF2 XML data value sets (spec §1.2) and ADX (spec §9.1), on top of
//! quick-xml's pull parser. Neither builds a tree: memory is bounded by the largest tag.
//!
//! Both match element and attribute names by local name only and ignore namespaces, like
//! DHIS2's StAX readers. Only UTF-8 (and so ASCII) documents are supported; quick-xml is used
//! without its `encoding` feature. Attribute values are normalised as the XML specification
//! requires of every conforming parser (a literal tab, newline or carriage return becomes a
//! space; `&#10;` stays a newline), so values match what Woodstox gives DHIS2.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::{Format, FormatError, Location, Stop};
use crate::model::{AdxSink, DataValueSink, RawDataValue, RawHeader};

/// Reads a DXF2 XML data value set and pushes its header and values into `sink`.
///
/// Finds the first `dataValueSet` start tag (at any depth), reads its attributes as the header,
/// then reports every `dataValue` start tag, at any depth, until `</dataValueSet>`; nothing
/// after that end tag is read. Empty attributes count as absent. The follow-up attribute is
/// `followUp` (`followup` is ignored, quirk); `followUp` and `deleted` are true when they equal
/// `true` in any letter case. `dryRun` is `Some(true)` only for exactly `true`. Child elements
/// of `dataValue` are ignored.
///
/// A body without a `dataValueSet` element (including an empty body) is an error, as is any
/// malformed XML met before `</dataValueSet>`.
pub fn read_xml<R: BufRead>(r: R, sink: &mut impl DataValueSink) -> Result<(), FormatError> {
    let mut reader = Reader::from_reader(r);
    let mut buf = Vec::with_capacity(1024);
    let mut index: u64 = 0;
    let mut header_seen = false;
    loop {
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(Format::Xml, &reader, e, header_seen.then_some(index)))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = e.local_name();
                if !header_seen {
                    if local.as_ref() == b"dataValueSet" {
                        let header = read_header(&reader, e)?;
                        header_seen = true;
                        sink.header(header).map_err(|Stop| FormatError::Stopped)?;
                        if matches!(event, Event::Empty(_)) {
                            return Ok(());
                        }
                    }
                } else if local.as_ref() == b"dataValue" {
                    let value = read_value(&reader, e, index)?;
                    sink.value(value).map_err(|Stop| FormatError::Stopped)?;
                    index += 1;
                }
            }
            Event::End(ref e) if header_seen && e.local_name().as_ref() == b"dataValueSet" => {
                return Ok(());
            }
            Event::Eof => {
                let message = if header_seen {
                    "Unexpected end of input: `dataValueSet` is not closed"
                } else if reader.buffer_position() == 0 {
                    "Unexpected end of input: empty XML document"
                } else {
                    "No `dataValueSet` element found"
                };
                return Err(FormatError::invalid(
                    Format::Xml,
                    message,
                    Location {
                        byte_offset: Some(reader.buffer_position()),
                        value_index: header_seen.then_some(index),
                        ..Location::default()
                    },
                ));
            }
            _ => {}
        }
    }
}

fn read_header<R>(reader: &Reader<R>, e: &BytesStart<'_>) -> Result<RawHeader, FormatError> {
    let mut h = RawHeader::default();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| attr_error(Format::Xml, reader, err, None))?;
        if attr.key.prefix().is_some() {
            continue;
        }
        let slot = match attr.key.local_name().as_ref() {
            b"dataSet" => &mut h.data_set,
            b"completeDate" => &mut h.complete_date,
            b"period" => &mut h.period,
            b"orgUnit" => &mut h.org_unit,
            b"attributeOptionCombo" => &mut h.attribute_option_combo,
            b"idScheme" => &mut h.id_scheme,
            b"dataElementIdScheme" => &mut h.data_element_id_scheme,
            b"orgUnitIdScheme" => &mut h.org_unit_id_scheme,
            b"categoryOptionComboIdScheme" => &mut h.category_option_combo_id_scheme,
            b"dataSetIdScheme" => &mut h.data_set_id_scheme,
            b"importStrategy" => &mut h.strategy,
            b"dryRun" => {
                let v = attr_value(Format::Xml, reader, &attr, None)?;
                h.dry_run = (v == "true").then_some(true);
                continue;
            }
            _ => continue,
        };
        let v = attr_value(Format::Xml, reader, &attr, None)?;
        *slot = (!v.is_empty()).then(|| v.into_owned());
    }
    Ok(h)
}

fn read_value<R>(
    reader: &Reader<R>,
    e: &BytesStart<'_>,
    index: u64,
) -> Result<RawDataValue, FormatError> {
    let mut v = RawDataValue::default();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| attr_error(Format::Xml, reader, err, Some(index)))?;
        if attr.key.prefix().is_some() {
            continue;
        }
        let slot = match attr.key.local_name().as_ref() {
            b"dataElement" => &mut v.data_element,
            b"period" => &mut v.period,
            b"orgUnit" => &mut v.org_unit,
            b"categoryOptionCombo" => &mut v.category_option_combo,
            b"attributeOptionCombo" => &mut v.attribute_option_combo,
            b"value" => &mut v.value,
            b"storedBy" => &mut v.stored_by,
            b"created" => &mut v.created,
            b"lastUpdated" => &mut v.last_updated,
            b"comment" => &mut v.comment,
            b"followUp" => {
                let s = attr_value(Format::Xml, reader, &attr, Some(index))?;
                v.followup = (!s.is_empty()).then(|| s.eq_ignore_ascii_case("true"));
                continue;
            }
            b"deleted" => {
                let s = attr_value(Format::Xml, reader, &attr, Some(index))?;
                v.deleted = (!s.is_empty()).then(|| s.eq_ignore_ascii_case("true"));
                continue;
            }
            _ => continue,
        };
        let s = attr_value(Format::Xml, reader, &attr, Some(index))?;
        *slot = (!s.is_empty()).then(|| s.into_owned());
    }
    Ok(v)
}

/// Reads an ADX document and pushes groups and values into `sink` (spec §9.1).
///
/// Finds the first `adx` element (local name; the namespace is not checked), then reports each
/// `group` child with all its attributes, each `dataValue` inside a group with its attributes
/// and the text of its first `annotation` child (other children, such as `created`, are
/// ignored), and each group end. `exported` is just another root attribute and is ignored.
/// Attributes are reported by local name in document order, namespace declarations excluded,
/// values unescaped and kept even when empty. Reading stops at `</adx>`.
///
/// An empty body, a body without an `adx` element, or malformed XML is an error.
pub fn read_adx<R: BufRead>(r: R, sink: &mut impl AdxSink) -> Result<(), FormatError> {
    let mut reader = Reader::from_reader(r);
    let mut buf = Vec::with_capacity(1024);
    let mut in_adx = false;
    let mut group_index: Option<usize> = None;
    let mut groups = 0usize;
    // Pending <dataValue> with children: its attributes, while the annotation is collected.
    let mut pending: Option<PendingValue> = None;
    let mut annotation_depth: Option<usize> = None;
    let mut value_depth = 0usize;
    loop {
        buf.clear();
        let loc_index = group_index.map(|g| g as u64);
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(Format::Adx, &reader, e, loc_index))?;
        // Inside a <dataValue> that has children: collect the first annotation's text.
        if let Some((_, annotation)) = pending.as_mut() {
            match &event {
                Event::Start(e) => {
                    value_depth += 1;
                    if annotation_depth.is_none()
                        && annotation.is_none()
                        && e.local_name().as_ref() == b"annotation"
                    {
                        annotation_depth = Some(value_depth);
                        *annotation = Some(String::new());
                    }
                }
                Event::Empty(e)
                    if annotation_depth.is_none()
                        && annotation.is_none()
                        && e.local_name().as_ref() == b"annotation" =>
                {
                    *annotation = Some(String::new());
                }
                Event::Text(t) if annotation_depth.is_some() => {
                    let text = t
                        .xml10_content()
                        .map_err(|e| xml_error(Format::Adx, &reader, e.into(), loc_index))?;
                    push_text(annotation, &text);
                }
                Event::CData(t) if annotation_depth.is_some() => {
                    let text = t
                        .xml10_content()
                        .map_err(|e| xml_error(Format::Adx, &reader, e.into(), loc_index))?;
                    push_text(annotation, &text);
                }
                Event::GeneralRef(r) if annotation_depth.is_some() => {
                    let text = resolve_ref(&reader, r, loc_index)?;
                    push_text(annotation, &text);
                }
                Event::End(_) => {
                    if value_depth == 0 {
                        // </dataValue>
                        if let Some((attributes, annotation)) = pending.take() {
                            sink.value(attributes, annotation)
                                .map_err(|Stop| FormatError::Stopped)?;
                        }
                    } else {
                        if annotation_depth == Some(value_depth) {
                            annotation_depth = None;
                        }
                        value_depth -= 1;
                    }
                }
                Event::Eof => return Err(adx_eof(&reader, loc_index)),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                if !in_adx {
                    if local.as_ref() == b"adx" {
                        if empty {
                            return Ok(());
                        }
                        in_adx = true;
                    }
                } else if group_index.is_none() {
                    if local.as_ref() == b"group" {
                        let attributes = all_attributes(&reader, e, Some(groups as u64))?;
                        sink.group(groups, attributes)
                            .map_err(|Stop| FormatError::Stopped)?;
                        if empty {
                            sink.group_end().map_err(|Stop| FormatError::Stopped)?;
                        } else {
                            group_index = Some(groups);
                        }
                        groups += 1;
                    }
                } else if local.as_ref() == b"dataValue" {
                    let attributes = all_attributes(&reader, e, loc_index)?;
                    if empty {
                        sink.value(attributes, None)
                            .map_err(|Stop| FormatError::Stopped)?;
                    } else {
                        pending = Some((attributes, None));
                        value_depth = 0;
                        annotation_depth = None;
                    }
                }
            }
            Event::End(ref e) => {
                let local = e.local_name();
                if group_index.is_some() && local.as_ref() == b"group" {
                    group_index = None;
                    sink.group_end().map_err(|Stop| FormatError::Stopped)?;
                } else if in_adx && group_index.is_none() && local.as_ref() == b"adx" {
                    return Ok(());
                }
            }
            Event::Eof => {
                if !in_adx {
                    let message = if reader.buffer_position() == 0 {
                        "Unexpected end of input: empty ADX document"
                    } else {
                        "No `adx` element found"
                    };
                    return Err(FormatError::invalid(
                        Format::Adx,
                        message,
                        Location {
                            byte_offset: Some(reader.buffer_position()),
                            ..Location::default()
                        },
                    ));
                }
                return Err(adx_eof(&reader, loc_index));
            }
            _ => {}
        }
    }
}

/// A `<dataValue>` with children: its attributes and the annotation collected so far.
type PendingValue = (Vec<(String, String)>, Option<String>);

fn push_text(annotation: &mut Option<String>, text: &str) {
    if let Some(a) = annotation.as_mut() {
        a.push_str(text);
    }
}

fn adx_eof<R>(reader: &Reader<R>, index: Option<u64>) -> FormatError {
    FormatError::invalid(
        Format::Adx,
        "Unexpected end of input: `adx` is not closed",
        Location {
            byte_offset: Some(reader.buffer_position()),
            value_index: index,
            ..Location::default()
        },
    )
}

/// All attributes of an element by local name, in document order, without namespace
/// declarations.
fn all_attributes<R>(
    reader: &Reader<R>,
    e: &BytesStart<'_>,
    index: Option<u64>,
) -> Result<Vec<(String, String)>, FormatError> {
    let mut out = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| attr_error(Format::Adx, reader, err, index))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let name = std::str::from_utf8(attr.key.local_name().into_inner())
            .map_err(|_| {
                FormatError::invalid(
                    Format::Adx,
                    "attribute name is not valid UTF-8",
                    position(reader, index),
                )
            })?
            .to_owned();
        let value = attr_value(Format::Adx, reader, &attr, index)?.into_owned();
        out.push((name, value));
    }
    Ok(out)
}

/// Unescapes an attribute value after XML attribute-value normalisation of literal whitespace.
fn attr_value<'a, R>(
    format: Format,
    reader: &Reader<R>,
    attr: &'a Attribute<'a>,
    index: Option<u64>,
) -> Result<Cow<'a, str>, FormatError> {
    let raw: &[u8] = &attr.value;
    let result = if raw.iter().any(|&b| matches!(b, b'\t' | b'\n' | b'\r')) {
        let mut normalised = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'\r' => {
                    normalised.push(b' ');
                    if raw.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                b'\t' | b'\n' => normalised.push(b' '),
                b => normalised.push(b),
            }
            i += 1;
        }
        let attr = Attribute {
            key: attr.key,
            value: Cow::Owned(normalised),
        };
        attr.decode_and_unescape_value(reader.decoder())
            .map(|v| Cow::Owned(v.into_owned()))
    } else {
        attr.decode_and_unescape_value(reader.decoder())
    };
    result.map_err(|e| xml_error(format, reader, e, index))
}

fn resolve_ref<R>(
    reader: &Reader<R>,
    r: &BytesRef<'_>,
    index: Option<u64>,
) -> Result<String, FormatError> {
    if let Some(ch) = r
        .resolve_char_ref()
        .map_err(|e| xml_error(Format::Adx, reader, e, index))?
    {
        return Ok(ch.to_string());
    }
    let name = r
        .decode()
        .map_err(|e| xml_error(Format::Adx, reader, e.into(), index))?;
    match quick_xml::escape::resolve_predefined_entity(&name) {
        Some(s) => Ok(s.to_owned()),
        None => Err(FormatError::invalid(
            Format::Adx,
            format!("undefined entity `&{name};`"),
            position(reader, index),
        )),
    }
}

fn position<R>(reader: &Reader<R>, index: Option<u64>) -> Location {
    Location {
        byte_offset: Some(reader.buffer_position()),
        value_index: index,
        ..Location::default()
    }
}

fn xml_error<R>(
    format: Format,
    reader: &Reader<R>,
    e: quick_xml::Error,
    index: Option<u64>,
) -> FormatError {
    if let quick_xml::Error::Io(io) = &e {
        return FormatError::Io(std::io::Error::new(io.kind(), io.to_string()));
    }
    FormatError::invalid(
        format,
        e.to_string(),
        Location {
            byte_offset: Some(reader.error_position()),
            value_index: index,
            ..Location::default()
        },
    )
}

fn attr_error<R>(
    format: Format,
    reader: &Reader<R>,
    e: quick_xml::events::attributes::AttrError,
    index: Option<u64>,
) -> FormatError {
    FormatError::invalid(format, e.to_string(), position(reader, index))
}

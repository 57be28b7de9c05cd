//! Writer output shapes (snapshots), write → read round trips, and schema validation.

mod common;

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;

use common::{AdxCollect, AdxEvent, Collect, attrs, conformance};
use proptest::prelude::*;
use tally_formats::{
    AdxWriter, CsvWriter, ExportHeader, ExportValue, JsonWriter, RawDataValue, RawHeader,
    XmlWriter, read_adx, read_csv, read_json, read_xml,
};

const TS: &str = "2024-01-05T10:15:30.123+0000";

fn sample_values() -> Vec<ExportValue<'static>> {
    vec![
        ExportValue {
            data_element: Some("f7n9E0hX8qk"),
            period: Some("201401"),
            org_unit: Some("DiszpKrYNg8"),
            category_option_combo: Some("HllvX50cXC0"),
            attribute_option_combo: Some("HllvX50cXC0"),
            value: Some("12"),
            stored_by: Some("admin"),
            created: TS,
            last_updated: TS,
            comment: None,
            followup: false,
            deleted: false,
        },
        ExportValue {
            data_element: Some("Ix2HsbDMLea"),
            period: Some("201401"),
            org_unit: Some("DiszpKrYNg8"),
            category_option_combo: None,
            attribute_option_combo: Some("HllvX50cXC0"),
            value: Some("a,b \"q\" <&> é\nline\ttab"),
            stored_by: None,
            created: "2023-12-31T23:59:59.999+0000",
            last_updated: TS,
            comment: Some("c"),
            followup: true,
            deleted: true,
        },
        ExportValue {
            data_element: Some("eY5ehpbEsB7"),
            period: Some("2014Q1"),
            org_unit: Some("BdfsJfj87js"),
            category_option_combo: Some("HllvX50cXC0"),
            attribute_option_combo: Some("HllvX50cXC0"),
            value: None,
            stored_by: Some("john"),
            created: TS,
            last_updated: TS,
            comment: Some(" comment only "),
            followup: false,
            deleted: false,
        },
    ]
}

const SINGLE: ExportHeader<'static> = ExportHeader {
    data_set: Some("pBOMPrpg1QX"),
    complete_date: None,
    period: Some("201401"),
    org_unit: Some("DiszpKrYNg8"),
};

fn json_out(header: &ExportHeader<'_>, values: &[ExportValue<'_>]) -> String {
    let mut w = JsonWriter::new(Vec::new());
    w.begin(header).unwrap();
    for v in values {
        w.write(v).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

fn xml_out(header: &ExportHeader<'_>, values: &[ExportValue<'_>]) -> String {
    let mut w = XmlWriter::new(Vec::new());
    w.begin(header).unwrap();
    for v in values {
        w.write(v).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

fn csv_out(values: &[ExportValue<'_>]) -> String {
    let mut w = CsvWriter::new(Vec::new());
    w.begin(&ExportHeader::default()).unwrap();
    for v in values {
        w.write(v).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

fn adx_sample() -> String {
    let mut w = AdxWriter::new(Vec::new());
    w.group(&[
        ("dataSet", "MalariaDS"),
        ("period", "2020-01-01/P1M"),
        ("orgUnit", "123"),
    ])
    .unwrap();
    w.value(
        "Malaria numeric",
        &[("Age_category", "under5"), ("Sex_category", "F")],
        "1",
        None,
    )
    .unwrap();
    w.value("Malaria text", &[], "0", Some("Some <text> & \"more\""))
        .unwrap();
    w.end_group().unwrap();
    w.group(&[
        ("dataSet", "Malaria Mechanism DS"),
        ("period", "2020-01-01/P1M"),
        ("orgUnit", "D4566666666"),
        ("mechanism", "Mc\"Donalds"),
    ])
    .unwrap();
    w.value("MalNum", &[("sex", "M")], "2.5", None).unwrap();
    w.end_group().unwrap();
    String::from_utf8(w.finish().unwrap()).unwrap()
}

#[test]
fn json_snapshots() {
    insta::assert_snapshot!("json_single_set", json_out(&SINGLE, &sample_values()));
    insta::assert_snapshot!(
        "json_multi_set",
        json_out(&ExportHeader::default(), &sample_values()[..1])
    );
    insta::assert_snapshot!("json_empty", json_out(&ExportHeader::default(), &[]));
}

#[test]
fn json_output_is_valid_json_with_explicit_nulls() {
    let out = json_out(&SINGLE, &sample_values());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["completeDate"], serde_json::Value::Null);
    assert!(v.as_object().unwrap().contains_key("completeDate"));
    let values = v["dataValues"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    assert!(values[0].as_object().unwrap().contains_key("comment"));
    assert_eq!(values[0]["comment"], serde_json::Value::Null);
    assert_eq!(values[0]["followup"], false);
    assert!(!values[0].as_object().unwrap().contains_key("deleted"));
    assert_eq!(values[1]["deleted"], true);
    assert_eq!(values[1]["value"], "a,b \"q\" <&> é\nline\ttab");
    let multi: serde_json::Value =
        serde_json::from_str(&json_out(&ExportHeader::default(), &sample_values())).unwrap();
    assert_eq!(multi.as_object().unwrap().len(), 1, "only dataValues");
}

#[test]
fn xml_snapshots() {
    insta::assert_snapshot!("xml_single_set", xml_out(&SINGLE, &sample_values()));
    insta::assert_snapshot!("xml_empty", xml_out(&ExportHeader::default(), &[]));
}

#[test]
fn csv_snapshot() {
    insta::assert_snapshot!("csv", csv_out(&sample_values()));
}

#[test]
fn adx_snapshot() {
    insta::assert_snapshot!("adx", adx_sample());
}

#[test]
fn writers_reject_misuse() {
    let mut w = JsonWriter::new(Vec::new());
    assert!(w.write(&sample_values()[0]).is_err());
    let mut w = XmlWriter::new(Vec::new());
    assert!(w.write(&sample_values()[0]).is_err());
    let mut w = CsvWriter::new(Vec::new());
    assert!(w.write(&sample_values()[0]).is_err());
    let mut w = AdxWriter::new(Vec::new());
    assert!(w.value("de", &[], "1", None).is_err());
    assert!(w.end_group().is_err());
    assert!(w.group(&[("bad name", "x")]).is_err());
    w.group(&[("period", "p")]).unwrap();
    assert!(w.group(&[("period", "p")]).is_err());
    assert!(w.value("de", &[("1bad", "x")], "1", None).is_err());
    // finish closes an open group.
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        r#"<adx xmlns="urn:ihe:qrph:adx:2015"><group period="p"></group></adx>"#
    );
}

#[test]
fn large_output_is_flushed_in_chunks() {
    /// Counts writes so the test sees buffering happen before finish.
    struct Sink(Vec<u8>, usize);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.1 += 1;
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = JsonWriter::new(Sink(Vec::new(), 0));
    w.begin(&ExportHeader::default()).unwrap();
    let v = sample_values()[0];
    for _ in 0..2000 {
        w.write(&v).unwrap();
    }
    assert!(w.get_ref().1 >= 3, "buffer passed on while writing");
    let sink = w.finish().unwrap();
    let mut collect = Collect::default();
    read_json(Cursor::new(sink.0), &mut collect).unwrap();
    assert_eq!(collect.values.len(), 2000);
}

// ------------------------------------------------------------ round trips

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ,;\"'<>&=/\\\\\n\r\t]{0,12}",
        "\\PC{0,8}",
        any::<String>(),
    ]
}

#[derive(Debug, Clone)]
struct OwnedValue {
    strings: [Option<String>; 7],
    comment: Option<String>,
    created: String,
    last_updated: String,
    followup: bool,
    deleted: bool,
}

impl OwnedValue {
    fn export(&self) -> ExportValue<'_> {
        let s = |i: usize| self.strings[i].as_deref();
        ExportValue {
            data_element: s(0),
            period: s(1),
            org_unit: s(2),
            category_option_combo: s(3),
            attribute_option_combo: s(4),
            value: s(5),
            stored_by: s(6),
            created: &self.created,
            last_updated: &self.last_updated,
            comment: self.comment.as_deref(),
            followup: self.followup,
            deleted: self.deleted,
        }
    }

    /// Replaces characters XML 1.0 cannot carry (the writer turns them into U+FFFD).
    fn xml_safe(mut self) -> Self {
        let clean = |s: &mut String| {
            *s = s
                .chars()
                .map(|c| match c {
                    '\t' | '\n' | '\r' => c,
                    '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
                    c => c,
                })
                .collect();
        };
        for s in self.strings.iter_mut().flatten() {
            clean(s);
        }
        if let Some(c) = self.comment.as_mut() {
            clean(c);
        }
        clean(&mut self.created);
        clean(&mut self.last_updated);
        self
    }
}

fn owned_value() -> impl Strategy<Value = OwnedValue> {
    (
        proptest::array::uniform7(proptest::option::of(text())),
        proptest::option::of(text()),
        text(),
        text(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(strings, comment, created, last_updated, followup, deleted)| OwnedValue {
                strings,
                comment,
                created,
                last_updated,
                followup,
                deleted,
            },
        )
}

fn header() -> impl Strategy<Value = [Option<String>; 4]> {
    proptest::array::uniform4(proptest::option::of(text()))
}

fn export_header(h: &[Option<String>; 4]) -> ExportHeader<'_> {
    ExportHeader {
        data_set: h[0].as_deref(),
        complete_date: h[1].as_deref(),
        period: h[2].as_deref(),
        org_unit: h[3].as_deref(),
    }
}

/// What a reader reports for a written value, given how the format represents absence.
fn expected(v: &OwnedValue, absent: impl Fn(Option<&str>) -> Option<String>) -> RawDataValue {
    let s = |i: usize| absent(v.strings[i].as_deref());
    RawDataValue {
        data_element: s(0),
        period: s(1),
        org_unit: s(2),
        category_option_combo: s(3),
        attribute_option_combo: s(4),
        value: s(5),
        stored_by: s(6),
        created: absent(Some(&v.created)),
        last_updated: absent(Some(&v.last_updated)),
        comment: absent(v.comment.as_deref()),
        followup: Some(v.followup),
        deleted: v.deleted.then_some(true),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn json_round_trip(h in header(), values in proptest::collection::vec(owned_value(), 0..5)) {
        let exported: Vec<_> = values.iter().map(OwnedValue::export).collect();
        let out = json_out(&export_header(&h), &exported);
        let mut sink = Collect::default();
        read_json(Cursor::new(out.as_bytes()), &mut sink).unwrap();
        let got = sink.header.unwrap();
        prop_assert_eq!(
            [got.data_set, got.complete_date, got.period, got.org_unit],
            h
        );
        let want: Vec<_> = values.iter().map(|v| expected(v, |s| s.map(str::to_owned))).collect();
        prop_assert_eq!(sink.values, want);
    }

    #[test]
    fn xml_round_trip(h in header(), values in proptest::collection::vec(owned_value(), 0..5)) {
        let values: Vec<_> = values.into_iter().map(OwnedValue::xml_safe).collect();
        let h = h.map(|o| o.map(|s| OwnedValue {
            strings: Default::default(), comment: None, created: s, last_updated: String::new(),
            followup: false, deleted: false,
        }.xml_safe().created));
        let exported: Vec<_> = values.iter().map(OwnedValue::export).collect();
        let out = xml_out(&export_header(&h), &exported);
        let mut sink = Collect::default();
        read_xml(out.as_bytes(), &mut sink).unwrap();
        let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
        let got = sink.header.unwrap();
        prop_assert_eq!(
            [got.data_set, got.complete_date, got.period, got.org_unit],
            h.map(|o| non_empty(o.as_deref()))
        );
        let want: Vec<_> = values.iter().map(|v| expected(v, non_empty)).collect();
        prop_assert_eq!(sink.values, want);
    }

    #[test]
    fn csv_round_trip(values in proptest::collection::vec(owned_value(), 0..5)) {
        let exported: Vec<_> = values.iter().map(OwnedValue::export).collect();
        let out = csv_out(&exported);
        let mut sink = Collect::default();
        read_csv(out.as_bytes(), true, &mut sink).unwrap();
        prop_assert_eq!(sink.header.unwrap(), RawHeader::default());
        let want: Vec<_> = values
            .iter()
            .map(|v| RawDataValue {
                created: None,
                deleted: Some(v.deleted),
                ..expected(v, |s| Some(s.unwrap_or("").to_owned()))
            })
            .collect();
        prop_assert_eq!(sink.values, want);
    }

    #[test]
    fn adx_round_trip(
        groups in proptest::collection::vec(
            (text(), proptest::collection::vec((text(), text(), proptest::option::of(text())), 0..3)),
            0..3,
        )
    ) {
        let clean = |s: &str| OwnedValue {
            strings: Default::default(), comment: None, created: s.to_owned(),
            last_updated: String::new(), followup: false, deleted: false,
        }.xml_safe().created;
        let mut w = AdxWriter::new(Vec::new());
        let mut want = Vec::new();
        for (i, (period, values)) in groups.iter().enumerate() {
            let period = clean(period);
            w.group(&[("period", &period), ("orgUnit", "ou")]).unwrap();
            want.push(AdxEvent::Group(i, attrs(&[("period", &period), ("orgUnit", "ou")])));
            for (de, value, annotation) in values {
                let (de, value) = (clean(de), clean(value));
                let annotation = annotation.as_deref().map(clean);
                w.value(&de, &[("SEX", "F")], &value, annotation.as_deref()).unwrap();
                want.push(AdxEvent::Value(
                    attrs(&[("dataElement", &de), ("SEX", "F"), ("value", &value)]),
                    annotation,
                ));
            }
            w.end_group().unwrap();
            want.push(AdxEvent::End);
        }
        let out = w.finish().unwrap();
        let mut sink = AdxCollect::default();
        read_adx(&out[..], &mut sink).unwrap();
        prop_assert_eq!(sink.events, want);
    }
}

// ------------------------------------------------------------ schemas

/// Runs `xmllint --schema`. A missing xmllint fails the test: install `libxml2-utils`.
fn xmllint(schema: &Path, document: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, document).unwrap();
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint is required for schema tests (apt-get install -y libxml2-utils): {e}")
        });
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn xml_export_validates_against_the_dxf2_schema() {
    let schema = conformance("schemas/dxf2_datavalueset_loose.xsd");
    for doc in [
        xml_out(&SINGLE, &sample_values()),
        xml_out(&ExportHeader::default(), &sample_values()),
        xml_out(&ExportHeader::default(), &[]),
    ] {
        let (ok, log) = xmllint(&schema, &doc);
        assert!(ok, "{log}\n{doc}");
    }
    // The check can fail: a value without dataElement breaks the schema.
    let mut bad = sample_values()[0];
    bad.data_element = None;
    let (ok, _) = xmllint(&schema, &xml_out(&SINGLE, &[bad]));
    assert!(!ok, "schema must reject a dataValue without dataElement");
}

/// The IHE loose ADX schema requires an `exported` root attribute that DHIS2 does not write
/// (spec §9.6). So: the DHIS2-shaped output must fail *only* because of `exported`, and the
/// same document with `exported` added must validate (group/dataValue structure, required
/// `orgUnit`/`period`/`dataElement`/`value`, decimal values, period syntax).
#[test]
fn adx_export_validates_against_the_loose_schema_except_exported() {
    let schema = conformance("schemas/adx/adx_loose.xsd");
    let doc = adx_sample();
    let (ok, log) = xmllint(&schema, &doc);
    assert!(!ok, "exported is required by the loose schema");
    let errors: Vec<_> = log
        .lines()
        .filter(|l| l.contains("validity error") || l.contains("Schemas validity error"))
        .collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].contains("exported"), "{log}");

    let with_exported = doc.replacen(
        r#"<adx xmlns="urn:ihe:qrph:adx:2015">"#,
        r#"<adx xmlns="urn:ihe:qrph:adx:2015" exported="2024-01-01T00:00:00Z">"#,
        1,
    );
    let (ok, log) = xmllint(&schema, &with_exported);
    assert!(ok, "{log}\n{with_exported}");
    // And the schema does catch structure errors.
    let broken = with_exported.replacen(r#" orgUnit="123""#, "", 1);
    assert!(!xmllint(&schema, &broken).0);
}

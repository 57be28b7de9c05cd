//! Format rules of the readers on hand-written documents (spec §1.2–§1.4, §9.1).

mod common;

use std::io::Cursor;

use common::{AdxCollect, AdxEvent, Collect, attrs, s};
use tally_formats::{
    EMPTY_JSON_MESSAGE, Format, FormatError, RawDataValue, read_adx, read_csv, read_json, read_xml,
};

fn json(doc: &str) -> Result<Collect, FormatError> {
    let mut sink = Collect::default();
    read_json(Cursor::new(doc.as_bytes()), &mut sink).map(|()| sink)
}

fn xml(doc: &str) -> Result<Collect, FormatError> {
    let mut sink = Collect::default();
    read_xml(doc.as_bytes(), &mut sink).map(|()| sink)
}

fn csv(doc: &str) -> Result<Collect, FormatError> {
    let mut sink = Collect::default();
    read_csv(doc.as_bytes(), true, &mut sink).map(|()| sink)
}

fn adx(doc: &str) -> Result<AdxCollect, FormatError> {
    let mut sink = AdxCollect::default();
    read_adx(doc.as_bytes(), &mut sink).map(|()| sink)
}

fn message(e: &FormatError) -> String {
    match e {
        FormatError::Invalid { message, .. } => message.clone(),
        other => panic!("not an Invalid error: {other:?}"),
    }
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_header_after_values_is_delivered_first() {
    let sink = json(
        r#"{"dataValues":[{"dataElement":"de1","value":"1"},{"dataElement":"de2"}],
            "dataSet":"ds","completeDate":"2024-01-01","period":"202401","orgUnit":"ou",
            "attributeOptionCombo":"aoc","attributeCategoryOptions":["o1",null,"o2"],
            "idScheme":"CODE","dataElementIdScheme":"UID","orgUnitIdScheme":"NAME",
            "categoryOptionComboIdScheme":"CODE","dataSetIdScheme":"ATTRIBUTE:x",
            "dryRun":false,"strategy":"DELETE","unknown":{"nested":[1,{"a":null}]}}"#,
    )
    .unwrap();
    // Collect asserts the header came before the values.
    let h = sink.header.unwrap();
    assert_eq!(h.data_set, s("ds"));
    assert_eq!(h.complete_date, s("2024-01-01"));
    assert_eq!(h.period, s("202401"));
    assert_eq!(h.org_unit, s("ou"));
    assert_eq!(h.attribute_option_combo, s("aoc"));
    assert_eq!(
        h.attribute_category_options,
        Some(vec!["o1".to_owned(), "o2".to_owned()])
    );
    assert_eq!(h.id_scheme, s("CODE"));
    assert_eq!(h.data_element_id_scheme, s("UID"));
    assert_eq!(h.org_unit_id_scheme, s("NAME"));
    assert_eq!(h.category_option_combo_id_scheme, s("CODE"));
    assert_eq!(h.data_set_id_scheme, s("ATTRIBUTE:x"));
    assert_eq!(h.dry_run, Some(false));
    assert_eq!(h.strategy, s("DELETE"));
    assert_eq!(sink.values.len(), 2);
    assert_eq!(sink.values[1].data_element, s("de2"));
}

#[test]
fn json_scalars_are_coerced_like_jackson() {
    let sink = json(
        r#"{"dataValues":[
            {"value":12,"comment":12.50,"storedBy":true,"period":-1.5e3,"orgUnit":false,"created":null},
            {"value":"","comment":"","followup":"TRUE","deleted":"false"},
            {"value":"a\"b\\c\n\u00e9\ud83d\ude00","followup":1,"deleted":0},
            {"followUp":true,"followup":null,"deleted":""},
            {"followup":"True","deleted":"FALSE","value":"x","value":"last wins"}
        ]}"#,
    )
    .unwrap();
    let v = &sink.values;
    assert_eq!(v[0].value, s("12"));
    assert_eq!(v[0].comment, s("12.50"));
    assert_eq!(v[0].stored_by, s("true"));
    assert_eq!(v[0].period, s("-1.5e3"));
    assert_eq!(v[0].org_unit, s("false"));
    assert_eq!(v[0].created, None);
    assert_eq!(v[0].followup, None);
    assert_eq!(v[1].value, s(""), "JSON empty strings are not null");
    assert_eq!(v[1].comment, s(""));
    assert_eq!((v[1].followup, v[1].deleted), (Some(true), Some(false)));
    assert_eq!(v[2].value, s("a\"b\\c\né😀"));
    assert_eq!((v[2].followup, v[2].deleted), (Some(true), Some(false)));
    assert_eq!(
        (v[3].followup, v[3].deleted),
        (None, None),
        "followUp is not the JSON key"
    );
    assert_eq!((v[4].followup, v[4].deleted), (Some(true), Some(false)));
    assert_eq!(v[4].value, s("last wins"));
}

#[test]
fn json_empty_object_and_null_values() {
    for doc in [
        "{}",
        " \n{ } trailing garbage is ignored like Jackson",
        r#"{"dataValues":null}"#,
        r#"{"dataValues":[]}"#,
    ] {
        let sink = json(doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert_eq!(sink.header_calls, 1, "{doc}");
        assert!(sink.values.is_empty(), "{doc}");
        assert_eq!(sink.header.unwrap(), Default::default());
    }
}

#[test]
fn json_bom_is_skipped() {
    let sink = json("\u{feff}{\"dataValues\":[{\"value\":\"1\"}]}").unwrap();
    assert_eq!(sink.values.len(), 1);
}

#[test]
fn json_repeated_data_values_keeps_the_last_array() {
    let sink = json(r#"{"dataValues":[{"value":"1"}],"dataValues":[{"value":"2"},{"value":"3"}]}"#)
        .unwrap();
    let values: Vec<_> = sink.values.iter().map(|v| v.value.clone()).collect();
    assert_eq!(values, [s("2"), s("3")]);
}

#[test]
fn json_empty_body_is_the_jackson_message() {
    for doc in ["", "   \n\t"] {
        let mut sink = Collect::default();
        let err = read_json(Cursor::new(doc.as_bytes()), &mut sink).unwrap_err();
        assert!(err.to_string().contains(EMPTY_JSON_MESSAGE), "{err}");
        assert_eq!(sink.header_calls, 0);
    }
}

#[test]
fn json_syntax_errors_keep_serde_json_text_and_stop_before_any_value() {
    let doc = "{\"dataValues\":[\n{\"value\":\"1\"},\n{\"value\":\"2\"},\n]}";
    let mut sink = Collect::default();
    let err = read_json(Cursor::new(doc.as_bytes()), &mut sink).unwrap_err();
    let serde_err = serde_json::from_str::<serde::de::IgnoredAny>(doc).unwrap_err();
    assert_eq!(
        message(&err),
        serde_err
            .to_string()
            .split(" at line ")
            .next()
            .unwrap()
            .to_owned()
    );
    let loc = err.location().unwrap();
    assert_eq!(loc.line, Some(serde_err.line() as u64));
    assert_eq!(loc.column, Some(serde_err.column() as u64));
    assert_eq!(sink.header_calls, 0, "pass 1 validates the whole document");
    assert!(sink.values.is_empty());

    for bad in [
        "{",
        "{\"dataValues\":[{\"value\":\"1\"}",
        "{\"a\" 1}",
        "{\"dataValues\":[{\"value\":\"unterminated}]}",
        "nonsense",
        "{\"a\":tru}",
    ] {
        let err = json(bad).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::Invalid {
                    format: Format::Json,
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
        assert!(err.location().unwrap().line.is_some(), "{bad}: {err}");
    }
}

#[test]
fn json_invalid_utf8_is_an_error() {
    for doc in [
        &b"{\"dataValues\":[{\"value\":\"ok\"},{\"value\":\"\xff\"}]}"[..],
        b"{\"dataValues\":[],\"unknown\":\"\xc3\x28\"}",
        b"{\"\xe9\":1}",
    ] {
        let mut sink = Collect::default();
        let err = read_json(Cursor::new(doc), &mut sink).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::Invalid {
                    format: Format::Json,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(sink.values.is_empty());
    }
    // Valid multi-byte text, raw and escaped, mixed.
    let sink = json("{\"dataValues\":[{\"value\":\"é\\u00e9ü€😀\"}]}").unwrap();
    assert_eq!(sink.values[0].value, s("ééü€😀"));
}

#[test]
fn json_type_errors_name_the_value_index() {
    let err = json(r#"{"dataValues":[{"value":"1"},{"value":[1,2]}]}"#).unwrap_err();
    assert_eq!(err.location().unwrap().value_index, Some(1));
    assert!(message(&err).contains("sequence"), "{err}");
    let err = json(r#"{"dataValues":[{},{},{"followup":"yes"}]}"#).unwrap_err();
    assert_eq!(err.location().unwrap().value_index, Some(2));
    assert!(message(&err).contains("\"yes\""), "{err}");
    let err = json(r#"{"dataValues":[null]}"#).unwrap_err();
    assert_eq!(err.location().unwrap().value_index, Some(0));
    let err = json(r#"{"dataValues":{"value":"1"}}"#).unwrap_err();
    assert!(message(&err).contains("list"), "{err}");
    let err = json(r#"[{"value":"1"}]"#).unwrap_err();
    assert!(message(&err).contains("object"), "{err}");
    let err = json(r#"{"dataSet":{"id":"x"}}"#).unwrap_err();
    assert!(message(&err).contains("map"), "{err}");
}

#[test]
fn json_stop_ends_the_read() {
    let mut sink = Collect {
        stop_after: Some(1),
        ..Collect::default()
    };
    let err = read_json(
        Cursor::new(br#"{"dataValues":[{"value":"1"},{"value":"2"},{"value":"3"}]}"#),
        &mut sink,
    )
    .unwrap_err();
    assert!(matches!(err, FormatError::Stopped));
    assert_eq!(sink.values.len(), 1);
}

#[test]
fn json_reads_from_the_current_position() {
    let mut cursor = Cursor::new(b"JUNK{\"period\":\"202401\",\"dataValues\":[{}]}".to_vec());
    cursor.set_position(4);
    let mut sink = Collect::default();
    read_json(cursor, &mut sink).unwrap();
    assert_eq!(sink.header.unwrap().period, s("202401"));
    assert_eq!(sink.values.len(), 1);
}

// ---------------------------------------------------------------- XML

#[test]
fn xml_ignores_namespaces_and_wrappers() {
    let docs = [
        r#"<dataValueSet dataSet="ds"><dataValue dataElement="a" value="1"/></dataValueSet>"#,
        r#"<?xml version="1.0"?><d:dataValueSet xmlns:d="http://dhis2.org/schema/dxf/2.0" dataSet="ds"><d:dataValues><d:dataValue dataElement="a" value="1"></d:dataValue></d:dataValues></d:dataValueSet>"#,
        r#"<envelope><dataValueSet xmlns="urn:other" dataSet="ds"><x><dataValue dataElement="a" value="1"><value>9</value></dataValue></x></dataValueSet></envelope>"#,
    ];
    for doc in docs {
        let sink = xml(doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert_eq!(sink.header.unwrap().data_set, s("ds"), "{doc}");
        assert_eq!(
            sink.values,
            [RawDataValue {
                data_element: s("a"),
                value: s("1"),
                ..RawDataValue::default()
            }],
            "{doc}"
        );
    }
}

#[test]
fn xml_attribute_rules() {
    let sink = xml(concat!(
        r#"<dataValueSet dryRun="True" importStrategy="UPDATE" period="" idScheme="CODE">"#,
        r#"<dataValue followUp="TRUE" deleted="yes" comment="a&amp;b&#10;c&lt;" storedBy="x&#9;y"/>"#,
        "<dataValue followUp=\"\" deleted=\"True\" comment=\"line\nbreak\ttab\r\nx\"/>",
        r#"<dataValue followup="true" p:value="prefixed" xmlns:p="urn:p" timestamp="2012"/>"#,
        r#"</dataValueSet><not-read>"#
    ))
    .unwrap();
    let h = sink.header.unwrap();
    assert_eq!(h.dry_run, None, "only exactly `true` counts");
    assert_eq!(h.strategy, s("UPDATE"));
    assert_eq!(h.period, None);
    assert_eq!(h.id_scheme, s("CODE"));
    let v = &sink.values;
    assert_eq!((v[0].followup, v[0].deleted), (Some(true), Some(false)));
    assert_eq!(v[0].comment, s("a&b\nc<"));
    assert_eq!(v[0].stored_by, s("x\ty"));
    assert_eq!((v[1].followup, v[1].deleted), (None, Some(true)));
    assert_eq!(
        v[1].comment,
        s("line break tab x"),
        "literal whitespace is normalised as XML requires"
    );
    assert_eq!(v[2], RawDataValue::default());
    let sink = xml(r#"<dataValueSet dryRun="true"/>"#).unwrap();
    assert_eq!(sink.header.unwrap().dry_run, Some(true));
    assert!(sink.values.is_empty());
}

#[test]
fn xml_errors() {
    for (doc, index) in [
        ("", None),
        ("<other/>", None),
        // Both values were delivered; the error is met while looking for value 2.
        (
            "<dataValueSet><dataValue value='1'/><dataValue value='2'></dataValueSet>",
            Some(2),
        ),
        ("<dataValueSet><dataValue value='1'/>", Some(1)),
        (
            "<dataValueSet><dataValue value='&bogus;'/></dataValueSet>",
            Some(0),
        ),
        ("not xml at all", None),
    ] {
        let err = xml(doc).unwrap_err();
        let FormatError::Invalid {
            format: Format::Xml,
            location,
            ..
        } = &err
        else {
            panic!("{doc}: {err:?}")
        };
        assert!(location.byte_offset.is_some(), "{doc}");
        if index.is_some() {
            assert_eq!(location.value_index, index, "{doc}: {err}");
        }
    }
}

#[test]
fn xml_stop() {
    let mut sink = Collect {
        stop_after: Some(0),
        ..Collect::default()
    };
    let err = read_xml(
        &b"<dataValueSet><dataValue value='1'/></dataValueSet>"[..],
        &mut sink,
    )
    .unwrap_err();
    assert!(matches!(err, FormatError::Stopped));
}

// ---------------------------------------------------------------- CSV

#[test]
fn csv_rules() {
    let sink = csv(concat!(
        "\u{feff}any,header,at,all\r\n",
        "de, pe ,\" ou \",coc,aoc,\"1,5\",by,lu,\"say \"\"hi\"\"\",TRUE,True,extra,columns\r\n",
        "\r\n",
        "de2,pe2\n",
        "de3,pe3,ou3,,,\"multi\nline\",,,,false,yes\r",
        "last"
    ))
    .unwrap();
    let v = &sink.values;
    assert_eq!(v.len(), 4);
    assert_eq!(
        v[0],
        RawDataValue {
            data_element: s("de"),
            period: s("pe"),
            org_unit: s(" ou "),
            category_option_combo: s("coc"),
            attribute_option_combo: s("aoc"),
            value: s("1,5"),
            stored_by: s("by"),
            created: None,
            last_updated: s("lu"),
            comment: s("say \"hi\""),
            followup: Some(true),
            deleted: Some(true),
        }
    );
    assert_eq!(
        v[1],
        RawDataValue {
            data_element: s("de2"),
            period: s("pe2"),
            org_unit: s(""),
            category_option_combo: s(""),
            attribute_option_combo: s(""),
            value: s(""),
            stored_by: s(""),
            created: None,
            last_updated: s(""),
            comment: s(""),
            followup: Some(false),
            deleted: Some(false),
        }
    );
    assert_eq!(v[2].value, s("multi\nline"));
    assert_eq!(v[2].deleted, Some(false));
    assert_eq!(v[3].data_element, s("last"));
}

#[test]
fn csv_single_line_is_only_a_header() {
    let sink = csv("abc").unwrap();
    assert_eq!(sink.header_calls, 1);
    assert!(sink.values.is_empty());
    assert!(csv("").unwrap().values.is_empty());
}

#[test]
fn csv_invalid_utf8_names_the_line() {
    let mut sink = Collect::default();
    let err = read_csv(&b"h\nok,1\nbad,\xff\xfe\n"[..], true, &mut sink).unwrap_err();
    let loc = err.location().unwrap();
    assert_eq!(loc.line, Some(3));
    assert_eq!(loc.value_index, Some(1));
    assert_eq!(sink.values.len(), 1);
}

// ---------------------------------------------------------------- ADX

#[test]
fn adx_empty_root_and_empty_group() {
    let sink = adx(r#"<adx xmlns="urn:ihe:qrph:adx:2015"></adx>"#).unwrap();
    assert!(sink.events.is_empty());
    let sink = adx(r#"<adx xmlns="urn:ihe:qrph:adx:2015" exported="x"><group orgUnit="o"/></adx>"#)
        .unwrap();
    assert_eq!(
        sink.events,
        [
            AdxEvent::Group(0, attrs(&[("orgUnit", "o")])),
            AdxEvent::End
        ]
    );
}

#[test]
fn adx_annotation_text_and_attributes() {
    let sink = adx(concat!(
        r#"<a:adx xmlns:a="urn:ihe:qrph:adx:2015" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
        r#"<a:group period="2024-01-01/P1M" orgUnit="" xsi:type="t" SEX="F&amp;M">"#,
        r#"<a:dataValue dataElement="DE" value="0"><a:annotation>x &lt; y &#233; <![CDATA[<raw>]]>"#,
        "\r\nz</a:annotation><a:annotation>second</a:annotation></a:dataValue>",
        r#"<a:dataValue dataElement="DE2" value="1"><a:annotation/></a:dataValue>"#,
        r#"<a:dataValue dataElement="DE3" value="2"><other>ignored</other></a:dataValue>"#,
        r#"</a:group><a:group period="p" orgUnit="o"/></a:adx><trailing-not-read"#
    ))
    .unwrap();
    assert_eq!(
        sink.events,
        [
            AdxEvent::Group(
                0,
                attrs(&[
                    ("period", "2024-01-01/P1M"),
                    ("orgUnit", ""),
                    ("type", "t"),
                    ("SEX", "F&M")
                ])
            ),
            AdxEvent::Value(
                attrs(&[("dataElement", "DE"), ("value", "0")]),
                s("x < y é <raw>\nz")
            ),
            AdxEvent::Value(attrs(&[("dataElement", "DE2"), ("value", "1")]), s("")),
            AdxEvent::Value(attrs(&[("dataElement", "DE3"), ("value", "2")]), None),
            AdxEvent::End,
            AdxEvent::Group(1, attrs(&[("period", "p"), ("orgUnit", "o")])),
            AdxEvent::End,
        ]
    );
}

#[test]
fn adx_errors() {
    for doc in [
        "",
        "<notadx/>",
        "<adx><group period='p'><dataValue value='1'></group></adx>",
        "<adx><group period='p'>",
        "garbage",
    ] {
        let err = adx(doc).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::Invalid {
                    format: Format::Adx,
                    ..
                }
            ),
            "{doc}: {err:?}"
        );
    }
}

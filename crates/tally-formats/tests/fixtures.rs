//! Every conformance fixture parses with the right counts, plus spot checks of field values
//! taken from the files.

mod common;

use std::fs::File;
use std::io::{BufReader, Cursor};

use common::{AdxCollect, AdxEvent, Collect, attrs, conformance, read_fixture, s};
use tally_formats::{Format, FormatError, RawDataValue, read_adx, read_csv, read_json, read_xml};

fn xml(rel: &str) -> Collect {
    let mut sink = Collect::default();
    read_xml(
        BufReader::new(File::open(conformance(rel)).unwrap()),
        &mut sink,
    )
    .unwrap_or_else(|e| panic!("{rel}: {e}"));
    sink
}

fn json(rel: &str) -> Collect {
    let mut sink = Collect::default();
    read_json(File::open(conformance(rel)).unwrap(), &mut sink)
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    sink
}

fn csv(rel: &str, header: bool) -> Collect {
    let mut sink = Collect::default();
    read_csv(File::open(conformance(rel)).unwrap(), header, &mut sink)
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    sink
}

fn adx(rel: &str) -> AdxCollect {
    let mut sink = AdxCollect::default();
    read_adx(
        BufReader::new(File::open(conformance(rel)).unwrap()),
        &mut sink,
    )
    .unwrap_or_else(|e| panic!("{rel}: {e}"));
    sink
}

/// (file, values) for the DXF2 XML fixtures.
const XML_FIXTURES: &[(&str, usize)] = &[
    ("dataValueSetA.xml", 3),
    ("dataValueSetACatCombo.xml", 3),
    ("dataValueSetACode.xml", 3),
    ("dataValueSetADeleted.xml", 3),
    ("dataValueSetANull.xml", 3),
    ("dataValueSetAUpdate.xml", 3),
    ("dataValueSetB.xml", 12),
    ("dataValueSetBAttribute.xml", 12),
    ("dataValueSetBAttributeIdScheme.xml", 12),
    ("dataValueSetBCode.xml", 12),
    ("dataValueSetBDeleted.xml", 12),
    ("dataValueSetBNew.xml", 12),
    ("dataValueSetBNewDeleted.xml", 12),
    ("dataValueSetBUpdate.xml", 6),
    ("dataValueSetC.xml", 3),
    ("dataValueSetCCode.xml", 3),
    ("dataValueSetD.xml", 3),
    ("dataValueSetE.xml", 3),
    ("dataValueSetF.xml", 4),
    ("dataValueSetG.xml", 4),
    ("dataValueSetH.xml", 3),
    ("dataValueSetInvalid.xml", 3),
    ("dataValueSetNonStrict.xml", 3),
];

const JSON_FIXTURES: &[(&str, usize)] = &[
    ("dhis2-core/dataValueSetCreateDate.json", 1),
    ("dhis2-core/dataValueSetCreateDateUpdated.json", 1),
    ("dhis2-core/dataValueSetJ.json", 1),
    ("dhis2-core/dataValueSetJDeleteNewValue.json", 1),
    ("dhis2-core/dataValueSetJDeleteNoValue.json", 1),
    ("dhis2-core/dataValueSetJDeleteZeroValue.json", 1),
    ("dhis2-core/dataValues_single_dataset.json", 2),
    ("e2e-aggregate/dataValues_single_dataset.json", 2),
    ("e2e-aggregate/dataValues_bulk.json", 231),
    // Metadata, not a data value set: an object without dataValues imports nothing.
    ("e2e-aggregate/metadata.json", 0),
];

/// (file, groups, values, annotations)
const ADX_FIXTURES: &[(&str, usize, usize, usize)] = &[
    ("dhis2-core/adx_data_sample1.xml", 2, 13, 1),
    ("dhis2-core/exportA.adx.xml", 2, 2, 1),
    ("dhis2-core/exportB.adx.xml", 4, 4, 1),
    ("dhis2-core/importA.adx.xml", 5, 9, 1),
    ("dhis2-core/importDates.adx.xml", 1, 1, 1),
    ("dhis2-core/importDatesUpdate.adx.xml", 1, 1, 1),
    ("adx-samples/dhis2core_adx_data_sample1.xml", 2, 13, 1),
    ("adx-samples/dhis2core_adx_data_sample2.xml", 2, 13, 1),
    ("adx-samples/dhis2core_exportA.adx.xml", 2, 2, 1),
    ("adx-samples/dhis2core_exportB.adx.xml", 4, 4, 1),
    ("adx-samples/dhis2core_exportC.adx.xml", 4, 4, 1),
    ("adx-samples/dhis2core_exportD.adx.xml", 1, 1, 0),
    ("adx-samples/dhis2core_importA.adx.xml", 5, 9, 1),
    ("adx-samples/dhis2core_importB.adx.xml", 5, 9, 1),
    ("adx-samples/dhis2core_importC.adx.xml", 5, 9, 1),
    ("adx-samples/dhis2core_importDates.adx.xml", 1, 1, 1),
    ("adx-samples/dhis2core_importDatesUpdate.adx.xml", 1, 1, 1),
    ("adx-samples/dhis2docs_example.adx.xml", 1, 20, 0),
    ("adx-samples/ihe_adx_data_sample1.xml", 2, 13, 1),
    (
        "adx-samples/ihe_adx_data_sample_reportingtime.xml",
        20,
        20,
        0,
    ),
];

const CSV_FIXTURES: &[&str] = &[
    "dataValueSetB.csv",
    "dataValueSetBNoHeader.csv",
    "dataValueSetBooleanTest.csv",
    "dataValueSetWithDataSetHeader.csv",
];

/// Guards against a fixture being added to the shared folder without a test here.
#[test]
fn every_fixture_file_is_covered() {
    let mut known: Vec<String> = XML_FIXTURES
        .iter()
        .map(|(f, _)| format!("dhis2-core/{f}"))
        .chain(JSON_FIXTURES.iter().map(|(f, _)| (*f).to_owned()))
        .chain(ADX_FIXTURES.iter().map(|(f, ..)| (*f).to_owned()))
        .chain(CSV_FIXTURES.iter().map(|f| format!("dhis2-core/{f}")))
        .collect();
    known.push("dhis2-core/SOURCE.txt".to_owned());
    known.push("e2e-aggregate/empty_file.json".to_owned());
    known.push("e2e-aggregate/empty_file.xml".to_owned());
    for dir in ["dhis2-core", "adx-samples", "e2e-aggregate"] {
        for entry in std::fs::read_dir(conformance(dir)).unwrap() {
            let name = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(known.contains(&name), "fixture {name} has no test");
        }
    }
}

#[test]
fn xml_fixture_counts() {
    for (file, count) in XML_FIXTURES {
        let sink = xml(&format!("dhis2-core/{file}"));
        assert_eq!(sink.values.len(), *count, "{file}");
        assert_eq!(sink.header_calls, 1, "{file}");
        for v in &sink.values {
            assert!(v.data_element.is_some(), "{file}");
            // Every fixture writes followup="false", which DHIS2 ignores (it reads followUp).
            assert_eq!(v.followup, None, "{file}");
        }
    }
}

#[test]
fn xml_data_value_set_a() {
    let sink = xml("dhis2-core/dataValueSetA.xml");
    let h = sink.header.unwrap();
    assert_eq!(h.data_set, s("pBOMPrpg1QX"));
    assert_eq!(h.period, None);
    assert_eq!(h.dry_run, None);
    assert_eq!(
        sink.values[1],
        RawDataValue {
            data_element: s("f7n9E0hX8qk"),
            period: s("201201"),
            org_unit: s("BdfsJfj87js"),
            value: s("10002"),
            stored_by: s("john"),
            comment: s("comment"),
            ..RawDataValue::default()
        }
    );
}

#[test]
fn xml_empty_attributes_are_absent() {
    let sink = xml("dhis2-core/dataValueSetANull.xml");
    let h = sink.header.unwrap();
    assert_eq!(h.complete_date, s("2012-01-09"));
    assert_eq!(h.period, s("201201"));
    assert_eq!(h.org_unit, s("DiszpKrYNg8"));
    let v = &sink.values;
    assert_eq!(
        (v[0].value.as_deref(), v[0].comment.as_deref()),
        (None, None)
    );
    assert_eq!(v[0].stored_by, s("john"));
    assert_eq!(
        (v[1].value.as_deref(), v[1].comment.as_deref()),
        (None, None)
    );
    assert_eq!(v[2].value, s("10003"));
    assert_eq!(v[2].comment, s("comment"));
}

#[test]
fn xml_header_variants() {
    let h = xml("dhis2-core/dataValueSetACode.xml").header.unwrap();
    assert_eq!(h.id_scheme, s("code"));
    assert_eq!(h.data_set, s("DS_A"));
    let h = xml("dhis2-core/dataValueSetBAttributeIdScheme.xml")
        .header
        .unwrap();
    assert_eq!(h.data_element_id_scheme, s("ATTRIBUTE:uh6H2ff562G"));
    assert_eq!(h.org_unit_id_scheme, s("ATTRIBUTE:uh6H2ff562G"));
    assert_eq!(h.id_scheme, None);
    let h = xml("dhis2-core/dataValueSetD.xml").header.unwrap();
    assert_eq!(h.attribute_option_combo, s("kjuiHgy67hg"));
    let h = xml("dhis2-core/dataValueSetF.xml").header.unwrap();
    assert_eq!(h.attribute_option_combo, s("inValidUid1"));
    // ACatCombo starts with a long comment before the root.
    let sink = xml("dhis2-core/dataValueSetACatCombo.xml");
    assert_eq!(sink.values[0].category_option_combo, s("kjuiHgy67hg"));
    assert_eq!(sink.values[2].category_option_combo, None);
}

#[test]
fn xml_deleted_and_created() {
    let sink = xml("dhis2-core/dataValueSetADeleted.xml");
    assert!(sink.values.iter().all(|v| v.deleted == Some(true)));
    let sink = xml("dhis2-core/dataValueSetBDeleted.xml");
    let deleted: Vec<_> = sink
        .values
        .iter()
        .filter(|v| v.deleted == Some(true))
        .map(|v| v.data_element.as_deref().unwrap())
        .collect();
    assert_eq!(deleted, ["Ix2HsbDMLea"; 4]);
    assert!(
        sink.values
            .iter()
            .filter(|v| v.deleted != Some(true))
            .all(|v| v.deleted.is_none())
    );
    let sink = xml("dhis2-core/dataValueSetB.xml");
    assert_eq!(sink.values[8].created, s("2010-01-01"));
    assert_eq!(sink.values[0].created, None);
    let sink = xml("dhis2-core/dataValueSetNonStrict.xml");
    assert_eq!(sink.values[1].period, s("2012Q2"));
    assert_eq!(sink.values[1].attribute_option_combo, s("Gad33qy67g5"));
}

#[test]
fn json_fixture_counts() {
    for (file, count) in JSON_FIXTURES {
        let sink = json(file);
        assert_eq!(sink.values.len(), *count, "{file}");
        assert_eq!(sink.header_calls, 1, "{file}");
    }
}

#[test]
fn json_spot_checks() {
    let sink = json("dhis2-core/dataValueSetJ.json");
    assert_eq!(sink.header.unwrap(), Default::default());
    assert_eq!(
        sink.values[0],
        RawDataValue {
            data_element: s("f7n9E0hX8qk"),
            period: s("201201"),
            org_unit: s("DiszpKrYNg8"),
            value: s("10"),
            ..RawDataValue::default()
        }
    );
    assert_eq!(
        json("dhis2-core/dataValueSetJDeleteNoValue.json").values[0].value,
        None
    );
    assert_eq!(
        json("dhis2-core/dataValueSetJDeleteZeroValue.json").values[0].value,
        s("0")
    );
    let v = &json("dhis2-core/dataValueSetCreateDate.json").values[0];
    assert_eq!(v.created, s("1988-12-21T23:59:38.000+0000"));
    assert_eq!(v.last_updated, s("1988-12-21T23:59:38.000+0000"));
    assert_eq!(v.stored_by, s("system"));
    assert_eq!(v.comment, None, "explicit null is absent");
    assert_eq!(v.followup, Some(false));
    assert_eq!(
        json("dhis2-core/dataValueSetCreateDateUpdated.json").values[0].comment,
        s("new comment")
    );

    let sink = json("e2e-aggregate/dataValues_single_dataset.json");
    let h = sink.header.unwrap();
    assert_eq!(h.data_set, s("VEM58nY22sO"));
    assert_eq!(h.period, s("201911"));
    assert_eq!(h.org_unit, s("O6uvpzGd5pu"));
    assert_eq!(h.complete_date, None, "misspelt completedDate is ignored");
    assert_eq!(sink.values[1].category_option_combo, s("rtfSaMjPyq6"));
    assert_eq!(sink.values[1].value, s("2000"));

    let sink = json("e2e-aggregate/dataValues_bulk.json");
    assert_eq!(sink.values[0].data_element, s("tpz77FcntKx"));
    assert_eq!(sink.values[0].value, s("500000"));
    let last = sink.values.last().unwrap();
    assert_eq!(last.data_element, s("yVGY0DGVPor"));
    assert_eq!(last.category_option_combo, s("kQBGXKMwoqR"));
    assert_eq!(last.last_updated, s("2019-09-02T16:01:33.994+0000"));
}

#[test]
fn empty_files_are_errors() {
    let mut sink = Collect::default();
    let err = read_json(
        File::open(conformance("e2e-aggregate/empty_file.json")).unwrap(),
        &mut sink,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("No content to map due to end-of-input"),
        "{err}"
    );
    assert!(matches!(
        err,
        FormatError::Invalid {
            format: Format::Json,
            ..
        }
    ));
    assert_eq!(sink.header_calls, 0);

    let body = read_fixture("e2e-aggregate/empty_file.xml");
    assert!(read_xml(Cursor::new(&body), &mut Collect::default()).is_err());
    let err = read_adx(Cursor::new(&body), &mut AdxCollect::default()).unwrap_err();
    assert!(matches!(
        err,
        FormatError::Invalid {
            format: Format::Adx,
            ..
        }
    ));
}

#[test]
fn csv_with_header() {
    let sink = csv("dhis2-core/dataValueSetB.csv", true);
    assert_eq!(sink.values.len(), 12);
    assert_eq!(sink.header.unwrap(), Default::default());
    assert_eq!(
        sink.values[0],
        RawDataValue {
            data_element: s("f7n9E0hX8qk"),
            period: s("201201"),
            org_unit: s("DiszpKrYNg8"),
            category_option_combo: s(""),
            attribute_option_combo: s(""),
            value: s("10001"),
            stored_by: s("john"),
            created: None,
            last_updated: s("2012-01-01"),
            comment: s("comment"),
            followup: Some(false),
            deleted: Some(false),
        }
    );
    // Without skipping, the header row is just another (bad) value.
    let sink = csv("dhis2-core/dataValueSetB.csv", false);
    assert_eq!(sink.values.len(), 13);
    assert_eq!(sink.values[0].data_element, s("dataelelement"));
}

#[test]
fn csv_without_header() {
    let sink = csv("dhis2-core/dataValueSetBNoHeader.csv", false);
    assert_eq!(sink.values.len(), 12);
    assert_eq!(sink.values[0].value, s("10001"));
    assert_eq!(sink.values[11].value, s("10012"));
    assert_eq!(sink.values[11].org_unit, s("BdfsJfj87js"));
    // The default (first row is a header) loses the first value, as in DHIS2.
    assert_eq!(
        csv("dhis2-core/dataValueSetBNoHeader.csv", true)
            .values
            .len(),
        11
    );
}

#[test]
fn csv_boolean_test_rows() {
    let sink = csv("dhis2-core/dataValueSetBooleanTest.csv", true);
    let values: Vec<_> = sink
        .values
        .iter()
        .map(|v| v.value.as_deref().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            "true", "True", "false", "False", "f", "F", "t", "T", "1", "0", "test", "not true",
            "1", "t", "true", "True", "false", "test"
        ]
    );
    assert_eq!(sink.values[10].data_element, s("jH26dja2f30"));
    assert_eq!(sink.values[16].data_element, s("jH26dja2f31"));
    assert_eq!(sink.values[8].org_unit, s("BdfsJfj87js"));
    // Ten columns only: the missing deleted column reads as "".
    assert!(sink.values.iter().all(|v| v.deleted == Some(false)));
}

#[test]
fn csv_with_data_set_header_row() {
    let sink = csv("dhis2-core/dataValueSetWithDataSetHeader.csv", true);
    assert_eq!(sink.values.len(), 3);
    assert_eq!(sink.values[2].last_updated, s("2012-01-03"));
    assert_eq!(sink.values[2].value, s("10003"));
}

#[test]
fn adx_fixture_counts() {
    for (file, groups, values, annotations) in ADX_FIXTURES {
        let sink = adx(file);
        assert_eq!(sink.groups(), *groups, "{file}");
        assert_eq!(sink.values().len(), *values, "{file}");
        assert_eq!(
            sink.values().iter().filter(|(_, a)| a.is_some()).count(),
            *annotations,
            "{file}"
        );
        // Every group is closed, values only inside groups, indexes count up from 0.
        let mut open = None;
        let mut next_index = 0;
        for e in &sink.events {
            match e {
                AdxEvent::Group(i, _) => {
                    assert!(open.is_none(), "{file}: nested group");
                    assert_eq!(*i, next_index, "{file}");
                    next_index += 1;
                    open = Some(*i);
                }
                AdxEvent::Value(..) => assert!(open.is_some(), "{file}: value outside group"),
                AdxEvent::End => open = None,
            }
        }
        assert!(open.is_none(), "{file}: group not closed");
    }
}

#[test]
fn adx_docs_example() {
    let sink = adx("adx-samples/dhis2docs_example.adx.xml");
    assert_eq!(
        sink.events[0],
        AdxEvent::Group(
            0,
            attrs(&[
                ("orgUnit", "OU_559"),
                ("period", "2015-06-01/P1M"),
                ("completeDate", "2015-07-01"),
                ("dataSet", "(TB/HIV)VCCT"),
            ])
        )
    );
    let values = sink.values();
    assert_eq!(
        values[0],
        (
            attrs(&[
                ("dataElement", "VCCT_0"),
                ("GENDER", "FMLE"),
                ("HIV_AGE", "AGE0-14"),
                ("value", "32")
            ])
            .as_slice(),
            None
        )
    );
    assert_eq!(values[19].0[0], ("dataElement".into(), "PLHIV_TB_1".into()));
    assert_eq!(values[19].0[2], ("HIV_AGE".into(), "AGE15-24".into()));
    assert_eq!(sink.events.last(), Some(&AdxEvent::End));
}

#[test]
fn adx_annotations_and_children() {
    let sink = adx("dhis2-core/adx_data_sample1.xml");
    let AdxEvent::Group(0, g) = &sink.events[0] else {
        panic!("no group")
    };
    assert_eq!(
        g,
        &attrs(&[
            ("orgUnit", "342"),
            ("period", "2015-01-01/P1M"),
            ("dataSet", "Malaria"),
            ("completeDate", "2015-06-17"),
            ("attributeOptionCombo", "McDonalds"),
        ])
    );
    let values = sink.values();
    assert_eq!(
        values[5].0,
        attrs(&[
            ("dataElement", "MAL04"),
            ("value", "10"),
            ("categoryOptionCombo", "McDonalds")
        ])
        .as_slice()
    );
    assert_eq!(
        values[8],
        (
            attrs(&[("dataElement", "MAL03"), ("value", "0")]).as_slice(),
            Some("Some qualifying text here on the datavalue")
        )
    );
    // created/lastUpdated children are not annotations.
    let sink = adx("dhis2-core/importDates.adx.xml");
    let values = sink.values();
    assert_eq!(values[0].1, Some("Text data value 33333"));
    assert!(
        values[0]
            .0
            .contains(&("created".into(), "1987-12-21T23:59:38.376+0000".into()))
    );
    assert!(values[0].0.contains(&("value".into(), "33".into())));
    // A group-level mechanism category attribute of importA.
    let sink = adx("dhis2-core/importA.adx.xml");
    let AdxEvent::Group(2, g) = &sink
        .events
        .iter()
        .find(|e| matches!(e, AdxEvent::Group(2, _)))
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(g[1], ("Mechanism_category".into(), "PEPFARRRRRR".into()));
    // Other root namespace (IHE draft): namespaces are not enforced.
    let sink = adx("adx-samples/ihe_adx_data_sample_reportingtime.xml");
    let AdxEvent::Group(8, g) = &sink
        .events
        .iter()
        .find(|e| matches!(e, AdxEvent::Group(8, _)))
        .unwrap()
    else {
        unreachable!()
    };
    assert!(g.contains(&("ReportingYearStartDay".into(), "2015-10-01".into())));
}

//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use tally_formats::{AdxSink, DataValueSink, RawDataValue, RawHeader, Stop};

/// The shared conformance fixtures (`shared/conformance` beside the repository, or
/// `TALLY_CONFORMANCE_DIR`). Missing fixtures fail the test loudly instead of skipping it.
pub fn conformance(rel: &str) -> PathBuf {
    let base = std::env::var_os("TALLY_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    let path = base.join(rel);
    assert!(
        path.exists(),
        "conformance fixture {} is missing (set TALLY_CONFORMANCE_DIR)",
        path.display()
    );
    path
}

pub fn read_fixture(rel: &str) -> Vec<u8> {
    std::fs::read(conformance(rel)).unwrap()
}

/// Collects everything a DXF2 reader reports, and checks the call order.
#[derive(Default, Debug)]
pub struct Collect {
    pub header: Option<RawHeader>,
    pub values: Vec<RawDataValue>,
    pub header_calls: usize,
    /// Stop after this many values.
    pub stop_after: Option<usize>,
}

impl DataValueSink for Collect {
    fn header(&mut self, header: RawHeader) -> Result<(), Stop> {
        assert!(self.values.is_empty(), "header after a value");
        self.header_calls += 1;
        self.header = Some(header);
        Ok(())
    }

    fn value(&mut self, value: RawDataValue) -> Result<(), Stop> {
        assert_eq!(self.header_calls, 1, "value before the header");
        if self.stop_after == Some(self.values.len()) {
            return Err(Stop);
        }
        self.values.push(value);
        Ok(())
    }
}

pub fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdxEvent {
    Group(usize, Vec<(String, String)>),
    Value(Vec<(String, String)>, Option<String>),
    End,
}

/// A reported ADX value: its attributes and annotation.
pub type ValueView<'a> = (&'a [(String, String)], Option<&'a str>);

#[derive(Default, Debug)]
pub struct AdxCollect {
    pub events: Vec<AdxEvent>,
}

impl AdxCollect {
    pub fn groups(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, AdxEvent::Group(..)))
            .count()
    }

    pub fn values(&self) -> Vec<ValueView<'_>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                AdxEvent::Value(a, n) => Some((a.as_slice(), n.as_deref())),
                _ => None,
            })
            .collect()
    }
}

impl AdxSink for AdxCollect {
    fn group(&mut self, index: usize, attributes: Vec<(String, String)>) -> Result<(), Stop> {
        self.events.push(AdxEvent::Group(index, attributes));
        Ok(())
    }

    fn value(
        &mut self,
        attributes: Vec<(String, String)>,
        annotation: Option<String>,
    ) -> Result<(), Stop> {
        self.events.push(AdxEvent::Value(attributes, annotation));
        Ok(())
    }

    fn group_end(&mut self) -> Result<(), Stop> {
        self.events.push(AdxEvent::End);
        Ok(())
    }
}

pub fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

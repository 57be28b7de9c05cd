//! The JSON reader streams: a 200,000-value document whose header comes *after* `dataValues`
//! is read with the header delivered first and without holding the values.
//!
//! How "not holding the values" is checked: this file is its own test binary with a single
//! test, so the process's peak resident set size (`VmHWM` in /proc/self/status) is this test's.
//! The document (about 45 MB) is generated straight to a temporary file, and the sink keeps only
//! counters. Holding the parsed values would need several times the file size (each value is
//! ten heap strings); the reader's fixed buffers need well under 1 MB. The assertion allows
//! 24 MB of growth over the RSS measured before reading, which fails for any reader that
//! buffers the document or the values, and passes with ample room for allocator noise.

use std::io::{BufWriter, Seek, SeekFrom, Write};

use tally_formats::{DataValueSink, RawDataValue, RawHeader, Stop, read_json};

const VALUES: usize = 200_000;

struct Counting {
    header_before_values: bool,
    data_set: Option<String>,
    values: usize,
    value_bytes: usize,
    last_value: Option<String>,
}

impl DataValueSink for Counting {
    fn header(&mut self, header: RawHeader) -> Result<(), Stop> {
        self.header_before_values = self.values == 0;
        self.data_set = header.data_set;
        Ok(())
    }

    fn value(&mut self, value: RawDataValue) -> Result<(), Stop> {
        self.values += 1;
        self.value_bytes += value.comment.as_ref().map_or(0, String::len);
        self.last_value = value.value;
        Ok(())
    }
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn large_json_with_trailing_header_streams_in_constant_memory() {
    let mut file = tempfile::tempfile().unwrap();
    {
        let mut w = BufWriter::new(&mut file);
        w.write_all(b"{\"dataValues\":[\n").unwrap();
        for i in 0..VALUES {
            if i > 0 {
                w.write_all(b",\n").unwrap();
            }
            write!(
                w,
                "{{\"dataElement\":\"de{:08}\",\"period\":\"2024{:02}\",\"orgUnit\":\"ou{:06}\",\
                 \"categoryOptionCombo\":\"HllvX50cXC0\",\"attributeOptionCombo\":\"HllvX50cXC0\",\
                 \"value\":{},\"storedBy\":\"admin\",\"comment\":\"a comment for value {}\",\
                 \"followup\":false}}",
                i % 1000,
                i % 12 + 1,
                i % 5000,
                i,
                i
            )
            .unwrap();
        }
        w.write_all(b"\n],\"dataSet\":\"pBOMPrpg1QX\",\"period\":\"202401\"}")
            .unwrap();
        w.flush().unwrap();
    }
    let size = file.seek(SeekFrom::End(0)).unwrap();
    assert!(size > 40_000_000, "document is {size} bytes");
    file.seek(SeekFrom::Start(0)).unwrap();

    let rss_before = status_kb("VmRSS:").expect("/proc/self/status is readable on Linux");
    let mut sink = Counting {
        header_before_values: false,
        data_set: None,
        values: 0,
        value_bytes: 0,
        last_value: None,
    };
    read_json(&mut file, &mut sink).unwrap();
    let peak = status_kb("VmHWM:").unwrap();

    assert!(sink.header_before_values);
    assert_eq!(sink.data_set.as_deref(), Some("pBOMPrpg1QX"));
    assert_eq!(sink.values, VALUES);
    assert_eq!(sink.last_value.as_deref(), Some("199999"));
    assert!(sink.value_bytes > 4_000_000);
    let growth_kb = peak.saturating_sub(rss_before);
    eprintln!("document {size} bytes, peak RSS growth {growth_kb} KiB");
    assert!(
        growth_kb < 24 * 1024,
        "peak RSS grew by {growth_kb} KiB while reading a {size}-byte document"
    );
}

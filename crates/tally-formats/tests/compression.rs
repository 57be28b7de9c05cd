//! Body decompression by magic bytes, and compressed exports.

mod common;

use std::io::{Cursor, Read, Write};

use common::Collect;
use flate2::write::GzEncoder;
use tally_formats::{
    BodyCompression, ExportHeader, ExportValue, JsonWriter, XmlWriter, ZipStreamWriter, decompress,
    decompress_seekable, detect_compression, gzip_writer, read_json, read_xml,
};
use zip::write::SimpleFileOptions;

const DOC: &str = r#"{"dataValues":[{"dataElement":"a","value":"1"},{"dataElement":"b","value":"2"}],"dataSet":"ds"}"#;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zip_of(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn inflate(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    decompress(body).unwrap().read_to_end(&mut out).unwrap();
    out
}

#[test]
fn sniffing() {
    assert_eq!(detect_compression(b"PK\x03\x04rest"), BodyCompression::Zip);
    assert_eq!(detect_compression(b"\x1f\x8b\x08"), BodyCompression::Gzip);
    assert_eq!(detect_compression(b"PK\x05\x06"), BodyCompression::None);
    assert_eq!(detect_compression(b"{}"), BodyCompression::None);
    assert_eq!(detect_compression(b""), BodyCompression::None);
}

#[test]
fn plain_bodies_pass_through() {
    for body in [&b""[..], b"{", b"{}", b"abc", b"PK", DOC.as_bytes()] {
        assert_eq!(inflate(body), body);
    }
}

#[test]
fn gzip_bodies_decompress() {
    assert_eq!(inflate(&gz(DOC.as_bytes())), DOC.as_bytes());
    // Concatenated members, as `cat a.gz b.gz` produces.
    let mut two = gz(b"first ");
    two.extend(gz(b"second"));
    assert_eq!(inflate(&two), b"first second");
    // Corrupt data is an error while reading.
    let mut bad = gz(DOC.as_bytes());
    let n = bad.len();
    bad[n - 6] ^= 0xff; // CRC trailer
    let mut out = Vec::new();
    assert!(decompress(&bad[..]).unwrap().read_to_end(&mut out).is_err());
}

#[test]
fn zip_bodies_read_only_the_first_entry() {
    for method in [
        zip::CompressionMethod::Deflated,
        zip::CompressionMethod::Stored,
    ] {
        let body = zip_of(
            &[
                ("first.json", DOC.as_bytes()),
                ("second.json", b"{\"ignored\":true}"),
            ],
            method,
        );
        assert_eq!(inflate(&body), DOC.as_bytes(), "{method:?}");
    }
    // An empty first entry.
    let body = zip_of(
        &[("empty", b""), ("x", b"y")],
        zip::CompressionMethod::Deflated,
    );
    assert_eq!(inflate(&body), b"");
}

#[test]
fn corrupt_zip_entries_are_errors() {
    let mut body = zip_of(
        &[("a.json", DOC.as_bytes())],
        zip::CompressionMethod::Stored,
    );
    // Flip a byte of the stored data: the CRC check at the end of the entry catches it.
    let at = 30 + "a.json".len() + 3;
    body[at] ^= 0x20;
    let mut out = Vec::new();
    let err = decompress(&body[..])
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    // Truncated local header.
    assert!(decompress(&b"PK\x03\x04\x14\x00"[..]).is_err());
}

#[test]
fn seekable_spool_feeds_the_json_reader() {
    for (body, limit) in [
        (DOC.as_bytes().to_vec(), 1 << 20),
        (gz(DOC.as_bytes()), 1 << 20),
        (
            zip_of(
                &[("d.json", DOC.as_bytes())],
                zip::CompressionMethod::Deflated,
            ),
            1 << 20,
        ),
        // Over the memory limit: spooled to a temporary file.
        (gz(DOC.as_bytes()), 8),
    ] {
        let spool = decompress_seekable(&body[..], limit).unwrap();
        let mut sink = Collect::default();
        read_json(spool, &mut sink).unwrap();
        assert_eq!(sink.header.unwrap().data_set.as_deref(), Some("ds"));
        assert_eq!(sink.values.len(), 2);
    }
}

fn value(i: usize, de: &str) -> ExportValue<'_> {
    ExportValue {
        data_element: Some(de),
        period: Some("202401"),
        org_unit: Some("ou"),
        value: Some(if i.is_multiple_of(2) { "1" } else { "2" }),
        created: "2024-01-01T00:00:00.000+0000",
        last_updated: "2024-01-01T00:00:00.000+0000",
        ..ExportValue::default()
    }
}

#[test]
fn gzip_export_round_trip() {
    let mut w = JsonWriter::new(gzip_writer(Vec::new()));
    w.begin(&ExportHeader::default()).unwrap();
    for i in 0..1000 {
        w.write(&value(i, "de")).unwrap();
    }
    let body = w.finish().unwrap().finish().unwrap();
    assert_eq!(detect_compression(&body), BodyCompression::Gzip);
    let mut sink = Collect::default();
    read_json(decompress_seekable(&body[..], 1 << 20).unwrap(), &mut sink).unwrap();
    assert_eq!(sink.values.len(), 1000);
}

/// A destination that cannot seek, like an HTTP response body.
struct NoSeek(Vec<u8>);

impl Write for NoSeek {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn zip_export_streams_to_a_non_seekable_writer() {
    let name = "dataValues_2024-01-01_2050-01-30.xml";
    let zip = ZipStreamWriter::new(NoSeek(Vec::new()), name).unwrap();
    let mut w = XmlWriter::new(zip);
    w.begin(&ExportHeader::default()).unwrap();
    for i in 0..5000 {
        w.write(&value(i, "dé")).unwrap();
    }
    let body = w.finish().unwrap().finish().unwrap().0;
    assert_eq!(detect_compression(&body), BodyCompression::Zip);

    // Central-directory reader.
    let mut archive = zip::ZipArchive::new(Cursor::new(body.clone())).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), name);
    let mut xml = Vec::new();
    entry.read_to_end(&mut xml).unwrap();
    assert!(xml.starts_with(b"<?xml"));

    // Streaming (local header) reader, as used for imports.
    let mut sink = Collect::default();
    read_xml(
        std::io::BufReader::new(decompress(&body[..]).unwrap()),
        &mut sink,
    )
    .unwrap();
    assert_eq!(sink.values.len(), 5000);
    assert_eq!(sink.values[0].data_element.as_deref(), Some("dé"));
}

#[test]
fn zip_export_is_accepted_by_unzip() {
    let mut zip = ZipStreamWriter::new(Vec::new(), "data.csv").unwrap();
    zip.write_all(b"hello,world\n").unwrap();
    let body = zip.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.zip");
    std::fs::write(&file, body).unwrap();
    let out = std::process::Command::new("unzip")
        .arg("-p")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("unzip is required for this test (apt-get install -y unzip): {e}")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello,world\n");
}

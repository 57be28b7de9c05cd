//! Data value set payloads (DHIS2 JSON, CSV, DXF2 XML) written row by row to files.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;

use crate::shape::{DEFAULT_COC, STORED_BY, Shape, Uids, value_of};

/// A payload format the harness generates and imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum PayloadFormat {
    /// DHIS2 JSON (`{"dataValues":[…]}`).
    Json,
    /// DHIS2 CSV with a header row.
    Csv,
    /// DXF2 XML, values as attributes.
    Xml,
    /// ADX (`application/adx+xml`): one group per form, everything by code, the category
    /// as an attribute of each value.
    Adx,
}

impl PayloadFormat {
    /// All formats, in report order.
    pub const ALL: [Self; 4] = [Self::Json, Self::Csv, Self::Xml, Self::Adx];

    /// Upper-case name for the report.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::Csv => "CSV",
            Self::Xml => "XML",
            Self::Adx => "ADX",
        }
    }

    /// File extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Xml => "xml",
            Self::Adx => "adx.xml",
        }
    }

    /// The import format of the core.
    #[must_use]
    pub fn core(self) -> tally_core::import::Format {
        match self {
            Self::Json => tally_core::import::Format::Json,
            Self::Csv => tally_core::import::Format::Csv,
            Self::Xml => tally_core::import::Format::Xml,
            Self::Adx => tally_core::import::Format::Adx,
        }
    }
}

impl fmt::Display for PayloadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// `created`/`lastUpdated` written into payloads (ignored by imports, present for size).
const STAMP: &str = "2024-02-01T10:00:00.000";

/// Writes the `values` first rows of `shape` for import pass `pass` (see
/// [`value_of`]) in `format` to `path`, streamed. Returns the file size in bytes.
///
/// # Errors
/// The file cannot be written.
pub fn write(
    format: PayloadFormat,
    shape: &Shape,
    uids: &Uids,
    pass: u32,
    path: &Path,
) -> anyhow::Result<u64> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write_rows(format, shape, uids, pass, &mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("writing {}", path.display()))?;
    // Written back now, so that the kernel's writeback does not compete with the fsyncs
    // of the measurements that follow.
    out.get_ref()
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    drop(out);
    Ok(std::fs::metadata(path)?.len())
}

fn write_rows(
    format: PayloadFormat,
    shape: &Shape,
    uids: &Uids,
    pass: u32,
    out: &mut impl Write,
) -> std::io::Result<()> {
    match format {
        PayloadFormat::Json => out.write_all(b"{\"dataValues\":[\n")?,
        PayloadFormat::Csv => out.write_all(
            b"dataelement,period,orgunit,catoptcombo,attroptcombo,value,storedby,lastupdated,comment,followup\n",
        )?,
        PayloadFormat::Xml => out.write_all(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dataValueSet xmlns=\"http://dhis2.org/schema/dxf/2.0\">\n",
        )?,
        PayloadFormat::Adx => out.write_all(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<adx xmlns=\"urn:ihe:qrph:adx:2015\">\n",
        )?,
    }
    let mut group: Option<(usize, usize)> = None;
    for i in 0..shape.values {
        let r = shape.row(i);
        let de = &uids.data_elements[r.data_element];
        let pe = &shape.periods[r.period];
        let ou = &uids.org_units[r.org_unit];
        let coc = &uids.cocs[r.coc];
        let v = value_of(i, pass);
        match format {
            PayloadFormat::Json => {
                let sep = if i == 0 { "" } else { ",\n" };
                write!(
                    out,
                    "{sep}{{\"dataElement\":\"{de}\",\"period\":\"{pe}\",\"orgUnit\":\"{ou}\",\
                     \"categoryOptionCombo\":\"{coc}\",\"attributeOptionCombo\":\"{DEFAULT_COC}\",\
                     \"value\":\"{v}\",\"storedBy\":\"{STORED_BY}\",\"created\":\"{STAMP}\",\
                     \"lastUpdated\":\"{STAMP}\",\"followup\":false}}"
                )?;
            }
            PayloadFormat::Csv => writeln!(
                out,
                "{de},{pe},{ou},{coc},{DEFAULT_COC},{v},{STORED_BY},{STAMP},,false"
            )?,
            PayloadFormat::Xml => writeln!(
                out,
                "<dataValue dataElement=\"{de}\" period=\"{pe}\" orgUnit=\"{ou}\" \
                 categoryOptionCombo=\"{coc}\" attributeOptionCombo=\"{DEFAULT_COC}\" \
                 value=\"{v}\" storedBy=\"{STORED_BY}\" created=\"{STAMP}\" \
                 lastUpdated=\"{STAMP}\" followUp=\"false\"/>"
            )?,
            PayloadFormat::Adx => {
                if group != Some((r.period, r.org_unit)) {
                    if group.is_some() {
                        out.write_all(b"</group>\n")?;
                    }
                    group = Some((r.period, r.org_unit));
                    let (y, m) = pe.split_at(4);
                    writeln!(
                        out,
                        "<group dataSet=\"BENCH_DS\" orgUnit=\"BENCH_OU_{}\" \
                         period=\"{y}-{m}-01/P1M\">",
                        r.org_unit
                    )?;
                }
                writeln!(
                    out,
                    "<dataValue dataElement=\"BENCH_DE_{}\" BENCH_CATEGORY=\"BENCH_OPT_{}\" \
                     value=\"{v}\"/>",
                    r.data_element, r.coc
                )?;
            }
        }
    }
    if group.is_some() {
        out.write_all(b"</group>\n")?;
    }
    match format {
        PayloadFormat::Json => out.write_all(b"\n]}\n"),
        PayloadFormat::Csv => Ok(()),
        PayloadFormat::Xml => out.write_all(b"</dataValueSet>\n"),
        PayloadFormat::Adx => out.write_all(b"</adx>\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_with_the_readers() {
        struct Count(usize, Vec<String>);
        impl tally_formats::DataValueSink for Count {
            fn header(&mut self, _: tally_formats::RawHeader) -> Result<(), tally_formats::Stop> {
                Ok(())
            }
            fn value(&mut self, v: tally_formats::RawDataValue) -> Result<(), tally_formats::Stop> {
                self.0 += 1;
                self.1.push(v.value.unwrap_or_default());
                Ok(())
            }
        }
        let shape = Shape::new(1_500).unwrap();
        let uids = Uids::new(&shape).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for format in PayloadFormat::ALL {
            let path = dir.path().join(format!("p.{format}"));
            assert!(write(format, &shape, &uids, 1, &path).unwrap() > 0);
            let file = File::open(&path).unwrap();
            let mut sink = Count(0, Vec::new());
            match format {
                PayloadFormat::Json => tally_formats::read_json(file, &mut sink),
                PayloadFormat::Csv => tally_formats::read_csv(file, true, &mut sink),
                PayloadFormat::Xml => {
                    tally_formats::read_xml(std::io::BufReader::new(file), &mut sink)
                }
                // Read through the core's ADX import in `ours` (it needs metadata).
                PayloadFormat::Adx => continue,
            }
            .unwrap();
            assert_eq!(sink.0, 1_500, "{format}");
            assert_eq!(sink.1[3], value_of(3, 1).to_string());
        }
    }
}

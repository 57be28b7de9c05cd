//! Request body decompression (spec §1.1) and export compression (spec §5.4).
//!
//! Import: DHIS2 detects compression from magic bytes, not headers. [`decompress`] does the
//! same and returns a streaming reader: `PK\x03\x04` is a zip of which only the *first entry*
//! is read (like Java's `ZipInputStream`, from the local header, without seeking, with the
//! CRC checked at the end), `\x1f\x8b` is gzip (concatenated members allowed), anything else is
//! passed through. The JSON reader needs to seek; [`decompress_seekable`] spools the
//! decompressed body into a [`tempfile::SpooledTempFile`] (memory up to a limit, then an
//! anonymous temporary file).
//!
//! Export: [`gzip_writer`] and [`ZipStreamWriter`]. The `zip` crate (2.x) only writes archives
//! to `Write + Seek` destinations, because it seeks back to patch sizes into the local header.
//! [`ZipStreamWriter`] instead writes a single-entry archive to any `Write` in one pass, using
//! a data descriptor after the entry (general purpose flag bit 3), so exports can stream
//! straight into an HTTP response.

use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom, Write};

use flate2::Crc;
use flate2::bufread::DeflateDecoder;
use flate2::read::MultiGzDecoder;
use flate2::write::{DeflateEncoder, GzEncoder};

/// Compression detected from the first bytes of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCompression {
    /// Not compressed.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zip (`PK 03 04`); only the first entry is imported.
    Zip,
}

/// Classifies a body from its first bytes (at least 4 are needed to recognise zip; fewer bytes
/// classify as [`BodyCompression::None`] unless they start a gzip header).
pub fn detect_compression(prefix: &[u8]) -> BodyCompression {
    if prefix.starts_with(b"PK\x03\x04") {
        BodyCompression::Zip
    } else if prefix.starts_with(&[0x1f, 0x8b]) {
        BodyCompression::Gzip
    } else {
        BodyCompression::None
    }
}

/// Wraps a request body in the right decompressor (see the module docs). Reads up to 4 bytes
/// to sniff, and for zip the entry's local header, before returning; everything else streams.
///
/// Errors: an encrypted zip entry, an unsupported zip method (only stored and deflate are
/// supported, as in `ZipInputStream`), a stored entry of unknown size, and corrupt data (found
/// while reading) are `io::Error`s with kind `InvalidData`.
pub fn decompress<'a, R: Read + Send + 'a>(mut body: R) -> io::Result<Box<dyn Read + Send + 'a>> {
    let mut prefix = [0u8; 4];
    let mut n = 0;
    while n < prefix.len() {
        match body.read(&mut prefix[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = &prefix[..n];
    let whole = Cursor::new(prefix.to_vec()).chain(body);
    Ok(match detect_compression(prefix) {
        BodyCompression::None => Box::new(whole),
        BodyCompression::Gzip => Box::new(MultiGzDecoder::new(whole)),
        BodyCompression::Zip => Box::new(ZipFirstEntry::open(BufReader::new(whole))?),
    })
}

/// Decompresses `body` (as [`decompress`]) into a seekable spool, rewound to the start, for
/// [`crate::read_json`]. Up to `max_in_memory` bytes are kept in memory; larger bodies go to an
/// anonymous temporary file that disappears when the spool is dropped.
pub fn decompress_seekable<R: Read + Send>(
    body: R,
    max_in_memory: usize,
) -> io::Result<tempfile::SpooledTempFile> {
    let mut reader = decompress(body)?;
    let mut spool = tempfile::SpooledTempFile::new(max_in_memory);
    io::copy(&mut reader, &mut spool)?;
    spool.seek(SeekFrom::Start(0))?;
    Ok(spool)
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

const LOCAL_HEADER_SIG: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const CENTRAL_HEADER_SIG: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIR_SIG: u32 = 0x0605_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const FLAG_ENCRYPTED: u16 = 0x0001;
const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;
const FLAG_UTF8: u16 = 0x0800;

enum EntryData<R: BufRead> {
    Stored(io::Take<R>),
    Deflated(Box<DeflateDecoder<R>>),
}

/// Streams the data of the first entry of a zip archive from its local header.
struct ZipFirstEntry<R: BufRead> {
    data: EntryData<R>,
    crc: Crc,
    /// CRC from the local header, or `None` when it follows in a data descriptor.
    expected_crc: Option<u32>,
    done: bool,
}

impl<R: BufRead> ZipFirstEntry<R> {
    fn open(mut r: R) -> io::Result<Self> {
        let mut h = [0u8; 30];
        r.read_exact(&mut h)
            .map_err(|_| invalid("truncated zip local header"))?;
        if le32(&h[0..4]) != LOCAL_HEADER_SIG {
            return Err(invalid("not a zip local file header"));
        }
        let flags = le16(&h[6..8]);
        let method = le16(&h[8..10]);
        let crc = le32(&h[14..18]);
        let mut compressed = u64::from(le32(&h[18..22]));
        let name_len = usize::from(le16(&h[26..28]));
        let extra_len = usize::from(le16(&h[28..30]));
        let mut name_and_extra = vec![0u8; name_len + extra_len];
        r.read_exact(&mut name_and_extra)
            .map_err(|_| invalid("truncated zip local header"))?;
        if flags & FLAG_ENCRYPTED != 0 {
            return Err(invalid("encrypted zip entries are not supported"));
        }
        let descriptor = flags & FLAG_DATA_DESCRIPTOR != 0;
        if compressed == 0xFFFF_FFFF {
            // Zip64: the real sizes are in extra field 0x0001 (uncompressed, then compressed).
            if let Some(z64) = find_extra(&name_and_extra[name_len..], 0x0001)
                && z64.len() >= 16
            {
                compressed = le64(&z64[8..16]);
            }
        }
        let data = match method {
            0 => {
                if descriptor && compressed == 0 {
                    return Err(invalid(
                        "stored zip entry with a data descriptor (unknown size) is not supported",
                    ));
                }
                EntryData::Stored(r.take(compressed))
            }
            8 => EntryData::Deflated(Box::new(DeflateDecoder::new(r))),
            m => return Err(invalid(format!("unsupported zip compression method {m}"))),
        };
        Ok(ZipFirstEntry {
            data,
            crc: Crc::new(),
            expected_crc: (!descriptor).then_some(crc),
            done: false,
        })
    }

    fn verify(&mut self) -> io::Result<()> {
        let expected = match self.expected_crc {
            Some(crc) => crc,
            None => {
                let r: &mut dyn Read = match &mut self.data {
                    EntryData::Stored(t) => t.get_mut(),
                    EntryData::Deflated(d) => d.get_mut(),
                };
                let mut word = [0u8; 4];
                r.read_exact(&mut word)
                    .map_err(|_| invalid("truncated zip data descriptor"))?;
                if le32(&word) == DATA_DESCRIPTOR_SIG {
                    r.read_exact(&mut word)
                        .map_err(|_| invalid("truncated zip data descriptor"))?;
                }
                le32(&word)
            }
        };
        if expected != self.crc.sum() {
            return Err(invalid("zip entry CRC mismatch (corrupt archive)"));
        }
        Ok(())
    }
}

impl<R: BufRead> Read for ZipFirstEntry<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = match &mut self.data {
            EntryData::Stored(t) => {
                let n = t.read(buf)?;
                if n == 0 && t.limit() > 0 {
                    return Err(invalid("truncated zip entry"));
                }
                n
            }
            EntryData::Deflated(d) => d.read(buf)?,
        };
        if n == 0 {
            self.done = true;
            self.verify()?;
            return Ok(0);
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

fn find_extra(mut extra: &[u8], id: u16) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let tag = le16(&extra[0..2]);
        let len = usize::from(le16(&extra[2..4]));
        let body = extra.get(4..4 + len)?;
        if tag == id {
            return Some(body);
        }
        extra = &extra[4 + len..];
    }
    None
}

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Wraps an export destination in a gzip encoder. Uses the fastest compression level: exports
/// stream at hundreds of MB/s and the default level would be the bottleneck, while repetitive
/// JSON/XML still compresses well. Call `finish()` on the encoder to write the trailer.
pub fn gzip_writer<W: Write>(w: W) -> GzEncoder<W> {
    GzEncoder::new(w, flate2::Compression::fast())
}

/// Counts bytes passed to the destination, for zip offsets and sizes.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A single-entry zip archive written in one pass to any `Write` (no `Seek` needed), for the
/// `compression=zip` export (one entry named `<base>.<fmt>`, spec §5.4).
///
/// Write the entry's content through the `Write` impl, then call [`ZipStreamWriter::finish`],
/// which writes the data descriptor, the central directory and the end record. The entry is
/// deflated at the fastest level; sizes over 4 GiB switch to Zip64 records. Readers that use
/// the central directory (unzip, the `zip` crate, `java.util.zip.ZipFile`) and streaming readers
/// (`ZipInputStream`, [`decompress`]) both accept the result.
pub struct ZipStreamWriter<W: Write> {
    encoder: DeflateEncoder<Counting<W>>,
    name: Vec<u8>,
    crc: Crc,
    dos_time: u16,
    dos_date: u16,
    /// Offset where the entry data starts (after the local header).
    data_start: u64,
    zip64_threshold: u64,
}

impl<W: Write> ZipStreamWriter<W> {
    /// Writes the local header of the entry `entry_name` (UTF-8) and returns the writer. The
    /// entry's modification time is the current UTC time.
    pub fn new(w: W, entry_name: &str) -> io::Result<Self> {
        Self::with_threshold(w, entry_name, 0xFFFF_FFFF)
    }

    fn with_threshold(w: W, entry_name: &str, zip64_threshold: u64) -> io::Result<Self> {
        let name = entry_name.as_bytes().to_vec();
        let name_len = u16::try_from(name.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "zip entry name too long"))?;
        let (dos_time, dos_date) = dos_now();
        let mut out = Counting { inner: w, count: 0 };
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&LOCAL_HEADER_SIG.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0 (deflate)
        h.extend_from_slice(&(FLAG_DATA_DESCRIPTOR | FLAG_UTF8).to_le_bytes());
        h.extend_from_slice(&8u16.to_le_bytes()); // deflate
        h.extend_from_slice(&dos_time.to_le_bytes());
        h.extend_from_slice(&dos_date.to_le_bytes());
        h.extend_from_slice(&[0u8; 12]); // crc, compressed and uncompressed size: in descriptor
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // no extra field
        h.extend_from_slice(&name);
        out.write_all(&h)?;
        let data_start = out.count;
        Ok(ZipStreamWriter {
            encoder: DeflateEncoder::new(out, flate2::Compression::fast()),
            name,
            crc: Crc::new(),
            dos_time,
            dos_date,
            data_start,
            zip64_threshold,
        })
    }

    /// Ends the entry and the archive and returns the destination (flushed).
    pub fn finish(self) -> io::Result<W> {
        let ZipStreamWriter {
            encoder,
            name,
            crc,
            dos_time,
            dos_date,
            data_start,
            zip64_threshold,
        } = self;
        let mut out = encoder.finish()?;
        let compressed = out.count - data_start;
        let uncompressed = u64::from(crc.amount());
        let zip64 = compressed >= zip64_threshold || uncompressed >= zip64_threshold;

        let mut t = Vec::with_capacity(200 + name.len());
        // Data descriptor.
        t.extend_from_slice(&DATA_DESCRIPTOR_SIG.to_le_bytes());
        t.extend_from_slice(&crc.sum().to_le_bytes());
        if zip64 {
            t.extend_from_slice(&compressed.to_le_bytes());
            t.extend_from_slice(&uncompressed.to_le_bytes());
        } else {
            t.extend_from_slice(&(compressed as u32).to_le_bytes());
            t.extend_from_slice(&(uncompressed as u32).to_le_bytes());
        }
        let central_start = out.count + t.len() as u64;
        // Central directory header.
        t.extend_from_slice(&CENTRAL_HEADER_SIG.to_le_bytes());
        t.extend_from_slice(&(0x0300u16 | if zip64 { 45 } else { 20 }).to_le_bytes()); // Unix
        t.extend_from_slice(&(if zip64 { 45u16 } else { 20u16 }).to_le_bytes());
        t.extend_from_slice(&(FLAG_DATA_DESCRIPTOR | FLAG_UTF8).to_le_bytes());
        t.extend_from_slice(&8u16.to_le_bytes());
        t.extend_from_slice(&dos_time.to_le_bytes());
        t.extend_from_slice(&dos_date.to_le_bytes());
        t.extend_from_slice(&crc.sum().to_le_bytes());
        if zip64 {
            t.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            t.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        } else {
            t.extend_from_slice(&(compressed as u32).to_le_bytes());
            t.extend_from_slice(&(uncompressed as u32).to_le_bytes());
        }
        t.extend_from_slice(&(name.len() as u16).to_le_bytes());
        t.extend_from_slice(&(if zip64 { 20u16 } else { 0u16 }).to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes()); // comment length
        t.extend_from_slice(&0u16.to_le_bytes()); // disk number start
        t.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        t.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes()); // external: regular file
        t.extend_from_slice(&0u32.to_le_bytes()); // local header offset
        t.extend_from_slice(&name);
        if zip64 {
            t.extend_from_slice(&0x0001u16.to_le_bytes());
            t.extend_from_slice(&16u16.to_le_bytes());
            t.extend_from_slice(&uncompressed.to_le_bytes());
            t.extend_from_slice(&compressed.to_le_bytes());
        }
        let central_size = out.count + t.len() as u64 - central_start;
        let central_start_32 = if central_start >= zip64_threshold {
            0xFFFF_FFFF
        } else {
            central_start as u32
        };
        if zip64 || central_start >= zip64_threshold {
            let zip64_end = out.count + t.len() as u64;
            t.extend_from_slice(&ZIP64_END_SIG.to_le_bytes());
            t.extend_from_slice(&44u64.to_le_bytes());
            t.extend_from_slice(&(0x0300u16 | 45).to_le_bytes());
            t.extend_from_slice(&45u16.to_le_bytes());
            t.extend_from_slice(&0u32.to_le_bytes()); // this disk
            t.extend_from_slice(&0u32.to_le_bytes()); // central directory disk
            t.extend_from_slice(&1u64.to_le_bytes()); // entries on this disk
            t.extend_from_slice(&1u64.to_le_bytes()); // entries
            t.extend_from_slice(&central_size.to_le_bytes());
            t.extend_from_slice(&central_start.to_le_bytes());
            t.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
            t.extend_from_slice(&0u32.to_le_bytes());
            t.extend_from_slice(&zip64_end.to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
        }
        t.extend_from_slice(&END_OF_CENTRAL_DIR_SIG.to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes());
        t.extend_from_slice(&1u16.to_le_bytes());
        t.extend_from_slice(&1u16.to_le_bytes());
        t.extend_from_slice(&(central_size as u32).to_le_bytes());
        t.extend_from_slice(&central_start_32.to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes()); // comment length
        out.write_all(&t)?;
        out.flush()?;
        Ok(out.inner)
    }
}

impl<W: Write> Write for ZipStreamWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.encoder.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

/// Current UTC time as MS-DOS (time, date).
fn dos_now() -> (u16, u16) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (year, month, day) = crate::timestamp::civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let year = year.clamp(1980, 2107) as u16;
    let time =
        ((tod / 3600) as u16) << 11 | (((tod / 60) % 60) as u16) << 5 | ((tod % 60) / 2) as u16;
    let date = (year - 1980) << 9 | (month as u16) << 5 | day as u16;
    (time, date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip64_records_are_readable() {
        // Force the Zip64 layout on a small entry: readers must take the sizes from the Zip64
        // extra field and end records.
        let content = b"zip64 content ".repeat(1000);
        let mut w = ZipStreamWriter::with_threshold(Vec::new(), "big.json", 10).unwrap();
        w.write_all(&content).unwrap();
        let bytes = w.finish().unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name(), "big.json");
        assert_eq!(entry.size(), content.len() as u64);
        let mut out = Vec::new();
        entry.read_to_end(&mut out).unwrap();
        assert_eq!(out, content);
        let mut out = Vec::new();
        decompress(&bytes[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, content);
    }
}

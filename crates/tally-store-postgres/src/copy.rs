//! A writer of PostgreSQL's binary `COPY` format (documented with the `COPY` command):
//! a fixed header, then per row a 16-bit field count and per field a 32-bit length
//! (`-1` for NULL) followed by the value in its binary send format, then a `-1`
//! trailer. Only the types the store writes: `bigint`, `boolean`, `text`.
//!
//! Rows are encoded on the caller's thread into one buffer per statement, so the
//! driver thread only moves bytes.

use bytes::{BufMut as _, Bytes, BytesMut};
use tally_store::{Result, StoreError};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

pub(crate) struct CopyWriter {
    buf: BytesMut,
}

impl CopyWriter {
    /// A stream whose rows will take about `row_bytes` each.
    pub(crate) fn new(rows: usize, row_bytes: usize) -> Self {
        let mut buf = BytesMut::with_capacity(SIGNATURE.len() + 8 + rows * row_bytes + 2);
        buf.put_slice(SIGNATURE);
        buf.put_i32(0); // flags: no OIDs
        buf.put_i32(0); // header extension length
        Self { buf }
    }

    pub(crate) fn row(&mut self, fields: i16) {
        self.buf.put_i16(fields);
    }

    pub(crate) fn int8(&mut self, v: i64) {
        self.buf.put_i32(8);
        self.buf.put_i64(v);
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.put_i32(1);
        self.buf.put_u8(u8::from(v));
    }

    pub(crate) fn text(&mut self, v: Option<&str>) -> Result<()> {
        match v {
            None => self.buf.put_i32(-1),
            Some(s) => {
                let len = i32::try_from(s.len())
                    .map_err(|_| StoreError::Other(format!("text of {} bytes", s.len())))?;
                self.buf.put_i32(len);
                self.buf.put_slice(s.as_bytes());
            }
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Bytes {
        self.buf.put_i16(-1);
        self.buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_header_fields_and_trailer() {
        let mut w = CopyWriter::new(1, 32);
        w.row(3);
        w.int8(258);
        w.bool(true);
        w.text(None).unwrap();
        let b = w.finish();
        let mut expected = SIGNATURE.to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 3]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2]);
        expected.extend_from_slice(&[0, 0, 0, 1, 1]);
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(&b[..], &expected[..]);
    }
}

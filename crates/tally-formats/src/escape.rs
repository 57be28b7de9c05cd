//! Output buffering and escaping shared by the writers.
//!
//! Writers append to an in-memory `Vec<u8>` (infallible, no per-fragment `io::Result`) and hand
//! it to the underlying writer in chunks of about 64 KiB, so the caller does not need to wrap its
//! writer in a `BufWriter`.

use std::io::{self, Write};

const FLUSH_AT: usize = 64 * 1024;

pub(crate) struct Out<W: Write> {
    pub(crate) buf: Vec<u8>,
    inner: W,
}

impl<W: Write> Out<W> {
    pub(crate) fn new(inner: W) -> Self {
        Out {
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            inner,
        }
    }

    /// Passes the buffer on once it is large enough; called after each record.
    #[inline]
    pub(crate) fn commit(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes everything buffered and flushes the underlying writer.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()
    }

    pub(crate) fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.inner)
    }

    pub(crate) fn get_ref(&self) -> &W {
        &self.inner
    }
}

/// Appends `s` as a JSON string literal (with quotes). Escapes `"`, `\` and control
/// characters only, as Jackson does by default; non-ASCII is written as UTF-8.
pub(crate) fn json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xF)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends an optional JSON string, `null` when absent.
pub(crate) fn json_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Appends `s` escaped for a double-quoted XML attribute value. Tab, newline and carriage return
/// are written as character references so that attribute-value normalisation in the reader
/// does not turn them into spaces. Characters XML 1.0 cannot represent at all (other C0
/// controls, U+FFFE, U+FFFF) are replaced with U+FFFD so the document stays well-formed.
pub(crate) fn xml_attr(out: &mut Vec<u8>, s: &str) {
    xml_escape(out, s, true);
}

/// Appends `s` escaped as XML character data (element text).
pub(crate) fn xml_text(out: &mut Vec<u8>, s: &str) {
    xml_escape(out, s, false);
}

fn xml_escape(out: &mut Vec<u8>, s: &str, attr: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let esc: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' if attr => b"&quot;",
            b'\n' if attr => b"&#10;",
            b'\t' if attr => b"&#9;",
            b'\r' => b"&#13;",
            b'\n' | b'\t' => {
                i += 1;
                continue;
            }
            0x00..=0x1F => REPLACEMENT,
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(REPLACEMENT);
                i += 3;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends ` name="escaped value"`.
pub(crate) fn xml_attribute(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    xml_attr(out, value);
    out.push(b'"');
}

/// Whether `name` can be written as an unprefixed XML attribute or element name (an XML 1.0
/// `Name` without `:`, i.e. an NCName). ADX writes category identifiers as attribute names, and
/// DHIS2 requires them to be valid XML names (spec §9.2); the core can use this check to report
/// the DHIS2 error before writing.
pub fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if is_name_start(c) => chars.all(|c| is_name_start(c) || is_name_char(c)),
        _ => false,
    }
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    matches!(c,
        '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Appends a CSV field, quoting it only when needed: when it contains `,`, `"`, CR or LF, or
/// starts or ends with a space or tab (a javacsv-style reader trims unquoted fields).
pub(crate) fn csv_field(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let needs_quotes = bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        || matches!(bytes.first(), Some(b' ' | b'\t'))
        || matches!(bytes.last(), Some(b' ' | b'\t'));
    if !needs_quotes {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' {
            out.extend_from_slice(&bytes[start..=i]);
            out.push(b'"');
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_escapes() {
        assert_eq!(
            s(|o| json_string(o, "a\"b\\c\nd\u{1}é")),
            r#""a\"b\\c\nd\u0001é""#
        );
    }

    #[test]
    fn xml_escapes() {
        assert_eq!(
            s(|o| xml_attr(o, "a<b>&\"c\n\t\r\u{1}\u{FFFE}é")),
            "a&lt;b&gt;&amp;&quot;c&#10;&#9;&#13;\u{FFFD}\u{FFFD}é"
        );
        assert_eq!(s(|o| xml_text(o, "a<\n\"\r")), "a&lt;\n\"&#13;");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(s(|o| csv_field(o, "plain")), "plain");
        assert_eq!(s(|o| csv_field(o, "a,b")), "\"a,b\"");
        assert_eq!(s(|o| csv_field(o, "say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(s(|o| csv_field(o, " lead")), "\" lead\"");
        assert_eq!(s(|o| csv_field(o, "")), "");
    }

    #[test]
    fn xml_names() {
        assert!(is_xml_name("Sex_category"));
        assert!(is_xml_name("a-b.c1"));
        assert!(is_xml_name("é"));
        assert!(!is_xml_name("1a"));
        assert!(!is_xml_name("a b"));
        assert!(!is_xml_name("a:b"));
        assert!(!is_xml_name(""));
    }
}

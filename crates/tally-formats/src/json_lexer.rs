//! A small pull lexer for JSON over any `Read`, used by the JSON data value set reader.
//!
//! Why not serde_json directly: serde_json's streaming reader (`from_reader`) goes byte by byte
//! through `io::Bytes` and cannot return the source text of numbers, while DHIS2 (Jackson)
//! coerces `"value": 12.50` to the string `"12.50"`. This lexer keeps its own 64 KiB buffer,
//! scans strings in bulk, keeps number text verbatim and never allocates per token: strings and
//! numbers are appended to caller-provided scratch buffers.
//!
//! It accepts exactly RFC 8259 JSON (no comments, no trailing commas, no lone surrogates), as
//! Jackson's default configuration does. Line and column are tracked for error messages; a
//! raw newline can only appear in whitespace, so counting there is enough.

use std::io::{self, Read};

use crate::error::{Format, FormatError, Location};

const BUF_SIZE: usize = 64 * 1024;

/// Upper bound for one string or number, so that a malicious body (for example an unterminated
/// string) cannot make the reader buffer the whole file.
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024 * 1024;

/// Kind of a scalar read by [`Lexer::scalar`]; the text (for strings and numbers) is in the
/// scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str,
    Num,
    True,
    False,
    Null,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Finds the first byte that ends a plain run inside a string (`"`, `\\` or a control
/// character) and reports whether non-ASCII bytes come before it. Works on eight bytes at a
/// time with the classic "has zero byte" word tricks: for each test the mask's lowest set bit
/// marks the first matching byte exactly (false positives can only appear above a real match).
/// The last partial word is padded with `"` so the same code handles it.
#[inline]
fn scan_string(chunk: &[u8]) -> (Option<usize>, bool) {
    let mut non_ascii = false;
    let mut i = 0;
    while i < chunk.len() {
        let rest = &chunk[i..];
        let (x, n) = match rest.first_chunk::<8>() {
            Some(word) => (u64::from_le_bytes(*word), 8),
            None => {
                // Fewer than 8 bytes left (end of the buffer): pad, byte by byte.
                let mut word = [b'"'; 8];
                for (w, &b) in word.iter_mut().zip(rest) {
                    *w = b;
                }
                (u64::from_le_bytes(word), rest.len())
            }
        };
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        let q = x ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q & HIGHS;
        let b = x ^ (ONES * u64::from(b'\\'));
        let backslash = b.wrapping_sub(ONES) & !b & HIGHS;
        let mask = below_space | quote | backslash;
        if mask != 0 {
            let k = (mask.trailing_zeros() / 8) as usize;
            let before = if k == 0 {
                0
            } else {
                x & HIGHS & (u64::MAX >> (64 - 8 * k))
            };
            non_ascii |= before != 0;
            return (if k < n { Some(i + k) } else { None }, non_ascii);
        }
        non_ascii |= x & HIGHS != 0;
        i += 8;
    }
    (None, non_ascii)
}

/// Distinguishes plain syntax errors (which the reader may re-diagnose with serde_json to keep
/// its message text) from type errors found by this crate.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) syntax: bool,
    pub(crate) error: FormatError,
}

impl From<io::Error> for LexError {
    fn from(e: io::Error) -> Self {
        LexError {
            syntax: false,
            error: FormatError::Io(e),
        }
    }
}

pub(crate) type LexResult<T> = Result<T, LexError>;

pub(crate) struct Lexer<R> {
    src: R,
    buf: Box<[u8]>,
    len: usize,
    pos: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
    line: u64,
    /// Absolute offset of the first byte of the current line.
    line_start: u64,
    /// Index of the data value being parsed, for error locations.
    pub(crate) value_index: Option<u64>,
    /// Whether the last string read had raw non-ASCII bytes (so needs UTF-8 validation).
    non_ascii: bool,
}

impl<R: Read> Lexer<R> {
    pub(crate) fn new(src: R) -> Self {
        Lexer {
            src,
            buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
            len: 0,
            pos: 0,
            base: 0,
            eof: false,
            line: 1,
            line_start: 0,
            value_index: None,
            non_ascii: false,
        }
    }

    /// Absolute offset of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn location(&self) -> Location {
        let offset = self.offset();
        Location {
            line: Some(self.line),
            column: Some(offset - self.line_start + 1),
            byte_offset: Some(offset),
            value_index: self.value_index,
        }
    }

    pub(crate) fn syntax_error(&self, message: impl Into<String>) -> LexError {
        LexError {
            syntax: true,
            error: FormatError::invalid(Format::Json, message, self.location()),
        }
    }

    pub(crate) fn type_error(&self, message: impl Into<String>) -> LexError {
        LexError {
            syntax: false,
            error: FormatError::invalid(Format::Json, message, self.location()),
        }
    }

    /// Refills the buffer once all of it has been consumed. Returns false at end of input.
    #[cold]
    fn fill(&mut self) -> io::Result<bool> {
        debug_assert!(self.pos >= self.len);
        if self.eof {
            return Ok(false);
        }
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match self.src.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    #[inline]
    pub(crate) fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.pos < self.len {
            return Ok(Some(self.buf[self.pos]));
        }
        if self.fill()? {
            Ok(Some(self.buf[self.pos]))
        } else {
            Ok(None)
        }
    }

    #[inline]
    pub(crate) fn bump(&mut self) {
        self.pos += 1;
    }

    #[inline]
    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let b = self.peek()?;
        if b.is_some() {
            self.pos += 1;
        }
        Ok(b)
    }

    /// Skips a UTF-8 byte order mark at the very start (Jackson does the same).
    pub(crate) fn skip_bom(&mut self) -> io::Result<()> {
        if self.peek()?.is_none() {
            return Ok(());
        }
        // The first read may be shorter than 3 bytes; top the buffer up if needed.
        while self.len < 3 && !self.eof {
            let len = self.len;
            match self.src.read(&mut self.buf[len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.len >= 3 && self.buf[..3] == [0xEF, 0xBB, 0xBF] {
            self.pos = 3;
            self.line_start = 3;
        }
        Ok(())
    }

    /// Skips JSON whitespace and returns the next byte without consuming it.
    #[inline]
    pub(crate) fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        loop {
            while self.pos < self.len {
                match self.buf[self.pos] {
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    b'\n' => {
                        self.pos += 1;
                        self.line += 1;
                        self.line_start = self.base + self.pos as u64;
                    }
                    b => return Ok(Some(b)),
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Consumes `expected` (after whitespace) or fails with `message`.
    pub(crate) fn expect(&mut self, expected: u8, message: &str) -> LexResult<()> {
        match self.skip_ws()? {
            Some(b) if b == expected => {
                self.bump();
                Ok(())
            }
            Some(_) => Err(self.syntax_error(message)),
            None => Err(self.syntax_error(format!("EOF while parsing {}", eof_context(message)))),
        }
    }

    /// Reads a string whose opening quote is the next byte, appending its unescaped bytes to
    /// `out`. The bytes are not UTF-8 validated here: callers validate with
    /// [`Lexer::validate_last`] (cheap for ASCII) or when they convert to `String`.
    pub(crate) fn string(&mut self, out: &mut Vec<u8>) -> LexResult<()> {
        debug_assert_eq!(self.peek().ok().flatten(), Some(b'"'));
        self.bump();
        self.non_ascii = false;
        let start_len = out.len();
        loop {
            let chunk = &self.buf[self.pos..self.len];
            let (found, non_ascii) = scan_string(chunk);
            self.non_ascii |= non_ascii;
            match found {
                Some(i) => {
                    out.extend_from_slice(&chunk[..i]);
                    let b = chunk[i];
                    self.pos += i + 1;
                    match b {
                        b'"' => break,
                        b'\\' => self.escape(out)?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.syntax_error(
                                "control character (\\u0000-\\u001F) found while parsing a string",
                            ));
                        }
                    }
                }
                None => {
                    out.extend_from_slice(chunk);
                    self.pos = self.len;
                    if !self.fill()? {
                        return Err(self.syntax_error("EOF while parsing a string"));
                    }
                }
            }
            if out.len() - start_len > MAX_TOKEN_BYTES {
                return Err(self.type_error(format!("string longer than {MAX_TOKEN_BYTES} bytes")));
            }
        }
        Ok(())
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> LexResult<()> {
        let Some(b) = self.next_byte()? else {
            return Err(self.syntax_error("EOF while parsing a string"));
        };
        let c = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if self.next_byte()? != Some(b'\\') || self.next_byte()? != Some(b'u') {
                        return Err(self.syntax_error("lone leading surrogate in hex escape"));
                    }
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.syntax_error("lone leading surrogate in hex escape"));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else if (0xDC00..0xE000).contains(&first) {
                    return Err(self.syntax_error("lone trailing surrogate in hex escape"));
                } else {
                    first
                };
                let ch = char::from_u32(code)
                    .ok_or_else(|| self.syntax_error("invalid unicode code point"))?;
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                return Ok(());
            }
            _ => return Err(self.syntax_error("invalid escape")),
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> LexResult<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(b) = self.next_byte()? else {
                return Err(self.syntax_error("EOF while parsing a string"));
            };
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.syntax_error("invalid escape")),
            };
            v = (v << 4) | u32::from(d);
        }
        Ok(v)
    }

    /// Reads a number starting at the next byte and appends its source text to `out`.
    pub(crate) fn number(&mut self, out: &mut Vec<u8>) -> LexResult<()> {
        let start_len = out.len();
        if self.peek()? == Some(b'-') {
            out.push(b'-');
            self.bump();
        }
        match self.peek()? {
            Some(b'0') => {
                out.push(b'0');
                self.bump();
            }
            Some(b'1'..=b'9') => self.digits(out)?,
            Some(_) => return Err(self.syntax_error("invalid number")),
            None => return Err(self.syntax_error("EOF while parsing a value")),
        }
        if self.peek()? == Some(b'.') {
            out.push(b'.');
            self.bump();
            if !matches!(self.peek()?, Some(b'0'..=b'9')) {
                return Err(self.syntax_error("invalid number"));
            }
            self.digits(out)?;
        }
        if let Some(e @ (b'e' | b'E')) = self.peek()? {
            out.push(e);
            self.bump();
            if let Some(s @ (b'+' | b'-')) = self.peek()? {
                out.push(s);
                self.bump();
            }
            if !matches!(self.peek()?, Some(b'0'..=b'9')) {
                return Err(self.syntax_error("invalid number"));
            }
            self.digits(out)?;
        }
        if out.len() - start_len > MAX_TOKEN_BYTES {
            return Err(self.type_error("number too long"));
        }
        Ok(())
    }

    fn digits(&mut self, out: &mut Vec<u8>) -> LexResult<()> {
        while let Some(b @ b'0'..=b'9') = self.peek()? {
            out.push(b);
            self.bump();
        }
        Ok(())
    }

    /// Consumes the literal `word` (`true`, `false` or `null`) starting at the next byte.
    fn literal(&mut self, word: &[u8]) -> LexResult<()> {
        for &expected in word {
            match self.next_byte()? {
                Some(b) if b == expected => {}
                Some(_) => return Err(self.syntax_error("expected ident")),
                None => return Err(self.syntax_error("EOF while parsing a value")),
            }
        }
        Ok(())
    }

    /// Reads a scalar value (after whitespace) into `out` (cleared first). Objects and arrays are
    /// type errors: Jackson cannot coerce them to a string or boolean either.
    pub(crate) fn scalar(&mut self, out: &mut Vec<u8>, expected: &str) -> LexResult<Scalar> {
        out.clear();
        match self.skip_ws()? {
            Some(b'"') => {
                self.string(out)?;
                Ok(Scalar::Str)
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number(out)?;
                Ok(Scalar::Num)
            }
            Some(b't') => {
                self.literal(b"true")?;
                Ok(Scalar::True)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                Ok(Scalar::False)
            }
            Some(b'n') => {
                self.literal(b"null")?;
                Ok(Scalar::Null)
            }
            Some(b'[') => {
                // Make sure the array is well-formed first, so that syntax errors win.
                self.skip_value()?;
                Err(self.type_error(format!("invalid type: sequence, expected {expected}")))
            }
            Some(b'{') => {
                self.skip_value()?;
                Err(self.type_error(format!("invalid type: map, expected {expected}")))
            }
            Some(_) => Err(self.syntax_error("expected value")),
            None => Err(self.syntax_error("EOF while parsing a value")),
        }
    }

    /// Skips one complete value of any type, validating its syntax. Iterative, so deeply nested
    /// input cannot overflow the stack.
    pub(crate) fn skip_value(&mut self) -> LexResult<()> {
        // true = inside an object, false = inside an array
        let mut stack: Vec<bool> = Vec::new();
        let mut scratch: Vec<u8> = Vec::new();
        'value: loop {
            match self.skip_ws()? {
                Some(b'{') => {
                    self.bump();
                    match self.skip_ws()? {
                        Some(b'}') => self.bump(),
                        Some(b'"') => {
                            stack.push(true);
                            scratch.clear();
                            self.string(&mut scratch)?;
                            self.validate_last(&scratch)?;
                            self.expect(b':', "expected `:`")?;
                            continue 'value;
                        }
                        Some(_) => return Err(self.syntax_error("key must be a string")),
                        None => return Err(self.syntax_error("EOF while parsing an object")),
                    }
                }
                Some(b'[') => {
                    self.bump();
                    match self.skip_ws()? {
                        Some(b']') => self.bump(),
                        Some(_) => {
                            stack.push(false);
                            continue 'value;
                        }
                        None => return Err(self.syntax_error("EOF while parsing a list")),
                    }
                }
                Some(b'"') => {
                    scratch.clear();
                    self.string(&mut scratch)?;
                    self.validate_last(&scratch)?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    scratch.clear();
                    self.number(&mut scratch)?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(_) => return Err(self.syntax_error("expected value")),
                None => return Err(self.syntax_error("EOF while parsing a value")),
            }
            // After a complete value: close containers or move to the next element.
            loop {
                let Some(&in_object) = stack.last() else {
                    return Ok(());
                };
                match self.skip_ws()? {
                    Some(b',') => {
                        self.bump();
                        if in_object {
                            match self.skip_ws()? {
                                Some(b'"') => {
                                    scratch.clear();
                                    self.string(&mut scratch)?;
                                    self.validate_last(&scratch)?;
                                    self.expect(b':', "expected `:`")?;
                                }
                                Some(b'}') => return Err(self.syntax_error("trailing comma")),
                                Some(_) => return Err(self.syntax_error("key must be a string")),
                                None => {
                                    return Err(self.syntax_error("EOF while parsing an object"));
                                }
                            }
                        } else if self.skip_ws()? == Some(b']') {
                            return Err(self.syntax_error("trailing comma"));
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        self.bump();
                        stack.pop();
                    }
                    Some(b']') if !in_object => {
                        self.bump();
                        stack.pop();
                    }
                    Some(_) => {
                        return Err(self.syntax_error(if in_object {
                            "expected `,` or `}`"
                        } else {
                            "expected `,` or `]`"
                        }));
                    }
                    None => {
                        return Err(self.syntax_error(if in_object {
                            "EOF while parsing an object"
                        } else {
                            "EOF while parsing a list"
                        }));
                    }
                }
            }
        }
    }

    /// Validates the bytes of the string just read, skipping the work when it was pure ASCII
    /// (escapes always produce valid UTF-8).
    #[inline]
    pub(crate) fn validate_last(&self, bytes: &[u8]) -> LexResult<()> {
        if self.non_ascii {
            self.check_utf8(bytes)?;
        }
        Ok(())
    }

    /// Validates string bytes as UTF-8 (JSON text must be UTF-8).
    pub(crate) fn check_utf8<'b>(&self, bytes: &'b [u8]) -> LexResult<&'b str> {
        std::str::from_utf8(bytes).map_err(|_| self.syntax_error("invalid unicode code point"))
    }
}

fn eof_context(message: &str) -> &'static str {
    if message.contains('}') || message.contains(':') {
        "an object"
    } else if message.contains(']') {
        "a list"
    } else {
        "a value"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(input: &str) -> Lexer<&[u8]> {
        Lexer::new(input.as_bytes())
    }

    #[test]
    fn strings_unescape_including_surrogate_pairs() {
        let mut lx = lex(r#""a\"b\\c\/\n\t\u00e9\ud83d\ude00x""#);
        let mut out = Vec::new();
        lx.string(&mut out).unwrap();
        assert_eq!(std::str::from_utf8(&out).unwrap(), "a\"b\\c/\n\té😀x");
    }

    #[test]
    fn lone_surrogate_is_an_error() {
        let mut lx = lex(r#""\ud83d""#);
        assert!(lx.string(&mut Vec::new()).is_err());
        let mut lx = lex(r#""\ude00""#);
        assert!(lx.string(&mut Vec::new()).is_err());
    }

    #[test]
    fn numbers_keep_their_source_text() {
        for n in ["0", "-0", "12", "12.50", "1e5", "-1.5E-3", "1E+2"] {
            let mut lx = lex(n);
            let mut out = Vec::new();
            assert_eq!(lx.scalar(&mut out, "a string").unwrap(), Scalar::Num);
            assert_eq!(out, n.as_bytes());
        }
        for bad in ["-", "1.", "1e", "-a", ".5"] {
            let mut lx = lex(bad);
            assert!(lx.scalar(&mut Vec::new(), "a string").is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_spanning_buffer_refills() {
        // A string longer than the buffer must be read across refills.
        let long = "é".repeat(BUF_SIZE);
        let doc = format!("\"{long}\"");
        let mut lx = lex(&doc);
        let mut out = Vec::new();
        lx.string(&mut out).unwrap();
        assert_eq!(std::str::from_utf8(&out).unwrap(), long);
    }

    proptest::proptest! {
        #[test]
        fn word_scan_matches_byte_scan(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let expected_pos = bytes.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\');
            let end = expected_pos.unwrap_or(bytes.len());
            let expected_non_ascii = bytes[..end].iter().any(|&b| b >= 0x80);
            proptest::prop_assert_eq!(scan_string(&bytes), (expected_pos, expected_non_ascii));
        }
    }

    #[test]
    fn skip_value_validates_nesting() {
        assert!(lex(r#"{"a":[1,{"b":null}],"c":"d"}"#).skip_value().is_ok());
        assert!(lex(r#"{"a":[1,}"#).skip_value().is_err());
        assert!(lex(r#"[1,]"#).skip_value().is_err());
        assert!(lex(r#"{"a" 1}"#).skip_value().is_err());
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(lex(&deep).skip_value().is_ok());
    }
}

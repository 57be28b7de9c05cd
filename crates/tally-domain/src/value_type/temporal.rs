//! DATE, AGE, DATETIME and TIME rules of §4.4.
//!
//! Calendar validity uses the proleptic Gregorian (ISO) calendar with a year zero, the
//! DHIS2 default system calendar and Joda-Time's ISO chronology. It is computed here
//! rather than with `jiff` because the accepted year range is wider than jiff's
//! (-9999..=9999) for DATETIME.

use super::is_line_terminator;

/// Gregorian leap year, proleptic, with a year zero (which is a leap year).
fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1-12) of `year`; 0 for an invalid month so that every day fails.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// A "word" character for Java 17's `\b`: `_` or `Character.isLetterOrDigit`, which is
/// Unicode-aware (unlike `\w`). Rust's `is_alphanumeric` is a close superset (it also
/// counts letter-like numerals and some combining vowel signs); the difference only
/// matters for a DATE whose last character is one of those.
fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Value of two ASCII digits.
fn two_digits(tens: u8, ones: u8) -> u32 {
    u32::from(tens - b'0') * 10 + u32::from(ones - b'0')
}

/// DATE and AGE: the whole value must match
/// `\b(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[0-2])(.*)\b` and the date must exist.
///
/// So anything may follow the day (`2024-01-01T10:00` passes, quirk), except a line
/// terminator, provided the value ends in a word character (the closing `\b`): a
/// trailing `Z` is fine, a trailing `)` or space is not. Day 32 passes the pattern and
/// fails the calendar check.
pub(super) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, ..] = *b else {
        return false;
    };
    if ![y0, y1, y2, y3].iter().all(u8::is_ascii_digit) {
        return false;
    }
    if !matches!((m0, m1), (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2')) {
        return false;
    }
    if !matches!(
        (d0, d1),
        (b'0', b'1'..=b'9') | (b'1' | b'2', b'0'..=b'9') | (b'3', b'0'..=b'2')
    ) {
        return false;
    }
    // The first ten bytes are ASCII, so byte 10 is a character boundary.
    let Some(suffix) = s.get(10..) else {
        return false;
    };
    if suffix.chars().any(is_line_terminator) {
        return false;
    }
    if !s.chars().next_back().is_some_and(is_word_char) {
        return false;
    }
    let year = i64::from(two_digits(y0, y1) * 100 + two_digits(y2, y3));
    two_digits(d0, d1) <= days_in_month(year, two_digits(m0, m1))
}

/// TIME: `^([0-9]|0[0-9]|1[0-9]|2[0-3]):[0-5][0-9]$`.
pub(super) fn is_time(s: &str) -> bool {
    let minutes = match s.as_bytes() {
        [b'0'..=b'9', b':', rest @ ..]
        | [b'0' | b'1', b'0'..=b'9', b':', rest @ ..]
        | [b'2', b'0'..=b'3', b':', rest @ ..] => rest,
        _ => return false,
    };
    matches!(minutes, [b'0'..=b'5', b'0'..=b'9'])
}

/// Joda-Time ISO chronology year bounds: a parsed year outside them is an illegal field
/// value, so the DATETIME fails.
const JODA_MIN_YEAR: i64 = -292_275_054;
const JODA_MAX_YEAR: i64 = 292_278_993;

/// A byte cursor implementing the few Joda-Time parsing primitives DATETIME needs.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor {
            bytes: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Consumes `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Number of ASCII digits ahead, looking at most `max` bytes.
    fn digits_ahead(&self, max: usize) -> usize {
        self.bytes
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .take(max)
            .take_while(|c| c.is_ascii_digit())
            .count()
    }

    /// Joda's unpadded number: one to `max` digits, greedily; the pattern's letter count
    /// is *not* a minimum when parsing (`MM` accepts `1`). Returns the value.
    fn number(&mut self, max: usize) -> Option<i64> {
        let n = self.digits_ahead(max);
        if n == 0 {
            return None;
        }
        let value = self.bytes[self.pos..self.pos + n]
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
        self.pos += n;
        Some(value)
    }

    /// Joda's signed year (`yyyy` followed by a literal): an optional `-` or `+` that
    /// must be followed by a digit, then up to nine digits.
    fn year(&mut self) -> Option<i64> {
        let negative = match self.peek() {
            Some(b'-') => true,
            Some(b'+') => false,
            _ => return self.number(9),
        };
        self.pos += 1;
        let magnitude = self.number(9)?;
        Some(if negative { -magnitude } else { magnitude })
    }

    /// Exactly two digits, as the offset parser requires for each of its fields.
    fn two_digits(&mut self) -> Option<u32> {
        if self.digits_ahead(2) < 2 {
            return None;
        }
        let v = two_digits(self.bytes[self.pos], self.bytes[self.pos + 1]);
        self.pos += 2;
        Some(v)
    }

    /// Joda's `Z` (time zone offset) parser: `Z` or `z`, or a sign followed by `hh`,
    /// `hhmm`, `hhmmss`, `hhmmssS..`, `hh:mm`, `hh:mm:ss` or `hh:mm:ss.S..` (one to three
    /// fraction digits, `.` or `,`). Hours up to 23, minutes and seconds up to 59. On an
    /// unexpected character it stops where it is, as Joda does; the caller then requires
    /// the end of the input.
    fn offset(&mut self) -> bool {
        match self.peek() {
            Some(b'Z' | b'z') => {
                self.pos += 1;
                return true;
            }
            Some(b'+' | b'-') => self.pos += 1,
            _ => return false,
        }
        if self.two_digits().is_none_or(|h| h > 23) {
            return false;
        }
        let separators = match self.peek() {
            Some(b':') => {
                self.pos += 1;
                true
            }
            Some(b'0'..=b'9') => false,
            _ => return true,
        };
        // Minutes, then seconds: both two digits, both at most 59.
        for field in 0..2 {
            if field == 1 {
                if self.at_end() {
                    return true;
                }
                if separators && !self.eat(b':') {
                    return true;
                }
            }
            let ahead = self.digits_ahead(2);
            if ahead == 0 && !separators {
                return true;
            }
            if self.two_digits().is_none_or(|v| v > 59) {
                return false;
            }
        }
        if self.at_end() {
            return true;
        }
        if separators && !(self.eat(b'.') || self.eat(b',')) {
            return true;
        }
        let n = self.digits_ahead(3);
        if n == 0 {
            return !separators;
        }
        self.pos += n;
        true
    }
}

/// DATETIME: the value must parse completely with one of DHIS2's Joda-Time patterns
/// (§4.4), and the fields must form a real date and time:
///
/// * `yyyy-MM-dd'T'HH`, `...HH:mm`, `...HH:mm:ss`, each optionally followed by an
///   offset `Z`;
/// * `...HH:mm:ss.S` with 1 to 6 fraction digits, or 1 to 9 when an offset follows;
/// * `yyyy-MM-dd HH:mm:ssZ` (space separator, offset required).
///
/// A date alone is invalid. Following Joda, numeric fields are not padded when parsed
/// (`2024-1-5T9` passes), the year may be signed and up to nine digits, the `T` may be
/// lower case, and the offset is `Z` or numeric (see [`Cursor::offset`]).
///
/// Times without an offset are taken as valid local times: DHIS2 runs in UTC in
/// practice, so daylight-saving gaps of the server's zone are not modelled.
pub(super) fn is_datetime(s: &str) -> bool {
    let mut c = Cursor::new(s);
    let Some(year) = c.year() else {
        return false;
    };
    if !c.eat(b'-') {
        return false;
    }
    let Some(month) = c.number(2) else {
        return false;
    };
    if !c.eat(b'-') {
        return false;
    }
    let Some(day) = c.number(2) else {
        return false;
    };
    let date_ok = (JODA_MIN_YEAR..=JODA_MAX_YEAR).contains(&year)
        && (1..=12).contains(&month)
        && day >= 1
        && day <= i64::from(days_in_month(year, month as u32));
    if !date_ok {
        return false;
    }
    let space_form = match c.peek() {
        Some(b'T' | b't') => false,
        Some(b' ') => true,
        _ => return false,
    };
    c.pos += 1;
    if space_form {
        return time_fields(&mut c, 3) == Some(3) && c.offset() && c.at_end();
    }
    let Some(fields) = time_fields(&mut c, 3) else {
        return false;
    };
    if c.at_end() {
        return true;
    }
    if fields == 3 && c.eat(b'.') {
        let fraction = c.digits_ahead(9);
        if fraction == 0 {
            return false;
        }
        c.pos += fraction;
        if c.at_end() {
            return fraction <= 6;
        }
    }
    c.offset() && c.at_end()
}

/// Parses `HH[:mm[:ss]]` (at most `max_fields` fields, each one or two digits, hour up
/// to 23, minute and second up to 59) and returns how many fields were read; the space
/// form checks that all three were present.
fn time_fields(c: &mut Cursor<'_>, max_fields: usize) -> Option<usize> {
    let hour = c.number(2)?;
    if hour > 23 {
        return None;
    }
    let mut fields = 1;
    while fields < max_fields && c.peek() == Some(b':') {
        c.pos += 1;
        if c.number(2)? > 59 {
            return None;
        }
        fields += 1;
    }
    Some(fields)
}

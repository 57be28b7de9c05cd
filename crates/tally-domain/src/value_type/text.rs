//! LETTER, PHONE_NUMBER, USERNAME and COORDINATE rules of §4.4.

use super::is_java_space;

/// LETTER: exactly one UTF-16 code unit, and it is a letter (Java's
/// `length() == 1 && Character.isLetter(charAt(0))`). A letter outside the Basic
/// Multilingual Plane is two code units in Java, so it fails.
///
/// Java's `isLetter` means the general categories L*; Rust's `is_alphabetic` adds
/// letter numerals (excluded below) and some combining vowel signs (not excluded: a
/// lone combining sign is not a realistic value).
pub(super) fn is_letter(s: &str) -> bool {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => c.len_utf16() == 1 && c.is_alphabetic() && !c.is_numeric(),
        _ => false,
    }
}

/// PHONE_NUMBER: `^[0-9+()#.\s/ext-]{6,50}$` (with Java's ASCII `\s`).
pub(super) fn is_phone_number(s: &str) -> bool {
    // Every accepted character is ASCII, so the byte length is the character count.
    (6..=50).contains(&s.len())
        && s.bytes().all(|b| {
            matches!(
                b,
                b'0'..=b'9'
                    | b'+'
                    | b'('
                    | b')'
                    | b'#'
                    | b'.'
                    | b'/'
                    | b'e'
                    | b'x'
                    | b't'
                    | b'-'
                    | b' '
                    | b'\t'
                    | b'\n'
                    | 0x0B
                    | 0x0C
                    | b'\r'
            )
        })
}

/// USERNAME: `^(?=.{4,255}$)(?![-_.@])(?!.*[-_.@]{2})[-_.@a-zA-Z0-9]+(?<![-_.@])$`.
///
/// That is: 4 to 255 characters from `[-_.@a-zA-Z0-9]`, not starting or ending with
/// one of `-_.@`, and never two of those in a row.
pub(super) fn is_username(s: &str) -> bool {
    let b = s.as_bytes();
    let special = |c: u8| matches!(c, b'-' | b'_' | b'.' | b'@');
    (4..=255).contains(&b.len())
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || special(c))
        && !b.first().is_some_and(|&c| special(c))
        && !b.last().is_some_and(|&c| special(c))
        && !b.windows(2).any(|w| special(w[0]) && special(w[1]))
}

/// COORDINATE: after removing Java `\s` whitespace, `[lng,lat]` where both parts are
/// Java floats, `-180 <= lng <= 180` and `-90 <= lat <= 90` (compared as 32-bit floats,
/// as DHIS2 parses them with `Float.parseFloat`).
///
/// Allocates only when the value contains whitespace to remove.
pub(super) fn is_coordinate(s: &str) -> bool {
    if s.chars().any(is_java_space) {
        let compact: String = s.chars().filter(|&c| !is_java_space(c)).collect();
        is_compact_coordinate(&compact)
    } else {
        is_compact_coordinate(s)
    }
}

fn is_compact_coordinate(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return false;
    };
    let Some((lng, lat)) = inner.split_once(',') else {
        return false;
    };
    match (java_float(lng), java_float(lat)) {
        (Some(lng), Some(lat)) => (-180.0..=180.0).contains(&lng) && (-90.0..=90.0).contains(&lat),
        _ => false,
    }
}

/// `Float.parseFloat` for decimal input: surrounding characters up to U+0020 are
/// ignored, then `[+-]?`, digits with an optional `.` (at least one digit, so `1.` and
/// `.5` are fine), an optional exponent, and an optional `f`, `F`, `d` or `D` suffix.
///
/// `NaN` and `Infinity` return `None`: neither can pass a range check, so the result is
/// the same. Java's hexadecimal floats (`0x1p3`) are not supported; no client sends them.
fn java_float(s: &str) -> Option<f32> {
    let s = s.trim_matches(|c: char| c <= ' ');
    let body = s.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(s).as_bytes();
    let unsigned = match body {
        [b'+' | b'-', rest @ ..] => rest,
        _ => body,
    };
    let int_len = unsigned.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut rest = &unsigned[int_len..];
    let mut frac_len = 0;
    if let [b'.', after @ ..] = rest {
        frac_len = after.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &after[frac_len..];
    }
    if int_len + frac_len == 0 {
        return None;
    }
    if let [b'e' | b'E', exp @ ..] = rest {
        let exp = match exp {
            [b'+' | b'-', digits @ ..] => digits,
            _ => exp,
        };
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return None;
        }
    } else if !rest.is_empty() {
        return None;
    }
    // The grammar checked above is a subset of Rust's float syntax, and Rust rounds
    // correctly to f32 like Java does.
    std::str::from_utf8(body).ok()?.parse::<f32>().ok()
}

//! Number rules of §4.4 and the zero pattern of §3.5, written out by hand.
//!
//! Digits are ASCII only, as with Java's `\d` (no `UNICODE_CHARACTER_CLASS`).

/// NUMBER values must be shorter than this (Java `value.length() < 250`).
const NUMBER_MAX_LENGTH: usize = 250;

/// Length of the run of ASCII digits at the start of `b`.
fn digit_run(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `^(-?0|-?[1-9]\d*)(\.\d+)?$`, under 250 characters. Every string of that shape is a
/// parseable, finite double (it has at most 249 digits), so DHIS2's "parseable as a
/// double" condition needs no separate test.
pub(super) fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    // All accepted characters are ASCII, so bytes equal UTF-16 units here.
    if b.len() >= NUMBER_MAX_LENGTH {
        return false;
    }
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let rest = match b {
        [b'0', rest @ ..] => rest,
        [b'1'..=b'9', rest @ ..] => &rest[digit_run(rest)..],
        _ => return false,
    };
    match rest {
        [] => true,
        [b'.', fraction @ ..] => !fraction.is_empty() && digit_run(fraction) == fraction.len(),
        _ => false,
    }
}

/// A NUMBER from 0 to 100 inclusive. `-0` counts as 0, as a Java double comparison does.
pub(super) fn is_percentage(s: &str) -> bool {
    is_number(s) && s.parse::<f64>().is_ok_and(|x| (0.0..=100.0).contains(&x))
}

/// A NUMBER from 0 to 1 inclusive.
pub(super) fn is_unit_interval(s: &str) -> bool {
    is_number(s) && s.parse::<f64>().is_ok_and(|x| (0.0..=1.0).contains(&x))
}

/// Magnitude of a digit string known to start with 1-9, if it fits in an `i64` range
/// wide enough to compare against both 32-bit bounds.
fn magnitude(digits: &[u8]) -> Option<i64> {
    // Eleven digits already exceed every 32-bit value; stop before i64 could overflow.
    if digits.len() > 11 || digits.is_empty() || digit_run(digits) != digits.len() {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
    )
}

/// `[1-9]\d*` and at most `i32::MAX`.
fn is_positive_i32(digits: &[u8]) -> bool {
    matches!(digits.first(), Some(b'1'..=b'9'))
        && magnitude(digits).is_some_and(|m| m <= i64::from(i32::MAX))
}

/// `-[1-9]\d*` and at least `i32::MIN`.
fn is_negative_i32(b: &[u8]) -> bool {
    match b.strip_prefix(b"-") {
        Some(digits) => {
            matches!(digits.first(), Some(b'1'..=b'9'))
                && magnitude(digits).is_some_and(|m| -m >= i64::from(i32::MIN))
        }
        None => false,
    }
}

/// INTEGER: `^(0|-?[1-9]\d*)$` and fits in a 32-bit int (so `-0` and `01` fail).
pub(super) fn is_integer(s: &str) -> bool {
    let b = s.as_bytes();
    b == b"0" || is_positive_i32(b) || is_negative_i32(b)
}

/// INTEGER_POSITIVE: `^[1-9]\d*$` and fits in a 32-bit int.
pub(super) fn is_positive_integer(s: &str) -> bool {
    is_positive_i32(s.as_bytes())
}

/// INTEGER_NEGATIVE: `^-[1-9]\d*$` and fits in a 32-bit int.
pub(super) fn is_negative_integer(s: &str) -> bool {
    is_negative_i32(s.as_bytes())
}

/// INTEGER_ZERO_OR_POSITIVE: `^0$` or `^[1-9]\d*$`, and fits in a 32-bit int.
pub(super) fn is_zero_or_positive_integer(s: &str) -> bool {
    let b = s.as_bytes();
    b == b"0" || is_positive_i32(b)
}

/// The zero pattern `^0(\.0*)?$` of the zero rule.
pub(super) fn is_zero(s: &str) -> bool {
    match s.as_bytes() {
        [b'0'] => true,
        [b'0', b'.', zeros @ ..] => zeros.iter().all(|&c| c == b'0'),
        _ => false,
    }
}

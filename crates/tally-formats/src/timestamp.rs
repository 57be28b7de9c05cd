//! Fast UTC timestamp formatting for exports (`yyyy-MM-dd'T'HH:mm:ss.SSS+0000`, spec §5.5).
//!
//! Exports format two timestamps per value, so this avoids a date library on the hot path:
//! epoch milliseconds are split into days and time of day and the civil date is computed with
//! the classic era-based proleptic Gregorian conversion.

use std::fmt::Write as _;

/// Civil (year, month 1-12, day 1-31) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `epoch_millis` (milliseconds since 1970-01-01T00:00:00Z) to `out` as
/// `yyyy-MM-dd'T'HH:mm:ss.SSS+0000` in UTC, e.g. `2024-01-05T10:15:30.123+0000`.
///
/// Allocation-free when `out` has capacity (clear and reuse one `String` per export). Years
/// outside 0..=9999 are written with as many digits as needed and a leading `-` when negative,
/// which never happens for real DHIS2 data.
pub fn format_epoch_millis(epoch_millis: i64, out: &mut String) {
    let days = epoch_millis.div_euclid(86_400_000);
    let ms_of_day = epoch_millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    let millis = ms_of_day % 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if (0..=9999).contains(&year) {
        let mut b = *b"0000-00-00T00:00:00.000+0000";
        put(&mut b[0..4], year);
        put(&mut b[5..7], i64::from(month));
        put(&mut b[8..10], i64::from(day));
        put(&mut b[11..13], h);
        put(&mut b[14..16], m);
        put(&mut b[17..19], s);
        put(&mut b[20..23], millis);
        // Only ASCII digits and punctuation were written.
        out.push_str(std::str::from_utf8(&b).unwrap_or_default());
    } else {
        let _ = write!(
            out,
            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}+0000"
        );
    }
}

/// Convenience form of [`format_epoch_millis`] returning a new `String`.
pub fn epoch_millis_to_string(epoch_millis: i64) -> String {
    let mut s = String::with_capacity(28);
    format_epoch_millis(epoch_millis, &mut s);
    s
}

fn put(dst: &mut [u8], mut v: i64) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(epoch_millis_to_string(0), "1970-01-01T00:00:00.000+0000");
        assert_eq!(
            epoch_millis_to_string(1_704_449_730_123),
            "2024-01-05T10:15:30.123+0000"
        );
        assert_eq!(epoch_millis_to_string(-1), "1969-12-31T23:59:59.999+0000");
        assert_eq!(
            epoch_millis_to_string(951_782_400_000),
            "2000-02-29T00:00:00.000+0000"
        );
    }

    proptest::proptest! {
        #[test]
        fn matches_jiff(ms in -62_135_596_800_000i64..253_402_300_799_999i64) {
            let ts = jiff::Timestamp::from_millisecond(ms).unwrap();
            let expected = ts.strftime("%Y-%m-%dT%H:%M:%S.%3f+0000").to_string();
            proptest::prop_assert_eq!(epoch_millis_to_string(ms), expected);
        }
    }
}

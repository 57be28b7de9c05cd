//! ISO period ids: [`Period::parse`] and the canonical [`Display`](fmt::Display) form.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

use super::period_type::Shape;
use super::{Period, PeriodType, add_days, month_start, week_number, week_one_start};

/// How the number after the year and the infix is written in one id pattern.
#[derive(Clone, Copy)]
enum Index {
    /// No number (`2014`, `2014April`).
    None,
    /// Exactly one digit (`2014Q1`).
    One,
    /// One or two digits, written without padding (`2014W1`, parsed also as `2014W01`).
    OneOrTwo,
    /// Exactly two digits (`201401`, `201401B`).
    Two,
}

/// One accepted id pattern after the four year digits: `infix`, a number, `suffix`.
struct Pattern {
    infix: &'static str,
    index: Index,
    suffix: &'static str,
}

const fn pat(infix: &'static str, index: Index, suffix: &'static str) -> Pattern {
    Pattern {
        infix,
        index,
        suffix,
    }
}

/// The patterns of each type, canonical (output) form first. Daily is handled apart
/// because its "number" is a month and a day. These mirror DHIS2 2.41's `DateUnitType`
/// regular expressions (`\b(\d{4})W(\d[\d]?)\b` …), which must match the whole string.
fn patterns(ty: PeriodType) -> &'static [Pattern] {
    use Index::{None as No, One, OneOrTwo, Two};
    match ty {
        PeriodType::Daily => &[],
        PeriodType::Weekly => &const { [pat("W", OneOrTwo, "")] },
        PeriodType::WeeklyWednesday => &const { [pat("WedW", OneOrTwo, "")] },
        PeriodType::WeeklyThursday => &const { [pat("ThuW", OneOrTwo, "")] },
        PeriodType::WeeklySaturday => &const { [pat("SatW", OneOrTwo, "")] },
        PeriodType::WeeklySunday => &const { [pat("SunW", OneOrTwo, "")] },
        PeriodType::BiWeekly => &const { [pat("BiW", OneOrTwo, "")] },
        PeriodType::Monthly => &const { [pat("", Two, ""), pat("-", Two, "")] },
        PeriodType::BiMonthly => &const { [pat("", Two, "B")] },
        PeriodType::Quarterly => &const { [pat("Q", One, "")] },
        PeriodType::QuarterlyNov => &const { [pat("NovQ", One, "")] },
        PeriodType::SixMonthly => &const { [pat("S", One, "")] },
        PeriodType::SixMonthlyApril => &const { [pat("AprilS", One, "")] },
        PeriodType::SixMonthlyNov => &const { [pat("NovS", One, "")] },
        PeriodType::Yearly => &const { [pat("", No, "")] },
        PeriodType::FinancialApril => &const { [pat("April", No, "")] },
        PeriodType::FinancialJuly => &const { [pat("July", No, "")] },
        PeriodType::FinancialOct => &const { [pat("Oct", No, "")] },
        PeriodType::FinancialNov => &const { [pat("Nov", No, "")] },
    }
}

/// Parses the leading ASCII digits of `s` (at most `max` of them, at least `min`) and
/// returns their value and the rest. More digits than `max` is a mismatch, as in a
/// whole-string regex.
fn digits(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n < min || n > max {
        return None;
    }
    let (num, rest) = s.split_at(n);
    Some((if n == 0 { 0 } else { num.parse().ok()? }, rest))
}

impl Pattern {
    /// Matches `rest` (the id after the year) and returns the number (0 for
    /// [`Index::None`]).
    fn matches(&self, rest: &str) -> Option<u32> {
        let rest = rest.strip_prefix(self.infix)?;
        let (n, rest) = match self.index {
            Index::None => (0, rest),
            Index::One => digits(rest, 1, 1)?,
            Index::OneOrTwo => digits(rest, 1, 2)?,
            Index::Two => digits(rest, 2, 2)?,
        };
        (rest == self.suffix).then_some(n)
    }
}

impl Period {
    /// Parses a DHIS2 ISO period id (`20140101`, `2014-01-01`, `2014W1`, `2014W01`,
    /// `2014WedW1`, `2014BiW1`, `201401`, `2014-01`, `201401B`, `2014Q1`, `2015NovQ1`,
    /// `2014S1`, `2014AprilS1`, `2014NovS1`, `2014`, `2014April`, `2014July`, `2014Oct`,
    /// `2014Nov`), trying the patterns in DHIS2's order (spec §10). Case-sensitive, as in
    /// DHIS2.
    ///
    /// Returns `None` ("no period": E7611 on import, E1101 in the single-value API) when no
    /// pattern matches or a component is invalid: week 0 or a week past the year's last
    /// (`2014W53`; `2009W53` is fine), `2018BiW27` (2·27−1 = 53 > 52 ISO weeks;
    /// `2009BiW27` is fine), bimester 07, quarter 5, semester 3, month 13, 30 February…
    ///
    /// Weekly variants (`WedW`, `ThuW`, `SatW`, `SunW`) accept a week 53 exactly when
    /// their own week-year has 53 weeks (`2024SatW53`, Saturday 2024-12-28): that is the
    /// id DHIS2's calendar library lists and DHIS2 formats for that week. DHIS2's server
    /// parser (`DateUnitPeriodTypeParser`) checks these numbers against the *ISO* week
    /// count instead (read from its code, not confirmed on a server), which would reject
    /// some ids DHIS2 produces itself; tally accepts exactly the ids it can produce.
    #[must_use]
    pub fn parse(s: &str) -> Option<Period> {
        let bytes = s.as_bytes();
        if bytes.len() < 4 || !bytes[..4].iter().all(u8::is_ascii_digit) {
            return None;
        }
        // The first four bytes are ASCII, so index 4 is a char boundary.
        let (year, rest) = s.split_at(4);
        let year: i16 = year.parse().ok()?;
        if let Some(p) = parse_daily(year, rest) {
            return Some(p);
        }
        PeriodType::ALL.into_iter().find_map(|ty| {
            let n = patterns(ty).iter().find_map(|p| p.matches(rest))?;
            from_id(ty, year, n)
        })
    }

    /// The year written in the id (`2014` for `2014Nov` and for `2014W1`).
    pub(super) fn id_year(self) -> i16 {
        self.id_parts().0
    }

    /// `(year, number)` of the canonical id: the number is the week, bi-week, month,
    /// bimester, quarter or semester (1-based), and 0 for daily and yearly types.
    fn id_parts(self) -> (i16, u32) {
        let start = self.start;
        match self.ty.shape() {
            Shape::Day => (start.year(), 0),
            // `end` = start + 6 or 13 exists, so the 4th day does too.
            Shape::Week { .. } => week_number(start).map_or((i16::MAX, 0), |(y, w)| (y, w as u32)),
            Shape::BiWeek => {
                week_number(start).map_or((i16::MAX, 0), |(y, w)| (y, w as u32 / 2 + 1))
            }
            Shape::Months {
                months,
                anchor,
                end_named,
            } => {
                let (year, month) = (start.year(), start.month());
                let type_year = if month >= anchor { year } else { year - 1 };
                let id_year = if end_named { type_year + 1 } else { type_year };
                let n = (i32::from(month) - i32::from(anchor)).rem_euclid(12) / months + 1;
                (id_year, if months == 12 { 0 } else { n as u32 })
            }
        }
    }
}

/// `yyyyMMdd` or `yyyy-MM-dd`, a real calendar date.
fn parse_daily(year: i16, rest: &str) -> Option<Period> {
    let (month, day) = if let Some(dashed) = rest.strip_prefix('-') {
        let (m, dashed) = digits(dashed, 2, 2)?;
        let (d, tail) = digits(dashed.strip_prefix('-')?, 2, 2)?;
        (tail.is_empty().then_some(m)?, d)
    } else {
        let (md, tail) = digits(rest, 4, 4)?;
        (tail.is_empty().then_some(md / 100)?, md % 100)
    };
    let date = Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()?;
    Period::checked(PeriodType::Daily, date)
}

/// The period with id year `year` and number `n` (see [`Period::id_parts`]).
fn from_id(ty: PeriodType, year: i16, n: u32) -> Option<Period> {
    let n = i64::from(n);
    let start = match ty.shape() {
        Shape::Day => return None,
        Shape::Week { weekday } => {
            if n < 1 {
                return None;
            }
            let start = add_days(week_one_start(year, weekday)?, 7 * (n - 1))?;
            // Past the last week of the year, the "week" belongs to the next year.
            (week_number(start)?.0 == year).then_some(start)?
        }
        Shape::BiWeek => {
            if n < 1 {
                return None;
            }
            // Starts on the Monday of ISO week 2n−1, which must exist in `year`.
            let start = add_days(week_one_start(year, 1)?, 7 * (2 * n - 2))?;
            (week_number(start)?.0 == year).then_some(start)?
        }
        Shape::Months {
            months,
            anchor,
            end_named,
        } => {
            let count = i64::from(12 / months);
            let n = if months == 12 { 1 } else { n };
            if !(1..=count).contains(&n) {
                return None;
            }
            let type_year = i32::from(year) - i32::from(end_named);
            let index = type_year * 12 + i32::from(anchor) - 1 + (n as i32 - 1) * months;
            month_start(index)?
        }
    };
    Period::checked(ty, start)
}

impl fmt::Display for Period {
    /// The canonical DHIS2 id: `20140101`, `2014W1` (never zero-padded), `2014BiW1`,
    /// `201401`, `201401B`, `2014Q1`, `2015NovQ1`, `2014S1`, `2014AprilS1`, `2014NovS1`,
    /// `2014`, `2014April`, `2014July`, `2014Oct`, `2014Nov`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, n) = self.id_parts();
        if self.ty == PeriodType::Daily {
            let d = self.start;
            return write!(f, "{year:04}{:02}{:02}", d.month(), d.day());
        }
        let Some(p) = patterns(self.ty).first() else {
            return Err(fmt::Error);
        };
        write!(f, "{year:04}{}", p.infix)?;
        match p.index {
            Index::None => {}
            Index::One | Index::OneOrTwo => write!(f, "{n}")?,
            Index::Two => write!(f, "{n:02}")?,
        }
        f.write_str(p.suffix)
    }
}

/// A string that is not a valid DHIS2 ISO period id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period '{0}'")]
pub struct InvalidPeriod(pub String);

impl FromStr for Period {
    type Err = InvalidPeriod;

    /// [`Period::parse`] with an error value.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::parse(s).ok_or_else(|| InvalidPeriod(s.to_owned()))
    }
}

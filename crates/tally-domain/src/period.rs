//! DHIS2 ISO periods: the 19 fixed period types of DHIS2 2.41, their ISO ids, dates and
//! ADX form (spec §9.3, §10, §14 item 9).
//!
//! A [`Period`] is a [`PeriodType`] plus a start date. Every other property (end date,
//! ISO id, ADX form, neighbours) is derived from those two, so two periods are equal
//! exactly when DHIS2 would store them as the same row of its `period` table.
//!
//! Dates are ISO (proleptic Gregorian) calendar dates. DHIS2's other system calendars
//! (Ethiopian, Nepali, …) are out of scope.
//!
//! Where DHIS2's behaviour is odd, the odd behaviour is kept, because clients and stored
//! data depend on it:
//!
//! * `2014Nov` (FinancialNov) is 2013-11-01..2014-10-31 and `2014NovS1` (SixMonthlyNov)
//!   is 2013-11-01..2014-04-30: the November types are named by the year they *end* in.
//! * BiMonthly `201402B` is the second *bimester* (Mar–Apr), not February.
//! * In a year with 53 ISO weeks, BiWeekly has a 27th period (`2009BiW27`, ISO weeks 53
//!   and 1 of the next year) that overlaps the next year's `BiW1` by one week; see
//!   [`Period::next`].
//!
//! The supported years are [`Period::MIN_YEAR`]..=[`Period::MAX_YEAR`] (the 4-digit year
//! of the id), with every date representable by [`jiff`]. Operations that would leave
//! that range return `None` instead of panicking.

mod adx;
mod iso;
mod period_type;

#[cfg(test)]
mod tests;

pub use adx::AdxPeriodError;
pub use iso::InvalidPeriod;
pub use period_type::{AdxDuration, PeriodType, UnknownPeriodType};

use std::cmp::Ordering;
use std::fmt;

use jiff::civil::Date;
use period_type::Shape;

/// One DHIS2 period: a type and the first day of the period.
///
/// Construct it with [`Period::parse`] (ISO id), [`Period::parse_adx`] (ADX form),
/// [`Period::containing`] (the period of a type holding a date),
/// [`Period::from_start`], or [`PeriodType::periods_in_year`]. All of them only ever
/// build periods whose start really begins a period of that type, so every `Period` has
/// a canonical id ([`Display`](fmt::Display)) that [`Period::parse`] maps back to it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    ty: PeriodType,
    start: Date,
    /// Cached: a function of `ty` and `start`, stored so that [`Period::end`] cannot fail.
    end: Date,
}

/// A year outside [`PeriodType::LIST_YEARS`] was given to [`PeriodType::periods_in_year`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "year {year} is out of range: periods can be listed for years {} to {}",
    PeriodType::LIST_YEARS.start(),
    PeriodType::LIST_YEARS.end()
)]
pub struct YearOutOfRange {
    /// The rejected year.
    pub year: i32,
}

impl PeriodType {
    /// The years [`PeriodType::periods_in_year`] accepts. One less than
    /// [`Period::MAX_YEAR`] at the top because the November types list year Y under the
    /// id year Y+1.
    pub const LIST_YEARS: std::ops::RangeInclusive<i32> = 1..=9998;

    /// The periods of this type "in" `year`, in date order, defined exactly as DHIS2's
    /// calendar library `@dhis2/multi-calendar-dates` (`generateFixedPeriods`, which DHIS2's
    /// web apps use to list periods) lists them; `tests/period_vectors.rs` checks this
    /// against the library for 2000-2030:
    ///
    /// * Daily: every day of the year. Monthly, BiMonthly, Quarterly, SixMonthly, Yearly:
    ///   the calendar year cut into 12, 6, 4, 2, 1 periods.
    /// * Weekly types: the weeks whose week-year is `year` (52 or 53 of them), i.e. the
    ///   weeks with at least 4 days in `year`; the first may start in December of the
    ///   previous year and the last may end in January of the next.
    /// * BiWeekly: always 26 bi-weeks, from ISO week 1 (DHIS2's server also generates
    ///   `weeksInYear / 2` = 26); a 53-week year's `BiW27` is a valid period but belongs
    ///   to no year's list.
    /// * Types whose year starts in another month (QuarterlyNov, SixMonthlyApril,
    ///   SixMonthlyNov, Financial*): the periods of the type-year that *starts* in `year`.
    ///   For the November types the ids therefore carry `year + 1`:
    ///   `FinancialNov.periods_in_year(2024)` is `[2025Nov]` (2024-11-01..2025-10-31).
    ///
    /// # Errors
    /// [`YearOutOfRange`] outside [`PeriodType::LIST_YEARS`].
    pub fn periods_in_year(self, year: i32) -> Result<Vec<Period>, YearOutOfRange> {
        let out_of_range = YearOutOfRange { year };
        if !Self::LIST_YEARS.contains(&year) {
            return Err(out_of_range);
        }
        let y = i16::try_from(year).map_err(|_| out_of_range)?;
        let (first, count) = match self.shape() {
            Shape::Day => (
                Date::new(y, 1, 1).ok(),
                usize::try_from(days_in_year(y)).ok(),
            ),
            Shape::Week { weekday } => {
                let first = week_one_start(y, weekday);
                let weeks = first
                    .zip(week_one_start(y + 1, weekday))
                    .and_then(|(first, next)| usize::try_from(days_between(first, next) / 7).ok());
                (first, weeks)
            }
            Shape::BiWeek => (week_one_start(y, 1), Some(26)),
            Shape::Months { months, anchor, .. } => (
                month_start(i32::from(y) * 12 + i32::from(anchor) - 1),
                usize::try_from(12 / months).ok(),
            ),
        };
        let (Some(first), Some(count)) = (first, count) else {
            return Err(out_of_range);
        };
        let mut out = Vec::with_capacity(count);
        let mut next = Period::from_start(self, first);
        while let Some(p) = next {
            if out.len() == count {
                break;
            }
            out.push(p);
            next = p.next();
        }
        if out.len() == count {
            Ok(out)
        } else {
            Err(out_of_range)
        }
    }
}

impl Period {
    /// The smallest year an id may carry. DHIS2 ids have exactly four year digits; year
    /// 0 is excluded because its periods would start in year −1.
    pub const MIN_YEAR: i16 = 1;
    /// The largest year an id may carry (four digits). Periods of year 9999 that would
    /// end in year 10000 (e.g. `9999April`) do not exist.
    pub const MAX_YEAR: i16 = 9999;

    /// Builds the period of type `ty` starting on `start`, checking the supported range.
    /// `start` must already be a period start of `ty`.
    fn checked(ty: PeriodType, start: Date) -> Option<Period> {
        let end = match ty.shape() {
            Shape::Day => start,
            Shape::Week { .. } => add_days(start, 6)?,
            Shape::BiWeek => add_days(start, 13)?,
            Shape::Months { months, .. } => {
                month_start(month_index(start) + months - 1)?.last_of_month()
            }
        };
        let p = Period { ty, start, end };
        (Self::MIN_YEAR..=Self::MAX_YEAR)
            .contains(&p.id_year())
            .then_some(p)
    }

    /// The period of type `ty` that contains `date`: DHIS2's `PeriodType.createPeriod(date)`,
    /// used for "the current period" (spec §4.5) and for ADX periods, whose start date
    /// need not be the first day (spec §9.3).
    ///
    /// For BiWeekly this is the bi-week starting on the Monday of the odd ISO week at or
    /// before `date`'s ISO week, so a date in ISO week 53 gives `BiW27`.
    ///
    /// `None` only outside the supported years.
    #[must_use]
    pub fn containing(ty: PeriodType, date: Date) -> Option<Period> {
        let start = match ty.shape() {
            Shape::Day => date,
            Shape::Week { weekday } => {
                add_days(date, -i64::from((weekday_of(date) - weekday).rem_euclid(7)))?
            }
            Shape::BiWeek => {
                let monday = add_days(date, -i64::from(weekday_of(date) - 1))?;
                let (_, week) = week_number(monday)?;
                if week % 2 == 1 {
                    monday
                } else {
                    add_days(monday, -7)?
                }
            }
            Shape::Months { months, anchor, .. } => {
                let index = month_index(date);
                month_start(index - (index - (i32::from(anchor) - 1)).rem_euclid(months))?
            }
        };
        Self::checked(ty, start)
    }

    /// The period of type `ty` that starts exactly on `start`, or `None` when no period of
    /// that type starts on that day (or it is out of range). Useful to rebuild a period
    /// from a stored (type, start date) pair.
    #[must_use]
    pub fn from_start(ty: PeriodType, start: Date) -> Option<Period> {
        Self::containing(ty, start).filter(|p| p.start == start)
    }

    /// The period type.
    #[must_use]
    pub const fn period_type(self) -> PeriodType {
        self.ty
    }

    /// The first day of the period.
    #[must_use]
    pub const fn start(self) -> Date {
        self.start
    }

    /// The last day of the period (inclusive, as DHIS2's `endDate`).
    #[must_use]
    pub const fn end(self) -> Date {
        self.end
    }

    /// True when `date` lies within `start()..=end()`.
    #[must_use]
    pub fn contains(self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }

    /// The number of days in the period.
    #[must_use]
    pub fn days(self) -> i32 {
        i32::try_from(days_between(self.start, self.end) + 1).unwrap_or(i32::MAX)
    }

    /// The following period of the same type: the period containing the day after
    /// [`Period::end`]. This is DHIS2's `getNextPeriod` for every type; periods of one
    /// type tile the calendar, so `next().start() == end() + 1 day`, with one exception:
    /// after a 53-week year's `BiW27` comes the next year's `BiW1`, which starts a week
    /// before `BiW27` ends (DHIS2 defines both; they overlap by ISO week 1).
    ///
    /// `None` past the supported range.
    #[must_use]
    pub fn next(self) -> Option<Period> {
        Self::containing(self.ty, add_days(self.end, 1)?)
    }

    /// The preceding period of the same type: the period containing the day before
    /// [`Period::start`], so `previous` and [`Period::next`] are inverse everywhere
    /// (`previous` of a `BiW1` that follows a 53-week year is that year's `BiW27`).
    ///
    /// DHIS2's own `getPreviousPeriod` steps 14 days back from the start for BiWeekly and
    /// so skips `BiW27` there; tally keeps the two directions consistent instead. For
    /// every other type the two definitions agree.
    ///
    /// `None` before the supported range.
    #[must_use]
    pub fn previous(self) -> Option<Period> {
        Self::containing(self.ty, add_days(self.start, -1)?)
    }

    /// The period `n` steps away (`n` < 0 goes back): `next()` applied `n` times, or
    /// `previous()` applied `-n` times. Used for DHIS2's "open future periods" (spec §4.5:
    /// `containing(today).previous().plus(openFuturePeriods)`).
    ///
    /// `None` when the result is outside the supported range.
    #[must_use]
    pub fn plus(self, n: i32) -> Option<Period> {
        match self.ty.shape() {
            Shape::Day => Self::checked(self.ty, add_days(self.start, i64::from(n))?),
            Shape::Week { .. } => Self::checked(self.ty, add_days(self.start, 7 * i64::from(n))?),
            Shape::Months { months, .. } => {
                let index = i64::from(month_index(self.start)) + i64::from(n) * i64::from(months);
                Self::checked(self.ty, month_start(i32::try_from(index).ok()?)?)
            }
            // Bi-weeks are irregular around 53-week years, so walk. The walk is bounded
            // by the supported range (about 260,000 bi-weeks).
            Shape::BiWeek => {
                let mut p = self;
                for _ in 0..n.unsigned_abs() {
                    p = if n > 0 { p.next()? } else { p.previous()? };
                }
                Some(p)
            }
        }
    }
}

impl Ord for Period {
    /// Periods sort by start date, then by end date (shorter first), then by type.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.start, self.end, self.ty).cmp(&(other.start, other.end, other.ty))
    }
}

impl PartialOrd for Period {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Period({self} {}..{})", self.start, self.end)
    }
}

impl serde::Serialize for Period {
    /// A period serialises as its ISO id, as in every DHIS2 payload.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------
// Calendar helpers (ISO calendar, via jiff). All arithmetic is checked: out of jiff's
// range gives `None`.

/// `date + n` days.
fn add_days(date: Date, n: i64) -> Option<Date> {
    date.checked_add(jiff::Span::new().try_days(n).ok()?).ok()
}

/// Whole days from `a` to `b` (negative when `b` is earlier).
fn days_between(a: Date, b: Date) -> i64 {
    b.duration_since(a).as_secs() / 86_400
}

fn days_in_year(year: i16) -> i16 {
    Date::new(year, 1, 1).map_or(365, Date::days_in_year)
}

/// 1 = Monday .. 7 = Sunday.
fn weekday_of(date: Date) -> i8 {
    date.weekday().to_monday_one_offset()
}

/// Months since year 0: `year * 12 + month - 1`.
fn month_index(date: Date) -> i32 {
    i32::from(date.year()) * 12 + i32::from(date.month()) - 1
}

/// The first day of the month with the given [`month_index`].
fn month_start(index: i32) -> Option<Date> {
    let year = i16::try_from(index.div_euclid(12)).ok()?;
    let month = i8::try_from(index.rem_euclid(12) + 1).ok()?;
    Date::new(year, month, 1).ok()
}

/// The first day of week 1 of `year`, for weeks starting on `weekday` (1 = Monday):
/// the week holding January 4, i.e. the first week with at least 4 days in `year`
/// (ISO 8601 for Monday; `WeekFields.of(day, 4)` in DHIS2 for the other days).
fn week_one_start(year: i16, weekday: i8) -> Option<Date> {
    let jan4 = Date::new(year, 1, 4).ok()?;
    add_days(jan4, -i64::from((weekday_of(jan4) - weekday).rem_euclid(7)))
}

/// `(week-year, week number)` of the 7-day week starting on `start`. A week belongs to
/// the year holding at least 4 of its days, which is the year of its 4th day; that day's
/// position in its year gives the number.
fn week_number(start: Date) -> Option<(i16, i32)> {
    let fourth = add_days(start, 3)?;
    Some((fourth.year(), (i32::from(fourth.day_of_year()) - 1) / 7 + 1))
}

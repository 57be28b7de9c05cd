//! The ADX period form `<start yyyy-MM-dd>/<ISO 8601 duration>` (spec §9.3), as DHIS2
//! 2.41's `AdxPeriod` reads and writes it.

use jiff::civil::Date;

use super::{AdxDuration, Period, PeriodType, weekday_of};

/// Why an ADX period string was rejected. The messages are DHIS2's, word for word
/// (spec §9.3); ADX imports put them in the `"ADX Error"` conflict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdxPeriodError {
    /// The string does not split on `/` into exactly two parts (Java `split`, which drops
    /// trailing empty parts, so `2024-01-01/P1M/` still counts as two).
    #[error("{0} not in valid <date>/<duration> format")]
    Format(String),
    /// The duration is not one of `P1D P7D P14D P1M P2M P3M P6M P1Y`. DHIS2 also reports
    /// an unparseable *date* this way, naming the duration (its date parser throws the
    /// same `IllegalArgumentException` that the duration lookup does).
    #[error("{0} is not a supported duration type")]
    UnsupportedDuration(String),
    /// `P7D` starting on a Tuesday or Friday (no weekly type starts then in 2.41).
    #[error("{0} is invalid weekly type")]
    InvalidWeekly(String),
    /// `P6M` starting in a month other than Jan, Apr, May, Jul, Oct, Nov.
    #[error("{0} is invalid sixmonthly type")]
    InvalidSixMonthly(String),
    /// `P1Y` starting in a month other than Jan, Apr, Jul, Oct, Nov.
    #[error("{0} is invalid yearly type")]
    InvalidYearly(String),
    /// tally only: the period would fall outside the supported years
    /// ([`Period::MIN_YEAR`]..=[`Period::MAX_YEAR`]).
    #[error("{0} is outside the supported period range")]
    OutOfRange(String),
}

impl Period {
    /// The ADX form: start date and the type's ISO 8601 duration, e.g. `2022WedW1` →
    /// `2021-12-29/P7D`, `2022Nov` → `2021-11-01/P1Y` (DHIS2's `AdxPeriod.serialize`).
    ///
    /// [`Period::parse_adx`] maps this back to the same period for every type except
    /// **QuarterlyNov**: ADX has no way to say it, because `P3M` always means Quarterly
    /// (spec §9.3), so `2015NovQ1` → `2014-11-01/P3M` reads back as `2014Q4`. DHIS2
    /// writes it that way too, so tally does the same rather than inventing a form.
    #[must_use]
    pub fn to_adx(self) -> String {
        let d = self.start;
        format!(
            "{:04}-{:02}-{:02}/{}",
            d.year(),
            d.month(),
            d.day(),
            self.ty.adx_duration()
        )
    }

    /// Parses an ADX period (DHIS2 2.41 `AdxPeriod.parse`). The duration picks the type;
    /// for `P7D`, `P6M` and `P1Y` the start date's weekday or month picks among the
    /// types of that length:
    ///
    /// * `P7D`: Monday → Weekly, Wednesday → WeeklyWednesday, Thursday → WeeklyThursday,
    ///   Saturday → WeeklySaturday, Sunday → WeeklySunday; Tuesday/Friday are errors.
    /// * `P6M`: Jan/Jul → SixMonthly, Apr/Oct → SixMonthlyApril, Nov/May → SixMonthlyNov.
    /// * `P1Y`: Jan → Yearly, Apr/Jul/Oct/Nov → FinancialApril/July/Oct/Nov.
    /// * `P3M` is always Quarterly (QuarterlyNov is unreachable, as in DHIS2).
    ///
    /// The result is the period of that type **containing** the start date, which need
    /// not be its first day: `2024-01-10/P1M` is `202401`, `2024-11-01/P1Y` is `2025Nov`.
    ///
    /// The date is read like DHIS2's Joda `yyyy-MM-dd` parser: four year digits, one or two
    /// month and day digits (`2024-1-6` is accepted), and it must be a real date.
    ///
    /// # Errors
    /// [`AdxPeriodError`] with DHIS2's message.
    pub fn parse_adx(s: &str) -> Result<Period, AdxPeriodError> {
        let mut tokens: Vec<&str> = s.split('/').collect();
        while tokens.last() == Some(&"") {
            tokens.pop();
        }
        let [date, duration] = tokens[..] else {
            return Err(AdxPeriodError::Format(s.to_owned()));
        };
        let unsupported = || AdxPeriodError::UnsupportedDuration(duration.to_owned());
        // DHIS2 parses the date first, then the duration; both failures give the same error.
        let date = parse_medium_date(date).ok_or_else(unsupported)?;
        let duration = AdxDuration::parse(duration).ok_or_else(unsupported)?;
        let ty = match duration {
            AdxDuration::P1D => PeriodType::Daily,
            AdxDuration::P7D => match weekday_of(date) {
                1 => PeriodType::Weekly,
                3 => PeriodType::WeeklyWednesday,
                4 => PeriodType::WeeklyThursday,
                6 => PeriodType::WeeklySaturday,
                7 => PeriodType::WeeklySunday,
                _ => return Err(AdxPeriodError::InvalidWeekly(s.to_owned())),
            },
            AdxDuration::P14D => PeriodType::BiWeekly,
            AdxDuration::P1M => PeriodType::Monthly,
            AdxDuration::P2M => PeriodType::BiMonthly,
            AdxDuration::P3M => PeriodType::Quarterly,
            AdxDuration::P6M => match date.month() {
                1 | 7 => PeriodType::SixMonthly,
                4 | 10 => PeriodType::SixMonthlyApril,
                5 | 11 => PeriodType::SixMonthlyNov,
                _ => return Err(AdxPeriodError::InvalidSixMonthly(s.to_owned())),
            },
            AdxDuration::P1Y => match date.month() {
                1 => PeriodType::Yearly,
                4 => PeriodType::FinancialApril,
                7 => PeriodType::FinancialJuly,
                10 => PeriodType::FinancialOct,
                11 => PeriodType::FinancialNov,
                _ => return Err(AdxPeriodError::InvalidYearly(s.to_owned())),
            },
        };
        Period::containing(ty, date).ok_or_else(|| AdxPeriodError::OutOfRange(s.to_owned()))
    }
}

/// `yyyy-M-d` with a four-digit year and one- or two-digit month and day.
fn parse_medium_date(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let all_digits = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some()
        || !all_digits(y, 4, 4)
        || !all_digits(m, 1, 2)
        || !all_digits(d, 1, 2)
    {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

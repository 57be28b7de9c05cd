//! [`PeriodType`]: the 19 fixed period types of DHIS2 2.41 that have an ISO id.

use std::fmt;
use std::str::FromStr;

/// A DHIS2 period type (DHIS2 2.41 `PeriodTypeEnum`, minus `TwoYearly`, which has no ISO
/// id and therefore can never appear in a data value).
///
/// The declaration order is DHIS2's ISO parse order (spec §10) and also sorts the types
/// from the shortest to the longest period, so the derived `Ord` is a sensible
/// "frequency, then family" order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodType {
    /// One day. Id `yyyyMMdd` (also parsed: `yyyy-MM-dd`).
    Daily,
    /// ISO 8601 week, Monday to Sunday. Id `yyyyW<n>`.
    Weekly,
    /// Wednesday to Tuesday week. Id `yyyyWedW<n>`.
    WeeklyWednesday,
    /// Thursday to Wednesday week. Id `yyyyThuW<n>`.
    WeeklyThursday,
    /// Saturday to Friday week. Id `yyyySatW<n>`.
    WeeklySaturday,
    /// Sunday to Saturday week. Id `yyyySunW<n>`.
    WeeklySunday,
    /// Two ISO weeks, `2n−1` and `2n`. Id `yyyyBiW<n>`.
    BiWeekly,
    /// Calendar month. Id `yyyyMM` (also parsed: `yyyy-MM`).
    Monthly,
    /// Two months, bimester `NN` = 01..06. Id `yyyyNNB`.
    BiMonthly,
    /// Calendar quarter. Id `yyyyQ<n>`.
    Quarterly,
    /// Quarters of a November year: Q1 = Nov(y−1)..Jan(y). Id `yyyyNovQ<n>`.
    QuarterlyNov,
    /// Calendar half year. Id `yyyyS<n>`.
    SixMonthly,
    /// Half years of an April year: S1 = Apr..Sep(y), S2 = Oct(y)..Mar(y+1). Id `yyyyAprilS<n>`.
    SixMonthlyApril,
    /// Half years of a November year: S1 = Nov(y−1)..Apr(y), S2 = May..Oct(y). Id `yyyyNovS<n>`.
    SixMonthlyNov,
    /// Calendar year. Id `yyyy`.
    Yearly,
    /// April to March, named by the start year. Id `yyyyApril`.
    FinancialApril,
    /// July to June, named by the start year. Id `yyyyJuly`.
    FinancialJuly,
    /// October to September, named by the start year. Id `yyyyOct`.
    FinancialOct,
    /// November to October, named by the **end** year (`2014Nov` = 2013-11-01..2014-10-31).
    /// Id `yyyyNov`.
    FinancialNov,
}

/// The ISO 8601 duration DHIS2 writes for a period type in ADX (`<start>/<duration>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdxDuration {
    /// One day.
    P1D,
    /// Seven days (every weekly type; the start weekday tells which).
    P7D,
    /// Fourteen days (BiWeekly).
    P14D,
    /// One month.
    P1M,
    /// Two months.
    P2M,
    /// Three months (Quarterly and QuarterlyNov).
    P3M,
    /// Six months (every six-monthly type; the start month tells which).
    P6M,
    /// One year (Yearly and the financial years; the start month tells which).
    P1Y,
}

impl AdxDuration {
    /// Every duration, in DHIS2's `AdxPeriod.Duration` order.
    pub const ALL: [AdxDuration; 8] = [
        AdxDuration::P1D,
        AdxDuration::P7D,
        AdxDuration::P14D,
        AdxDuration::P1M,
        AdxDuration::P2M,
        AdxDuration::P3M,
        AdxDuration::P6M,
        AdxDuration::P1Y,
    ];

    /// The duration as written in ADX, e.g. `"P1M"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AdxDuration::P1D => "P1D",
            AdxDuration::P7D => "P7D",
            AdxDuration::P14D => "P14D",
            AdxDuration::P1M => "P1M",
            AdxDuration::P2M => "P2M",
            AdxDuration::P3M => "P3M",
            AdxDuration::P6M => "P6M",
            AdxDuration::P1Y => "P1Y",
        }
    }

    /// Parses a duration exactly as DHIS2 does (`Duration.valueOf`: case-sensitive, no
    /// other spellings such as `P1W` or `P12M`).
    #[must_use]
    pub fn parse(s: &str) -> Option<AdxDuration> {
        AdxDuration::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for AdxDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a period type lays its periods on the calendar. Internal: every computation in
/// this module dispatches on this instead of on the 19 types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One day.
    Day,
    /// Seven days starting on the given weekday (1 = Monday .. 7 = Sunday).
    Week { weekday: i8 },
    /// Two ISO weeks starting on the Monday of an odd ISO week.
    BiWeek,
    /// `months` months; periods start on months congruent to `anchor` (1..=12) modulo
    /// `months`, and the type's "year" starts in month `anchor`. With `end_named`, ids
    /// carry the year in which the type-year *ends* (the November types), otherwise the
    /// year in which it starts.
    Months {
        months: i32,
        anchor: i8,
        end_named: bool,
    },
}

impl PeriodType {
    /// All 19 types in DHIS2's ISO parse order (spec §10).
    pub const ALL: [PeriodType; 19] = [
        PeriodType::Daily,
        PeriodType::Weekly,
        PeriodType::WeeklyWednesday,
        PeriodType::WeeklyThursday,
        PeriodType::WeeklySaturday,
        PeriodType::WeeklySunday,
        PeriodType::BiWeekly,
        PeriodType::Monthly,
        PeriodType::BiMonthly,
        PeriodType::Quarterly,
        PeriodType::QuarterlyNov,
        PeriodType::SixMonthly,
        PeriodType::SixMonthlyApril,
        PeriodType::SixMonthlyNov,
        PeriodType::Yearly,
        PeriodType::FinancialApril,
        PeriodType::FinancialJuly,
        PeriodType::FinancialOct,
        PeriodType::FinancialNov,
    ];

    /// The DHIS2 name, as used in metadata (`periodType` of a data set) and in the API.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            PeriodType::Daily => "Daily",
            PeriodType::Weekly => "Weekly",
            PeriodType::WeeklyWednesday => "WeeklyWednesday",
            PeriodType::WeeklyThursday => "WeeklyThursday",
            PeriodType::WeeklySaturday => "WeeklySaturday",
            PeriodType::WeeklySunday => "WeeklySunday",
            PeriodType::BiWeekly => "BiWeekly",
            PeriodType::Monthly => "Monthly",
            PeriodType::BiMonthly => "BiMonthly",
            PeriodType::Quarterly => "Quarterly",
            PeriodType::QuarterlyNov => "QuarterlyNov",
            PeriodType::SixMonthly => "SixMonthly",
            PeriodType::SixMonthlyApril => "SixMonthlyApril",
            PeriodType::SixMonthlyNov => "SixMonthlyNov",
            PeriodType::Yearly => "Yearly",
            PeriodType::FinancialApril => "FinancialApril",
            PeriodType::FinancialJuly => "FinancialJuly",
            PeriodType::FinancialOct => "FinancialOct",
            PeriodType::FinancialNov => "FinancialNov",
        }
    }

    /// DHIS2's `frequencyOrder`: the nominal number of days in one period (1, 7, 14, 30,
    /// 61, 91, 182, 365). A *smaller* value is a *higher* frequency; DHIS2 uses it to pick
    /// an element's "highest-frequency" data set (single-value API, spec §4.5) and to
    /// compare period types. Types with the same length share a value.
    #[must_use]
    pub const fn frequency_order(self) -> u16 {
        match self {
            PeriodType::Daily => 1,
            PeriodType::Weekly
            | PeriodType::WeeklyWednesday
            | PeriodType::WeeklyThursday
            | PeriodType::WeeklySaturday
            | PeriodType::WeeklySunday => 7,
            PeriodType::BiWeekly => 14,
            PeriodType::Monthly => 30,
            PeriodType::BiMonthly => 61,
            PeriodType::Quarterly | PeriodType::QuarterlyNov => 91,
            PeriodType::SixMonthly | PeriodType::SixMonthlyApril | PeriodType::SixMonthlyNov => 182,
            PeriodType::Yearly
            | PeriodType::FinancialApril
            | PeriodType::FinancialJuly
            | PeriodType::FinancialOct
            | PeriodType::FinancialNov => 365,
        }
    }

    /// The ISO 8601 duration of one period, as written in ADX (`P1D` … `P1Y`).
    #[must_use]
    pub const fn adx_duration(self) -> AdxDuration {
        match self.shape() {
            Shape::Day => AdxDuration::P1D,
            Shape::Week { .. } => AdxDuration::P7D,
            Shape::BiWeek => AdxDuration::P14D,
            Shape::Months { months: 1, .. } => AdxDuration::P1M,
            Shape::Months { months: 2, .. } => AdxDuration::P2M,
            Shape::Months { months: 3, .. } => AdxDuration::P3M,
            Shape::Months { months: 6, .. } => AdxDuration::P6M,
            Shape::Months { .. } => AdxDuration::P1Y,
        }
    }

    /// The ISO 8601 duration as text (`"P1M"` …); see [`PeriodType::adx_duration`].
    #[must_use]
    pub const fn iso_duration(self) -> &'static str {
        self.adx_duration().as_str()
    }

    pub(crate) const fn shape(self) -> Shape {
        const fn months(months: i32, anchor: i8) -> Shape {
            // DHIS2 names every November-based type by the year it ends in (spec §10).
            Shape::Months {
                months,
                anchor,
                end_named: anchor == 11,
            }
        }
        match self {
            PeriodType::Daily => Shape::Day,
            PeriodType::Weekly => Shape::Week { weekday: 1 },
            PeriodType::WeeklyWednesday => Shape::Week { weekday: 3 },
            PeriodType::WeeklyThursday => Shape::Week { weekday: 4 },
            PeriodType::WeeklySaturday => Shape::Week { weekday: 6 },
            PeriodType::WeeklySunday => Shape::Week { weekday: 7 },
            PeriodType::BiWeekly => Shape::BiWeek,
            PeriodType::Monthly => months(1, 1),
            PeriodType::BiMonthly => months(2, 1),
            PeriodType::Quarterly => months(3, 1),
            PeriodType::QuarterlyNov => months(3, 11),
            PeriodType::SixMonthly => months(6, 1),
            PeriodType::SixMonthlyApril => months(6, 4),
            PeriodType::SixMonthlyNov => months(6, 11),
            PeriodType::Yearly => months(12, 1),
            PeriodType::FinancialApril => months(12, 4),
            PeriodType::FinancialJuly => months(12, 7),
            PeriodType::FinancialOct => months(12, 10),
            PeriodType::FinancialNov => months(12, 11),
        }
    }
}

impl fmt::Display for PeriodType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no [`PeriodType`]. The message lists every valid name, because
/// the usual cause is a typo or a type from a newer DHIS2 (e.g. `WeeklyFriday`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown period type '{name}'; valid types: {}", valid_names())]
pub struct UnknownPeriodType {
    /// The rejected input.
    pub name: String,
}

fn valid_names() -> String {
    PeriodType::ALL.map(PeriodType::name).join(", ")
}

impl FromStr for PeriodType {
    type Err = UnknownPeriodType;

    /// Parses a DHIS2 period type name, ignoring ASCII case (DHIS2's
    /// `PeriodType.getByNameIgnoreCase`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PeriodType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownPeriodType { name: s.to_owned() })
    }
}

impl serde::Serialize for PeriodType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for PeriodType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_ignore_case() {
        for t in PeriodType::ALL {
            assert_eq!(t.name().parse::<PeriodType>(), Ok(t));
            assert_eq!(t.name().to_lowercase().parse::<PeriodType>(), Ok(t));
            assert_eq!(t.name().to_uppercase().parse::<PeriodType>(), Ok(t));
            assert_eq!(t.to_string(), t.name());
        }
    }

    #[test]
    fn all_lists_19_distinct_types_in_spec_parse_order() {
        // Spec §10: "in the order Daily, Weekly, ..., FinancialNov".
        let spec_order = "Daily, Weekly, WeeklyWednesday, WeeklyThursday, WeeklySaturday, \
            WeeklySunday, BiWeekly, Monthly, BiMonthly, Quarterly, QuarterlyNov, SixMonthly, \
            SixMonthlyApril, SixMonthlyNov, Yearly, FinancialApril, FinancialJuly, FinancialOct, \
            FinancialNov";
        let names: Vec<&str> = PeriodType::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.join(", "), spec_order);
        let mut sorted = PeriodType::ALL.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 19);
    }

    #[test]
    fn unknown_names_are_rejected_with_the_list_of_valid_names() {
        for bad in [
            "",
            "Month",
            "WeeklyFriday",
            "FinancialSep",
            "TwoYearly",
            "Monthly ",
        ] {
            let err = bad.parse::<PeriodType>().unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(&format!("'{bad}'")), "{msg}");
            for t in PeriodType::ALL {
                assert!(msg.contains(t.name()), "{msg} lacks {t}");
            }
        }
    }

    #[test]
    fn durations_follow_spec_9_3() {
        use PeriodType as T;
        let expected = [
            (T::Daily, "P1D"),
            (T::Weekly, "P7D"),
            (T::WeeklyWednesday, "P7D"),
            (T::WeeklyThursday, "P7D"),
            (T::WeeklySaturday, "P7D"),
            (T::WeeklySunday, "P7D"),
            (T::BiWeekly, "P14D"),
            (T::Monthly, "P1M"),
            (T::BiMonthly, "P2M"),
            (T::Quarterly, "P3M"),
            (T::QuarterlyNov, "P3M"),
            (T::SixMonthly, "P6M"),
            (T::SixMonthlyApril, "P6M"),
            (T::SixMonthlyNov, "P6M"),
            (T::Yearly, "P1Y"),
            (T::FinancialApril, "P1Y"),
            (T::FinancialJuly, "P1Y"),
            (T::FinancialOct, "P1Y"),
            (T::FinancialNov, "P1Y"),
        ];
        for (t, d) in expected {
            assert_eq!(t.iso_duration(), d, "{t}");
            assert_eq!(AdxDuration::parse(d), Some(t.adx_duration()));
        }
        for bad in ["p1m", "P1W", "P12M", "P1", ""] {
            assert_eq!(AdxDuration::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn frequency_order_is_monotonic_in_period_length() {
        use PeriodType as T;
        assert!(T::Daily.frequency_order() < T::WeeklySunday.frequency_order());
        assert!(T::Weekly.frequency_order() < T::BiWeekly.frequency_order());
        assert!(T::BiWeekly.frequency_order() < T::Monthly.frequency_order());
        assert!(T::Monthly.frequency_order() < T::BiMonthly.frequency_order());
        assert!(T::BiMonthly.frequency_order() < T::QuarterlyNov.frequency_order());
        assert!(T::Quarterly.frequency_order() < T::SixMonthlyNov.frequency_order());
        assert!(T::SixMonthly.frequency_order() < T::FinancialNov.frequency_order());
        assert_eq!(
            T::Yearly.frequency_order(),
            T::FinancialApril.frequency_order()
        );
    }

    #[test]
    fn serde_uses_the_dhis2_name() {
        let json = serde_json::to_string(&PeriodType::SixMonthlyNov).unwrap();
        assert_eq!(json, "\"SixMonthlyNov\"");
        let back: PeriodType = serde_json::from_str("\"financialnov\"").unwrap();
        assert_eq!(back, PeriodType::FinancialNov);
        assert!(serde_json::from_str::<PeriodType>("\"Fortnightly\"").is_err());
    }
}

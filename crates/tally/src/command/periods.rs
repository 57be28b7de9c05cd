//! `tally periods TYPE YEAR`: lists the periods of one DHIS2 period type in one year, one
//! per line, as `ISO_ID<TAB>START<TAB>END` (dates `yyyy-mm-dd`, end inclusive).
//!
//! "In one year" is defined as DHIS2's calendar library lists it (see
//! [`PeriodType::periods_in_year`]); for the November types that means the ids carry the
//! next year (`tally periods FinancialNov 2024` prints `2025Nov`).

use std::io::Write;

use anyhow::Context;
use tally_domain::period::{PeriodType, YearOutOfRange};

/// Arguments of `tally periods`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// DHIS2 period type, e.g. Monthly, WeeklyWednesday, FinancialNov (case-insensitive).
    period_type: String,
    /// Year, e.g. 2024.
    #[arg(allow_negative_numbers = true)]
    year: String,
}

/// Prints the periods to stdout.
///
/// # Errors
/// An unknown type (the message lists the valid names), a year that is not a number in
/// [`PeriodType::LIST_YEARS`], or a failed write to stdout.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let ty: PeriodType = args.period_type.parse()?;
    let year = parse_year(&args.year)?;
    let periods = ty.periods_in_year(year)?;

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for p in periods {
        let (start, end) = (p.start(), p.end());
        writeln!(out, "{p}\t{start}\t{end}").context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")
}

fn parse_year(s: &str) -> anyhow::Result<i32> {
    let range = PeriodType::LIST_YEARS;
    let year: i32 = s.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "invalid year '{s}': expected a number from {} to {}",
            range.start(),
            range.end()
        )
    })?;
    if range.contains(&year) {
        Ok(year)
    } else {
        Err(YearOutOfRange { year }.into())
    }
}

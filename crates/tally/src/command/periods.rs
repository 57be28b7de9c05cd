//! `tally periods TYPE YEAR` (being written).

#[derive(Debug, clap::Args)]
pub struct Args {
    /// DHIS2 period type, e.g. Monthly, WeeklyWednesday, FinancialNov.
    period_type: String,
    /// Year, e.g. 2024.
    year: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("periods not implemented yet: {} {}", args.period_type, args.year)
}

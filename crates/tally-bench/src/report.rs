//! Measurements, their statistics, and the Markdown report.

use std::fmt::Write as _;

use crate::memory::MemoryProbe;
use crate::payload::PayloadFormat;

/// A raw SQLite baseline of the performance anchors (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Raw prepared insert into the empty table, one transaction.
    Insert,
    /// Raw `INSERT … ON CONFLICT DO UPDATE`, every value changed, full table.
    Upsert,
    /// Raw `SELECT` of all rows + serde_json serialisation.
    Select,
    /// PostgreSQL: raw binary `COPY` into the empty table.
    Copy,
    /// PostgreSQL: raw array-based `INSERT … ON CONFLICT DO UPDATE`, every value changed.
    UnnestUpsert,
    /// PostgreSQL: DHIS2 2.43's SQL write path (with its audit trigger), empty table.
    Dhis243New,
    /// PostgreSQL: DHIS2 2.43's SQL write path, every value changed.
    Dhis243Changed,
    /// PostgreSQL: the same path on tables with primary keys only, empty table.
    Dhis243BareNew,
    /// PostgreSQL: the same path on tables with primary keys only, every value changed.
    Dhis243BareChanged,
}

impl Baseline {
    /// The anchors' name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Insert => "R_ins",
            Self::Upsert => "R_ups",
            Self::Select => "R_sel",
            Self::Copy => "R_copy",
            Self::UnnestUpsert => "R_unnest_ups",
            Self::Dhis243New => "R_dhis243 (new)",
            Self::Dhis243Changed => "R_dhis243 (changed)",
            Self::Dhis243BareNew => "R_dhis243_bare (new)",
            Self::Dhis243BareChanged => "R_dhis243_bare (changed)",
        }
    }

    /// The id of the measurement holding this baseline.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Insert => "R_ins",
            Self::Upsert => "R_ups",
            Self::Select => "R_sel",
            Self::Copy => "R_copy",
            Self::UnnestUpsert => "R_unnest_ups",
            Self::Dhis243New => "R_dhis243_new",
            Self::Dhis243Changed => "R_dhis243_changed",
            Self::Dhis243BareNew => "R_dhis243_bare_new",
            Self::Dhis243BareChanged => "R_dhis243_bare_changed",
        }
    }
}

/// A goal of the performance anchors as a minimum ratio to a baseline.
#[derive(Debug, Clone, Copy)]
pub struct Goal {
    /// `G1`, `G2`, …
    pub name: &'static str,
    /// The minimum median ratio.
    pub min_ratio: f64,
}

/// One measured operation over all runs.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Stable identifier (`R_ins`, `import:json`, …).
    pub id: String,
    /// Row label in the report.
    pub label: String,
    /// Values processed per run.
    pub values: u64,
    /// Seconds per run, in run order.
    pub seconds: Vec<f64>,
    /// The baseline the ratio is taken against.
    pub baseline: Option<Baseline>,
    /// The goal on the median ratio.
    pub goal: Option<Goal>,
    /// Highest peak RSS seen during this operation (KiB), where measurable.
    pub peak_rss_kib: Option<u64>,
    /// Ratio of this rate to the baseline rate, per run (paired by run).
    pub ratios: Vec<f64>,
}

/// `(min, median, max)`; `None` for an empty list.
#[must_use]
pub fn stats(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((v[0], median, v[n - 1]))
}

impl Measurement {
    /// Values per second, per run.
    #[must_use]
    pub fn rates(&self) -> Vec<f64> {
        self.seconds
            .iter()
            .map(|s| self.values as f64 / s.max(1e-9))
            .collect()
    }

    /// Whether the median ratio meets the goal (`None` without a goal or ratios).
    #[must_use]
    pub fn meets_goal(&self) -> Option<bool> {
        let goal = self.goal?;
        let (_, median, _) = stats(&self.ratios)?;
        Some(median >= goal.min_ratio)
    }
}

/// Everything one harness run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The command line, as typed.
    pub command_line: String,
    /// Machine and build facts, `(name, value)`.
    pub environment: Vec<(String, String)>,
    /// The generated data, one line.
    pub data: Option<String>,
    /// Seconds to import the generated metadata.
    pub metadata_seconds: Option<f64>,
    /// Payload file sizes (bytes) by format.
    pub payloads: Vec<(PayloadFormat, u64)>,
    /// Runs done.
    pub runs: usize,
    /// Measurements in report order.
    pub measurements: Vec<Measurement>,
    /// Database + WAL bytes after the first format's import and re-import (with audit
    /// rows), and the values it holds.
    pub store_bytes: Option<(u64, u64)>,
    /// Peak RSS of the whole harness process (KiB).
    pub process_peak_kib: Option<u64>,
    /// The memory probe, when asked for.
    pub memory: Option<MemoryProbe>,
}

/// `1234567` → `1,234,567`.
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn rate(r: f64) -> String {
    thousands(r.round() as u64)
}

impl Report {
    /// The measurement with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.id == id)
    }

    /// Records one run's time of a measurement, creating it on first use.
    pub fn record(
        &mut self,
        id: &str,
        make: impl FnOnce() -> Measurement,
        seconds: f64,
        peak_rss_kib: Option<u64>,
    ) {
        let index = match self.measurements.iter().position(|m| m.id == id) {
            Some(i) => i,
            None => {
                self.measurements.push(make());
                self.measurements.len() - 1
            }
        };
        let m = &mut self.measurements[index];
        m.seconds.push(seconds);
        m.peak_rss_kib = match (m.peak_rss_kib, peak_rss_kib) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// Computes every measurement's per-run ratio to its baseline.
    pub fn compute_ratios(&mut self) {
        let baselines: Vec<(Baseline, Vec<f64>)> = [
            Baseline::Insert,
            Baseline::Upsert,
            Baseline::Select,
            Baseline::Copy,
            Baseline::UnnestUpsert,
            Baseline::Dhis243New,
            Baseline::Dhis243Changed,
            Baseline::Dhis243BareNew,
            Baseline::Dhis243BareChanged,
        ]
        .into_iter()
        .filter_map(|b| self.get(b.id()).map(|m| (b, m.rates())))
        .collect();
        for m in &mut self.measurements {
            let Some(b) = m.baseline else { continue };
            let Some((_, base)) = baselines.iter().find(|(k, _)| *k == b) else {
                continue;
            };
            m.ratios = m
                .rates()
                .iter()
                .zip(base)
                .map(|(ours, base)| ours / base.max(1e-9))
                .collect();
        }
    }

    /// Goals missed (by median ratio), as labels.
    #[must_use]
    pub fn missed_goals(&self) -> Vec<String> {
        self.measurements
            .iter()
            .filter(|m| m.meets_goal() == Some(false))
            .map(|m| m.label.clone())
            .collect()
    }

    /// The report as Markdown, ready to paste into `docs/benchmarks.md`.
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## tally-bench\n");
        let _ = writeln!(s, "Command: `{}`\n", self.command_line);
        for (name, value) in &self.environment {
            let _ = writeln!(s, "- {name}: {value}");
        }
        if let Some(data) = &self.data {
            let _ = writeln!(s, "- Data: {data}");
        }
        if let Some(secs) = self.metadata_seconds {
            let _ = writeln!(s, "- Metadata import (generated document): {secs:.2} s");
        }
        if !self.payloads.is_empty() {
            let values = self.measurements.first().map_or(0, |m| m.values).max(1);
            let sizes: Vec<String> = self
                .payloads
                .iter()
                .map(|(f, b)| format!("{} {} ({} B/value)", f.name(), mib(*b), b / values))
                .collect();
            let _ = writeln!(s, "- Payloads: {}", sizes.join(", "));
        }
        if let Some((bytes, values)) = self.store_bytes {
            let _ = writeln!(
                s,
                "- Store after import + re-import: {} ({} B/value, including audit rows and WAL)",
                mib(bytes),
                bytes / values.max(1)
            );
        }
        if let Some(kib) = self.process_peak_kib {
            let _ = writeln!(s, "- Peak RSS of the harness process: {}", mib(kib * 1024));
        }
        if !self.measurements.is_empty() {
            let _ = writeln!(
                s,
                "\nValues/s and ratios over {} run(s) (min / median / max; ratios paired by run, \
                 goal checked on the median):\n",
                self.runs
            );
            let _ = writeln!(
                s,
                "| Measurement | Values/s (min / median / max) | Baseline | Ratio (min / median / max) | Goal | Peak RSS |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|");
            for m in &self.measurements {
                let rates = stats(&m.rates()).map_or_else(
                    || "—".into(),
                    |(a, b, c)| format!("{} / **{}** / {}", rate(a), rate(b), rate(c)),
                );
                let ratios = stats(&m.ratios).map_or_else(
                    || "—".into(),
                    |(a, b, c)| format!("{a:.2} / **{b:.2}** / {c:.2}"),
                );
                let median = stats(&m.ratios).map_or(0.0, |(_, b, _)| b);
                let goal = match (m.goal, m.meets_goal()) {
                    (Some(g), Some(true)) => format!("{} ≥ {:.1}: met", g.name, g.min_ratio),
                    (Some(g), Some(false)) => {
                        format!("{} ≥ {:.1}: **missed** ({median:.3})", g.name, g.min_ratio)
                    }
                    (Some(g), None) => format!("{} ≥ {:.1}", g.name, g.min_ratio),
                    (None, _) => String::new(),
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    m.label,
                    rates,
                    m.baseline.map_or("—", Baseline::name),
                    ratios,
                    goal,
                    m.peak_rss_kib.map_or_else(|| "—".into(), |k| mib(k * 1024)),
                );
            }
        }
        if self
            .measurements
            .iter()
            .any(|m| m.label.starts_with("raw:"))
        {
            let _ = writeln!(
                s,
                "\nRows *phase* time pieces of our import (the ratio says how far that piece \
                 alone is from the baseline). Rows *raw* are statement shapes on plain rusqlite \
                 over the same rows in the store's order (batches of 4,096 sorted by key), one \
                 pass each, each update pass starting with empty audit tables: they size changes \
                 to the store before they are made."
            );
        }
        if let Some(p) = &self.memory {
            let c = &p.child;
            let ratio = (c.peak_kib * 1024) as f64 / p.payload_bytes.max(1) as f64;
            let _ = writeln!(
                s,
                "\nMemory probe (G14): a generated JSON payload imported by a child process \
                 (`tally-bench child-import`), which reports its own peak RSS (VmHWM):\n"
            );
            let _ = writeln!(
                s,
                "| Payload | Values | Import values/s | Child peak RSS | Peak RSS before import | Peak RSS / payload |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|");
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.3} |",
                mib(p.payload_bytes),
                thousands(p.values),
                rate(p.values as f64 / c.seconds.max(1e-9)),
                mib(c.peak_kib * 1024),
                mib(c.peak_before_kib * 1024),
                ratio
            );
        }
        let missed = self.missed_goals();
        if !missed.is_empty() {
            let _ = writeln!(s, "\nGoals missed: {}.", missed.join("; "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_numbers() {
        assert_eq!(stats(&[3.0, 1.0, 2.0]), Some((1.0, 2.0, 3.0)));
        assert_eq!(stats(&[4.0, 1.0]), Some((1.0, 2.5, 4.0)));
        assert_eq!(stats(&[]), None);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
    }
}

//! Benchmark harness of tally: imports and exports measured against raw SQLite baselines
//! run in the same process, on the same generated rows, on the same schema, so that the
//! results are ratios that survive a change of machine (see the performance anchors §6).
//!
//! Layout:
//! * [`shape`]: sizes, UIDs and row order of the generated data.
//! * [`metadata`]: the generated metadata document.
//! * [`payload`]: JSON, CSV and XML payload files, written as streams.
//! * [`baseline`]: `R_ins`, `R_ups`, `R_sel` with plain rusqlite.
//! * [`ours`]: import and export through `tally_core::App`.
//! * [`phases`]: parse-only, dry-run and store-only pieces of the import.
//! * [`variants`]: raw statement shapes the store could use, on the same rows.
//! * [`memory`]: the child-process memory probe (G14).
//! * [`pg`]: the PostgreSQL mode (`--postgres URL`): tally's import against raw COPY,
//!   raw unnest upserts and DHIS2 2.43's SQL write path on the same server (G10).
//! * [`report`]: statistics and the Markdown table.
//! * [`single`]: single-value `POST /api/dataValues` over HTTP with concurrent clients.
//!
//! Every import summary is checked (SUCCESS, exact counts, no conflicts) and every export
//! is counted; any mismatch fails the run.

pub mod baseline;
pub mod memory;
pub mod metadata;
pub mod ours;
pub mod payload;
pub mod pg;
pub mod phases;
pub mod report;
pub mod rss;
pub mod shape;
pub mod single;
pub mod variants;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use tally_core::import::ImportOptions;
use tally_domain::import::Outcome;

use crate::baseline::Keys;
use crate::ours::Expect;
use crate::payload::PayloadFormat;
use crate::report::{Baseline, Goal, Measurement, Report};
use crate::shape::{Shape, Uids};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// Values per payload; 0 skips the throughput measurements.
    pub values: usize,
    /// Runs of every measurement.
    pub runs: usize,
    /// Payload formats to import, in order; the first one is also exported.
    pub formats: Vec<PayloadFormat>,
    /// Also time parsing alone, a dry run and the store alone.
    pub phases: bool,
    /// Values of the memory probe's JSON payload, if any.
    pub memory_values: Option<usize>,
    /// Where temporary files go (a new temporary directory by default).
    pub dir: Option<PathBuf>,
    /// Keep the template store and the payloads (in `dir`, not in a temporary directory).
    pub keep: bool,
    /// The `tally-bench` executable for the memory probe's child (this one by default).
    pub exe: Option<PathBuf>,
    /// The command line to print in the report.
    pub command_line: String,
    /// Measure on this PostgreSQL server instead of SQLite (`--postgres URL`).
    pub postgres: Option<String>,
}

/// Copies a closed store (database file and WAL, if any).
///
/// # Errors
/// IO failures.
pub fn copy_store(from: &Path, to: &Path) -> anyhow::Result<()> {
    ours::remove_store(to);
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    let mut wal = from.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    if wal.exists() {
        let mut target = to.as_os_str().to_owned();
        target.push("-wal");
        std::fs::copy(&wal, PathBuf::from(target))?;
    }
    Ok(())
}

fn first_line(path: &str, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn environment() -> Vec<(String, String)> {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into());
    let profile = if cfg!(debug_assertions) {
        "debug (numbers are not representative)"
    } else {
        "release"
    };
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let mut env = vec![
        ("Date".into(), jiff::Timestamp::now().to_string()),
        ("Build".into(), profile.into()),
        ("CPU".into(), format!("{cpu} × {cores}")),
        ("SQLite".into(), rusqlite::version().into()),
        ("Load average at start".into(), load_average()),
    ];
    if let Some(c) = commit {
        env.push(("Commit".into(), c));
    }
    env
}

fn measurement(
    id: &str,
    label: String,
    values: usize,
    baseline: Option<Baseline>,
    goal: Option<Goal>,
) -> impl FnOnce() -> Measurement {
    let id = id.to_owned();
    move || Measurement {
        id,
        label,
        values: values as u64,
        seconds: Vec::new(),
        baseline,
        goal,
        peak_rss_kib: None,
        ratios: Vec::new(),
    }
}

/// Runs `f` with the peak RSS reset before; returns its time and the peak during it.
fn timed<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Option<u64>)> {
    let reset = rss::reset_peak();
    let out = f()?;
    Ok((out, if reset { rss::peak_kib() } else { None }))
}

fn goal_for_import(format: PayloadFormat) -> Goal {
    match format {
        PayloadFormat::Json => Goal {
            name: "G1",
            min_ratio: 0.5,
        },
        PayloadFormat::Csv => Goal {
            name: "G6",
            min_ratio: 0.6,
        },
        PayloadFormat::Xml => Goal {
            name: "G6 (XML as JSON)",
            min_ratio: 0.5,
        },
        PayloadFormat::Adx => Goal {
            name: "G6 (ADX as JSON)",
            min_ratio: 0.5,
        },
    }
}

const G2: Goal = Goal {
    name: "G2",
    min_ratio: 0.5,
};
const G7: Goal = Goal {
    name: "G7",
    min_ratio: 0.5,
};

fn progress(what: &str, values: usize, elapsed: Duration) {
    eprintln!(
        "  {what}: {:.2} s ({} values/s)",
        elapsed.as_secs_f64(),
        report::thousands((values as f64 / elapsed.as_secs_f64().max(1e-9)) as u64)
    );
}

/// Runs the whole harness.
///
/// # Errors
/// Any failed or miscounted import or export, or IO failures.
pub fn run(config: &Config) -> anyhow::Result<Report> {
    let temp = match &config.dir {
        Some(d) if config.keep => {
            std::fs::create_dir_all(d)?;
            None
        }
        Some(d) => {
            std::fs::create_dir_all(d)?;
            Some(
                tempfile::Builder::new()
                    .prefix("tally-bench")
                    .tempdir_in(d)?,
            )
        }
        None => Some(tempfile::Builder::new().prefix("tally-bench").tempdir()?),
    };
    let dir = match (&temp, &config.dir) {
        (Some(t), _) => t.path(),
        (None, Some(d)) => d.as_path(),
        (None, None) => anyhow::bail!("keeping files needs a directory"),
    };
    let mut report = Report {
        command_line: config.command_line.clone(),
        environment: environment(),
        runs: config.runs,
        ..Report::default()
    };
    if let (Some(url), true) = (&config.postgres, config.values > 0) {
        report.runs = config.runs;
        pg::throughput(url, config.values, config.runs, dir, &mut report)?;
        report.process_peak_kib = rss::peak_kib();
        report.compute_ratios();
    } else if config.values > 0 {
        throughput(config, dir, &mut report)?;
    }
    if let Some(n) = config.memory_values {
        let shape = Shape::new(n)?;
        let uids = Uids::new(&shape)?;
        let template = dir.join("memory-template.db");
        eprintln!("memory probe: {}", shape.describe());
        ours::create_template(&template, &shape, &uids)?;
        let exe = match &config.exe {
            Some(e) => e.clone(),
            None => std::env::current_exe().context("locating tally-bench")?,
        };
        let probe = memory::probe(&exe, dir, &template, &shape, &uids)?;
        eprintln!(
            "  child imported {} values in {:.2} s, peak RSS {} KiB",
            probe.values, probe.child.seconds, probe.child.peak_kib
        );
        ours::remove_store(&template);
        report.memory = Some(probe);
    }
    report
        .environment
        .push(("Load average at end".into(), load_average()));
    Ok(report)
}

fn throughput(config: &Config, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    let n = config.values;
    let shape = Shape::new(n)?;
    let uids = Uids::new(&shape)?;
    eprintln!("data: {}", shape.describe());
    report.data = Some(shape.describe());

    let template = dir.join("template.db");
    report.metadata_seconds = Some(ours::create_template(&template, &shape, &uids)?.as_secs_f64());
    let keys = {
        let app = ours::open(&template)?;
        Keys::resolve(&app.snapshot(), &shape, &uids)?
    };

    let mut payloads: Vec<(PayloadFormat, [PathBuf; 2])> = Vec::new();
    for &format in &config.formats {
        let paths = [0, 1].map(|pass| dir.join(format!("payload-{pass}.{format}")));
        for (pass, path) in (0u32..).zip(&paths) {
            let bytes = payload::write(format, &shape, &uids, pass, path)?;
            if pass == 0 {
                report.payloads.push((format, bytes));
            }
        }
        payloads.push((format, paths));
    }

    for run in 1..=config.runs {
        eprintln!("run {run}/{}", config.runs);
        let db = dir.join("baseline.db");
        let b = baseline::run(&db, &keys)?;
        ours::remove_store(&db);
        for (base, secs, rss) in [
            (Baseline::Insert, b.insert, b.rss_kib[0]),
            (Baseline::Upsert, b.upsert, b.rss_kib[1]),
            (Baseline::Select, b.select, b.rss_kib[2]),
        ] {
            let label = match base {
                Baseline::Insert => "R_ins: raw prepared insert, empty table, one transaction",
                Baseline::Upsert => {
                    "R_ups: raw `INSERT … ON CONFLICT DO UPDATE`, every value changed"
                }
                Baseline::Select => "R_sel: raw `SELECT` all + serde_json",
                // The PostgreSQL baselines are measured by `pg`.
                other => other.name(),
            };
            progress(base.name(), n, secs);
            report.record(
                base.id(),
                measurement(base.id(), label.into(), n, None, None),
                secs.as_secs_f64(),
                rss,
            );
        }

        for (i, (format, [first, second])) in payloads.iter().enumerate() {
            let db = dir.join(format!("ours-{format}.db"));
            copy_store(&template, &db)?;
            let app = ours::open(&db)?;
            let user = ours::user(&app)?;
            let (t, rss) = timed(|| {
                ours::import(
                    &app,
                    &user,
                    *format,
                    ImportOptions::default(),
                    first,
                    Expect::Imported(n as u64),
                )
            })?;
            progress(&format!("{} import", format.name()), n, t);
            let id = format!("import:{format}");
            report.record(
                &id,
                measurement(
                    &id,
                    format!("{} import, empty store", format.name()),
                    n,
                    Some(Baseline::Insert),
                    Some(goal_for_import(*format)),
                ),
                t.as_secs_f64(),
                rss,
            );
            let (t, rss) = timed(|| {
                ours::import(
                    &app,
                    &user,
                    *format,
                    ImportOptions::default(),
                    second,
                    Expect::Updated(n as u64),
                )
            })?;
            progress(&format!("{} re-import", format.name()), n, t);
            let id = format!("reimport:{format}");
            report.record(
                &id,
                measurement(
                    &id,
                    format!("{} re-import, every value changed", format.name()),
                    n,
                    Some(Baseline::Upsert),
                    Some(G2),
                ),
                t.as_secs_f64(),
                rss,
            );
            if i == 0 {
                let ((t, _bytes), rss) =
                    timed(|| ours::export_json(&app, &user, &shape, &uids, n as u64))?;
                progress("JSON export", n, t);
                report.record(
                    "export:json",
                    measurement(
                        "export:json",
                        "JSON export, all values (`run_export` into a counting sink)".into(),
                        n,
                        Some(Baseline::Select),
                        Some(G7),
                    ),
                    t.as_secs_f64(),
                    rss,
                );
            }
            drop(app);
            if i == 0 && report.store_bytes.is_none() {
                report.store_bytes = Some((ours::store_bytes(&db), n as u64));
            }
            ours::remove_store(&db);
        }

        if config.phases {
            phase_runs(dir, &template, &keys, &payloads, n, report)?;
        }
    }
    if config.keep {
        eprintln!(
            "kept: {} and payload-{{0,1}}.{{json,csv,xml}} in {}",
            template.display(),
            dir.display()
        );
    } else {
        for (_, paths) in &payloads {
            for p in paths {
                let _ = std::fs::remove_file(p);
            }
        }
        ours::remove_store(&template);
    }
    report.process_peak_kib = rss::peak_kib();
    report.compute_ratios();
    Ok(())
}

fn phase_runs(
    dir: &Path,
    template: &Path,
    keys: &Keys,
    payloads: &[(PayloadFormat, [PathBuf; 2])],
    n: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    for (format, [first, _]) in payloads {
        let (t, rss) = timed(|| phases::parse_only(*format, first, n as u64))?;
        progress(&format!("{} parse only", format.name()), n, t);
        let id = format!("parse:{format}");
        report.record(
            &id,
            measurement(
                &id,
                format!(
                    "phase: {} parse only (reader → counting sink)",
                    format.name()
                ),
                n,
                Some(Baseline::Insert),
                None,
            ),
            t.as_secs_f64(),
            rss,
        );
    }
    let db = dir.join("phases.db");
    if let Some((format, [first, _])) = payloads.first() {
        copy_store(template, &db)?;
        let app = ours::open(&db)?;
        let user = ours::user(&app)?;
        let options = ImportOptions {
            dry_run: true,
            ..ImportOptions::default()
        };
        let (t, rss) = timed(|| {
            ours::import(
                &app,
                &user,
                *format,
                options,
                first,
                Expect::Imported(n as u64),
            )
        })?;
        progress(&format!("{} dry run", format.name()), n, t);
        let id = format!("dryrun:{format}");
        report.record(
            &id,
            measurement(
                &id,
                format!(
                    "phase: {} dry run, empty store (parse + validate + existence check)",
                    format.name()
                ),
                n,
                Some(Baseline::Insert),
                None,
            ),
            t.as_secs_f64(),
            rss,
        );
        drop(app);
        ours::remove_store(&db);
    }
    for v in variants::run(&db, keys)? {
        progress(v.id, n, v.elapsed);
        report.record(
            v.id,
            measurement(v.id, v.label.into(), n, Some(v.baseline), None),
            v.elapsed.as_secs_f64(),
            None,
        );
    }
    ours::remove_store(&db);
    for skip_audit in [false, true] {
        copy_store(template, &db)?;
        let app = ours::open(&db)?;
        let audit = if skip_audit { ", no audit" } else { "" };
        let (t, rss) = timed(|| phases::store_only(&app, keys, 0, skip_audit, Outcome::Imported))?;
        progress(&format!("store-only insert{audit}"), n, t);
        let id = format!("store-insert{audit}");
        report.record(
            &id,
            measurement(
                &id,
                format!("phase: store only (`write_batch`), empty store{audit}"),
                n,
                Some(Baseline::Insert),
                None,
            ),
            t.as_secs_f64(),
            rss,
        );
        let (t, rss) = timed(|| phases::store_only(&app, keys, 1, skip_audit, Outcome::Updated))?;
        progress(&format!("store-only update{audit}"), n, t);
        let id = format!("store-update{audit}");
        report.record(
            &id,
            measurement(
                &id,
                format!("phase: store only (`write_batch`), every value changed{audit}"),
                n,
                Some(Baseline::Upsert),
                None,
            ),
            t.as_secs_f64(),
            rss,
        );
        drop(app);
        ours::remove_store(&db);
    }
    Ok(())
}

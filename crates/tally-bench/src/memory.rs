//! The memory probe: a large generated JSON file imported by a child process (this
//! binary, `child-import`), which reports its own peak RSS when the import is done, so
//! that the harness's own memory (payload generation, baselines) is not counted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use serde::{Deserialize, Serialize};
use tally_core::import::ImportOptions;

use crate::ours::{self, Expect};
use crate::payload::PayloadFormat;

/// The internal subcommand the parent runs in the child.
pub const CHILD_COMMAND: &str = "child-import";

/// What the child prints (one JSON line on standard output).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    /// Values imported or updated (checked against the expectation before printing).
    pub imported: u64,
    /// Seconds the import took.
    pub seconds: f64,
    /// Peak RSS of the child after opening the store, before the import (KiB).
    pub peak_before_kib: u64,
    /// Peak RSS of the child at the end of the import (KiB).
    pub peak_kib: u64,
}

/// The result of a memory probe.
#[derive(Debug, Clone)]
pub struct MemoryProbe {
    /// Values in the payload.
    pub values: u64,
    /// Payload size in bytes.
    pub payload_bytes: u64,
    /// Seconds to generate the payload (not part of the import).
    pub generate_seconds: f64,
    /// The child's own report.
    pub child: ChildReport,
}

/// Runs in the child: imports `file` into the store at `database`, checks the summary
/// against `expect`, and returns the report to print. Also handy under a profiler, on
/// files kept with `--keep`.
///
/// # Errors
/// The import fails or the counts are wrong.
pub fn child_import(
    database: &Path,
    file: &Path,
    format: PayloadFormat,
    expect: Expect,
) -> anyhow::Result<ChildReport> {
    let app = ours::open(database)?;
    let user = ours::user(&app)?;
    let peak_before_kib = crate::rss::peak_kib().unwrap_or(0);
    let elapsed = ours::import(&app, &user, format, ImportOptions::default(), file, expect)?;
    let peak_kib = crate::rss::peak_kib().context("VmHWM is not available in /proc")?;
    Ok(ChildReport {
        imported: match expect {
            Expect::Imported(n) | Expect::Updated(n) => n,
        },
        seconds: elapsed.as_secs_f64(),
        peak_before_kib,
        peak_kib,
    })
}

/// Runs in the parent: generates the payload in `dir`, copies the template store, runs
/// `exe child-import` and checks its report.
///
/// # Errors
/// Generation fails, the child fails, or it reports wrong counts.
pub fn probe(
    exe: &Path,
    dir: &Path,
    template: &Path,
    shape: &crate::shape::Shape,
    uids: &crate::shape::Uids,
) -> anyhow::Result<MemoryProbe> {
    let payload = dir.join("memory.json");
    let start = Instant::now();
    let payload_bytes = crate::payload::write(PayloadFormat::Json, shape, uids, 0, &payload)?;
    let generate_seconds = start.elapsed().as_secs_f64();
    let database: PathBuf = dir.join("memory.db");
    crate::copy_store(template, &database)?;
    let values = shape.values as u64;
    let output = Command::new(exe)
        .arg(CHILD_COMMAND)
        .arg("--database")
        .arg(&database)
        .arg("--file")
        .arg(&payload)
        .arg("--expect")
        .arg(values.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting {}", exe.display()))?;
    let _ = std::fs::remove_file(&payload);
    ours::remove_store(&database);
    if !output.status.success() {
        bail!("the memory probe child failed ({})", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("the memory probe child printed no report")?;
    let child: ChildReport =
        serde_json::from_str(line).with_context(|| format!("reading the child's report {line}"))?;
    ensure!(
        child.imported == values,
        "the memory probe child imported {} values, expected {values}",
        child.imported
    );
    Ok(MemoryProbe {
        values,
        payload_bytes,
        generate_seconds,
        child,
    })
}

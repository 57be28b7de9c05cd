//! `tally-bench`: measures tally's import and export against raw SQLite baselines on the
//! same generated rows and prints a Markdown table of rates and ratios.
//!
//! ```text
//! tally-bench --values 1000000 --runs 3 [--formats json,csv,xml,adx] [--phases]
//!             [--memory-values 4000000] [--out docs/benchmarks-latest.md]
//!             [--single-values 20000 [--clients 32]]   (--values 0: only that)
//! ```
//!
//! Exits non-zero when any import or export does not do exactly what was asked (status,
//! counts), so a broken import is never reported as fast.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tally_bench::ours::Expect;
use tally_bench::payload::PayloadFormat;
use tally_bench::{Config, memory};

#[derive(Debug, Parser)]
#[command(
    name = "tally-bench",
    about = "tally import/export throughput as ratios to raw SQLite baselines measured in the same run",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    internal: Option<Internal>,
    /// Values per payload (0: skip the throughput measurements).
    #[arg(long, default_value_t = 1_000_000)]
    values: usize,
    /// Runs of every measurement (min / median / max are reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    runs: u16,
    /// Payload formats to import; the first one is also exported as JSON.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "json,csv,xml,adx"
    )]
    formats: Vec<PayloadFormat>,
    /// Also time the pieces of the import (parse only, dry run, store only) and raw
    /// statement shapes the store could use, on the same rows.
    #[arg(long)]
    phases: bool,
    /// Import a generated JSON payload of this many values in a child process and report
    /// its peak RSS (4,000,000 values is about 1 GiB).
    #[arg(long)]
    memory_values: Option<usize>,
    /// Also measure single-value `POST /api/dataValues` over HTTP: this many requests
    /// (new values), against raw one-transaction upserts and a storage-less HTTP route.
    #[arg(long)]
    single_values: Option<usize>,
    /// Concurrent HTTP clients of `--single-values`.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Write the Markdown report to this file as well.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measure on this PostgreSQL server (`postgres://…`) instead of SQLite: tally's
    /// import against raw COPY, raw unnest upserts and DHIS2 2.43's SQL write path, in a
    /// schema of its own that is dropped after.
    #[arg(long)]
    postgres: Option<String>,
    /// Directory for temporary payloads and databases (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the template store and the payloads in `--dir` (for profiling single imports
    /// with the hidden `child-import` subcommand).
    #[arg(long, requires = "dir")]
    keep: bool,
}

#[derive(Debug, Subcommand)]
enum Internal {
    /// Internal: the memory probe's child process.
    #[command(name = "child-import", hide = true)]
    ChildImport {
        /// The store (a copy of a template, see `--keep`).
        #[arg(long)]
        database: PathBuf,
        /// The payload.
        #[arg(long)]
        file: PathBuf,
        #[arg(long, value_enum, default_value = "json")]
        format: PayloadFormat,
        /// Values the summary must count as imported (or updated, with `--updated`).
        #[arg(long)]
        expect: u64,
        /// The values exist already and change.
        #[arg(long)]
        updated: bool,
    },
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect();
    std::iter::once("tally-bench".to_owned())
        .chain(quoted)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Internal::ChildImport {
        database,
        file,
        format,
        expect,
        updated,
    }) = &cli.internal
    {
        let expect = if *updated {
            Expect::Updated(*expect)
        } else {
            Expect::Imported(*expect)
        };
        let report = memory::child_import(database, file, *format, expect)?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let mut formats = Vec::new();
    for f in &cli.formats {
        if !formats.contains(f) {
            formats.push(*f);
        }
    }
    let config = Config {
        values: cli.values,
        runs: usize::from(cli.runs),
        formats,
        phases: cli.phases,
        memory_values: cli.memory_values,
        dir: cli.dir.clone(),
        keep: cli.keep,
        exe: None,
        command_line: command_line(),
        postgres: cli.postgres.clone(),
    };
    let mut markdown = String::new();
    if config.values > 0 || config.memory_values.is_some() {
        markdown.push_str(&tally_bench::run(&config)?.markdown());
    }
    if let Some(requests) = cli.single_values {
        let single = tally_bench::single::SingleConfig {
            requests,
            clients: cli.clients,
            runs: config.runs,
        };
        let temp = tempfile::tempdir()?;
        let dir = cli.dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
        std::fs::create_dir_all(&dir)?;
        let report = tally_bench::single::run(&dir, &single)?;
        if !markdown.is_empty() {
            markdown.push('\n');
        }
        markdown.push_str(&report.markdown());
        markdown.push_str(&format!("\nCommand: `{}`\n", config.command_line));
    }
    println!("{markdown}");
    if let Some(out) = &cli.out {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(out, &markdown).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("report written to {}", out.display());
    }
    Ok(())
}

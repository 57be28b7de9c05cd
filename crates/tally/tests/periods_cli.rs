//! Runs the built `tally` binary: `tally periods TYPE YEAR` must print exactly the oracle
//! vectors (DHIS2's calendar library, see `crates/tally-domain/tests/data/periods/`) for
//! every period type and every year from 2000 to 2030, and must fail clearly on bad input.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const TYPES: [&str; 19] = [
    "Daily",
    "Weekly",
    "WeeklyWednesday",
    "WeeklyThursday",
    "WeeklySaturday",
    "WeeklySunday",
    "BiWeekly",
    "Monthly",
    "BiMonthly",
    "Quarterly",
    "QuarterlyNov",
    "SixMonthly",
    "SixMonthlyApril",
    "SixMonthlyNov",
    "Yearly",
    "FinancialApril",
    "FinancialJuly",
    "FinancialOct",
    "FinancialNov",
];

fn tally(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .output()
        .expect("run tally")
}

/// The expected stdout per (type, year), built from the vector files: `id\tstart\tend\n`.
fn expected_outputs() -> BTreeMap<(String, String), String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tally-domain/tests/data/periods");
    let mut out = BTreeMap::new();
    for ty in TYPES {
        let path = dir.join(format!("{ty}.tsv"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            assert!(cols.len() >= 4, "{}: {line:?}", path.display());
            let s: &mut String = out.entry((ty.to_owned(), cols[0].to_owned())).or_default();
            s.push_str(&cols[1..4].join("\t"));
            s.push('\n');
        }
    }
    out
}

#[test]
fn prints_the_oracle_vectors_for_every_type_and_year_2000_to_2030() {
    let expected = expected_outputs();
    assert_eq!(
        expected.len(),
        TYPES.len() * 31,
        "vector files must cover 2000-2030 for every type"
    );
    let jobs: Vec<(&(String, String), &String)> = expected.iter().collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(&((ty, year), want)) = jobs.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let out = tally(&["periods", ty, year]);
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    if !out.status.success() || stdout != *want {
                        let stderr = String::from_utf8_lossy(&out.stderr);
                        failures.lock().unwrap().push(format!(
                            "tally periods {ty} {year}: {}\nstderr: {stderr}\n{}",
                            out.status,
                            first_difference(&stdout, want)
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} runs differ:\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n")
    );
}

fn first_difference(got: &str, want: &str) -> String {
    let mut got_lines = got.lines();
    for (n, w) in want.lines().enumerate() {
        match got_lines.next() {
            Some(g) if g == w => {}
            other => return format!("line {}: got {other:?}, want {w:?}", n + 1),
        }
    }
    match got_lines.next() {
        Some(extra) => format!("extra line {extra:?}"),
        None => "same lines, different bytes".to_owned(),
    }
}

#[test]
fn type_names_are_case_insensitive() {
    let out = tally(&["periods", "financialnov", "2024"]);
    assert!(out.status.success());
    // Spec §10: FinancialNov is named by its end year; the library's 2024 list holds the
    // November 2024 - October 2025 year.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2025Nov\t2024-11-01\t2025-10-31\n"
    );
}

#[test]
fn unknown_type_fails_and_lists_the_valid_types() {
    for bad in ["Fortnightly", "WeeklyFriday", ""] {
        let out = tally(&["periods", bad, "2024"]);
        assert!(!out.status.success(), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("unknown period type '{bad}'")),
            "{stderr}"
        );
        for ty in TYPES {
            assert!(stderr.contains(ty), "{stderr} lacks {ty}");
        }
    }
}

#[test]
fn bad_year_fails_with_a_clear_message() {
    for bad in ["abc", "2024.5", "", "0", "-5", "10000", "99999999999"] {
        let out = tally(&["periods", "Monthly", bad]);
        assert!(!out.status.success(), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("tally: "), "{stderr}");
        assert!(stderr.contains("year"), "{stderr}");
        assert!(
            stderr.contains("1") && stderr.contains("9998"),
            "{stderr} should give the valid range"
        );
    }
}

#[test]
fn missing_arguments_fail() {
    let out = tally(&["periods", "Monthly"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

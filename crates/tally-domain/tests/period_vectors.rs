//! Checks `PeriodType::periods_in_year`, `Period::{start, end, Display, parse}` against
//! the oracle vectors in `tests/data/periods/`, which `scripts/gen-period-vectors`
//! generates from DHIS2's own calendar library (see the header of each file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::civil::Date;
use tally_domain::period::{Period, PeriodType};

const FIRST_YEAR: i32 = 2000;
const LAST_YEAR: i32 = 2030;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/periods")
}

/// One vector row: `(id, start, end)`.
type Row = (String, Date, Date);

/// The rows of one type's file, by year.
fn load(ty: PeriodType) -> BTreeMap<i32, Vec<Row>> {
    let path = data_dir().join(format!("{}.tsv", ty.name()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut by_year: BTreeMap<i32, Vec<Row>> = BTreeMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() == 4 || cols.len() == 5,
            "{}:{}: {line:?}",
            path.display(),
            n + 1
        );
        let date = |s: &str| -> Date {
            s.parse()
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1))
        };
        by_year.entry(cols[0].parse().unwrap()).or_default().push((
            cols[1].to_owned(),
            date(cols[2]),
            date(cols[3]),
        ));
    }
    by_year
}

#[test]
fn every_type_has_vectors_for_every_year() {
    for ty in PeriodType::ALL {
        let years: Vec<i32> = load(ty).into_keys().collect();
        let expected: Vec<i32> = (FIRST_YEAR..=LAST_YEAR).collect();
        assert_eq!(years, expected, "{ty}");
    }
    // No stray files: one file per tally type, nothing else but the README.
    let mut files: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".tsv"))
        .collect();
    files.sort();
    let mut expected: Vec<String> = PeriodType::ALL
        .iter()
        .map(|t| format!("{}.tsv", t.name()))
        .collect();
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn periods_in_year_matches_the_library_for_every_type_and_year() {
    let mut checked = 0;
    for ty in PeriodType::ALL {
        for (year, rows) in load(ty) {
            let ours: Vec<Row> = ty
                .periods_in_year(year)
                .unwrap()
                .into_iter()
                .map(|p| (p.to_string(), p.start(), p.end()))
                .collect();
            assert_eq!(ours, rows, "{ty} {year}");
            checked += rows.len();
        }
    }
    // 11,323 days and 8,000-odd longer periods over 2000-2030.
    assert!(checked > 19_000, "only {checked} vectors");
}

#[test]
fn every_vector_id_parses_to_its_dates() {
    for ty in PeriodType::ALL {
        for (id, start, end) in load(ty).into_values().flatten() {
            let p = Period::parse(&id).unwrap_or_else(|| panic!("{ty}: {id} does not parse"));
            assert_eq!(
                (p.period_type(), p.start(), p.end()),
                (ty, start, end),
                "{id}"
            );
            assert_eq!(p.to_string(), id);
            assert_eq!(Period::containing(ty, start), Some(p), "{id}");
            assert_eq!(Period::containing(ty, end), Some(p), "{id}");
        }
    }
}

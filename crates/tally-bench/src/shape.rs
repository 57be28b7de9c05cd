//! The generated data: how many of each object, their UIDs, and which row is which.
//!
//! Every form is one org unit and one period with all data elements × all category option
//! combos (1,000 values). Rows arrive org-unit-major, as forms do: period, then org unit,
//! then data element, then COC. Up to 1,000 org units are used; larger sizes add periods
//! (monthly, from January 2024). UIDs are pseudo-random but deterministic, so the internal
//! ids (assigned in UID order) are not in arrival order, as with real metadata.

use std::collections::HashSet;

use anyhow::{Context as _, bail};

/// Data elements in the data set.
pub const DATA_ELEMENTS: usize = 200;
/// Category option combos of the data elements' category combo.
pub const COCS: usize = 5;
/// Values in one form (one org unit, one period).
pub const PER_FORM: usize = DATA_ELEMENTS * COCS;
/// Most org units used before periods are added.
pub const MAX_ORG_UNITS: usize = 1000;
/// The default category option combo (also the attribute option combo of every value).
pub const DEFAULT_COC: &str = "HllvX50cXC0";
/// `storedBy` of every generated value, and the benchmark user's name.
pub const STORED_BY: &str = "bench";

/// Sizes of the generated metadata and rows.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Number of values (rows).
    pub values: usize,
    /// Org units below the root.
    pub org_units: usize,
    /// ISO monthly periods, in arrival order.
    pub periods: Vec<String>,
}

/// The position of one row in the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Index into [`Shape::periods`].
    pub period: usize,
    /// Index into [`Uids::org_units`].
    pub org_unit: usize,
    /// Index into [`Uids::data_elements`].
    pub data_element: usize,
    /// Index into [`Uids::cocs`].
    pub coc: usize,
}

impl Shape {
    /// The shape for `values` rows.
    ///
    /// # Errors
    /// Zero values.
    pub fn new(values: usize) -> anyhow::Result<Self> {
        if values == 0 {
            bail!("the number of values must be positive");
        }
        let forms = values.div_ceil(PER_FORM);
        let org_units = forms.min(MAX_ORG_UNITS);
        let periods = (0..forms.div_ceil(org_units))
            .map(|k| format!("{}{:02}", 2024 + k / 12, k % 12 + 1))
            .collect();
        Ok(Self {
            values,
            org_units,
            periods,
        })
    }

    /// Where row `i` (0-based, arrival order) belongs.
    #[must_use]
    pub fn row(&self, i: usize) -> Row {
        let per_period = self.org_units * PER_FORM;
        let in_period = i % per_period;
        let in_form = in_period % PER_FORM;
        Row {
            period: i / per_period,
            org_unit: in_period / PER_FORM,
            data_element: in_form / COCS,
            coc: in_form % COCS,
        }
    }

    /// One line describing the shape.
    #[must_use]
    pub fn describe(&self) -> String {
        let periods = match self.periods.as_slice() {
            [one] => format!("1 period ({one})"),
            [first, .., last] => format!("{} periods ({first}–{last})", self.periods.len()),
            [] => "no period".into(),
        };
        format!(
            "{} values = {DATA_ELEMENTS} data elements × {COCS} COCs × {} org units × {periods}, org-unit-major arrival order",
            crate::report::thousands(self.values as u64),
            crate::report::thousands(self.org_units as u64),
        )
    }
}

/// The text of row `i`'s value on import pass `pass` (0: first import, 1: every value
/// changed). Never zero, since zeros of non-significant elements are not stored.
#[must_use]
pub fn value_of(i: usize, pass: u32) -> u32 {
    1 + (i % 9973) as u32 + pass * 10_000
}

/// UIDs of every generated object.
#[derive(Debug, Clone)]
pub struct Uids {
    /// The root org unit (the user's capture and view root).
    pub root: String,
    /// The monthly data set.
    pub data_set: String,
    /// The category of the data elements' combo.
    pub category: String,
    /// The data elements' category combo.
    pub category_combo: String,
    /// Its category options.
    pub options: Vec<String>,
    /// Its category option combos, one per option.
    pub cocs: Vec<String>,
    /// The data elements.
    pub data_elements: Vec<String>,
    /// The org units below the root.
    pub org_units: Vec<String>,
    /// The benchmark user.
    pub user: String,
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic, random-looking UID for object `index` of kind `tag`.
fn uid(tag: u64, index: u64) -> String {
    let mut state = splitmix((tag << 40) ^ index);
    let mut s = String::with_capacity(11);
    s.push(char::from(LETTERS[(state % 52) as usize]));
    for k in 0..10 {
        if k == 5 {
            state = splitmix(state);
        } else {
            state /= 52;
        }
        s.push(char::from(ALNUM[(state % 62) as usize]));
    }
    s
}

impl Uids {
    /// UIDs for `shape`, checked to be distinct.
    ///
    /// # Errors
    /// Two generated UIDs collide (would silently merge objects).
    pub fn new(shape: &Shape) -> anyhow::Result<Self> {
        let list = |tag: u64, n: usize| (0..n as u64).map(|i| uid(tag, i)).collect::<Vec<_>>();
        let uids = Self {
            root: uid(1, 0),
            data_set: uid(2, 0),
            category: uid(3, 0),
            category_combo: uid(4, 0),
            user: uid(5, 0),
            options: list(6, COCS),
            cocs: list(7, COCS),
            data_elements: list(8, DATA_ELEMENTS),
            org_units: list(9, shape.org_units),
        };
        let mut seen = HashSet::new();
        let singles = [
            &uids.root,
            &uids.data_set,
            &uids.category,
            &uids.category_combo,
            &uids.user,
        ];
        let all = singles
            .into_iter()
            .chain(&uids.options)
            .chain(&uids.cocs)
            .chain(&uids.data_elements)
            .chain(&uids.org_units);
        for u in all {
            tally_domain::uid::Uid::parse(u).with_context(|| format!("generated uid {u}"))?;
            if !seen.insert(u.as_str()) {
                bail!("generated uid {u} twice");
            }
        }
        Ok(uids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_org_unit_major() {
        let shape = Shape::new(2_500).unwrap();
        assert_eq!(shape.org_units, 3);
        assert_eq!(shape.periods, ["202401"]);
        let r = shape.row(1_007);
        assert_eq!((r.period, r.org_unit, r.data_element, r.coc), (0, 1, 1, 2));
        let big = Shape::new(2_500_000).unwrap();
        assert_eq!(big.org_units, 1000);
        assert_eq!(big.periods, ["202401", "202402", "202403"]);
        assert_eq!(big.row(1_000_000).period, 1);
        assert_eq!(Shape::new(12_001_000).unwrap().periods[12], "202501");
    }

    #[test]
    fn uids_are_valid_and_distinct() {
        let shape = Shape::new(1_000_000).unwrap();
        let uids = Uids::new(&shape).unwrap();
        assert_eq!(uids.org_units.len(), 1000);
        assert_ne!(value_of(5, 0), value_of(5, 1));
        assert_ne!(value_of(9972, 0), 0);
    }
}

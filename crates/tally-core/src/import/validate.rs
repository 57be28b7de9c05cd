//! Header rules and per-value checks of the import, in DHIS2 2.41's order (spec §4).
//!
//! Everything is resolved through the in-memory snapshot: no SQL per value. Each value
//! either becomes a [`ValueWrite`] or adds its conflict(s) and is skipped.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use tally_domain::id_scheme::{IdScheme, IdSchemes, ImportIdSchemes, ObjectKind};
use tally_domain::import::{Conflict, Conflicts, ErrorCode, ImportStrategy};
use tally_domain::metadata::{
    CategoryOptionComboId, DataElementId, DataSetId, LookupScheme, OrgUnitId, Snapshot,
};
use tally_domain::period::{Period, PeriodType};
use tally_domain::value_type::{self, ValueType};
use tally_formats::{RawDataValue, RawHeader};
use tally_store::{PeriodRow, Registration, ValueKey, ValueWrite};

use super::ImportOptions;
use crate::users::User;

/// Maps an id scheme to the snapshot's lookup.
pub(crate) fn lookup(scheme: IdScheme) -> LookupScheme {
    match scheme {
        IdScheme::Uid | IdScheme::Id | IdScheme::Uuid => LookupScheme::Uid,
        IdScheme::Code => LookupScheme::Code,
        IdScheme::Name => LookupScheme::Name,
        IdScheme::Attribute(uid) => LookupScheme::Attribute(uid),
    }
}

/// The period's storage key: type and start date, readable (`7_2024_01_01` is the
/// monthly period January 2024), so no import ever looks a period up.
#[must_use]
pub fn period_key(p: Period) -> i64 {
    let ty = PeriodType::ALL
        .iter()
        .position(|t| *t == p.period_type())
        .unwrap_or(0) as i64;
    let s = p.start();
    (ty + 1) * 100_000_000
        + i64::from(s.year()) * 10_000
        + i64::from(s.month()) * 100
        + i64::from(s.day())
}

/// The `period` table row of a period.
#[must_use]
pub fn period_row(p: Period) -> PeriodRow {
    PeriodRow {
        key: period_key(p),
        period_type: p.period_type().name(),
        start: p.start(),
        end: p.end(),
        iso: p.to_string(),
    }
}

pub(crate) enum HeaderOutcome {
    Continue,
    Abort(Conflict),
}

/// Data element facts used on every value, computed once per element per import.
#[derive(Clone, Copy)]
struct ElementFacts {
    value_type: ValueType,
    zero_counts: bool,
    average: bool,
}

fn blank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn obj(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

pub(crate) struct Validator<'a> {
    snap: &'a Snapshot,
    user: &'a User,
    options: &'a ImportOptions,
    header: &'a RawHeader,
    schemes: ImportIdSchemes,
    strategy: ImportStrategy,
    dry_run: bool,
    today: Date,
    now: Timestamp,
    roots: Vec<OrgUnitId>,
    header_period: Option<Period>,
    header_org_unit: Option<OrgUnitId>,
    header_aoc: Option<CategoryOptionComboId>,
    data_set: Option<DataSetId>,
    periods: HashMap<String, Option<Period>>,
    seen_periods: std::collections::HashSet<i64>,
    elements: HashMap<DataElementId, ElementFacts>,
    force: bool,
    edit_expired: bool,
    /// The ISO text of the last period seen (values arrive grouped by period).
    last_iso: Option<(Period, std::sync::Arc<str>)>,
    /// `(data set, period key, org unit)` that expiry does not lock.
    lock_exceptions: crate::data_entry::LockExceptionSet,
}

impl<'a> Validator<'a> {
    /// Applies payload schemes, strategy and dry run. A malformed one fails the import.
    pub(crate) fn new(
        snap: &'a Snapshot,
        user: &'a User,
        options: &'a ImportOptions,
        header: &'a RawHeader,
        now: Timestamp,
    ) -> Result<Self, String> {
        let parse = |s: &Option<String>| -> Result<Option<IdScheme>, String> {
            blank(s.as_deref())
                .map(|v| IdScheme::parse(v).map_err(|e| e.to_string()))
                .transpose()
        };
        let mut payload = IdSchemes::NONE;
        payload.id_scheme = parse(&header.id_scheme)?;
        payload.data_element_id_scheme = parse(&header.data_element_id_scheme)?;
        payload.org_unit_id_scheme = parse(&header.org_unit_id_scheme)?;
        payload.category_option_combo_id_scheme = parse(&header.category_option_combo_id_scheme)?;
        payload.data_set_id_scheme = parse(&header.data_set_id_scheme)?;
        let schemes = ImportIdSchemes::new(options.id_schemes).with_payload(payload);
        let strategy = match blank(header.strategy.as_deref()) {
            Some(s) => ImportStrategy::parse_exact(s).ok_or_else(|| {
                format!("No enum constant org.hisp.dhis.importexport.ImportStrategy.{s}")
            })?,
            None => options.import_strategy,
        };
        let dry_run = header.dry_run.unwrap_or(options.dry_run);
        let roots = user.capture_roots(snap);
        let today = now.to_zoned(jiff::tz::TimeZone::system()).date();
        Ok(Self {
            snap,
            user,
            options,
            header,
            schemes,
            strategy,
            dry_run,
            today,
            now,
            roots,
            header_period: None,
            header_org_unit: None,
            header_aoc: None,
            data_set: None,
            periods: HashMap::new(),
            seen_periods: std::collections::HashSet::new(),
            elements: HashMap::new(),
            force: options.force && user.is_super(),
            edit_expired: user.has("F_EDIT_EXPIRED"),
            last_iso: None,
            lock_exceptions: crate::data_entry::LockExceptionSet::default(),
        })
    }

    /// Lets expiry skip these `(data set, period key, org unit)` (DHIS2 lock exceptions).
    #[must_use]
    pub(crate) fn with_lock_exceptions(
        mut self,
        exceptions: crate::data_entry::LockExceptionSet,
    ) -> Self {
        self.lock_exceptions = exceptions;
        self
    }

    pub(crate) fn strategy(&self) -> ImportStrategy {
        self.strategy
    }

    pub(crate) fn dry_run(&self) -> bool {
        self.dry_run
    }

    fn scheme(&self, kind: ObjectKind) -> LookupScheme {
        lookup(self.schemes.scheme_for(kind))
    }

    /// Data-set-level checks (E7600, E7601, E7603, E7604), which abort the import.
    pub(crate) fn header_checks(&mut self) -> HeaderOutcome {
        let h = self.header;
        // CSV has no header data set: the `dataSet` parameter supplies it.
        let data_set = blank(h.data_set.as_deref()).or(blank(self.options.data_set.as_deref()));
        if let Some(ds) = data_set {
            match self.snap.data_set_id(self.scheme(ObjectKind::DataSet), ds) {
                Some(id) => self.data_set = Some(id),
                None => {
                    return HeaderOutcome::Abort(Conflict::coded(
                        ErrorCode::E7600,
                        Some("dataSet"),
                        vec![obj("dataSet", ds)],
                        &[ds],
                    ));
                }
            }
        }
        if let Some(ou) = blank(h.org_unit.as_deref()) {
            match self.snap.org_unit_id(self.scheme(ObjectKind::OrgUnit), ou) {
                Some(id) => self.header_org_unit = Some(id),
                None => {
                    return HeaderOutcome::Abort(Conflict::coded(
                        ErrorCode::E7603,
                        Some("orgUnit"),
                        vec![obj("organisationUnit", ou)],
                        &[ou],
                    ));
                }
            }
        }
        if let Some(aoc) = blank(h.attribute_option_combo.as_deref()) {
            match self
                .snap
                .category_option_combo_id(self.scheme(ObjectKind::CategoryOptionCombo), aoc)
            {
                Some(id) => self.header_aoc = Some(id),
                None => {
                    return HeaderOutcome::Abort(Conflict::coded(
                        ErrorCode::E7604,
                        Some("attributeOptionCombo"),
                        vec![obj("categoryOptionCombo", aoc)],
                        &[aoc],
                    ));
                }
            }
        } else if let (Some(ds), Some(options)) = (self.data_set, &h.attribute_category_options) {
            // attributeCategoryOptions: resolved with the general scheme against the
            // data set's attribute combo.
            let general = lookup(self.schemes.general());
            let mut ids = Vec::with_capacity(options.len());
            for o in options {
                match self.snap.category_option_id(general, o.trim()) {
                    Some(id) => ids.push(id),
                    None => {
                        return HeaderOutcome::Abort(Conflict::legacy(
                            "attributeCategoryOptions",
                            format!("Category option not found or not accessible: `{o}`"),
                        ));
                    }
                }
            }
            let combo = self.snap.data_set(ds).map(|d| d.category_combo);
            match combo.and_then(|c| self.snap.option_combo_for(c, &ids)) {
                Some(aoc) => self.header_aoc = Some(aoc),
                None => {
                    return HeaderOutcome::Abort(Conflict::legacy(
                        "attributeCategoryOptions",
                        "Attribute option combo does not exist for given category combo and category options",
                    ));
                }
            }
        }
        if let Some(p) = blank(h.period.as_deref()) {
            self.header_period = Period::parse(p);
        }
        HeaderOutcome::Continue
    }

    /// Completion (spec §3.6): `Ok(Some)` when a registration must be written.
    pub(crate) fn completion(
        &self,
        conflicts: &mut Conflicts,
    ) -> Result<Option<(Registration, PeriodRow)>, String> {
        let Some(ds) = self.data_set else {
            return Ok(None);
        };
        let Some(text) = blank(self.header.complete_date.as_deref()) else {
            return Ok(None);
        };
        if text.eq_ignore_ascii_case("false") {
            return Ok(None);
        }
        let date = if text.eq_ignore_ascii_case("true") {
            self.today
        } else {
            let d: Date = text
                .parse()
                .ok()
                .filter(|_| text.len() == 10)
                .ok_or_else(|| format!("Text '{text}' could not be parsed at index 0"))?;
            d.min(self.today)
        };
        // One conflict only: the org unit is checked first (DHIS2's if/else).
        let missing = if self.header_org_unit.is_none() {
            Some("OrganisationUnit")
        } else if self.header_period.is_none() {
            Some("Period")
        } else {
            None
        };
        if let Some(object) = missing {
            conflicts.add(
                Conflict::legacy(object, "Must be provided to complete data set"),
                None,
            );
            return Ok(None);
        }
        let (Some(ou), Some(period)) = (self.header_org_unit, self.header_period) else {
            return Ok(None);
        };
        if self.completion_refusal().is_some() {
            return Ok(None);
        }
        let aoc = self
            .header_aoc
            .unwrap_or(self.snap.defaults().category_option_combo);
        let ms = self.now.as_millisecond();
        let date_ms = date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(ms);
        Ok(Some((
            Registration {
                data_set: ds.0,
                period: period_key(period),
                org_unit: ou.0,
                attribute_option_combo: aoc.0,
                date_ms,
                stored_by: self.user.username.clone(),
                created_ms: ms,
                last_updated_ms: ms,
                last_updated_by: self.user.username.clone(),
                completed: true,
            },
            period_row(period),
        )))
    }

    /// The E7617 conflict of a completion asked for an org unit outside the user's data
    /// capture hierarchy (superusers too, as for values): the registration is not
    /// written. Added after the values, so it joins their E7617 group for that unit.
    pub(crate) fn completion_refusal(&self) -> Option<Conflict> {
        self.data_set?;
        let text = blank(self.header.complete_date.as_deref())?;
        if text.eq_ignore_ascii_case("false") {
            return None;
        }
        let ou = self.header_org_unit?;
        self.header_period?;
        if self.snap.is_in_any_subtree(ou, &self.roots) {
            return None;
        }
        let ou_uid = self.snap.org_unit(ou)?.common.uid.as_str();
        let user = self.user.uid.to_string();
        Some(Conflict::coded(
            ErrorCode::E7617,
            Some("orgUnit"),
            vec![obj("organisationUnit", ou_uid), obj("user", &user)],
            &[ou_uid, &user],
        ))
    }

    /// `dataSetComplete` text after a successful completion.
    pub(crate) fn complete_date_text(&self) -> String {
        let text = blank(self.header.complete_date.as_deref()).unwrap_or("");
        if text.eq_ignore_ascii_case("true") {
            return self.today.to_string();
        }
        text.parse::<Date>()
            .map(|d| d.min(self.today).to_string())
            .unwrap_or_else(|_| self.today.to_string())
    }

    fn iso(&mut self, period: Period) -> std::sync::Arc<str> {
        match &self.last_iso {
            Some((p, iso)) if *p == period => iso.clone(),
            _ => {
                let iso: std::sync::Arc<str> = period.to_string().into();
                self.last_iso = Some((period, iso.clone()));
                iso
            }
        }
    }

    fn period(&mut self, text: &str) -> Option<Period> {
        if let Some(p) = self.periods.get(text) {
            return *p;
        }
        let p = Period::parse(text.trim());
        self.periods.insert(text.to_owned(), p);
        p
    }

    fn facts(&mut self, de: DataElementId) -> Option<ElementFacts> {
        if let Some(f) = self.elements.get(&de) {
            return Some(*f);
        }
        let info = self.snap.data_element(de)?;
        let f = ElementFacts {
            value_type: info.value_type_enum,
            zero_counts: info.zero_is_significant,
            average: info.average_aggregation,
        };
        self.elements.insert(de, f);
        Some(f)
    }

    /// Validates one value; `None` when it is skipped (its conflicts are recorded).
    #[allow(clippy::too_many_lines)]
    pub(crate) fn value(
        &mut self,
        raw: &RawDataValue,
        index: usize,
        conflicts: &mut Conflicts,
        periods: &mut Vec<PeriodRow>,
    ) -> Option<ValueWrite> {
        let snap = self.snap;
        let mut fail = |c: Conflict| {
            conflicts.add(c, Some(index));
        };
        // 1. data element
        let de_text = raw.data_element.as_deref().unwrap_or("").trim();
        let Some(de) = snap.data_element_id(self.scheme(ObjectKind::DataElement), de_text) else {
            fail(Conflict::coded(
                ErrorCode::E7610,
                Some("dataElement"),
                vec![obj("dataElement", de_text)],
                &[de_text],
            ));
            return None;
        };
        let de_info = snap.data_element(de)?;
        let de_uid = de_info.common.uid.as_str();
        // 2. period
        let period = match self.header_period {
            Some(p) => p,
            None => {
                let text = raw.period.as_deref().unwrap_or("");
                let Some(p) = self.period(text) else {
                    fail(Conflict::coded(
                        ErrorCode::E7611,
                        Some("period"),
                        vec![obj("period", text)],
                        &[text],
                    ));
                    return None;
                };
                p
            }
        };
        // 3. org unit
        let ou = match self.header_org_unit {
            Some(ou) => ou,
            None => {
                let text = raw.org_unit.as_deref().unwrap_or("").trim();
                let Some(ou) = snap.org_unit_id(self.scheme(ObjectKind::OrgUnit), text) else {
                    fail(Conflict::coded(
                        ErrorCode::E7612,
                        Some("orgUnit"),
                        vec![obj("organisationUnit", text)],
                        &[text],
                    ));
                    return None;
                };
                ou
            }
        };
        let coc_scheme = self.scheme(ObjectKind::CategoryOptionCombo);
        // 4. category option combo
        let coc = match blank(raw.category_option_combo.as_deref()) {
            Some(text) => match snap.category_option_combo_id(coc_scheme, text) {
                Some(id) => Some(id),
                None => {
                    fail(Conflict::coded(
                        ErrorCode::E7613,
                        Some("categoryOptionCombo"),
                        vec![obj("categoryOptionCombo", text)],
                        &[text],
                    ));
                    return None;
                }
            },
            None => None,
        };
        // 6. attribute option combo (resolved with the COC scheme, quirk)
        let aoc = match self.header_aoc {
            Some(a) => Some(a),
            None => match blank(raw.attribute_option_combo.as_deref()) {
                Some(text) => match snap.category_option_combo_id(coc_scheme, text) {
                    Some(id) => Some(id),
                    None => {
                        fail(Conflict::coded(
                            ErrorCode::E7615,
                            Some("attributeOptionCombo"),
                            vec![obj("categoryOptionCombo", text)],
                            &[text],
                        ));
                        return None;
                    }
                },
                None => None,
            },
        };
        let ou_info = snap.org_unit(ou)?;
        let ou_uid = ou_info.common.uid.as_str();
        // 8. org unit in the user's data capture hierarchy (superusers too)
        if !snap.is_in_any_subtree(ou, &self.roots) {
            let user = self.user.uid.to_string();
            fail(Conflict::coded(
                ErrorCode::E7617,
                Some("orgUnit"),
                vec![obj("organisationUnit", ou_uid), obj("user", &user)],
                &[ou_uid, &user],
            ));
            return None;
        }
        let deleted = raw.deleted.unwrap_or(false);
        // 9. value or comment defined
        if raw.value.is_none() && raw.comment.is_none() && !deleted && !self.strategy.deletes() {
            fail(Conflict::coded(
                ErrorCode::E7618,
                Some("value"),
                vec![obj("dataElement", de_uid)],
                &[de_uid],
            ));
            return None;
        }
        let facts = self.facts(de)?;
        let normalised = raw
            .value
            .as_deref()
            .map(|v| value_type::normalize_boolean(facts.value_type, v));
        // 10. value type
        let has_option_set = de_info.option_set.is_some();
        if let Some(v) = normalised.as_deref()
            && let Err(reason) =
                value_type::validate_with_option_set(facts.value_type, has_option_set, v)
        {
            fail(Conflict::coded(
                ErrorCode::E7619,
                Some("value"),
                vec![obj("dataElement", de_uid), obj("value", reason.key())],
                &[de_uid, reason.message()],
            ));
            return None;
        }
        // 11. comment
        if let Some(c) = raw.comment.as_deref()
            && let Err(reason) = value_type::validate_comment(c)
        {
            fail(Conflict::coded(
                ErrorCode::E7620,
                Some("comment"),
                vec![obj("comment", reason.key())],
                &[reason.key()],
            ));
            return None;
        }
        // 12. option set (exact code match; MULTI_TEXT: every distinct part)
        if let (Some(set), Some(v)) = (snap.data_element_option_set(de), normalised.as_deref())
            && !v.is_empty()
        {
            let ok = if facts.value_type == ValueType::MultiText {
                let parts: Vec<&str> = v.split(',').collect();
                let distinct: std::collections::HashSet<&str> = parts
                    .iter()
                    .copied()
                    .filter(|p| set.contains_code(p))
                    .collect();
                distinct.len() == parts.len()
            } else {
                set.contains_code(v)
            };
            if !ok {
                fail(Conflict::coded(
                    ErrorCode::E7621,
                    Some("value"),
                    vec![obj("dataElement", de_uid)],
                    &[de_uid],
                ));
                return None;
            }
        }
        // 13–14. required combos, else the defaults
        if coc.is_none() && self.options.require_category_option_combo {
            fail(Conflict::coded(
                ErrorCode::E7630,
                Some("categoryOptionCombo"),
                vec![],
                &[],
            ));
            return None;
        }
        if aoc.is_none() && self.options.require_attribute_option_combo {
            fail(Conflict::coded(
                ErrorCode::E7631,
                Some("attributeOptionCombo"),
                vec![],
                &[],
            ));
            return None;
        }
        let default = snap.defaults().category_option_combo;
        let coc = coc.unwrap_or(default);
        let aoc = aoc.unwrap_or(default);
        let iso = self.iso(period);
        let iso = &*iso;
        let aoc_info = snap.category_option_combo(aoc)?;
        let aoc_uid = aoc_info.common.uid.as_str();
        // 15. strict periods
        if self.options.strict_periods
            && !de_info.data_sets.iter().any(|ds| {
                snap.data_set(*ds)
                    .is_some_and(|d| d.period_type_enum == Some(period.period_type()))
            })
        {
            fail(Conflict::coded(
                ErrorCode::E7632,
                Some("period"),
                vec![obj("period", iso), obj("dataElement", de_uid)],
                &[iso, de_uid],
            ));
            return None;
        }
        // 16. strict data elements
        if self.options.strict_data_elements {
            let targets: Vec<DataSetId> = match self.data_set {
                Some(ds) => vec![ds],
                None => de_info.data_sets.to_vec(),
            };
            let member = targets
                .iter()
                .any(|ds| snap.data_set(*ds).is_some_and(|d| d.contains(de)));
            if !member {
                let list: Vec<String> = targets
                    .iter()
                    .filter_map(|ds| snap.data_set(*ds).map(|d| d.common.uid.to_string()))
                    .collect();
                let list = list.join(",");
                fail(Conflict::coded(
                    ErrorCode::E7633,
                    Some("dataElement"),
                    vec![obj("dataElement", de_uid), obj("dataSet", &list)],
                    &[de_uid, &list],
                ));
                return None;
            }
        }
        // 17. strict COCs
        if self.options.strict_category_option_combos {
            let coc_info = snap.category_option_combo(coc)?;
            let combos: Vec<_> = std::iter::once(de_info.category_combo)
                .chain(
                    de_info
                        .data_sets
                        .iter()
                        .filter_map(|ds| snap.element_category_combo(*ds, de)),
                )
                .collect();
            if !combos.contains(&coc_info.category_combo) {
                let coc_uid = coc_info.common.uid.to_string();
                fail(Conflict::coded(
                    ErrorCode::E7634,
                    Some("categoryOptionCombo"),
                    vec![
                        obj("categoryOptionCombo", &coc_uid),
                        obj("dataElement", de_uid),
                    ],
                    &[&coc_uid, de_uid],
                ));
                return None;
            }
        }
        // 18. strict AOCs
        if self.options.strict_attribute_option_combos {
            let allowed = de_info.data_sets.iter().any(|ds| {
                snap.data_set(*ds).is_some_and(|d| {
                    snap.category_combo(d.category_combo)
                        .is_some_and(|c| c.option_combos.contains(&aoc))
                })
            });
            if !allowed {
                fail(Conflict::coded(
                    ErrorCode::E7635,
                    Some("attributeOptionCombo"),
                    vec![
                        obj("categoryOptionCombo", aoc_uid),
                        obj("dataElement", de_uid),
                    ],
                    &[aoc_uid, de_uid],
                ));
                return None;
            }
        }
        // 19. strict org units
        if self.options.strict_organisation_units && snap.data_sets_for(de, ou).next().is_none() {
            fail(Conflict::coded(
                ErrorCode::E7636,
                Some("orgUnit"),
                vec![obj("organisationUnit", ou_uid), obj("dataElement", de_uid)],
                &[ou_uid, de_uid],
            ));
            return None;
        }
        // 20. storedBy
        if let Some(s) = raw.stored_by.as_deref()
            && let Err(reason) = value_type::validate_stored_by(s)
        {
            fail(Conflict::coded(
                ErrorCode::E7637,
                Some("storedBy"),
                vec![obj("storedBy", reason.key())],
                &[reason.key()],
            ));
            return None;
        }
        // Target data sets for the locking checks.
        let targets: Vec<DataSetId> = match self.data_set {
            Some(ds) => vec![ds],
            None => snap
                .data_sets_for(de, ou)
                .filter(|ds| {
                    snap.data_set(*ds)
                        .is_some_and(|d| d.category_combo == aoc_info.category_combo)
                })
                .collect(),
        };
        // 21. AOC date range (options' dates; end extended by the data set's
        //     openPeriodsAfterCoEndDate). Not bypassed by force.
        let extra = targets
            .iter()
            .filter_map(|ds| snap.data_set(*ds))
            .map(|d| d.open_periods_after_co_end_date)
            .max()
            .unwrap_or(0);
        let mut start: Option<Date> = None;
        let mut end: Option<Date> = None;
        for o in aoc_info
            .options
            .iter()
            .filter_map(|o| snap.category_option(*o))
        {
            if let Some(s) = o.start_date {
                start = Some(start.map_or(s, |x: Date| x.max(s)));
            }
            if let Some(e) = o.end_date {
                let e = if extra > 0 {
                    Period::containing(period.period_type(), e)
                        .and_then(|p| p.plus(extra))
                        .map_or(e, Period::end)
                } else {
                    e
                };
                end = Some(end.map_or(e, |x: Date| x.min(e)));
            }
        }
        if start.is_some_and(|s| s > period.end()) || end.is_some_and(|e| e < period.start()) {
            fail(Conflict::coded(
                ErrorCode::E7638,
                Some("period"),
                vec![obj("period", iso), obj("attributeOptionCombo", aoc_uid)],
                &[iso, aoc_uid],
            ));
            return None;
        }
        // 22. AOC org units. Not bypassed by force.
        if !snap.option_combo_allows_org_unit(aoc, ou) {
            fail(Conflict::coded(
                ErrorCode::E7639,
                Some("orgUnit"),
                vec![
                    obj("organisationUnit", ou_uid),
                    obj("attributeOptionCombo", aoc_uid),
                ],
                &[ou_uid, aoc_uid],
            ));
            return None;
        }
        if !self.force && !self.locking(de, de_uid, period, iso, ou, &targets, &mut fail) {
            return None;
        }
        // Build the row.
        let value = normalised
            .as_deref()
            .map(value_type::java_trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let comment = raw
            .comment
            .as_deref()
            .map(value_type::java_trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let stored_by = raw
            .stored_by
            .as_deref()
            .filter(|s| !value_type::is_blank(s))
            .map_or_else(|| self.user.username.clone(), str::to_owned);
        let zero_insignificant = raw.value.as_deref().is_some_and(|v| {
            value_type::is_zero_insignificant(facts.value_type, facts.zero_counts, facts.average, v)
        });
        let key = ValueKey {
            period: period_key(period),
            org_unit: ou.0,
            data_element: de.0,
            category_option_combo: coc.0,
            attribute_option_combo: aoc.0,
        };
        if self.seen_periods.insert(key.period) {
            periods.push(period_row(period));
        }
        Some(ValueWrite {
            index,
            key,
            value,
            comment,
            stored_by,
            followup: raw.followup.unwrap_or(false),
            deleted,
            zero_insignificant,
        })
    }

    /// Checks 23–27: expiry, future periods, input periods (spec §4.5). Approval
    /// workflows are not modelled yet, so E7642 never fires.
    #[allow(clippy::too_many_arguments)]
    fn locking(
        &self,
        de: DataElementId,
        de_uid: &str,
        period: Period,
        iso: &str,
        ou: OrgUnitId,
        targets: &[DataSetId],
        fail: &mut impl FnMut(Conflict),
    ) -> bool {
        let snap = self.snap;
        let strict_locking = true;
        // 23. expiry, unless a lock exception opens the data set for the org unit and
        //     period
        if !self.edit_expired {
            let key = period_key(period);
            let locked: Vec<_> = targets
                .iter()
                .filter(|ds| !self.lock_exceptions.contains(&(ds.0, key, ou.0)))
                .filter_map(|ds| snap.data_set(*ds))
                .filter(|d| {
                    d.expiry_days > 0
                        && period
                            .end()
                            .checked_add(jiff::Span::new().days(i64::from(d.expiry_days)))
                            .is_ok_and(|limit| self.today > limit)
                })
                .collect();
            let all_locked = !targets.is_empty() && locked.len() == targets.len();
            if (strict_locking && !locked.is_empty()) || all_locked {
                for d in locked {
                    let ds_uid = d.common.uid.to_string();
                    fail(Conflict::coded(
                        ErrorCode::E7640,
                        Some("period"),
                        vec![obj("period", iso), obj("dataSet", &ds_uid)],
                        &[iso, &ds_uid],
                    ));
                }
                return false;
            }
        }
        // 24. open future periods (always strict over all targets)
        let mut future_ok = true;
        for d in targets.iter().filter_map(|ds| snap.data_set(*ds)) {
            let Some(ty) = d.period_type_enum else {
                continue;
            };
            let latest = Period::containing(ty, self.today)
                .and_then(Period::previous)
                .and_then(|p| p.plus(d.open_future_periods));
            if let Some(latest) = latest
                && period.end() > latest.end()
            {
                let ds_uid = d.common.uid.to_string();
                let latest = latest.to_string();
                fail(Conflict::coded(
                    ErrorCode::E7641,
                    Some("period"),
                    vec![
                        obj("period", iso),
                        obj("dataElement", de_uid),
                        obj("dataSet", &ds_uid),
                    ],
                    &[iso, de_uid, &ds_uid, &latest],
                ));
                future_ok = false;
            }
        }
        if !future_ok {
            return false;
        }
        // 26. input periods of the target data sets (strict by default)
        let open = |d: &tally_domain::metadata::DataSetInfo| {
            d.data_input_periods.is_empty()
                || d.data_input_periods.iter().any(|p| {
                    &*p.period == iso
                        && p.opening_date.is_none_or(|o| o <= self.today)
                        && p.closing_date.is_none_or(|c| self.today <= c)
                })
        };
        let closed: Vec<_> = targets
            .iter()
            .filter_map(|ds| snap.data_set(*ds))
            .filter(|d| !open(d))
            .collect();
        if !closed.is_empty() {
            for d in closed {
                let ds_uid = d.common.uid.to_string();
                fail(Conflict::coded(
                    ErrorCode::E7643,
                    Some("period"),
                    vec![obj("period", iso), obj("dataSet", &ds_uid)],
                    &[iso, &ds_uid],
                ));
            }
            return false;
        }
        // 27. input periods over all data sets of the element
        let all: Vec<_> = snap
            .data_element(de)
            .map(|i| {
                i.data_sets
                    .iter()
                    .filter_map(|ds| snap.data_set(*ds))
                    .collect()
            })
            .unwrap_or_default();
        if !all.is_empty() && !all.iter().any(|d| open(d)) {
            fail(Conflict::coded(
                ErrorCode::E7644,
                Some("period"),
                vec![obj("period", iso)],
                &[iso],
            ));
            return false;
        }
        true
    }
}

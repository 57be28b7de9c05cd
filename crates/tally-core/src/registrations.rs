//! Complete data set registrations: `GET/POST/DELETE /api/completeDataSetRegistrations`
//! and `POST /api/dataEntry/dataSetCompletion`.
//!
//! A registration is keyed by (data set, period, org unit, attribute option combo). The
//! store keeps it with a `completed` flag: a completion with `completed: false` keeps the
//! row with `completed: false`, which reads back as not complete; `DELETE` removes the
//! row, as DHIS2 does.

use jiff::civil::Date;
use tally_domain::import::{Conflict, Conflicts, ImportCount, ImportStatus, ImportStrategy};
use tally_domain::metadata::{CategoryOptionComboId, DataSetId, LookupScheme, OrgUnitId, Snapshot};
use tally_domain::period::Period;
use tally_store::{Registration, WriteOptions};

use crate::App;
use crate::error::{CoreError, Result};
use crate::import::{ImportOptions, Summary, period_key, period_row};
use crate::users::User;

/// One registration as posted (`organisationUnit`, `attributeOptionCombo` by UID).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationInput {
    #[serde(default)]
    pub data_set: Option<String>,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub organisation_unit: Option<String>,
    #[serde(default)]
    pub attribute_option_combo: Option<String>,
    /// DHIS2 accepts `true`, `"true"` and friends; absent means completed.
    #[serde(default)]
    pub completed: Option<serde_json::Value>,
    /// The completion date (`yyyy-MM-dd…`); absent means today.
    #[serde(default)]
    pub date: Option<String>,
}

/// A stored registration, resolved to identifiers for output.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationView {
    pub period: String,
    pub data_set: String,
    pub organisation_unit: String,
    pub attribute_option_combo: String,
    pub date: String,
    pub stored_by: String,
    pub last_updated_by: String,
    pub last_updated: String,
    pub created: String,
    pub completed: bool,
}

/// `GET /api/completeDataSetRegistrations` parameters (UIDs).
#[derive(Debug, Clone, Default)]
pub struct RegistrationQuery {
    pub data_sets: Vec<String>,
    pub periods: Vec<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub org_units: Vec<String>,
    pub children: bool,
}

/// The key of one registration, resolved.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationKey {
    pub data_set: DataSetId,
    pub period: Period,
    pub org_unit: OrgUnitId,
    pub attribute_option_combo: CategoryOptionComboId,
}

fn truthy(v: Option<&serde_json::Value>) -> bool {
    match v {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        Some(_) => true,
    }
}

fn conflict(object: &str, value: &str) -> Conflict {
    Conflict::legacy(object, value)
}

fn millis(date: Date) -> i64 {
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(0, |z| z.timestamp().as_millisecond())
}

impl App {
    /// Resolves and checks the key of a registration for `user` (who must be able to
    /// capture data for the org unit).
    ///
    /// # Errors
    /// 409 with a message naming the bad part.
    pub fn registration_key(
        &self,
        user: &User,
        data_set: &str,
        period: &str,
        org_unit: &str,
        attribute_option_combo: Option<CategoryOptionComboId>,
    ) -> std::result::Result<RegistrationKey, (String, String)> {
        let snap = self.snapshot();
        let bad = |what: &str, value: &str| (what.to_owned(), value.to_owned());
        let ds = snap
            .data_set_id(LookupScheme::Uid, data_set.trim())
            .ok_or_else(|| {
                bad(
                    "dataSet",
                    &format!("Data set not found or not accessible: `{data_set}`"),
                )
            })?;
        let period = Period::parse(period.trim())
            .ok_or_else(|| bad("period", &format!("Period not valid: `{period}`")))?;
        let ou = snap
            .org_unit_id(LookupScheme::Uid, org_unit.trim())
            .ok_or_else(|| {
                bad(
                    "organisationUnit",
                    &format!("Organisation unit not found or not accessible: `{org_unit}`"),
                )
            })?;
        if !snap.is_in_any_subtree(ou, &user.capture_roots(&snap)) {
            return Err(bad(
                "organisationUnit",
                &format!("User does not have write access for organisation unit: `{org_unit}`"),
            ));
        }
        let set = snap.data_set(ds).ok_or_else(|| bad("dataSet", data_set))?;
        let aoc = attribute_option_combo.unwrap_or(snap.defaults().category_option_combo);
        let allowed = snap
            .category_combo(set.category_combo)
            .is_some_and(|c| c.option_combos.contains(&aoc));
        if !allowed {
            return Err(bad(
                "attributeOptionCombo",
                "Attribute option combo is not part of the data set's category combo",
            ));
        }
        Ok(RegistrationKey {
            data_set: ds,
            period,
            org_unit: ou,
            attribute_option_combo: aoc,
        })
    }

    /// Writes (completes or un-completes) one registration; `true` when it existed.
    ///
    /// # Errors
    /// Storage failures.
    pub fn write_registration(
        &self,
        user: &User,
        key: RegistrationKey,
        completed: bool,
        date: Option<Date>,
    ) -> Result<bool> {
        let now = self.clock.now();
        let now_ms = now.as_millisecond();
        let today = now.to_zoned(jiff::tz::TimeZone::system()).date();
        let pk = period_key(key.period);
        let existing = self.store.registration(
            key.data_set.0,
            pk,
            key.org_unit.0,
            key.attribute_option_combo.0,
        )?;
        let registration = Registration {
            data_set: key.data_set.0,
            period: pk,
            org_unit: key.org_unit.0,
            attribute_option_combo: key.attribute_option_combo.0,
            date_ms: millis(date.unwrap_or(today)),
            stored_by: existing
                .as_ref()
                .map_or_else(|| user.username.clone(), |e| e.stored_by.clone()),
            created_ms: existing.as_ref().map_or(now_ms, |e| e.created_ms),
            last_updated_ms: now_ms,
            last_updated_by: user.username.clone(),
            completed,
        };
        let mut tx = self.store.begin_import(WriteOptions {
            strategy: ImportStrategy::CreateAndUpdate,
            dry_run: false,
            skip_existing_check: false,
            skip_audit: false,
            now_ms,
        })?;
        tx.ensure_periods(&[period_row(key.period)])?;
        tx.complete(&registration)?;
        tx.commit()?;
        Ok(existing.is_some())
    }

    /// `DELETE /api/completeDataSetRegistrations`: removes the registration (DHIS2's
    /// `deleteCompleteDataSetRegistration`); `true` when there was one.
    ///
    /// # Errors
    /// Storage failures.
    pub fn delete_registration(&self, key: RegistrationKey) -> Result<bool> {
        Ok(self.store.delete_registration(
            key.data_set.0,
            period_key(key.period),
            key.org_unit.0,
            key.attribute_option_combo.0,
        )?)
    }

    /// Completing a form of a data set with `compulsoryFieldsCompleteOnly` needs a live
    /// value for every compulsory operand (an operand without a COC means all the
    /// element's COCs).
    ///
    /// # Errors
    /// 409 naming the missing operands, storage failures.
    pub fn check_compulsory(&self, key: RegistrationKey) -> Result<()> {
        let snap = self.snapshot();
        let Some(set) = snap.data_set(key.data_set) else {
            return Ok(());
        };
        if !set.compulsory_fields_complete_only {
            return Ok(());
        }
        let uid = |kind, id: u32| {
            snap.identifier(kind, id, LookupScheme::Uid)
                .unwrap_or_default()
                .to_string()
        };
        let mut missing = Vec::new();
        for operand in set.compulsory_operands.iter() {
            let cocs: Vec<CategoryOptionComboId> = match operand.category_option_combo {
                Some(c) => vec![c],
                None => snap
                    .data_element(operand.data_element)
                    .and_then(|d| snap.category_combo(d.category_combo))
                    .map(|c| c.option_combos.to_vec())
                    .unwrap_or_default(),
            };
            for coc in cocs {
                let value = self.store.get_value(&tally_store::ValueKey {
                    period: period_key(key.period),
                    org_unit: key.org_unit.0,
                    data_element: operand.data_element.0,
                    category_option_combo: coc.0,
                    attribute_option_combo: key.attribute_option_combo.0,
                })?;
                if !value.is_some_and(|v| !v.deleted && v.value.is_some()) {
                    missing.push(format!(
                        "{}.{}",
                        uid(
                            tally_domain::metadata::ObjectKind::DataElement,
                            operand.data_element.0
                        ),
                        uid(
                            tally_domain::metadata::ObjectKind::CategoryOptionCombo,
                            coc.0
                        )
                    ));
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(CoreError::Conflict {
            code: Some(tally_domain::import::ErrorCode::E7605),
            message: format!(
                "All compulsory data element operands need to be filled: [{}]",
                missing.join(", ")
            ),
        })
    }

    /// `POST /api/completeDataSetRegistrations`: imports registrations; problems are
    /// conflicts in the summary, as for data values.
    ///
    /// # Errors
    /// Storage failures.
    pub fn import_registrations(
        &self,
        user: &User,
        items: &[RegistrationInput],
    ) -> Result<Summary> {
        let mut conflicts = Conflicts::default();
        let mut count = ImportCount::default();
        let snap = self.snapshot();
        for (index, item) in items.iter().enumerate() {
            let fields = (
                item.data_set.as_deref(),
                item.period.as_deref(),
                item.organisation_unit.as_deref(),
            );
            let (Some(ds), Some(pe), Some(ou)) = fields else {
                conflicts.add(
                    conflict(
                        "registration",
                        "dataSet, period and organisationUnit are required",
                    ),
                    Some(index),
                );
                count.ignored += 1;
                continue;
            };
            let aoc = match item.attribute_option_combo.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(text) => match snap.category_option_combo_id(LookupScheme::Uid, text) {
                    Some(id) => Some(id),
                    None => {
                        conflicts.add(
                            conflict(
                                "attributeOptionCombo",
                                &format!("Attribute option combo not found: `{text}`"),
                            ),
                            Some(index),
                        );
                        count.ignored += 1;
                        continue;
                    }
                },
            };
            let date = match item
                .date
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                None => None,
                Some(d) => match d.get(..10).and_then(|d| d.parse::<Date>().ok()) {
                    Some(d) => Some(d),
                    None => {
                        conflicts.add(
                            conflict("date", &format!("Date not valid: `{d}`")),
                            Some(index),
                        );
                        count.ignored += 1;
                        continue;
                    }
                },
            };
            match self.registration_key(user, ds, pe, ou, aoc) {
                Ok(key) => {
                    if self.write_registration(user, key, truthy(item.completed.as_ref()), date)? {
                        count.updated += 1;
                    } else {
                        count.imported += 1;
                    }
                }
                Err((object, message)) => {
                    conflicts.add(conflict(&object, &message), Some(index));
                    count.ignored += 1;
                }
            }
        }
        let status = if conflicts.is_empty() {
            ImportStatus::Success
        } else {
            ImportStatus::Warning
        };
        Ok(Summary {
            response_type: "ImportSummary",
            status,
            import_options: ImportOptions::default(),
            description: Summary::COMPLETED.into(),
            import_count: count,
            conflicts: conflicts.into_vec(),
            rejected_indexes: Vec::new(),
            data_set_complete: None,
        })
    }

    /// `GET /api/completeDataSetRegistrations`: registrations of the data sets, periods
    /// (or the data sets' periods within the dates) and org units (with `children`, their
    /// subtrees), within the user's view hierarchy.
    ///
    /// # Errors
    /// 409 for missing or unknown parameters, storage failures.
    pub fn registrations(
        &self,
        user: &User,
        q: &RegistrationQuery,
    ) -> Result<Vec<RegistrationView>> {
        let conflict = |m: &str| CoreError::Conflict {
            code: None,
            message: m.to_owned(),
        };
        if q.data_sets.is_empty() {
            return Err(conflict("At least one data set must be specified"));
        }
        if q.periods.is_empty() && (q.start_date.is_none() || q.end_date.is_none()) {
            return Err(conflict(
                "At least one valid period or start/end dates must be specified",
            ));
        }
        if q.org_units.is_empty() {
            return Err(conflict("At least one organisation unit must be specified"));
        }
        let snap = self.snapshot();
        let view_roots = user.view_roots(&snap);
        let mut data_sets = Vec::new();
        for ds in &q.data_sets {
            data_sets.push(snap.data_set_id(LookupScheme::Uid, ds).ok_or_else(|| {
                conflict(&format!("Data set not found or not accessible: `{ds}`"))
            })?);
        }
        let mut org_units = Vec::new();
        for ou in &q.org_units {
            let id = snap.org_unit_id(LookupScheme::Uid, ou).ok_or_else(|| {
                conflict(&format!(
                    "Organisation unit not found or not accessible: `{ou}`"
                ))
            })?;
            if !snap.is_in_any_subtree(id, &view_roots) {
                return Err(CoreError::Forbidden(format!(
                    "User does not have read access for organisation unit: `{ou}`"
                )));
            }
            if q.children {
                org_units.extend_from_slice(snap.org_unit_subtree(id));
            } else {
                org_units.push(id);
            }
        }
        org_units.sort_unstable();
        org_units.dedup();
        let mut out = Vec::new();
        for ds in data_sets {
            let Some(set) = snap.data_set(ds) else {
                continue;
            };
            let periods = match (
                &q.periods[..],
                q.start_date,
                q.end_date,
                set.period_type_enum,
            ) {
                ([], Some(start), Some(end), Some(ty)) => periods_within(ty, start, end),
                _ => q.periods.iter().filter_map(|p| Period::parse(p)).collect(),
            };
            let aocs = snap
                .category_combo(set.category_combo)
                .map(|c| c.option_combos.to_vec())
                .unwrap_or_default();
            for period in &periods {
                for ou in &org_units {
                    for aoc in &aocs {
                        let found =
                            self.store
                                .registration(ds.0, period_key(*period), ou.0, aoc.0)?;
                        if let Some(r) = found {
                            out.push(view(&snap, ds, *period, *ou, *aoc, &r));
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

fn periods_within(ty: tally_domain::period::PeriodType, start: Date, end: Date) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = Period::containing(ty, start);
    while let Some(period) = p {
        if period.start() > end || out.len() > 10_000 {
            break;
        }
        if period.start() >= start && period.end() <= end {
            out.push(period);
        }
        p = period.next();
    }
    out
}

fn view(
    snap: &Snapshot,
    ds: DataSetId,
    period: Period,
    ou: OrgUnitId,
    aoc: CategoryOptionComboId,
    r: &Registration,
) -> RegistrationView {
    let uid = |kind, id: u32| {
        snap.identifier(kind, id, LookupScheme::Uid)
            .unwrap_or_default()
            .to_string()
    };
    let ms = tally_formats::epoch_millis_to_string;
    RegistrationView {
        period: period.to_string(),
        data_set: uid(tally_domain::metadata::ObjectKind::DataSet, ds.0),
        organisation_unit: uid(tally_domain::metadata::ObjectKind::OrganisationUnit, ou.0),
        attribute_option_combo: uid(
            tally_domain::metadata::ObjectKind::CategoryOptionCombo,
            aoc.0,
        ),
        date: ms(r.date_ms),
        stored_by: r.stored_by.clone(),
        last_updated_by: r.last_updated_by.clone(),
        last_updated: ms(r.last_updated_ms),
        created: ms(r.created_ms),
        completed: r.completed,
    }
}

//! The single-value API: `GET`/`POST`/`DELETE /api/dataValues` and the follow-up
//! `PUT`s (spec §6.1–§6.5).
//!
//! ```text
//! request ──► identifiers, DHIS2's DataValidator order (UIDs only, cc+cp):
//!             E1100 E1103 E2040/E1110/E1111/E2041 E1101 E1102/E2020 E2019 E1105/E2021
//!         ──► the bulk import's Validator (same checks, same rules) on the value,
//!             its conflicts mapped to the single-value codes (E2022 E2023/E2024 E2030
//!             E2028 E2029 E2017 E2025)
//!         ──► one store change through the group-commit writer (`group_commit.rs`):
//!             DataValueStore::apply_change_groups, decide_change inside the write
//!             transaction (DHIS2's single-value semantics, audits, versions), answered
//!             once durable
//! ```
//!
//! Versions (tally extension): every stored row carries a global monotonic version. A
//! write may name the version it was based on (`0`: "there was no value"); if the row
//! changed since, the write is refused with the current row ([`Written::Stale`]). An
//! identical replay changes nothing and succeeds, whatever its base version.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use tally_domain::import::{
    AuditType, Change, ChangeOutcome, Conflict, Conflicts, ElementRule, ErrorCode,
};
use tally_domain::metadata::{
    CategoryOptionComboId, DataElementId, DataSetId, LookupScheme, OrgUnitId, Snapshot,
};
use tally_domain::period::Period;
use tally_domain::value_type::ValueType;
use tally_formats::{RawDataValue, RawHeader};
use tally_store::{ChangeResult, StoredValue, ValueChange, ValueKey};

use crate::App;
use crate::error::{CoreError, Result};
use crate::import::validate::{HeaderOutcome, Validator};
use crate::import::{ImportOptions, period_key, period_row};
use crate::users::User;

/// Which value a request addresses, as sent (UIDs; blank counts as absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueRef {
    /// `de` / `dataElement`.
    pub data_element: Option<String>,
    /// `pe` / `period` (ISO).
    pub period: Option<String>,
    /// `ou` / `orgUnit`.
    pub org_unit: Option<String>,
    /// `co` / `categoryOptionCombo`; the default COC when absent.
    pub category_option_combo: Option<String>,
    /// `cc` / `attribute.combo`: the attribute category combo.
    pub attribute_combo: Option<String>,
    /// `cp` (split on `;`) / `attribute.options`.
    pub attribute_options: Option<Vec<String>>,
    /// An explicit AOC UID (the follow-up body's `attributeOptionCombo`); used when no
    /// `cc`/`cp` is given.
    pub attribute_option_combo: Option<String>,
    /// `ds` / `dataSet` (optional).
    pub data_set: Option<String>,
}

/// `POST /api/dataValues`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveRequest {
    pub target: ValueRef,
    /// `None`: not sent (the stored value stays); `Some("")` clears it.
    pub value: Option<String>,
    /// `None`: not sent; `Some("")` clears it.
    pub comment: Option<String>,
    /// Sent at all: sets the flag of a new value, toggles a stored one (DHIS2).
    pub follow_up: Option<bool>,
    /// `force`: in DHIS2 it lets superusers past E2017 only (approval; expiry is skipped
    /// by superusers anyway); approval is not modelled, so it changes nothing yet.
    pub force: bool,
    /// The version the write is based on (`0`: no live value), if any.
    pub base_version: Option<i64>,
}

/// One item of `PUT /api/dataValues/followup(s)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpRequest {
    pub target: ValueRef,
    /// Required (E2033 when missing).
    pub followup: Option<bool>,
}

/// A write that went through, or was refused as stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Done {
        outcome: ChangeOutcome,
        /// The version of the row afterwards (`0` when there is no row at all): the
        /// `ETag` of the response.
        version: i64,
    },
    /// The base version is not current: nothing was written.
    Stale(Box<CurrentValue>),
}

/// The stored value a stale write ran into (the `response` of the 409). Absent fields
/// are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentValue {
    pub response_type: &'static str,
    pub data_element: String,
    pub period: String,
    pub org_unit: String,
    pub category_option_combo: String,
    pub attribute_option_combo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub follow_up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    pub deleted: bool,
    /// `0`: there is no stored row.
    pub version: i64,
    /// The version the refused write was based on.
    pub base_version: i64,
}

/// A live stored value, as `GET /api/dataValues` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadValue {
    pub value: Option<String>,
    pub version: i64,
}

/// The identifiers of a request, resolved.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    de: DataElementId,
    coc: CategoryOptionComboId,
    aoc: CategoryOptionComboId,
    period: Period,
    ou: OrgUnitId,
    ds: Option<DataSetId>,
}

impl Resolved {
    fn key(&self) -> ValueKey {
        ValueKey {
            period: period_key(self.period),
            org_unit: self.ou.0,
            data_element: self.de.0,
            category_option_combo: self.coc.0,
            attribute_option_combo: self.aoc.0,
        }
    }
}

/// The UIDs of a resolved request.
struct Uids {
    de: String,
    coc: String,
    aoc: String,
    ou: String,
    ds: Option<String>,
}

impl Uids {
    fn of(snap: &Snapshot, r: &Resolved) -> Self {
        let coc = |id| {
            snap.category_option_combo(id)
                .map_or_else(String::new, |c| c.common.uid.to_string())
        };
        Self {
            de: snap
                .data_element(r.de)
                .map_or_else(String::new, |d| d.common.uid.to_string()),
            coc: coc(r.coc),
            aoc: coc(r.aoc),
            ou: snap
                .org_unit(r.ou)
                .map_or_else(String::new, |o| o.common.uid.to_string()),
            ds: r
                .ds
                .and_then(|d| snap.data_set(d))
                .map(|d| d.common.uid.to_string()),
        }
    }
}

/// Blank means absent.
pub(crate) fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The identifiers of the single-value and data entry APIs, by UID, each with DHIS2's
/// error when it is absent (`null` in the message) or unknown.
pub(crate) mod by_uid {
    use tally_domain::import::ErrorCode;
    use tally_domain::metadata::{
        CategoryOptionComboId, DataElementId, DataSetId, LookupScheme, OrgUnitId, Snapshot,
    };
    use tally_domain::period::Period;

    use super::{conflict, given};
    use crate::error::Result;

    const UID: LookupScheme = LookupScheme::Uid;

    /// E1100.
    pub(crate) fn data_element(snap: &Snapshot, text: Option<&str>) -> Result<DataElementId> {
        let text = given(text);
        text.and_then(|t| snap.data_element_id(UID, t))
            .ok_or_else(|| conflict(ErrorCode::E1100, &[text.unwrap_or("null")]))
    }

    /// E1101.
    pub(crate) fn period(text: Option<&str>) -> Result<Period> {
        let text = given(text);
        text.and_then(Period::parse)
            .ok_or_else(|| conflict(ErrorCode::E1101, &[text.unwrap_or("null")]))
    }

    /// E1102.
    pub(crate) fn org_unit(snap: &Snapshot, text: Option<&str>) -> Result<OrgUnitId> {
        let text = given(text);
        text.and_then(|t| snap.org_unit_id(UID, t))
            .ok_or_else(|| conflict(ErrorCode::E1102, &[text.unwrap_or("null")]))
    }

    /// E1103; `default` when absent, if there is one.
    pub(crate) fn option_combo(
        snap: &Snapshot,
        text: Option<&str>,
        default: Option<CategoryOptionComboId>,
    ) -> Result<CategoryOptionComboId> {
        match (given(text), default) {
            (None, Some(d)) => Ok(d),
            (text, _) => text
                .and_then(|t| snap.category_option_combo_id(UID, t))
                .ok_or_else(|| conflict(ErrorCode::E1103, &[text.unwrap_or("null")])),
        }
    }

    /// E1105.
    pub(crate) fn data_set(snap: &Snapshot, text: Option<&str>) -> Result<DataSetId> {
        let text = given(text);
        text.and_then(|t| snap.data_set_id(UID, t))
            .ok_or_else(|| conflict(ErrorCode::E1105, &[text.unwrap_or("null")]))
    }
}

/// The attribute option combo named by a category combo (`cc`) and its options (`cp`),
/// UIDs, as the single-value, completion and data entry APIs take it: `None` when neither
/// is given; E2040 when only one is, E1110/E1111 for unknown ones, E2041 when no combo of
/// `cc` has exactly these options.
///
/// # Errors
/// Those conflicts.
pub fn attribute_option_combo(
    snap: &Snapshot,
    cc: Option<&str>,
    cp: &[&str],
) -> Result<Option<CategoryOptionComboId>> {
    let uid = LookupScheme::Uid;
    let options: Vec<&str> = cp.iter().filter_map(|o| given(Some(o))).collect();
    match (given(cc), options.is_empty()) {
        (None, true) => Ok(None),
        (Some(cc), false) => {
            let combo = snap
                .category_combo_id(uid, cc)
                .ok_or_else(|| conflict(ErrorCode::E1110, &[cc]))?;
            let mut ids = Vec::with_capacity(options.len());
            for o in options {
                let id = snap
                    .category_option_id(uid, o)
                    .ok_or_else(|| conflict(ErrorCode::E1111, &[o]))?;
                // `cp` is a set in DHIS2: a repeated option counts once.
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            snap.option_combo_for(combo, &ids)
                .map(Some)
                .ok_or_else(|| conflict(ErrorCode::E2041, &[]))
        }
        _ => Err(conflict(ErrorCode::E2040, &[])),
    }
}

fn conflict(code: ErrorCode, args: &[&str]) -> CoreError {
    CoreError::conflict(code, args)
}

/// Zone-less ISO timestamp with milliseconds in server time (UTC, as
/// `/api/system/info` says), the form of DHIS2's data entry shapes
/// (`2022-08-26T15:16:37.438`).
pub(crate) fn local_timestamp(ms: i64) -> Option<String> {
    let t = Timestamp::from_millisecond(ms).ok()?;
    Some(t.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string())
}

/// What the identifier resolution checks besides the identifiers themselves.
#[derive(Clone, Copy)]
struct Checks {
    /// E2019: the org unit is open for the period (POST only).
    org_unit_open: bool,
    /// E1105/E2021: the optional data set (POST, DELETE).
    data_set: bool,
}

impl App {
    /// Resolves the identifiers in DHIS2's DataValidator order.
    fn resolve(
        &self,
        snap: &Snapshot,
        t: &ValueRef,
        user: &User,
        checks: Checks,
    ) -> Result<Resolved> {
        let de = by_uid::data_element(snap, t.data_element.as_deref())?;
        let de_text = given(t.data_element.as_deref());
        let default = snap.defaults().category_option_combo;
        let coc = by_uid::option_combo(snap, t.category_option_combo.as_deref(), Some(default))?;
        let aoc = self.resolve_aoc(snap, t, default)?;
        let period = by_uid::period(t.period.as_deref())?;
        let ou = by_uid::org_unit(snap, t.org_unit.as_deref())?;
        let ou_uid = given(t.org_unit.as_deref()).unwrap_or_default();
        let roots = user.capture_roots(snap);
        if !snap.is_in_any_subtree(ou, &roots) {
            return Err(conflict(ErrorCode::E2020, &[ou_uid]));
        }
        if checks.org_unit_open
            && let Some(info) = snap.org_unit(ou)
            && (info.closed_date.is_some_and(|c| c < period.start())
                || info.opening_date.is_some_and(|o| o > period.end()))
        {
            return Err(conflict(ErrorCode::E2019, &[ou_uid]));
        }
        let ds = match given(t.data_set.as_deref()) {
            Some(d) if checks.data_set => {
                let ds = by_uid::data_set(snap, Some(d))?;
                if !snap.data_set(ds).is_some_and(|s| s.contains(de)) {
                    let de_uid = de_text.unwrap_or_default();
                    return Err(conflict(ErrorCode::E2021, &[d, de_uid]));
                }
                Some(ds)
            }
            _ => None,
        };
        Ok(Resolved {
            de,
            coc,
            aoc,
            period,
            ou,
            ds,
        })
    }

    /// `cc` + `cp` (E2040, E1110, E1111, E2041), else an explicit AOC UID (E1103), else
    /// the default.
    fn resolve_aoc(
        &self,
        snap: &Snapshot,
        t: &ValueRef,
        default: CategoryOptionComboId,
    ) -> Result<CategoryOptionComboId> {
        let options: Vec<&str> = t
            .attribute_options
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if let Some(aoc) = attribute_option_combo(snap, t.attribute_combo.as_deref(), &options)? {
            return Ok(aoc);
        }
        by_uid::option_combo(snap, t.attribute_option_combo.as_deref(), Some(default))
    }

    /// Runs the bulk import's checks on one value, in the single-value API's order: a
    /// pass without the value first, so that the period window checks DHIS2 runs before
    /// the value checks (E2022, E2023/E2024) win over them, then the full pass. On
    /// success, the normalised (boolean spellings, trimmed) value and comment.
    fn validate_one(
        &self,
        snap: &Snapshot,
        user: &User,
        r: &Resolved,
        value: Option<&str>,
        comment: Option<&str>,
        now: Timestamp,
    ) -> Result<Validation> {
        let uids = Uids::of(snap, r);
        let header = RawHeader {
            data_set: uids.ds.clone(),
            ..RawHeader::default()
        };
        // `force` stays off: in the single-value API it only bypasses E2017 (DHIS2's
        // lock status: approval, and expiry, which superusers skip anyway through
        // F_EDIT_EXPIRED); future periods, option dates and input periods are checked
        // even with force (spec §6.1 items 8, 9, 16), unlike the bulk import where force
        // bypasses them all. Approval is not modelled yet, so nothing is left to bypass.
        let options = ImportOptions::default();
        let mut validator = Validator::new(snap, user, &options, &header, now)
            .map_err(CoreError::Internal)?
            .with_lock_exceptions(self.lock_exception_set());
        if let HeaderOutcome::Abort(c) = validator.header_checks() {
            return Ok(Validation::Failed(c));
        }
        let raw = |value: Option<&str>, comment: Option<&str>| RawDataValue {
            data_element: Some(uids.de.clone()),
            period: Some(r.period.to_string()),
            org_unit: Some(uids.ou.clone()),
            category_option_combo: Some(uids.coc.clone()),
            attribute_option_combo: Some(uids.aoc.clone()),
            value: value.map(str::to_owned),
            comment: comment.map(str::to_owned),
            // Neither value nor comment is legal here (follow-up only, TRUE_ONLY unset,
            // DELETE); `deleted` keeps the bulk "not specified" check (E7618) out of the
            // way and has no other effect on validation.
            deleted: (value.is_none() && comment.is_none()).then_some(true),
            ..RawDataValue::default()
        };
        let mut periods = Vec::new();
        let mut conflicts = Conflicts::default();
        if validator
            .value(&raw(None, None), 0, &mut conflicts, &mut periods)
            .is_none()
            && let Some(c) = conflicts.into_vec().into_iter().next()
            && matches!(c.error_code, Some(ErrorCode::E7638 | ErrorCode::E7641))
        {
            return Ok(Validation::Failed(c));
        }
        let mut conflicts = Conflicts::default();
        match validator.value(&raw(value, comment), 0, &mut conflicts, &mut periods) {
            Some(w) => Ok(Validation::Valid {
                value: w.value,
                comment: w.comment,
            }),
            None => Ok(conflicts.into_vec().into_iter().next().map_or_else(
                || Validation::Failed(Conflict::legacy("dataValue", "Data value is invalid")),
                Validation::Failed,
            )),
        }
    }

    /// The single-value API's error for a bulk conflict (spec §6.1 codes); conflicts
    /// without a single-value equivalent keep their bulk code.
    fn single_error(&self, snap: &Snapshot, r: &Resolved, c: &Conflict) -> CoreError {
        let object = |name: &str| {
            c.objects
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let uids = Uids::of(snap, r);
        let iso = r.period.to_string();
        let de_uid = uids.de.clone();
        let today = self.today();
        let mapped = match c.error_code {
            Some(ErrorCode::E7611) => Some(conflict(ErrorCode::E1101, &[&iso])),
            Some(ErrorCode::E7612) => Some(conflict(ErrorCode::E1102, &[&uids.ou])),
            Some(ErrorCode::E7613) => Some(conflict(ErrorCode::E1103, &[&uids.coc])),
            Some(ErrorCode::E7615) => Some(conflict(ErrorCode::E1104, &[&uids.aoc])),
            Some(ErrorCode::E7617) => Some(conflict(ErrorCode::E2020, &[&uids.ou])),
            Some(ErrorCode::E7619) => snap
                .data_element(r.de)
                .map(|d| conflict(ErrorCode::E2030, &[&d.value_type])),
            Some(ErrorCode::E7620) => {
                object("comment").map(|reason| conflict(ErrorCode::E2028, &[reason]))
            }
            Some(ErrorCode::E7621) => Some(conflict(ErrorCode::E2029, &[&de_uid])),
            Some(ErrorCode::E7638) => self.option_date_error(snap, r),
            Some(ErrorCode::E7640 | ErrorCode::E7642) => Some(conflict(ErrorCode::E2017, &[])),
            Some(ErrorCode::E7641) => object("dataSet")
                .and_then(|ds| snap.data_set_id(LookupScheme::Uid, ds))
                .and_then(|ds| snap.data_set(ds))
                .and_then(|d| {
                    let ty = d.period_type_enum?;
                    Period::containing(ty, today)
                        .and_then(Period::previous)
                        .and_then(|p| p.plus(d.open_future_periods))
                })
                .map(|latest| conflict(ErrorCode::E2022, &[&iso, &latest.to_string(), &de_uid])),
            Some(ErrorCode::E7643) => {
                object("dataSet").map(|ds| conflict(ErrorCode::E2025, &[&iso, ds]))
            }
            Some(ErrorCode::E7644) => {
                let ds = uids
                    .ds
                    .or_else(|| {
                        snap.data_element(r.de)
                            .and_then(|d| d.data_sets.first())
                            .and_then(|d| snap.data_set(*d))
                            .map(|d| d.common.uid.to_string())
                    })
                    .unwrap_or_else(|| "null".to_owned());
                Some(conflict(ErrorCode::E2025, &[&iso, &ds]))
            }
            _ => None,
        };
        mapped.unwrap_or_else(|| CoreError::Conflict {
            code: c.error_code,
            message: c.value.clone(),
        })
    }

    /// E2023/E2024: the attribute option whose dates exclude the period (end dates
    /// extended by the data sets' `openPeriodsAfterCoEndDate`, spec §6.1 item 9).
    fn option_date_error(&self, snap: &Snapshot, r: &Resolved) -> Option<CoreError> {
        let iso = r.period.to_string();
        let extra = match r.ds {
            Some(ds) => snap
                .data_set(ds)
                .map_or(0, |d| d.open_periods_after_co_end_date),
            None => snap
                .data_element(r.de)
                .map(|d| {
                    d.data_sets
                        .iter()
                        .filter_map(|ds| snap.data_set(*ds))
                        .map(|d| d.open_periods_after_co_end_date)
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0),
        };
        let aoc = snap.category_option_combo(r.aoc)?;
        for o in aoc.options.iter().filter_map(|o| snap.category_option(*o)) {
            let option_uid = o.common.uid.as_str();
            if let Some(start) = o.start_date
                && start > r.period.end()
            {
                return Some(conflict(
                    ErrorCode::E2023,
                    &[&iso, &start.to_string(), option_uid],
                ));
            }
            if let Some(end) = o.end_date {
                let end: Date = if extra > 0 {
                    Period::containing(r.period.period_type(), end)
                        .and_then(|p| p.plus(extra))
                        .map_or(end, Period::end)
                } else {
                    end
                };
                if end < r.period.start() {
                    return Some(conflict(
                        ErrorCode::E2024,
                        &[&iso, &end.to_string(), option_uid],
                    ));
                }
            }
        }
        None
    }

    fn today(&self) -> Date {
        self.clock
            .now()
            .to_zoned(jiff::tz::TimeZone::system())
            .date()
    }

    fn rule(snap: &Snapshot, de: DataElementId) -> Result<ElementRule> {
        let info = snap
            .data_element(de)
            .ok_or_else(|| CoreError::Internal("resolved data element vanished".into()))?;
        Ok(ElementRule {
            value_type: info.value_type_enum,
            zero_is_significant: info.zero_is_significant,
            average: info.average_aggregation,
        })
    }

    /// Applies one change and turns the store's answer into a [`Written`].
    fn write_one(
        &self,
        snap: &Snapshot,
        r: &Resolved,
        change: Change<'_>,
        base_version: Option<i64>,
        user: &User,
        now: Timestamp,
    ) -> Result<(ChangeOutcome, ChangeResult)> {
        let results = self.commits.apply(
            &[period_row(r.period)],
            &[ValueChange {
                key: r.key(),
                change,
                rule: Self::rule(snap, r.de)?,
                base_version,
                user: &user.username,
            }],
            now.as_millisecond(),
        )?;
        let result = results
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::Internal("the store returned no result".into()))?;
        Ok((result.outcome, result))
    }

    fn written(snap: &Snapshot, r: &Resolved, result: ChangeResult, base: Option<i64>) -> Written {
        if result.outcome == ChangeOutcome::Stale {
            return Written::Stale(Box::new(current_value(
                snap,
                r,
                result.row.as_ref(),
                base.unwrap_or(0),
            )));
        }
        Written::Done {
            outcome: result.outcome,
            version: result.row.map_or(0, |row| row.version),
        }
    }

    /// `GET /api/dataValues`: the live value (E1100, E1103, the AOC errors, E1101,
    /// E1102, E2020; 409 "Data value does not exist").
    ///
    /// # Errors
    /// The validation conflicts above; storage failures.
    pub fn data_value(&self, target: &ValueRef, user: &User) -> Result<ReadValue> {
        let snap = self.snapshot();
        let checks = Checks {
            org_unit_open: false,
            data_set: false,
        };
        let r = self.resolve(&snap, target, user, checks)?;
        match self.store.get_value(&r.key())? {
            Some(row) if !row.deleted => Ok(ReadValue {
                value: row.value,
                version: row.version,
            }),
            _ => Err(CoreError::Conflict {
                code: None,
                message: "Data value does not exist".into(),
            }),
        }
    }

    /// `POST /api/dataValues` (query, form, multipart or JSON).
    ///
    /// # Errors
    /// The validation conflicts of spec §6.1; storage failures. A stale base version is
    /// not an error but [`Written::Stale`].
    pub fn save_data_value(&self, req: &SaveRequest, user: &User) -> Result<Written> {
        let snap = self.snapshot();
        let now = self.clock.now();
        let checks = Checks {
            org_unit_open: true,
            data_set: true,
        };
        let r = self.resolve(&snap, &req.target, user, checks)?;
        let (value, comment) = match self.validate_one(
            &snap,
            user,
            &r,
            req.value.as_deref(),
            req.comment.as_deref(),
            now,
        )? {
            Validation::Valid { value, comment } => (value, comment),
            Validation::Failed(c) => return Err(self.single_error(&snap, &r, &c)),
        };
        let change = Change::Save {
            value: req.value.as_ref().map(|_| value.as_deref()),
            comment: req.comment.as_ref().map(|_| comment.as_deref()),
            follow_up: req.follow_up,
        };
        let value_type = Self::rule(&snap, r.de)?.value_type;
        if !value_type.is_file() {
            let (_, result) = self.write_one(&snap, &r, change, req.base_version, user, now)?;
            return Ok(Self::written(&snap, &r, result, req.base_version));
        }
        // A file value: the resource it names must be free, and is claimed before the
        // write (released if the write does not happen); the file of a value that is
        // replaced or cleared is deleted afterwards (retention NONE).
        let previous = self.live_file(&r)?;
        let mut claimed = None;
        if req.value.is_some()
            && let Some(uid) = value.as_deref()
            && previous.as_deref() != Some(uid)
        {
            self.check_value_file(uid, value_type == ValueType::Image)?;
            self.claim_file(uid)?;
            claimed = Some(uid);
        }
        let result = self.write_one(&snap, &r, change, req.base_version, user, now);
        let stored = matches!(
            &result,
            Ok((
                ChangeOutcome::Created | ChangeOutcome::Updated | ChangeOutcome::Deleted,
                _
            ))
        );
        if let Some(uid) = claimed
            && !stored
        {
            self.release_file(uid)?;
        }
        let (outcome, result) = result?;
        if stored
            && let Some(old) = previous
            && (outcome == ChangeOutcome::Deleted
                || result.row.as_ref().and_then(|r| r.value.as_deref()) != Some(old.as_str()))
        {
            self.remove_file_resource(&old)?;
        }
        Ok(Self::written(&snap, &r, result, req.base_version))
    }

    /// The file resource UID a live file value holds.
    fn live_file(&self, r: &Resolved) -> Result<Option<String>> {
        Ok(self
            .store
            .get_value(&r.key())?
            .filter(|v| !v.deleted)
            .and_then(|v| v.value))
    }

    /// `POST /api/dataValues/file`: stores the upload as a `DATA_VALUE` file resource and
    /// saves its UID as the value (as `POST /api/dataValues` does); without an upload the
    /// value is cleared. On any failure the new resource is deleted again, so nothing is
    /// left behind. Returns the resource (now assigned) when there was an upload.
    ///
    /// # Errors
    /// The upload's 409 (size), then those of [`App::save_data_value`].
    pub fn save_file_value(
        &self,
        req: &SaveRequest,
        upload: Option<&crate::files::Upload>,
        user: &User,
    ) -> Result<(Written, Option<crate::files::FileResourceView>)> {
        let Some(upload) = upload else {
            let clear = SaveRequest {
                value: Some(String::new()),
                ..req.clone()
            };
            return Ok((self.save_data_value(&clear, user)?, None));
        };
        let resource = self.save_file_resource(user, upload, None, None)?;
        let with_value = SaveRequest {
            value: Some(resource.id.clone()),
            ..req.clone()
        };
        let written = self.save_data_value(&with_value, user);
        let keep = matches!(
            &written,
            Ok(Written::Done {
                outcome: ChangeOutcome::Created | ChangeOutcome::Updated | ChangeOutcome::Unchanged,
                ..
            })
        );
        if !keep {
            self.remove_file_resource(&resource.id)?;
        }
        let written = written?;
        let resource = if keep {
            Some(self.file_resource(&resource.id)?)
        } else {
            None
        };
        Ok((written, resource))
    }

    /// `GET /api/dataValues/files`: the content of a live file value (409 "DataElement
    /// must be of type file", E2019, 409 "Data value does not exist", 404 for a missing
    /// resource).
    ///
    /// # Errors
    /// As above, and the identifier errors of `GET /api/dataValues`.
    pub fn data_value_file(
        &self,
        target: &ValueRef,
        user: &User,
    ) -> Result<crate::files::FileContent> {
        let snap = self.snapshot();
        let checks = Checks {
            org_unit_open: false,
            data_set: false,
        };
        let r = self.resolve(&snap, target, user, checks)?;
        if !Self::rule(&snap, r.de)?.value_type.is_file() {
            return Err(CoreError::Conflict {
                code: None,
                message: "DataElement must be of type file".into(),
            });
        }
        let open = Checks {
            org_unit_open: true,
            data_set: false,
        };
        self.resolve(&snap, target, user, open)?;
        let Some(uid) = self.live_file(&r)? else {
            return Err(CoreError::Conflict {
                code: None,
                message: "Data value does not exist".into(),
            });
        };
        self.value_file_content(&uid)
    }

    /// `DELETE /api/dataValues`: soft-deletes the live value (409 "Data value cannot be
    /// deleted because it does not exist" when there is none). DHIS2's `force` only
    /// bypasses approval, which is not modelled, so there is no parameter for it.
    ///
    /// # Errors
    /// The validation conflicts of spec §6.4; storage failures.
    pub fn delete_data_value(
        &self,
        target: &ValueRef,
        base_version: Option<i64>,
        user: &User,
    ) -> Result<Written> {
        let snap = self.snapshot();
        let now = self.clock.now();
        let checks = Checks {
            org_unit_open: false,
            data_set: true,
        };
        let r = self.resolve(&snap, target, user, checks)?;
        if let Validation::Failed(c) = self.validate_one(&snap, user, &r, None, None, now)? {
            return Err(self.single_error(&snap, &r, &c));
        }
        let file = if Self::rule(&snap, r.de)?.value_type.is_file() {
            self.live_file(&r)?
        } else {
            None
        };
        let (outcome, result) =
            self.write_one(&snap, &r, Change::Delete, base_version, user, now)?;
        if outcome == ChangeOutcome::Missing {
            return Err(CoreError::Conflict {
                code: None,
                message: "Data value cannot be deleted because it does not exist".into(),
            });
        }
        if outcome == ChangeOutcome::Deleted
            && let Some(uid) = file
        {
            // Retention NONE: the file goes with the value.
            self.remove_file_resource(&uid)?;
        }
        Ok(Self::written(&snap, &r, result, base_version))
    }

    /// `PUT /api/dataValues/followup(s)`: sets the flags, all or nothing (E2033 when a
    /// flag or the list is missing, E2032 when a value does not exist).
    ///
    /// # Errors
    /// The conflicts above and the identifier errors; storage failures.
    pub fn set_follow_ups(&self, items: &[FollowUpRequest], user: &User) -> Result<()> {
        if items.is_empty() || items.iter().any(|i| i.followup.is_none()) {
            return Err(conflict(ErrorCode::E2033, &[]));
        }
        let snap = self.snapshot();
        let now = self.clock.now();
        let checks = Checks {
            org_unit_open: false,
            data_set: false,
        };
        let mut resolved = Vec::with_capacity(items.len());
        for item in items {
            let r = self.resolve(&snap, &item.target, user, checks)?;
            resolved.push((r, item.followup.unwrap_or(false)));
        }
        let mut periods: Vec<_> = resolved.iter().map(|(r, _)| period_row(r.period)).collect();
        periods.sort_by_key(|p| p.key);
        periods.dedup_by_key(|p| p.key);
        let changes = resolved
            .iter()
            .map(|(r, flag)| {
                Ok(ValueChange {
                    key: r.key(),
                    change: Change::FollowUp(*flag),
                    rule: Self::rule(&snap, r.de)?,
                    base_version: None,
                    user: &user.username,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let results = self
            .commits
            .apply(&periods, &changes, now.as_millisecond())?;
        if results.iter().any(|r| r.outcome.is_failure()) {
            return Err(conflict(ErrorCode::E2032, &[]));
        }
        Ok(())
    }
}

/// The value checks' verdict.
enum Validation {
    Valid {
        value: Option<String>,
        comment: Option<String>,
    },
    Failed(Conflict),
}

fn current_value(
    snap: &Snapshot,
    r: &Resolved,
    row: Option<&StoredValue>,
    base: i64,
) -> CurrentValue {
    let uids = Uids::of(snap, r);
    CurrentValue {
        response_type: "DataValue",
        data_element: uids.de,
        period: r.period.to_string(),
        org_unit: uids.ou,
        category_option_combo: uids.coc,
        attribute_option_combo: uids.aoc,
        value: row.and_then(|v| v.value.clone()),
        comment: row.and_then(|v| v.comment.clone()),
        follow_up: row.is_some_and(|v| v.followup),
        stored_by: row.and_then(|v| v.stored_by.clone()),
        last_updated_by: row.and_then(|v| v.stored_by.clone()),
        created: row.and_then(|v| local_timestamp(v.created_ms)),
        last_updated: row.and_then(|v| local_timestamp(v.last_updated_ms)),
        deleted: row.is_some_and(|v| v.deleted),
        version: row.map_or(0, |v| v.version),
        base_version: base,
    }
}

/// `GET /api/audits/dataValue` parameters (UIDs and ISO periods; empty lists: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditParams {
    /// `ds`: the data elements of these data sets are added to `de`.
    pub data_sets: Vec<String>,
    pub data_elements: Vec<String>,
    pub periods: Vec<String>,
    pub org_units: Vec<String>,
    /// `co`.
    pub category_option_combo: Option<String>,
    /// `cc`: an attribute option combo UID (DHIS2 names it so here).
    pub attribute_option_combo: Option<String>,
    pub audit_types: Vec<AuditType>,
    /// `(page, pageSize)`, 1-based; `None`: everything, without a pager.
    pub paging: Option<(u64, u64)>,
}

/// DHIS2's pager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pager {
    pub page: u64,
    pub page_count: u64,
    pub total: u64,
    pub page_size: u64,
}

/// A reference by UID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdRef {
    pub id: String,
}

/// One audit row as the audit API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub data_element: IdRef,
    pub period: IdRef,
    pub organisation_unit: IdRef,
    pub category_option_combo: IdRef,
    pub attribute_option_combo: IdRef,
    /// The previous value for UPDATE and DELETE, the new one for CREATE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub modified_by: String,
    pub created: String,
    pub audit_type: &'static str,
}

/// The answer of the audit API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pager: Option<Pager>,
    pub data_value_audits: Vec<AuditEntry>,
}

/// Every org unit in the subtrees of `roots` (internal ids, sorted, no duplicates).
fn view_scope(snap: &Snapshot, roots: &[OrgUnitId]) -> Vec<u32> {
    let mut ids: Vec<u32> = roots
        .iter()
        .flat_map(|r| snap.org_unit_subtree(*r))
        .map(|id| id.0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Resolves the given identifiers; `None` when some were given and none is known (the
/// query then matches nothing, where DHIS2 would drop the filter).
fn resolve_all(given: &[String], lookup: impl Fn(&str) -> Option<u32>) -> Option<Vec<u32>> {
    let ids: Vec<u32> = given.iter().filter_map(|g| lookup(g.trim())).collect();
    (given.is_empty() || !ids.is_empty()).then_some(ids)
}

impl App {
    /// `GET /api/audits/dataValue`: audit rows newest first, paged like DHIS2, of org
    /// units in `user`'s data view hierarchy only (superusers too, as the export): rows
    /// elsewhere are never counted or shown, and an `ou` outside it matches nothing.
    ///
    /// # Errors
    /// 409 "Illegal period identifier" for a period that does not parse; storage
    /// failures.
    pub fn data_value_audits(&self, p: &AuditParams, user: &User) -> Result<AuditPage> {
        use tally_domain::metadata::ObjectKind as K;
        let snap = self.snapshot();
        let uid = LookupScheme::Uid;
        let mut periods = Vec::with_capacity(p.periods.len());
        for pe in &p.periods {
            let period = Period::parse(pe.trim()).ok_or_else(|| CoreError::Conflict {
                code: None,
                message: format!("Illegal period identifier: {pe}"),
            })?;
            periods.push(period_key(period));
        }
        let (page, page_size) = p
            .paging
            .map_or((1, 0), |(page, size)| (page.max(1), size.max(1)));
        let empty = |pager: Option<Pager>| AuditPage {
            pager,
            data_value_audits: Vec::new(),
        };
        let pager = |total: u64| {
            p.paging.map(|_| Pager {
                page,
                page_count: total.div_ceil(page_size),
                total,
                page_size,
            })
        };
        // `de` plus the elements of the `ds` data sets.
        let mut de: Vec<u32> = p
            .data_elements
            .iter()
            .filter_map(|d| snap.data_element_id(uid, d.trim()).map(|i| i.0))
            .collect();
        for ds in p
            .data_sets
            .iter()
            .filter_map(|d| snap.data_set_id(uid, d.trim()))
        {
            if let Some(info) = snap.data_set(ds) {
                de.extend(info.elements.iter().map(|e| e.data_element.0));
            }
        }
        let given = !(p.data_elements.is_empty() && p.data_sets.is_empty());
        let elements = (!given || !de.is_empty()).then_some(de);
        let view_roots = user.view_roots(&snap);
        let in_view = |o: &str| {
            snap.org_unit_id(uid, o)
                .filter(|id| snap.is_in_any_subtree(*id, &view_roots))
                .map(|i| i.0)
        };
        let mut sees_everything = false;
        let org_units = resolve_all(&p.org_units, in_view).map(|given| {
            if given.is_empty() {
                // No `ou`: every unit the user may view; no filter at all when that is
                // every unit (a national superuser), which keeps the query simple.
                let scope = view_scope(&snap, &view_roots);
                sees_everything = scope.len() == snap.org_units().count();
                if sees_everything { Vec::new() } else { scope }
            } else {
                given
            }
        });
        // A user who views nothing sees no audit (an empty list would mean "any").
        if !sees_everything && org_units.as_ref().is_some_and(Vec::is_empty) {
            return Ok(empty(pager(0)));
        }
        let coc = |text: &Option<String>| match text.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(c) => snap.category_option_combo_id(uid, c).map(|i| Some(i.0)),
        };
        let (
            Some(data_elements),
            Some(org_units),
            Some(category_option_combo),
            Some(attribute_option_combo),
        ) = (
            elements,
            org_units,
            coc(&p.category_option_combo),
            coc(&p.attribute_option_combo),
        )
        else {
            return Ok(empty(pager(0)));
        };
        let query = tally_store::AuditQuery {
            data_elements,
            periods,
            org_units,
            category_option_combo,
            attribute_option_combo,
            audit_types: p.audit_types.clone(),
            offset: p.paging.map_or(0, |_| (page - 1).saturating_mul(page_size)),
            limit: p.paging.map(|_| page_size),
        };
        let (rows, total) = self.store.query_audits(&query)?;
        let id = |kind, raw: u32| IdRef {
            id: snap
                .identifier(kind, raw, uid)
                .unwrap_or_default()
                .to_owned(),
        };
        let audits = rows
            .into_iter()
            .map(|a| AuditEntry {
                data_element: id(K::DataElement, a.key.data_element),
                period: IdRef {
                    id: crate::export::period_from_key(a.key.period),
                },
                organisation_unit: id(K::OrganisationUnit, a.key.org_unit),
                category_option_combo: id(K::CategoryOptionCombo, a.key.category_option_combo),
                attribute_option_combo: id(K::CategoryOptionCombo, a.key.attribute_option_combo),
                value: a.value,
                modified_by: a.modified_by,
                created: local_timestamp(a.created_ms).unwrap_or_default(),
                audit_type: a.audit_type.name(),
            })
            .collect();
        Ok(AuditPage {
            pager: pager(total),
            data_value_audits: audits,
        })
    }
}

//! The data entry API of the DHIS2 aggregate data entry app (`/api/dataEntry/*`,
//! spec `offline-data-entry-anchors.md` §1.9, `dhis2-data-values.md` §6.7 and §7):
//! the metadata bundle, one form's values with min-max ranges, lock and completion
//! status, a value's audit trail and history, lock exceptions, min-max ranges, custom
//! forms and the data value set template of a data set.
//!
//! Lock exceptions are held in memory as a set (loaded at start, reloaded after each
//! change) because every locking check of the import and the single-value API reads it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tally_domain::import::{AuditType, ErrorCode};
use tally_domain::metadata::{
    CategoryCombo, CategoryComboId, CategoryOptionComboId, DataElement, DataElementId, DataSet,
    DataSetId, LookupScheme, MetadataSet, ObjectKind, OrgUnitId, Ref, Snapshot,
};
use tally_domain::period::Period;
use tally_domain::uid::Uid;
use tally_store::{
    DataEntryStore, ExportOrder, ExportQuery, LockException, MinMaxValue, PeriodFilter,
    StoredValue, ValueKey,
};

use crate::App;
use crate::app::lock_err;
use crate::data_value::{attribute_option_combo, by_uid, given, local_timestamp};
use crate::error::{CoreError, Result};
use crate::import::period_key;
use crate::users::User;

/// `(data set, period key, org unit)` of every lock exception.
pub type LockExceptionSet = Arc<HashSet<(u32, i64, u32)>>;

/// Custom data entry forms by UID.
pub type Forms = Arc<HashMap<Uid, DataEntryForm>>;

/// A custom data entry form (DHIS2 `DataEntryForm`), as a metadata document carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataEntryForm {
    pub id: Uid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Display density: `COMFORTABLE`, `NORMAL`, `COMPACT` or `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// The form's HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<i32>,
}

/// The catalog views of the forms (`/api/dataEntryForms`, `dataEntryForm[htmlCode]`).
pub(crate) fn form_views(forms: &HashMap<Uid, DataEntryForm>) -> Vec<Map<String, Value>> {
    forms
        .values()
        .filter_map(|f| match serde_json::to_value(f) {
            Ok(Value::Object(mut m)) => {
                if let Some(name) = &f.name {
                    m.insert("displayName".into(), Value::from(name.as_str()));
                }
                Some(m)
            }
            _ => None,
        })
        .collect()
}

/// The `dataEntryForms` of a metadata document (400 for a malformed one, before any
/// change).
///
/// # Errors
/// A form that does not parse.
pub(crate) fn parse_forms(raw: &Value) -> Result<Vec<DataEntryForm>> {
    let Some(items) = raw.get("dataEntryForms") else {
        return Ok(Vec::new());
    };
    let items = items
        .as_array()
        .ok_or_else(|| CoreError::BadRequest("dataEntryForms must be an array".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, f)| {
            serde_json::from_value::<DataEntryForm>(f.clone())
                .map_err(|e| CoreError::BadRequest(format!("dataEntryForms[{i}]: {e}")))
        })
        .collect()
}

/// The store's lock exceptions as a set.
pub(crate) fn lock_exception_set(store: &dyn DataEntryStore) -> Result<LockExceptionSet> {
    Ok(Arc::new(
        store
            .lock_exceptions()?
            .into_iter()
            .map(|e| (e.data_set, e.period, e.org_unit))
            .collect(),
    ))
}

fn conflict(code: ErrorCode, args: &[&str]) -> CoreError {
    CoreError::conflict(code, args)
}

fn plain_conflict(message: impl Into<String>) -> CoreError {
    CoreError::Conflict {
        code: None,
        message: message.into(),
    }
}

/// `{"combo","options"}` of an attribute option combo, as the data entry shapes write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeRef {
    pub combo: String,
    pub options: Vec<String>,
}

/// One value of a form (DHIS2 `DataValueDto`), plus tally's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryValue {
    pub data_element: String,
    pub period: String,
    pub org_unit: String,
    pub category_option_combo: String,
    pub attribute: AttributeRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub follow_up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// The version the single-value API's `ETag`/`If-Match` use (tally extension).
    pub version: i64,
}

/// A min-max range as the data entry API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MinMaxView {
    pub data_element: String,
    pub org_unit: String,
    pub category_option_combo: String,
    pub min_value: i64,
    pub max_value: i64,
    pub generated: bool,
}

/// `completeStatus` of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteStatus {
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
}

/// `GET /api/dataEntry/dataValues`: one form's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FormValues {
    pub data_values: Vec<EntryValue>,
    pub min_max_values: Vec<MinMaxView>,
    /// `OPEN`, `LOCKED` or `APPROVED`.
    pub lock_status: &'static str,
    pub complete_status: CompleteStatus,
}

/// One audit of `dataValueContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAudit {
    pub data_element: String,
    pub period: String,
    pub org_unit: String,
    pub category_option_combo: String,
    pub attribute_option_combo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub modified_by: String,
    pub created: String,
    pub audit_type: &'static str,
}

/// `GET /api/dataEntry/dataValueContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueContext {
    pub audits: Vec<ContextAudit>,
    pub history: Vec<EntryValue>,
}

/// A lock exception as `GET /api/dataEntry/lockExceptions` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockExceptionView {
    pub period: String,
    pub org_unit: String,
    pub data_set: String,
}

/// `POST /api/dataEntry/minMaxValues` (and the key of its `DELETE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinMaxInput {
    #[serde(default)]
    pub data_element: Option<String>,
    #[serde(default)]
    pub org_unit: Option<String>,
    #[serde(default, alias = "optionCombo")]
    pub category_option_combo: Option<String>,
    #[serde(default)]
    pub min_value: Option<i64>,
    #[serde(default)]
    pub max_value: Option<i64>,
    #[serde(default)]
    pub generated: Option<bool>,
}

/// `GET /api/dataEntry/customForms/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomForm {
    pub id: String,
    pub data_set_id: String,
    pub version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_density: Option<String>,
    pub form: String,
}

/// The parameters of `GET /api/dataSets/{id}/dataValueSet`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateParams {
    pub period: Option<String>,
    /// UIDs, codes or names; unknown ones are skipped.
    pub org_units: Vec<String>,
    /// Write the XML comments (default true).
    pub comment: bool,
    /// `CODE` (any case) writes org unit codes.
    pub org_unit_code: bool,
    /// `CODE` (any case) writes data element codes.
    pub data_element_code: bool,
}

/// One line of a template: a comment or an empty value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateLine {
    Comment(String),
    Value {
        data_element: String,
        category_option_combo: String,
        period: String,
        org_unit: Option<String>,
    },
}

/// The identifiers of one form, resolved.
struct FormKey {
    ds: DataSetId,
    period: Period,
    ou: OrgUnitId,
    aoc: CategoryOptionComboId,
}

fn uid_of(snap: &Snapshot, kind: ObjectKind, id: u32) -> String {
    snap.identifier(kind, id, LookupScheme::Uid)
        .unwrap_or_default()
        .to_owned()
}

impl App {
    /// The current lock exceptions (shared, cheap to clone).
    #[must_use]
    pub fn lock_exception_set(&self) -> LockExceptionSet {
        self.lock_exceptions
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }

    /// Reloads the lock exceptions from the store (another process sharing the database
    /// may have changed them).
    ///
    /// # Errors
    /// Storage failures (the set in memory is kept then).
    pub fn reload_lock_exceptions(&self) -> Result<()> {
        let set = lock_exception_set(self.store.as_ref())?;
        *self.lock_exceptions.write().map_err(crate::app::lock_err)? = set;
        Ok(())
    }

    /// The attribute option combo of `cc`/`cp` (`;`-separated), the default without.
    fn form_aoc(
        &self,
        snap: &Snapshot,
        cc: Option<&str>,
        cp: Option<&str>,
    ) -> Result<CategoryOptionComboId> {
        let options: Vec<&str> = cp.map(|p| p.split(';').collect()).unwrap_or_default();
        Ok(attribute_option_combo(snap, cc, &options)?
            .unwrap_or(snap.defaults().category_option_combo))
    }

    /// Resolves `ds`, `pe`, `ou` (E1105, E1101, E1102) and checks the org unit is in the
    /// user's view hierarchy (E2020).
    fn form_key(
        &self,
        snap: &Snapshot,
        user: &User,
        ds: Option<&str>,
        pe: Option<&str>,
        ou: Option<&str>,
        aoc: CategoryOptionComboId,
    ) -> Result<FormKey> {
        let ds = by_uid::data_set(snap, ds)?;
        let period = by_uid::period(pe)?;
        let ou_text = given(ou).unwrap_or("null");
        let ou = by_uid::org_unit(snap, ou)?;
        if !snap.is_in_any_subtree(ou, &user.view_roots(snap)) {
            return Err(conflict(ErrorCode::E2020, &[ou_text]));
        }
        Ok(FormKey {
            ds,
            period,
            ou,
            aoc,
        })
    }

    fn entry_value(&self, snap: &Snapshot, v: &StoredValue) -> EntryValue {
        let k = v.key;
        let aoc = snap.category_option_combo(CategoryOptionComboId(k.attribute_option_combo));
        let attribute = AttributeRef {
            combo: aoc
                .map(|a| uid_of(snap, ObjectKind::CategoryCombo, a.category_combo.0))
                .unwrap_or_default(),
            options: aoc
                .map(|a| {
                    a.options
                        .iter()
                        .map(|o| uid_of(snap, ObjectKind::CategoryOption, o.0))
                        .collect()
                })
                .unwrap_or_default(),
        };
        EntryValue {
            data_element: uid_of(snap, ObjectKind::DataElement, k.data_element),
            period: period_iso(k.period),
            org_unit: uid_of(snap, ObjectKind::OrganisationUnit, k.org_unit),
            category_option_combo: uid_of(
                snap,
                ObjectKind::CategoryOptionCombo,
                k.category_option_combo,
            ),
            attribute,
            value: v.value.clone(),
            comment: v.comment.clone(),
            follow_up: v.followup,
            stored_by: v.stored_by.clone(),
            created: local_timestamp(v.created_ms),
            last_updated: local_timestamp(v.last_updated_ms),
            version: v.version,
        }
    }

    /// Whether expiry locks the data set for this org unit and period (DHIS2
    /// `DataSet.isLocked` and the lock exceptions).
    fn is_locked(&self, snap: &Snapshot, user: &User, key: &FormKey) -> bool {
        let Some(set) = snap.data_set(key.ds) else {
            return false;
        };
        if set.expiry_days <= 0 || user.has("F_EDIT_EXPIRED") {
            return false;
        }
        if self
            .lock_exception_set()
            .contains(&(key.ds.0, period_key(key.period), key.ou.0))
        {
            return false;
        }
        let today = self
            .clock
            .now()
            .to_zoned(jiff::tz::TimeZone::system())
            .date();
        key.period
            .end()
            .checked_add(jiff::Span::new().days(i64::from(set.expiry_days)))
            .is_ok_and(|limit| today > limit)
    }

    /// `GET /api/dataEntry/dataValues?ds&pe&ou[&cc&cp]`.
    ///
    /// # Errors
    /// E1105, E1101, E1102, E2020 and the `cc`/`cp` codes; storage failures.
    pub fn form_values(
        &self,
        user: &User,
        ds: Option<&str>,
        pe: Option<&str>,
        ou: Option<&str>,
        cc: Option<&str>,
        cp: Option<&str>,
    ) -> Result<FormValues> {
        let snap = self.snapshot();
        let aoc = self.form_aoc(&snap, cc, cp)?;
        let key = self.form_key(&snap, user, ds, pe, ou, aoc)?;
        let set = snap
            .data_set(key.ds)
            .ok_or_else(|| CoreError::Internal("data set vanished".into()))?;
        let elements: Vec<u32> = set.elements.iter().map(|e| e.data_element.0).collect();
        let mut data_values = Vec::new();
        if !elements.is_empty() {
            let query = ExportQuery {
                data_elements: elements.clone(),
                periods: PeriodFilter::Keys(vec![period_key(key.period)]),
                org_units: vec![key.ou.0],
                attribute_option_combos: Some(vec![key.aoc.0]),
                include_deleted: false,
                last_updated_since_ms: None,
                limit: None,
                order: ExportOrder::Storage,
            };
            let mut rows: Vec<StoredValue> = Vec::new();
            self.store.export(&query, &mut |r| {
                rows.push(r.into());
                ControlFlow::Continue(())
            })?;
            rows.sort_by_key(|r| r.key);
            data_values = rows.iter().map(|r| self.entry_value(&snap, r)).collect();
        }
        let min_max_values = if elements.is_empty() {
            Vec::new()
        } else {
            self.store
                .min_max_values(key.ou.0, &elements)?
                .iter()
                .map(|m| min_max_view(&snap, m))
                .collect()
        };
        let lock_status = if self.is_locked(&snap, user, &key) {
            "LOCKED"
        } else {
            "OPEN"
        };
        let registration =
            self.store
                .registration(key.ds.0, period_key(key.period), key.ou.0, key.aoc.0)?;
        let complete_status = match registration {
            Some(r) => CompleteStatus {
                complete: r.completed,
                created: local_timestamp(r.created_ms),
                created_by: Some(r.stored_by),
                last_updated: local_timestamp(r.last_updated_ms),
                last_updated_by: Some(r.last_updated_by),
            },
            None => CompleteStatus {
                complete: false,
                created: None,
                created_by: None,
                last_updated: None,
                last_updated_by: None,
            },
        };
        Ok(FormValues {
            data_values,
            min_max_values,
            lock_status,
            complete_status,
        })
    }

    /// `GET /api/dataEntry/dataValueContext?de&pe&ou&co[&cc&cp]`: the value's audits
    /// (newest first, with DHIS2's synthetic CREATE/UPDATE entries, spec §11.3) and its
    /// values over the period and the 12 before it.
    ///
    /// # Errors
    /// E1100, E1103, E1101, E1102, E2020 and the `cc`/`cp` codes; storage failures.
    #[allow(clippy::too_many_arguments)]
    pub fn value_context(
        &self,
        user: &User,
        de: Option<&str>,
        pe: Option<&str>,
        ou: Option<&str>,
        co: Option<&str>,
        cc: Option<&str>,
        cp: Option<&str>,
    ) -> Result<ValueContext> {
        let snap = self.snapshot();
        let de = by_uid::data_element(&snap, de)?;
        let coc = by_uid::option_combo(&snap, co, Some(snap.defaults().category_option_combo))?;
        let aoc = self.form_aoc(&snap, cc, cp)?;
        let period = by_uid::period(pe)?;
        let ou_text = given(ou).unwrap_or("null");
        let ou = by_uid::org_unit(&snap, ou)?;
        if !snap.is_in_any_subtree(ou, &user.view_roots(&snap)) {
            return Err(conflict(ErrorCode::E2020, &[ou_text]));
        }
        let key = ValueKey {
            period: period_key(period),
            org_unit: ou.0,
            data_element: de.0,
            category_option_combo: coc.0,
            attribute_option_combo: aoc.0,
        };
        let row = self.store.get_value(&key)?;
        let audits = self.store.audits(&key)?;
        let audit =
            |value: Option<String>, modified_by: String, ms: i64, t: AuditType| ContextAudit {
                data_element: uid_of(&snap, ObjectKind::DataElement, de.0),
                period: period.to_string(),
                org_unit: uid_of(&snap, ObjectKind::OrganisationUnit, ou.0),
                category_option_combo: uid_of(&snap, ObjectKind::CategoryOptionCombo, coc.0),
                attribute_option_combo: uid_of(&snap, ObjectKind::CategoryOptionCombo, aoc.0),
                value,
                modified_by,
                created: local_timestamp(ms).unwrap_or_default(),
                audit_type: t.name(),
            };
        let live = row.as_ref().filter(|r| !r.deleted);
        let mut out: Vec<ContextAudit> = Vec::with_capacity(audits.len() + 2);
        if audits.is_empty() {
            if let Some(r) = live {
                out.push(audit(
                    r.value.clone(),
                    r.stored_by.clone().unwrap_or_default(),
                    r.created_ms,
                    AuditType::Create,
                ));
            }
        } else {
            if let Some(r) = live
                && audits
                    .first()
                    .is_some_and(|a| a.audit_type != AuditType::Create)
            {
                out.push(audit(
                    r.value.clone(),
                    r.stored_by.clone().unwrap_or_default(),
                    r.last_updated_ms,
                    AuditType::Update,
                ));
            }
            let n = audits.len();
            for (i, a) in audits.iter().enumerate() {
                let oldest = i + 1 == n;
                let t = if oldest && a.audit_type != AuditType::Delete {
                    AuditType::Create
                } else {
                    a.audit_type
                };
                out.push(audit(
                    a.value.clone(),
                    a.modified_by.clone(),
                    a.created_ms,
                    t,
                ));
                if oldest && a.audit_type == AuditType::Delete {
                    let created = row.as_ref().map_or(a.created_ms, |r| r.created_ms);
                    out.push(audit(
                        a.value.clone(),
                        a.modified_by.clone(),
                        created,
                        AuditType::Create,
                    ));
                }
            }
        }
        // History: this period and the 12 before it.
        let mut periods = vec![period];
        let mut p = period;
        for _ in 0..12 {
            match p.previous() {
                Some(prev) => {
                    periods.push(prev);
                    p = prev;
                }
                None => break,
            }
        }
        let query = ExportQuery {
            data_elements: vec![de.0],
            periods: PeriodFilter::Keys(periods.iter().map(|p| period_key(*p)).collect()),
            org_units: vec![ou.0],
            attribute_option_combos: Some(vec![aoc.0]),
            include_deleted: false,
            last_updated_since_ms: None,
            limit: None,
            order: ExportOrder::Storage,
        };
        let mut rows: Vec<StoredValue> = Vec::new();
        self.store.export(&query, &mut |r| {
            if r.key.category_option_combo == coc.0 {
                rows.push(r.into());
            }
            ControlFlow::Continue(())
        })?;
        rows.sort_by_key(|r| r.key.period);
        let history = rows.iter().map(|r| self.entry_value(&snap, r)).collect();
        Ok(ValueContext {
            audits: out,
            history,
        })
    }

    /// `GET /api/dataEntry/lockExceptions`: the lock exceptions of org units in the
    /// user's view hierarchy.
    ///
    /// # Errors
    /// Storage failures.
    pub fn lock_exception_views(&self, user: &User) -> Result<Vec<LockExceptionView>> {
        let snap = self.snapshot();
        let roots = user.view_roots(&snap);
        Ok(self
            .store
            .lock_exceptions()?
            .into_iter()
            .filter(|e| snap.is_in_any_subtree(OrgUnitId(e.org_unit), &roots))
            // Exceptions of data sets no longer in the metadata are not shown.
            .filter(|e| snap.data_set(DataSetId(e.data_set)).is_some())
            .map(|e| LockExceptionView {
                period: period_iso(e.period),
                org_unit: uid_of(&snap, ObjectKind::OrganisationUnit, e.org_unit),
                data_set: uid_of(&snap, ObjectKind::DataSet, e.data_set),
            })
            .collect())
    }

    /// `POST /api/lockExceptions?ou&pe&ds` (DHIS2's `LockExceptionController`): opens
    /// the data set for these org units (`ou` is one UID or `[a,b]`) and the period after
    /// expiry. Org units the data set is not assigned to are skipped; none left is a 409.
    /// Answers how many were written.
    ///
    /// # Errors
    /// DHIS2's 409s and 403s; storage failures.
    pub fn add_lock_exceptions(
        &self,
        user: &User,
        ds: Option<&str>,
        pe: Option<&str>,
        ou: Option<&str>,
    ) -> Result<usize> {
        let snap = self.snapshot();
        let uid = LookupScheme::Uid;
        let ds_id = given(ds).and_then(|d| snap.data_set_id(uid, d));
        let period = given(pe).and_then(Period::parse);
        let (Some(ds_id), Some(period)) = (ds_id, period) else {
            return Err(plain_conflict(" DataSet or Period is invalid"));
        };
        let ou = ou.unwrap_or_default();
        let ids: Vec<&str> = match ou.strip_prefix('[').and_then(|o| o.strip_suffix(']')) {
            Some(list) => list.split(',').collect(),
            None if ou.is_empty() => Vec::new(),
            None => vec![ou],
        };
        if ids.is_empty() {
            return Err(plain_conflict("OrganisationUnit ID is invalid."));
        }
        let roots = user.capture_roots(&snap);
        let assigned = snap.data_set(ds_id).map(|d| &d.org_units);
        let now_ms = self.clock.now().as_millisecond();
        let mut rows = Vec::new();
        for id in &ids {
            let unit = snap.org_unit_id(uid, id).ok_or_else(|| {
                plain_conflict(format!("Can't find OrganisationUnit with id ={id}"))
            })?;
            if !user.is_super() && !snap.is_in_any_subtree(unit, &roots) {
                return Err(CoreError::Forbidden(
                    "You can only add a lock exceptions to your data capture organisation units."
                        .into(),
                ));
            }
            if assigned.is_some_and(|a| a.contains(&unit)) {
                rows.push(LockException {
                    data_set: ds_id.0,
                    period: period_key(period),
                    org_unit: unit.0,
                    created_ms: now_ms,
                    created_by: user.username.clone(),
                });
            }
        }
        if rows.is_empty() {
            return Err(plain_conflict(format!(
                "None of the target organisation unit(s) {} is linked to the specified data set: {}",
                ids.join(","),
                ds.unwrap_or_default()
            )));
        }
        // Written and reloaded under the lock, so concurrent changes cannot leave an
        // older set in memory.
        let mut held = self.lock_exceptions.write().map_err(lock_err)?;
        self.store.add_lock_exceptions(&rows)?;
        *held = lock_exception_set(self.store.as_ref())?;
        Ok(rows.len())
    }

    /// `DELETE /api/lockExceptions?ds&pe[&ou]`: removes the lock exceptions of the data
    /// set and period (for one org unit, or all without `ou`); how many went.
    ///
    /// # Errors
    /// 409 for an unknown data set or period; storage failures.
    pub fn delete_lock_exceptions(
        &self,
        ds: Option<&str>,
        pe: Option<&str>,
        ou: Option<&str>,
    ) -> Result<u64> {
        let snap = self.snapshot();
        let uid = LookupScheme::Uid;
        let ds_id = given(ds).and_then(|d| snap.data_set_id(uid, d));
        let period = given(pe).and_then(Period::parse);
        let (Some(ds_id), Some(period)) = (ds_id, period) else {
            return Err(plain_conflict(format!(
                "Can't find LockException with combination: dataSet={}, period={}",
                ds.unwrap_or_default(),
                pe.unwrap_or_default()
            )));
        };
        let units: Vec<u32> = given(ou)
            .and_then(|o| snap.org_unit_id(uid, o))
            .map(|o| vec![o.0])
            .unwrap_or_default();
        let mut held = self.lock_exceptions.write().map_err(lock_err)?;
        let n = self
            .store
            .delete_lock_exceptions(ds_id.0, Some(period_key(period)), &units)?;
        *held = lock_exception_set(self.store.as_ref())?;
        Ok(n)
    }

    /// Resolves the key of a min-max range (E1100, E1102, E1103; capture hierarchy).
    fn min_max_key(
        &self,
        user: &User,
        input: &MinMaxInput,
    ) -> Result<(DataElementId, OrgUnitId, CategoryOptionComboId)> {
        let snap = self.snapshot();
        let de = by_uid::data_element(&snap, input.data_element.as_deref())?;
        let ou_text = given(input.org_unit.as_deref()).unwrap_or("null");
        let ou = by_uid::org_unit(&snap, input.org_unit.as_deref())?;
        let coc = by_uid::option_combo(&snap, input.category_option_combo.as_deref(), None)?;
        if !snap.is_in_any_subtree(ou, &user.capture_roots(&snap)) {
            return Err(conflict(ErrorCode::E2020, &[ou_text]));
        }
        Ok((de, ou, coc))
    }

    /// `POST /api/dataEntry/minMaxValues`: creates or replaces a range.
    ///
    /// # Errors
    /// Identifier conflicts, a missing bound (E2042, E2043) or a maximum not above the
    /// minimum (E2044); storage failures.
    pub fn save_min_max(&self, user: &User, input: &MinMaxInput) -> Result<()> {
        let (de, ou, coc) = self.min_max_key(user, input)?;
        let min = input
            .min_value
            .ok_or_else(|| conflict(ErrorCode::E2042, &[]))?;
        let max = input
            .max_value
            .ok_or_else(|| conflict(ErrorCode::E2043, &[]))?;
        if max <= min {
            return Err(conflict(ErrorCode::E2044, &[]));
        }
        self.store.save_min_max_value(&MinMaxValue {
            data_element: de.0,
            org_unit: ou.0,
            category_option_combo: coc.0,
            min_value: min,
            max_value: max,
            generated: input.generated.unwrap_or(false),
        })?;
        Ok(())
    }

    /// `DELETE /api/dataEntry/minMaxValues`: removes a range; `false` when there was none
    /// (not an error, as in DHIS2).
    ///
    /// # Errors
    /// Identifier conflicts; storage failures.
    pub fn delete_min_max(&self, user: &User, input: &MinMaxInput) -> Result<bool> {
        let (de, ou, coc) = self.min_max_key(user, input)?;
        Ok(self.store.delete_min_max_value(de.0, ou.0, coc.0)?)
    }

    /// `GET /api/dataEntry/customForms/{id}`: the custom form of a data set.
    ///
    /// # Errors
    /// 404 for an unknown data set or one without a custom form.
    pub fn custom_form(&self, data_set: &str) -> Result<CustomForm> {
        let catalog = self.catalog();
        let set = catalog.metadata();
        let ds = Uid::parse(data_set)
            .ok()
            .and_then(|u| set.get::<DataSet>(u))
            .ok_or_else(|| {
                CoreError::NotFound(format!("DataSet with id {data_set} could not be found."))
            })?;
        let forms = self
            .forms
            .read()
            .map(|f| Arc::clone(&f))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()));
        let form = ds
            .object
            .data_entry_form
            .and_then(|r| forms.get(&r.id))
            .ok_or_else(|| {
                CoreError::NotFound(format!(
                    "Data set {data_set} does not have a custom data entry form"
                ))
            })?;
        Ok(CustomForm {
            id: form.id.to_string(),
            data_set_id: ds.object.id.to_string(),
            version: ds.object.version,
            display_density: form.style.clone(),
            form: form.html_code.clone().unwrap_or_default(),
        })
    }

    /// `GET /api/dataSets/{id}/dataValueSet`: one empty value per org unit, data element
    /// and COC of the element's combo in this data set (spec §7).
    ///
    /// # Errors
    /// 404 for an unknown data set.
    pub fn data_value_set_template(
        &self,
        data_set: &str,
        p: &TemplateParams,
    ) -> Result<Vec<TemplateLine>> {
        let snap = self.snapshot();
        let ds = snap
            .data_set_id(LookupScheme::Uid, data_set)
            .ok_or_else(|| {
                CoreError::NotFound(format!("DataSet with id {data_set} could not be found."))
            })?;
        let set = snap
            .data_set(ds)
            .ok_or_else(|| CoreError::Internal("data set vanished".into()))?;
        let period = given(p.period.as_deref())
            .and_then(Period::parse)
            .map(|p| p.to_string())
            .unwrap_or_default();
        let mut units: Vec<Option<String>> = Vec::new();
        for o in &p.org_units {
            let id = [LookupScheme::Uid, LookupScheme::Code, LookupScheme::Name]
                .into_iter()
                .find_map(|s| snap.org_unit_id(s, o));
            if let Some(id) = id
                && let Some(info) = snap.org_unit(id)
            {
                units.push(Some(if p.org_unit_code {
                    info.common.code().unwrap_or_default().to_owned()
                } else {
                    info.common.uid.to_string()
                }));
            }
        }
        if p.org_units.is_empty() {
            units.push(None);
        }
        let mut elements: Vec<_> = set
            .elements
            .iter()
            .filter_map(|e| snap.data_element(e.data_element).map(|i| (e, i)))
            .collect();
        elements.sort_by(|a, b| {
            a.1.common
                .name()
                .cmp(b.1.common.name())
                .then(a.1.common.uid.cmp(&b.1.common.uid))
        });
        let mut out = Vec::new();
        if p.comment {
            out.push(TemplateLine::Comment(format!(
                "Data set: {} ({})",
                set.common.name(),
                set.common.uid
            )));
        }
        for unit in &units {
            for (e, info) in &elements {
                let combo = e.category_combo.unwrap_or(info.category_combo);
                let cocs = snap
                    .category_combo(combo)
                    .map(|c| c.option_combos.to_vec())
                    .unwrap_or_default();
                // The combo's sorted option combos: category option order, first
                // category slowest (DHIS2's `getSortedOptionCombos`).
                let cocs: Vec<_> = cocs
                    .into_iter()
                    .filter_map(|c| snap.category_option_combo(c).map(|i| (c, i)))
                    .collect();
                let de = if p.data_element_code {
                    info.common.code().unwrap_or_default().to_owned()
                } else {
                    info.common.uid.to_string()
                };
                for (coc_id, coc) in cocs {
                    if p.comment {
                        let name = coc.common.name();
                        let text = if coc_id == snap.defaults().category_option_combo {
                            format!("Data element: {}", info.common.name())
                        } else {
                            format!("Data element: {} {}", info.common.name(), name)
                        };
                        out.push(TemplateLine::Comment(text));
                    }
                    out.push(TemplateLine::Value {
                        data_element: de.clone(),
                        category_option_combo: coc.common.uid.to_string(),
                        period: period.clone(),
                        org_unit: unit.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// `GET /api/dataEntry/metadata`: everything the data entry app needs to render the
    /// data sets the user can write to (those assigned to an org unit in the user's
    /// capture hierarchy; every data set for superusers), with their org units in that
    /// hierarchy.
    #[must_use]
    pub fn data_entry_metadata(&self, user: &User) -> Value {
        let snap = self.snapshot();
        let catalog = self.catalog();
        metadata_bundle(&snap, catalog.metadata(), user)
    }

    /// The metadata bundle as JSON bytes and its entity tag: a digest of the user and
    /// the bytes, so it changes whenever the metadata the user sees (or the user's
    /// assignment) changes, and is the same across restarts otherwise.
    ///
    /// # Errors
    /// Serialisation failures.
    ///
    /// Every data entry client revalidates the bundle when it starts, so the bytes and
    /// tag are kept per user until the catalog changes (any metadata or user change
    /// swaps it): a revalidation answers without building the bundle again.
    pub fn data_entry_metadata_tagged(&self, user: &User) -> Result<(bytes::Bytes, String)> {
        use sha2::Digest as _;
        let catalog = self.catalog();
        let key = BundleKey {
            user: user.uid,
            superuser: user.is_super(),
            roots: user.capture_roots(&self.snapshot()),
        };
        if let Some(hit) = self
            .bundles
            .lock()
            .map_err(crate::app::lock_err)?
            .get(&catalog, &key)
        {
            return Ok(hit);
        }
        let body = serde_json::to_vec(&self.data_entry_metadata(user))
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut h = sha2::Sha256::new();
        h.update(user.uid.as_str().as_bytes());
        h.update([0]);
        h.update(&body);
        let digest = h.finalize();
        let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let tagged = (bytes::Bytes::from(body), tag);
        self.bundles
            .lock()
            .map_err(crate::app::lock_err)?
            .put(catalog, key, tagged.clone());
        Ok(tagged)
    }
}

/// What a user's metadata bundle depends on besides the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BundleKey {
    user: Uid,
    superuser: bool,
    roots: Vec<OrgUnitId>,
}

/// Tagged metadata bundles of one catalog (the catalog is held, so a new one is never
/// mistaken for it); emptied when the catalog changes, bounded in size.
#[derive(Default)]
pub(crate) struct BundleCache {
    catalog: Option<Arc<tally_domain::metadata::Catalog>>,
    bundles: HashMap<BundleKey, (bytes::Bytes, String)>,
}

impl BundleCache {
    /// Bundles kept at most (one per user of a district server; more are rebuilt).
    const MAX: usize = 1024;

    fn get(
        &self,
        catalog: &Arc<tally_domain::metadata::Catalog>,
        key: &BundleKey,
    ) -> Option<(bytes::Bytes, String)> {
        let current = self
            .catalog
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, catalog));
        current.then(|| self.bundles.get(key).cloned()).flatten()
    }

    fn put(
        &mut self,
        catalog: Arc<tally_domain::metadata::Catalog>,
        key: BundleKey,
        tagged: (bytes::Bytes, String),
    ) {
        let current = self
            .catalog
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &catalog));
        if !current || self.bundles.len() >= Self::MAX {
            self.bundles.clear();
            self.catalog = Some(catalog);
        }
        self.bundles.insert(key, tagged);
    }
}

fn min_max_view(snap: &Snapshot, m: &MinMaxValue) -> MinMaxView {
    MinMaxView {
        data_element: uid_of(snap, ObjectKind::DataElement, m.data_element),
        org_unit: uid_of(snap, ObjectKind::OrganisationUnit, m.org_unit),
        category_option_combo: uid_of(
            snap,
            ObjectKind::CategoryOptionCombo,
            m.category_option_combo,
        ),
        min_value: m.min_value,
        max_value: m.max_value,
        generated: m.generated,
    }
}

/// The ISO text of a stored period key.
fn period_iso(key: i64) -> String {
    crate::export::period_from_key(key)
}

/// Inserts `value` unless it is null (Jackson NON_NULL).
fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    let value = value.into();
    if !value.is_null() {
        map.insert(key.to_owned(), value);
    }
}

/// A stored date as DHIS2's data entry shapes write it: a bare `yyyy-MM-dd` gets the
/// zone-less midnight timestamp (`2023-01-01T00:00:00.000`); anything else is kept.
fn timestamp_text(d: Option<&str>) -> Option<String> {
    d.map(|d| {
        let d = d.trim();
        if d.len() == 10 && tally_domain::metadata::parse_dhis2_date(d).is_some() {
            format!("{d}T00:00:00.000")
        } else {
            d.to_owned()
        }
    })
}

fn id_ref(r: Option<&Ref>) -> Value {
    r.map_or(Value::Null, |r| json!({ "id": r.id.as_str() }))
}

/// A compulsory operand or greyed field: `{dataElement: {id}, categoryOptionCombo: {id}}`
/// (the combo left out when the operand covers every combo).
fn operand_view(o: &tally_domain::metadata::DataElementOperand) -> Value {
    let mut x = Map::new();
    put(
        &mut x,
        "dataElement",
        json!({ "id": o.data_element.id.as_str() }),
    );
    put(
        &mut x,
        "categoryOptionCombo",
        id_ref(o.category_option_combo.as_ref()),
    );
    Value::Object(x)
}

fn uids(refs: &[Ref]) -> Value {
    Value::Array(refs.iter().map(|r| Value::from(r.id.as_str())).collect())
}

/// id, code, name, shortName, the display names, created, lastUpdated.
fn identifiable(
    id: Uid,
    code: Option<&str>,
    name: Option<&str>,
    short_name: Option<&str>,
    created: Option<&str>,
    last_updated: Option<&str>,
) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "id", id.as_str());
    put(&mut m, "code", code);
    put(&mut m, "name", name);
    put(&mut m, "shortName", short_name);
    put(&mut m, "displayName", name);
    put(&mut m, "displayShortName", short_name.or(name));
    put(&mut m, "created", created);
    put(&mut m, "lastUpdated", last_updated);
    m
}

macro_rules! ident {
    ($o:expr) => {
        identifiable(
            $o.id,
            $o.code.as_deref(),
            $o.name.as_deref(),
            $o.short_name.as_deref(),
            $o.created.as_deref(),
            $o.last_updated.as_deref(),
        )
    };
}

fn dimension_type(t: Option<tally_domain::metadata::DataDimensionType>) -> &'static str {
    match t.unwrap_or_default() {
        tally_domain::metadata::DataDimensionType::Disaggregation => "DISAGGREGATION",
        tally_domain::metadata::DataDimensionType::Attribute => "ATTRIBUTE",
    }
}

fn sort_by_name(v: &mut [Map<String, Value>]) {
    v.sort_by(|a, b| {
        let key = |m: &Map<String, Value>| {
            (
                m.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase(),
                m.get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            )
        };
        key(a).cmp(&key(b))
    });
}

/// Builds the `/api/dataEntry/metadata` bundle.
#[allow(clippy::too_many_lines)]
fn metadata_bundle(snap: &Snapshot, set: &MetadataSet, user: &User) -> Value {
    use tally_domain::metadata::{Category, CategoryOption, OptionItem, OptionSet, Section};
    let roots = user.capture_roots(snap);
    let in_hierarchy = |r: &Ref| {
        snap.id_of::<OrgUnitId>(r.id)
            .is_some_and(|id| snap.is_in_any_subtree(id, &roots))
    };
    let default_combo = snap
        .category_combo(snap.defaults().category_combo)
        .map(|c| c.common.uid);
    let mut data_sets = Vec::new();
    let mut element_uids: BTreeMap<Uid, ()> = BTreeMap::new();
    let mut element_combos: Vec<Uid> = Vec::new();
    let mut attribute_combos: Vec<Uid> = Vec::new();
    for stored in set.iter::<DataSet>() {
        let d = &stored.object;
        let units: Vec<&Ref> = d
            .organisation_units
            .iter()
            .filter(|r| in_hierarchy(r))
            .collect();
        if units.is_empty() && !user.is_super() {
            continue;
        }
        let mut m = ident!(d);
        put(&mut m, "displayFormName", d.name.as_deref());
        put(&mut m, "description", d.description.as_deref());
        put(&mut m, "periodType", d.period_type.as_deref());
        let form_type = d.form_type.clone().unwrap_or_else(|| {
            if d.data_entry_form.is_some() {
                "CUSTOM".into()
            } else if d.sections.is_empty() {
                "DEFAULT".into()
            } else {
                "SECTION".into()
            }
        });
        put(&mut m, "formType", form_type);
        let combo = d.category_combo.map(|r| r.id).or(default_combo);
        put(
            &mut m,
            "categoryCombo",
            combo.map(|c| json!({ "id": c.as_str() })),
        );
        put(&mut m, "dataEntryForm", id_ref(d.data_entry_form.as_ref()));
        put(&mut m, "version", d.version);
        put(&mut m, "expiryDays", d.expiry_days);
        put(&mut m, "timelyDays", d.timely_days.unwrap_or(15));
        put(&mut m, "openFuturePeriods", d.open_future_periods);
        put(
            &mut m,
            "openPeriodsAfterCoEndDate",
            d.open_periods_after_co_end_date,
        );
        for (k, v) in [
            ("mobile", d.mobile),
            ("skipOffline", d.skip_offline),
            ("fieldCombinationRequired", d.field_combination_required),
            ("validCompleteOnly", d.valid_complete_only),
            ("noValueRequiresComment", d.no_value_requires_comment),
            (
                "compulsoryFieldsCompleteOnly",
                d.compulsory_fields_complete_only,
            ),
            ("dataElementDecoration", d.data_element_decoration),
            ("renderAsTabs", d.render_as_tabs),
            ("renderHorizontally", d.render_horizontally),
            ("notifyCompletingUser", d.notify_completing_user),
        ] {
            put(&mut m, k, v);
        }
        put(&mut m, "dimensionItem", d.id.as_str());
        put(&mut m, "dimensionItemType", "REPORTING_RATE");
        put(&mut m, "favorite", false);
        let input_periods: Vec<Value> = d
            .data_input_periods
            .iter()
            .map(|p| {
                let mut o = Map::new();
                put(&mut o, "period", json!({ "id": p.period.id }));
                put(
                    &mut o,
                    "openingDate",
                    timestamp_text(p.opening_date.as_deref()),
                );
                put(
                    &mut o,
                    "closingDate",
                    timestamp_text(p.closing_date.as_deref()),
                );
                Value::Object(o)
            })
            .collect();
        put(&mut m, "dataInputPeriods", input_periods);
        put(&mut m, "indicators", uids(&d.indicators));
        let operands: Vec<Value> = d
            .compulsory_data_element_operands
            .iter()
            .map(operand_view)
            .collect();
        put(&mut m, "compulsoryDataElementOperands", operands);
        let mut sections: Vec<(i32, Value)> = set
            .iter::<Section>()
            .filter(|s| s.object.data_set.is_some_and(|r| r.id == d.id))
            .map(|s| {
                let s = &s.object;
                let mut x = ident!(s);
                x.remove("displayShortName");
                put(&mut x, "description", s.description.as_deref());
                put(&mut x, "sortOrder", s.sort_order);
                put(&mut x, "showRowTotals", s.show_row_totals);
                put(&mut x, "showColumnTotals", s.show_column_totals);
                put(
                    &mut x,
                    "disableDataElementAutoGroup",
                    s.disable_data_element_auto_group,
                );
                put(&mut x, "dataElements", uids(&s.data_elements));
                put(&mut x, "indicators", uids(&s.indicators));
                let greyed: Vec<Value> = s.greyed_fields.iter().map(operand_view).collect();
                put(&mut x, "greyedFields", greyed);
                (s.sort_order, Value::Object(x))
            })
            .collect();
        sections.sort_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                a.1.get("id")
                    .and_then(Value::as_str)
                    .cmp(&b.1.get("id").and_then(Value::as_str))
            })
        });
        put(
            &mut m,
            "sections",
            sections.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        );
        let mut elements = Vec::new();
        for e in &d.data_set_elements {
            let mut x = Map::new();
            put(
                &mut x,
                "dataElement",
                json!({ "id": e.data_element.id.as_str() }),
            );
            put(&mut x, "categoryCombo", id_ref(e.category_combo.as_ref()));
            elements.push(Value::Object(x));
            element_uids.insert(e.data_element.id, ());
            let own = set
                .get::<DataElement>(e.data_element.id)
                .and_then(|de| de.object.category_combo)
                .map(|r| r.id)
                .or(default_combo);
            for c in [e.category_combo.map(|r| r.id), own].into_iter().flatten() {
                if !element_combos.contains(&c) {
                    element_combos.push(c);
                }
            }
        }
        put(&mut m, "dataSetElements", elements);
        put(
            &mut m,
            "organisationUnits",
            units
                .iter()
                .map(|r| Value::from(r.id.as_str()))
                .collect::<Vec<_>>(),
        );
        if let Some(c) = combo
            && !attribute_combos.contains(&c)
        {
            attribute_combos.push(c);
        }
        data_sets.push(m);
    }
    sort_by_name(&mut data_sets);

    let mut option_set_uids: Vec<Uid> = Vec::new();
    let mut data_elements = Vec::new();
    for uid in element_uids.keys() {
        let Some(stored) = set.get::<DataElement>(*uid) else {
            continue;
        };
        let e = &stored.object;
        let mut m = ident!(e);
        put(
            &mut m,
            "displayFormName",
            e.form_name.as_deref().or(e.name.as_deref()),
        );
        put(&mut m, "description", e.description.as_deref());
        put(&mut m, "valueType", e.value_type.as_deref());
        put(&mut m, "aggregationType", e.aggregation_type.as_deref());
        put(&mut m, "zeroIsSignificant", e.zero_is_significant);
        let combo = e.category_combo.map(|r| r.id).or(default_combo);
        put(
            &mut m,
            "categoryCombo",
            combo.map(|c| json!({ "id": c.as_str() })),
        );
        put(&mut m, "optionSet", id_ref(e.option_set.as_ref()));
        put(
            &mut m,
            "commentOptionSet",
            id_ref(e.comment_option_set.as_ref()),
        );
        for r in [e.option_set, e.comment_option_set].into_iter().flatten() {
            if !option_set_uids.contains(&r.id) {
                option_set_uids.push(r.id);
            }
        }
        data_elements.push(m);
    }
    sort_by_name(&mut data_elements);

    let mut category_uids: Vec<Uid> = Vec::new();
    let mut category_combos = Vec::new();
    let attribute_only: Vec<Uid> = attribute_combos
        .iter()
        .filter(|c| !element_combos.contains(c))
        .copied()
        .collect();
    for (uid, with_cocs) in element_combos
        .iter()
        .map(|c| (*c, true))
        .chain(attribute_only.iter().map(|c| (*c, false)))
    {
        let Some(stored) = set.get::<CategoryCombo>(uid) else {
            continue;
        };
        let c = &stored.object;
        let mut m = ident!(c);
        m.remove("shortName");
        m.remove("displayShortName");
        let info = snap
            .id_of::<CategoryComboId>(uid)
            .and_then(|id| snap.category_combo(id));
        put(&mut m, "isDefault", info.is_some_and(|i| i.is_default));
        put(&mut m, "skipTotal", c.skip_total);
        put(
            &mut m,
            "dataDimensionType",
            dimension_type(c.data_dimension_type),
        );
        put(&mut m, "categories", uids(&c.categories));
        for r in &c.categories {
            if !category_uids.contains(&r.id) {
                category_uids.push(r.id);
            }
        }
        if with_cocs && let Some(info) = info {
            let cocs: Vec<Value> = info
                .option_combos
                .iter()
                .filter_map(|id| snap.category_option_combo(*id))
                .map(|coc| {
                    let mut x = Map::new();
                    put(&mut x, "id", coc.common.uid.as_str());
                    put(&mut x, "code", coc.common.code());
                    let name = coc.common.name();
                    put(&mut x, "name", name);
                    put(&mut x, "displayName", name);
                    put(
                        &mut x,
                        "categoryOptions",
                        coc.options
                            .iter()
                            .map(|o| Value::from(uid_of(snap, ObjectKind::CategoryOption, o.0)))
                            .collect::<Vec<_>>(),
                    );
                    Value::Object(x)
                })
                .collect();
            put(&mut m, "categoryOptionCombos", cocs);
        }
        category_combos.push(m);
    }

    let mut option_uids: Vec<Uid> = Vec::new();
    let mut categories = Vec::new();
    for uid in &category_uids {
        let Some(stored) = set.get::<Category>(*uid) else {
            continue;
        };
        let c = &stored.object;
        let mut m = ident!(c);
        put(&mut m, "displayFormName", c.name.as_deref());
        put(&mut m, "dimension", c.id.as_str());
        put(&mut m, "dimensionType", "CATEGORY");
        put(
            &mut m,
            "dataDimensionType",
            dimension_type(c.data_dimension_type),
        );
        put(&mut m, "dataDimension", c.data_dimension.unwrap_or(true));
        put(&mut m, "allItems", false);
        put(&mut m, "favorite", false);
        put(&mut m, "categoryOptions", uids(&c.category_options));
        for r in &c.category_options {
            if !option_uids.contains(&r.id) {
                option_uids.push(r.id);
            }
        }
        categories.push(m);
    }
    sort_by_name(&mut categories);

    let default_option = snap
        .category_option_combo(snap.defaults().category_option_combo)
        .and_then(|c| c.options.first().copied());
    let mut category_options = Vec::new();
    for uid in &option_uids {
        let Some(stored) = set.get::<CategoryOption>(*uid) else {
            continue;
        };
        let o = &stored.object;
        let mut m = ident!(o);
        put(
            &mut m,
            "displayFormName",
            o.form_name.as_deref().or(o.name.as_deref()),
        );
        let is_default = default_option
            .is_some_and(|d| uid_of(snap, ObjectKind::CategoryOption, d.0) == o.id.as_str());
        put(&mut m, "isDefault", is_default);
        put(&mut m, "startDate", timestamp_text(o.start_date.as_deref()));
        put(&mut m, "endDate", timestamp_text(o.end_date.as_deref()));
        put(&mut m, "organisationUnits", uids(&o.organisation_units));
        category_options.push(m);
    }
    sort_by_name(&mut category_options);

    let mut option_sets = Vec::new();
    for uid in &option_set_uids {
        let Some(stored) = set.get::<OptionSet>(*uid) else {
            continue;
        };
        let s = &stored.object;
        let mut m = ident!(s);
        m.remove("shortName");
        m.remove("displayShortName");
        put(&mut m, "valueType", s.value_type.as_deref());
        put(&mut m, "version", s.version.unwrap_or(0));
        let options: Vec<Value> = s
            .options
            .iter()
            .filter_map(|r| set.get::<OptionItem>(r.id))
            .map(|o| {
                let o = &o.object;
                let mut x = Map::new();
                put(&mut x, "id", o.id.as_str());
                put(&mut x, "code", o.code.as_deref());
                put(&mut x, "name", o.name.as_deref());
                put(&mut x, "displayName", o.name.as_deref());
                put(&mut x, "sortOrder", o.sort_order);
                Value::Object(x)
            })
            .collect();
        put(&mut m, "options", options);
        option_sets.push(m);
    }
    sort_by_name(&mut option_sets);

    let arr = |v: Vec<Map<String, Value>>| Value::Array(v.into_iter().map(Value::Object).collect());
    json!({
        "dataSets": arr(data_sets),
        "dataElements": arr(data_elements),
        "indicators": [],
        "categoryCombos": arr(category_combos),
        "categories": arr(categories),
        "categoryOptions": arr(category_options),
        "optionSets": arr(option_sets),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_dates_become_midnight_timestamps() {
        assert_eq!(
            timestamp_text(Some("2023-01-01")).as_deref(),
            Some("2023-01-01T00:00:00.000")
        );
        assert_eq!(
            timestamp_text(Some("2023-05-17T10:00:00.000")).as_deref(),
            Some("2023-05-17T10:00:00.000")
        );
        assert_eq!(
            timestamp_text(Some("not-a-date")).as_deref(),
            Some("not-a-date")
        );
        assert_eq!(timestamp_text(None), None);
    }

    #[test]
    fn forms_parse_or_refuse_the_document() {
        let ok = json!({"dataEntryForms": [
            {"id": "deFormAAAA1", "name": "F", "style": "NORMAL", "htmlCode": "<p/>", "format": 2}
        ]});
        let forms = parse_forms(&ok).unwrap();
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].style.as_deref(), Some("NORMAL"));
        assert!(parse_forms(&json!({})).unwrap().is_empty());
        assert!(matches!(
            parse_forms(&json!({"dataEntryForms": {}})),
            Err(CoreError::BadRequest(_))
        ));
        assert!(matches!(
            parse_forms(&json!({"dataEntryForms": [{"id": "short"}]})),
            Err(CoreError::BadRequest(_))
        ));
        let views = form_views(&forms.into_iter().map(|f| (f.id, f)).collect());
        assert_eq!(views[0]["displayName"], "F");
        assert_eq!(views[0]["htmlCode"], "<p/>");
    }
}

//! ADX import (spec §9): groups and category attributes are converted into DXF2 values
//! through the metadata snapshot, then imported by the normal pipeline.
//!
//! Conversion runs on the parser thread. Value-level ADX problems drop the value and add
//! a legacy `{object, value}` conflict counted as ignored, without an index (the DXF2
//! numbering skips the value) and without changing the status (DHIS2 quirk). Group-level
//! problems abort the whole import: ERROR, "Data set import failed within group number:
//! n", nothing written.

use std::io::BufReader;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tally_domain::id_scheme::{IdScheme, ImportIdSchemes, ObjectKind};
use tally_domain::import::{Conflict, ImportCount, ImportStatus};
use tally_domain::metadata::{
    CategoryComboId, CategoryOptionComboId, CategoryOptionId, ObjectKind as Kind, Snapshot,
};
use tally_domain::period::Period;
use tally_formats::{AdxSink, FormatError, RawDataValue, RawHeader, Stop};

use crate::App;
use crate::import::{BATCH, Body, DEPTH, ImportOptions, Summary, lookup};
use crate::users::User;

enum Msg {
    Values(Vec<RawDataValue>),
    Conflict(Conflict),
    Abort(usize, String),
    Done(Result<(), FormatError>),
}

fn scheme_name(s: IdScheme) -> String {
    match s {
        IdScheme::Uid | IdScheme::Id | IdScheme::Uuid => "UID".into(),
        IdScheme::Code => "CODE".into(),
        IdScheme::Name => "NAME".into(),
        IdScheme::Attribute(u) => format!("ATTRIBUTE:{u}"),
    }
}

struct Group {
    period: String,
    org_unit: String,
    aoc: Option<String>,
    /// Attributes copied onto every value (comment, storedBy, …).
    rest: Vec<(String, String)>,
}

struct Converter {
    snap: Arc<Snapshot>,
    schemes: ImportIdSchemes,
    tx: SyncSender<Msg>,
    batch: Vec<RawDataValue>,
    group: Option<Group>,
    index: usize,
}

/// Attributes that are not categories on a group or value.
const GROUP_KEYS: &[&str] = &["period", "orgUnit", "dataSet", "attributeOptionCombo"];

impl Converter {
    fn send(&self, m: Msg) -> Result<(), Stop> {
        self.tx.send(m).map_err(|_| Stop)
    }

    fn abort(&self, message: String) -> Result<(), Stop> {
        self.send(Msg::Abort(self.index, message))?;
        Err(Stop)
    }

    /// Builds the option combo of `combo` from category attributes (§9.2).
    fn combo_from_attributes(
        &self,
        combo: CategoryComboId,
        attrs: &[(String, String)],
    ) -> Result<CategoryOptionComboId, String> {
        let snap = &self.snap;
        let info = snap
            .category_combo(combo)
            .ok_or_else(|| "Unknown category combo".to_owned())?;
        if info.is_default {
            return Ok(snap.defaults().category_option_combo);
        }
        let cat_scheme = self.schemes.category();
        let opt_scheme = self.schemes.category_option();
        let mut options: Vec<CategoryOptionId> = Vec::with_capacity(info.categories.len());
        for cat in info.categories.iter() {
            let cat_info = snap
                .category(*cat)
                .ok_or_else(|| "Unknown category".to_owned())?;
            let name = cat_info.common.name().to_owned();
            let Some(cat_id) = snap
                .identifier(Kind::Category, cat.0, lookup(cat_scheme))
                .filter(|id| tally_formats::is_xml_name(id))
            else {
                return Err(format!(
                    "Category {} for {name} is missing or invalid: null",
                    scheme_name(cat_scheme)
                ));
            };
            let Some((_, wanted)) = attrs.iter().find(|(k, _)| k == cat_id) else {
                return Err(format!(
                    "Category combo {} must have {name}",
                    info.common.name()
                ));
            };
            let found = cat_info.options.iter().find(|o| {
                snap.identifier(Kind::CategoryOption, o.0, lookup(opt_scheme))
                    .is_some_and(|id| id.trim() == wanted)
            });
            match found {
                Some(o) => options.push(*o),
                None => {
                    return Err(format!("No categoryOption in {name} matching {wanted}"));
                }
            }
        }
        snap.option_combo_for(combo, &options).ok_or_else(|| {
            let map: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("Invalid attributes: {{{}}}", map.join(", "))
        })
    }

    fn uid_of(&self, coc: CategoryOptionComboId) -> String {
        self.snap
            .category_option_combo(coc)
            .map(|c| c.common.uid.to_string())
            .unwrap_or_default()
    }

    fn value_conflict(&self, object: &str, message: String) -> Result<(), Stop> {
        self.send(Msg::Conflict(Conflict::legacy(object, message)))
    }
}

fn get<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl AdxSink for Converter {
    fn group(&mut self, index: usize, attrs: Vec<(String, String)>) -> Result<(), Stop> {
        self.index = index;
        let Some(period) = get(&attrs, "period").filter(|p| !p.is_empty()) else {
            return self.abort("period attribute is required on 'group'".into());
        };
        let Some(org_unit) = get(&attrs, "orgUnit").filter(|o| !o.is_empty()) else {
            return self.abort("orgUnit attribute is required on 'group'".into());
        };
        let period = match Period::parse_adx(period) {
            Ok(p) => p.to_string(),
            Err(e) => return self.abort(e.to_string()),
        };
        let org_unit = org_unit.to_owned();
        let aoc = match (get(&attrs, "attributeOptionCombo"), get(&attrs, "dataSet")) {
            (Some(aoc), _) => Some(aoc.to_owned()),
            (None, Some(ds)) => {
                let scheme = self.schemes.data_set();
                let Some(ds_id) = self.snap.data_set_id(lookup(scheme), ds) else {
                    return self.abort(format!(
                        "No data set matching {} '{ds}'",
                        scheme_name(scheme)
                    ));
                };
                let combo = self
                    .snap
                    .data_set(ds_id)
                    .map(|d| d.category_combo)
                    .unwrap_or(self.snap.defaults().category_combo);
                match self.combo_from_attributes(combo, &attrs) {
                    Ok(coc) => Some(self.uid_of(coc)),
                    Err(e) => return self.abort(e),
                }
            }
            (None, None) => None,
        };
        let rest = attrs
            .into_iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "comment" | "storedBy" | "followUp" | "followup" | "deleted"
                ) && !GROUP_KEYS.contains(&k.as_str())
            })
            .collect();
        self.group = Some(Group {
            period,
            org_unit,
            aoc,
            rest,
        });
        Ok(())
    }

    fn value(
        &mut self,
        attrs: Vec<(String, String)>,
        annotation: Option<String>,
    ) -> Result<(), Stop> {
        let Some(group) = self.group.as_ref() else {
            return Ok(());
        };
        let Some(de) = get(&attrs, "dataElement") else {
            return self.value_conflict(
                "ADX Error",
                "dataElement attribute is required on 'dataValue'".into(),
            );
        };
        let Some(value) = get(&attrs, "value") else {
            return self.value_conflict(
                "ADX Error",
                "value attribute is required on 'dataValue'".into(),
            );
        };
        let scheme = self.schemes.data_element();
        let Some(de_id) = self.snap.data_element_id(lookup(scheme), de) else {
            return self.value_conflict(
                "ADX Error",
                format!("No data element matching {} '{de}'", scheme_name(scheme)),
            );
        };
        let Some(info) = self.snap.data_element(de_id) else {
            return Ok(());
        };
        let de_uid = info.common.uid.to_string();
        let coc = match get(&attrs, "categoryOptionCombo") {
            Some(c) => {
                // Given explicitly, by the COC scheme.
                match self
                    .snap
                    .category_option_combo_id(lookup(self.schemes.category_option_combo()), c)
                {
                    Some(id) => self.uid_of(id),
                    None => c.to_owned(),
                }
            }
            None => match self.combo_from_attributes(info.category_combo, &attrs) {
                Ok(id) => self.uid_of(id),
                Err(e) => return self.value_conflict(&de_uid, e),
            },
        };
        let value = if info.value_type_enum.is_numeric() {
            value.to_owned()
        } else {
            match annotation {
                Some(text) => text,
                None => {
                    return self.value_conflict(de, "DataElement expects text annotation".into());
                }
            }
        };
        let from = |k: &str| get(&attrs, k).or_else(|| get(&group.rest, k));
        let flag = |k: &str| from(k).map(|v| v.eq_ignore_ascii_case("true"));
        let raw = RawDataValue {
            data_element: Some(de_uid),
            period: Some(group.period.clone()),
            org_unit: Some(group.org_unit.clone()),
            category_option_combo: Some(coc),
            attribute_option_combo: group.aoc.clone(),
            value: Some(value),
            stored_by: from("storedBy").map(str::to_owned),
            created: None,
            last_updated: None,
            comment: from("comment").map(str::to_owned),
            followup: flag("followUp"),
            deleted: flag("deleted"),
        };
        self.batch.push(raw);
        if self.batch.len() >= BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            self.send(Msg::Values(full))?;
        }
        Ok(())
    }

    fn group_end(&mut self) -> Result<(), Stop> {
        self.group = None;
        Ok(())
    }
}

impl App {
    /// Imports an ADX message (see the module docs).
    pub(crate) fn import_adx(&self, options: ImportOptions, user: &User, body: Body) -> Summary {
        let snap = self.snapshot();
        let schemes = ImportIdSchemes::adx(options.id_schemes);
        let (tx, rx) = sync_channel(DEPTH);
        let parser = std::thread::Builder::new()
            .name("tally-import-adx".into())
            .spawn(move || {
                let mut conv = Converter {
                    snap,
                    schemes,
                    tx: tx.clone(),
                    batch: Vec::with_capacity(BATCH),
                    group: None,
                    index: 0,
                };
                let result = tally_formats::decompress(crate::import::reader(body))
                    .map_err(FormatError::from)
                    .and_then(|r| tally_formats::read_adx(BufReader::new(r), &mut conv));
                if result.is_ok() && !conv.batch.is_empty() {
                    let rest = std::mem::take(&mut conv.batch);
                    if tx.send(Msg::Values(rest)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Msg::Done(result));
            });
        let parser = match parser {
            Ok(p) => p,
            Err(e) => return tally_domain::import::import_summary_failed(options, &e.to_string()),
        };
        let conflicts: Mutex<Vec<Conflict>> = Mutex::new(Vec::new());
        let abort: Mutex<Option<(usize, String)>> = Mutex::new(None);
        let (conflicts_ref, abort_ref) = (&conflicts, &abort);
        // ADX resolves COCs and AOCs itself and hands them on as UIDs.
        let mut inner = options.clone();
        inner.id_schemes = options
            .id_schemes
            .with(ObjectKind::CategoryOptionCombo, IdScheme::Uid)
            .with(ObjectKind::DataElement, IdScheme::Uid);
        inner.id_schemes.id_scheme = Some(schemes.general());
        inner.id_schemes.org_unit_id_scheme = Some(schemes.org_unit());
        let summary = self.import_stream(inner, user, RawHeader::default(), &mut move || loop {
            match rx.recv() {
                Ok(Msg::Values(v)) => return Ok(Some(v)),
                Ok(Msg::Conflict(c)) => lock(conflicts_ref).push(c),
                Ok(Msg::Abort(n, m)) => {
                    *lock(abort_ref) = Some((n, m.clone()));
                    return Err(m);
                }
                Ok(Msg::Done(Ok(()))) | Err(_) => return Ok(None),
                Ok(Msg::Done(Err(e))) => {
                    *lock(abort_ref) = Some((0, e.to_string()));
                    return Err(e.to_string());
                }
            }
        });
        let _ = parser.join();
        let mut summary = Summary {
            import_options: options,
            ..summary
        };
        if let Some((group, message)) = abort.into_inner().unwrap_or_else(PoisonError::into_inner) {
            summary.status = ImportStatus::Error;
            summary.description = format!("Data set import failed within group number: {group}");
            summary.import_count = ImportCount::default();
            summary.conflicts = vec![Conflict::legacy("ADX Error", message)];
            summary.rejected_indexes.clear();
            summary.data_set_complete = None;
            return summary;
        }
        let extra = conflicts
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        summary.import_count.ignored += extra.len() as u64;
        summary.conflicts.extend(extra);
        summary
    }
}

/// Locks a mutex that only this import uses; a poisoned one still holds valid data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

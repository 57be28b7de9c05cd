//! The data value export (`GET /api/dataValueSets`, `tally export`), streamed: rows go
//! from the store cursor through a format writer to the output without being collected.

use std::io::Write;
use std::ops::ControlFlow;

use jiff::civil::Date;
use tally_domain::id_scheme::{IdScheme, IdSchemes, InputIdScheme, ObjectKind, OutputIdSchemes};
use tally_domain::import::ErrorCode;
use tally_domain::metadata::{
    CategoryOptionComboId, DataElementId, DataSetId, LookupScheme, OrgUnitId, Snapshot,
};
use tally_domain::period::Period;
use tally_formats::{CsvWriter, ExportHeader, ExportValue, JsonWriter, XmlWriter};
use tally_store::{ExportOrder, ExportQuery, PeriodFilter};

mod adx;

use crate::App;
use crate::error::{CoreError, Result};
use crate::import::options::parse_bool;
use crate::users::User;

/// Output format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Xml,
    Csv,
}

/// The query parameters of an export, as given (spec §5.1).
#[derive(Debug, Clone, Default)]
pub struct ExportParams {
    pub data_set: Vec<String>,
    pub data_element_group: Vec<String>,
    pub data_element: Vec<String>,
    pub period: Vec<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub org_unit: Vec<String>,
    pub children: bool,
    pub org_unit_group: Vec<String>,
    pub attribute_option_combo: Vec<String>,
    pub include_deleted: bool,
    pub last_updated: Option<String>,
    pub last_updated_duration: Option<String>,
    pub limit: Option<i64>,
    pub output: IdSchemes,
    pub input: tally_domain::id_scheme::InputIdSchemes,
    pub format: Option<String>,
    pub compression: Option<String>,
    pub attachment: Option<String>,
    /// ADX output: CODE by default, data sets and org units by UID or code.
    pub adx: bool,
}

fn multi(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn bad(name: &str, value: &str) -> String {
    format!("Value '{value}' is not valid for parameter {name}")
}

impl ExportParams {
    /// Binds query parameters (repeatable or comma-separated lists).
    ///
    /// # Errors
    /// Malformed booleans, numbers or id schemes (HTTP 400).
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        let mut p = Self::default();
        let scheme = |v: &str| IdScheme::parse(v).map_err(|e| e.to_string());
        let input = |v: &str| InputIdScheme::parse(v).map_err(|e| e.to_string());
        for (name, value) in pairs {
            match name {
                "dataSet" => p.data_set.extend(multi(value)),
                "dataElementGroup" => p.data_element_group.extend(multi(value)),
                "dataElement" => p.data_element.extend(multi(value)),
                "period" => p.period.extend(multi(value)),
                "startDate" => p.start_date = Some(value.to_owned()),
                "endDate" => p.end_date = Some(value.to_owned()),
                "orgUnit" => p.org_unit.extend(multi(value)),
                "children" => p.children = parse_bool(name, value)?,
                "orgUnitGroup" => p.org_unit_group.extend(multi(value)),
                "attributeOptionCombo" => p.attribute_option_combo.extend(multi(value)),
                "includeDeleted" => p.include_deleted = parse_bool(name, value)?,
                "lastUpdated" => p.last_updated = Some(value.to_owned()),
                "lastUpdatedDuration" => p.last_updated_duration = Some(value.to_owned()),
                "limit" => {
                    p.limit = Some(value.trim().parse().map_err(|_| bad(name, value))?);
                }
                "idScheme" => p.output.id_scheme = Some(scheme(value)?),
                "dataElementIdScheme" => {
                    p.output = p.output.with(ObjectKind::DataElement, scheme(value)?);
                }
                "orgUnitIdScheme" => p.output = p.output.with(ObjectKind::OrgUnit, scheme(value)?),
                "categoryOptionComboIdScheme" => {
                    p.output = p
                        .output
                        .with(ObjectKind::CategoryOptionCombo, scheme(value)?);
                }
                "attributeOptionComboIdScheme" => {
                    p.output = p
                        .output
                        .with(ObjectKind::AttributeOptionCombo, scheme(value)?);
                }
                "dataSetIdScheme" => p.output = p.output.with(ObjectKind::DataSet, scheme(value)?),
                "inputIdScheme" => p.input.input_id_scheme = Some(input(value)?),
                "inputOrgUnitIdScheme" => p.input.input_org_unit_id_scheme = Some(input(value)?),
                "inputDataSetIdScheme" => p.input.input_data_set_id_scheme = Some(input(value)?),
                "inputDataElementGroupIdScheme" => {
                    p.input.input_data_element_group_id_scheme = Some(input(value)?);
                }
                "inputDataElementIdScheme" => {
                    p.input.input_data_element_id_scheme = Some(input(value)?);
                }
                "format" => p.format = Some(value.to_owned()),
                "compression" => p.compression = Some(value.to_owned()),
                "attachment" => p.attachment = Some(value.to_owned()),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// Parses the dates DHIS2 accepts for `startDate`, `endDate` and `lastUpdated`.
fn parse_date(text: &str) -> Option<Date> {
    let t = text.trim();
    let date_part = t.get(..10).unwrap_or(t);
    if let Ok(d) = date_part.parse::<Date>() {
        return Some(d);
    }
    match t.len() {
        8 if t.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..]).parse().ok()
        }
        7 => format!("{t}-01").parse().ok(),
        4 if t.bytes().all(|b| b.is_ascii_digit()) => format!("{t}-01-01").parse().ok(),
        _ => None,
    }
}

fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    if let Ok(dt) = t.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_millisecond());
    }
    parse_date(t)
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
}

fn duration_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let n: i64 = t.get(..t.len() - 1)?.parse().ok()?;
    let factor = match unit {
        'd' => 86_400_000,
        'h' => 3_600_000,
        'm' => 60_000,
        's' => 1_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// A validated, resolved export.
pub struct ExportPlan {
    query: ExportQuery,
    data_sets: Vec<DataSetId>,
    output: OutputIdSchemes,
    single: Option<(DataSetId, Period, OrgUnitId)>,
    /// Both dates given: they name the attachment.
    pub dates: Option<(Date, Date)>,
}

fn input_lookup(scheme: Option<InputIdScheme>, general: Option<InputIdScheme>) -> LookupScheme {
    match scheme.or(general).unwrap_or(InputIdScheme::Uid) {
        InputIdScheme::Uid | InputIdScheme::Id => LookupScheme::Uid,
        InputIdScheme::Code => LookupScheme::Code,
        InputIdScheme::Name => LookupScheme::Name,
    }
}

fn output_lookup(scheme: IdScheme) -> LookupScheme {
    crate::import::lookup(scheme)
}

impl App {
    /// Validates and resolves an export (spec §5.2: the last failing check wins).
    ///
    /// # Errors
    /// 409 with E2001–E2012, as DHIS2.
    pub fn plan_export(&self, p: &ExportParams, user: &User) -> Result<ExportPlan> {
        let snap = self.snapshot();
        let now_ms = self.clock.now().as_millisecond();
        let start = p.start_date.as_deref().map(|s| (s, parse_date(s)));
        let end = p.end_date.as_deref().map(|s| (s, parse_date(s)));
        for (text, parsed) in [start, end].into_iter().flatten() {
            if parsed.is_none() {
                return Err(CoreError::BadRequest(format!("Invalid date: {text}")));
            }
        }
        let start = start.and_then(|(_, d)| d);
        let end = end.and_then(|(_, d)| d);
        let last_updated = match p.last_updated.as_deref() {
            Some(t) => Some(
                parse_timestamp_ms(t)
                    .ok_or_else(|| CoreError::BadRequest(format!("Invalid date: {t}")))?,
            ),
            None => None,
        };
        let mut error: Option<CoreError> = None;
        if p.data_set.is_empty() && p.data_element.is_empty() && p.data_element_group.is_empty() {
            error = Some(CoreError::conflict(ErrorCode::E2001, &[]));
        }
        let has_dates = start.is_some() && end.is_some();
        if p.period.is_empty()
            && !has_dates
            && p.last_updated.is_none()
            && p.last_updated_duration.is_none()
        {
            error = Some(CoreError::conflict(ErrorCode::E2002, &[]));
        }
        if let (Some(s), Some(e)) = (start, end)
            && p.period.is_empty()
            && s > e
        {
            error = Some(CoreError::conflict(ErrorCode::E2004, &[]));
        }
        let duration = match p.last_updated_duration.as_deref() {
            Some(d) => {
                let ms = duration_ms(d);
                if ms.is_none() {
                    error = Some(CoreError::conflict(ErrorCode::E2005, &[d]));
                }
                ms
            }
            None => None,
        };
        if p.org_unit.is_empty() && p.org_unit_group.is_empty() {
            error = Some(CoreError::conflict(ErrorCode::E2006, &[]));
        }
        if p.children && !p.org_unit_group.is_empty() && !p.org_unit.is_empty() {
            error = Some(CoreError::conflict(ErrorCode::E2007, &[]));
        }
        if p.children && p.org_unit.is_empty() {
            error = Some(CoreError::conflict(ErrorCode::E2008, &[]));
        }
        if let Some(l) = p.limit
            && l < 0
        {
            error = Some(CoreError::conflict(ErrorCode::E2009, &[&l.to_string()]));
        }
        if let Some(e) = error {
            return Err(e);
        }

        let general = p.input.input_id_scheme;
        let ds_scheme = input_lookup(p.input.input_data_set_id_scheme, general);
        let data_sets: Vec<DataSetId> = p
            .data_set
            .iter()
            .filter_map(|d| {
                snap.data_set_id(ds_scheme, d).or_else(|| {
                    p.adx
                        .then(|| snap.data_set_id(LookupScheme::Code, d))
                        .flatten()
                })
            })
            .collect();
        let mut elements: Vec<DataElementId> = Vec::new();
        if p.data_element_group.is_empty() {
            for ds in &data_sets {
                if let Some(info) = snap.data_set(*ds) {
                    elements.extend(info.elements.iter().map(|e| e.data_element));
                }
            }
            let de_scheme = input_lookup(p.input.input_data_element_id_scheme, general);
            elements.extend(
                p.data_element
                    .iter()
                    .filter_map(|d| snap.data_element_id(de_scheme, d)),
            );
        } else {
            // Element groups replace data sets and elements (quirk).
            let g_scheme = input_lookup(p.input.input_data_element_group_id_scheme, general);
            for g in &p.data_element_group {
                if let Some(info) = snap
                    .data_element_group_id(g_scheme, g)
                    .and_then(|id| snap.data_element_group(id))
                {
                    elements.extend(info.members.iter().copied());
                }
            }
        }
        elements.sort_unstable();
        elements.dedup();

        let ou_scheme = input_lookup(p.input.input_org_unit_id_scheme, general);
        let roots: Vec<OrgUnitId> = user.view_roots(&snap);
        let mut org_units: Vec<OrgUnitId> = Vec::new();
        let mut requested: Vec<OrgUnitId> = Vec::new();
        for o in &p.org_unit {
            let found = snap.org_unit_id(ou_scheme, o).or_else(|| {
                p.adx
                    .then(|| snap.org_unit_id(LookupScheme::Code, o))
                    .flatten()
            });
            if let Some(id) = found {
                if !snap.is_in_any_subtree(id, &roots) {
                    let uid = snap.org_unit(id).map(|i| i.common.uid.to_string());
                    return Err(CoreError::conflict(
                        ErrorCode::E2012,
                        &[uid.as_deref().unwrap_or(o)],
                    ));
                }
                requested.push(id);
                if p.children {
                    org_units.extend_from_slice(snap.org_unit_subtree(id));
                } else {
                    org_units.push(id);
                }
            }
        }
        for g in &p.org_unit_group {
            if let Some(id) = snap.org_unit_group_id(ou_scheme, g) {
                org_units.extend(
                    snap.org_unit_group_members(id)
                        .iter()
                        .filter(|ou| snap.is_in_any_subtree(**ou, &roots)),
                );
            }
        }
        org_units.sort_unstable();
        org_units.dedup();

        let periods: Vec<Period> = p.period.iter().filter_map(|s| Period::parse(s)).collect();
        let filter = if !p.period.is_empty() {
            PeriodFilter::Keys(
                periods
                    .iter()
                    .map(|p| crate::import::period_key(*p))
                    .collect(),
            )
        } else if let (Some(start), Some(end)) = (start, end) {
            PeriodFilter::Within { start, end }
        } else {
            PeriodFilter::Any
        };
        let aocs = if p.attribute_option_combo.is_empty() {
            None
        } else {
            let aoc_scheme = input_lookup(None, general);
            Some(
                p.attribute_option_combo
                    .iter()
                    .filter_map(|a| snap.category_option_combo_id(aoc_scheme, a))
                    .map(|id: CategoryOptionComboId| id.0)
                    .collect(),
            )
        };
        let since = last_updated.or_else(|| duration.map(|d| now_ms - d));
        let single = match (&data_sets[..], &periods[..], &requested[..]) {
            ([ds], [pe], [ou]) if p.data_element_group.is_empty() && !p.children => {
                Some((*ds, *pe, *ou))
            }
            _ => None,
        };
        Ok(ExportPlan {
            query: ExportQuery {
                data_elements: elements.into_iter().map(|d| d.0).collect(),
                periods: filter,
                org_units: org_units.into_iter().map(|o| o.0).collect(),
                attribute_option_combos: aocs,
                include_deleted: p.include_deleted,
                last_updated_since_ms: since,
                limit: p.limit.map(|l| l.unsigned_abs()),
                order: ExportOrder::Storage,
            },
            output: if p.adx {
                OutputIdSchemes::adx(p.output)
            } else {
                OutputIdSchemes::new(p.output)
            },
            data_sets,
            single,
            dates: start.zip(end),
        })
    }

    /// Streams the planned export as ADX.
    ///
    /// # Errors
    /// See [`App::run_adx_export`].
    pub fn run_planned_adx(&self, plan: &ExportPlan, out: &mut dyn Write) -> Result<()> {
        self.run_adx_export(&plan.query, &plan.data_sets, &plan.output, out)
    }

    /// Streams the planned export into `out` in `format`.
    ///
    /// # Errors
    /// Storage failures, or the output going away.
    pub fn run_export(
        &self,
        plan: &ExportPlan,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<()> {
        let snap = self.snapshot();
        let io = |e: std::io::Error| CoreError::Internal(format!("writing the export: {e}"));
        let header_parts = plan.single.map(|(ds, pe, ou)| {
            let default_aoc = snap.defaults().category_option_combo;
            let complete = self
                .store
                .registration(ds.0, crate::import::period_key(pe), ou.0, default_aoc.0)
                .ok()
                .flatten()
                .filter(|r| r.completed)
                .map(|r| tally_formats::epoch_millis_to_string(r.date_ms));
            (
                ident(&snap, ObjectKind::DataSet, ds.0, &plan.output).map(str::to_owned),
                complete,
                pe.to_string(),
                ident(&snap, ObjectKind::OrgUnit, ou.0, &plan.output).map(str::to_owned),
            )
        });
        let header = match &header_parts {
            Some((ds, complete, pe, ou)) => ExportHeader {
                data_set: ds.as_deref(),
                complete_date: complete.as_deref(),
                period: Some(pe),
                org_unit: ou.as_deref(),
            },
            None => ExportHeader::default(),
        };
        let mut writer = match format {
            ExportFormat::Json => AnyWriter::Json(JsonWriter::new(out)),
            ExportFormat::Xml => AnyWriter::Xml(XmlWriter::new(out)),
            ExportFormat::Csv => AnyWriter::Csv(CsvWriter::new(out)),
        };
        writer.begin(&header).map_err(io)?;
        let mut periods: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
        let mut created = String::with_capacity(32);
        let mut updated = String::with_capacity(32);
        let mut failure: Option<std::io::Error> = None;
        self.store.export(&plan.query, &mut |row| {
            let pe = periods
                .entry(row.key.period)
                .or_insert_with(|| period_from_key(row.key.period));
            created.clear();
            tally_formats::format_epoch_millis(row.created_ms, &mut created);
            updated.clear();
            tally_formats::format_epoch_millis(row.last_updated_ms, &mut updated);
            let v = ExportValue {
                data_element: ident(
                    &snap,
                    ObjectKind::DataElement,
                    row.key.data_element,
                    &plan.output,
                ),
                period: Some(pe.as_str()),
                org_unit: ident(&snap, ObjectKind::OrgUnit, row.key.org_unit, &plan.output),
                category_option_combo: ident(
                    &snap,
                    ObjectKind::CategoryOptionCombo,
                    row.key.category_option_combo,
                    &plan.output,
                ),
                attribute_option_combo: ident(
                    &snap,
                    ObjectKind::AttributeOptionCombo,
                    row.key.attribute_option_combo,
                    &plan.output,
                ),
                value: row.value,
                stored_by: row.stored_by,
                created: &created,
                last_updated: &updated,
                comment: row.comment,
                followup: row.followup,
                deleted: row.deleted,
            };
            match writer.write(&v) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(io(e));
        }
        writer.finish().map_err(io)
    }
}

/// The ISO id of a stored period key (see [`crate::import::period_key`]).
pub(crate) fn period_from_key(key: i64) -> String {
    let ty = (key / 100_000_000 - 1) as usize;
    let ymd = key % 100_000_000;
    let date = Date::new(
        (ymd / 10_000) as i16,
        ((ymd / 100) % 100) as i8,
        (ymd % 100) as i8,
    );
    tally_domain::period::PeriodType::ALL
        .get(ty)
        .zip(date.ok())
        .and_then(|(t, d)| Period::from_start(*t, d))
        .map(|p| p.to_string())
        .unwrap_or_default()
}

pub(crate) fn ident_pub<'s>(
    snap: &'s Snapshot,
    kind: ObjectKind,
    id: u32,
    out: &OutputIdSchemes,
) -> Option<&'s str> {
    ident(snap, kind, id, out)
}

fn ident<'s>(
    snap: &'s Snapshot,
    kind: ObjectKind,
    id: u32,
    out: &OutputIdSchemes,
) -> Option<&'s str> {
    use tally_domain::metadata::ObjectKind as K;
    let mkind = match kind {
        ObjectKind::DataElement => K::DataElement,
        ObjectKind::OrgUnit => K::OrganisationUnit,
        ObjectKind::CategoryOptionCombo | ObjectKind::AttributeOptionCombo => {
            K::CategoryOptionCombo
        }
        ObjectKind::DataSet => K::DataSet,
        ObjectKind::Category => K::Category,
        ObjectKind::CategoryOption => K::CategoryOption,
    };
    snap.identifier(mkind, id, output_lookup(out.scheme_for(kind)))
}

enum AnyWriter<'w> {
    Json(JsonWriter<&'w mut dyn Write>),
    Xml(XmlWriter<&'w mut dyn Write>),
    Csv(CsvWriter<&'w mut dyn Write>),
}

impl AnyWriter<'_> {
    fn begin(&mut self, h: &ExportHeader<'_>) -> std::io::Result<()> {
        match self {
            Self::Json(w) => w.begin(h),
            Self::Xml(w) => w.begin(h),
            Self::Csv(w) => w.begin(h),
        }
    }

    fn write(&mut self, v: &ExportValue<'_>) -> std::io::Result<()> {
        match self {
            Self::Json(w) => w.write(v),
            Self::Xml(w) => w.write(v),
            Self::Csv(w) => w.write(v),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Self::Json(w) => w.finish().map(drop),
            Self::Xml(w) => w.finish().map(drop),
            Self::Csv(w) => w.finish().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_accepted_form() {
        let d = Date::new(2024, 1, 5).unwrap();
        assert_eq!(parse_date("2024-01-05"), Some(d));
        assert_eq!(parse_date("20240105"), Some(d));
        assert_eq!(parse_date("2024-01-05T10:00:00"), Some(d));
        assert_eq!(parse_date("2024-01"), Date::new(2024, 1, 1).ok());
        assert_eq!(parse_date("2024"), Date::new(2024, 1, 1).ok());
        assert_eq!(parse_date("x"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("2d"), Some(172_800_000));
        assert_eq!(duration_ms("10m"), Some(600_000));
        assert_eq!(duration_ms("5x"), None);
        assert_eq!(duration_ms("d"), None);
    }

    #[test]
    fn period_keys_round_trip() {
        for iso in [
            "202401",
            "2024W1",
            "2015NovS1",
            "2014Nov",
            "20240229",
            "2024Q3",
        ] {
            let p = Period::parse(iso).unwrap();
            assert_eq!(period_from_key(crate::import::period_key(p)), iso);
        }
    }
}

//! ADX export (spec §9.5): one `<group>` per (data set, org unit, period, AOC) with
//! values, categories as attributes, text values as `value="0"` plus `<annotation>`.

use std::io::Write;
use std::ops::ControlFlow;

use tally_domain::id_scheme::{ObjectKind, OutputIdSchemes};
use tally_domain::metadata::{
    CategoryOptionComboId, DataElementId, DataSetId, LookupScheme, ObjectKind as Kind, Snapshot,
};
use tally_domain::period::Period;
use tally_formats::AdxWriter;
use tally_store::{ExportOrder, ExportQuery};

use crate::App;
use crate::error::{CoreError, Result};
use crate::import::lookup;

/// `(category identifier, option identifier)` pairs of an option combo, or the reason
/// (DHIS2's AdxException text) an identifier is missing.
fn category_attributes(
    snap: &Snapshot,
    coc: CategoryOptionComboId,
    cat_scheme: LookupScheme,
    opt_scheme: LookupScheme,
) -> Result<Vec<(String, String)>> {
    if coc == snap.defaults().category_option_combo {
        return Ok(Vec::new());
    }
    let Some(info) = snap.category_option_combo(coc) else {
        return Ok(Vec::new());
    };
    let Some(combo) = snap.category_combo(info.category_combo) else {
        return Ok(Vec::new());
    };
    let conflict = |message: String| CoreError::Conflict {
        code: None,
        message,
    };
    let mut out = Vec::with_capacity(combo.categories.len());
    for cat in combo.categories.iter() {
        let Some(cat_info) = snap.category(*cat) else {
            continue;
        };
        let Some(cat_id) = snap.identifier(Kind::Category, cat.0, cat_scheme) else {
            return Err(conflict(format!(
                "No category identifier for: {}",
                cat_info.common.name()
            )));
        };
        let Some(option) = info.options.iter().find(|o| cat_info.options.contains(o)) else {
            continue;
        };
        let Some(opt_id) = snap.identifier(Kind::CategoryOption, option.0, opt_scheme) else {
            let name = snap
                .category_option(*option)
                .map(|o| o.common.name().to_owned())
                .unwrap_or_default();
            return Err(conflict(format!(
                "No identifier for CategoryOption: {name}"
            )));
        };
        out.push((cat_id.to_owned(), opt_id.trim().to_owned()));
    }
    Ok(out)
}

impl App {
    /// Streams an ADX export of `data_sets` over the query's org units and periods.
    ///
    /// # Errors
    /// 409 for an identifier missing under the output scheme, storage failures, the
    /// output going away.
    pub fn run_adx_export(
        &self,
        base: &ExportQuery,
        data_sets: &[DataSetId],
        output: &OutputIdSchemes,
        out: &mut dyn Write,
    ) -> Result<()> {
        let snap = self.snapshot();
        let scheme = |k: ObjectKind| lookup(output.scheme_for(k));
        let (cat_scheme, opt_scheme) = (
            scheme(ObjectKind::Category),
            scheme(ObjectKind::CategoryOption),
        );
        let io = |e: std::io::Error| CoreError::Internal(format!("writing the export: {e}"));
        let mut w = AdxWriter::new(out);
        for ds in data_sets {
            let Some(ds_info) = snap.data_set(*ds) else {
                continue;
            };
            let ds_id = snap
                .identifier(Kind::DataSet, ds.0, scheme(ObjectKind::DataSet))
                .unwrap_or("")
                .to_owned();
            let mut q = base.clone();
            q.data_elements = ds_info.elements.iter().map(|e| e.data_element.0).collect();
            q.order = ExportOrder::OrgUnitPeriod;
            let mut current: Option<(u32, i64, u32)> = None;
            let mut failure: Option<CoreError> = None;
            let mut period_text = String::new();
            self.store.export(&q, &mut |row| {
                let key = (
                    row.key.org_unit,
                    row.key.period,
                    row.key.attribute_option_combo,
                );
                let mut step = || -> Result<()> {
                    if current != Some(key) {
                        if current.is_some() {
                            w.end_group().map_err(io)?;
                        }
                        current = Some(key);
                        period_text = super::period_from_key(row.key.period)
                            .parse::<Period>()
                            .map(Period::to_adx)
                            .unwrap_or_default();
                        let ou = snap
                            .identifier(Kind::OrganisationUnit, key.0, scheme(ObjectKind::OrgUnit))
                            .unwrap_or("");
                        let aoc = category_attributes(
                            &snap,
                            CategoryOptionComboId(key.2),
                            cat_scheme,
                            opt_scheme,
                        )?;
                        let mut attrs: Vec<(&str, &str)> = vec![
                            ("dataSet", ds_id.as_str()),
                            ("period", period_text.as_str()),
                            ("orgUnit", ou),
                        ];
                        attrs.extend(aoc.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                        w.group(&attrs).map_err(io)?;
                    }
                    let de = super::ident_pub(
                        &snap,
                        ObjectKind::DataElement,
                        row.key.data_element,
                        output,
                    )
                    .unwrap_or("");
                    let cats = category_attributes(
                        &snap,
                        CategoryOptionComboId(row.key.category_option_combo),
                        cat_scheme,
                        opt_scheme,
                    )?;
                    let cats: Vec<(&str, &str)> =
                        cats.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let numeric = snap
                        .data_element(DataElementId(row.key.data_element))
                        .is_some_and(|d| d.value_type_enum.is_numeric());
                    let value = row.value.unwrap_or("");
                    if numeric {
                        w.value(de, &cats, value, None).map_err(io)
                    } else {
                        w.value(de, &cats, "0", Some(value)).map_err(io)
                    }
                };
                match step() {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
            if current.is_some() {
                w.end_group().map_err(io)?;
            }
        }
        w.finish().map(drop).map_err(io)
    }
}

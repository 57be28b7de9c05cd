//! Merging a metadata document into the current set: create-and-update by UID, DHIS2-style
//! validation, derived fields, and the import report.
//!
//! Semantics (DHIS2 `POST /api/metadata` with `importStrategy=CREATE_AND_UPDATE`,
//! `atomicMode=ALL`, `mergeMode=REPLACE`):
//!
//! * An object whose UID exists (per type) replaces the stored one entirely (fields absent
//!   from the document become empty); other objects are created. The store's internal id
//!   of a replaced object is kept.
//! * Every object of the document is validated against the resulting set: required
//!   properties (E4000), enum-like values and dates (E4027), references (E5002, for the
//!   associations DHIS2 checks), attribute values (E5002, E4010, E4009), codes unique per
//!   type (E5003), option codes unique per set (E4028), plus tally's own structural checks
//!   (T4001–T4004). Any error refuses the whole import (atomic mode ALL): nothing changes
//!   and every object counts as ignored.
//! * A UID repeated within one type of the document keeps the first object (E5004, a
//!   warning, as DHIS2's preheat does).
//! * Derived data: organisation unit `path` and `level` are recomputed from the parents
//!   for every unit (moving a unit updates its descendants); the four default objects are
//!   added if missing; every option combination of a category combo that no category
//!   option combo covers gets a generated COC (see [`generated_coc_uid`]).
//!
//! Not supported: deletion (`importStrategy=DELETE`), `atomicMode=NONE`, references by code
//! (`preheatIdentifier=CODE`), sharing and users.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::document::MetadataDocument;
use super::model::{
    Attribute, Category, CategoryCombo, CategoryOption, CategoryOptionCombo, DataElement, DataSet,
    Identifiable, ObjectKind, OptionItem, OptionSet, OrganisationUnit, Ref, Section,
    parse_dhis2_date,
};
use super::report::{ErrorCode, ErrorReport, ImportReport, ObjectReport, Stats, TypeReport};
use super::set::{DefaultUids, MetadataSet, MetadataType, put_typed, with_kind};
use crate::period::PeriodType;
use crate::uid::Uid;
use crate::value_type::ValueType;

/// Whether `name` is a DHIS2 value type name (exact, as DHIS2 metadata writes it).
fn is_value_type(name: &str) -> bool {
    name.parse::<ValueType>().is_ok()
}

/// Whether `name` is a DHIS2 period type name (any letter case, as DHIS2's
/// `getByNameIgnoreCase`). `TwoYearly` is accepted although no ISO period exists for it,
/// so exports holding such a data set still load.
fn is_period_type(name: &str) -> bool {
    name.parse::<PeriodType>().is_ok() || name.eq_ignore_ascii_case("TwoYearly")
}

/// Largest number of option combinations of one category combo the merge generates COCs
/// for. Larger combos are refused (T4004): they are almost certainly a mistake and would
/// make the snapshot huge.
pub const MAX_GENERATED_COMBINATIONS: usize = 10_000;

/// Which objects of the document may be created or updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeStrategy {
    /// Create new objects, replace existing ones (DHIS2 `CREATE_AND_UPDATE`, the default).
    #[default]
    CreateAndUpdate,
    /// Only create; an existing UID is an error (E5000).
    Create,
    /// Only update; an unknown UID is an error (E5001).
    Update,
}

/// Options of a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOptions {
    /// Create, update, or both.
    pub strategy: MergeStrategy,
}

/// How an object of the resulting set differs from the current set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// New object from the document.
    Created,
    /// Existing object replaced by a different version from the document.
    Updated,
    /// New object the merge made itself (generated COC, missing default object).
    Generated,
    /// Existing object not in the document but changed by a derivation (an org unit's path
    /// and level after an ancestor moved).
    Derived,
}

/// One object the store has to write after an applied merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Change {
    /// Object kind.
    pub kind: ObjectKind,
    /// Object UID; read the new version with [`MetadataSet::object`].
    pub uid: Uid,
    /// What happened.
    pub change: ChangeKind,
}

/// The new state after an applied merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeResult {
    /// The complete new set. New objects have no internal id yet.
    pub set: MetadataSet,
    /// The objects the store has to write: those that differ from the current set, and
    /// every object without an internal id (objects of the document identical to their
    /// stored version are counted as updated in the report, as DHIS2 does, but not listed
    /// here). Sorted by kind, then UID.
    pub changes: Vec<Change>,
}

/// Result of [`merge`]: always a report; the new state only if the import was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    /// DHIS2-shaped import report.
    pub report: ImportReport,
    /// `None` when the import was refused (status ERROR).
    pub applied: Option<MergeResult>,
}

/// Merges `document` into `current` (which is not modified) with create-and-update by UID,
/// validates the result, and reports like DHIS2. See the module documentation for the
/// rules.
#[must_use]
pub fn merge(
    current: &MetadataSet,
    document: &MetadataDocument,
    options: &MergeOptions,
) -> MergeOutcome {
    let mut m = Merger {
        current,
        set: current.clone(),
        touched: BTreeMap::new(),
        stats: BTreeMap::new(),
        errors: Vec::new(),
        doc_counts: BTreeMap::new(),
    };
    m.set.add_missing_defaults();
    for kind in ObjectKind::ALL {
        with_kind!(kind, T => m.apply::<T>(document, options.strategy));
    }
    m.validate();
    let fatal = m.errors.iter().any(|e| e.report.error_code.is_fatal());
    let mut changes = Vec::new();
    if !fatal {
        m.normalise_period_types();
        m.derive_paths(&mut changes);
        m.generate_cocs(&mut changes);
    }
    let fatal = m.errors.iter().any(|e| e.report.error_code.is_fatal());
    let report = m.report(document, fatal);
    if fatal {
        return MergeOutcome {
            report,
            applied: None,
        };
    }
    m.collect_changes(&mut changes);
    changes.sort();
    changes.dedup_by(|a, b| a.kind == b.kind && a.uid == b.uid);
    MergeOutcome {
        report,
        applied: Some(MergeResult {
            set: m.set,
            changes,
        }),
    }
}

/// UID of the category option combo generated for a combination: a pure function of the
/// combo UID and the option UIDs (in category order), so regenerating gives the same UID
/// on every server. Collisions with an existing COC are resolved by the merge with the
/// next `attempt`.
#[must_use]
pub fn generated_coc_uid(combo: Uid, options: &[Uid], attempt: u32) -> Uid {
    // FNV-1a over the UIDs, then a xorshift stream feeding Uid::generate.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(b"coc:");
    eat(combo.as_str().as_bytes());
    for o in options {
        eat(b"/");
        eat(o.as_str().as_bytes());
    }
    eat(&attempt.to_le_bytes());
    let mut state = hash | 1;
    Uid::generate(|| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    })
}

/// An error found for one object of the document.
struct Found {
    kind: ObjectKind,
    uid: Uid,
    /// Position in the document, when the error is about a specific duplicate entry.
    index: Option<usize>,
    report: ErrorReport,
}

struct Merger<'a> {
    current: &'a MetadataSet,
    set: MetadataSet,
    /// Objects of the document (first occurrence per UID) with their document index.
    touched: BTreeMap<(ObjectKind, Uid), usize>,
    stats: BTreeMap<ObjectKind, Stats>,
    errors: Vec<Found>,
    doc_counts: BTreeMap<ObjectKind, usize>,
}

/// `Name [uid] (Type)`, or `[uid] (Type)` without a name, as DHIS2 describes objects.
fn describe(kind: ObjectKind, uid: Uid, name: Option<&str>) -> String {
    match name.filter(|n| !n.trim().is_empty()) {
        Some(n) => format!("{n} [{uid}] ({})", kind.simple_name()),
        None => format!("[{uid}] ({})", kind.simple_name()),
    }
}

fn blank(value: Option<&str>) -> bool {
    value.is_none_or(|v| v.trim().is_empty())
}

impl Merger<'_> {
    fn apply<T: MetadataType>(&mut self, document: &MetadataDocument, strategy: MergeStrategy) {
        let items = T::in_document(document);
        if items.is_empty() {
            return;
        }
        self.doc_counts.insert(T::KIND, items.len());
        let mut stats = Stats::default();
        for (index, object) in items.iter().enumerate() {
            let uid = object.uid();
            if self.touched.contains_key(&(T::KIND, uid)) {
                stats.ignored += 1;
                let args = vec![uid.to_string(), T::KIND.simple_name().to_owned()];
                self.push(
                    T::KIND,
                    uid,
                    Some(index),
                    ErrorCode::E5004,
                    format!(
                        "Id `{uid}` for type `{}` exists on more than 1 object in the payload, \
                         removing all but the first found.",
                        T::KIND.simple_name()
                    ),
                    None,
                    None,
                    args,
                );
                continue;
            }
            self.touched.insert((T::KIND, uid), index);
            let existing = T::map(self.current).get(&uid);
            match (strategy, existing.is_some()) {
                (MergeStrategy::Create, true) => {
                    let what = describe(T::KIND, uid, object.name());
                    self.push(
                        T::KIND,
                        uid,
                        None,
                        ErrorCode::E5000,
                        format!(
                            "Found matching object for reference, but import mode is CREATE. \
                             Identifier was UID, and object was {what}."
                        ),
                        None,
                        None,
                        vec!["UID".to_owned(), what],
                    );
                }
                (MergeStrategy::Update, false) => {
                    let what = describe(T::KIND, uid, object.name());
                    self.push(
                        T::KIND,
                        uid,
                        None,
                        ErrorCode::E5001,
                        format!(
                            "No matching object for reference. Identifier was UID, and object \
                             was {what}."
                        ),
                        None,
                        None,
                        vec!["UID".to_owned(), what],
                    );
                }
                _ => {}
            }
            if existing.is_some() {
                stats.updated += 1;
            } else {
                stats.created += 1;
            }
            let internal_id = existing.and_then(|s| s.internal_id);
            put_typed(&mut self.set, object.clone(), internal_id);
        }
        stats.total = stats.created + stats.updated + stats.ignored;
        self.stats.insert(T::KIND, stats);
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: ObjectKind,
        uid: Uid,
        index: Option<usize>,
        code: ErrorCode,
        message: String,
        error_klass: Option<&'static str>,
        property: Option<&str>,
        args: Vec<String>,
    ) {
        self.errors.push(Found {
            kind,
            uid,
            index,
            report: ErrorReport {
                message,
                main_klass: kind.klass(),
                error_klass,
                error_code: code,
                error_property: property.map(str::to_owned),
                error_properties: args,
                main_id: Some(uid),
            },
        });
    }

    fn name_of(&self, kind: ObjectKind, uid: Uid) -> Option<String> {
        with_kind!(kind, T => self
            .set
            .get::<T>(uid)
            .and_then(|s| s.object.name().map(str::to_owned)))
    }

    fn missing(&mut self, kind: ObjectKind, uid: Uid, property: &str) {
        self.push(
            kind,
            uid,
            None,
            ErrorCode::E4000,
            format!("Missing required property `{property}`."),
            None,
            Some(property),
            vec![property.to_owned()],
        );
    }

    fn invalid_value(&mut self, kind: ObjectKind, uid: Uid, property: &str, value: &str) {
        self.push(
            kind,
            uid,
            None,
            ErrorCode::E4027,
            format!("Value `{value}` is not a valid for property `{property}`"),
            None,
            Some(property),
            vec![value.to_owned(), property.to_owned()],
        );
    }

    fn check_date(&mut self, kind: ObjectKind, uid: Uid, property: &str, value: Option<&str>) {
        if let Some(v) = value
            && parse_dhis2_date(v).is_none()
        {
            self.invalid_value(kind, uid, property, v);
        }
    }

    fn check_enum(
        &mut self,
        kind: ObjectKind,
        uid: Uid,
        property: &str,
        value: Option<&str>,
        valid: impl Fn(&str) -> bool,
    ) {
        match value {
            None => self.missing(kind, uid, property),
            Some(v) if !valid(v) => self.invalid_value(kind, uid, property, v),
            Some(_) => {}
        }
    }

    fn validate(&mut self) {
        let touched: Vec<(ObjectKind, Uid)> = self.touched.keys().copied().collect();
        for &(kind, uid) in &touched {
            with_kind!(kind, T => self.validate_common::<T>(uid));
        }
        for &(kind, uid) in &touched {
            self.validate_specific(kind, uid);
        }
        self.validate_codes(&touched);
        self.validate_unique_attributes(&touched);
        self.validate_option_codes(&touched);
        self.validate_hierarchy(&touched);
        self.validate_defaults(&touched);
        self.validate_cocs(&touched);
    }

    /// Name, references and attribute values.
    fn validate_common<T: MetadataType>(&mut self, uid: Uid) {
        let Some(stored) = self.set.get::<T>(uid) else {
            return;
        };
        let object = stored.object.clone();
        let kind = T::KIND;
        if kind != ObjectKind::CategoryOptionCombo && blank(object.name()) {
            self.missing(kind, uid, "name");
        }
        let this = describe(kind, uid, object.name());
        for (target_kind, property, target) in object.references() {
            if !self.set.contains(target_kind, target) {
                self.invalid_reference(kind, uid, &this, target_kind, target, property);
            }
        }
        for value in object.attribute_values() {
            let attribute_uid = value.attribute.id;
            match self.set.get::<Attribute>(attribute_uid) {
                None => self.invalid_reference(
                    kind,
                    uid,
                    &this,
                    ObjectKind::Attribute,
                    attribute_uid,
                    "attributeValues",
                ),
                Some(a) if !a.object.applies_to(kind) => self.push(
                    kind,
                    uid,
                    None,
                    ErrorCode::E4010,
                    format!(
                        "Attribute `{attribute_uid}` is not supported for type `{}`.",
                        kind.simple_name()
                    ),
                    Some(ObjectKind::Attribute.klass()),
                    Some("attributeValues"),
                    vec![attribute_uid.to_string(), kind.simple_name().to_owned()],
                ),
                Some(_) => {}
            }
        }
    }

    fn invalid_reference(
        &mut self,
        kind: ObjectKind,
        uid: Uid,
        this: &str,
        target_kind: ObjectKind,
        target: Uid,
        property: &str,
    ) {
        let reference = describe(target_kind, target, None);
        self.push(
            kind,
            uid,
            None,
            ErrorCode::E5002,
            format!("Invalid reference {reference} on object {this} for association `{property}`."),
            Some(target_kind.klass()),
            Some(property),
            vec![reference, this.to_owned(), property.to_owned()],
        );
    }

    /// Required properties and value formats per type.
    fn validate_specific(&mut self, kind: ObjectKind, uid: Uid) {
        match kind {
            ObjectKind::Attribute => {
                if let Some(a) = self.set.get::<Attribute>(uid).map(|s| s.object.clone()) {
                    self.check_enum(
                        kind,
                        uid,
                        "valueType",
                        a.value_type.as_deref(),
                        is_value_type,
                    );
                }
            }
            ObjectKind::OrganisationUnit => {
                if let Some(o) = self
                    .set
                    .get::<OrganisationUnit>(uid)
                    .map(|s| s.object.clone())
                {
                    if blank(o.short_name.as_deref()) {
                        self.missing(kind, uid, "shortName");
                    }
                    match o.opening_date.as_deref() {
                        None => self.missing(kind, uid, "openingDate"),
                        d => self.check_date(kind, uid, "openingDate", d),
                    }
                    self.check_date(kind, uid, "closedDate", o.closed_date.as_deref());
                }
            }
            ObjectKind::CategoryOption => {
                if let Some(o) = self
                    .set
                    .get::<CategoryOption>(uid)
                    .map(|s| s.object.clone())
                {
                    self.check_date(kind, uid, "startDate", o.start_date.as_deref());
                    self.check_date(kind, uid, "endDate", o.end_date.as_deref());
                }
            }
            ObjectKind::CategoryOptionCombo => {
                let combo = self
                    .set
                    .get::<CategoryOptionCombo>(uid)
                    .map(|s| s.object.category_combo);
                if combo == Some(None) {
                    self.missing(kind, uid, "categoryCombo");
                }
            }
            ObjectKind::OptionSet => {
                let value_type = self
                    .set
                    .get::<OptionSet>(uid)
                    .map(|s| s.object.value_type.clone());
                if let Some(value_type) = value_type {
                    self.check_enum(kind, uid, "valueType", value_type.as_deref(), is_value_type);
                }
            }
            ObjectKind::OptionItem => {
                let code = self
                    .set
                    .get::<OptionItem>(uid)
                    .map(|s| s.object.code.clone());
                if code.is_some_and(|c| blank(c.as_deref())) {
                    self.missing(kind, uid, "code");
                }
            }
            ObjectKind::DataElement => {
                if let Some(o) = self.set.get::<DataElement>(uid).map(|s| s.object.clone()) {
                    if blank(o.short_name.as_deref()) {
                        self.missing(kind, uid, "shortName");
                    }
                    self.check_enum(
                        kind,
                        uid,
                        "valueType",
                        o.value_type.as_deref(),
                        is_value_type,
                    );
                    if blank(o.aggregation_type.as_deref()) {
                        self.missing(kind, uid, "aggregationType");
                    }
                    self.check_enum(kind, uid, "domainType", o.domain_type.as_deref(), |d| {
                        matches!(d, "AGGREGATE" | "TRACKER")
                    });
                }
            }
            ObjectKind::DataSet => {
                if let Some(o) = self.set.get::<DataSet>(uid).map(|s| s.object.clone()) {
                    self.check_enum(
                        kind,
                        uid,
                        "periodType",
                        o.period_type.as_deref(),
                        is_period_type,
                    );
                    for p in &o.data_input_periods {
                        self.check_date(kind, uid, "openingDate", p.opening_date.as_deref());
                        self.check_date(kind, uid, "closingDate", p.closing_date.as_deref());
                    }
                }
            }
            ObjectKind::Section => {
                let data_set = self.set.get::<Section>(uid).map(|s| s.object.data_set);
                if data_set == Some(None) {
                    self.missing(kind, uid, "dataSet");
                }
            }
            ObjectKind::OrganisationUnitGroup
            | ObjectKind::Category
            | ObjectKind::CategoryCombo
            | ObjectKind::DataElementGroup => {}
        }
    }

    /// Codes are unique per type (options: per option set, see E4028).
    fn validate_codes(&mut self, touched: &[(ObjectKind, Uid)]) {
        let kinds: BTreeSet<ObjectKind> = touched
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| *k != ObjectKind::OptionItem)
            .collect();
        for kind in kinds {
            let mut holders: HashMap<String, Vec<Uid>> = HashMap::new();
            with_kind!(kind, T => {
                for s in self.set.iter::<T>() {
                    if let Some(code) = s.object.code().filter(|c| !c.is_empty()) {
                        holders.entry(code.to_owned()).or_default().push(s.object.uid());
                    }
                }
            });
            for &(k, uid) in touched.iter().filter(|(k, _)| *k == kind) {
                let Some(code) = with_kind!(k, T => self
                    .set
                    .get::<T>(uid)
                    .and_then(|s| s.object.code().map(str::to_owned)))
                else {
                    continue;
                };
                let Some(other) = holders
                    .get(&code)
                    .and_then(|v| v.iter().find(|u| **u != uid).copied())
                else {
                    continue;
                };
                let this = describe(kind, uid, self.name_of(kind, uid).as_deref());
                let that = describe(kind, other, self.name_of(kind, other).as_deref());
                self.push(
                    kind,
                    uid,
                    None,
                    ErrorCode::E5003,
                    format!(
                        "Property `code` with value `{code}` on object {this} already exists on \
                         object {that}."
                    ),
                    None,
                    Some("code"),
                    vec!["code".to_owned(), code.clone(), this, that],
                );
            }
        }
    }

    /// Values of unique attributes are unique per type.
    fn validate_unique_attributes(&mut self, touched: &[(ObjectKind, Uid)]) {
        let unique: HashSet<Uid> = self
            .set
            .iter::<Attribute>()
            .filter(|a| a.object.unique)
            .map(|a| a.object.id)
            .collect();
        if unique.is_empty() {
            return;
        }
        let mut index: HashMap<(ObjectKind, Uid), HashMap<String, Vec<Uid>>> = HashMap::new();
        for &(kind, uid) in touched {
            let values: Vec<(Uid, String)> = with_kind!(kind, T => self
                .set
                .get::<T>(uid)
                .map(|s| {
                    s.object
                        .attribute_values()
                        .iter()
                        .filter(|v| unique.contains(&v.attribute.id))
                        .map(|v| (v.attribute.id, v.value.clone()))
                        .collect()
                })
                .unwrap_or_default());
            for (attribute, value) in values {
                let holders = index.entry((kind, attribute)).or_insert_with(|| {
                    let mut map: HashMap<String, Vec<Uid>> = HashMap::new();
                    with_kind!(kind, T => {
                        for s in self.set.iter::<T>() {
                            for v in s.object.attribute_values() {
                                if v.attribute.id == attribute {
                                    map.entry(v.value.clone()).or_default().push(s.object.uid());
                                }
                            }
                        }
                    });
                    map
                });
                let clash = holders
                    .get(&value)
                    .is_some_and(|v| v.iter().any(|u| *u != uid));
                if clash {
                    self.push(
                        kind,
                        uid,
                        None,
                        ErrorCode::E4009,
                        format!(
                            "Attribute `{attribute}` is unique, and value `{value}` already exist."
                        ),
                        Some(ObjectKind::Attribute.klass()),
                        Some("attributeValues"),
                        vec![attribute.to_string(), value],
                    );
                }
            }
        }
    }

    /// The codes of an option set: its listed options, then options pointing at it that
    /// it does not list (sorted by sort order, then UID).
    fn option_members(set: &MetadataSet, option_set: Uid) -> Vec<Uid> {
        let mut members: Vec<Uid> = set
            .get::<OptionSet>(option_set)
            .map(|s| s.object.options.iter().map(|r| r.id).collect())
            .unwrap_or_default();
        let listed: HashSet<Uid> = members.iter().copied().collect();
        let mut extra: Vec<(i32, Uid)> = set
            .iter::<OptionItem>()
            .filter(|o| {
                o.object.option_set.map(|r| r.id) == Some(option_set)
                    && !listed.contains(&o.object.id)
            })
            .map(|o| (o.object.sort_order.unwrap_or(i32::MAX), o.object.id))
            .collect();
        extra.sort();
        members.extend(extra.into_iter().map(|(_, u)| u));
        members
    }

    fn validate_option_codes(&mut self, touched: &[(ObjectKind, Uid)]) {
        let mut sets: BTreeSet<Uid> = BTreeSet::new();
        for &(kind, uid) in touched {
            match kind {
                ObjectKind::OptionSet => {
                    sets.insert(uid);
                }
                ObjectKind::OptionItem => {
                    if let Some(r) = self
                        .set
                        .get::<OptionItem>(uid)
                        .and_then(|o| o.object.option_set)
                    {
                        sets.insert(r.id);
                    }
                }
                _ => {}
            }
        }
        for option_set in sets {
            let mut seen: HashMap<String, Uid> = HashMap::new();
            for option in Self::option_members(&self.set, option_set) {
                let Some(code) = self
                    .set
                    .get::<OptionItem>(option)
                    .and_then(|o| o.object.code.clone())
                else {
                    continue;
                };
                let Some(first) = seen.get(&code).copied() else {
                    seen.insert(code, option);
                    continue;
                };
                // Report on an object of the document: the later option, the earlier one,
                // or the set (one of them is in the document, the set was valid before).
                let option_touched =
                    |u: Uid| self.touched.contains_key(&(ObjectKind::OptionItem, u));
                let (kind, uid) = if option_touched(option) {
                    (ObjectKind::OptionItem, option)
                } else if option_touched(first) {
                    (ObjectKind::OptionItem, first)
                } else {
                    (ObjectKind::OptionSet, option_set)
                };
                let set_name = describe(
                    ObjectKind::OptionSet,
                    option_set,
                    self.name_of(ObjectKind::OptionSet, option_set).as_deref(),
                );
                self.push(
                    kind,
                    uid,
                    None,
                    ErrorCode::E4028,
                    format!("Option set `{set_name}` already contains option `{code}`"),
                    Some(ObjectKind::OptionItem.klass()),
                    Some("options"),
                    vec![set_name, code],
                );
            }
        }
    }

    /// No organisation unit is its own ancestor.
    fn validate_hierarchy(&mut self, touched: &[(ObjectKind, Uid)]) {
        let limit = self.set.count(ObjectKind::OrganisationUnit);
        for &(kind, uid) in touched {
            if kind != ObjectKind::OrganisationUnit {
                continue;
            }
            let mut chain = vec![uid];
            let mut at = uid;
            let mut cycle = false;
            while let Some(parent) = self
                .set
                .get::<OrganisationUnit>(at)
                .and_then(|s| s.object.parent)
            {
                if parent.id == uid {
                    cycle = true;
                    chain.push(parent.id);
                    break;
                }
                if chain.len() > limit {
                    // A cycle above this unit; reported for the units on it.
                    break;
                }
                chain.push(parent.id);
                at = parent.id;
            }
            if cycle {
                let path: Vec<String> = chain.iter().map(Uid::to_string).collect();
                let path = path.join(" -> ");
                let this = describe(kind, uid, self.name_of(kind, uid).as_deref());
                self.push(
                    kind,
                    uid,
                    None,
                    ErrorCode::T4001,
                    format!("Organisation unit {this} is its own ancestor: {path}"),
                    None,
                    Some("parent"),
                    vec![this, path],
                );
            }
        }
    }

    /// The default objects keep DHIS2's structure (their name, code and attribute values
    /// may change).
    fn validate_defaults(&mut self, touched: &[(ObjectKind, Uid)]) {
        let d = DefaultUids::get();
        let default_option = vec![Ref::from(d.category_option)];
        for &(kind, uid) in touched {
            let broken: Option<&str> = match kind {
                ObjectKind::CategoryCombo if uid == d.category_combo => self
                    .set
                    .get::<CategoryCombo>(uid)
                    .filter(|c| c.object.categories != vec![Ref::from(d.category)])
                    .map(|_| "categories"),
                ObjectKind::Category if uid == d.category => self
                    .set
                    .get::<Category>(uid)
                    .filter(|c| c.object.category_options != default_option)
                    .map(|_| "categoryOptions"),
                ObjectKind::CategoryOptionCombo if uid == d.category_option_combo => {
                    self.set.get::<CategoryOptionCombo>(uid).and_then(|c| {
                        if c.object.category_combo != Some(Ref::from(d.category_combo)) {
                            Some("categoryCombo")
                        } else if c.object.category_options != default_option {
                            Some("categoryOptions")
                        } else {
                            None
                        }
                    })
                }
                ObjectKind::CategoryOption if uid == d.category_option => self
                    .set
                    .get::<CategoryOption>(uid)
                    .filter(|c| !c.object.organisation_units.is_empty())
                    .map(|_| "organisationUnits"),
                _ => None,
            };
            if let Some(property) = broken {
                let this = describe(kind, uid, self.name_of(kind, uid).as_deref());
                self.push(
                    kind,
                    uid,
                    None,
                    ErrorCode::T4002,
                    format!("Default object {this} must keep its `{property}`"),
                    None,
                    Some(property),
                    vec![this, property.to_owned()],
                );
            }
        }
    }

    /// Category option combos of the document select exactly one option of each category
    /// of their combo, and no other COC of the combo has the same options.
    fn validate_cocs(&mut self, touched: &[(ObjectKind, Uid)]) {
        let mut by_options: HashMap<(Uid, Vec<Uid>), Vec<Uid>> = HashMap::new();
        for s in self.set.iter::<CategoryOptionCombo>() {
            if let Some(combo) = s.object.category_combo {
                let mut options: Vec<Uid> =
                    s.object.category_options.iter().map(|r| r.id).collect();
                options.sort();
                by_options
                    .entry((combo.id, options))
                    .or_default()
                    .push(s.object.id);
            }
        }
        let default_coc = DefaultUids::get().category_option_combo;
        for &(kind, uid) in touched {
            // The default COC's structure is fixed (T4002).
            if kind != ObjectKind::CategoryOptionCombo || uid == default_coc {
                continue;
            }
            let Some(coc) = self
                .set
                .get::<CategoryOptionCombo>(uid)
                .map(|s| s.object.clone())
            else {
                continue;
            };
            let Some(combo) = coc
                .category_combo
                .and_then(|r| self.set.get::<CategoryCombo>(r.id))
            else {
                continue; // missing or broken reference, reported already
            };
            let combo_uid = combo.object.id;
            let mut problem: Option<String> = None;
            let options: Vec<Uid> = coc.category_options.iter().map(|r| r.id).collect();
            if options.len() != combo.object.categories.len() {
                problem = Some(format!(
                    "has {} options but its combo has {} categories",
                    options.len(),
                    combo.object.categories.len()
                ));
            } else {
                for category in &combo.object.categories {
                    let Some(c) = self.set.get::<Category>(category.id) else {
                        continue;
                    };
                    let hits = c
                        .object
                        .category_options
                        .iter()
                        .filter(|o| options.contains(&o.id))
                        .count();
                    if hits != 1 {
                        problem = Some(format!(
                            "selects {hits} options of category {}",
                            describe(ObjectKind::Category, category.id, c.object.name.as_deref())
                        ));
                        break;
                    }
                }
            }
            if problem.is_none() {
                let mut sorted = options.clone();
                sorted.sort();
                if let Some(other) = by_options
                    .get(&(combo_uid, sorted))
                    .and_then(|v| v.iter().find(|u| **u != uid))
                {
                    problem = Some(format!("has the same options as {other}"));
                }
            }
            if let Some(problem) = problem {
                let this = describe(kind, uid, coc.name.as_deref());
                let combo_desc = describe(
                    ObjectKind::CategoryCombo,
                    combo_uid,
                    combo.object.name.as_deref(),
                );
                self.push(
                    kind,
                    uid,
                    None,
                    ErrorCode::T4003,
                    format!(
                        "Category option combo {this} of category combo {combo_desc} {problem}"
                    ),
                    Some(ObjectKind::CategoryCombo.klass()),
                    Some("categoryOptions"),
                    vec![this, combo_desc, problem],
                );
            }
        }
    }

    /// Writes the period types of the document's data sets in DHIS2's spelling
    /// (`monthly` becomes `Monthly`), so later exact comparisons hold.
    fn normalise_period_types(&mut self) {
        for &(kind, uid) in self.touched.keys() {
            if kind != ObjectKind::DataSet {
                continue;
            }
            if let Some(stored) = self.set.data_sets.get_mut(&uid)
                && let Some(pt) = stored.object.period_type.as_mut()
                && let Ok(parsed) = pt.parse::<PeriodType>()
            {
                parsed.name().clone_into(pt);
            }
        }
    }

    /// Recomputes `path` and `level` of every organisation unit from the parents.
    fn derive_paths(&mut self, changes: &mut Vec<Change>) {
        let count = self.set.count(ObjectKind::OrganisationUnit);
        let mut paths: HashMap<Uid, (String, u32)> = HashMap::with_capacity(count);
        let uids: Vec<Uid> = self
            .set
            .iter::<OrganisationUnit>()
            .map(|s| s.object.id)
            .collect();
        for uid in uids {
            if paths.contains_key(&uid) {
                continue;
            }
            // Climb to the first unit with a known path (or a root).
            let mut chain = vec![uid];
            let mut at = uid;
            let mut base: Option<(String, u32)> = None;
            while let Some(parent) = self
                .set
                .get::<OrganisationUnit>(at)
                .and_then(|s| s.object.parent)
            {
                if let Some(known) = paths.get(&parent.id) {
                    base = Some(known.clone());
                    break;
                }
                if chain.len() > count {
                    break; // cycle: validation refused it already
                }
                chain.push(parent.id);
                at = parent.id;
            }
            let (mut path, mut level) = base.unwrap_or((String::new(), 0));
            for u in chain.into_iter().rev() {
                path.push('/');
                path.push_str(u.as_str());
                level += 1;
                paths.insert(u, (path.clone(), level));
            }
        }
        for (uid, stored) in &mut self.set.organisation_units {
            let Some((path, level)) = paths.remove(uid) else {
                continue;
            };
            let o = &mut stored.object;
            if o.path.as_deref() != Some(path.as_str()) || o.level != Some(level) {
                o.path = Some(path);
                o.level = Some(level);
                if !self
                    .touched
                    .contains_key(&(ObjectKind::OrganisationUnit, *uid))
                {
                    changes.push(Change {
                        kind: ObjectKind::OrganisationUnit,
                        uid: *uid,
                        change: ChangeKind::Derived,
                    });
                }
            }
        }
    }

    /// Adds a COC for every option combination of a combo that no COC covers.
    fn generate_cocs(&mut self, changes: &mut Vec<Change>) {
        let mut covered: HashSet<(Uid, Vec<Uid>)> = HashSet::new();
        for s in self.set.iter::<CategoryOptionCombo>() {
            if let Some(combo) = s.object.category_combo {
                let mut options: Vec<Uid> =
                    s.object.category_options.iter().map(|r| r.id).collect();
                options.sort();
                covered.insert((combo.id, options));
            }
        }
        let combos: Vec<CategoryCombo> = self
            .set
            .iter::<CategoryCombo>()
            .map(|s| s.object.clone())
            .collect();
        for combo in combos {
            let categories: Vec<Category> = combo
                .categories
                .iter()
                .filter_map(|r| self.set.get::<Category>(r.id).map(|s| s.object.clone()))
                .collect();
            let affected = self
                .touched
                .contains_key(&(ObjectKind::CategoryCombo, combo.id))
                || categories
                    .iter()
                    .any(|c| self.touched.contains_key(&(ObjectKind::Category, c.id)));
            let count = categories
                .iter()
                .try_fold(1usize, |acc, c| acc.checked_mul(c.category_options.len()));
            match count {
                Some(n) if n <= MAX_GENERATED_COMBINATIONS => {}
                _ => {
                    if affected {
                        let this =
                            describe(ObjectKind::CategoryCombo, combo.id, combo.name.as_deref());
                        let n = count.map_or_else(|| "too many".to_owned(), |n| n.to_string());
                        let (kind, uid) = if self
                            .touched
                            .contains_key(&(ObjectKind::CategoryCombo, combo.id))
                        {
                            (ObjectKind::CategoryCombo, combo.id)
                        } else {
                            let c = categories
                                .iter()
                                .find(|c| self.touched.contains_key(&(ObjectKind::Category, c.id)))
                                .map_or(combo.id, |c| c.id);
                            (ObjectKind::Category, c)
                        };
                        self.push(
                            kind,
                            uid,
                            None,
                            ErrorCode::T4004,
                            format!(
                                "Category combo {this} has {n} option combinations, more than \
                                 the {MAX_GENERATED_COMBINATIONS} tally generates"
                            ),
                            Some(ObjectKind::CategoryCombo.klass()),
                            Some("categories"),
                            vec![this, n],
                        );
                    }
                    continue;
                }
            }
            if categories.len() != combo.categories.len()
                || categories.is_empty()
                || count == Some(0)
            {
                continue;
            }
            // Odometer over the categories' options, first category slowest.
            let mut digits = vec![0usize; categories.len()];
            'combinations: loop {
                let options: Vec<Uid> = categories
                    .iter()
                    .zip(&digits)
                    .map(|(c, &i)| c.category_options[i].id)
                    .collect();
                let mut sorted = options.clone();
                sorted.sort();
                if covered.insert((combo.id, sorted)) {
                    self.add_generated_coc(&combo, &options, changes);
                }
                for pos in (0..digits.len()).rev() {
                    digits[pos] += 1;
                    if digits[pos] < categories[pos].category_options.len() {
                        continue 'combinations;
                    }
                    digits[pos] = 0;
                }
                break;
            }
        }
    }

    fn add_generated_coc(
        &mut self,
        combo: &CategoryCombo,
        options: &[Uid],
        changes: &mut Vec<Change>,
    ) {
        let mut attempt = 0;
        let uid = loop {
            let uid = generated_coc_uid(combo.id, options, attempt);
            if !self.set.contains(ObjectKind::CategoryOptionCombo, uid) {
                break uid;
            }
            attempt += 1;
        };
        let names: Vec<String> = options
            .iter()
            .map(|o| {
                self.set
                    .get::<CategoryOption>(*o)
                    .and_then(|s| s.object.name.clone())
                    .unwrap_or_else(|| o.to_string())
            })
            .collect();
        let coc = CategoryOptionCombo {
            id: uid,
            code: None,
            name: Some(names.join(", ")),
            short_name: None,
            created: None,
            last_updated: None,
            attribute_values: Vec::new(),
            category_combo: Some(Ref::from(combo.id)),
            category_options: options.iter().map(|o| Ref::from(*o)).collect(),
            ignore_approval: false,
        };
        put_typed(&mut self.set, coc, None);
        changes.push(Change {
            kind: ObjectKind::CategoryOptionCombo,
            uid,
            change: ChangeKind::Generated,
        });
    }

    /// Lists the document's objects that differ from the current set, and every object
    /// that has no internal id yet.
    fn collect_changes(&self, changes: &mut Vec<Change>) {
        for &(kind, uid) in self.touched.keys() {
            let change = with_kind!(kind, T => {
                match (T::map(self.current).get(&uid), self.set.get::<T>(uid)) {
                    (None, Some(_)) => Some(ChangeKind::Created),
                    (Some(old), Some(new)) if old.object != new.object => Some(ChangeKind::Updated),
                    _ => None,
                }
            });
            if let Some(change) = change {
                changes.push(Change { kind, uid, change });
            }
        }
        // Anything else without an internal id (the defaults of a fresh set, objects of an
        // earlier merge the store has not persisted yet) must be inserted too.
        let listed: HashSet<(ObjectKind, Uid)> = changes.iter().map(|c| (c.kind, c.uid)).collect();
        for (kind, uid) in self.set.missing_internal_ids() {
            if !listed.contains(&(kind, uid)) {
                changes.push(Change {
                    kind,
                    uid,
                    change: ChangeKind::Generated,
                });
            }
        }
    }

    fn report(&self, document: &MetadataDocument, refused: bool) -> ImportReport {
        let mut per_kind: BTreeMap<ObjectKind, BTreeMap<usize, ObjectReport>> = BTreeMap::new();
        for found in &self.errors {
            let index = found
                .index
                .or_else(|| self.touched.get(&(found.kind, found.uid)).copied())
                .unwrap_or(0);
            let reports = per_kind.entry(found.kind).or_default();
            let entry = reports.entry(index).or_insert_with(|| ObjectReport {
                klass: found.kind.klass(),
                index,
                uid: Some(found.uid),
                display_name: with_kind!(found.kind, T => T::in_document(document)
                    .get(index)
                    .and_then(|o| o.name().map(str::to_owned))),
                error_reports: Vec::new(),
            });
            entry.error_reports.push(found.report.clone());
        }
        let mut type_reports = Vec::new();
        for kind in ObjectKind::ALL {
            // Errors always belong to objects of the document; the fallback keeps a stray
            // one visible rather than losing it.
            if !self.doc_counts.contains_key(&kind) && !per_kind.contains_key(&kind) {
                continue;
            }
            let count = self.doc_counts.get(&kind).copied().unwrap_or(0);
            let stats = if refused {
                let n = u32::try_from(count).unwrap_or(u32::MAX);
                Stats {
                    ignored: n,
                    total: n,
                    ..Stats::default()
                }
            } else {
                self.stats.get(&kind).copied().unwrap_or_default()
            };
            type_reports.push(TypeReport {
                klass: kind.klass(),
                stats,
                object_reports: per_kind
                    .remove(&kind)
                    .map(|m| m.into_values().collect())
                    .unwrap_or_default(),
            });
        }
        ImportReport::from_type_reports(type_reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_uids_are_deterministic_and_valid() {
        let combo = Uid::parse("bjDvmb4bfuf").unwrap();
        let a = Uid::parse("xYerKDKCefk").unwrap();
        let b = Uid::parse("GLevLNI9wkl").unwrap();
        let x = generated_coc_uid(combo, &[a, b], 0);
        assert_eq!(x, generated_coc_uid(combo, &[a, b], 0));
        assert_ne!(x, generated_coc_uid(combo, &[b, a], 0));
        assert_ne!(x, generated_coc_uid(combo, &[a, b], 1));
        assert!(Uid::is_valid(x.as_str()));
    }
}

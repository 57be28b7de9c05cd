//! The complete set of metadata objects, keyed by UID, with the store's internal ids.

use std::collections::{BTreeMap, HashMap};

use super::MetadataError;
use super::document::MetadataDocument;
use super::model::{
    Attribute, Category, CategoryCombo, CategoryOption, CategoryOptionCombo, DataDimensionType,
    DataElement, DataElementGroup, DataSet, Identifiable, MetadataObject, ObjectKind, OptionItem,
    OptionSet, OrganisationUnit, OrganisationUnitGroup, Ref, Section,
};
use crate::uid::Uid;

/// UID of DHIS2's default category combo, present in every DHIS2 database.
pub const DEFAULT_CATEGORY_COMBO_UID: &str = "bjDvmb4bfuf";
/// UID of DHIS2's default category.
pub const DEFAULT_CATEGORY_UID: &str = "GLevLNI9wkl";
/// UID of DHIS2's default category option.
pub const DEFAULT_CATEGORY_OPTION_UID: &str = "xYerKDKCefk";
/// UID of DHIS2's default category option combo (the COC and AOC of undisaggregated data).
pub const DEFAULT_CATEGORY_OPTION_COMBO_UID: &str = "HllvX50cXC0";

/// Parses one of the UID constants above.
pub(crate) fn fixed_uid(text: &'static str) -> Uid {
    match Uid::parse(text) {
        Ok(uid) => uid,
        // The constants are valid UIDs; a unit test checks them.
        Err(_) => unreachable!("invalid UID constant {text}"),
    }
}

/// The UIDs of the four default objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultUids {
    /// The default category combo.
    pub category_combo: Uid,
    /// The default category.
    pub category: Uid,
    /// The default category option.
    pub category_option: Uid,
    /// The default category option combo.
    pub category_option_combo: Uid,
}

impl DefaultUids {
    /// DHIS2's fixed default UIDs.
    #[must_use]
    pub fn get() -> DefaultUids {
        DefaultUids {
            category_combo: fixed_uid(DEFAULT_CATEGORY_COMBO_UID),
            category: fixed_uid(DEFAULT_CATEGORY_UID),
            category_option: fixed_uid(DEFAULT_CATEGORY_OPTION_UID),
            category_option_combo: fixed_uid(DEFAULT_CATEGORY_OPTION_COMBO_UID),
        }
    }
}

/// A metadata object with the id the store gave it (`None` until the store has persisted
/// a newly created object).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// The store's internal id.
    pub internal_id: Option<u32>,
    /// The object.
    pub object: T,
}

/// Typed access to the part of a [`MetadataSet`] (and of a [`MetadataDocument`]) holding
/// one object type. Implemented by every object struct.
pub trait MetadataType: Identifiable + Clone + PartialEq + Sized + 'static {
    /// The set's objects of this type.
    fn map(set: &MetadataSet) -> &BTreeMap<Uid, Stored<Self>>;
    /// Mutable access to the set's objects of this type.
    fn map_mut(set: &mut MetadataSet) -> &mut BTreeMap<Uid, Stored<Self>>;
    /// The document's objects of this type.
    fn in_document(doc: &MetadataDocument) -> &[Self];
    /// Wraps the object in the [`MetadataObject`] enum.
    fn into_object(self) -> MetadataObject;
}

macro_rules! metadata_type {
    ($t:ident, $field:ident) => {
        impl MetadataType for $t {
            fn map(set: &MetadataSet) -> &BTreeMap<Uid, Stored<Self>> {
                &set.$field
            }
            fn map_mut(set: &mut MetadataSet) -> &mut BTreeMap<Uid, Stored<Self>> {
                &mut set.$field
            }
            fn in_document(doc: &MetadataDocument) -> &[Self] {
                &doc.$field
            }
            fn into_object(self) -> MetadataObject {
                MetadataObject::$t(self)
            }
        }
    };
}

metadata_type!(Attribute, attributes);
metadata_type!(OrganisationUnit, organisation_units);
metadata_type!(OrganisationUnitGroup, organisation_unit_groups);
metadata_type!(CategoryOption, category_options);
metadata_type!(Category, categories);
metadata_type!(CategoryCombo, category_combos);
metadata_type!(CategoryOptionCombo, category_option_combos);
metadata_type!(OptionSet, option_sets);
metadata_type!(OptionItem, options);
metadata_type!(DataElement, data_elements);
metadata_type!(DataElementGroup, data_element_groups);
metadata_type!(DataSet, data_sets);
metadata_type!(Section, sections);

/// Runs `$body` with the type alias `$t` bound to the struct of `$kind`.
macro_rules! with_kind {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            $crate::metadata::model::ObjectKind::Attribute => {
                type $t = $crate::metadata::model::Attribute;
                $body
            }
            $crate::metadata::model::ObjectKind::OrganisationUnit => {
                type $t = $crate::metadata::model::OrganisationUnit;
                $body
            }
            $crate::metadata::model::ObjectKind::OrganisationUnitGroup => {
                type $t = $crate::metadata::model::OrganisationUnitGroup;
                $body
            }
            $crate::metadata::model::ObjectKind::CategoryOption => {
                type $t = $crate::metadata::model::CategoryOption;
                $body
            }
            $crate::metadata::model::ObjectKind::Category => {
                type $t = $crate::metadata::model::Category;
                $body
            }
            $crate::metadata::model::ObjectKind::CategoryCombo => {
                type $t = $crate::metadata::model::CategoryCombo;
                $body
            }
            $crate::metadata::model::ObjectKind::CategoryOptionCombo => {
                type $t = $crate::metadata::model::CategoryOptionCombo;
                $body
            }
            $crate::metadata::model::ObjectKind::OptionSet => {
                type $t = $crate::metadata::model::OptionSet;
                $body
            }
            $crate::metadata::model::ObjectKind::OptionItem => {
                type $t = $crate::metadata::model::OptionItem;
                $body
            }
            $crate::metadata::model::ObjectKind::DataElement => {
                type $t = $crate::metadata::model::DataElement;
                $body
            }
            $crate::metadata::model::ObjectKind::DataElementGroup => {
                type $t = $crate::metadata::model::DataElementGroup;
                $body
            }
            $crate::metadata::model::ObjectKind::DataSet => {
                type $t = $crate::metadata::model::DataSet;
                $body
            }
            $crate::metadata::model::ObjectKind::Section => {
                type $t = $crate::metadata::model::Section;
                $body
            }
        }
    };
}
pub(crate) use with_kind;

/// Every metadata object the server knows, by type and UID, each with the store's
/// internal id once it has one.
///
/// This is the input and output of [`super::merge`] and the input of
/// [`super::Snapshot::build`]. It always contains DHIS2's four default objects (default
/// category option, category, category combo and category option combo).
///
/// Store workflow: load every persisted object with [`MetadataSet::from_stored`]; merge a
/// document; persist the changed objects the merge lists, assigning ids to new ones with
/// [`MetadataSet::set_internal_id`] (see [`MetadataSet::missing_internal_ids`]); build
/// the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataSet {
    pub(crate) attributes: BTreeMap<Uid, Stored<Attribute>>,
    pub(crate) organisation_units: BTreeMap<Uid, Stored<OrganisationUnit>>,
    pub(crate) organisation_unit_groups: BTreeMap<Uid, Stored<OrganisationUnitGroup>>,
    pub(crate) category_options: BTreeMap<Uid, Stored<CategoryOption>>,
    pub(crate) categories: BTreeMap<Uid, Stored<Category>>,
    pub(crate) category_combos: BTreeMap<Uid, Stored<CategoryCombo>>,
    pub(crate) category_option_combos: BTreeMap<Uid, Stored<CategoryOptionCombo>>,
    pub(crate) option_sets: BTreeMap<Uid, Stored<OptionSet>>,
    pub(crate) options: BTreeMap<Uid, Stored<OptionItem>>,
    pub(crate) data_elements: BTreeMap<Uid, Stored<DataElement>>,
    pub(crate) data_element_groups: BTreeMap<Uid, Stored<DataElementGroup>>,
    pub(crate) data_sets: BTreeMap<Uid, Stored<DataSet>>,
    pub(crate) sections: BTreeMap<Uid, Stored<Section>>,
}

impl Default for MetadataSet {
    fn default() -> Self {
        Self::new()
    }
}

impl MetadataSet {
    /// A set with only the four default objects, none of them with an internal id yet.
    #[must_use]
    pub fn new() -> MetadataSet {
        let mut set = MetadataSet {
            attributes: BTreeMap::new(),
            organisation_units: BTreeMap::new(),
            organisation_unit_groups: BTreeMap::new(),
            category_options: BTreeMap::new(),
            categories: BTreeMap::new(),
            category_combos: BTreeMap::new(),
            category_option_combos: BTreeMap::new(),
            option_sets: BTreeMap::new(),
            options: BTreeMap::new(),
            data_elements: BTreeMap::new(),
            data_element_groups: BTreeMap::new(),
            data_sets: BTreeMap::new(),
            sections: BTreeMap::new(),
        };
        set.add_missing_defaults();
        set
    }

    /// Rebuilds a set from the store's rows. Default objects the rows lack are added
    /// without an internal id (the store should persist them).
    ///
    /// # Errors
    /// [`MetadataError::DuplicateUid`] or [`MetadataError::DuplicateInternalId`] when two
    /// rows of one kind share a UID or an id.
    pub fn from_stored(
        rows: impl IntoIterator<Item = (u32, MetadataObject)>,
    ) -> Result<MetadataSet, MetadataError> {
        let mut set = MetadataSet::new();
        for defaults in [
            ObjectKind::CategoryOption,
            ObjectKind::Category,
            ObjectKind::CategoryCombo,
            ObjectKind::CategoryOptionCombo,
        ] {
            with_kind!(defaults, T => T::map_mut(&mut set).clear());
        }
        let mut ids: HashMap<(ObjectKind, u32), Uid> = HashMap::new();
        for (id, object) in rows {
            let (kind, uid) = (object.kind(), object.uid());
            if let Some(first) = ids.insert((kind, id), uid) {
                return Err(MetadataError::DuplicateInternalId {
                    kind,
                    id,
                    first,
                    second: uid,
                });
            }
            if set.insert(object, Some(id)).is_some() {
                return Err(MetadataError::DuplicateUid { kind, uid });
            }
        }
        set.add_missing_defaults();
        Ok(set)
    }

    /// Inserts or replaces an object, returning the one it replaced.
    pub fn insert(
        &mut self,
        object: MetadataObject,
        internal_id: Option<u32>,
    ) -> Option<Stored<MetadataObject>> {
        macro_rules! put {
            ($o:expr) => {
                put_typed(self, $o, internal_id).map(|s| Stored {
                    internal_id: s.internal_id,
                    object: s.object.into_object(),
                })
            };
        }
        match object {
            MetadataObject::Attribute(o) => put!(o),
            MetadataObject::OrganisationUnit(o) => put!(o),
            MetadataObject::OrganisationUnitGroup(o) => put!(o),
            MetadataObject::CategoryOption(o) => put!(o),
            MetadataObject::Category(o) => put!(o),
            MetadataObject::CategoryCombo(o) => put!(o),
            MetadataObject::CategoryOptionCombo(o) => put!(o),
            MetadataObject::OptionSet(o) => put!(o),
            MetadataObject::OptionItem(o) => put!(o),
            MetadataObject::DataElement(o) => put!(o),
            MetadataObject::DataElementGroup(o) => put!(o),
            MetadataObject::DataSet(o) => put!(o),
            MetadataObject::Section(o) => put!(o),
        }
    }

    /// The stored object of type `T` with that UID.
    #[must_use]
    pub fn get<T: MetadataType>(&self, uid: Uid) -> Option<&Stored<T>> {
        T::map(self).get(&uid)
    }

    /// The objects of type `T`, in UID order.
    pub fn iter<T: MetadataType>(&self) -> impl Iterator<Item = &Stored<T>> {
        T::map(self).values()
    }

    /// A copy of the object of `kind` with that UID, with its internal id (for the store
    /// to persist it).
    #[must_use]
    pub fn object(&self, kind: ObjectKind, uid: Uid) -> Option<Stored<MetadataObject>> {
        with_kind!(kind, T => T::map(self).get(&uid).map(|s| Stored {
            internal_id: s.internal_id,
            object: s.object.clone().into_object(),
        }))
    }

    /// Whether an object of `kind` with that UID exists.
    #[must_use]
    pub fn contains(&self, kind: ObjectKind, uid: Uid) -> bool {
        with_kind!(kind, T => T::map(self).contains_key(&uid))
    }

    /// The internal id of an object, if it exists and has one.
    #[must_use]
    pub fn internal_id(&self, kind: ObjectKind, uid: Uid) -> Option<u32> {
        with_kind!(kind, T => T::map(self).get(&uid).and_then(|s| s.internal_id))
    }

    /// Records the id the store gave an object.
    ///
    /// # Errors
    /// [`MetadataError::UnknownObject`] when there is no such object.
    pub fn set_internal_id(
        &mut self,
        kind: ObjectKind,
        uid: Uid,
        id: u32,
    ) -> Result<(), MetadataError> {
        with_kind!(kind, T => match T::map_mut(self).get_mut(&uid) {
            Some(s) => {
                s.internal_id = Some(id);
                Ok(())
            }
            None => Err(MetadataError::UnknownObject { kind, uid }),
        })
    }

    /// Objects without an internal id, in kind then UID order: what the store still has to
    /// insert.
    #[must_use]
    pub fn missing_internal_ids(&self) -> Vec<(ObjectKind, Uid)> {
        let mut out = Vec::new();
        for kind in ObjectKind::ALL {
            with_kind!(kind, T => out.extend(
                T::map(self)
                    .iter()
                    .filter(|(_, s)| s.internal_id.is_none())
                    .map(|(uid, _)| (kind, *uid)),
            ));
        }
        out
    }

    /// Number of objects of `kind`.
    #[must_use]
    pub fn count(&self, kind: ObjectKind) -> usize {
        with_kind!(kind, T => T::map(self).len())
    }

    /// Every object with its internal id, in kind then UID order (for a full dump).
    pub fn objects(&self) -> impl Iterator<Item = Stored<MetadataObject>> + '_ {
        ObjectKind::ALL.into_iter().flat_map(move |kind| {
            let uids: Vec<Uid> = with_kind!(kind, T => T::map(self).keys().copied().collect());
            uids.into_iter()
                .filter_map(move |uid| self.object(kind, uid))
        })
    }

    /// Adds the default objects that are missing (without internal id).
    pub(crate) fn add_missing_defaults(&mut self) -> Vec<(ObjectKind, Uid)> {
        let d = DefaultUids::get();
        let mut added = Vec::new();
        let name = || Some("default".to_owned());
        if !self.category_options.contains_key(&d.category_option) {
            let object = CategoryOption {
                id: d.category_option,
                code: name(),
                name: name(),
                short_name: name(),
                created: None,
                last_updated: None,
                attribute_values: Vec::new(),
                start_date: None,
                end_date: None,
                organisation_units: Vec::new(),
                form_name: None,
            };
            put_typed(self, object, None);
            added.push((ObjectKind::CategoryOption, d.category_option));
        }
        if !self.categories.contains_key(&d.category) {
            let object = Category {
                id: d.category,
                code: name(),
                name: name(),
                short_name: name(),
                created: None,
                last_updated: None,
                attribute_values: Vec::new(),
                category_options: vec![Ref::from(d.category_option)],
                data_dimension_type: Some(DataDimensionType::Disaggregation),
                data_dimension: Some(false),
            };
            put_typed(self, object, None);
            added.push((ObjectKind::Category, d.category));
        }
        if !self.category_combos.contains_key(&d.category_combo) {
            let object = CategoryCombo {
                id: d.category_combo,
                code: name(),
                name: name(),
                short_name: None,
                created: None,
                last_updated: None,
                attribute_values: Vec::new(),
                categories: vec![Ref::from(d.category)],
                data_dimension_type: Some(DataDimensionType::Disaggregation),
                skip_total: false,
            };
            put_typed(self, object, None);
            added.push((ObjectKind::CategoryCombo, d.category_combo));
        }
        if !self
            .category_option_combos
            .contains_key(&d.category_option_combo)
        {
            let object = CategoryOptionCombo {
                id: d.category_option_combo,
                code: name(),
                name: name(),
                short_name: None,
                created: None,
                last_updated: None,
                attribute_values: Vec::new(),
                category_combo: Some(Ref::from(d.category_combo)),
                category_options: vec![Ref::from(d.category_option)],
                ignore_approval: false,
            };
            put_typed(self, object, None);
            added.push((ObjectKind::CategoryOptionCombo, d.category_option_combo));
        }
        added
    }
}

/// Inserts a typed object, keeping `internal_id` as given.
pub(crate) fn put_typed<T: MetadataType>(
    set: &mut MetadataSet,
    object: T,
    internal_id: Option<u32>,
) -> Option<Stored<T>> {
    T::map_mut(set).insert(
        object.uid(),
        Stored {
            internal_id,
            object,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_uid_constants_are_valid() {
        for s in [
            DEFAULT_CATEGORY_COMBO_UID,
            DEFAULT_CATEGORY_UID,
            DEFAULT_CATEGORY_OPTION_UID,
            DEFAULT_CATEGORY_OPTION_COMBO_UID,
        ] {
            assert!(Uid::is_valid(s), "{s}");
        }
    }

    #[test]
    fn new_set_has_the_defaults_without_ids() {
        let set = MetadataSet::new();
        assert_eq!(set.missing_internal_ids().len(), 4);
        let d = DefaultUids::get();
        assert!(set.contains(ObjectKind::CategoryOptionCombo, d.category_option_combo));
    }

    #[test]
    fn from_stored_rejects_duplicates_and_adds_defaults() {
        let set = MetadataSet::new();
        let rows: Vec<(u32, MetadataObject)> = set.objects().map(|s| (7, s.object)).collect();
        // Every kind differs, so id 7 is fine for all four.
        let rebuilt = MetadataSet::from_stored(rows.clone()).unwrap();
        assert!(rebuilt.missing_internal_ids().is_empty());
        let mut dup = rows.clone();
        dup.push((8, rows[0].1.clone()));
        assert!(matches!(
            MetadataSet::from_stored(dup),
            Err(MetadataError::DuplicateUid { .. })
        ));
        let partial = MetadataSet::from_stored(rows.into_iter().take(1)).unwrap();
        assert_eq!(partial.missing_internal_ids().len(), 3);
    }
}

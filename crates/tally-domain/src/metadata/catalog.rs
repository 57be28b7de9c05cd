//! The metadata catalog: the read side of the metadata, as the query engine
//! ([`crate::query`]) sees it.
//!
//! It holds the current [`MetadataSet`] (shared, never copied) plus collections that live
//! outside the domain model as JSON (users, user roles, user groups), and the inverse
//! associations DHIS2 shows on the other side of a reference (an org unit's `children`,
//! `dataSets` and `organisationUnitGroups`, a category combo's `categoryOptionCombos`, a
//! data element's `dataSetElements`...). Views are built on demand, so holding the
//! catalog costs only those indexes. Build a new catalog whenever the metadata changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::model::{Identifiable, ObjectKind};
use super::schemas;
use super::set::{MetadataSet, MetadataType, with_kind};
use crate::query::{Entry, Schema, Source};
use crate::uid::Uid;

/// `(source kind, source property)` → `(target kind, property derived on the target)`.
const INVERSES: &[(ObjectKind, &str, ObjectKind, &str)] = &[
    (
        ObjectKind::OrganisationUnit,
        "parent",
        ObjectKind::OrganisationUnit,
        "children",
    ),
    (
        ObjectKind::DataSet,
        "organisationUnits",
        ObjectKind::OrganisationUnit,
        "dataSets",
    ),
    (
        ObjectKind::OrganisationUnitGroup,
        "organisationUnits",
        ObjectKind::OrganisationUnit,
        "organisationUnitGroups",
    ),
    (
        ObjectKind::Category,
        "categoryOptions",
        ObjectKind::CategoryOption,
        "categories",
    ),
    (
        ObjectKind::CategoryOptionCombo,
        "categoryOptions",
        ObjectKind::CategoryOption,
        "categoryOptionCombos",
    ),
    (
        ObjectKind::CategoryCombo,
        "categories",
        ObjectKind::Category,
        "categoryCombos",
    ),
    (
        ObjectKind::CategoryOptionCombo,
        "categoryCombo",
        ObjectKind::CategoryCombo,
        "categoryOptionCombos",
    ),
    (
        ObjectKind::DataElementGroup,
        "dataElements",
        ObjectKind::DataElement,
        "dataElementGroups",
    ),
];

/// Collections the catalog can hold as JSON (they are not part of the domain model).
const JSON_COLLECTIONS: &[&str] = &[
    "users",
    "userRoles",
    "userGroups",
    "organisationUnitLevels",
    "dataEntryForms",
];

/// The read side of the metadata. See the module docs.
pub struct Catalog {
    set: Arc<MetadataSet>,
    /// `(target kind, derived property)` → target UID → source UIDs (in UID order).
    inverse: HashMap<(ObjectKind, &'static str), HashMap<Uid, Vec<Uid>>>,
    /// Data element → the `dataSetElements` that name it.
    data_set_elements: HashMap<Uid, Vec<Value>>,
    /// JSON collections by name, objects by id.
    json: HashMap<&'static str, BTreeMap<String, Map<String, Value>>>,
}

fn reference(id: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(id.to_owned()));
    Value::Object(m)
}

fn kind_of(collection: &str) -> Option<ObjectKind> {
    ObjectKind::ALL
        .into_iter()
        .find(|k| k.collection() == collection)
}

impl Catalog {
    /// A catalog of this metadata, with empty JSON collections.
    #[must_use]
    pub fn new(set: Arc<MetadataSet>) -> Catalog {
        let mut inverse: HashMap<(ObjectKind, &'static str), HashMap<Uid, Vec<Uid>>> =
            HashMap::new();
        for kind in ObjectKind::ALL {
            with_kind!(kind, T => {
                for (uid, stored) in T::map(&set) {
                    for (_, property, target) in stored.object.references() {
                        for (source_kind, source_property, target_kind, derived) in INVERSES {
                            if *source_kind == kind && *source_property == property {
                                inverse
                                    .entry((*target_kind, *derived))
                                    .or_default()
                                    .entry(target)
                                    .or_default()
                                    .push(*uid);
                            }
                        }
                    }
                }
            });
        }
        for targets in inverse.values_mut() {
            for sources in targets.values_mut() {
                sources.dedup();
            }
        }
        let mut data_set_elements: HashMap<Uid, Vec<Value>> = HashMap::new();
        for stored in set.iter::<super::DataSet>() {
            let ds = &stored.object;
            for e in &ds.data_set_elements {
                let mut m = Map::new();
                m.insert("dataSet".into(), reference(ds.id.as_str()));
                m.insert("dataElement".into(), reference(e.data_element.id.as_str()));
                if let Some(cc) = e.category_combo {
                    m.insert("categoryCombo".into(), reference(cc.id.as_str()));
                }
                data_set_elements
                    .entry(e.data_element.id)
                    .or_default()
                    .push(Value::Object(m));
            }
        }
        let json = JSON_COLLECTIONS
            .iter()
            .map(|c| (*c, BTreeMap::new()))
            .collect();
        Catalog {
            set,
            inverse,
            data_set_elements,
            json,
        }
    }

    /// Sets the objects of a JSON collection (`users`, `userRoles`, `userGroups`); each
    /// is the object's complete view and needs a string `id`. Other collection names
    /// are ignored.
    #[must_use]
    pub fn with_objects(
        mut self,
        collection: &str,
        objects: impl IntoIterator<Item = Map<String, Value>>,
    ) -> Catalog {
        if let Some(map) = JSON_COLLECTIONS
            .iter()
            .find(|c| **c == collection)
            .and_then(|c| self.json.get_mut(c))
        {
            map.clear();
            for o in objects {
                if let Some(id) = o.get("id").and_then(Value::as_str) {
                    map.insert(id.to_owned(), o);
                }
            }
        }
        self
    }

    /// The metadata this catalog reads.
    #[must_use]
    pub fn metadata(&self) -> &Arc<MetadataSet> {
        &self.set
    }

    fn domain_view(&self, kind: ObjectKind, uid: Uid) -> Option<Map<String, Value>> {
        let value = with_kind!(kind, T => {
            let stored = T::map(&self.set).get(&uid)?;
            serde_json::to_value(&stored.object).ok()?
        });
        let Value::Object(mut m) = value else {
            return None;
        };
        self.add_computed(kind, uid, &mut m);
        Some(m)
    }

    fn add_computed(&self, kind: ObjectKind, uid: Uid, m: &mut Map<String, Value>) {
        for (from, to) in [
            ("name", "displayName"),
            ("shortName", "displayShortName"),
            ("description", "displayDescription"),
        ] {
            if let Some(v) = m.get(from).cloned() {
                m.insert(to.into(), v);
            }
        }
        for (_, _, target, derived) in INVERSES {
            if *target == kind {
                let refs = self
                    .inverse
                    .get(&(kind, *derived))
                    .and_then(|t| t.get(&uid))
                    .map(|sources| sources.iter().map(|s| reference(s.as_str())).collect())
                    .unwrap_or_default();
                m.insert((*derived).into(), Value::Array(refs));
            }
        }
        match kind {
            ObjectKind::DataElement | ObjectKind::CategoryOption => {
                if let Some(v) = m.get("formName").or_else(|| m.get("name")).cloned() {
                    m.insert("displayFormName".into(), v);
                }
                if kind == ObjectKind::DataElement {
                    let elements = self
                        .data_set_elements
                        .get(&uid)
                        .cloned()
                        .unwrap_or_default();
                    m.insert("dataSetElements".into(), Value::Array(elements));
                }
            }
            ObjectKind::OrganisationUnit => {
                let ancestors = m
                    .get("path")
                    .and_then(Value::as_str)
                    .map(|path| {
                        path.split('/')
                            .filter(|s| !s.is_empty() && *s != uid.as_str())
                            .map(reference)
                            .collect()
                    })
                    .unwrap_or_default();
                m.insert("ancestors".into(), Value::Array(ancestors));
            }
            ObjectKind::DataSet => {
                // Each element names its data set, as DHIS2 writes it.
                if let Some(Value::Array(elements)) = m.get_mut("dataSetElements") {
                    for e in elements.iter_mut().filter_map(Value::as_object_mut) {
                        e.entry("dataSet")
                            .or_insert_with(|| reference(uid.as_str()));
                    }
                }
            }
            _ => {}
        }
    }
}

impl Source for Catalog {
    fn schema(&self, collection: &str) -> Option<&'static Schema> {
        schemas::by_collection(collection)
    }

    fn entries(&self, collection: &str) -> Vec<Entry<'_>> {
        if let Some(kind) = kind_of(collection) {
            return with_kind!(kind, T => T::map(&self.set)
                .iter()
                .map(|(uid, stored)| Entry {
                    id: uid.as_str(),
                    name: stored.object.name(),
                })
                .collect());
        }
        self.json.get(collection).map_or_else(Vec::new, |objects| {
            objects
                .iter()
                .map(|(id, o)| Entry {
                    id: id.as_str(),
                    name: o.get("name").and_then(Value::as_str),
                })
                .collect()
        })
    }

    fn view(&self, collection: &str, id: &str) -> Option<Map<String, Value>> {
        if let Some(kind) = kind_of(collection) {
            let uid = Uid::parse(id).ok()?;
            return self.domain_view(kind, uid);
        }
        self.json.get(collection)?.get(id).cloned()
    }

    fn contains(&self, collection: &str, id: &str) -> bool {
        if let Some(kind) = kind_of(collection) {
            return Uid::parse(id).is_ok_and(|uid| self.set.contains(kind, uid));
        }
        self.json
            .get(collection)
            .is_some_and(|o| o.contains_key(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{MergeOptions, merge, parse_metadata_document};

    pub(crate) fn demo() -> Catalog {
        let text = include_str!("../../../../fixtures/metadata/demo.json");
        let doc = parse_metadata_document(text).unwrap();
        let outcome = merge(&MetadataSet::new(), &doc, &MergeOptions::default());
        let set = outcome.applied.expect("demo metadata merges").set;
        Catalog::new(Arc::new(set))
    }

    #[test]
    fn every_stored_property_is_in_its_schema() {
        let c = demo();
        for kind in ObjectKind::ALL {
            let schema = c.schema(kind.collection()).unwrap();
            for e in c.entries(kind.collection()) {
                let view = c.view(kind.collection(), e.id).unwrap();
                for key in view.keys() {
                    assert!(
                        schema.property(key).is_some(),
                        "{}.{key} missing from the schema",
                        kind.collection()
                    );
                }
            }
        }
    }

    #[test]
    fn inverse_associations_are_derived() {
        let c = demo();
        let sl = c.view("organisationUnits", "ImspTQPwCqd").unwrap();
        let children = sl["children"].as_array().unwrap();
        assert!(children.iter().any(|r| r["id"] == "O6uvpzGd5pu"));
        assert_eq!(sl["displayName"], "Sierra Leone");
        let bo = c.view("organisationUnits", "O6uvpzGd5pu").unwrap();
        assert_eq!(bo["ancestors"], serde_json::json!([{"id": "ImspTQPwCqd"}]));
        let default_combo = c.view("categoryCombos", "bjDvmb4bfuf").unwrap();
        assert_eq!(
            default_combo["categoryOptionCombos"],
            serde_json::json!([{"id": "HllvX50cXC0"}])
        );
        let measles = c.view("dataElements", "f7n9E0hX8qk").unwrap();
        assert_eq!(
            measles["dataSetElements"][0]["dataSet"]["id"],
            "pBOMPrpg1QX"
        );
        assert_eq!(measles["displayFormName"], "Measles deaths < 5 years");
        assert!(c.contains("dataSets", "pBOMPrpg1QX"));
        assert!(!c.contains("dataSets", "not-a-uid"));
        assert!(c.view("users", "x").is_none());
    }
}

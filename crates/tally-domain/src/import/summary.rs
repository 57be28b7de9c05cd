//! The import summary DHIS2 returns, and the conflict list with DHIS2's grouping.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::ErrorCode;

/// Overall result of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ImportStatus {
    Success,
    Warning,
    Error,
}

impl ImportStatus {
    /// The DHIS2 name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

/// The four counts; every value lands in exactly one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCount {
    pub imported: u64,
    pub updated: u64,
    pub ignored: u64,
    pub deleted: u64,
}

/// One (possibly grouped) conflict.
///
/// Conflicts with an error code carry `objects`, `property` and `indexes`; the legacy
/// form (completion problems, ADX conversion errors) has only `object` and `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Ordered `(schema name, identifier)` pairs, e.g. `("dataElement", "nonEx1sting")`.
    pub objects: Vec<(String, String)>,
    /// Legacy object label; when `None`, the first of `objects` is written.
    pub object: Option<String>,
    pub value: String,
    pub error_code: Option<ErrorCode>,
    pub property: Option<String>,
    /// 0-based positions of the values that hit this conflict; `None` for legacy and
    /// data-set-level conflicts.
    pub indexes: Option<Vec<usize>>,
}

impl Conflict {
    /// A legacy `{object, value}` conflict.
    #[must_use]
    pub fn legacy(object: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            objects: Vec::new(),
            object: Some(object.into()),
            value: value.into(),
            error_code: None,
            property: None,
            indexes: None,
        }
    }

    /// A coded conflict. The message is built from the code's template and the object
    /// identifiers (in order), followed by `extra` arguments not shown in `objects`.
    #[must_use]
    pub fn coded(
        code: ErrorCode,
        property: Option<&str>,
        objects: Vec<(String, String)>,
        args: &[&str],
    ) -> Self {
        Self {
            value: code.message(args),
            objects,
            object: None,
            error_code: Some(code),
            property: property.map(str::to_owned),
            indexes: None,
        }
    }

    fn object_label(&self) -> Option<&str> {
        self.object
            .as_deref()
            .or_else(|| self.objects.first().map(|(_, v)| v.as_str()))
    }
}

impl Serialize for Conflict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(object) = self.object_label() {
            map.serialize_entry("object", object)?;
        }
        if self.error_code.is_some() {
            map.serialize_entry("objects", &OrderedObjects(&self.objects))?;
        }
        map.serialize_entry("value", &self.value)?;
        if let Some(code) = self.error_code {
            map.serialize_entry("errorCode", &code)?;
        }
        if let Some(property) = &self.property {
            map.serialize_entry("property", property)?;
        }
        if let Some(indexes) = &self.indexes {
            map.serialize_entry("indexes", indexes)?;
        }
        map.end()
    }
}

struct OrderedObjects<'a>(&'a [(String, String)]);

impl Serialize for OrderedObjects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Grouping key: DHIS2 merges conflicts with the same code and the same object values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConflictKey {
    code: Option<ErrorCode>,
    objects: Vec<String>,
}

/// The conflict list of one import, grouped as DHIS2 does and kept in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Conflicts {
    list: Vec<Conflict>,
    groups: HashMap<ConflictKey, usize>,
}

impl Conflicts {
    /// Adds a conflict for the value at `index` (or a data-set-level/legacy conflict when
    /// `index` is `None`), merging it into an existing group when code and objects match.
    pub fn add(&mut self, mut conflict: Conflict, index: Option<usize>) {
        if conflict.error_code.is_none() {
            self.list.push(conflict);
            return;
        }
        let key = ConflictKey {
            code: conflict.error_code,
            objects: conflict.objects.iter().map(|(_, v)| v.clone()).collect(),
        };
        if let Some(&at) = self.groups.get(&key) {
            if let (Some(i), Some(indexes)) = (index, self.list[at].indexes.as_mut()) {
                indexes.push(i);
            }
            return;
        }
        conflict.indexes = index.map(|i| vec![i]);
        self.groups.insert(key, self.list.len());
        self.list.push(conflict);
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The grouped conflicts in first-seen order.
    #[must_use]
    pub fn into_vec(self) -> Vec<Conflict> {
        self.list
    }

    #[must_use]
    pub fn as_slice(&self) -> &[Conflict] {
        &self.list
    }
}

/// DHIS2's `ImportSummary` for data value imports. Field order follows DHIS2's output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary<O: Serialize> {
    pub response_type: &'static str,
    pub status: ImportStatus,
    pub import_options: O,
    pub description: String,
    pub import_count: ImportCount,
    pub conflicts: Vec<Conflict>,
    pub rejected_indexes: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set_complete: Option<String>,
}

impl<O: Serialize> ImportSummary<O> {
    /// Description of a completed import (SUCCESS or WARNING).
    pub const COMPLETED: &'static str = "Import process completed successfully";
    /// Description of a data-set-level abort.
    pub const ABORTED: &'static str = "Import process was aborted";
}

/// The summary of an import that failed with an exception: ERROR, zero counts, no
/// conflicts, and `"The import process failed: <message>"`.
pub fn import_summary_failed<O: Serialize>(options: O, message: &str) -> ImportSummary<O> {
    ImportSummary {
        response_type: "ImportSummary",
        status: ImportStatus::Error,
        import_options: options,
        description: format!("The import process failed: {message}"),
        import_count: ImportCount::default(),
        conflicts: Vec::new(),
        rejected_indexes: Vec::new(),
        data_set_complete: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown_de(uid: &str) -> Conflict {
        Conflict::coded(
            ErrorCode::E7610,
            Some("dataElement"),
            vec![("dataElement".into(), uid.into())],
            &[uid],
        )
    }

    #[test]
    fn same_code_and_objects_group_with_indexes() {
        let mut c = Conflicts::default();
        c.add(unknown_de("nonEx1sting"), Some(0));
        c.add(unknown_de("nonEx1sting"), Some(1));
        c.add(unknown_de("other000000"), Some(2));
        c.add(unknown_de("nonEx1sting"), Some(5));
        let list = c.into_vec();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].indexes, Some(vec![0, 1, 5]));
        assert_eq!(list[1].indexes, Some(vec![2]));
    }

    #[test]
    fn conflict_serialises_in_dhis2_shape() {
        let mut c = Conflicts::default();
        c.add(unknown_de("nonEx1sting"), Some(0));
        c.add(
            Conflict::legacy("OrganisationUnit", "Must be provided to complete data set"),
            None,
        );
        let json = serde_json::to_string(&c.into_vec()).unwrap();
        assert_eq!(
            json,
            r#"[{"object":"nonEx1sting","objects":{"dataElement":"nonEx1sting"},"value":"Data element not found or not accessible: `nonEx1sting`","errorCode":"E7610","property":"dataElement","indexes":[0]},{"object":"OrganisationUnit","value":"Must be provided to complete data set"}]"#
        );
    }

    #[test]
    fn failed_summary_has_zero_counts() {
        let s = import_summary_failed((), "boom");
        assert_eq!(s.status, ImportStatus::Error);
        assert_eq!(s.description, "The import process failed: boom");
        assert_eq!(s.import_count, ImportCount::default());
    }
}

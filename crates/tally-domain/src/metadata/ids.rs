//! Typed internal ids.
//!
//! The store assigns every persisted metadata object a `u32` id per object type (stable
//! across restarts; data values reference them). The snapshot never invents ids, it only
//! wraps the store's. One newtype per type keeps an org unit id from being passed where a
//! data element id is expected.

use std::fmt;

use super::model::ObjectKind;

/// A typed internal id of one object kind.
pub trait TypedId: Copy + Eq + std::hash::Hash + Ord + fmt::Debug {
    /// The kind of object the id identifies.
    const KIND: ObjectKind;
    /// Wraps a raw store id.
    fn from_raw(raw: u32) -> Self;
    /// The raw store id.
    fn raw(self) -> u32;
}

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $kind:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl TypedId for $name {
            const KIND: ObjectKind = ObjectKind::$kind;
            fn from_raw(raw: u32) -> Self {
                $name(raw)
            }
            fn raw(self) -> u32 {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

typed_id!(
    /// Internal id of an organisation unit.
    OrgUnitId, OrganisationUnit
);
typed_id!(
    /// Internal id of an organisation unit group.
    OrgUnitGroupId, OrganisationUnitGroup
);
typed_id!(
    /// Internal id of a data element.
    DataElementId, DataElement
);
typed_id!(
    /// Internal id of a data element group.
    DataElementGroupId, DataElementGroup
);
typed_id!(
    /// Internal id of a category.
    CategoryId, Category
);
typed_id!(
    /// Internal id of a category option.
    CategoryOptionId, CategoryOption
);
typed_id!(
    /// Internal id of a category combo.
    CategoryComboId, CategoryCombo
);
typed_id!(
    /// Internal id of a category option combo (used as COC and as AOC).
    CategoryOptionComboId, CategoryOptionCombo
);
typed_id!(
    /// Internal id of a data set.
    DataSetId, DataSet
);
typed_id!(
    /// Internal id of a data set section.
    SectionId, Section
);
typed_id!(
    /// Internal id of an option set.
    OptionSetId, OptionSet
);
typed_id!(
    /// Internal id of an option.
    OptionId, OptionItem
);
typed_id!(
    /// Internal id of a metadata attribute.
    AttributeId, Attribute
);

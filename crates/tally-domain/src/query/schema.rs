//! What the engine knows about an object type: its properties, which of them reference
//! other objects, and which the object owns.

/// How a property's value is shaped.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A JSON scalar, a list of scalars or an opaque object, rendered as it is.
    Simple,
    /// A reference `{"id": ...}` to an object of the named collection.
    Ref(&'static str),
    /// A list of references to objects of the named collection.
    Refs(&'static str),
    /// An embedded object (not identifiable) with its own properties.
    Embedded(&'static Schema),
    /// A list of embedded objects.
    EmbeddedList(&'static Schema),
}

impl Kind {
    /// Whether values of this kind are lists.
    #[must_use]
    pub fn is_collection(self) -> bool {
        matches!(self, Kind::Refs(_) | Kind::EmbeddedList(_))
    }
}

/// Whether the object owns a property (it is part of the object's import shape, DHIS2's
/// `:owner` preset) or the server derives it (display names, inverse associations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written by metadata imports and exports.
    Owner,
    /// Derived for reading.
    Computed,
}

/// One property of an object type.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// The JSON name, e.g. `organisationUnits`.
    pub name: &'static str,
    /// The value shape.
    pub kind: Kind,
    /// Owned or derived.
    pub origin: Origin,
}

/// An owned property.
#[must_use]
pub const fn owner(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        origin: Origin::Owner,
    }
}

/// A derived property.
#[must_use]
pub const fn computed(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        origin: Origin::Computed,
    }
}

/// An object type: a collection served under `/api/<collection>`, or an embedded type
/// (empty `collection`).
#[derive(Debug)]
pub struct Schema {
    /// The collection name (`dataElements`); empty for embedded types.
    pub collection: &'static str,
    /// DHIS2's class name, used in messages (`DataElement with id X could not be found.`).
    pub singular: &'static str,
    /// Every property, in the order `*` renders them.
    pub properties: &'static [Property],
}

impl Schema {
    /// The property with that JSON name.
    #[must_use]
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Whether objects carry `attributeValues`, so a metadata attribute's UID can be used
    /// as a field or filter property.
    #[must_use]
    pub fn has_attribute_values(&self) -> bool {
        self.property("attributeValues").is_some()
    }
}

/// The schema of a reference to a collection the source does not hold: only `id`.
pub static OPAQUE_REFERENCE: Schema = Schema {
    collection: "",
    singular: "IdentifiableObject",
    properties: &[owner("id", Kind::Simple)],
};

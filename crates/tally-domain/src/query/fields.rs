//! The `fields` parameter: which properties to render, nested into referenced and
//! embedded objects.
//!
//! Grammar (DHIS2's): a comma-separated list of
//! * `name`, optionally followed by `[nested,fields]` and transformers
//!   (`~size`, `~isEmpty`, `~isNotEmpty`, `~rename(x)`, `~pluck`, `~pluck(x)`; the legacy
//!   `::size` form is accepted too);
//! * `*` or a preset `:all`, `:owner`, `:persisted`, `:identifiable`, `:nameable`,
//!   `:simple`;
//! * `!name`, which removes a property that a preset or another entry selected.
//!
//! A reference rendered without nested fields is `{"id": ...}` (DHIS2's default
//! association preset); with nested fields the referenced object is looked up and those
//! fields are rendered from it. Unknown names are ignored, as DHIS2 does. An unclosed
//! `[` at the end is closed silently (the legacy d2 library sends one).

use serde_json::{Map, Value};

use super::QueryError;
use super::Source;
use super::schema::{Kind, OPAQUE_REFERENCE, Origin, Schema};
use crate::uid::Uid;

/// Nesting deeper than this is refused (it only ever comes from a hostile query).
pub const MAX_DEPTH: usize = 16;

/// One entry of a `fields` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What the entry selects.
    pub selector: Selector,
    /// Nested fields (`name[a,b]`); empty means the default rendering.
    pub children: Vec<Field>,
    /// Transformers, applied in order.
    pub transformers: Vec<Transformer>,
}

/// What a `fields` entry selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A property (or a metadata attribute's UID).
    Property(String),
    /// A preset (`*` is [`Preset::All`]).
    Preset(Preset),
    /// `!name`: never render this property.
    Exclude(String),
}

/// A named group of properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `*`, `:all`: every property.
    All,
    /// `:owner`: the properties the object owns (its import shape).
    Owner,
    /// `:persisted`: the stored properties (the owned ones, for tally).
    Persisted,
    /// `:identifiable`: id, name, code, created, lastUpdated.
    Identifiable,
    /// `:nameable`: id, name, shortName, description, code, created, lastUpdated.
    Nameable,
    /// `:simple`: every property that is not a reference or an embedded object.
    Simple,
}

/// A transformation of a rendered property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transformer {
    /// Length of a list or a string.
    Size,
    /// Whether a list or string is empty (or the value absent).
    IsEmpty,
    /// The opposite of [`Transformer::IsEmpty`].
    IsNotEmpty,
    /// Renders the property under another name.
    Rename(String),
    /// Turns a list of objects into the list of one of their fields (default: the first
    /// nested field, else `id`).
    Pluck(Option<String>),
}

/// Parses a `fields` value.
///
/// # Errors
/// [`QueryError::Fields`] for unbalanced brackets, an unknown transformer or nesting
/// deeper than [`MAX_DEPTH`].
pub fn parse_fields(text: &str) -> Result<Vec<Field>, QueryError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let fields = parser.list(0)?;
    if parser.pos < parser.chars.len() {
        return Err(QueryError::Fields(format!(
            "unexpected `{}` at position {} of `{text}`",
            parser.chars[parser.pos], parser.pos
        )));
    }
    Ok(fields)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

const DELIMITERS: &[char] = &[',', '[', ']', '~', '(', ')', '!'];

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// Reads a list until `]` (consumed) or the end.
    fn list(&mut self, depth: usize) -> Result<Vec<Field>, QueryError> {
        if depth > MAX_DEPTH {
            return Err(QueryError::Fields(format!(
                "fields are nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Ok(out),
                Some(']') if depth > 0 => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(']') => return Ok(out),
                Some(',') => self.pos += 1,
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some(_) => {
                    if let Some(field) = self.item(depth)? {
                        out.push(field);
                    }
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if DELIMITERS.contains(&c) || (c == ':' && self.peek_at(1) == Some(':')) {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .trim()
            .to_owned()
    }

    fn item(&mut self, depth: usize) -> Result<Option<Field>, QueryError> {
        let selector = match self.peek() {
            Some('!') => {
                self.pos += 1;
                Selector::Exclude(self.name())
            }
            Some(':') if self.peek_at(1) != Some(':') => {
                self.pos += 1;
                let name = self.name();
                match preset(&name) {
                    Some(p) => Selector::Preset(p),
                    // Unknown presets select nothing, as unknown names do.
                    None => Selector::Property(String::new()),
                }
            }
            _ => {
                let name = self.name();
                if name == "*" {
                    Selector::Preset(Preset::All)
                } else {
                    Selector::Property(name)
                }
            }
        };
        let mut field = Field {
            selector,
            children: Vec::new(),
            transformers: Vec::new(),
        };
        loop {
            match self.peek() {
                Some('[') => {
                    self.pos += 1;
                    let nested = self.list(depth + 1)?;
                    field.children.extend(nested);
                }
                Some('~') => {
                    self.pos += 1;
                    field.transformers.push(self.transformer()?);
                }
                Some(':') if self.peek_at(1) == Some(':') => {
                    self.pos += 2;
                    field.transformers.push(self.transformer()?);
                }
                Some('(') | Some(')') => {
                    return Err(QueryError::Fields(format!(
                        "unexpected `{}` at position {}",
                        self.chars[self.pos], self.pos
                    )));
                }
                _ => break,
            }
        }
        let empty =
            matches!(&field.selector, Selector::Property(n) | Selector::Exclude(n) if n.is_empty());
        Ok((!empty || !field.children.is_empty()).then_some(field))
    }

    fn transformer(&mut self) -> Result<Transformer, QueryError> {
        let name = self.name();
        let mut arg = None;
        if self.peek() == Some('(') {
            self.pos += 1;
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == ')' {
                    break;
                }
                self.pos += 1;
            }
            if self.peek() != Some(')') {
                return Err(QueryError::Fields(format!(
                    "transformer `{name}` has an unclosed `(`"
                )));
            }
            arg = Some(
                self.chars[start..self.pos]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_owned(),
            );
            self.pos += 1;
        }
        match (name.as_str(), arg) {
            ("size", _) => Ok(Transformer::Size),
            ("isEmpty", _) => Ok(Transformer::IsEmpty),
            ("isNotEmpty", _) => Ok(Transformer::IsNotEmpty),
            ("rename", Some(to)) if !to.is_empty() => Ok(Transformer::Rename(to)),
            ("rename", _) => Err(QueryError::Fields(
                "transformer `rename` needs a name: `~rename(newName)`".into(),
            )),
            ("pluck", arg) => Ok(Transformer::Pluck(arg.filter(|a| !a.is_empty()))),
            (other, _) => Err(QueryError::Fields(format!(
                "transformer `{other}` is not supported (supported: size, isEmpty, isNotEmpty, \
                 rename, pluck)"
            ))),
        }
    }
}

fn preset(name: &str) -> Option<Preset> {
    Some(match name {
        "all" | "*" => Preset::All,
        "owner" => Preset::Owner,
        "persisted" => Preset::Persisted,
        "identifiable" => Preset::Identifiable,
        "nameable" => Preset::Nameable,
        "simple" => Preset::Simple,
        _ => return None,
    })
}

/// The properties a preset selects on a schema, in schema order.
fn preset_properties(schema: &Schema, preset: Preset) -> Vec<&'static str> {
    const IDENTIFIABLE: &[&str] = &["id", "name", "code", "created", "lastUpdated"];
    const NAMEABLE: &[&str] = &[
        "id",
        "name",
        "shortName",
        "description",
        "code",
        "created",
        "lastUpdated",
    ];
    schema
        .properties
        .iter()
        .filter(|p| match preset {
            Preset::All => true,
            Preset::Owner | Preset::Persisted => p.origin == Origin::Owner,
            Preset::Identifiable => IDENTIFIABLE.contains(&p.name),
            Preset::Nameable => NAMEABLE.contains(&p.name),
            Preset::Simple => matches!(p.kind, Kind::Simple),
        })
        .map(|p| p.name)
        .collect()
}

/// Options of a rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectOptions {
    /// Leave out references to objects of a held collection that do not exist (used by
    /// the metadata export, so that its document always imports).
    pub drop_dangling: bool,
}

struct Chosen<'f> {
    /// The property.
    name: String,
    /// The output key (the property, or its `rename`).
    key: String,
    children: &'f [Field],
    transformers: &'f [Transformer],
}

fn output_key(name: &str, transformers: &[Transformer]) -> String {
    transformers
        .iter()
        .rev()
        .find_map(|t| match t {
            Transformer::Rename(to) => Some(to.clone()),
            _ => None,
        })
        .unwrap_or_else(|| name.to_owned())
}

/// Renders the selected fields of one object view.
#[must_use]
pub fn select(
    source: &dyn Source,
    schema: &Schema,
    view: &Map<String, Value>,
    fields: &[Field],
    options: SelectOptions,
) -> Map<String, Value> {
    let mut chosen: Vec<Chosen<'_>> = Vec::new();
    let mut excluded: Vec<&str> = Vec::new();
    for field in fields {
        match &field.selector {
            Selector::Preset(p) => {
                for name in preset_properties(schema, *p) {
                    if !chosen.iter().any(|c| c.key == name) {
                        chosen.push(Chosen {
                            name: name.to_owned(),
                            key: name.to_owned(),
                            children: &[],
                            transformers: &[],
                        });
                    }
                }
            }
            Selector::Property(name) => {
                let key = output_key(name, &field.transformers);
                match chosen.iter_mut().find(|c| c.key == key) {
                    // An explicit entry refines a preset's (or an earlier one with the
                    // same output key).
                    Some(c) => {
                        c.name.clone_from(name);
                        if !field.children.is_empty() {
                            c.children = &field.children;
                        }
                        if !field.transformers.is_empty() {
                            c.transformers = &field.transformers;
                        }
                    }
                    None => chosen.push(Chosen {
                        name: name.clone(),
                        key,
                        children: &field.children,
                        transformers: &field.transformers,
                    }),
                }
            }
            Selector::Exclude(name) => excluded.push(name),
        }
    }
    let mut out = Map::new();
    for c in chosen {
        if excluded.contains(&c.name.as_str()) {
            continue;
        }
        let Some(value) = render(source, schema, view, &c, options) else {
            continue;
        };
        let mut value = value;
        for t in c.transformers {
            value = transform(t, value, c.children);
        }
        out.insert(c.key, value);
    }
    out
}

fn render(
    source: &dyn Source,
    schema: &Schema,
    view: &Map<String, Value>,
    chosen: &Chosen<'_>,
    options: SelectOptions,
) -> Option<Value> {
    let Some(property) = schema.property(&chosen.name) else {
        // A metadata attribute's UID renders that attribute's value.
        if schema.has_attribute_values() && Uid::is_valid(&chosen.name) {
            return attribute_value(view, &chosen.name).map(|v| Value::String(v.to_owned()));
        }
        return None;
    };
    let value = view.get(property.name).filter(|v| !v.is_null())?;
    match property.kind {
        Kind::Simple => Some(value.clone()),
        Kind::Ref(collection) => render_ref(source, collection, value, chosen.children, options),
        Kind::Refs(collection) => Some(Value::Array(
            value
                .as_array()?
                .iter()
                .filter_map(|r| render_ref(source, collection, r, chosen.children, options))
                .collect(),
        )),
        Kind::Embedded(embedded) => Some(render_embedded(
            source,
            embedded,
            value,
            chosen.children,
            options,
        )),
        Kind::EmbeddedList(embedded) => Some(Value::Array(
            value
                .as_array()?
                .iter()
                .map(|v| render_embedded(source, embedded, v, chosen.children, options))
                .collect(),
        )),
    }
}

/// The value of a metadata attribute in an object's `attributeValues`.
pub(crate) fn attribute_value<'v>(
    view: &'v Map<String, Value>,
    attribute: &str,
) -> Option<&'v str> {
    view.get("attributeValues")?
        .as_array()?
        .iter()
        .find(|av| av.pointer("/attribute/id").and_then(Value::as_str) == Some(attribute))?
        .get("value")?
        .as_str()
}

fn render_ref(
    source: &dyn Source,
    collection: &str,
    reference: &Value,
    children: &[Field],
    options: SelectOptions,
) -> Option<Value> {
    let id = reference.get("id")?.as_str()?;
    let held = source.schema(collection);
    if options.drop_dangling && held.is_some() && !source.contains(collection, id) {
        return None;
    }
    if children.is_empty() {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(id.to_owned()));
        return Some(Value::Object(m));
    }
    match (held, source.view(collection, id)) {
        (Some(schema), Some(view)) => Some(Value::Object(select(
            source, schema, &view, children, options,
        ))),
        _ => reference
            .as_object()
            .map(|r| Value::Object(select(source, &OPAQUE_REFERENCE, r, children, options))),
    }
}

fn render_embedded(
    source: &dyn Source,
    schema: &Schema,
    value: &Value,
    children: &[Field],
    options: SelectOptions,
) -> Value {
    let Some(object) = value.as_object() else {
        return value.clone();
    };
    let all = [Field {
        selector: Selector::Preset(Preset::All),
        children: Vec::new(),
        transformers: Vec::new(),
    }];
    let fields = if children.is_empty() {
        &all[..]
    } else {
        children
    };
    Value::Object(select(source, schema, object, fields, options))
}

fn transform(t: &Transformer, value: Value, children: &[Field]) -> Value {
    let size = |v: &Value| match v {
        Value::Array(a) => a.len(),
        Value::String(s) => s.chars().count(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    match t {
        Transformer::Size => Value::from(size(&value)),
        Transformer::IsEmpty => Value::Bool(size(&value) == 0),
        Transformer::IsNotEmpty => Value::Bool(size(&value) > 0),
        Transformer::Rename(_) => value,
        Transformer::Pluck(field) => {
            let key = field.clone().unwrap_or_else(|| {
                children
                    .iter()
                    .find_map(|c| match &c.selector {
                        Selector::Property(p) => Some(p.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "id".to_owned())
            });
            match value {
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .map(|i| i.get(&key).cloned().unwrap_or(Value::Null))
                        .collect(),
                ),
                other => other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str) -> Field {
        Field {
            selector: Selector::Property(name.into()),
            children: Vec::new(),
            transformers: Vec::new(),
        }
    }

    #[test]
    fn parses_nesting_presets_exclusions_and_transformers() {
        let f = parse_fields("id, name,children[id,name],:owner,*,!code").unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(f[0], prop("id"));
        assert_eq!(f[1], prop("name"));
        assert_eq!(f[2].children, vec![prop("id"), prop("name")]);
        assert_eq!(f[3].selector, Selector::Preset(Preset::Owner));
        assert_eq!(f[4].selector, Selector::Preset(Preset::All));
        assert_eq!(f[5].selector, Selector::Exclude("code".into()));

        let f = parse_fields("id~rename(i),children::size,organisationUnits~pluck[name]").unwrap();
        assert_eq!(f[0].transformers, vec![Transformer::Rename("i".into())]);
        assert_eq!(f[1].transformers, vec![Transformer::Size]);
        assert_eq!(f[2].transformers, vec![Transformer::Pluck(None)]);
        assert_eq!(f[2].children, vec![prop("name")]);

        let deep = parse_fields("a[b[c[d]]]").unwrap();
        assert_eq!(deep[0].children[0].children[0].children, vec![prop("d")]);
    }

    #[test]
    fn lenient_and_strict_parts() {
        // d2 sends an unclosed bracket.
        let f = parse_fields(":all,userCredentials[:all,!user,userRoles[id]").unwrap();
        assert_eq!(f[1].children.len(), 3);
        // Unknown presets and empty entries select nothing.
        assert!(parse_fields(":nothing,,").unwrap().is_empty());
        assert!(parse_fields("").unwrap().is_empty());
        assert!(matches!(
            parse_fields("a~keyBy"),
            Err(QueryError::Fields(_))
        ));
        assert!(matches!(parse_fields("a]"), Err(QueryError::Fields(_))));
        assert!(matches!(
            parse_fields("a~rename"),
            Err(QueryError::Fields(_))
        ));
        assert!(matches!(
            parse_fields("a~rename(x"),
            Err(QueryError::Fields(_))
        ));
        let hostile = "a[".repeat(100);
        assert!(matches!(parse_fields(&hostile), Err(QueryError::Fields(_))));
    }
}

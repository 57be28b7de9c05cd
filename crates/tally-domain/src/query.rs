//! DHIS2's metadata query language over JSON object views: `fields` (with nesting into
//! referenced objects), `filter` (with nested property paths), `rootJunction`, `order`
//! and paging with DHIS2's `pager`.
//!
//! Pure: objects come from a [`Source`] (the metadata catalog implements it), results
//! are `serde_json` values. The order of work for a list is DHIS2's: restrict (the
//! caller's scope), filter, count, order, page, then render the fields of the page only,
//! so that a page of a large collection only builds the views it needs when there is
//! neither a filter nor an explicit order.
//!
//! * [`schema`]: properties, references and ownership of each object type.
//! * [`fields`]: parsing and rendering `fields`.
//! * [`filter`]: parsing and evaluating `filter`.
//! * [`order`]: `order` and the default order (name ignoring case, then id).
//! * [`paging`]: page windows and the `pager` object.

pub mod fields;
pub mod filter;
pub mod order;
pub mod paging;
pub mod schema;

use std::cmp::Ordering;

use serde_json::{Map, Value};

pub use fields::{Field, Preset, SelectOptions, Selector, Transformer, parse_fields, select};
pub use filter::{Filter, Op, parse_filter};
pub use order::{Direction, OrderBy, parse_order};
pub use paging::{DEFAULT_PAGE_SIZE, PageRequest, Pager, encode_params};
pub use schema::{Kind, Origin, Property, Schema, computed, owner};

/// A failure to understand a query (answered as 400 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A malformed `fields` value.
    #[error("Invalid fields: {0}")]
    Fields(String),
    /// A malformed `filter` value.
    #[error("Invalid filter: {0}")]
    Filter(String),
    /// A filter path that the object type does not have.
    #[error("Unknown path property `{path}` for type {singular}")]
    UnknownProperty {
        /// The dotted path.
        path: String,
        /// The type's class name.
        singular: &'static str,
    },
    /// A collection the source does not hold.
    #[error("Unknown collection `{0}`")]
    UnknownCollection(String),
}

/// One object of a collection, with what the default order needs.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The object's id.
    pub id: &'a str,
    /// The object's name, if it has one.
    pub name: Option<&'a str>,
}

/// Where the engine reads objects.
pub trait Source {
    /// The schema of a collection the source holds.
    fn schema(&self, collection: &str) -> Option<&'static Schema>;
    /// Every object of a collection, in id order.
    fn entries(&self, collection: &str) -> Vec<Entry<'_>>;
    /// The view of one object: every property of its schema that has a value (owned
    /// ones as stored, computed ones derived), references as `{"id": ...}`.
    fn view(&self, collection: &str, id: &str) -> Option<Map<String, Value>>;
    /// Whether the object exists (cheaper than [`Source::view`]).
    fn contains(&self, collection: &str, id: &str) -> bool {
        self.view(collection, id).is_some()
    }
}

/// How several filters combine (`rootJunction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Junction {
    /// Every filter must match (the default).
    #[default]
    And,
    /// One filter must match.
    Or,
}

/// A parsed list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The fields to render.
    pub fields: Vec<Field>,
    /// The filters.
    pub filters: Vec<Filter>,
    /// How the filters combine.
    pub junction: Junction,
    /// Explicit order; empty means the default order.
    pub order: Vec<OrderBy>,
    /// The page, or `None` for `paging=false`.
    pub paging: Option<PageRequest>,
}

/// A boolean query parameter as DHIS2 reads it: `true`/`false` in any case, anything
/// else is the default (Python clients send `True`).
#[must_use]
pub fn parse_bool(value: Option<&str>, default: bool) -> bool {
    match value {
        Some(v) if v.trim().eq_ignore_ascii_case("true") => true,
        Some(v) if v.trim().eq_ignore_ascii_case("false") => false,
        _ => default,
    }
}

impl ListQuery {
    /// Reads `fields`, `filter`, `rootJunction`, `order`, `paging`, `page` and `pageSize`
    /// from query parameters (repeated parameters accumulate). With a `prefix`
    /// (`dataElements`), the prefixed forms (`dataElements:fields`) are read as well:
    /// prefixed fields and order replace the plain ones, prefixed filters add to them.
    /// Numbers that do not parse are the defaults, as in DHIS2.
    ///
    /// # Errors
    /// A malformed `fields` or `filter`.
    pub fn from_params(
        pairs: &[(String, String)],
        prefix: Option<&str>,
        default_fields: &str,
    ) -> Result<ListQuery, QueryError> {
        let values = |name: &str| -> Vec<&str> {
            pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        let prefixed = |name: &str| -> Vec<&str> {
            prefix.map_or_else(Vec::new, |p| values(&format!("{p}:{name}")))
        };
        let last = |name: &str| values(name).last().copied();

        let mut field_texts = prefixed("fields");
        if field_texts.is_empty() {
            field_texts = values("fields");
        }
        let field_text = field_texts.join(",");
        let fields = if field_text.trim().is_empty() {
            parse_fields(default_fields)?
        } else {
            parse_fields(&field_text)?
        };
        let filters = values("filter")
            .into_iter()
            .chain(prefixed("filter"))
            .map(parse_filter)
            .collect::<Result<Vec<_>, _>>()?;
        let junction = match last("rootJunction") {
            Some(j) if j.trim().eq_ignore_ascii_case("OR") => Junction::Or,
            _ => Junction::And,
        };
        let mut order_texts = prefixed("order");
        if order_texts.is_empty() {
            order_texts = values("order");
        }
        let order = order_texts.into_iter().flat_map(parse_order).collect();
        let number = |name: &str, default: u64| {
            last(name)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .map_or(default, |n| u64::try_from(n.max(1)).unwrap_or(default))
        };
        let paging = parse_bool(last("paging"), true).then(|| PageRequest {
            page: number("page", 1),
            page_size: number("pageSize", DEFAULT_PAGE_SIZE),
        });
        Ok(ListQuery {
            fields,
            filters,
            junction,
            order,
            paging,
        })
    }
}

/// The result of a list query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The pager (without links), or `None` when paging is off.
    pub pager: Option<Pager>,
    /// The rendered objects of the page.
    pub items: Vec<Value>,
}

/// A predicate over object views that limits what a user may see, applied before
/// filtering, counting and paging.
pub type Restriction<'a> = &'a dyn Fn(&Map<String, Value>) -> bool;

/// Checks the filters of a query against a schema.
///
/// # Errors
/// [`QueryError::UnknownProperty`] for a filter path the type does not have.
pub fn validate_filters(
    source: &dyn Source,
    schema: &Schema,
    filters: &[Filter],
) -> Result<(), QueryError> {
    filters.iter().try_for_each(|f| f.validate(source, schema))
}

/// Whether a view passes the filters combined with `junction` (no filters: yes).
#[must_use]
pub fn passes(
    source: &dyn Source,
    schema: &Schema,
    view: &Map<String, Value>,
    filters: &[Filter],
    junction: Junction,
) -> bool {
    match junction {
        _ if filters.is_empty() => true,
        Junction::And => filters.iter().all(|f| f.matches(source, schema, view)),
        Junction::Or => filters.iter().any(|f| f.matches(source, schema, view)),
    }
}

struct Row<'a> {
    entry: Entry<'a>,
    view: Option<Map<String, Value>>,
}

impl Row<'_> {
    fn view<'s>(&'s mut self, source: &dyn Source, collection: &str) -> &'s Map<String, Value> {
        if self.view.is_none() {
            self.view = Some(source.view(collection, self.entry.id).unwrap_or_default());
        }
        self.view.get_or_insert_with(Map::new)
    }
}

/// Runs a list query over a collection.
///
/// # Errors
/// [`QueryError::UnknownCollection`], or a filter path the type does not have.
pub fn list(
    source: &dyn Source,
    collection: &str,
    query: &ListQuery,
    restriction: Option<Restriction<'_>>,
    options: SelectOptions,
) -> Result<Page, QueryError> {
    let schema = source
        .schema(collection)
        .ok_or_else(|| QueryError::UnknownCollection(collection.to_owned()))?;
    validate_filters(source, schema, &query.filters)?;
    let mut rows: Vec<Row<'_>> = source
        .entries(collection)
        .into_iter()
        .map(|entry| Row { entry, view: None })
        .collect();
    if restriction.is_some() || !query.filters.is_empty() {
        rows.retain_mut(|row| {
            let view = row.view(source, collection);
            restriction.is_none_or(|r| r(view))
                && passes(source, schema, view, &query.filters, query.junction)
        });
    }
    if query.order.is_empty() {
        // Objects without a name sort last; keys are lowercased once per object.
        rows.sort_by_cached_key(|r| {
            let name = order::name_key(r.entry.name);
            (name.is_none(), name, r.entry.id)
        });
    } else {
        for row in &mut rows {
            row.view(source, collection);
        }
        rows.sort_by(|a, b| {
            let (va, vb) = (a.view.as_ref(), b.view.as_ref());
            query
                .order
                .iter()
                .map(|o| {
                    order::compare_values(
                        va.and_then(|v| v.get(&o.property)),
                        vb.and_then(|v| v.get(&o.property)),
                        o.direction,
                    )
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.entry.id.cmp(b.entry.id))
        });
    }
    let total = rows.len();
    let (pager, window) = match query.paging {
        Some(request) => {
            let pager = Pager::new(request, total as u64);
            (Some(pager), request.window(total))
        }
        None => (None, (0, total)),
    };
    let (offset, count) = window;
    let items = rows
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|mut row| {
            let view = row.view(source, collection);
            Value::Object(select(source, schema, view, &query.fields, options))
        })
        .collect();
    Ok(Page { pager, items })
}

#[cfg(test)]
mod tests;

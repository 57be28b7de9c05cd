//! The `filter` parameter: `property:operator:value`, with nested property paths
//! (`organisationUnits.id:eq:X`) that follow references and embedded objects.
//!
//! A path that crosses a list matches when any element matches (DHIS2 joins). A path
//! that ends on a list compares the list's size for `eq`, `ne`, `gt`, `ge`, `lt` and `le`,
//! and its elements (references by id) for the other operators.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::QueryError;
use super::Source;
use super::fields::attribute_value;
use super::schema::{Kind, Schema};
use crate::uid::Uid;

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ieq`: equal ignoring case.
    Ieq,
    /// `!eq`, `ne`, `neq`
    Ne,
    /// `like`: contains, case-sensitive.
    Like,
    /// `!like`
    NotLike,
    /// `$like` (also `^like`): starts with.
    StartsLike,
    /// `!$like`
    NotStartsLike,
    /// `like$`: ends with.
    EndsLike,
    /// `!like$`
    NotEndsLike,
    /// `ilike`: contains, ignoring case.
    Ilike,
    /// `!ilike`
    NotIlike,
    /// `$ilike`
    StartsIlike,
    /// `!$ilike`
    NotStartsIlike,
    /// `ilike$`
    EndsIlike,
    /// `!ilike$`
    NotEndsIlike,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `null`: absent.
    Null,
    /// `!null`
    NotNull,
    /// `empty`: an empty list (or string, or absent).
    Empty,
    /// `!empty`
    NotEmpty,
    /// `token`: every whitespace-separated token occurs, ignoring case.
    Token,
    /// `!token`
    NotToken,
    /// `in:[a,b]`
    In,
    /// `!in:[a,b]`
    NotIn,
}

impl Op {
    fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "eq" => Op::Eq,
            "ieq" => Op::Ieq,
            "!eq" | "ne" | "neq" => Op::Ne,
            "like" => Op::Like,
            "!like" => Op::NotLike,
            "$like" | "^like" => Op::StartsLike,
            "!$like" | "!^like" => Op::NotStartsLike,
            "like$" => Op::EndsLike,
            "!like$" => Op::NotEndsLike,
            "ilike" => Op::Ilike,
            "!ilike" => Op::NotIlike,
            "$ilike" | "^ilike" => Op::StartsIlike,
            "!$ilike" | "!^ilike" => Op::NotStartsIlike,
            "ilike$" => Op::EndsIlike,
            "!ilike$" => Op::NotEndsIlike,
            "gt" => Op::Gt,
            "ge" | "gte" => Op::Ge,
            "lt" => Op::Lt,
            "le" | "lte" => Op::Le,
            "null" => Op::Null,
            "!null" => Op::NotNull,
            "empty" => Op::Empty,
            "!empty" => Op::NotEmpty,
            "token" => Op::Token,
            "!token" => Op::NotToken,
            "in" => Op::In,
            "!in" => Op::NotIn,
            _ => return None,
        })
    }

    fn needs_value(self) -> bool {
        !matches!(self, Op::Null | Op::NotNull | Op::Empty | Op::NotEmpty)
    }

    fn compares_size(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

/// One parsed `filter` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The property path, split at dots.
    pub path: Vec<String>,
    /// The operator.
    pub op: Op,
    /// The value (absent for `null`, `!null`, `empty`, `!empty`).
    pub value: Option<String>,
}

/// Longest accepted property path (each step may follow a reference).
pub const MAX_PATH: usize = 16;

/// The pseudo property of the `identifiable:token:` filter.
const IDENTIFIABLE: &str = "identifiable";

/// Parses `property:operator[:value]`. The value may itself contain `:`.
///
/// # Errors
/// [`QueryError::Filter`] when the text has no operator, the operator is unknown or a
/// value is missing.
pub fn parse_filter(text: &str) -> Result<Filter, QueryError> {
    let mut parts = text.splitn(3, ':');
    let (Some(path), Some(op)) = (parts.next(), parts.next()) else {
        return Err(QueryError::Filter(format!(
            "`{text}` is not a filter; expected property:operator:value"
        )));
    };
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(QueryError::Filter(format!(
            "`{text}` has no property; expected property:operator:value"
        )));
    }
    if path.split('.').count() > MAX_PATH {
        return Err(QueryError::Filter(format!(
            "filter paths have at most {MAX_PATH} properties"
        )));
    }
    let op = Op::parse(op.trim())
        .ok_or_else(|| QueryError::Filter(format!("`{op}` is not a valid filter operator")))?;
    let value = parts.next().map(str::to_owned);
    if op.needs_value() && value.is_none() {
        return Err(QueryError::Filter(format!(
            "filter `{text}` needs a value: property:operator:value"
        )));
    }
    Ok(Filter {
        path: path.split('.').map(str::to_owned).collect(),
        op,
        value,
    })
}

impl Filter {
    /// Checks the path against the schemas.
    ///
    /// # Errors
    /// [`QueryError::UnknownProperty`] for a path that does not exist.
    pub fn validate(&self, source: &dyn Source, schema: &Schema) -> Result<(), QueryError> {
        if self.path.len() == 1
            && self.path[0] == IDENTIFIABLE
            && matches!(self.op, Op::Token | Op::NotToken)
        {
            return Ok(());
        }
        validate_path(source, schema, &self.path).map_err(|()| QueryError::UnknownProperty {
            path: self.path.join("."),
            singular: schema.singular,
        })
    }

    /// Whether an object view matches.
    #[must_use]
    pub fn matches(&self, source: &dyn Source, schema: &Schema, view: &Map<String, Value>) -> bool {
        let arg = self.value.as_deref().unwrap_or("");
        if self.path.len() == 1 && self.path[0] == IDENTIFIABLE {
            let found = ["id", "code", "name", "shortName"]
                .iter()
                .filter_map(|p| view.get(*p).and_then(Value::as_str))
                .map(str::to_lowercase)
                .collect::<Vec<_>>();
            let all = tokens(arg).all(|t| found.iter().any(|f| f.contains(&t)));
            return if self.op == Op::NotToken { !all } else { all };
        }
        let mut reached = Vec::new();
        reach(source, schema, view, &self.path, &mut reached);
        reached
            .iter()
            .any(|(value, list)| test(self.op, value, *list, arg))
    }
}

fn validate_path(source: &dyn Source, schema: &Schema, path: &[String]) -> Result<(), ()> {
    let (first, rest) = path.split_first().ok_or(())?;
    let Some(property) = schema.property(first) else {
        // A metadata attribute's UID filters on that attribute's value.
        return if rest.is_empty() && schema.has_attribute_values() && Uid::is_valid(first) {
            Ok(())
        } else {
            Err(())
        };
    };
    if rest.is_empty() {
        return Ok(());
    }
    match property.kind {
        Kind::Ref(c) | Kind::Refs(c) => match source.schema(c) {
            Some(target) => validate_path(source, target, rest),
            None if rest.len() == 1 && rest[0] == "id" => Ok(()),
            None => Err(()),
        },
        Kind::Embedded(s) | Kind::EmbeddedList(s) => validate_path(source, s, rest),
        Kind::Simple => Err(()),
    }
}

/// Collects the values a path reaches, each with whether it is a whole list property.
fn reach(
    source: &dyn Source,
    schema: &Schema,
    view: &Map<String, Value>,
    path: &[String],
    out: &mut Vec<(Value, bool)>,
) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(property) = schema.property(first) else {
        if rest.is_empty() {
            let v = attribute_value(view, first).map_or(Value::Null, |s| Value::String(s.into()));
            out.push((v, false));
        }
        return;
    };
    let value = view.get(first).unwrap_or(&Value::Null);
    let is_list = property.kind.is_collection() || value.is_array();
    if rest.is_empty() {
        out.push((value.clone(), is_list));
        return;
    }
    let step_ref = |r: &Value, out: &mut Vec<(Value, bool)>, collection: &str| {
        let Some(id) = r.get("id").and_then(Value::as_str) else {
            return;
        };
        if rest.len() == 1 && rest[0] == "id" {
            out.push((Value::String(id.to_owned()), false));
        } else if let (Some(target), Some(target_view)) =
            (source.schema(collection), source.view(collection, id))
        {
            reach(source, target, &target_view, rest, out);
        }
    };
    match property.kind {
        Kind::Ref(c) => step_ref(value, out, c),
        Kind::Refs(c) => {
            for r in value.as_array().into_iter().flatten() {
                step_ref(r, out, c);
            }
        }
        Kind::Embedded(s) => {
            if let Some(o) = value.as_object() {
                reach(source, s, o, rest, out);
            }
        }
        Kind::EmbeddedList(s) => {
            for o in value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
            {
                reach(source, s, o, rest, out);
            }
        }
        Kind::Simple => {}
    }
}

fn tokens(arg: &str) -> impl Iterator<Item = String> + '_ {
    arg.split_whitespace().map(str::to_lowercase)
}

fn test(op: Op, value: &Value, is_list: bool, arg: &str) -> bool {
    match op {
        Op::Null => return value.is_null(),
        Op::NotNull => return !value.is_null(),
        Op::Empty | Op::NotEmpty => {
            let empty = match value {
                Value::Null => true,
                Value::Array(a) => a.is_empty(),
                Value::String(s) => s.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            return empty == (op == Op::Empty);
        }
        _ => {}
    }
    if let Value::Array(items) = value {
        if is_list && op.compares_size() {
            let Ok(n) = arg.trim().parse::<usize>() else {
                return false;
            };
            let ord = items.len().cmp(&n);
            return ordering_matches(op, ord);
        }
        return items.iter().any(|item| test(op, item, false, arg));
    }
    // A reference compares by its id.
    let value = match value {
        Value::Object(o) => match o.get("id") {
            Some(id) => id,
            None => return false,
        },
        other => other,
    };
    if value.is_null() {
        // Only the null checks above match an absent value; the negated operators
        // behave like SQL comparisons with NULL.
        return false;
    }
    let text = scalar_text(value);
    match op {
        Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            compare(value, arg).is_some_and(|ord| ordering_matches(op, ord))
        }
        Op::Ieq => text.to_lowercase() == arg.to_lowercase(),
        Op::Like => text.contains(arg),
        Op::NotLike => !text.contains(arg),
        Op::StartsLike => text.starts_with(arg),
        Op::NotStartsLike => !text.starts_with(arg),
        Op::EndsLike => text.ends_with(arg),
        Op::NotEndsLike => !text.ends_with(arg),
        Op::Ilike => text.to_lowercase().contains(&arg.to_lowercase()),
        Op::NotIlike => !text.to_lowercase().contains(&arg.to_lowercase()),
        Op::StartsIlike => text.to_lowercase().starts_with(&arg.to_lowercase()),
        Op::NotStartsIlike => !text.to_lowercase().starts_with(&arg.to_lowercase()),
        Op::EndsIlike => text.to_lowercase().ends_with(&arg.to_lowercase()),
        Op::NotEndsIlike => !text.to_lowercase().ends_with(&arg.to_lowercase()),
        Op::Token | Op::NotToken => {
            let lower = text.to_lowercase();
            let all = tokens(arg).all(|t| lower.contains(&t));
            all == (op == Op::Token)
        }
        Op::In | Op::NotIn => {
            let any = in_values(arg).any(|v| compare(value, v) == Some(Ordering::Equal));
            any == (op == Op::In)
        }
        Op::Null | Op::NotNull | Op::Empty | Op::NotEmpty => false,
    }
}

fn ordering_matches(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        _ => false,
    }
}

/// The items of `[a,b,c]` (brackets optional).
fn in_values(arg: &str) -> impl Iterator<Item = &str> {
    let arg = arg.trim();
    let arg = arg.strip_prefix('[').unwrap_or(arg);
    let arg = arg.strip_suffix(']').unwrap_or(arg);
    arg.split(',').map(str::trim)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares a scalar property value with a filter argument: numbers numerically,
/// booleans as booleans, two dates (or timestamps) by time, other text as text.
/// `None` when the argument cannot be read as the value's type.
pub(crate) fn compare(value: &Value, arg: &str) -> Option<Ordering> {
    match value {
        Value::Number(n) => {
            let a: f64 = arg.trim().parse().ok()?;
            n.as_f64()?.partial_cmp(&a)
        }
        Value::Bool(b) => {
            let a = if arg.eq_ignore_ascii_case("true") {
                true
            } else if arg.eq_ignore_ascii_case("false") {
                false
            } else {
                return None;
            };
            Some(b.cmp(&a))
        }
        Value::String(s) => match (date_key(s), date_key(arg)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(s.as_str().cmp(arg)),
        },
        _ => None,
    }
}

/// A DHIS2 date or timestamp (`2012-01-01`, `2012-01-01T10:00:00.000`, with an optional
/// `Z`), as a sortable civil date-time.
pub(crate) fn date_key(text: &str) -> Option<jiff::civil::DateTime> {
    let t = text.trim();
    let b = t.as_bytes();
    let looks_like_date =
        b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    if !looks_like_date {
        return None;
    }
    let t = t.strip_suffix('Z').unwrap_or(t);
    let t = t
        .strip_suffix("+0000")
        .or_else(|| t.strip_suffix("+00:00"))
        .unwrap_or(t);
    if t.len() == 10 {
        return t
            .parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()));
    }
    t.replacen(' ', "T", 1).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_operators_and_values() {
        let f = parse_filter("organisationUnits.id:eq:ImspTQPwCqd").unwrap();
        assert_eq!(f.path, ["organisationUnits", "id"]);
        assert_eq!(f.op, Op::Eq);
        assert_eq!(f.value.as_deref(), Some("ImspTQPwCqd"));
        let f = parse_filter("lastUpdated:gt:2020-01-01T10:00:00").unwrap();
        assert_eq!(f.value.as_deref(), Some("2020-01-01T10:00:00"));
        assert_eq!(parse_filter("optionSet:!null").unwrap().op, Op::NotNull);
        assert_eq!(parse_filter("name:eq:").unwrap().value.as_deref(), Some(""));
        let deep = format!("{}id:eq:x", "parent.".repeat(MAX_PATH));
        for bad in [
            "name",
            "name:eq",
            "name:nope:x",
            ":eq:x",
            "a..b:eq:x",
            &deep,
        ] {
            assert!(
                matches!(parse_filter(bad), Err(QueryError::Filter(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn scalar_tests() {
        let s = json!("Measles deaths");
        assert!(test(Op::Eq, &s, false, "Measles deaths"));
        assert!(!test(Op::Eq, &s, false, "measles deaths"));
        assert!(test(Op::Ieq, &s, false, "measles DEATHS"));
        assert!(test(Op::Like, &s, false, "les de"));
        assert!(!test(Op::Like, &s, false, "LES"));
        assert!(test(Op::Ilike, &s, false, "LES"));
        assert!(test(Op::NotIlike, &s, false, "xyz"));
        assert!(test(Op::StartsLike, &s, false, "Measles"));
        assert!(test(Op::EndsLike, &s, false, "deaths"));
        assert!(test(Op::StartsIlike, &s, false, "measles"));
        assert!(test(Op::EndsIlike, &s, false, "DEATHS"));
        assert!(test(Op::Token, &s, false, "death mea"));
        assert!(test(Op::NotToken, &s, false, "death polio"));
        assert!(test(Op::In, &s, false, "[a,Measles deaths]"));
        assert!(test(Op::NotIn, &s, false, "[a,b]"));
        assert!(test(Op::Gt, &json!(15), false, "9"));
        assert!(test(Op::Le, &json!(15), false, "15"));
        assert!(!test(Op::Gt, &json!(15), false, "abc"), "not a number");
        assert!(test(Op::Eq, &json!(true), false, "TRUE"));
        assert!(test(Op::Ne, &json!(true), false, "false"));
        assert!(test(Op::Null, &Value::Null, false, ""));
        assert!(
            !test(Op::Ne, &Value::Null, false, "x"),
            "NULL compares false"
        );
        assert!(test(
            Op::Eq,
            &json!({"id": "ImspTQPwCqd"}),
            false,
            "ImspTQPwCqd"
        ));
    }

    #[test]
    fn lists_compare_size_or_elements() {
        let list = json!([{"id": "a"}, {"id": "b"}]);
        assert!(test(Op::Eq, &list, true, "2"));
        assert!(test(Op::Gt, &list, true, "1"));
        assert!(test(Op::In, &list, true, "[b,c]"));
        assert!(test(Op::NotEmpty, &list, true, ""));
        assert!(test(Op::Empty, &json!([]), true, ""));
        assert!(!test(Op::Eq, &list, true, "two"));
    }

    #[test]
    fn dates_compare_by_time() {
        let v = json!("1970-01-01T00:00:00.000");
        assert!(test(Op::Eq, &v, false, "1970-01-01"));
        assert!(test(Op::Lt, &v, false, "1970-01-01T00:00:01"));
        assert!(test(Op::Ge, &v, false, "1969-12-31Z"));
        assert_eq!(date_key("2024-13-01"), None);
        assert_eq!(date_key("20240101"), None);
    }
}

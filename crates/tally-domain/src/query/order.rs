//! The `order` parameter: `property[:asc|desc|iasc|idesc]`, comma-separated.
//!
//! Without an order, lists are sorted like DHIS2's `Query.setDefaultOrder`: by name
//! ignoring case, then by id. An explicit order is followed by id too, so that pages
//! never overlap. Absent values sort last ascending and first descending (PostgreSQL's
//! NULLS LAST / NULLS FIRST defaults, which DHIS2 inherits).

use std::cmp::Ordering;

use serde_json::Value;

use super::filter::date_key;

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `asc`
    Asc,
    /// `desc`
    Desc,
    /// `iasc`: ascending, ignoring case.
    IAsc,
    /// `idesc`: descending, ignoring case.
    IDesc,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The property (a top-level property of the object).
    pub property: String,
    /// The direction.
    pub direction: Direction,
}

/// Parses an `order` value. A missing or unknown direction is `asc`, as in DHIS2.
#[must_use]
pub fn parse_order(text: &str) -> Vec<OrderBy> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (property, direction) = item.split_once(':').unwrap_or((item, "asc"));
            let direction = match direction.trim().to_ascii_lowercase().as_str() {
                "desc" => Direction::Desc,
                "iasc" => Direction::IAsc,
                "idesc" => Direction::IDesc,
                _ => Direction::Asc,
            };
            OrderBy {
                property: property.trim().to_owned(),
                direction,
            }
        })
        .collect()
}

/// Compares two property values for sorting in `direction`.
#[must_use]
pub fn compare_values(a: Option<&Value>, b: Option<&Value>, direction: Direction) -> Ordering {
    let a = a.filter(|v| !v.is_null());
    let b = b.filter(|v| !v.is_null());
    let ignore_case = matches!(direction, Direction::IAsc | Direction::IDesc);
    // Absent is the largest value in both directions.
    let ord = match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => compare_present(a, b, ignore_case),
    };
    match direction {
        Direction::Asc | Direction::IAsc => ord,
        Direction::Desc | Direction::IDesc => ord.reverse(),
    }
}

fn compare_present(a: &Value, b: &Value, ignore_case: bool) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y))
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => {
            if let (Some(dx), Some(dy)) = (date_key(x), date_key(y)) {
                return dx.cmp(&dy);
            }
            if ignore_case {
                x.to_lowercase().cmp(&y.to_lowercase())
            } else {
                x.cmp(y)
            }
        }
        (Value::Array(x), Value::Array(y)) => x.len().cmp(&y.len()),
        (Value::Object(x), Value::Object(y)) => {
            let id = |o: &serde_json::Map<String, Value>| {
                o.get("id").and_then(Value::as_str).map(str::to_owned)
            };
            id(x).cmp(&id(y))
        }
        // Mixed types: a stable but arbitrary order by type.
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// The default order's key for a name: case-insensitive.
#[must_use]
pub fn name_key(name: Option<&str>) -> Option<String> {
    name.map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_directions() {
        let o = parse_order("name:asc, code:DESC,shortName,created:idesc,x:bogus");
        let dirs: Vec<_> = o.iter().map(|o| o.direction).collect();
        assert_eq!(
            dirs,
            [
                Direction::Asc,
                Direction::Desc,
                Direction::Asc,
                Direction::IDesc,
                Direction::Asc
            ]
        );
        assert_eq!(o[2].property, "shortName");
        assert!(parse_order(" , ").is_empty());
    }

    #[test]
    fn compares_with_nulls_last_ascending() {
        let (a, b) = (json!("apple"), json!("Banana"));
        assert_eq!(
            compare_values(Some(&a), Some(&b), Direction::Asc),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(Some(&a), Some(&b), Direction::IAsc),
            Ordering::Less
        );
        assert_eq!(
            compare_values(None, Some(&a), Direction::Asc),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(None, Some(&a), Direction::Desc),
            Ordering::Less
        );
        assert_eq!(
            compare_values(Some(&json!(10)), Some(&json!(9)), Direction::Asc),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(
                Some(&json!("2024-01-01")),
                Some(&json!("2023-12-31T23:00:00.000")),
                Direction::Desc
            ),
            Ordering::Less
        );
    }
}

//! List parameters shared by `GET /Users`, `GET /Groups` and `.search`
//! (RFC 7644 §3.4.2.4): 1-based `startIndex`, `count` clamped to the
//! advertised maximum.

use std::cmp::Ordering;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scim_filter_parser::{Filter, parse_filter, parse_path};
use serde_json::Value;

use crate::config::{LIST_DEFAULT_COUNT, LIST_MAX_RESULTS};
use crate::scim::ScimError;
use crate::scim::filter_eval;
use crate::scim::schema::{self, AttrType, Resolved, ResourceKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start_index: usize,
    pub count: usize,
}

impl Page {
    /// Values below 1 mean 1 (startIndex) and 0 (count), per the RFC.
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Page {
        let start_index = start_index.map_or(1, |s| usize::try_from(s.max(1)).unwrap_or(1));
        let count = count.map_or(LIST_DEFAULT_COUNT, |c| {
            usize::try_from(c.max(0)).unwrap_or(0).min(LIST_MAX_RESULTS)
        });
        Page { start_index, count }
    }

    pub fn offset(&self) -> usize {
        self.start_index - 1
    }
}

/// Parses and validates a filter against the resource type's schema.
pub fn parse(kind: ResourceKind, filter: Option<&str>) -> Result<Option<Filter>, ScimError> {
    let Some(text) = filter.filter(|f| !f.trim().is_empty()) else {
        return Ok(None);
    };
    let parsed =
        parse_filter(text).map_err(|e| ScimError::InvalidFilter(format!("invalid filter: {e}")))?;
    filter_eval::validate(kind, &parsed)?;
    Ok(Some(parsed))
}

/// Integer query parameters as RFC 7644 spells them; junk is the client's mistake.
pub fn parse_integer(name: &str, value: Option<&str>) -> Result<Option<i64>, ScimError> {
    value
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ScimError::InvalidValue(format!("{name} must be an integer, got {v:?}"))
            })
        })
        .transpose()
}

/// `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3). Resources without a value
/// sort last in either direction; ties keep creation order.
#[derive(Debug, Clone, Copy)]
pub struct Sort {
    pub by: Resolved,
    pub descending: bool,
}

pub fn parse_sort(
    kind: ResourceKind,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
) -> Result<Option<Sort>, ScimError> {
    let descending = match sort_order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(ScimError::InvalidValue(format!(
                "sortOrder must be ascending or descending, got {o:?}"
            )));
        }
    };
    let Some(text) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let unknown = || ScimError::InvalidValue(format!("cannot sort by {text:?}"));
    let path = parse_path(text).map_err(|_| unknown())?;
    if path.value_filter.is_some() {
        return Err(unknown());
    }
    let by = schema::resolve(kind, &path.attr).ok_or_else(unknown)?;
    Ok(Some(Sort { by, descending }))
}

/// A comparable value extracted for sorting.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortKey {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// The value a resource sorts by: for a multi-valued attribute, the primary
/// element's (else the first's); text lower-cased unless case-exact.
pub fn sort_key(sort: &Sort, resource: &Value) -> Option<SortKey> {
    let container = match sort.by.extension {
        Some(urn) => resource.get(urn)?,
        None => resource,
    };
    let mut value = container.get(&sort.by.attr.name)?;
    if let Value::Array(items) = value {
        value = items
            .iter()
            .find(|i| i.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?;
    }
    let leaf = match (sort.by.sub, sort.by.attr.is_complex()) {
        (Some(sub), _) => Some(sub),
        (None, true) => sort.by.attr.sub("value"),
        (None, false) => None,
    };
    if let Some(leaf) = leaf {
        value = value.get(&leaf.name)?;
    }
    let case_exact = sort.by.leaf().case_exact || sort.by.leaf().kind == AttrType::DateTime;
    match value {
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::Number(n) => n.as_f64().map(SortKey::Number),
        Value::String(s) if case_exact => Some(SortKey::Text(s.clone())),
        Value::String(s) => Some(SortKey::Text(s.to_lowercase())),
        _ => None,
    }
}

/// Orders two optional keys: present before absent, then by direction.
pub fn compare_keys(a: Option<&SortKey>, b: Option<&SortKey>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => {
            let ordering = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// RFC 9865 cursors: opaque to clients, a position in creation order here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The first page (`cursor=` with no value).
    Start,
    /// The page after the resource with this sequence number.
    After(i64),
    /// The page ending just before the resource with this sequence number.
    Before(i64),
}

impl Cursor {
    pub fn parse(text: &str) -> Result<Cursor, ScimError> {
        if text.trim().is_empty() {
            return Ok(Cursor::Start);
        }
        let invalid =
            || ScimError::InvalidCursor(format!("{text:?} is not a cursor this server issued"));
        let decoded = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (direction, seq) = decoded.split_once(':').ok_or_else(invalid)?;
        let seq: i64 = seq.parse().map_err(|_| invalid())?;
        match direction {
            "a" => Ok(Cursor::After(seq)),
            "b" => Ok(Cursor::Before(seq)),
            _ => Err(invalid()),
        }
    }

    pub fn encode(self) -> String {
        match self {
            Cursor::Start => String::new(),
            Cursor::After(seq) => URL_SAFE_NO_PAD.encode(format!("a:{seq}")),
            Cursor::Before(seq) => URL_SAFE_NO_PAD.encode(format!("b:{seq}")),
        }
    }
}

/// How one list request pages and orders.
#[derive(Debug, Clone, Copy)]
pub struct ListRequest {
    pub page: Page,
    pub sort: Option<Sort>,
    pub cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_parameters_are_clamped_per_rfc() {
        assert_eq!(
            Page::new(None, None),
            Page {
                start_index: 1,
                count: LIST_DEFAULT_COUNT
            }
        );
        assert_eq!(
            Page::new(Some(0), Some(-5)),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(
            Page::new(Some(7), Some(100_000)),
            Page {
                start_index: 7,
                count: LIST_MAX_RESULTS
            }
        );
        assert_eq!(Page::new(Some(3), Some(2)).offset(), 2);
    }

    #[test]
    fn bad_integers_are_invalid_values() {
        assert_eq!(parse_integer("count", Some(" 5 ")).unwrap(), Some(5));
        assert!(matches!(
            parse_integer("count", Some("five")),
            Err(ScimError::InvalidValue(_))
        ));
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        for cursor in [Cursor::After(42), Cursor::Before(7)] {
            assert_eq!(Cursor::parse(&cursor.encode()).unwrap(), cursor);
        }
        assert_eq!(Cursor::parse("").unwrap(), Cursor::Start);
        for bad in ["nope", "YTp4", "eDox"] {
            assert!(
                matches!(Cursor::parse(bad), Err(ScimError::InvalidCursor(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn sort_keys_follow_case_exactness_and_primary_values() {
        let sort = |by: &str| {
            parse_sort(ResourceKind::User, Some(by), None)
                .unwrap()
                .unwrap()
        };
        let user = serde_json::json!({
            "userName": "Bob", "externalId": "Ext",
            "emails": [{"value": "b@x"}, {"value": "A@X", "primary": true}],
        });
        assert_eq!(
            sort_key(&sort("userName"), &user),
            Some(SortKey::Text("bob".into()))
        );
        assert_eq!(
            sort_key(&sort("externalId"), &user),
            Some(SortKey::Text("Ext".into()))
        );
        assert_eq!(
            sort_key(&sort("emails"), &user),
            Some(SortKey::Text("a@x".into()))
        );
        assert_eq!(sort_key(&sort("title"), &user), None);
        let a = SortKey::Text("a".into());
        assert_eq!(compare_keys(Some(&a), None, false), Ordering::Less);
        assert_eq!(
            compare_keys(Some(&a), None, true),
            Ordering::Less,
            "absent sorts last"
        );
        assert!(parse_sort(ResourceKind::User, Some("nope"), None).is_err());
        assert!(parse_sort(ResourceKind::User, None, Some("sideways")).is_err());
    }
}

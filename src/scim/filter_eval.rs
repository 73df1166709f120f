//! Filters checked against the schema and evaluated over resource JSON.
//!
//! Semantics (RFC 7644 §3.4.2.2, where it is silent our choice is noted):
//! - case-exactness follows the schema (`userName`, `emails.value`,
//!   `displayName` ignore case; `id` and `externalId` do not);
//! - a multi-valued attribute matches when any of its values does; a
//!   complex attribute compared without a sub-attribute compares `value`;
//! - `dateTime` attributes compare as instants, numbers numerically;
//! - `pr` is present and not null, "" or [];
//! - `ne` is the negation of `eq`, so it matches an absent attribute.

use std::cmp::Ordering;

use chrono::DateTime;
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::Value;

use crate::scim::ScimError;
use crate::scim::schema::{self, AttrDef, AttrType, ResourceKind};

fn unknown(path: &AttrPath) -> ScimError {
    ScimError::InvalidFilter(format!("unknown attribute {path} in filter"))
}

fn check_comparison(
    def: &AttrDef,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
) -> Result<(), ScimError> {
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let leaf_kind = if def.is_complex() {
        def.sub("value").map_or(AttrType::Complex, |v| v.kind)
    } else {
        def.kind
    };
    if leaf_kind == AttrType::Complex {
        return Err(ScimError::InvalidFilter(format!(
            "{path} is complex: compare one of its sub-attributes"
        )));
    }
    if leaf_kind == AttrType::Boolean && (ordering || substring) {
        return Err(ScimError::InvalidFilter(format!(
            "{path} is a boolean: only eq and ne apply"
        )));
    }
    if substring && !matches!(value, CompValue::Str(_)) {
        return Err(ScimError::InvalidFilter(format!(
            "{op} on {path} needs a string value"
        )));
    }
    Ok(())
}

/// Every attribute named exists and every operator suits its type.
pub fn validate(kind: ResourceKind, filter: &Filter) -> Result<(), ScimError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate(kind, a)?;
            validate(kind, b)
        }
        Filter::Not(inner) => validate(kind, inner),
        Filter::Present(path) => schema::resolve(kind, path)
            .map(|_| ())
            .ok_or_else(|| unknown(path)),
        Filter::Compare(path, op, value) => {
            let resolved = schema::resolve(kind, path).ok_or_else(|| unknown(path))?;
            check_comparison(resolved.leaf(), path, *op, value)
        }
        Filter::ValuePath(path, inner) => {
            let resolved = schema::resolve(kind, path).ok_or_else(|| unknown(path))?;
            if !resolved.attr.is_complex() || resolved.sub.is_some() {
                return Err(ScimError::InvalidFilter(format!(
                    "{path}[...] needs a complex attribute"
                )));
            }
            validate_element(resolved.attr, inner)
        }
    }
}

/// A value filter's paths name sub-attributes of `attr`.
pub fn validate_element(attr: &AttrDef, filter: &Filter) -> Result<(), ScimError> {
    let sub = |path: &AttrPath| {
        if path.urn.is_some() || path.sub_attr.is_some() {
            return None;
        }
        attr.sub(&path.name)
    };
    let unknown_sub = |path: &AttrPath| {
        ScimError::InvalidFilter(format!("{} has no sub-attribute {path}", attr.name))
    };
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_element(attr, a)?;
            validate_element(attr, b)
        }
        Filter::Not(inner) => validate_element(attr, inner),
        Filter::Present(path) => sub(path).map(|_| ()).ok_or_else(|| unknown_sub(path)),
        Filter::Compare(path, op, value) => {
            let def = sub(path).ok_or_else(|| unknown_sub(path))?;
            check_comparison(def, path, *op, value)
        }
        Filter::ValuePath(path, _) => Err(ScimError::InvalidFilter(format!(
            "a value filter cannot nest another ({path})"
        ))),
    }
}

/// The values a path reaches in `resource`, with the definition that
/// governs comparing them.
fn values_at<'a>(
    kind: ResourceKind,
    path: &AttrPath,
    resource: &'a Value,
) -> (Vec<&'a Value>, Option<&'static AttrDef>) {
    let Some(resolved) = schema::resolve(kind, path) else {
        return (Vec::new(), None);
    };
    let container = match resolved.extension {
        Some(urn) => resource.get(urn),
        None => Some(resource),
    };
    let Some(value) = container.and_then(|c| c.get(&resolved.attr.name)) else {
        return (Vec::new(), Some(resolved.leaf()));
    };
    let elements: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    // A complex attribute without a sub-attribute is compared by its `value`.
    let sub = resolved.sub.or_else(|| {
        resolved
            .attr
            .is_complex()
            .then(|| resolved.attr.sub("value"))
            .flatten()
    });
    match sub {
        Some(sub) => (
            elements
                .into_iter()
                .filter_map(|e| e.get(&sub.name))
                .collect(),
            Some(sub),
        ),
        None => (elements, Some(resolved.attr)),
    }
}

pub fn matches(kind: ResourceKind, filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::And(a, b) => matches(kind, a, resource) && matches(kind, b, resource),
        Filter::Or(a, b) => matches(kind, a, resource) || matches(kind, b, resource),
        Filter::Not(inner) => !matches(kind, inner, resource),
        Filter::Present(path) => values_at(kind, path, resource).0.into_iter().any(present),
        Filter::Compare(path, op, expected) => {
            let (values, def) = values_at(kind, path, resource);
            compare_any(def, &values, *op, expected)
        }
        Filter::ValuePath(path, inner) => {
            let Some(resolved) = schema::resolve(kind, path) else {
                return false;
            };
            let container = match resolved.extension {
                Some(urn) => resource.get(urn),
                None => Some(resource),
            };
            match container.and_then(|c| c.get(&resolved.attr.name)) {
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|item| matches_element(resolved.attr, inner, item)),
                Some(single @ Value::Object(_)) => matches_element(resolved.attr, inner, single),
                _ => false,
            }
        }
    }
}

/// Evaluates a value filter's relative paths against one element of `attr`.
pub fn matches_element(attr: &AttrDef, filter: &Filter, element: &Value) -> bool {
    let field = |path: &AttrPath| {
        let def = attr.sub(&path.name);
        let name = def.map_or(path.name.as_str(), |d| d.name.as_str());
        let value = element
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v);
        (value, def)
    };
    match filter {
        Filter::And(a, b) => matches_element(attr, a, element) && matches_element(attr, b, element),
        Filter::Or(a, b) => matches_element(attr, a, element) || matches_element(attr, b, element),
        Filter::Not(inner) => !matches_element(attr, inner, element),
        Filter::Present(path) => field(path).0.is_some_and(present),
        Filter::Compare(path, op, expected) => {
            let (value, def) = field(path);
            compare_any(def, &value.into_iter().collect::<Vec<_>>(), *op, expected)
        }
        Filter::ValuePath(..) => false,
    }
}

fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        _ => true,
    }
}

fn compare_any(
    def: Option<&AttrDef>,
    values: &[&Value],
    op: CompareOp,
    expected: &CompValue,
) -> bool {
    if op == CompareOp::Ne {
        return !compare_any(def, values, CompareOp::Eq, expected);
    }
    values.iter().any(|v| compare(def, v, op, expected))
}

fn compare(def: Option<&AttrDef>, actual: &Value, op: CompareOp, expected: &CompValue) -> bool {
    let case_exact = def.is_some_and(|d| d.case_exact);
    let is_date = def.is_some_and(|d| d.kind == AttrType::DateTime);
    match (actual, expected) {
        (_, CompValue::Null) => op == CompareOp::Eq && actual.is_null(),
        (Value::String(a), CompValue::Str(e)) if is_date => {
            match (
                DateTime::parse_from_rfc3339(a),
                DateTime::parse_from_rfc3339(e),
            ) {
                (Ok(a), Ok(e)) => ordered(a.cmp(&e), op),
                _ => false,
            }
        }
        (Value::String(a), CompValue::Str(e)) => {
            let (a, e) = if case_exact {
                (a.clone(), e.clone())
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                _ => ordered(a.cmp(&e), op),
            }
        }
        (Value::Bool(a), CompValue::Bool(e)) => op == CompareOp::Eq && a == e,
        (Value::Number(a), CompValue::Num(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => a.partial_cmp(&e).is_some_and(|o| ordered(o, op)),
            _ => false,
        },
        _ => false,
    }
}

fn ordered(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_URN;
    use scim_filter_parser::parse_filter;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "AbC",
            "externalId": "Ext-1",
            "userName": "Ann@Example.com",
            "active": true,
            "title": "",
            "name": {"givenName": "Ann"},
            "emails": [{"value": "ann@work.example", "type": "work"}, {"value": "ann@home.example", "type": "home"}],
            ENTERPRISE_USER_URN: {"department": "R&D"},
            "meta": {"created": "2026-01-01T10:00:00Z", "lastModified": "2026-01-02T10:00:00+02:00"},
            "x509Certificates": [{"value": "MII"}],
        })
    }

    fn check(filter: &str) -> bool {
        let parsed = parse_filter(filter).expect("test filters parse");
        validate(ResourceKind::User, &parsed).expect("test filters are valid");
        matches(ResourceKind::User, &parsed, &user())
    }

    #[test]
    fn case_exactness_follows_the_schema() {
        assert!(check(r#"userName eq "ann@example.com""#));
        assert!(check(r#"emails.value eq "ANN@WORK.EXAMPLE""#));
        assert!(check(r#"id eq "AbC""#));
        assert!(!check(r#"id eq "abc""#));
        assert!(!check(r#"externalId eq "ext-1""#));
    }

    #[test]
    fn operators_multi_values_and_value_paths() {
        assert!(check(
            r#"userName sw "ann@" and userName ew ".COM" and userName co "@ex""#
        ));
        assert!(check(r#"emails[type eq "home" and value co "home"]"#));
        assert!(!check(r#"emails[type eq "home" and value co "work"]"#));
        assert!(check(r#"emails co "work.example""#));
        assert!(check(r#"department eq "r&d""#));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#
        ));
        assert!(check("active eq true"));
        assert!(!check("active ne true"));
        assert!(check(r#"not (userName eq "bob")"#));
        assert!(check(r#"userName gt "a" and userName lt "b""#));
    }

    #[test]
    fn presence_absence_and_ne() {
        assert!(!check("title pr"), "empty string is not present");
        assert!(!check("nickName pr"));
        assert!(
            check(r#"nickName ne "x""#),
            "ne matches an absent attribute"
        );
        assert!(check("name.givenName pr"));
    }

    #[test]
    fn dates_compare_as_instants() {
        assert!(check(r#"meta.lastModified lt "2026-01-02T09:00:00Z""#));
        assert!(check(r#"meta.lastModified eq "2026-01-02T08:00:00Z""#));
        assert!(check(r#"meta.created ge "2026-01-01T10:00:00.000Z""#));
    }

    #[test]
    fn invalid_filters_are_refused() {
        for filter in [
            r#"nope eq "x""#,
            r#"name.nope eq "x""#,
            r#"name eq "x""#,
            r#"active gt true"#,
            r#"active co "t""#,
            r#"userName co 5"#,
            r#"emails[nope eq "x"]"#,
            r#"userName[value eq "x"]"#,
            r#"groups[nope pr]"#,
        ] {
            let parsed = parse_filter(filter).expect("parses");
            let checked = validate(ResourceKind::User, &parsed);
            assert!(
                matches!(checked, Err(ScimError::InvalidFilter(_))),
                "{filter}: {checked:?}"
            );
        }
    }
}

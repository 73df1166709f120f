//! PATCH (RFC 7644 §3.5.2), including what Okta and Entra really send.
//!
//! `apply` is a pure function from the stored resource to a new one: if any
//! operation fails, the caller has nothing to roll back. The result is not
//! yet normalised; the caller runs `resource::normalize` on it, which checks
//! types, applies Entra's coercions and the `primary` rule.

use scim_filter_parser::{CompValue, CompareOp, Filter, PatchPath, parse_path};
use serde_json::{Map, Value};

use crate::scim::ScimError;
use crate::scim::filter_eval;
use crate::scim::schema::{self, AttrDef, Mutability, Resolved, ResourceKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let object = body.as_object().ok_or_else(|| {
        ScimError::InvalidSyntax("a PatchOp request must be a JSON object".into())
    })?;
    if let Some(schemas) = member(object, "schemas") {
        let declared = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(schema::PATCH_OP_URN)));
        if !declared {
            return Err(ScimError::InvalidSyntax(format!(
                "schemas must contain {}",
                schema::PATCH_OP_URN
            )));
        }
    }
    let operations = member(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::InvalidSyntax("Operations must be an array".into()))?;
    operations.iter().map(parse_operation).collect()
}

fn parse_operation(raw: &Value) -> Result<PatchOp, ScimError> {
    let object = raw
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("each operation must be an object".into()))?;
    // Entra capitalises op names ("Replace").
    let op = match member(object, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => PatchOpKind::Add,
        Some("remove") => PatchOpKind::Remove,
        Some("replace") => PatchOpKind::Replace,
        other => {
            return Err(ScimError::InvalidSyntax(format!(
                "op must be add, remove or replace, got {other:?}"
            )));
        }
    };
    let path = match member(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(
            parse_path(text).map_err(|e| ScimError::InvalidPath(format!("invalid path: {e}")))?,
        ),
        Some(other) => {
            return Err(ScimError::InvalidPath(format!(
                "path must be a string, got {other}"
            )));
        }
    };
    let value = member(object, "value").cloned();
    match (op, &path, &value) {
        (PatchOpKind::Remove, None, _) => Err(ScimError::NoTarget(
            "remove needs a path naming what to remove".into(),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, _, None) => Err(ScimError::InvalidValue(
            "add and replace need a value".into(),
        )),
        _ => Ok(PatchOp { op, path, value }),
    }
}

/// Okta repeats a resource's own `id` in a no-path operation's value, which
/// `apply` passes over; any other `id` there is an attempt to change a
/// read-only attribute (RFC 7643 §3.1).
pub fn check_own_id(ops: &[PatchOp], id: &str) -> Result<(), ScimError> {
    for op in ops.iter().filter(|op| op.path.is_none()) {
        let Some(Value::Object(object)) = &op.value else {
            continue;
        };
        if let Some(value) = member(object, "id")
            && value.as_str().is_none_or(|other| other != id)
        {
            return Err(ScimError::Mutability(
                "id is read-only: a PATCH value may only repeat the resource's own id".into(),
            ));
        }
    }
    Ok(())
}

/// Applies every operation in order to a copy of `resource`.
pub fn apply(kind: ResourceKind, resource: &Value, ops: &[PatchOp]) -> Result<Value, ScimError> {
    let mut doc = match resource {
        Value::Object(object) => object.clone(),
        _ => Map::new(),
    };
    for op in ops {
        match &op.path {
            Some(path) => apply_path(kind, &mut doc, op.op, path, op.value.clone())?,
            None => apply_without_path(kind, &mut doc, op.op, op.value.clone())?,
        }
    }
    Ok(Value::Object(doc))
}

/// A no-path add/replace: each member of the value object is an attribute,
/// a dotted or URN-qualified path (Entra), or a whole extension.
fn apply_without_path(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    op: PatchOpKind,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(Value::Object(object)) = value else {
        return Err(ScimError::InvalidValue(
            "an operation without a path needs an object value".into(),
        ));
    };
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let path = parse_path(&key)
            .map_err(|e| ScimError::InvalidPath(format!("invalid attribute {key:?}: {e}")))?;
        // Okta repeats `id` in a rename's value object; equal to itself, so harmless.
        if path.attr.name.eq_ignore_ascii_case("id") && path.attr.urn.is_none() {
            continue;
        }
        apply_path(kind, doc, op, &path, Some(value))?;
    }
    Ok(())
}

fn object_at<'a>(doc: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = doc
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(object) => object,
        _ => unreachable!("made an object above"),
    }
}

fn apply_path(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    op: PatchOpKind,
    path: &PatchPath,
    value: Option<Value>,
) -> Result<(), ScimError> {
    if let Some(urn) = schema::whole_extension(kind, &path.attr) {
        return apply_whole_extension(kind, doc, op, urn, path, value);
    }
    let resolved = schema::resolve(kind, &path.attr)
        .ok_or_else(|| ScimError::InvalidPath(format!("unknown attribute {}", path.attr)))?;
    let target_def = match (path.value_filter.as_ref(), &path.sub_attr) {
        (Some(_), Some(sub)) => resolved.attr.sub(sub).ok_or_else(|| {
            ScimError::InvalidPath(format!("{} has no sub-attribute {sub}", resolved.attr.name))
        })?,
        _ => resolved.leaf(),
    };
    for def in [resolved.attr, target_def] {
        if matches!(def.mutability, Mutability::ReadOnly) {
            return Err(ScimError::Mutability(format!(
                "{} is read-only",
                resolved.canonical_path()
            )));
        }
    }
    let container = match resolved.extension {
        Some(urn) => object_at(doc, urn),
        None => doc,
    };
    match &path.value_filter {
        None => apply_plain(container, op, &resolved, value),
        Some(filter) => {
            if !(resolved.attr.multi_valued && resolved.attr.is_complex()) {
                return Err(ScimError::InvalidPath(format!(
                    "{} is not a multi-valued complex attribute",
                    resolved.attr.name
                )));
            }
            filter_eval::validate_element(resolved.attr, filter)?;
            let sub = path.sub_attr.as_deref().map(|_| target_def.name.as_str());
            apply_filtered(container, op, resolved.attr, filter, sub, value)
        }
    }
}

fn apply_whole_extension(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    op: PatchOpKind,
    urn: &str,
    path: &PatchPath,
    value: Option<Value>,
) -> Result<(), ScimError> {
    if path.value_filter.is_some() {
        return Err(ScimError::InvalidPath(format!(
            "{urn} cannot take a filter"
        )));
    }
    match (op, value) {
        (PatchOpKind::Remove, _) => {
            doc.remove(urn);
            Ok(())
        }
        (_, Some(Value::Object(attributes))) => {
            for (name, v) in attributes {
                if name.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let attr_path = parse_path(&format!("{urn}:{name}"))
                    .map_err(|e| ScimError::InvalidPath(e.to_string()))?;
                apply_path(kind, doc, op, &attr_path, Some(v))?;
            }
            Ok(())
        }
        _ => Err(ScimError::InvalidValue(format!(
            "{urn} takes an object of its attributes"
        ))),
    }
}

/// The elements of a multi-valued value (a lone value counts as one).
fn as_elements(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        single => vec![single],
    }
}

/// A new `primary: true` element takes the role from the others.
fn demote_other_primaries(items: &mut [Value], keep: usize) {
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep
            && let Some(primary) = item.get_mut("primary")
        {
            *primary = Value::Bool(false);
        }
    }
}

fn is_primary(item: &Value) -> bool {
    item.get("primary").is_some_and(|p| {
        p == &Value::Bool(true) || p.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
    })
}

fn apply_plain(
    container: &mut Map<String, Value>,
    op: PatchOpKind,
    resolved: &Resolved,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let attr = resolved.attr;
    let name = attr.name.as_str();
    match (resolved.sub, op) {
        (None, PatchOpKind::Remove) => {
            match (attr.multi_valued, value.map(as_elements)) {
                // Entra removes listed elements from a multi-valued attribute.
                (true, Some(listed)) if !listed.is_empty() => {
                    if let Some(Value::Array(items)) = container.get_mut(name) {
                        items.retain(|item| !listed.iter().any(|l| same_element(l, item)));
                    }
                }
                _ => {
                    container.remove(name);
                }
            }
            Ok(())
        }
        (None, PatchOpKind::Add) if attr.multi_valued => {
            let items = container
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !items.is_array() {
                *items = Value::Array(Vec::new());
            }
            if let Value::Array(items) = items {
                for element in as_elements(value.unwrap_or(Value::Null)) {
                    if items.contains(&element) {
                        continue;
                    }
                    items.push(element);
                    if is_primary(&items[items.len() - 1]) {
                        let last = items.len() - 1;
                        demote_other_primaries(items, last);
                    }
                }
            }
            Ok(())
        }
        (None, PatchOpKind::Add) if attr.is_complex() => {
            // add merges into a complex attribute; replace (below) swaps it whole.
            match value {
                Some(Value::Object(fields)) => {
                    let target = object_at(container, name);
                    for (k, v) in fields {
                        let key = attr.sub(&k).map_or(k, |s| s.name.clone());
                        target.insert(key, v);
                    }
                }
                Some(other) => {
                    container.insert(name.to_owned(), other);
                }
                None => {}
            }
            Ok(())
        }
        (None, _) => {
            container.insert(name.to_owned(), value.unwrap_or(Value::Null));
            Ok(())
        }
        (Some(sub), op) if attr.multi_valued => {
            // `emails.value` without a filter: every element.
            let items = match container.get_mut(name) {
                Some(Value::Array(items)) if !items.is_empty() => items,
                _ if op == PatchOpKind::Remove => return Ok(()),
                _ => {
                    container.insert(
                        name.to_owned(),
                        Value::Array(vec![Value::Object(Map::new())]),
                    );
                    match container.get_mut(name) {
                        Some(Value::Array(items)) => items,
                        _ => unreachable!("inserted an array above"),
                    }
                }
            };
            for item in items.iter_mut() {
                if let Value::Object(fields) = item {
                    set_or_remove(fields, &sub.name, op, value.clone());
                }
            }
            Ok(())
        }
        (Some(sub), op) => {
            if op == PatchOpKind::Remove && !container.contains_key(name) {
                return Ok(());
            }
            set_or_remove(object_at(container, name), &sub.name, op, value);
            Ok(())
        }
    }
}

fn set_or_remove(
    fields: &mut Map<String, Value>,
    name: &str,
    op: PatchOpKind,
    value: Option<Value>,
) {
    match op {
        PatchOpKind::Remove => {
            fields.remove(name);
        }
        _ => {
            fields.insert(name.to_owned(), value.unwrap_or(Value::Null));
        }
    }
}

/// Elements compare by `value` when both have one, else as whole objects.
fn same_element(listed: &Value, item: &Value) -> bool {
    match (listed.get("value"), item.get("value")) {
        (Some(a), Some(b)) => a == b,
        _ => listed == item,
    }
}

/// The sub-attribute equalities of a simple filter (`type eq "work"` or an
/// `and` of such), used to create the element a filter names when missing.
fn defining_fields(filter: &Filter, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value)
            if path.urn.is_none() && path.sub_attr.is_none() =>
        {
            let value = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Num(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.insert(path.name.clone(), value);
            true
        }
        Filter::And(a, b) => defining_fields(a, out) && defining_fields(b, out),
        _ => false,
    }
}

fn apply_filtered(
    container: &mut Map<String, Value>,
    op: PatchOpKind,
    attr: &AttrDef,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let name = attr.name.as_str();
    let mut items = match container.remove(name) {
        Some(Value::Array(items)) => items,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let matching: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| filter_eval::matches_element(attr, filter, item))
        .map(|(i, _)| i)
        .collect();
    match (op, sub) {
        // Removing what is not there is a no-op: Entra removes optimistically.
        (PatchOpKind::Remove, None) => {
            let mut index = 0;
            items.retain(|_| {
                let keep = !matching.contains(&index);
                index += 1;
                keep
            });
        }
        (PatchOpKind::Remove, Some(sub)) => {
            for &i in &matching {
                if let Value::Object(fields) = &mut items[i] {
                    fields.remove(sub);
                }
            }
        }
        (_, sub) if matching.is_empty() => {
            // Entra: replacing `phoneNumbers[type eq "work"].value` creates the work phone.
            let mut element = Map::new();
            if !defining_fields(filter, &mut element) {
                return Err(ScimError::NoTarget(format!(
                    "no element of {name} matches the filter"
                )));
            }
            let element = canonical_fields(attr, element);
            let mut element = element;
            merge_into(&mut element, attr, sub, value)?;
            items.push(Value::Object(element));
            if is_primary(&items[items.len() - 1]) {
                let last = items.len() - 1;
                demote_other_primaries(&mut items, last);
            }
        }
        (_, sub) => {
            for &i in &matching {
                if let Value::Object(fields) = &mut items[i] {
                    merge_into(fields, attr, sub, value.clone())?;
                }
            }
        }
    }
    if !items.is_empty() {
        container.insert(name.to_owned(), Value::Array(items));
    }
    Ok(())
}

fn canonical_fields(attr: &AttrDef, fields: Map<String, Value>) -> Map<String, Value> {
    fields
        .into_iter()
        .map(|(k, v)| (attr.sub(&k).map_or(k, |s| s.name.clone()), v))
        .collect()
}

/// Sets `sub` of an element, or merges an object value into it.
fn merge_into(
    element: &mut Map<String, Value>,
    attr: &AttrDef,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    match (sub, value) {
        (Some(sub), value) => {
            element.insert(sub.to_owned(), value.unwrap_or(Value::Null));
        }
        (None, Some(Value::Object(fields))) => {
            element.extend(canonical_fields(attr, fields));
        }
        (None, other) => {
            return Err(ScimError::InvalidValue(format!(
                "{} elements are objects, got {}",
                attr.name,
                other.unwrap_or(Value::Null)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::resource::normalize;
    use crate::scim::schema::ENTERPRISE_USER_URN;
    use serde_json::json;

    fn ops(operations: Value) -> Vec<PatchOp> {
        parse_patch_request(&json!({"schemas": [schema::PATCH_OP_URN], "Operations": operations}))
            .expect("valid request")
    }

    fn patched(resource: Value, operations: Value) -> Result<Value, ScimError> {
        let next = apply(ResourceKind::User, &resource, &ops(operations))?;
        normalize(ResourceKind::User, next).map(|i| i.resource)
    }

    fn base() -> Value {
        normalize(
            ResourceKind::User,
            json!({
                "userName": "ann",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@work", "type": "work", "primary": true}],
            }),
        )
        .expect("valid")
        .resource
    }

    #[test]
    fn parses_entra_capitalised_ops_and_refuses_bad_requests() {
        let parsed = ops(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        assert_eq!(parsed[0].op, PatchOpKind::Replace);
        for (body, expected) in [
            (json!({"Operations": [{"op": "jump"}]}), "invalidSyntax"),
            (json!({"Operations": [{"op": "remove"}]}), "noTarget"),
            (
                json!({"Operations": [{"op": "add", "path": "title"}]}),
                "invalidValue",
            ),
            (
                json!({"Operations": [{"op": "add", "path": "emails[", "value": 1}]}),
                "invalidPath",
            ),
            (json!({"schemas": ["x"], "Operations": []}), "invalidSyntax"),
            (json!({"operations": "x"}), "invalidSyntax"),
        ] {
            let error = parse_patch_request(&body).expect_err("refused");
            assert_eq!(error.scim_type(), Some(expected), "{body}");
        }
    }

    #[test]
    fn paths_sub_attributes_and_urns() {
        let out = patched(
            base(),
            json!([
                {"op": "replace", "path": "name.givenName", "value": "Anne"},
                {"op": "add", "path": "title", "value": "CTO"},
                {"op": "add", "path": format!("{ENTERPRISE_USER_URN}:department"), "value": "R&D"},
                {"op": "Add", "path": format!("{ENTERPRISE_USER_URN}:manager"), "value": "boss"},
                {"op": "remove", "path": "name.familyName"},
            ]),
        )
        .expect("applies");
        assert_eq!(out["name"], json!({"givenName": "Anne"}));
        assert_eq!(out["title"], "CTO");
        assert_eq!(out[ENTERPRISE_USER_URN]["department"], "R&D");
        assert_eq!(
            out[ENTERPRISE_USER_URN]["manager"],
            json!({"value": "boss"})
        );
        let out = patched(
            out,
            json!([{"op": "remove", "path": format!("{ENTERPRISE_USER_URN}:manager")}]),
        )
        .expect("applies");
        assert_eq!(out[ENTERPRISE_USER_URN], json!({"department": "R&D"}));
        let out =
            patched(out, json!([{"op": "remove", "path": ENTERPRISE_USER_URN}])).expect("applies");
        assert!(out.get(ENTERPRISE_USER_URN).is_none());
    }

    #[test]
    fn no_path_values_with_dotted_and_urn_keys() {
        let out = patched(
            base(),
            json!([
                {"op": "replace", "value": {"name.givenName": "Zoe", "active": "False",
                    format!("{ENTERPRISE_USER_URN}:manager"): "m1",
                    ENTERPRISE_USER_URN: {"costCenter": "7"}}},
                {"op": "add", "value": {"nickName": "Z"}},
            ]),
        )
        .expect("applies");
        assert_eq!(out["name"]["givenName"], "Zoe");
        assert_eq!(out["name"]["familyName"], "Lee");
        assert_eq!(out["active"], false);
        assert_eq!(out[ENTERPRISE_USER_URN]["manager"]["value"], "m1");
        assert_eq!(out[ENTERPRISE_USER_URN]["costCenter"], "7");
        assert_eq!(out["nickName"], "Z");
    }

    #[test]
    fn filtered_paths_update_create_and_remove_elements() {
        let out = patched(
            base(),
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@new"},
                {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1"},
                {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Oslo"},
            ]),
        )
        .expect("applies");
        assert_eq!(
            out["emails"],
            json!([{"value": "ann@new", "type": "work", "primary": true}])
        );
        assert_eq!(
            out["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1"}])
        );
        assert_eq!(
            out["addresses"],
            json!([{"type": "work", "locality": "Oslo"}])
        );
        let out = patched(
            out,
            json!([
                {"op": "remove", "path": "phoneNumbers[type eq \"mobile\"]"},
                {"op": "remove", "path": "ims[type eq \"xmpp\"]"},
            ]),
        )
        .expect("removing what is absent is a no-op");
        assert!(out.get("phoneNumbers").is_none());
        let error = patched(
            out,
            json!([{"op": "replace", "path": "emails[value co \"x\"].type", "value": "home"}]),
        )
        .expect_err("no element and no defining equality");
        assert_eq!(error.scim_type(), Some("noTarget"));
    }

    #[test]
    fn add_merges_multi_valued_and_a_new_primary_demotes_the_old() {
        let out = patched(
            base(),
            json!([{"op": "add", "path": "emails", "value": [
                {"value": "ann@work", "type": "work", "primary": true},
                {"value": "ann@home", "type": "home", "primary": true}
            ]}]),
        )
        .expect("applies");
        assert_eq!(
            out["emails"],
            json!([
                {"value": "ann@work", "type": "work", "primary": false},
                {"value": "ann@home", "type": "home", "primary": true}
            ])
        );
        let out = patched(
            out,
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only"}]}]),
        )
        .expect("applies");
        assert_eq!(out["emails"], json!([{"value": "only"}]));
    }

    #[test]
    fn only_the_resources_own_id_may_be_repeated() {
        let ops = |value: Value| {
            parse_patch_request(&json!({"Operations": [{"op": "replace", "value": value}]}))
                .expect("parses")
        };
        assert!(check_own_id(&ops(json!({"id": "me", "title": "x"})), "me").is_ok());
        assert!(check_own_id(&ops(json!({"title": "x"})), "me").is_ok());
        for other in [json!({"id": "you"}), json!({"ID": "you"}), json!({"id": 1})] {
            assert!(matches!(
                check_own_id(&ops(other), "me"),
                Err(ScimError::Mutability(_))
            ));
        }
    }

    #[test]
    fn errors_have_the_right_scim_type() {
        for (operations, expected) in [
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "meta.created", "value": "x"}]),
                "mutability",
            ),
            (
                json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "nope", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "title[type eq \"x\"]", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[nope eq \"x\"].value", "value": "x"}]),
                "invalidFilter",
            ),
            (
                json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
                "invalidValue",
            ),
            (
                json!([{"op": "remove", "path": "userName"}]),
                "invalidValue",
            ),
            (
                json!([{"op": "replace", "value": "not an object"}]),
                "invalidValue",
            ),
        ] {
            let error = patched(base(), operations.clone()).expect_err("refused");
            assert_eq!(error.scim_type(), Some(expected), "{operations}");
        }
    }
}

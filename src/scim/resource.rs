//! Incoming resources made canonical, and outgoing ones projected.
//!
//! `normalize` is the one gate every write passes (POST, PUT, and the
//! result of a PATCH): canonical attribute casing, extension attributes under
//! their URN, types checked with the coercions Entra needs, at most one
//! `primary`, read-only attributes dropped, unknown attributes kept verbatim.

use scim_filter_parser::parse_path;
use serde_json::{Map, Value};

use crate::scim::schema::{self, AttrDef, AttrType, Mutability, ResourceKind, Returned, SchemaDef};
use crate::scim::{ScimError, input};

pub struct Incoming {
    /// Canonical resource without `id`, `meta` or `password`.
    pub resource: Value,
    pub password: Option<String>,
}

fn invalid(attr: &str, detail: impl std::fmt::Display) -> ScimError {
    ScimError::InvalidValue(format!("{attr}: {detail}"))
}

/// A value for a single-valued attribute of the given type; `Ok(None)` for
/// null and empty values, which mean "unassigned".
fn normalize_single(def: &AttrDef, label: &str, value: Value) -> Result<Option<Value>, ScimError> {
    Ok(match (def.kind, value) {
        (_, Value::Null) => None,
        (AttrType::Complex, Value::Object(object)) => {
            let normalized = normalize_object(&def.sub_attributes, label, object)?;
            (!normalized.is_empty()).then_some(Value::Object(normalized))
        }
        // Entra sends a bare id where a complex `{value}` is meant (manager).
        (AttrType::Complex, Value::String(s)) if def.sub("value").is_some() => {
            let mut object = Map::new();
            object.insert("value".into(), Value::String(s));
            Some(Value::Object(object))
        }
        (AttrType::Complex, other) => {
            return Err(invalid(label, format!("expected an object, got {other}")));
        }
        (AttrType::Boolean, Value::Bool(b)) => Some(Value::Bool(b)),
        // Entra sends booleans as "True"/"False".
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Some(Value::Bool(true))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Some(Value::Bool(false))
        }
        (AttrType::Boolean, other) => {
            return Err(invalid(label, format!("expected a boolean, got {other}")));
        }
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n)),
        (AttrType::Integer, other) => {
            return Err(invalid(label, format!("expected an integer, got {other}")));
        }
        (AttrType::Decimal, Value::Number(n)) => Some(Value::Number(n)),
        (AttrType::Decimal, other) => {
            return Err(invalid(label, format!("expected a number, got {other}")));
        }
        (AttrType::DateTime, Value::String(s)) => {
            if chrono::DateTime::parse_from_rfc3339(&s).is_err() {
                return Err(invalid(
                    label,
                    format!("{s:?} is not an RFC 3339 date-time"),
                ));
            }
            Some(Value::String(s))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            Some(Value::String(s))
        }
        (_, other) => return Err(invalid(label, format!("expected a string, got {other}"))),
    })
}

fn normalize_value(def: &AttrDef, label: &str, value: Value) -> Result<Option<Value>, ScimError> {
    if !def.multi_valued {
        if value.is_array() {
            return Err(invalid(label, "expected a single value, got a list"));
        }
        return normalize_single(def, label, value);
    }
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        // A lone value for a multi-valued attribute is taken as a list of one.
        single => vec![single],
    };
    let mut normalized = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = normalize_single(def, label, item)? {
            normalized.push(v);
        }
    }
    keep_first_primary(&mut normalized);
    Ok((!normalized.is_empty()).then_some(Value::Array(normalized)))
}

/// RFC 7643 §2.4: at most one `primary: true`; the first one wins.
fn keep_first_primary(items: &mut [Value]) {
    let mut seen = false;
    for item in items.iter_mut() {
        if let Some(primary) = item.get_mut("primary")
            && primary == &Value::Bool(true)
        {
            if seen {
                *primary = Value::Bool(false);
            }
            seen = true;
        }
    }
}

/// Object members matched to `defs` case-insensitively; unknown members kept.
fn normalize_object(
    defs: &[AttrDef],
    parent: &str,
    object: Map<String, Value>,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for (key, value) in object {
        match defs.iter().find(|d| d.name.eq_ignore_ascii_case(&key)) {
            Some(def) if def.mutability == Mutability::ReadOnly => {}
            Some(def) => {
                let label = format!("{parent}.{}", def.name);
                if let Some(v) = normalize_value(def, &label, value)? {
                    out.insert(def.name.clone(), v);
                }
            }
            None if !value.is_null() => {
                out.insert(key, value);
            }
            None => {}
        }
    }
    Ok(out)
}

/// Merges `value` for the attribute `def` into `target` (case-insensitive keys).
fn put_attribute(
    target: &mut Map<String, Value>,
    def: &AttrDef,
    label: &str,
    value: Value,
) -> Result<(), ScimError> {
    if def.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    match normalize_value(def, label, value)? {
        Some(v) => {
            target.insert(def.name.clone(), v);
        }
        None => {
            target.remove(&def.name);
        }
    }
    Ok(())
}

fn extension_object<'a>(out: &'a mut Map<String, Value>, urn: &str) -> &'a mut Map<String, Value> {
    let slot = out
        .entry(urn.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

fn normalize_extension(
    out: &mut Map<String, Value>,
    urn: &str,
    def: &SchemaDef,
    value: Value,
) -> Result<(), ScimError> {
    let Value::Object(object) = value else {
        if value.is_null() {
            out.remove(urn);
            return Ok(());
        }
        return Err(invalid(urn, "expected an object of extension attributes"));
    };
    let target = extension_object(out, urn);
    for (key, value) in object {
        match def.attribute(&key) {
            Some(attr) => put_attribute(target, attr, &format!("{urn}:{}", attr.name), value)?,
            None if !value.is_null() => {
                target.insert(key, value);
            }
            None => {}
        }
    }
    Ok(())
}

fn required_text(out: &Map<String, Value>, name: &str) -> Result<(), ScimError> {
    match out.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        _ => Err(ScimError::InvalidValue(format!("{name} is required"))),
    }
}

/// A top-level string attribute of a raw request body, named in any case
/// (for logging a request that fails before it is normalised).
pub fn text_attribute(body: &Value, name: &str) -> Option<String> {
    body.as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_owned)
}

/// Whether a POST or PUT body sets a password (`password`, or its URN-
/// qualified form), which preparing it will hash with argon2.
pub fn carries_password(body: &Value) -> bool {
    body.as_object().is_some_and(|object| {
        object.keys().any(|key| {
            let name = key.rsplit(':').next().unwrap_or(key);
            name.eq_ignore_ascii_case("password")
        })
    })
}

pub fn normalize(kind: ResourceKind, body: Value) -> Result<Incoming, ScimError> {
    let Value::Object(object) = body else {
        return Err(ScimError::InvalidSyntax(
            "the resource must be a JSON object".into(),
        ));
    };
    let mut out = Map::new();
    let mut password = None;
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some((urn, def)) = schema::extension(kind, &key) {
            normalize_extension(&mut out, urn, def, value)?;
            continue;
        }
        // `get`: byte 4 may fall inside a character (found by fuzz/resource).
        if key.len() > 4 && key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            // `"urn:…:User:department": "x"` (an extension attribute spelled out as a key).
            let path = parse_path(&key).map_err(|e| ScimError::InvalidPath(e.to_string()))?;
            if let Some(resolved) = schema::resolve(kind, &path.attr)
                && path.value_filter.is_none()
                && resolved.sub.is_none()
            {
                let label = resolved.canonical_path();
                let target = match resolved.extension {
                    Some(urn) => extension_object(&mut out, urn),
                    None => &mut out,
                };
                put_attribute(target, resolved.attr, &label, value)?;
            } else if !value.is_null() {
                out.insert(key, value);
            }
            continue;
        }
        match schema::core_attribute(kind, &key) {
            Some(def) if def.name == "password" => match value {
                Value::String(s) if !s.is_empty() => password = Some(s),
                Value::Null => {}
                // Named by its JSON type only: the value may be the password.
                other => {
                    let kind = match other {
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        Value::Array(_) => "an array",
                        _ => "an object",
                    };
                    return Err(invalid(
                        "password",
                        format!("expected a string, got {kind}"),
                    ));
                }
            },
            Some(def) => {
                let label = def.name.clone();
                put_attribute(&mut out, def, &label, value)?;
            }
            None if !value.is_null() => {
                out.insert(key, value);
            }
            None => {}
        }
    }
    for urn in kind.extension_urns() {
        if out
            .get(*urn)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            out.remove(*urn);
        }
    }
    match kind {
        ResourceKind::User => required_text(&out, "userName")?,
        ResourceKind::Group => required_text(&out, "displayName")?,
    }
    let mut schemas = vec![Value::String(kind.core_urn().to_owned())];
    schemas.extend(
        kind.extension_urns()
            .iter()
            .filter(|urn| out.contains_key(**urn))
            .map(|urn| Value::String((*urn).to_owned())),
    );
    let mut resource = Map::new();
    resource.insert("schemas".into(), Value::Array(schemas));
    resource.extend(out);
    // RFC 7643 gives `active` no default, but clients read it back (Okta's
    // spec test fails without it): a User never sent one is stored active,
    // what filters and sorts on `active` answer too, and the stored resource
    // is served as it is.
    if kind == ResourceKind::User && !resource.contains_key("active") {
        resource.insert("active".into(), Value::Bool(true));
    }
    let resource = Value::Object(resource);
    input::check_lengths(kind, &resource)?;
    Ok(Incoming { resource, password })
}

/// One name from `attributes`/`excludedAttributes`: attribute and optional sub.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selected {
    /// Top-level key: the attribute name, or the extension URN.
    key: String,
    /// For extension attributes, the attribute inside the extension.
    attr: Option<String>,
    sub: Option<String>,
}

impl Selected {
    /// Whether this name selects (all or part of) `key`/`attr`.
    fn covers(&self, key: &str, attr: Option<&str>) -> bool {
        self.key == key && (attr.is_none() || self.attr.is_none() || self.attr.as_deref() == attr)
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) with `returned`.
#[derive(Debug, Clone, Default)]
pub struct AttributeSelection {
    attributes: Vec<Selected>,
    excluded: Vec<Selected>,
}

fn parse_names(kind: ResourceKind, list: Option<&str>) -> Result<Vec<Selected>, ScimError> {
    let mut selected = Vec::new();
    for name in list
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let path = parse_path(name).map_err(|e| {
            ScimError::InvalidValue(format!("invalid attribute name {name:?}: {e}"))
        })?;
        if path.value_filter.is_some() {
            return Err(ScimError::InvalidValue(format!(
                "attribute names cannot carry filters: {name:?}"
            )));
        }
        if let Some(urn) = schema::whole_extension(kind, &path.attr) {
            selected.push(Selected {
                key: urn.to_owned(),
                attr: None,
                sub: None,
            });
            continue;
        }
        // Names the schema does not know select nothing, as the RFC leaves it.
        let Some(resolved) = schema::resolve(kind, &path.attr) else {
            continue;
        };
        selected.push(match resolved.extension {
            Some(urn) => Selected {
                key: urn.to_owned(),
                attr: Some(resolved.attr.name.clone()),
                sub: resolved.sub.map(|s| s.name.clone()),
            },
            None => Selected {
                key: resolved.attr.name.clone(),
                attr: None,
                sub: resolved.sub.map(|s| s.name.clone()),
            },
        });
    }
    Ok(selected)
}

impl AttributeSelection {
    pub fn parse(
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded_attributes: Option<&str>,
    ) -> Result<AttributeSelection, ScimError> {
        Ok(AttributeSelection {
            attributes: parse_names(kind, attributes)?,
            excluded: parse_names(kind, excluded_attributes)?,
        })
    }

    /// No `attributes` and no `excludedAttributes`: every attribute returned
    /// by default, that is, a stored resource as it is (nothing it holds is
    /// returned "never" or only on request: passwords are not stored in it).
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Whether the top-level attribute `name` would appear in the output
    /// (lets callers skip loading, e.g., a group's members).
    pub fn includes(&self, kind: ResourceKind, name: &str) -> bool {
        let Some(def) = schema::core_attribute(kind, name) else {
            return true;
        };
        self.keeps(&def.name, None, def.returned, None)
    }

    /// `returned` rules: always, never, request (only when named), default
    /// (unless excluded, or unless `attributes` names other things).
    fn keeps(&self, key: &str, attr: Option<&str>, returned: Returned, sub: Option<&str>) -> bool {
        let named = |list: &[Selected]| {
            list.iter().any(|s| {
                s.covers(key, attr) && (sub.is_none() || s.sub.is_none() || s.sub.as_deref() == sub)
            })
        };
        let fully_excluded = self.excluded.iter().any(|s| {
            s.covers(key, attr) && s.sub.is_none() && (attr.is_some() || s.attr.is_none())
        });
        match returned {
            Returned::Always => true,
            Returned::Never => false,
            Returned::Request => named(&self.attributes),
            Returned::Default if !self.attributes.is_empty() => named(&self.attributes),
            Returned::Default => !fully_excluded,
        }
    }

    /// Sub-attribute filtering inside a complex value (or each element).
    fn project_subs(&self, key: &str, attr: Option<&str>, def: &AttrDef, value: Value) -> Value {
        let keep_sub = |name: &str| {
            let sub_def = def.sub(name);
            let returned = sub_def.map_or(Returned::Default, |s| s.returned);
            let sub_excluded = self.excluded.iter().any(|s| {
                s.covers(key, attr)
                    && s.sub
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            });
            if sub_excluded {
                return false;
            }
            let subs_named: Vec<&Selected> = self
                .attributes
                .iter()
                .filter(|s| s.covers(key, attr) && s.sub.is_some())
                .collect();
            let whole_named = self
                .attributes
                .iter()
                .any(|s| s.covers(key, attr) && s.sub.is_none());
            match returned {
                Returned::Never => false,
                Returned::Always => true,
                _ if !subs_named.is_empty() && !whole_named => subs_named.iter().any(|s| {
                    s.sub
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                }),
                Returned::Request => whole_named,
                _ => true,
            }
        };
        let filter_object = |mut object: Map<String, Value>| {
            object.retain(|k, _| keep_sub(k));
            Value::Object(object)
        };
        match value {
            Value::Object(object) => filter_object(object),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::Object(object) => filter_object(object),
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn project_member(
        &self,
        key: &str,
        attr: Option<&str>,
        def: Option<&AttrDef>,
        value: Value,
    ) -> Option<Value> {
        let returned = def.map_or(Returned::Default, |d| d.returned);
        if !self.keeps(key, attr, returned, None) {
            return None;
        }
        Some(match def {
            Some(def) if def.is_complex() => self.project_subs(key, attr, def, value),
            _ => value,
        })
    }

    /// The resource as the client asked to see it. Takes the resource by
    /// value so a large one (a group's members) is filtered, never copied.
    pub fn project(&self, kind: ResourceKind, resource: Value) -> Value {
        let Value::Object(object) = resource else {
            return resource;
        };
        let mut out = Map::new();
        for (key, value) in object {
            if key == "schemas" || key == "id" {
                out.insert(key, value);
                continue;
            }
            if let Some((urn, def)) = schema::extension(kind, &key) {
                let Value::Object(inner) = value else {
                    continue;
                };
                let projected: Map<String, Value> = inner
                    .into_iter()
                    .filter_map(|(name, v)| {
                        let attr_def = def.attribute(&name);
                        self.project_member(urn, Some(&name), attr_def, v)
                            .map(|v| (name, v))
                    })
                    .collect();
                if !projected.is_empty() {
                    out.insert(key, Value::Object(projected));
                }
                continue;
            }
            let def = schema::core_attribute(kind, &key);
            if let Some(v) = self.project_member(&key, None, def, value) {
                out.insert(key, v);
            }
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_URN;
    use serde_json::json;

    fn user(body: Value) -> Value {
        normalize(ResourceKind::User, body)
            .expect("valid user")
            .resource
    }

    #[test]
    fn canonical_casing_extensions_and_unknown_attributes() {
        let out = user(json!({
            "schemas": ["whatever"],
            "USERNAME": "a@b.c",
            "NAME": {"GivenName": "A", "nickname_unknown": 1},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:Department": "R&D",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"ORGANIZATION": "Acme"},
            "customThing": {"kept": true},
            "id": "client-id",
            "meta": {"version": "x"},
            "groups": [{"value": "g"}],
        }));
        assert_eq!(
            out,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_URN],
                "userName": "a@b.c",
                "name": {"givenName": "A", "nickname_unknown": 1},
                ENTERPRISE_USER_URN: {"department": "R&D", "organization": "Acme"},
                "customThing": {"kept": true},
                "active": true,
            })
        );
    }

    /// Found by the `resource` fuzz target: the URN check sliced the key's
    /// bytes and panicked inside a multi-byte character.
    #[test]
    fn a_key_starting_with_multibyte_characters_is_an_unknown_attribute() {
        let out = user(json!({"userName": "a@b.c", "em6\u{316e}": true, "ü¤rn:x": 1}));
        assert_eq!(out["em6\u{316e}"], json!(true));
        assert_eq!(out["ü¤rn:x"], json!(1));
    }

    #[test]
    fn entra_coercions_and_primary_rule() {
        let out = user(json!({
            "userName": "a",
            "active": "False",
            ENTERPRISE_USER_URN: {"manager": "boss"},
            "emails": [
                {"value": "1@x", "primary": true},
                {"value": "2@x", "primary": "True"},
            ],
            "phoneNumbers": {"value": "+1", "type": "work"},
            "title": null,
            "ims": [],
        }));
        assert_eq!(out["active"], false);
        assert_eq!(
            out[ENTERPRISE_USER_URN]["manager"],
            json!({"value": "boss"})
        );
        assert_eq!(out["emails"][0]["primary"], true);
        assert_eq!(out["emails"][1]["primary"], false);
        assert_eq!(
            out["phoneNumbers"],
            json!([{"value": "+1", "type": "work"}])
        );
        assert!(out.get("title").is_none());
        assert!(out.get("ims").is_none());
    }

    #[test]
    fn password_is_taken_out() {
        let incoming = normalize(
            ResourceKind::User,
            json!({"userName": "a", "Password": "s3cret"}),
        )
        .expect("valid");
        assert_eq!(incoming.password.as_deref(), Some("s3cret"));
        assert!(incoming.resource.get("password").is_none());
        assert!(incoming.resource.get("Password").is_none());
    }

    #[test]
    fn bad_values_name_the_attribute() {
        for (body, needle) in [
            (json!({"userName": "a", "active": "maybe"}), "active"),
            (json!({"userName": "a", "title": 5}), "title"),
            (json!({"userName": "a", "name": "x"}), "name"),
            (
                json!({"userName": "a", "emails": [{"value": 3}]}),
                "emails.value",
            ),
            (json!({"userName": "a", "title": ["x"]}), "title"),
            (json!({"name": {"givenName": "x"}}), "userName is required"),
            (json!({"userName": "  "}), "userName is required"),
        ] {
            match normalize(ResourceKind::User, body.clone()) {
                Err(ScimError::InvalidValue(message)) => {
                    assert!(message.contains(needle), "{body}: {message}")
                }
                other => panic!("{body}: {:?}", other.map(|i| i.resource)),
            }
        }
        assert!(matches!(
            normalize(ResourceKind::User, json!([1])),
            Err(ScimError::InvalidSyntax(_))
        ));
        assert!(matches!(
            normalize(ResourceKind::Group, json!({"members": []})),
            Err(ScimError::InvalidValue(_))
        ));
    }

    #[test]
    fn projection_honours_returned_and_selections() {
        let resource = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "1",
            "userName": "a",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}],
            "password": "never shown",
            ENTERPRISE_USER_URN: {"department": "D", "organization": "O"},
            "meta": {"resourceType": "User"},
        });
        let select = |a: Option<&str>, e: Option<&str>| {
            AttributeSelection::parse(ResourceKind::User, a, e)
                .expect("valid")
                .project(ResourceKind::User, resource.clone())
        };
        let all = select(None, None);
        assert!(all.get("password").is_none());
        assert_eq!(all["name"], resource["name"]);
        assert_eq!(
            select(Some("userName"), None),
            json!({"schemas": resource["schemas"], "id": "1", "userName": "a"})
        );
        assert_eq!(
            select(Some("name.givenName,emails.value"), None),
            json!({"schemas": resource["schemas"], "id": "1", "name": {"givenName": "A"},
                   "emails": [{"value": "a@x"}]})
        );
        let without = select(None, Some("name.familyName,emails,meta"));
        assert_eq!(without["name"], json!({"givenName": "A"}));
        assert!(without.get("emails").is_none() && without.get("meta").is_none());
        assert_eq!(
            select(Some(&format!("{ENTERPRISE_USER_URN}:department")), None)[ENTERPRISE_USER_URN],
            json!({"department": "D"})
        );
        assert!(
            select(None, Some(ENTERPRISE_USER_URN))
                .get(ENTERPRISE_USER_URN)
                .is_none()
        );
        assert_eq!(select(None, Some("id"))["id"], "1", "id is always returned");
        let selection =
            AttributeSelection::parse(ResourceKind::Group, None, Some("members")).expect("valid");
        assert!(!selection.includes(ResourceKind::Group, "members"));
        assert!(selection.includes(ResourceKind::Group, "displayName"));
    }
}

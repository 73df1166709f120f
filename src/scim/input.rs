//! Checks on request bodies before any of their values is used: no
//! control characters in any string (PostgreSQL refuses NUL in text, and
//! the others have no place in an identity), whatever the attribute; and
//! the longest value each indexed or shown attribute may hold.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::scim::ScimError;
use crate::scim::schema::{CARD_URN, ENTERPRISE_USER_URN, ResourceKind};

/// Names, identifiers and email addresses. In UTF-8 at most 1 KiB, so an
/// index entry stays far below PostgreSQL's btree limit (about 2,700 bytes).
pub const NAME_MAX_CHARS: usize = 256;
/// Phone numbers (E.164 has at most 15 digits; this leaves room for formatting).
pub const PHONE_MAX_CHARS: usize = 64;
/// A whole formatted postal address.
pub const ADDRESS_MAX_CHARS: usize = 1024;
/// Photo and card link URLs.
pub const URL_MAX_CHARS: usize = 2048;

/// The most characters (not bytes) one attribute may hold.
pub struct Limit {
    /// The extension URN the attribute belongs to; `None` for core ones.
    pub extension: Option<&'static str>,
    pub attribute: &'static str,
    /// For a complex attribute (each element, when multi-valued).
    pub sub: Option<&'static str>,
    pub max_chars: usize,
}

const fn core(attribute: &'static str, sub: Option<&'static str>, max_chars: usize) -> Limit {
    Limit {
        extension: None,
        attribute,
        sub,
        max_chars,
    }
}

const fn extension(
    urn: &'static str,
    attribute: &'static str,
    sub: Option<&'static str>,
    max_chars: usize,
) -> Limit {
    Limit {
        extension: Some(urn),
        attribute,
        sub,
        max_chars,
    }
}

/// Every User attribute that is indexed or shown on the card.
pub const USER_LIMITS: &[Limit] = &[
    core("userName", None, NAME_MAX_CHARS),
    core("externalId", None, NAME_MAX_CHARS),
    core("displayName", None, NAME_MAX_CHARS),
    core("nickName", None, NAME_MAX_CHARS),
    core("title", None, NAME_MAX_CHARS),
    core("name", Some("formatted"), NAME_MAX_CHARS),
    core("name", Some("familyName"), NAME_MAX_CHARS),
    core("name", Some("givenName"), NAME_MAX_CHARS),
    core("name", Some("middleName"), NAME_MAX_CHARS),
    core("name", Some("honorificPrefix"), NAME_MAX_CHARS),
    core("name", Some("honorificSuffix"), NAME_MAX_CHARS),
    core("emails", Some("value"), NAME_MAX_CHARS),
    core("phoneNumbers", Some("value"), PHONE_MAX_CHARS),
    core("addresses", Some("formatted"), ADDRESS_MAX_CHARS),
    core("addresses", Some("streetAddress"), NAME_MAX_CHARS),
    core("addresses", Some("locality"), NAME_MAX_CHARS),
    core("addresses", Some("region"), NAME_MAX_CHARS),
    core("addresses", Some("postalCode"), NAME_MAX_CHARS),
    core("addresses", Some("country"), NAME_MAX_CHARS),
    core("photos", Some("value"), URL_MAX_CHARS),
    extension(ENTERPRISE_USER_URN, "organization", None, NAME_MAX_CHARS),
    extension(ENTERPRISE_USER_URN, "department", None, NAME_MAX_CHARS),
    extension(CARD_URN, "links", Some("value"), URL_MAX_CHARS),
];

/// Every Group attribute that is indexed or shown.
pub const GROUP_LIMITS: &[Limit] = &[
    core("displayName", None, NAME_MAX_CHARS),
    core("externalId", None, NAME_MAX_CHARS),
];

/// Refuses a normalised resource (canonical attribute names) with a value
/// longer than its limit: `400 invalidValue` naming it.
pub fn check_lengths(kind: ResourceKind, resource: &Value) -> Result<(), ScimError> {
    let limits = match kind {
        ResourceKind::User => USER_LIMITS,
        ResourceKind::Group => GROUP_LIMITS,
    };
    for limit in limits {
        let container = match limit.extension {
            Some(urn) => resource.get(urn),
            None => Some(resource),
        };
        let Some(value) = container.and_then(|c| c.get(limit.attribute)) else {
            continue;
        };
        // Built only for an error: this runs on every write.
        let name = || match limit.extension {
            Some(urn) => format!("{urn}:{}", limit.attribute),
            None => limit.attribute.to_owned(),
        };
        match (limit.sub, value) {
            (None, value) => within(value, limit.max_chars, name)?,
            (Some(sub), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(value) = item.get(sub) {
                        within(value, limit.max_chars, || format!("{}[{i}].{sub}", name()))?;
                    }
                }
            }
            (Some(sub), item) => {
                if let Some(value) = item.get(sub) {
                    within(value, limit.max_chars, || format!("{}.{sub}", name()))?;
                }
            }
        }
    }
    Ok(())
}

fn within(value: &Value, max_chars: usize, label: impl Fn() -> String) -> Result<(), ScimError> {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    // A character takes at least one byte: short text needs no counting.
    if text.len() <= max_chars {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars <= max_chars {
        return Ok(());
    }
    Err(ScimError::InvalidValue(format!(
        "{}: {chars} characters, more than the {max_chars} allowed",
        label()
    )))
}

/// Decodes a request body as `serde_json::from_slice` would, except that
/// an object naming one key twice is `400 invalidSyntax`: `Value` would keep
/// the last silently. SCIM attribute names ignore case (RFC 7643 §2.1), so
/// `userName` and `USERNAME` are the same key.
pub fn decode(bytes: &[u8]) -> Result<Value, ScimError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    UniqueKeys
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| {
            // Our only data error is the repeated key; the rest is syntax.
            if e.is_data() {
                ScimError::InvalidSyntax(format!("request body repeats a key: {e}"))
            } else {
                ScimError::InvalidSyntax(format!("request body is not valid JSON: {e}"))
            }
        })
}

/// Builds a `Value`, refusing an object that repeats a key.
struct UniqueKeys;

/// Objects up to this size are checked for repeats by scanning their keys;
/// larger ones keep a set, so a hostile object with many keys stays linear.
const SCAN_KEYS: usize = 16;

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // As serde_json's own `Value`: JSON text cannot spell a non-finite number.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(UniqueKeys)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut folded: Option<HashSet<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            if object.len() == SCAN_KEYS {
                folded = Some(object.keys().map(|k| k.to_ascii_lowercase()).collect());
            }
            let repeated = match folded.as_mut() {
                Some(seen) => !seen.insert(key.to_ascii_lowercase()),
                None => object.keys().any(|k| k.eq_ignore_ascii_case(&key)),
            };
            if repeated {
                return Err(de::Error::custom(format_args!(
                    "{key:?} appears twice in one object (names ignore case)"
                )));
            }
            let value = map.next_value_seed(UniqueKeys)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The first C0 control character of `text` other than tab, LF and CR.
pub fn forbidden_control(text: &str) -> Option<char> {
    // Bytes below 0x20 are never part of a longer UTF-8 sequence.
    text.bytes()
        .find(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
        .map(char::from)
}

/// One step from a body's root to a value: an object key or a list index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Refuses a body in which any string, object key included, holds a
/// control character other than tab, LF or CR: `400 invalidValue` naming
/// where (`name.givenName`, `Operations[0].value`).
pub fn check_strings(body: &Value) -> Result<(), ScimError> {
    let mut path = Vec::new();
    refuse(find_control(body, &mut path), &path)
}

/// `check_strings` for a SearchRequest, except its `filter`: the filter
/// parser refuses control characters in it as `invalidFilter`.
pub fn check_search_strings(body: &Value) -> Result<(), ScimError> {
    let Value::Object(object) = body else {
        return check_strings(body);
    };
    let mut path = Vec::new();
    let filter = |key: &str, item: &Value| key.eq_ignore_ascii_case("filter") && item.is_string();
    refuse(find_in_object(object, &mut path, filter), &path)
}

fn refuse(found: Option<char>, path: &[Step<'_>]) -> Result<(), ScimError> {
    match found {
        None => Ok(()),
        Some(c) => Err(ScimError::InvalidValue(format!(
            "{}: control character U+{:04X} is not allowed",
            render(path),
            u32::from(c)
        ))),
    }
}

/// Depth-first; on a find, `path` is left holding the way to it.
fn find_control<'a>(value: &'a Value, path: &mut Vec<Step<'a>>) -> Option<char> {
    match value {
        Value::String(text) => forbidden_control(text),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            path.push(Step::Index(i));
            let found = find_control(item, path);
            if found.is_none() {
                path.pop();
            }
            found
        }),
        Value::Object(object) => find_in_object(object, path, |_, _| false),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// `find_control` over an object's keys and values, except the values
/// `skip` picks out (their keys are still checked).
fn find_in_object<'a>(
    object: &'a Map<String, Value>,
    path: &mut Vec<Step<'a>>,
    skip: impl Fn(&str, &Value) -> bool,
) -> Option<char> {
    object.iter().find_map(|(key, item)| {
        path.push(Step::Key(key));
        let found = forbidden_control(key).or_else(|| {
            if skip(key, item) {
                None
            } else {
                find_control(item, path)
            }
        });
        if found.is_none() {
            path.pop();
        }
        found
    })
}

fn render(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                // A key may itself hold the control character: show it escaped.
                out.extend(key.chars().flat_map(char::escape_debug));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        out.push_str("the request body");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail(body: Value) -> String {
        match check_strings(&body) {
            Err(ScimError::InvalidValue(detail)) => detail,
            other => panic!("expected invalidValue, got {other:?}"),
        }
    }

    #[test]
    fn tab_cr_lf_pass_other_c0_controls_do_not() {
        assert!(check_strings(&json!({"a": "x\ty\r\nz", "b": ["\u{7f}", "é"]})).is_ok());
        for c in (0u8..0x20).filter(|b| !matches!(b, b'\t' | b'\n' | b'\r')) {
            let text = format!("a{}b", char::from(c));
            assert!(
                check_strings(&json!({ "userName": text })).is_err(),
                "{c:#x}"
            );
        }
    }

    #[test]
    fn the_detail_names_where() {
        assert_eq!(
            detail(json!({"name": {"givenName": "a\u{0}"}})),
            "name.givenName: control character U+0000 is not allowed"
        );
        assert_eq!(
            detail(
                json!({"Operations": [{"op": "add"}, {"value": {"emails": [{"value": "\u{1b}"}]}}]})
            ),
            "Operations[1].value.emails[0].value: control character U+001B is not allowed"
        );
        assert_eq!(
            detail(json!({"user\u{0}Name": "a"})),
            "user\\0Name: control character U+0000 is not allowed"
        );
        assert_eq!(
            detail(json!("\u{1}")),
            "the request body: control character U+0001 is not allowed"
        );
    }

    #[test]
    fn lengths_are_counted_in_characters_and_named() {
        let at_limit = "é".repeat(NAME_MAX_CHARS);
        let user =
            json!({"userName": at_limit, "phoneNumbers": [{"value": "1".repeat(PHONE_MAX_CHARS)}]});
        assert!(check_lengths(ResourceKind::User, &user).is_ok());
        let over = |body: Value| match check_lengths(ResourceKind::User, &body) {
            Err(ScimError::InvalidValue(detail)) => detail,
            other => panic!("expected invalidValue, got {other:?}"),
        };
        assert_eq!(
            over(json!({"userName": "é".repeat(NAME_MAX_CHARS + 1)})),
            "userName: 257 characters, more than the 256 allowed"
        );
        assert!(
            over(json!({"phoneNumbers": [{"value": "1"}, {"value": "1".repeat(65)}]}))
                .starts_with("phoneNumbers[1].value: ")
        );
        assert!(
            over(json!({"name": {"givenName": "a".repeat(300)}})).starts_with("name.givenName: ")
        );
        assert!(
            over(json!({ENTERPRISE_USER_URN: {"department": "a".repeat(300)}}))
                .starts_with(&format!("{ENTERPRISE_USER_URN}:department: "))
        );
        // Not limited: a Group has no userName.
        assert!(check_lengths(ResourceKind::Group, &json!({"userName": "a".repeat(300)})).is_ok());
    }

    #[test]
    fn decoding_refuses_repeated_keys_at_any_depth_in_any_case() {
        let refused = |text: &str| match decode(text.as_bytes()) {
            Err(ScimError::InvalidSyntax(detail)) => detail,
            other => panic!("{text}: expected invalidSyntax, got {other:?}"),
        };
        assert!(
            refused(r#"{"userName":"a","userName":"b"}"#).contains("\"userName\" appears twice")
        );
        assert!(
            refused(r#"{"userName":"a","USERNAME":"b"}"#).contains("\"USERNAME\" appears twice")
        );
        assert!(refused(r#"{"a":[{"b":{"c":1,"c":2}}]}"#).contains("\"c\""));
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        assert!(decode(format!("{{{}}}", many.join(",")).as_bytes()).is_ok());
        assert!(refused(&format!("{{{},\"K39\":0}}", many.join(","))).contains("\"K39\""));
        assert!(refused("{").contains("not valid JSON"));
        assert!(refused(r#"{"a":1} x"#).contains("not valid JSON"));
    }

    #[test]
    fn decoding_gives_what_serde_json_gives() {
        let text = r#"{"s":"é\n","n":[1,-2,18446744073709551615,1.5e300,0.1],"o":{"b":true,"z":null},"e":[],"m":{}}"#;
        let ours = decode(text.as_bytes()).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
    }

    #[test]
    fn a_search_leaves_its_filter_to_the_filter_parser() {
        assert!(check_search_strings(&json!({"filter": "userName eq \"\u{0}\""})).is_ok());
        assert!(check_search_strings(&json!({"sortBy": "\u{0}"})).is_err());
        assert!(check_search_strings(&json!({"filter": ["\u{0}"]})).is_err());
    }
}

//! Checks on request bodies before any of their values is used: no
//! control characters in any string (PostgreSQL refuses NUL in text, and
//! the others have no place in an identity), whatever the attribute.

use serde_json::Value;

use crate::scim::ScimError;

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
    let found = object.iter().find_map(|(key, item)| {
        path.push(Step::Key(key));
        let found = forbidden_control(key).or_else(|| {
            if key.eq_ignore_ascii_case("filter") && item.is_string() {
                None
            } else {
                find_control(item, &mut path)
            }
        });
        if found.is_none() {
            path.pop();
        }
        found
    });
    refuse(found, &path)
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
        Value::Object(object) => object.iter().find_map(|(key, item)| {
            path.push(Step::Key(key));
            let found = forbidden_control(key).or_else(|| find_control(item, path));
            if found.is_none() {
                path.pop();
            }
            found
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
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
    fn a_search_leaves_its_filter_to_the_filter_parser() {
        assert!(check_search_strings(&json!({"filter": "userName eq \"\u{0}\""})).is_ok());
        assert!(check_search_strings(&json!({"sortBy": "\u{0}"})).is_err());
        assert!(check_search_strings(&json!({"filter": ["\u{0}"]})).is_err());
    }
}

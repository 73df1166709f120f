//! `/Bulk` requests (RFC 7644 §3.7): parsing, limits and `bulkId`
//! references. Execution lives in `service::bulk`.

use serde_json::Value;

use crate::config::BULK_MAX_OPERATIONS;
use crate::scim::ScimError;
use crate::scim::schema::BULK_REQUEST_URN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: Method,
    pub path: String,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    pub operations: Vec<BulkOperation>,
    /// Stop after this many errors; `None` runs every operation.
    pub fail_on_errors: Option<usize>,
}

fn field<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn text(object: &serde_json::Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match field(object, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ScimError::InvalidSyntax(format!(
            "bulk operation {name} must be a string, got {other}"
        ))),
    }
}

pub fn parse(body: &Value) -> Result<BulkRequest, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("a BulkRequest must be a JSON object".into()))?;
    let declares_schema = field(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(BULK_REQUEST_URN)));
    if !declares_schema {
        return Err(ScimError::InvalidSyntax(format!(
            "schemas must contain {BULK_REQUEST_URN}"
        )));
    }
    let fail_on_errors = match field(object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n >= 1)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    ScimError::InvalidValue("failOnErrors must be a positive integer".into())
                })?,
        ),
    };
    let raw_ops = field(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::InvalidSyntax("Operations must be an array".into()))?;
    if raw_ops.len() > BULK_MAX_OPERATIONS {
        return Err(ScimError::PayloadTooLarge(format!(
            "{} operations exceed maxOperations ({BULK_MAX_OPERATIONS})",
            raw_ops.len()
        )));
    }
    let operations = raw_ops
        .iter()
        .map(parse_operation)
        .collect::<Result<_, _>>()?;
    Ok(BulkRequest {
        operations,
        fail_on_errors,
    })
}

fn parse_operation(raw: &Value) -> Result<BulkOperation, ScimError> {
    let object = raw
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("each bulk operation must be an object".into()))?;
    let method = match text(object, "method")?
        .map(|m| m.to_ascii_uppercase())
        .as_deref()
    {
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("PATCH") => Method::Patch,
        Some("DELETE") => Method::Delete,
        other => {
            return Err(ScimError::InvalidValue(format!(
                "bulk operation method must be POST, PUT, PATCH or DELETE, got {other:?}"
            )));
        }
    };
    let path = text(object, "path")?
        .ok_or_else(|| ScimError::InvalidValue("bulk operation path is required".into()))?;
    let bulk_id = text(object, "bulkId")?;
    if method == Method::Post && bulk_id.is_none() {
        return Err(ScimError::InvalidValue(
            "a POST bulk operation needs a bulkId".into(),
        ));
    }
    let data = field(object, "data").filter(|d| !d.is_null()).cloned();
    if method != Method::Delete && data.is_none() {
        return Err(ScimError::InvalidValue(format!(
            "bulk {} to {path} needs data",
            method.as_str()
        )));
    }
    Ok(BulkOperation {
        method,
        path,
        bulk_id,
        version: text(object, "version")?,
        data,
    })
}

/// Replaces every `"bulkId:<id>"` string (anywhere in `value`) with the
/// resource id created earlier in the request; an unknown reference is an error.
pub fn resolve_references(
    value: &mut Value,
    created: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ScimError> {
    match value {
        Value::String(s) => {
            if let Some(reference) = s.strip_prefix("bulkId:") {
                *s = created(reference).ok_or_else(|| {
                    ScimError::InvalidValue(format!(
                        "bulkId {reference:?} does not name a resource created earlier in this request"
                    ))
                })?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| resolve_references(item, created)),
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|item| resolve_references(item, created)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_operations_and_fail_on_errors() {
        let request = parse(&json!({
            "schemas": [BULK_REQUEST_URN],
            "failOnErrors": 2,
            "Operations": [
                {"method": "post", "path": "/Users", "bulkId": "u1", "data": {"userName": "a"}},
                {"method": "DELETE", "path": "/Users/x"}
            ]
        }))
        .unwrap();
        assert_eq!(request.fail_on_errors, Some(2));
        assert_eq!(request.operations[0].method, Method::Post);
        assert_eq!(request.operations[1].data, None);
    }

    #[test]
    fn refuses_malformed_requests() {
        for body in [
            json!({"Operations": []}),
            json!({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "GET", "path": "/Users"}]}),
            json!({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "POST", "path": "/Users", "data": {}}]}),
            json!({"schemas": [BULK_REQUEST_URN], "failOnErrors": 0, "Operations": []}),
        ] {
            assert!(parse(&body).is_err(), "{body}");
        }
        let too_many: Vec<Value> = (0..=BULK_MAX_OPERATIONS)
            .map(|_| json!({"method": "DELETE", "path": "/Users/x"}))
            .collect();
        let error =
            parse(&json!({"schemas": [BULK_REQUEST_URN], "Operations": too_many})).unwrap_err();
        assert_eq!(error.status(), 413);
    }

    #[test]
    fn resolves_references_everywhere_and_rejects_unknown_ones() {
        let mut data = json!({"members": [{"value": "bulkId:u1"}, {"value": "plain"}]});
        let lookup = |id: &str| (id == "u1").then(|| "real-id".to_owned());
        resolve_references(&mut data, &lookup).unwrap();
        assert_eq!(
            data,
            json!({"members": [{"value": "real-id"}, {"value": "plain"}]})
        );
        let mut dangling = json!(["bulkId:nope"]);
        assert!(resolve_references(&mut dangling, &lookup).is_err());
    }
}

//! Executes a `/Bulk` request: each operation through the same service
//! function as its single-request twin, each in its own transaction
//! (RFC 7644 §3.7: operations are not atomic as a whole).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::scim::ScimError;
use crate::scim::bulk::{BulkOperation, BulkRequest, Method, resolve_references};
use crate::scim::ids::{MemberId, SubteamId};
use crate::scim::schema::ResourceKind;
use crate::service::{Scope, groups, users};
use crate::store::db::DbConnection;

/// What one operation did, for the BulkResponse.
pub struct OperationResult {
    pub method: Method,
    pub bulk_id: Option<String>,
    pub location: Option<String>,
    pub version: Option<String>,
    pub status: u16,
    pub error: Option<ScimError>,
}

/// `(kind, id)` from `/Users`, `/Users/{id}`, `/Groups`, `/Groups/{id}`.
fn target(path: &str) -> Result<(ResourceKind, Option<String>), ScimError> {
    let trimmed = path.trim_start_matches('/');
    let (endpoint, id) = match trimmed.split_once('/') {
        Some((endpoint, id)) if !id.is_empty() && !id.contains('/') => {
            (endpoint, Some(id.to_owned()))
        }
        Some(_) => return Err(ScimError::InvalidPath(format!("bad bulk path {path:?}"))),
        None => (trimmed, None),
    };
    let kind = match endpoint {
        "Users" => ResourceKind::User,
        "Groups" => ResourceKind::Group,
        _ => {
            return Err(ScimError::InvalidPath(format!(
                "bulk path must be /Users or /Groups, got {path:?}"
            )));
        }
    };
    Ok((kind, id))
}

/// Runs one operation; `Ok` carries (status, id, version).
fn run_one(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    op: &BulkOperation,
    data: Option<Value>,
    path: &str,
) -> Result<(u16, String, Option<String>), ScimError> {
    let (kind, id) = target(path)?;
    let if_match = op.version.as_deref();
    let data = || {
        data.clone()
            .ok_or_else(|| ScimError::InvalidValue("data is required".into()))
    };
    let needs_id = |id: Option<String>| {
        id.ok_or_else(|| ScimError::InvalidPath(format!("{path} needs a resource id")))
    };
    match (kind, op.method) {
        (_, Method::Post) if id.is_some() => Err(ScimError::InvalidPath(format!(
            "POST goes to /{}, not {path}",
            kind.endpoint()
        ))),
        (ResourceKind::User, Method::Post) => {
            let user = users::create(scope, conn, users::prepare(scope.policy, data()?))?;
            Ok((201, user.row.id.clone(), Some(user.etag())))
        }
        (ResourceKind::Group, Method::Post) => {
            let group = groups::create(scope, conn, data()?)?;
            Ok((201, group.row.id.clone(), Some(group.etag())))
        }
        (ResourceKind::User, method) => {
            let id = MemberId::from_string(needs_id(id)?);
            let user = match method {
                Method::Put => users::replace(
                    scope,
                    conn,
                    &id,
                    if_match,
                    users::prepare(scope.policy, data()?),
                )?,
                Method::Patch => users::patch(scope, conn, &id, if_match, &data()?)?,
                _ => {
                    users::delete(scope, conn, &id, if_match)?;
                    return Ok((204, id.to_string(), None));
                }
            };
            Ok((200, id.to_string(), Some(user.etag())))
        }
        (ResourceKind::Group, method) => {
            let id = SubteamId::from_string(needs_id(id)?);
            let version = match method {
                Method::Put => groups::replace(scope, conn, &id, if_match, data()?)?.etag(),
                Method::Patch => {
                    let row = groups::patch(scope, conn, &id, if_match, &data()?)?;
                    crate::service::etag(row.version)
                }
                _ => {
                    groups::delete(scope, conn, &id, if_match)?;
                    return Ok((204, id.to_string(), None));
                }
            };
            Ok((200, id.to_string(), Some(version)))
        }
    }
}

pub fn execute(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    request: BulkRequest,
    base_url: &str,
) -> Vec<OperationResult> {
    let mut created: HashMap<String, String> = HashMap::new();
    let mut results = Vec::with_capacity(request.operations.len());
    let mut errors = 0;
    for op in &request.operations {
        if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
        let lookup = |bulk_id: &str| created.get(bulk_id).cloned();
        let outcome = (|| {
            let mut data = op.data.clone();
            if let Some(data) = data.as_mut() {
                resolve_references(data, &lookup)?;
            }
            // `/Users/bulkId:u1`: the reference is a path segment.
            let path = op
                .path
                .split('/')
                .map(|segment| {
                    let mut segment = Value::String(segment.to_owned());
                    resolve_references(&mut segment, &lookup)?;
                    Ok(segment.as_str().unwrap_or_default().to_owned())
                })
                .collect::<Result<Vec<String>, ScimError>>()?
                .join("/");
            let (status, id, version) = run_one(scope, conn, op, data, &path)?;
            let (kind, _) = target(&path)?;
            Ok::<_, ScimError>((status, id, version, kind))
        })();
        results.push(match outcome {
            Ok((status, id, version, kind)) => {
                if let Some(bulk_id) = &op.bulk_id {
                    created.insert(bulk_id.clone(), id.clone());
                }
                OperationResult {
                    method: op.method,
                    bulk_id: op.bulk_id.clone(),
                    location: Some(format!("{base_url}/{}/{id}", kind.endpoint())),
                    version,
                    status,
                    error: None,
                }
            }
            Err(error) => {
                errors += 1;
                OperationResult {
                    method: op.method,
                    bulk_id: op.bulk_id.clone(),
                    location: None,
                    version: None,
                    status: error.status(),
                    error: Some(error),
                }
            }
        });
    }
    results
}

pub fn to_json(result: &OperationResult, error_body: impl Fn(&ScimError) -> Value) -> Value {
    let mut entry = json!({
        "method": result.method.as_str(),
        "status": result.status.to_string(),
    });
    if let Some(bulk_id) = &result.bulk_id {
        entry["bulkId"] = json!(bulk_id);
    }
    if let Some(location) = &result.location {
        entry["location"] = json!(location);
    }
    if let Some(version) = &result.version {
        entry["version"] = json!(version);
    }
    if let Some(error) = &result.error {
        entry["response"] = error_body(error);
    }
    entry
}

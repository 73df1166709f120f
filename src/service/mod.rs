//! Application services: one function per SCIM operation, run inside the
//! request's single blocking closure. They combine the domain rules
//! (`crate::scim`) with the store, and open the one write transaction.

pub mod bulk;
pub mod groups;
pub mod guard;
pub mod listing;
pub mod policy;
pub mod users;

use serde_json::{Value, json};

use crate::scim::ScimError;
use crate::scim::activity::{Actor, Change, NewEvent, Operation};
use crate::scim::ids::TenantId;
use crate::scim::policy::Policy;
use crate::scim::schema::ResourceKind;
use crate::store::activity;
use crate::store::db::DbConnection;
use crate::telemetry::Telemetry;

/// What a SCIM write acts under: the tenant, its policy, who is writing, and
/// the server's counters the write is counted in.
pub struct Scope<'a> {
    pub tenant: &'a TenantId,
    pub policy: &'a Policy,
    pub actor: &'a Actor,
    pub telemetry: &'a Telemetry,
}

/// A write about to run, described for the log should it fail.
pub struct Attempt<'a> {
    pub kind: ResourceKind,
    pub operation: Operation,
    pub resource_id: Option<&'a str>,
    pub resource_name: Option<&'a str>,
}

/// Runs one SCIM write. A write that succeeds has logged itself inside its
/// own transaction (`record`), so the log holds exactly what committed; one
/// that fails is logged here, after its rollback, with the error it ended
/// with. Failing to log a failure only warns. A write the database could not
/// take (down, too slow, disk full) is not logged there: that write would
/// fail alike, and on a full disk SQLite may roll back the whole group
/// commit with it. The write is counted in the provisioning metrics here
/// and in `record`.
pub fn logged<T>(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    attempt: &Attempt<'_>,
    write: impl FnOnce(&mut DbConnection) -> Result<T, ScimError>,
) -> Result<T, ScimError> {
    let outcome = write(conn);
    if let Err(error) = &outcome {
        let detail = error.to_string();
        let event = NewEvent {
            actor: scope.actor,
            operation: attempt.operation,
            resource_type: attempt.kind.name(),
            resource_id: attempt.resource_id,
            resource_name: attempt.resource_name,
            fields_changed: &[],
            status: error.status(),
            scim_type: error.scim_type(),
            detail: Some(&detail),
        };
        let outage = matches!(
            error,
            ScimError::ServiceUnavailable(_) | ScimError::InsufficientStorage(_)
        );
        if !outage && let Err(log_error) = activity::record(scope.tenant, conn, &event) {
            tracing::warn!(error = %log_error, "could not log a failed SCIM write");
        }
        scope.telemetry.provisioning(
            scope.tenant.as_str(),
            event.resource_type,
            event.operation.as_str(),
            event.status,
            event.scim_type,
        );
    }
    outcome
}

/// Logs a successful write, inside the write's transaction.
pub fn record(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    kind: ResourceKind,
    status: u16,
    change: &Change,
) -> Result<(), ScimError> {
    let event = NewEvent {
        actor: scope.actor,
        operation: change.operation,
        resource_type: kind.name(),
        resource_id: Some(&change.resource_id),
        resource_name: change.resource_name.as_deref(),
        fields_changed: &change.fields_changed,
        status,
        scim_type: None,
        detail: change.detail.as_deref(),
    };
    activity::record(scope.tenant, conn, &event)?;
    // Counted once logged. Should the commit then fail (rare), the count
    // stays while the entry rolls back; `logged` logs and counts the failure.
    scope.telemetry.provisioning(
        scope.tenant.as_str(),
        event.resource_type,
        event.operation.as_str(),
        status,
        None,
    );
    Ok(())
}

/// Server-owned attributes stored beside the client's resource.
pub struct ServerAttrs<'a> {
    pub id: &'a str,
    pub created: &'a str,
    pub last_modified: &'a str,
    pub version: i64,
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// A string as a JSON string literal.
pub fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// The client's stored resource (JSON text) with `id`, `meta` and the given
/// read-only members put in front, without parsing it: what a resource
/// costs to serve is copying its text. `None` if the stored text is not an
/// object (then the parsing path serves it).
pub fn stored_with_server_attrs(
    kind: ResourceKind,
    resource_json: &str,
    attrs: &ServerAttrs<'_>,
    base_url: &str,
    read_only: &[(&str, String)],
) -> Option<String> {
    let body = resource_json.trim().strip_prefix('{')?.trim_start();
    let location = format!("{base_url}/{}/{}", kind.endpoint(), attrs.id);
    let mut out = String::with_capacity(resource_json.len() + 256 + location.len());
    out.push_str("{\"id\":");
    out.push_str(&json_string(attrs.id));
    out.push_str(",\"meta\":{\"resourceType\":");
    out.push_str(&json_string(kind.name()));
    out.push_str(",\"created\":");
    out.push_str(&json_string(attrs.created));
    out.push_str(",\"lastModified\":");
    out.push_str(&json_string(attrs.last_modified));
    out.push_str(",\"location\":");
    out.push_str(&json_string(&location));
    out.push_str(",\"version\":");
    out.push_str(&json_string(&etag(attrs.version)));
    out.push('}');
    for (name, value) in read_only {
        out.push(',');
        out.push_str(&json_string(name));
        out.push(':');
        out.push_str(value);
    }
    if !body.starts_with('}') {
        out.push(',');
    }
    out.push_str(body);
    Some(out)
}

/// The client's stored resource plus `id` and `meta` (RFC 7643 §3.1).
pub fn with_server_attrs(
    kind: ResourceKind,
    resource_json: &str,
    attrs: &ServerAttrs<'_>,
    base_url: &str,
) -> Value {
    let mut resource: Value = serde_json::from_str(resource_json).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut resource {
        map.insert("id".into(), json!(attrs.id));
        map.insert(
            "meta".into(),
            json!({
                "resourceType": kind.name(),
                "created": attrs.created,
                "lastModified": attrs.last_modified,
                "location": format!("{base_url}/{}/{}", kind.endpoint(), attrs.id),
                "version": etag(attrs.version),
            }),
        );
    }
    resource
}

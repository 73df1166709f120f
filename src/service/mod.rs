//! Application services: one function per SCIM operation, run inside the
//! request's single blocking closure. They combine the domain rules
//! (`crate::scim`) with the store, and open the one write transaction.

pub mod bulk;
pub mod groups;
pub mod listing;
pub mod users;

use serde_json::{Value, json};

use crate::scim::schema::ResourceKind;

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

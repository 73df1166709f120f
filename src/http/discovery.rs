//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`, served from the
//! documents in `schema/` with `meta.location` filled in per request.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::config;
use crate::http::auth::AuthTenant;
use crate::http::wire::{base_url, list_response_text, scim_json, scim_json_text};
use crate::scim::ScimError;
use crate::scim::schema::schema_documents;

fn parse_document(name: &str, text: &str) -> Value {
    // These are compiled in and covered by tests; failing here is a build defect.
    serde_json::from_str(text).unwrap_or_else(|e| panic!("schema/{name} is not valid JSON: {e}"))
}

/// The document in `schema/` with the limits filled in from `config`, so
/// what we advertise is what we enforce.
static SERVICE_PROVIDER_CONFIG: LazyLock<Value> = LazyLock::new(|| {
    let mut doc = parse_document(
        "service-provider-config.json",
        include_str!("../../schema/service-provider-config.json"),
    );
    doc["bulk"]["maxOperations"] = json!(config::BULK_MAX_OPERATIONS);
    doc["bulk"]["maxPayloadSize"] = json!(config::BULK_MAX_PAYLOAD_BYTES);
    doc["filter"]["maxResults"] = json!(config::LIST_MAX_RESULTS);
    doc["pagination"]["defaultPageSize"] = json!(config::LIST_DEFAULT_COUNT);
    doc["pagination"]["maxPageSize"] = json!(config::LIST_MAX_RESULTS);
    doc
});

static RESOURCE_TYPES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    match parse_document(
        "resource-types.json",
        include_str!("../../schema/resource-types.json"),
    ) {
        Value::Array(types) => types,
        _ => panic!("schema/resource-types.json must be an array"),
    }
});

fn with_location(mut doc: Value, location: String) -> Value {
    doc["meta"]["location"] = Value::String(location);
    doc
}

fn located_resource_type(base: &str, doc: &Value) -> Value {
    let id = doc["id"].as_str().unwrap_or_default();
    with_location(doc.clone(), format!("{base}/ResourceTypes/{id}"))
}

fn located_schema(base: &str, doc: &Value) -> Value {
    let id = doc["id"].as_str().unwrap_or_default();
    with_location(doc.clone(), format!("{base}/Schemas/{id}"))
}

pub async fn service_provider_config(req: HttpRequest, _auth: AuthTenant) -> HttpResponse {
    let location = format!("{}/ServiceProviderConfig", base_url(&req));
    scim_json(
        StatusCode::OK,
        &with_location(SERVICE_PROVIDER_CONFIG.clone(), location),
    )
}

/// Every document of a kind, as one unpaged ListResponse.
fn all_of(docs: &[Value]) -> HttpResponse {
    let texts: Vec<String> = docs.iter().map(Value::to_string).collect();
    let body = list_response_text(docs.len(), &texts, &[("startIndex", "1".to_owned())]);
    scim_json_text(StatusCode::OK, body)
}

pub async fn resource_types(req: HttpRequest, _auth: AuthTenant) -> HttpResponse {
    let base = base_url(&req);
    let docs: Vec<Value> = RESOURCE_TYPES
        .iter()
        .map(|doc| located_resource_type(&base, doc))
        .collect();
    all_of(&docs)
}

pub async fn resource_type(
    req: HttpRequest,
    _auth: AuthTenant,
    name: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let base = base_url(&req);
    RESOURCE_TYPES
        .iter()
        .find(|doc| doc["id"].as_str() == Some(name.as_str()))
        .map(|doc| scim_json(StatusCode::OK, &located_resource_type(&base, doc)))
        .ok_or_else(|| ScimError::NotFound(format!("no resource type {name}")))
}

pub async fn schemas(req: HttpRequest, _auth: AuthTenant) -> HttpResponse {
    let base = base_url(&req);
    let docs: Vec<Value> = schema_documents()
        .iter()
        .map(|doc| located_schema(&base, doc))
        .collect();
    all_of(&docs)
}

pub async fn schema(
    req: HttpRequest,
    _auth: AuthTenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let base = base_url(&req);
    schema_documents()
        .iter()
        .find(|doc| doc["id"].as_str() == Some(id.as_str()))
        .map(|doc| scim_json(StatusCode::OK, &located_schema(&base, doc)))
        .ok_or_else(|| ScimError::NotFound(format!("no schema {id}")))
}

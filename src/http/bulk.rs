//! `POST /Bulk`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::config::BULK_MAX_PAYLOAD_BYTES;
use crate::http::auth::AuthTenant;
use crate::http::error::error_body;
use crate::http::state::AppState;
use crate::http::wire::{JsonBody, base_url, scim_json};
use crate::scim::ScimError;
use crate::scim::bulk;
use crate::scim::schema::BULK_RESPONSE_URN;
use crate::service;

pub async fn post(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let declared_length = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let length = declared_length.unwrap_or_else(|| body.to_string().len());
    if length > BULK_MAX_PAYLOAD_BYTES {
        return Err(ScimError::PayloadTooLarge(format!(
            "bulk request of {length} bytes exceeds maxPayloadSize ({BULK_MAX_PAYLOAD_BYTES})"
        )));
    }
    let request = bulk::parse(&body)?;
    let base = base_url(&req);
    let results = state
        .write(&req, auth, move |scope, conn| {
            Ok(service::bulk::execute(scope, conn, request, &base))
        })
        .await?;
    let operations: Vec<Value> = results
        .iter()
        .map(|r| service::bulk::to_json(r, error_body))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({"schemas": [BULK_RESPONSE_URN], "Operations": operations}),
    ))
}

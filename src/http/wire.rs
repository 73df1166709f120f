//! SCIM wire format helpers shared by the handlers.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::Value;

use crate::config::REQUEST_BODY_MAX_BYTES;
use crate::http::{SCIM_CONTENT_TYPE, SCIM_PREFIXES};
use crate::scim::schema::LIST_RESPONSE_URN;
use crate::scim::{ScimError, input};

/// The absolute base URL the client used, honouring `X-Forwarded-Proto`/`Host`
/// (or `Forwarded`) from a proxy in front of us, and the prefix it called.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    let path = req.path();
    let prefix = SCIM_PREFIXES
        .iter()
        .find(|p| path.starts_with(*p))
        .copied()
        .unwrap_or(SCIM_PREFIXES[1]);
    format!("{}://{}{}", info.scheme(), info.host(), prefix)
}

pub fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_CONTENT_TYPE)
        .body(body.to_string())
}

/// A body already written as JSON text.
pub fn scim_json_text(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_CONTENT_TYPE)
        .body(body)
}

/// A ListResponse whose resources are JSON texts already; `paging` holds
/// `startIndex` or the RFC 9865 cursors, as (name, JSON value text).
pub fn list_response_text(total: usize, resources: &[String], paging: &[(&str, String)]) -> String {
    let size = resources.iter().map(|r| r.len() + 1).sum::<usize>() + 160;
    let mut out = String::with_capacity(size);
    out.push_str("{\"schemas\":[\"");
    out.push_str(LIST_RESPONSE_URN);
    out.push_str("\"],\"totalResults\":");
    out.push_str(&total.to_string());
    out.push_str(",\"itemsPerPage\":");
    out.push_str(&resources.len().to_string());
    for (name, value) in paging {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
        out.push_str(value);
    }
    out.push_str(",\"Resources\":[");
    for (i, resource) in resources.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(resource);
    }
    out.push_str("]}");
    out
}

/// A JSON request body. Parsed by us rather than actix's `Json` so that
/// every content type Okta and Entra send (`application/scim+json`,
/// `application/json`, none) is accepted, any other is `415`, and every
/// failure is a SCIM error. No string in it holds a control character (`input::check_strings`).
pub struct JsonBody(pub Value);

/// A SearchRequest body: as `JsonBody`, but its `filter` is left to the
/// filter parser, whose refusals are `invalidFilter`.
pub struct SearchBody(pub Value);

/// `application/scim+json` or `application/json`, with any parameters but a
/// charset other than UTF-8 (RFC 8259 JSON is UTF-8); or no Content-Type at
/// all, as Okta's spec test sends creates. Anything else is `415`.
fn check_content_type(req: &HttpRequest) -> Result<(), ScimError> {
    let unsupported = |what: &str| {
        ScimError::UnsupportedMediaType(format!(
            "Content-Type {what} is not supported: send {SCIM_CONTENT_TYPE} or application/json"
        ))
    };
    let declared = req.headers().get(header::CONTENT_TYPE);
    if declared.is_none_or(|v| v.as_bytes().trim_ascii().is_empty()) {
        return Ok(());
    }
    let Ok(Some(mime)) = req.mime_type() else {
        return Err(unsupported("that cannot be parsed"));
    };
    let essence = mime.essence_str();
    if !essence.eq_ignore_ascii_case(SCIM_CONTENT_TYPE)
        && !essence.eq_ignore_ascii_case("application/json")
    {
        return Err(unsupported(&format!("{essence:?}")));
    }
    match mime.get_param("charset") {
        Some(charset) if !charset.as_str().eq_ignore_ascii_case("utf-8") => Err(unsupported(
            &format!("{essence:?} with charset {:?}", charset.as_str()),
        )),
        _ => Ok(()),
    }
}

fn read_json(
    req: &HttpRequest,
    payload: &mut Payload,
    check: fn(&Value) -> Result<(), ScimError>,
) -> Pin<Box<dyn Future<Output = Result<Value, ScimError>>>> {
    // Refused before the body is read.
    let media = check_content_type(req);
    let bytes = web::Bytes::from_request(req, payload);
    Box::pin(async move {
        media?;
        let bytes = bytes.await.map_err(|e| {
            if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::PayloadTooLarge(format!(
                    "request body exceeds {REQUEST_BODY_MAX_BYTES} bytes"
                ))
            } else {
                ScimError::InvalidSyntax(format!("request body could not be read: {e}"))
            }
        })?;
        let body = input::decode(&bytes)?;
        check(&body)?;
        Ok(body)
    })
}

impl FromRequest for JsonBody {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload, input::check_strings);
        Box::pin(async move { body.await.map(JsonBody) })
    }
}

impl FromRequest for SearchBody {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload, input::check_search_strings);
        Box::pin(async move { body.await.map(SearchBody) })
    }
}

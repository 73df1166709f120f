//! The one place a `ScimError` becomes an HTTP response (RFC 7644 §3.12).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};

use crate::http::SCIM_CONTENT_TYPE;
use crate::scim::ScimError;
use crate::scim::schema::ERROR_URN;

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let body = error_body(self);
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE));
        match self {
            ScimError::Unauthorized(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scimd\""),
                ));
            }
            ScimError::ServiceUnavailable(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            ScimError::TooManyRequests(seconds) | ScimError::AuthThrottled(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            _ => {}
        }
        response.body(body.to_string())
    }
}

/// The RFC 7644 §3.12 body of an error (also used per operation in /Bulk).
pub fn error_body(error: &ScimError) -> Value {
    if let ScimError::Internal(source) = error {
        // The chain is for operators; the client gets a generic message.
        tracing::error!(error = format!("{source:#}"), "internal error");
    }
    let mut body = json!({
        "schemas": [ERROR_URN],
        "status": error.status().to_string(),
        "detail": error.to_string(),
    });
    if let Some(scim_type) = error.scim_type() {
        body["scimType"] = json!(scim_type);
    }
    body
}

/// Unknown routes answer in SCIM form too.
pub async fn not_found() -> Result<HttpResponse, ScimError> {
    Err(ScimError::NotFound("no such endpoint".into()))
}

pub async fn method_not_allowed() -> Result<HttpResponse, ScimError> {
    Err(ScimError::MethodNotAllowed(
        "method not supported on this endpoint".into(),
    ))
}

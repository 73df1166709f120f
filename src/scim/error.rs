//! The one error type every layer converts into; `http::error` renders it as
//! RFC 7644 §3.12 JSON.

use thiserror::Error;

/// `scimType` values from RFC 7644 §3.12 (plus HTTP-only failures without one).
#[derive(Debug, Error)]
pub enum ScimError {
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    Uniqueness(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidVersion(String),
    /// RFC 9865: a `cursor` that this server did not issue.
    #[error("{0}")]
    InvalidCursor(String),
    /// 400 without a `scimType` (e.g. a bad query parameter not covered above).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Conflict(String),
    #[error("resource version does not match If-Match")]
    PreconditionFailed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The database is down, busy or slow: answered with `Retry-After`.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// The database's disk is full: writes cannot be made, reads still work.
    #[error("{0}")]
    InsufficientStorage(String),
    /// Over the tenant's request rate; the value is the `Retry-After` in seconds.
    #[error("too many requests for this team: retry after {0} s")]
    TooManyRequests(u64),
    /// Too many failed authentications from the client's address; the value
    /// is the `Retry-After` in seconds.
    #[error("too many failed authentications from this address: retry after {0} s")]
    AuthThrottled(u64),
    /// The client took too long to send its request.
    #[error("{0}")]
    RequestTimeout(String),
    /// Our fault, not the client's: logged with its source chain, shown as a generic message.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl ScimError {
    pub fn status(&self) -> u16 {
        match self {
            ScimError::InvalidFilter(_)
            | ScimError::TooMany(_)
            | ScimError::Mutability(_)
            | ScimError::InvalidSyntax(_)
            | ScimError::InvalidPath(_)
            | ScimError::NoTarget(_)
            | ScimError::InvalidValue(_)
            | ScimError::InvalidVersion(_)
            | ScimError::InvalidCursor(_)
            | ScimError::BadRequest(_) => 400,
            ScimError::Unauthorized(_) => 401,
            ScimError::NotFound(_) => 404,
            ScimError::MethodNotAllowed(_) => 405,
            ScimError::RequestTimeout(_) => 408,
            ScimError::Uniqueness(_) | ScimError::Conflict(_) => 409,
            ScimError::PreconditionFailed => 412,
            ScimError::PayloadTooLarge(_) => 413,
            ScimError::UnsupportedMediaType(_) => 415,
            ScimError::TooManyRequests(_) | ScimError::AuthThrottled(_) => 429,
            ScimError::Internal(_) => 500,
            ScimError::ServiceUnavailable(_) => 503,
            ScimError::InsufficientStorage(_) => 507,
        }
    }

    pub fn scim_type(&self) -> Option<&'static str> {
        Some(match self {
            ScimError::InvalidFilter(_) => "invalidFilter",
            ScimError::TooMany(_) => "tooMany",
            ScimError::Uniqueness(_) => "uniqueness",
            ScimError::Mutability(_) => "mutability",
            ScimError::InvalidSyntax(_) => "invalidSyntax",
            ScimError::InvalidPath(_) => "invalidPath",
            ScimError::NoTarget(_) => "noTarget",
            ScimError::InvalidValue(_) => "invalidValue",
            ScimError::InvalidVersion(_) => "invalidVers",
            ScimError::InvalidCursor(_) => "invalidCursor",
            _ => return None,
        })
    }

    /// The database could not be reached (or no connection was free) in time.
    pub fn database_unavailable() -> Self {
        ScimError::ServiceUnavailable("the database is unavailable; retry later".into())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ScimError::Internal(err.into())
    }
}

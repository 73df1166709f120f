//! Query parameters, matched case-insensitively (`startIndex`, `startindex`).

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::scim::ScimError;
use crate::scim::resource::AttributeSelection;
use crate::scim::schema::ResourceKind;

pub type RawParams = actix_web::web::Query<HashMap<String, String>>;

pub struct Params(HashMap<String, String>);

impl Params {
    pub fn new(raw: RawParams) -> Params {
        Params(
            raw.into_inner()
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn selection(&self, kind: ResourceKind) -> Result<AttributeSelection, ScimError> {
        AttributeSelection::parse(kind, self.get("attributes"), self.get("excludedAttributes"))
    }
}

/// `If-Match` as sent, for optimistic concurrency on writes.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    // A value that is not visible ASCII matches no version (412); dropping
    // it would let the write through unconditionally.
    req.headers()
        .get(header::IF_MATCH)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Whether `If-None-Match` names the current version (GET answers 304).
pub fn none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
}

//! `/Groups`: thin handlers over `service::groups`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::auth::AuthTenant;
use crate::http::params::{Params, RawParams, if_match, none_match};
use crate::http::request_log::note_conflict;
use crate::http::state::AppState;
use crate::http::wire::{JsonBody, base_url, scim_json};
use crate::scim::ScimError;
use crate::scim::ids::SubteamId;
use crate::scim::resource::{self, AttributeSelection};
use crate::scim::schema::ResourceKind;
use crate::service::etag;
use crate::service::groups::{self, StoredGroup};

const KIND: ResourceKind = ResourceKind::Group;

fn respond(
    status: StatusCode,
    group: StoredGroup,
    selection: &AttributeSelection,
    base: &str,
) -> HttpResponse {
    let etag = group.etag();
    let full = group.into_scim(base);
    let location = full["meta"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut response = scim_json(status, &selection.project(KIND, full));
    let headers = response.headers_mut();
    if let Ok(etag) = header::HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(location) = header::HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    response
}

pub async fn create(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    raw: RawParams,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let selection = Params::new(raw).selection(KIND)?;
    let display_name = resource::text_attribute(&body, "displayName");
    let tenant = auth.tenant_id.clone();
    let created = state
        .write(&req, auth, move |scope, conn| {
            groups::create(scope, conn, body)
        })
        .await;
    note_conflict(
        &req,
        &state.db,
        &created,
        display_name,
        move |conn, name| groups::id_of_display_name(&tenant, conn, name),
    )
    .await;
    let group = created?;
    Ok(respond(
        StatusCode::CREATED,
        group,
        &selection,
        &base_url(&req),
    ))
}

pub async fn get(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
    raw: RawParams,
) -> Result<HttpResponse, ScimError> {
    let selection = Params::new(raw).selection(KIND)?;
    let with_members = selection.includes(KIND, "members");
    let id = SubteamId::from_url(id.into_inner())?;
    let group = state
        .db
        .read(move |conn| groups::get(&auth.tenant_id, conn, &id, with_members))
        .await?;
    if none_match(&req, &group.etag()) {
        return Ok(HttpResponse::NotModified().finish());
    }
    Ok(respond(StatusCode::OK, group, &selection, &base_url(&req)))
}

pub async fn replace(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
    raw: RawParams,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let selection = Params::new(raw).selection(KIND)?;
    let id = SubteamId::from_url(id.into_inner())?;
    let expected = if_match(&req);
    let group = state
        .write(&req, auth, move |scope, conn| {
            groups::replace(scope, conn, &id, expected.as_deref(), body)
        })
        .await?;
    Ok(respond(StatusCode::OK, group, &selection, &base_url(&req)))
}

/// Answers 200 with the group, as most clients expect, unless the group has
/// more than `PATCH_ECHO_MEMBER_LIMIT` members and the client did not ask for
/// attributes: then 204 (RFC 7644 §3.5.2 allows either), so a membership
/// delta on a 100k-member group never costs a full member listing.
pub async fn patch(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
    raw: RawParams,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let params = Params::new(raw);
    let selection = params.selection(KIND)?;
    let asked_for_attributes =
        params.get("attributes").is_some() || params.get("excludedAttributes").is_some();
    let with_members = selection.includes(KIND, "members");
    let id = SubteamId::from_url(id.into_inner())?;
    let expected = if_match(&req);
    let outcome = state
        .write(&req, auth, move |scope, conn| {
            let tenant = scope.tenant;
            let row = groups::patch(scope, conn, &id, expected.as_deref(), &body)?;
            let echo = asked_for_attributes
                || !with_members
                || row.member_count
                    <= i64::try_from(groups::PATCH_ECHO_MEMBER_LIMIT).unwrap_or(i64::MAX);
            if echo {
                groups::get(tenant, conn, &id, with_members).map(Ok)
            } else {
                Ok(Err(etag(row.version)))
            }
        })
        .await?;
    match outcome {
        Ok(group) => Ok(respond(StatusCode::OK, group, &selection, &base_url(&req))),
        Err(version) => {
            let mut response = HttpResponse::NoContent().finish();
            if let Ok(etag) = header::HeaderValue::from_str(&version) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            Ok(response)
        }
    }
}

pub async fn delete(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = SubteamId::from_url(id.into_inner())?;
    let expected = if_match(&req);
    state
        .write(&req, auth, move |scope, conn| {
            groups::delete(scope, conn, &id, expected.as_deref())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

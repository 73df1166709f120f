//! `/Groups`: thin handlers over `service::groups`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::auth::AuthTenant;
use crate::http::params::{Params, RawParams, if_match, none_match};
use crate::http::state::AppState;
use crate::http::wire::{JsonBody, base_url, list_response, scim_json};
use crate::scim::ScimError;
use crate::scim::ids::SubteamId;
use crate::scim::list;
use crate::scim::patch;
use crate::scim::resource::{self, AttributeSelection};
use crate::scim::schema::ResourceKind;
use crate::service::groups::{self, StoredGroup};

const KIND: ResourceKind = ResourceKind::Group;

fn respond(
    status: StatusCode,
    group: &StoredGroup,
    selection: &AttributeSelection,
    base: &str,
) -> HttpResponse {
    let full = group.to_scim(base);
    let location = full["meta"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut response = scim_json(status, &selection.project(KIND, &full));
    let headers = response.headers_mut();
    if let Ok(etag) = header::HeaderValue::from_str(&group.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(location) = header::HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    response
}

pub async fn list(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    raw: RawParams,
) -> Result<HttpResponse, ScimError> {
    let params = Params::new(raw);
    let selection = params.selection(KIND)?;
    let filter = list::parse(KIND, params.get("filter"))?;
    let page = params.page()?;
    let base = base_url(&req);
    // `excludedAttributes=members` never touches the membership table.
    let with_members = selection.includes(KIND, "members");
    let listed = {
        let base = base.clone();
        state
            .db
            .run(move |conn| {
                groups::list(
                    &auth.tenant_id,
                    conn,
                    filter.as_ref(),
                    page,
                    with_members,
                    &base,
                )
            })
            .await?
    };
    let resources = listed
        .groups
        .iter()
        .map(|group| selection.project(KIND, &group.to_scim(&base)))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(listed.total, page.start_index, resources),
    ))
}

pub async fn create(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    raw: RawParams,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let selection = Params::new(raw).selection(KIND)?;
    let incoming = resource::normalize(KIND, body)?;
    let group = state
        .db
        .run(move |conn| groups::create(&auth.tenant_id, conn, incoming))
        .await?;
    Ok(respond(
        StatusCode::CREATED,
        &group,
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
    let id = SubteamId::from_string(id.into_inner());
    let group = state
        .db
        .run(move |conn| groups::get(&auth.tenant_id, conn, &id, with_members))
        .await?;
    if none_match(&req, &group.etag()) {
        return Ok(HttpResponse::NotModified().finish());
    }
    Ok(respond(StatusCode::OK, &group, &selection, &base_url(&req)))
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
    let incoming = resource::normalize(KIND, body)?;
    let id = SubteamId::from_string(id.into_inner());
    let expected = if_match(&req);
    let group = state
        .db
        .run(move |conn| groups::replace(&auth.tenant_id, conn, &id, expected.as_deref(), incoming))
        .await?;
    Ok(respond(StatusCode::OK, &group, &selection, &base_url(&req)))
}

/// Answers 204 unless the client asks for attributes back: echoing a
/// 100k-member group after every membership delta would undo the point of
/// applying deltas (RFC 7644 §3.5.2 allows either).
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
    let wants_body =
        params.get("attributes").is_some() || params.get("excludedAttributes").is_some();
    let with_members = selection.includes(KIND, "members");
    let ops = patch::parse_patch_request(&body)?;
    let id = SubteamId::from_string(id.into_inner());
    let expected = if_match(&req);
    let group = state
        .db
        .run(move |conn| {
            let row = groups::patch(&auth.tenant_id, conn, &id, expected.as_deref(), &ops)?;
            if wants_body {
                groups::get(&auth.tenant_id, conn, &id, with_members)
            } else {
                Ok(StoredGroup { row, members: None })
            }
        })
        .await?;
    if wants_body {
        return Ok(respond(StatusCode::OK, &group, &selection, &base_url(&req)));
    }
    let mut response = HttpResponse::NoContent().finish();
    if let Ok(etag) = header::HeaderValue::from_str(&group.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

pub async fn delete(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = SubteamId::from_string(id.into_inner());
    let expected = if_match(&req);
    state
        .db
        .run(move |conn| groups::delete(&auth.tenant_id, conn, &id, expected.as_deref()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

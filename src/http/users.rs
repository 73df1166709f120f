//! `/Users`: thin handlers over `service::users`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::auth::AuthTenant;
use crate::http::params::{Params, RawParams, if_match, none_match};
use crate::http::request_log::note_conflict;
use crate::http::state::AppState;
use crate::http::wire::{JsonBody, base_url, scim_json_text};
use crate::scim::ScimError;
use crate::scim::ids::MemberId;
use crate::scim::policy::Policy;
use crate::scim::resource::{self, AttributeSelection};
use crate::scim::schema::ResourceKind;
use crate::service::users::{self, StoredUser};

const KIND: ResourceKind = ResourceKind::User;

fn respond(
    status: StatusCode,
    user: &StoredUser,
    selection: &AttributeSelection,
    base: &str,
) -> HttpResponse {
    let location = format!("{base}/{}/{}", KIND.endpoint(), user.row.id);
    let mut response = scim_json_text(status, user.to_selected_text(selection, base));
    let headers = response.headers_mut();
    if let Ok(etag) = header::HeaderValue::from_str(&user.etag()) {
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
    let hashes = resource::carries_password(&body);
    let user_name = resource::text_attribute(&body, "userName");
    let tenant = auth.tenant_id.clone();
    let created = state
        .write_prepared(
            &req,
            auth,
            (move |policy: &Policy| users::prepare(policy, body), hashes),
            users::create,
        )
        .await;
    note_conflict(&req, &state.db, &created, user_name, move |conn, name| {
        users::id_of_user_name(&tenant, conn, name)
    })
    .await;
    let user = created?;
    Ok(respond(
        StatusCode::CREATED,
        &user,
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
    let id = MemberId::from_url(id.into_inner())?;
    let user = state
        .db
        .read(move |conn| users::get(&auth.tenant_id, conn, &id))
        .await?;
    if none_match(&req, &user.etag()) {
        return Ok(HttpResponse::NotModified().finish());
    }
    Ok(respond(StatusCode::OK, &user, &selection, &base_url(&req)))
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
    let id = MemberId::from_url(id.into_inner())?;
    let expected = if_match(&req);
    let hashes = resource::carries_password(&body);
    let user = state
        .write_prepared(
            &req,
            auth,
            (move |policy: &Policy| users::prepare(policy, body), hashes),
            move |scope, conn, prepared| {
                users::replace(scope, conn, &id, expected.as_deref(), prepared)
            },
        )
        .await?;
    Ok(respond(StatusCode::OK, &user, &selection, &base_url(&req)))
}

pub async fn patch(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
    raw: RawParams,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let selection = Params::new(raw).selection(KIND)?;
    let id = MemberId::from_url(id.into_inner())?;
    let expected = if_match(&req);
    let user = state
        .write(&req, auth, move |scope, conn| {
            users::patch(scope, conn, &id, expected.as_deref(), &body)
        })
        .await?;
    Ok(respond(StatusCode::OK, &user, &selection, &base_url(&req)))
}

pub async fn delete(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = MemberId::from_url(id.into_inner())?;
    let expected = if_match(&req);
    state
        .write(&req, auth, move |scope, conn| {
            users::delete(scope, conn, &id, expected.as_deref())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

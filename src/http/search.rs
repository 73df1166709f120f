//! Listing and searching: `GET /Users`, `GET /Groups`, and the POST
//! `.search` forms (RFC 7644 §3.4.3), which take the same parameters in a
//! SearchRequest body. The root `/.search` spans both resource types.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use crate::http::auth::AuthTenant;
use crate::http::params::{Params, RawParams};
use crate::http::state::AppState;
use crate::http::wire::{SearchBody, base_url, list_response_text, scim_json_text};
use crate::scim::ScimError;
use crate::scim::list::{self, Cursor, ListRequest, Page};
use crate::scim::resource::AttributeSelection;
use crate::scim::schema::{ResourceKind, SEARCH_REQUEST_URN};
use crate::service::{groups, json_string, users};

/// The parameters of one search, however they arrived.
#[derive(Debug, Default)]
pub struct Search {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    /// RFC 9865: present (even empty) selects cursor paging.
    cursor: Option<String>,
}

impl Search {
    fn from_params(params: &Params) -> Result<Search, ScimError> {
        Ok(Search {
            filter: params.get("filter").map(str::to_owned),
            start_index: list::parse_integer("startIndex", params.get("startIndex"))?,
            count: list::parse_integer("count", params.get("count"))?,
            attributes: params.get("attributes").map(str::to_owned),
            excluded_attributes: params.get("excludedAttributes").map(str::to_owned),
            sort_by: params.get("sortBy").map(str::to_owned),
            sort_order: params.get("sortOrder").map(str::to_owned),
            cursor: params.get("cursor").map(str::to_owned),
        })
    }

    fn from_body(body: &Value) -> Result<Search, ScimError> {
        let object = body.as_object().ok_or_else(|| {
            ScimError::InvalidSyntax("a SearchRequest must be a JSON object".into())
        })?;
        let field = |name: &str| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        if let Some(schemas) = field("schemas") {
            let declared = schemas
                .as_array()
                .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(SEARCH_REQUEST_URN)));
            if !declared {
                return Err(ScimError::InvalidSyntax(format!(
                    "schemas must contain {SEARCH_REQUEST_URN}"
                )));
            }
        }
        let names = |name: &str| -> Result<Option<String>, ScimError> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .map(|v| Some(v.join(",")))
                    .ok_or_else(|| ScimError::InvalidValue(format!("{name} must list strings"))),
                Some(other) => Err(ScimError::InvalidValue(format!(
                    "{name} must be a list of attribute names, got {other}"
                ))),
            }
        };
        let integer = |name: &str| -> Result<Option<i64>, ScimError> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::InvalidValue(format!("{name} must be an integer"))),
            }
        };
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(ScimError::InvalidValue(format!(
                    "{name} must be a string, got {other}"
                ))),
            }
        };
        let filter = match field("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(ScimError::InvalidFilter(format!(
                    "filter must be a string, got {other}"
                )));
            }
        };
        Ok(Search {
            filter,
            start_index: integer("startIndex")?,
            count: integer("count")?,
            attributes: names("attributes")?,
            excluded_attributes: names("excludedAttributes")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            cursor: text("cursor")?,
        })
    }

    fn page(&self) -> Page {
        Page::new(self.start_index, self.count)
    }

    fn request(&self, kind: ResourceKind, page: Page) -> Result<ListRequest, ScimError> {
        Ok(ListRequest {
            page,
            sort: list::parse_sort(kind, self.sort_by.as_deref(), self.sort_order.as_deref())?,
            cursor: self.cursor.as_deref().map(Cursor::parse).transpose()?,
        })
    }
}

/// One resource type's page of results, each resource as JSON text.
struct Found {
    total: usize,
    resources: Vec<String>,
    next: Option<Cursor>,
    previous: Option<Cursor>,
}

/// One resource type's matches for a page: (total, projected resources).
async fn search_kind(
    kind: ResourceKind,
    state: &AppState,
    auth: &AuthTenant,
    base: &str,
    search: &Search,
    page: Page,
) -> Result<Found, ScimError> {
    let request = search.request(kind, page)?;
    let selection = AttributeSelection::parse(
        kind,
        search.attributes.as_deref(),
        search.excluded_attributes.as_deref(),
    )?;
    let filter = list::parse(kind, search.filter.as_deref())?;
    let tenant = auth.tenant_id.clone();
    let base_owned = base.to_owned();
    match kind {
        ResourceKind::User => {
            let with_groups = selection.includes(kind, "groups");
            let listed = state
                .db
                .read(move |conn| {
                    users::list(
                        &tenant,
                        conn,
                        filter.as_ref(),
                        &request,
                        with_groups,
                        &base_owned,
                    )
                })
                .await?;
            let resources = listed
                .users
                .iter()
                .map(|user| user.to_selected_text(&selection, base))
                .collect();
            Ok(Found {
                total: listed.total,
                resources,
                next: listed.next,
                previous: listed.previous,
            })
        }
        ResourceKind::Group => {
            // `excludedAttributes=members` never touches the membership table.
            let with_members = selection.includes(kind, "members");
            let listed = state
                .db
                .read(move |conn| {
                    groups::list(
                        &tenant,
                        conn,
                        filter.as_ref(),
                        &request,
                        with_members,
                        &base_owned,
                    )
                })
                .await?;
            let resources = listed
                .groups
                .into_iter()
                .map(|group| selection.project(kind, group.into_scim(base)).to_string())
                .collect();
            Ok(Found {
                total: listed.total,
                resources,
                next: listed.next,
                previous: listed.previous,
            })
        }
    }
}

async fn respond_for(
    kind: ResourceKind,
    req: &HttpRequest,
    auth: &AuthTenant,
    state: &AppState,
    search: Search,
) -> Result<HttpResponse, ScimError> {
    let page = search.page();
    let cursor_paging = search.cursor.is_some();
    let found = search_kind(kind, state, auth, &base_url(req), &search, page).await?;
    let paging: Vec<(&str, String)> = if cursor_paging {
        // RFC 9865: cursor pages have no startIndex, and name their neighbours.
        [
            ("nextCursor", found.next),
            ("previousCursor", found.previous),
        ]
        .into_iter()
        .filter_map(|(name, cursor)| Some((name, json_string(&cursor?.encode()))))
        .collect()
    } else {
        vec![("startIndex", page.start_index.to_string())]
    };
    Ok(scim_json_text(
        StatusCode::OK,
        list_response_text(found.total, &found.resources, &paging),
    ))
}

pub async fn list_users(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    raw: RawParams,
) -> Result<HttpResponse, ScimError> {
    let search = Search::from_params(&Params::new(raw))?;
    respond_for(ResourceKind::User, &req, &auth, &state, search).await
}

pub async fn list_groups(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    raw: RawParams,
) -> Result<HttpResponse, ScimError> {
    let search = Search::from_params(&Params::new(raw))?;
    respond_for(ResourceKind::Group, &req, &auth, &state, search).await
}

pub async fn search_users(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    SearchBody(body): SearchBody,
) -> Result<HttpResponse, ScimError> {
    respond_for(
        ResourceKind::User,
        &req,
        &auth,
        &state,
        Search::from_body(&body)?,
    )
    .await
}

pub async fn search_groups(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    SearchBody(body): SearchBody,
) -> Result<HttpResponse, ScimError> {
    respond_for(
        ResourceKind::Group,
        &req,
        &auth,
        &state,
        Search::from_body(&body)?,
    )
    .await
}

/// `POST /.search`: Users then Groups, paged as one list. A filter that
/// names attributes of only one type searches only that type.
pub async fn search_all(
    req: HttpRequest,
    auth: AuthTenant,
    state: web::Data<AppState>,
    SearchBody(body): SearchBody,
) -> Result<HttpResponse, ScimError> {
    let search = Search::from_body(&body)?;
    if search.cursor.is_some() || search.sort_by.is_some() {
        return Err(ScimError::InvalidValue(
            "cursor paging and sortBy apply to one resource type: use /Users/.search or /Groups/.search".into(),
        ));
    }
    let page = search.page();
    let base = base_url(&req);
    let kinds: Vec<ResourceKind> = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .filter(|kind| list::parse(*kind, search.filter.as_deref()).is_ok())
        .collect();
    if kinds.is_empty() {
        // Neither type accepts the filter: report why, as for one type.
        list::parse(ResourceKind::User, search.filter.as_deref())?;
    }
    let mut total = 0;
    let mut resources = Vec::new();
    let mut skip = page.offset();
    for kind in kinds {
        let wanted = page.count - resources.len();
        let kind_page = Page {
            start_index: skip + 1,
            count: wanted,
        };
        let found = search_kind(kind, &state, &auth, &base, &search, kind_page).await?;
        total += found.total;
        skip = skip.saturating_sub(found.total);
        resources.extend(found.resources);
    }
    Ok(scim_json_text(
        StatusCode::OK,
        list_response_text(
            total,
            &resources,
            &[("startIndex", page.start_index.to_string())],
        ),
    ))
}

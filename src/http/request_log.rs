//! One middleware around every request: its id (`X-Request-Id`), the span
//! every log line of the request is written in, the line for a failed
//! request, and the optional access log. Nothing here logs a header value
//! other than the request id, so neither the token nor personal data in a
//! URL's query reaches the log.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use prometheus::IntGauge;
use tracing::Instrument;

use crate::http::state::{AppState, Db};
use crate::repeats;
use crate::scim::ScimError;
use crate::scim::activity::Client;
use crate::scim::ids::TenantId;
use crate::store::db::DbConnection;
use crate::store::failed_reads::{self, FailedReads};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-chosen request id we keep (longer ones are replaced).
const REQUEST_ID_MAX_LEN: usize = 64;

/// The id of one request: the client's own `X-Request-Id` when it is a short
/// token, else a fresh UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// Only letters, digits, `-`, `_` and `.` are kept from a client, so the
    /// id is safe to echo in a header and to write in a log line as is.
    pub fn from_client(header: Option<&str>) -> RequestId {
        match header {
            Some(id)
                if !id.is_empty()
                    && id.len() <= REQUEST_ID_MAX_LEN
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
            {
                RequestId(id.to_owned())
            }
            _ => RequestId(uuid::Uuid::new_v4().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The request's span, kept so the team can be recorded once it is known.
#[derive(Clone)]
struct RequestSpan(tracing::Span);

/// The team a request authenticated as.
#[derive(Clone)]
struct Team(TenantId);

/// Marks the request as acting for `tenant`: later log lines of the request,
/// its error line and its access-log line name the team (by id, never name).
pub fn set_team(req: &HttpRequest, tenant: &TenantId) {
    let mut extensions = req.extensions_mut();
    if let Some(RequestSpan(span)) = extensions.get::<RequestSpan>() {
        span.record("team", tenant.as_str());
    }
    extensions.insert(Team(tenant.clone()));
}

/// Counts a request in flight until dropped: also when the client goes
/// away and the request's future is dropped unfinished.
struct InFlight(IntGauge);

impl InFlight {
    fn enter(gauge: IntGauge) -> InFlight {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The middleware, wrapped outermost so that every answer has an id and
/// every request is counted in flight.
pub async fn handle<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
    access_log: bool,
    in_flight: IntGauge,
) -> Result<ServiceResponse<B>, Error> {
    let _in_flight = InFlight::enter(in_flight);
    let started = Instant::now();
    let id = RequestId::from_client(
        req.headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    // At ERROR level so the span is kept whatever RUST_LOG filters out: a
    // warning or an internal error's cause still names its request and team.
    let span = tracing::error_span!(
        "request",
        request_id = id.as_str(),
        team = tracing::field::Empty
    );
    req.extensions_mut().insert(RequestSpan(span.clone()));
    req.extensions_mut().insert(id.clone());
    // Handlers' errors arrive as responses; an `Err` here would come from a
    // middleware, which ours never return (actix renders it without an id).
    let mut response = span
        .in_scope(|| next.call(req))
        .instrument(span.clone())
        .await
        .inspect_err(|error| {
            tracing::error!(request_id = %id.as_str(), %error, "request failed in a middleware");
        })?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    log_outcome(&response, &id, started, access_log);
    count_failed_read(&response);
    Ok(response)
}

/// Detail kept of a failed read (the start of the error's message).
const FAILED_READ_DETAIL_CHARS: usize = 200;

/// What a team's failed SCIM read is counted as: its hour, client, route
/// and error. `None` for anything else (writes are in the activity log;
/// requests without a team, throttled or over a down database are not the
/// IdP's doing).
fn failed_read<B>(response: &ServiceResponse<B>) -> Option<FailedReads> {
    // Every answer passes here: the status is checked before anything
    // that allocates.
    let status = response.status().as_u16();
    if !(400..500).contains(&status) || matches!(status, 401 | 429) {
        return None;
    }
    let request = response.request();
    let route = request.match_pattern()?;
    let is_read = request.method() == actix_web::http::Method::GET || route.ends_with("/.search");
    if !is_read {
        return None;
    }
    let team = request.extensions().get::<Team>()?.0.to_string();
    let error = response.response().error()?;
    let scim_type = error
        .as_error::<ScimError>()
        .and_then(ScimError::scim_type)
        .unwrap_or_default();
    // A 404 names the id asked for: counted as one line, not one per id.
    let detail = if status == 404 {
        "no such resource".to_owned()
    } else {
        error
            .to_string()
            .chars()
            .take(FAILED_READ_DETAIL_CHARS)
            .collect()
    };
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    Some(FailedReads {
        tenant_id: team,
        hour: chrono::Utc::now().format("%Y-%m-%dT%H:00:00Z").to_string(),
        client: Client::from_user_agent(user_agent).as_str().to_owned(),
        route,
        status: i32::from(status),
        scim_type: scim_type.to_owned(),
        detail,
        count: 1,
    })
}

/// Adds a failed read to its hour's count, off the request's path: a
/// failure to count it is logged at debug and changes no answer.
fn count_failed_read<B>(response: &ServiceResponse<B>) {
    let Some(reads) = failed_read(response) else {
        return;
    };
    let Some(state) = response.request().app_data::<web::Data<AppState>>() else {
        return;
    };
    let db = state.db.clone();
    actix_web::rt::spawn(async move {
        if let Err(error) = db
            .write(move |conn| Ok(failed_reads::add(conn, &reads)?))
            .await
        {
            tracing::debug!(%error, "counting a failed read failed");
        }
    });
}

/// The id of the resource a refused create collided with (its `userName`
/// or `displayName` taken), for the error line.
#[derive(Debug, Clone)]
struct Conflicting(String);

/// After a create: when it was refused as a duplicate, finds (with
/// `lookup`, by the `name` the client sent) the resource it collided with,
/// so its error line names that id instead of the name.
pub async fn note_conflict<T, Id>(
    req: &HttpRequest,
    db: &Db,
    created: &Result<T, ScimError>,
    name: Option<String>,
    lookup: impl FnOnce(&mut DbConnection, &str) -> Result<Option<Id>, ScimError> + Send + 'static,
) where
    Id: ToString + Send + 'static,
{
    if matches!(created, Err(ScimError::Uniqueness(_)))
        && let Some(name) = name
        && let Ok(Some(id)) = db.read(move |conn| lookup(conn, &name)).await
    {
        req.extensions_mut().insert(Conflicting(id.to_string()));
    }
}

fn log_outcome<B>(response: &ServiceResponse<B>, id: &RequestId, started: Instant, access: bool) {
    let request = response.request();
    let status = response.status().as_u16();
    let team = request
        .extensions()
        .get::<Team>()
        .map_or_else(|| "-".to_owned(), |Team(t)| t.to_string());
    let route = request.match_pattern().unwrap_or_else(|| "-".into());
    let method = request.method().as_str();
    if let Some(error) = response.response().error() {
        let scim = error.as_error::<ScimError>();
        let scim_type = scim.and_then(ScimError::scim_type).unwrap_or("-");
        // The resource the request named (`/Users/{id}`); for a create
        // refused as a duplicate, the one it collided with; else `-`.
        let conflicting = request
            .extensions()
            .get::<Conflicting>()
            .map(|c| c.0.clone());
        let resource = request
            .match_info()
            .get("id")
            .map(str::to_owned)
            .or(conflicting)
            .unwrap_or_else(|| "-".to_owned());
        // A uniqueness conflict's detail quotes the client's `userName` or
        // `displayName` (personal data): the line names the resource instead.
        let detail = match scim {
            Some(ScimError::Uniqueness(_) | ScimError::Conflict(_)) => {
                "already taken in this team (the value is not logged)".to_owned()
            }
            _ => error.to_string(),
        };
        // A database that is down or full fails every request alike: one
        // line per kind and interval, with the count of those left out.
        let repeated = if matches!(status, 503 | 507) {
            repeats::admit(&format!("{status} {route} {detail}"))
        } else {
            Some(0)
        };
        match repeated {
            None => {}
            Some(repeated) if status >= 500 => tracing::error!(
                request_id = %id.as_str(),
                %team, %method, %route, %resource, status, %scim_type, %detail, repeated,
                "request failed"
            ),
            Some(_) => tracing::warn!(
                request_id = %id.as_str(),
                %team, %method, %route, %resource, status, %scim_type, %detail,
                "request refused"
            ),
        }
    }
    if access {
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let connection = request.connection_info();
        // Behind a proxy this is the `Forwarded`/`X-Forwarded-For` client.
        let client_addr = connection.realip_remote_addr().unwrap_or("-");
        tracing::info!(
            target: "scimd::access",
            request_id = %id.as_str(),
            %team,
            %method,
            %route,
            status,
            // Tenths of a millisecond are as fine as a request log needs.
            duration_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
            %client_addr,
            client = %Client::from_user_agent(user_agent).as_str(),
            "request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RequestId;

    #[test]
    fn a_short_token_from_the_client_is_kept() {
        for id in ["abc", "okta-123_x.y", &"a".repeat(64)] {
            assert_eq!(RequestId::from_client(Some(id)).as_str(), id);
        }
    }

    #[test]
    fn anything_else_is_replaced() {
        for id in ["", "has space", "a\"b", "é", &"a".repeat(65)] {
            let kept = RequestId::from_client(Some(id));
            assert_ne!(kept.as_str(), id);
            assert_eq!(kept.as_str().len(), 36, "a fresh UUID");
        }
        assert_eq!(RequestId::from_client(None).as_str().len(), 36);
    }
}

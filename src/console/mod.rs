//! The console: server-rendered pages where a team's admins see what their
//! IdP did and an operator runs every team. Its own listener
//! (`--admin-bind`), one file per page group; templates are `maud` macros
//! beside the handlers that fill them. Every change goes through the same
//! `scimd::admin` and service functions as the CLI and SCIM, logged with the
//! account's name.

mod chart;
mod connect;
mod failures;
mod held;
mod layout;
mod login;
mod members;
mod overview;
mod policy;
mod session;
mod subteams;
mod teams;
mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, FromRequest, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use maud::html;

use crate::admin;
use crate::http::state::Db;
use crate::http::throttle::TrustedProxies;
use crate::scim::ScimError;
use crate::store::StoreError;
use crate::store::accounts::{self, AccountRow};
use crate::store::tenants::{self, TenantRow};
use session::{SessionData, Sessions};

/// What `scimd serve` says about the console.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// HOST:PORT of the console's listener.
    pub bind: String,
    /// The SCIM base URL the console shows and calls; `None`: derived from
    /// the SCIM listener's address.
    pub public_url: Option<String>,
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in.
    pub lifetime: Duration,
}

impl ConsoleSettings {
    pub const DEFAULT_BIND: &'static str = "127.0.0.1:9091";
    pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

    /// On `127.0.0.1:0`, for tests.
    pub fn for_tests() -> ConsoleSettings {
        ConsoleSettings {
            bind: "127.0.0.1:0".into(),
            public_url: None,
            idle: Self::DEFAULT_IDLE,
            lifetime: Self::DEFAULT_LIFETIME,
        }
    }
}

pub struct ConsoleState {
    pub db: Db,
    pub sessions: Sessions,
    /// The SCIM base URL (`…/api/external/scim/v2`).
    pub scim_url: String,
    /// Whether the console itself serves HTTPS.
    pub tls: bool,
    pub sign_in: login::SignInThrottle,
    pub trusted_proxies: TrustedProxies,
}

/// The console's listener, serving until the process stops.
pub struct Console {
    pub server: Server,
    pub port: u16,
}

/// Binds the console. `scim_url`: the SCIM base URL when `--public-url`
/// is not given; `tls`: the SCIM listener's TLS configuration, shared.
pub fn start(
    settings: &ConsoleSettings,
    db: Db,
    scim_url: String,
    trusted_proxies: TrustedProxies,
    tls: Option<rustls::ServerConfig>,
) -> anyhow::Result<Console> {
    let secret = signing_secret(&db)?;
    let listener = std::net::TcpListener::bind(&settings.bind).with_context(|| {
        format!(
            "--admin-bind {}: cannot listen there (another process has the port? pass \
             --admin-bind off to run without the console, or another HOST:PORT)",
            settings.bind
        )
    })?;
    let port = listener.local_addr()?.port();
    let state = web::Data::new(ConsoleState {
        db,
        sessions: Sessions::new(&secret, settings.idle, settings.lifetime),
        scim_url: settings
            .public_url
            .clone()
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or(scim_url),
        tls: tls.is_some(),
        sign_in: login::SignInThrottle::default(),
        trusted_proxies,
    });
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(renew_session))
            .app_data(state.clone())
            .app_data(web::FormConfig::default().limit(256 * 1024))
            .configure(routes)
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals();
    let server = match tls {
        None => server.listen(listener)?,
        Some(config) => server.listen_rustls_0_23(listener, config)?,
    }
    .run();
    Ok(Console { server, port })
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/console.css", web::get().to(layout::stylesheet))
        .route("/console.js", web::get().to(layout::script))
        .configure(login::routes)
        .configure(teams::routes)
        .configure(overview::routes)
        .configure(failures::routes)
        .configure(members::routes)
        .configure(subteams::routes)
        .configure(policy::routes)
        .configure(tokens::routes)
        .configure(held::routes)
        .configure(connect::routes);
}

/// The console's session key, made on first use and kept in the database.
fn signing_secret(db: &Db) -> anyhow::Result<Vec<u8>> {
    let mut conn = db.pool().get().context("the console needs the database")?;
    let secret = accounts::key(&mut conn, "session", || {
        let mut bytes = [0u8; 64];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        hex::encode(bytes)
    })?;
    hex::decode(secret).context("the stored console key is not hex")
}

async fn home(viewer: Viewer) -> HttpResponse {
    let to = match &viewer.account.tenant_id {
        None => "/teams".to_owned(),
        Some(tenant) => format!("/teams/{tenant}"),
    };
    see_other(&to)
}

async fn not_found() -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::NotFound)
}

pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Why a console request did not get its page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Not signed in, or the session ended: off to the sign-in page.
    #[error("sign in first")]
    SignIn,
    /// Also what a team admin gets for another team's pages.
    #[error("no such page")]
    NotFound,
    #[error("this form is stale or was not sent by the console; reload the page and try again")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(u64),
    #[error("the database is unavailable; try again in a moment")]
    Unavailable,
    #[error("something went wrong on our side; it has been logged")]
    Internal(#[source] anyhow::Error),
}

impl From<ScimError> for ConsoleError {
    fn from(error: ScimError) -> Self {
        match error.status() {
            503 => ConsoleError::Unavailable,
            404 => ConsoleError::NotFound,
            400..=499 => ConsoleError::BadRequest(error.to_string()),
            _ => ConsoleError::Internal(error.into()),
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> Self {
        ScimError::from(error).into()
    }
}

impl actix_web::ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ConsoleError::SignIn = self {
            return see_other("/login");
        }
        if let ConsoleError::Internal(source) = self {
            tracing::error!(error = format!("{source:#}"), "console request failed");
        }
        let status = self.status_code();
        let page = layout::bare(
            status.canonical_reason().unwrap_or("Error"),
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.error-detail { (self.to_string()) }
                p { a href="/" { "Back to the console" } }
            },
        );
        let mut response = HttpResponse::build(status);
        if let ConsoleError::Throttled(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response
            .content_type("text/html; charset=utf-8")
            .body(page.into_string())
    }
}

/// The signed-in account behind a request.
pub struct Viewer {
    pub account: AccountRow,
    pub session: SessionData,
}

impl Viewer {
    pub fn is_operator(&self) -> bool {
        self.account.tenant_id.is_none()
    }

    /// The team `tenant_id` names, if this account may see it; a team admin
    /// gets `NotFound` for every other team, as for one that does not exist.
    pub async fn team(
        &self,
        state: &ConsoleState,
        tenant_id: &str,
    ) -> Result<TenantRow, ConsoleError> {
        if let Some(own) = &self.account.tenant_id
            && own != tenant_id
        {
            return Err(ConsoleError::NotFound);
        }
        let id = crate::scim::ids::TenantId::from_string(tenant_id.to_owned());
        state
            .db
            .read(move |conn| Ok(tenants::find(conn, &id)?))
            .await?
            .ok_or(ConsoleError::NotFound)
    }

    /// A posted form's fields, if it carries this session's CSRF token.
    pub fn checked(&self, form: Vec<(String, String)>) -> Result<Form, ConsoleError> {
        let token = form
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if session::same_secret(token, &self.session.csrf) {
            Ok(Form(form))
        } else {
            Err(ConsoleError::Csrf)
        }
    }

    pub fn actor(&self) -> crate::scim::activity::Actor {
        admin::console_actor(&self.account)
    }
}

/// A posted form whose CSRF token checked out.
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .unwrap_or_default()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// Every value of `name` (checkboxes), trimmed.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// The session cookie a request renews (its `seen` moved to now).
struct Renewal(actix_web::cookie::Cookie<'static>);

impl FromRequest for Viewer {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Viewer, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<ConsoleState>>()
                .cloned()
                .ok_or_else(|| ConsoleError::Internal(anyhow::anyhow!("console state missing")))?;
            let now = session::unix_now();
            let session = state.sessions.open(&req, now).ok_or(ConsoleError::SignIn)?;
            let id = session.account_id.clone();
            let account = state
                .db
                .read(move |conn| Ok(accounts::find(conn, &id)?))
                .await?
                .filter(|a| a.disabled_at.is_none() && a.session_epoch == session.epoch)
                .ok_or(ConsoleError::SignIn)?;
            let renewed = SessionData {
                seen: now,
                ..session
            };
            let secure = session::is_secure(&req, state.tls);
            req.extensions_mut()
                .insert(Renewal(state.sessions.cookie(&renewed, secure)));
            Ok(Viewer {
                account,
                session: renewed,
            })
        })
    }
}

/// Sets the renewed session cookie on the response, and the headers every
/// console page carries.
async fn renew_session(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let renewal = response.request().extensions_mut().remove::<Renewal>();
    if let Some(Renewal(cookie)) = renewal
        && !response.headers().contains_key(header::SET_COOKIE)
    {
        response.response_mut().add_cookie(&cookie)?;
    }
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' https: data:; \
             script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    Ok(response)
}

//! Builds the actix application; used by `scimd serve` and by the tests.

use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::config::REQUEST_BODY_MAX_BYTES;
use crate::console::{self, Console, ConsoleSettings};
use crate::http::auth::{AuthSettings, Authenticator};
use crate::http::limits::{self, ConnectionLimits};
use crate::http::rate_limit::RateLimiter;
use crate::http::state::{AppState, Db, READY_WITHIN};
use crate::http::tls::{self, Certificates, TlsFiles};
use crate::http::{self, error, metrics, request_log};
use crate::jobs::{self, JobSettings, Jobs};
use crate::scim::ScimError;
use crate::store::db::{Backend, DbSettings};
use crate::store::writer::Writer;
use crate::store::{self, StoreError};
use crate::telemetry::Telemetry;

/// HOST:PORT a client on this host can reach the SCIM listener at: the
/// bound port (which `:0` picks), loopback for an any-address bind.
fn reachable(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map_or(bind, |(host, _)| host);
    let host = match host {
        "" | "0.0.0.0" => "127.0.0.1",
        "[::]" => "[::1]",
        other => other,
    };
    format!("{host}:{port}")
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: String,
    pub database_url: String,
    pub db: DbSettings,
    pub workers: usize,
    pub auth: AuthSettings,
    /// Requests per second per tenant; `None` for no limit.
    pub rate_limit: Option<u32>,
    pub jobs: JobSettings,
    /// One log line per request (route, status, duration, client, team).
    pub access_log: bool,
    /// Provisioning metrics per team too (fine for a few teams, not thousands).
    pub metrics_team_label: bool,
    /// Timeouts for slow clients and the bound on open connections.
    pub limits: ConnectionLimits,
    /// Serve HTTPS with this certificate and key; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The console's listener and sessions; `None`: no console.
    pub console: Option<ConsoleSettings>,
}

pub struct Application {
    server: Server,
    port: u16,
    console: Option<Console>,
    jobs: Jobs,
}

impl Application {
    pub fn build(config: &ServerConfig) -> anyhow::Result<Application> {
        let pool = store::db::connect_with(&config.database_url, &config.db)?;
        let telemetry = Arc::new(Telemetry::new(config.metrics_team_label)?);
        let (prometheus, server_metrics) = metrics::build(&telemetry)?;
        let jobs = jobs::spawn(pool.clone(), config.jobs.clone(), telemetry.clone())?;
        let db = match Backend::from_url(&config.database_url) {
            Backend::Sqlite => {
                let url = config.database_url.clone();
                let limits = (
                    config.db.sqlite_busy_timeout(),
                    config.db.sqlite_max_size_mb,
                );
                let writer = Writer::start(Box::new(move || {
                    store::db::open_sqlite(&url, limits.0, limits.1)
                        .map_err(|e| StoreError::Unavailable(e.to_string()))
                }))?;
                Db::sqlite(
                    pool,
                    server_metrics.clone(),
                    &config.database_url,
                    writer,
                    limits,
                )
            }
            Backend::Postgres => Db::new(
                pool,
                store::db::probe(&config.database_url, READY_WITHIN / 2)?,
                server_metrics.clone(),
            ),
        };
        let console_db = db.clone();
        let state = web::Data::new(AppState {
            auth: Authenticator::new(db.clone(), config.auth.clone()),
            db,
            rate_limit: config.rate_limit.map(RateLimiter::new),
            policies: Arc::default(),
            telemetry,
        });
        let in_flight = server_metrics.in_flight();
        let server_metrics = web::Data::from(server_metrics);
        let limits = config.limits;
        let listener = limits::listen(&config.bind, limits.backlog)
            .with_context(|| format!("--bind {}: cannot listen there", config.bind))?;
        let port = listener.local_addr()?.port();
        let access_log = config.access_log;
        let server = HttpServer::new(move || {
            App::new()
                // Innermost, so a late body's 408 is counted and logged.
                .wrap(from_fn(move |req, next| {
                    limits::guard(req, next, limits.body_timeout)
                }))
                .wrap(prometheus.clone())
                // Outermost: every answer, even a middleware's error, gets its id.
                .wrap(from_fn({
                    let in_flight = in_flight.clone();
                    move |req, next| request_log::handle(req, next, access_log, in_flight.clone())
                }))
                .app_data(state.clone())
                .app_data(server_metrics.clone())
                .app_data(web::PayloadConfig::new(REQUEST_BODY_MAX_BYTES))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ScimError::BadRequest(format!("malformed query string: {err}")).into()
                }))
                .configure(http::routes)
                .default_service(web::to(error::not_found))
        })
        .workers(config.workers)
        .client_request_timeout(limits.header_timeout)
        .client_disconnect_timeout(limits.disconnect_timeout)
        .keep_alive(limits.keep_alive)
        .max_connections(limits.max_connections)
        .on_connect(limits::watch_connection(limits.idle_allowance()));
        let mut console_tls = None;
        let server = match &config.tls {
            None => server.listen(listener)?,
            Some(files) => {
                let certificates = Certificates::load(files.clone())?;
                let tls_config = certificates.server_config()?;
                console_tls = Some(certificates.server_config()?);
                actix_web::rt::spawn(tls::reload_on_hangup(certificates));
                server
                    .tls_handshake_timeout(limits.header_timeout)
                    .listen_rustls_0_23(listener, tls_config)?
            }
        }
        .run();
        let console = match &config.console {
            None => None,
            Some(settings) => {
                let scheme = if config.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let scim_url = format!(
                    "{scheme}://{}/api/external/scim",
                    reachable(&config.bind, port)
                );
                Some(console::start(
                    settings,
                    console_db,
                    scim_url,
                    config.auth.trusted_proxies.clone(),
                    console_tls,
                )?)
            }
        };
        Ok(Application {
            server,
            port,
            console,
            jobs,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The console's port, when it runs.
    pub fn console_port(&self) -> Option<u16> {
        self.console.as_ref().map(|c| c.port)
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let console = self.console.map(|console| {
            let handle = console.server.handle();
            actix_web::rt::spawn(console.server);
            handle
        });
        let served = self.server.await;
        if let Some(console) = console {
            console.stop(true).await;
        }
        self.jobs.stop();
        served
    }
}

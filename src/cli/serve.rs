//! `scimd serve`: logging, start-up and the HTTP server.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use clap::builder::BoolishValueParser;
use scimd::admin;
use scimd::console::ConsoleSettings;
use scimd::http::auth::AuthSettings;
use scimd::http::limits::ConnectionLimits;
use scimd::http::throttle::{self, FailureLimit, TrustedProxies};
use scimd::http::tls::TlsFiles;
use scimd::jobs::{self, JobSettings};
use scimd::startup::{Application, ServerConfig};
use scimd::store::db::{self, DbConnection, DbSettings};
use tracing_subscriber::EnvFilter;

use super::{db_settings, open};

/// A default duration as a flag's milliseconds: the defaults live with
/// the settings they belong to, so tests (which use `Default`) and the
/// binary cannot drift apart.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Listen address, HOST:PORT.
    #[arg(long, env = "SCIMD_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    #[arg(long, env = "SCIMD_LOG", value_enum, default_value = "pretty")]
    log_format: LogFormat,
    /// One log line per request: route, method, status, duration, client, team.
    #[arg(long, env = "SCIMD_ACCESS_LOG", value_parser = BoolishValueParser::new())]
    access_log: bool,
    /// Where a first start writes tenant `default`'s token when stdout is not
    /// a terminal (default: beside the SQLite file, or
    /// ./scimd.bootstrap-token for PostgreSQL).
    #[arg(long, env = "SCIMD_BOOTSTRAP_TOKEN_FILE")]
    bootstrap_token_file: Option<PathBuf>,
    /// Database connections in the pool (also bounds concurrent DB work).
    #[arg(long, env = "SCIMD_DB_POOL_SIZE", default_value_t = DbSettings::default().pool_size)]
    pool_size: u32,
    /// Milliseconds a request waits for a database connection before it is
    /// answered 503 with Retry-After.
    #[arg(
        long,
        env = "SCIMD_DB_WAIT_MS",
        default_value_t = millis(DbSettings::default().wait),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    db_wait_ms: u64,
    /// Milliseconds one database statement may run (PostgreSQL
    /// statement_timeout) or wait for another connection's lock (SQLite
    /// busy_timeout) before the request is answered 503 with Retry-After.
    #[arg(
        long,
        env = "SCIMD_STATEMENT_TIMEOUT_MS",
        default_value_t = DbSettings::default().statement_timeout.map_or(0, millis),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    statement_timeout_ms: u64,
    /// SQLite: cap the database file at this many MiB (0: no cap); writes
    /// past it answer 507 as on a full disk, reads keep working.
    #[arg(long, env = "SCIMD_SQLITE_MAX_SIZE_MB", default_value_t = 0)]
    sqlite_max_size_mb: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SCIMD_WORKERS")]
    workers: Option<usize>,
    /// Seconds a cached token is trusted before its row is re-read; bounds
    /// how long a token revoked by another process keeps working.
    #[arg(long, env = "SCIMD_TOKEN_RECHECK_SECS", default_value_t = 2)]
    token_recheck_secs: u64,
    /// Requests per second allowed per tenant (0: no limit); over it, 429
    /// with Retry-After.
    #[arg(long, env = "SCIMD_RATE_LIMIT", default_value_t = 0)]
    rate_limit: u32,
    /// SMTP server for invites and digests: smtp://host:port,
    /// smtp://user:pass@host?tls=required, smtps://host. Unset: emails stay queued.
    #[arg(long, env = "SCIMD_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender of invites and digests.
    #[arg(
        long,
        env = "SCIMD_MAIL_FROM",
        default_value = "scimd <noreply@localhost>"
    )]
    mail_from: String,
    /// Label the provisioning metrics with the team id too: one series per
    /// team, for deployments with a few teams.
    #[arg(long, env = "SCIMD_METRICS_TEAM_LABEL", value_parser = BoolishValueParser::new())]
    metrics_team_label: bool,
    /// Days the activity log is kept.
    #[arg(long, env = "SCIMD_ACTIVITY_RETENTION_DAYS", default_value_t = 90)]
    activity_retention_days: u64,
    /// A proxy (address or CIDR network) whose X-Forwarded-For names the
    /// client for the failed-authentication throttle; repeatable (the
    /// variable takes a comma-separated list).
    #[arg(
        long = "trusted-proxy",
        env = "SCIMD_TRUSTED_PROXIES",
        value_name = "ADDRESS_OR_CIDR",
        value_delimiter = ',',
        value_parser = throttle::parse_trusted_proxy
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Failed authentications a client address may make in a burst before
    /// it gets 429 (0: no limit); the budget refills over the window.
    #[arg(long, env = "SCIMD_AUTH_FAILURES", default_value_t = FailureLimit::default().failures)]
    auth_failures: u32,
    /// Seconds over which an address's failure budget refills.
    #[arg(
        long,
        env = "SCIMD_AUTH_FAILURE_WINDOW_SECS",
        default_value_t = FailureLimit::default().window.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    auth_failure_window_secs: u64,
    /// Seconds a new connection has to send its first request's headers
    /// (408 after).
    #[arg(
        long,
        env = "SCIMD_HEADER_TIMEOUT_SECS",
        default_value_t = ConnectionLimits::default().header_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_timeout_secs: u64,
    /// Seconds a request has to send its whole body once its headers are in
    /// (408 after).
    #[arg(
        long,
        env = "SCIMD_BODY_TIMEOUT_SECS",
        default_value_t = ConnectionLimits::default().body_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    body_timeout_secs: u64,
    /// Seconds an idle connection is kept for a next request (0: a
    /// connection per request).
    #[arg(
        long,
        env = "SCIMD_KEEP_ALIVE_SECS",
        default_value_t = ConnectionLimits::default().keep_alive.as_secs()
    )]
    keep_alive_secs: u64,
    /// Seconds a client has to close its side after we close ours.
    #[arg(
        long,
        env = "SCIMD_DISCONNECT_TIMEOUT_SECS",
        default_value_t = ConnectionLimits::default().disconnect_timeout.as_secs()
    )]
    disconnect_timeout_secs: u64,
    /// Open connections per worker; beyond them new ones wait in the backlog.
    #[arg(
        long,
        env = "SCIMD_MAX_CONNECTIONS",
        default_value_t = ConnectionLimits::default().max_connections as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    max_connections: u64,
    /// Connections the kernel queues before they are accepted.
    #[arg(
        long,
        env = "SCIMD_BACKLOG",
        default_value_t = ConnectionLimits::default().backlog,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    backlog: u32,
    /// Serve HTTPS with this PEM certificate chain (server certificate
    /// first); needs --tls-key. Re-read, with the key, on SIGHUP.
    #[arg(long, env = "SCIMD_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "SCIMD_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The console's listen address, HOST:PORT (loopback by default, so a
    /// fresh start exposes nothing), or `off` for no console.
    #[arg(long, env = "SCIMD_ADMIN_BIND", default_value = ConsoleSettings::DEFAULT_BIND)]
    admin_bind: String,
    /// The SCIM base URL the console shows and its connection test calls,
    /// e.g. https://scim.example.com/api/external/scim behind a proxy
    /// (default: from --bind).
    #[arg(long, env = "SCIMD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds a console session may sit unused before it ends.
    #[arg(
        long,
        env = "SCIMD_CONSOLE_IDLE_SECS",
        default_value_t = ConsoleSettings::DEFAULT_IDLE.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    console_idle_secs: u64,
    /// Seconds a console session lasts after sign-in, in use or not.
    #[arg(
        long,
        env = "SCIMD_CONSOLE_SESSION_SECS",
        default_value_t = ConsoleSettings::DEFAULT_LIFETIME.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    console_session_secs: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

/// `--bind` or `--admin-bind` (`flag`, named in the refusal): an IP
/// address and port, or a host name and port.
fn check_bind(flag: &str, text: &str) -> anyhow::Result<()> {
    let host_and_port = text
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    anyhow::ensure!(
        text.parse::<std::net::SocketAddr>().is_ok() || host_and_port,
        "{flag} {text:?}: expected HOST:PORT, e.g. 127.0.0.1:8080 (0.0.0.0:8080 for every interface)"
    );
    Ok(())
}

/// Colour only for a person at a terminal who has not asked for none.
fn use_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Logs go to stderr, whatever the format: stdout is for what a person asked
/// for (the first start's token). Colour only on a terminal, and never with
/// `NO_COLOR` set (https://no-color.org).
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Pretty => builder.init(),
    }
}

pub fn run(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    // Checked before anything is opened or logged.
    check_bind("--bind", &args.bind)?;
    let console_bind = (!args.admin_bind.eq_ignore_ascii_case("off")).then_some(&args.admin_bind);
    if let Some(bind) = console_bind {
        check_bind("--admin-bind", bind)?;
    }
    if let Some(url) = &args.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        anyhow::bail!("--public-url {url:?}: expected an http:// or https:// URL");
    }
    if let Some(url) = &args.smtp_url {
        jobs::check_smtp_url(url).map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?;
    }
    init_logging(args.log_format);
    tracing::info!(database = %db::describe(database_url), "opening the database");
    let pool = open(database_url)?;
    bootstrap(
        &mut *pool.get()?,
        database_url,
        args.bootstrap_token_file.as_deref(),
    )?;
    drop(pool);
    let config = ServerConfig {
        bind: args.bind,
        database_url: database_url.to_owned(),
        db: DbSettings {
            pool_size: args.pool_size,
            wait: Duration::from_millis(args.db_wait_ms),
            statement_timeout: Some(Duration::from_millis(args.statement_timeout_ms)),
            sqlite_max_size_mb: args.sqlite_max_size_mb,
            ..db_settings()
        },
        workers: args.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        }),
        auth: AuthSettings {
            recheck: Duration::from_secs(args.token_recheck_secs),
            failures: FailureLimit {
                failures: args.auth_failures,
                window: Duration::from_secs(args.auth_failure_window_secs),
            },
            trusted_proxies: TrustedProxies::new(args.trusted_proxies),
            ..AuthSettings::default()
        },
        rate_limit: (args.rate_limit > 0).then_some(args.rate_limit),
        jobs: JobSettings {
            smtp_url: args.smtp_url,
            mail_from: args.mail_from,
            activity_retention: Duration::from_secs(args.activity_retention_days * 24 * 3600),
            ..JobSettings::default()
        },
        access_log: args.access_log,
        metrics_team_label: args.metrics_team_label,
        limits: ConnectionLimits {
            header_timeout: Duration::from_secs(args.header_timeout_secs),
            body_timeout: Duration::from_secs(args.body_timeout_secs),
            keep_alive: Duration::from_secs(args.keep_alive_secs),
            disconnect_timeout: Duration::from_secs(args.disconnect_timeout_secs),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            backlog: args.backlog,
        },
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| TlsFiles { cert, key }),
        console: console_bind.map(|bind| ConsoleSettings {
            bind: bind.clone(),
            public_url: args.public_url.clone(),
            idle: Duration::from_secs(args.console_idle_secs),
            lifetime: Duration::from_secs(args.console_session_secs),
        }),
    };
    if config.jobs.smtp_url.is_none() {
        tracing::warn!(
            "no SMTP server configured (SCIMD_SMTP_URL): invites and digests stay queued"
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config)?;
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(bind = %config.bind, port = app.port(), scheme, "scimd listening");
        match app.console_port() {
            Some(port) => tracing::info!(port, "console listening (--admin-bind)"),
            None => tracing::info!("console off (--admin-bind off)"),
        }
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// Where the first start's token goes when stdout is not a terminal: beside
/// the SQLite file, or in the working folder for PostgreSQL.
fn default_token_file(database_url: &str) -> PathBuf {
    match db::sqlite_file(database_url) {
        Some(file) => {
            let mut name = file.into_os_string();
            name.push(".bootstrap-token");
            name.into()
        }
        None => PathBuf::from("scimd.bootstrap-token"),
    }
}

/// On an empty database, makes tenant `default` and its token (label
/// `bootstrap`). The token is shown on a terminal; otherwise (a service, a
/// redirect) it goes to a file only the owner can read, since whatever
/// reads stdout there also keeps it.
fn bootstrap(
    conn: &mut DbConnection,
    database_url: &str,
    token_file: Option<&Path>,
) -> anyhow::Result<()> {
    if scimd::store::tenants::count(conn)? > 0 {
        return Ok(());
    }
    let path = match token_file {
        Some(path) => path.to_owned(),
        None if std::io::stdout().is_terminal() => {
            if let Some(token) = admin::bootstrap_default_tenant(conn)? {
                println!(
                    "Created tenant \"default\". Its API token (label \"bootstrap\"), shown only this once:\n\n  {token}\n"
                );
            }
            return Ok(());
        }
        None => default_token_file(database_url),
    };
    // Made before the token exists, so a path we cannot use loses nothing.
    let mut file = create_owner_only(&path).with_context(|| {
        format!(
            "--bootstrap-token-file: cannot create {} (it must not exist yet)",
            path.display()
        )
    })?;
    let written = admin::bootstrap_default_tenant(conn)
        .map_err(anyhow::Error::from)
        .and_then(|token| {
            if let Some(token) = &token {
                writeln!(file, "{token}")?;
                file.sync_all()?;
            }
            Ok(token.is_some())
        });
    match written {
        Ok(true) => {
            tracing::info!(
                path = %path.display(),
                "created tenant \"default\"; its first API token (label \"bootstrap\") is in this \
                 file, readable only by its owner: use it, then delete the file"
            );
            Ok(())
        }
        // Another server made the tenant first: no token for this file.
        Ok(false) => Ok(std::fs::remove_file(&path)?),
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            Err(error.context(
                "the first start could not store tenant \"default\"'s token; \
                 issue one with `scimd token issue --tenant default`",
            ))
        }
    }
}

/// A new file (never an existing one) with mode 0600.
fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::{check_bind, use_colour};

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(use_colour(true, None));
        assert!(
            use_colour(true, Some(OsStr::new(""))),
            "an empty NO_COLOR is unset"
        );
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn bind_takes_host_and_port() {
        for ok in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::1]:8080",
            "localhost:8080",
        ] {
            assert!(check_bind("--bind", ok).is_ok(), "{ok}");
        }
        for bad in ["18200", ":8080", "localhost", "127.0.0.1:99999", ""] {
            let message = check_bind("--bind", bad).unwrap_err().to_string();
            assert!(
                message.contains("--bind") && message.contains("HOST:PORT"),
                "{message}"
            );
        }
    }
}

//! `scimd serve`: logging, start-up and the HTTP server.

use std::time::Duration;

use clap::ValueEnum;
use scimd::admin;
use scimd::http::auth::AuthSettings;
use scimd::jobs::JobSettings;
use scimd::startup::{Application, ServerConfig};
use tracing_subscriber::EnvFilter;

use super::open;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long, env = "SCIMD_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    #[arg(long, env = "SCIMD_LOG", value_enum, default_value = "pretty")]
    log_format: LogFormat,
    /// Database connections in the pool (also bounds concurrent DB work).
    #[arg(long, env = "SCIMD_DB_POOL_SIZE", default_value_t = 8)]
    pool_size: u32,
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
    /// Days the activity log is kept.
    #[arg(long, env = "SCIMD_ACTIVITY_RETENTION_DAYS", default_value_t = 90)]
    activity_retention_days: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
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
    init_logging(args.log_format);
    let pool = open(database_url)?;
    if let Some(token) = admin::bootstrap_default_tenant(&mut *pool.get()?)? {
        println!(
            "Created tenant \"default\". Its API token (shown only this once):\n\n  {token}\n"
        );
    }
    drop(pool);
    let config = ServerConfig {
        bind: args.bind,
        database_url: database_url.to_owned(),
        pool_size: args.pool_size,
        workers: args.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        }),
        auth: AuthSettings {
            recheck: Duration::from_secs(args.token_recheck_secs),
            ..AuthSettings::default()
        },
        rate_limit: (args.rate_limit > 0).then_some(args.rate_limit),
        jobs: JobSettings {
            smtp_url: args.smtp_url,
            mail_from: args.mail_from,
            activity_retention: Duration::from_secs(args.activity_retention_days * 24 * 3600),
            ..JobSettings::default()
        },
    };
    if config.jobs.smtp_url.is_none() {
        tracing::warn!(
            "no SMTP server configured (SCIMD_SMTP_URL): invites and digests stay queued"
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config)?;
        tracing::info!(bind = %config.bind, port = app.port(), "scimd listening");
        app.run_until_stopped().await?;
        Ok(())
    })
}

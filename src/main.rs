use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use scimd::admin;
use scimd::http::auth::AuthSettings;
use scimd::scim::ids::{MemberId, TokenId};
use scimd::startup::{Application, ServerConfig};
use scimd::store::db::{self, DbPool};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "scimd", version, about = "SCIM 2.0 provisioning server")]
struct Cli {
    /// SQLite file path (default) or postgres://… URL.
    #[arg(long, env = "DATABASE_URL", default_value = "scimd.db", global = true)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants (teams).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage a tenant's API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Inspect members and their cards.
    #[command(subcommand)]
    Member(MemberCommand),
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Print a member's card and links as JSON.
    Show {
        #[arg(long)]
        tenant: String,
        /// The member's SCIM id.
        id: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
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
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

#[derive(Subcommand)]
enum TenantCommand {
    Create { name: String },
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token; it is printed once and stored only as a hash.
    Issue {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "default")]
        label: String,
    },
    List {
        #[arg(long)]
        tenant: String,
    },
    Revoke {
        id: String,
    },
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

fn open(database_url: &str) -> anyhow::Result<DbPool> {
    db::connect(database_url, 2).context("opening the database")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(&cli.database_url, args),
        Command::Migrate => {
            open(&cli.database_url)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Tenant(command) => tenant(&cli.database_url, command),
        Command::Token(command) => token(&cli.database_url, command),
        Command::Member(command) => member(&cli.database_url, command),
    }
}

fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
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
    };
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config)?;
        tracing::info!(bind = %config.bind, port = app.port(), "scimd listening");
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn tenant(database_url: &str, command: TenantCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    match command {
        TenantCommand::Create { name } => {
            let row = admin::create_tenant(conn, &name)?;
            println!("created tenant {} ({})", row.name, row.id);
        }
        TenantCommand::List => {
            for row in scimd::store::tenants::list(conn)? {
                println!("{}\t{}\t{}", row.id, row.name, row.created_at);
            }
        }
    }
    Ok(())
}

fn token(database_url: &str, command: TokenCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    match command {
        TokenCommand::Issue { tenant, label } => {
            let tenant = admin::tenant_by_name(conn, &tenant)?;
            let (row, plaintext) = admin::issue_token(conn, &tenant.tenant_id(), &label)?;
            eprintln!(
                "token {} ({label}) for tenant {}; it will not be shown again:",
                row.id, tenant.name
            );
            println!("{plaintext}");
        }
        TokenCommand::List { tenant } => {
            let tenant = admin::tenant_by_name(conn, &tenant)?;
            println!("id\tlabel\tcreated\tlast used\trevoked");
            for row in scimd::store::tokens::list(&tenant.tenant_id(), conn)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    row.id,
                    row.label,
                    row.created_at,
                    row.last_used_at.as_deref().unwrap_or("never"),
                    row.revoked_at.as_deref().unwrap_or("-"),
                );
            }
        }
        TokenCommand::Revoke { id } => {
            admin::revoke_token(conn, &TokenId::from_string(id.clone()))?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}

fn member(database_url: &str, command: MemberCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    match command {
        MemberCommand::Show { tenant, id } => {
            let tenant = admin::tenant_by_name(conn, &tenant)?;
            let member_id = MemberId::from_string(id.clone());
            let (card, links) = scimd::store::members::card(&tenant.tenant_id(), conn, &member_id)?
                .with_context(|| format!("no member {id} in tenant {}", tenant.name))?;
            let links: Vec<serde_json::Value> = links
                .iter()
                .map(|l| serde_json::json!({"kind": l.kind, "value": l.value, "position": l.position}))
                .collect();
            let shown = serde_json::json!({
                "id": id,
                "card": {
                    "name": card.display_name,
                    "email": card.email,
                    "jobTitle": card.job_title,
                    "company": card.company,
                    "department": card.department,
                    "phone": card.phone,
                    "location": card.location,
                    "photoUrl": card.photo_url,
                },
                "links": links,
            });
            println!("{}", serde_json::to_string_pretty(&shown)?);
        }
    }
    Ok(())
}

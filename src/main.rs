use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use scimd::admin;
use scimd::http::auth::AuthSettings;
use scimd::jobs::JobSettings;
use scimd::scim::activity::{Grouping, summarize};
use scimd::scim::ids::{MemberId, TokenId};
use scimd::scim::policy::{CardField, Deprovisioning, Policy, TeamRole};
use scimd::scim::time;
use scimd::startup::{Application, ServerConfig};
use scimd::store::db::{self, DbPool};
use scimd::store::members::{self, UnprovisionedMember};
use scimd::store::{self, subteams};
use serde_json::json;
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
    /// Inspect members and their cards; add members made outside SCIM.
    #[command(subcommand)]
    Member(MemberCommand),
    /// A tenant's SCIM groups and whether each is a subteam.
    #[command(subcommand)]
    Subteam(SubteamCommand),
    /// A tenant's provisioning policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// What the IdPs did: every SCIM write, or summaries per sync.
    Activity(ActivityArgs),
    /// A tenant's emails (invites, digests) and their delivery state.
    Outbox {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Print a member's card, links, roles and subteams as JSON.
    Show {
        #[arg(long)]
        tenant: String,
        /// The member's id.
        id: String,
    },
    /// Add a member the way the dashboard does (outside SCIM); prints its id.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// A link the card template puts on the card, as KIND=VALUE (repeatable).
        #[arg(long = "template-link", value_parser = parse_pair)]
        template_links: Vec<(String, String)>,
    },
}

#[derive(Subcommand)]
enum SubteamCommand {
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Switch {
    On,
    Off,
}

impl Switch {
    fn on(self) -> bool {
        matches!(self, Switch::On)
    }
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the policy as JSON.
    Show {
        #[arg(long)]
        tenant: String,
    },
    /// Change settings; what is not named stays as it is.
    Set(PolicySetArgs),
}

#[derive(clap::Args)]
struct PolicySetArgs {
    #[arg(long)]
    tenant: String,
    /// Apply a card field when a member is created: FIELD=on|off (repeatable).
    #[arg(long, value_parser = parse_field_switch)]
    sync: Vec<(CardField, bool)>,
    /// Apply a card field when a member is updated: FIELD=on|off (repeatable).
    #[arg(long, value_parser = parse_field_switch)]
    overwrite: Vec<(CardField, bool)>,
    /// What DELETE /Users does: deactivate (keep data) or delete (purge).
    #[arg(long)]
    deprovisioning: Option<Deprovisioning>,
    /// Email an invite to each newly created member.
    #[arg(long)]
    invites: Option<Switch>,
    /// Let SCIM roles grant team roles.
    #[arg(long)]
    admin_roles: Option<Switch>,
    /// Map a SCIM role value to team_admin or subteam_admin: VALUE=ROLE (repeatable).
    #[arg(long = "role", value_parser = parse_role)]
    roles: Vec<(String, TeamRole)>,
    /// Stop mapping a SCIM role value (repeatable).
    #[arg(long = "remove-role")]
    remove_roles: Vec<String>,
    /// Refuse Users without given and family name.
    #[arg(long)]
    require_names: Option<Switch>,
    /// Only groups with this display name or external id become subteams (repeatable).
    #[arg(long = "allow-group")]
    allow_groups: Vec<String>,
    /// Empty the group allowlist first (all groups become subteams).
    #[arg(long)]
    clear_group_allowlist: bool,
    /// Email a digest of additions and removals to this address (repeatable).
    #[arg(long = "admin-contact")]
    admin_contacts: Vec<String>,
    /// Remove every admin contact first.
    #[arg(long)]
    clear_admin_contacts: bool,
    /// Seconds of quiet after which a provisioning burst is digested.
    #[arg(long)]
    digest_quiet_secs: Option<u64>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ActivityFormat {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SummaryKind {
    /// One row per clock hour (UTC).
    Hourly,
    /// One row per run of consecutive requests.
    Runs,
}

#[derive(clap::Args)]
struct ActivityArgs {
    #[arg(long)]
    tenant: String,
    /// An RFC 3339 time, or an age such as 30m, 12h, 7d.
    #[arg(long)]
    since: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: ActivityFormat,
    /// Summarise instead of listing each write.
    #[arg(long, value_enum)]
    summary: Option<SummaryKind>,
    /// With `--summary runs`: minutes of quiet that end a run.
    #[arg(long, default_value_t = 10)]
    run_gap_mins: i64,
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
        Command::Subteam(command) => subteam(&cli.database_url, command),
        Command::Policy(command) => policy(&cli.database_url, command),
        Command::Activity(args) => activity(&cli.database_url, &args),
        Command::Outbox { tenant } => outbox(&cli.database_url, &tenant),
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
            let tenant_id = tenant.tenant_id();
            let member_id = MemberId::from_string(id.clone());
            let row = members::find_any(&tenant_id, conn, &member_id)?
                .with_context(|| format!("no member {id} in tenant {}", tenant.name))?;
            let (card, links) = members::card(&tenant_id, conn, &member_id)?.unwrap_or_default();
            let links: Vec<serde_json::Value> = links
                .iter()
                .map(|l| {
                    json!({"kind": l.kind, "value": l.value, "position": l.position,
                           "fromTemplate": l.from_template})
                })
                .collect();
            let subteams: Vec<String> = subteams::groups_of_member(&tenant_id, conn, &member_id)?
                .into_iter()
                .filter(|g| g.is_subteam)
                .map(|g| g.display_name)
                .collect();
            let shown = json!({
                "id": id,
                "userName": row.user_name,
                "provisioned": row.scim_resource.is_some(),
                "inTeam": row.active && row.deprovisioned_at.is_none(),
                "teamAdmin": row.team_admin,
                "subteamAdmin": row.subteam_admin,
                "subteams": subteams,
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
        MemberCommand::Add {
            tenant,
            email,
            name,
            template_links,
        } => {
            let tenant = admin::tenant_by_name(conn, &tenant)?;
            let id = admin::add_member(
                conn,
                &tenant,
                &UnprovisionedMember {
                    email: &email,
                    display_name: name.as_deref(),
                    template_links: &template_links,
                },
            )?;
            println!("{id}");
        }
    }
    Ok(())
}

fn subteam(database_url: &str, command: SubteamCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let SubteamCommand::List { tenant } = command;
    let tenant = admin::tenant_by_name(conn, &tenant)?;
    println!("id\tdisplay name\texternal id\tsubteam");
    for group in subteams::all(&tenant.tenant_id(), conn)? {
        println!(
            "{}\t{}\t{}\t{}",
            group.id,
            group.display_name,
            group.external_id.as_deref().unwrap_or("-"),
            if group.is_subteam {
                "yes"
            } else {
                "no (outside the allowlist)"
            },
        );
    }
    Ok(())
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    Ok((key.trim().to_owned(), value.trim().to_owned()))
}

fn parse_field_switch(text: &str) -> Result<(CardField, bool), String> {
    let (field, switch) = parse_pair(text)?;
    let on = match switch.to_ascii_lowercase().as_str() {
        "on" | "true" => true,
        "off" | "false" => false,
        other => return Err(format!("expected on or off, got {other:?}")),
    };
    Ok((field.parse()?, on))
}

fn parse_role(text: &str) -> Result<(String, TeamRole), String> {
    let (value, role) = parse_pair(text)?;
    Ok((value, role.parse()?))
}

/// Appends the values not already listed, so repeating a command changes nothing.
fn add_missing(list: &mut Vec<String>, values: Vec<String>) {
    for value in values {
        if !list.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
            list.push(value);
        }
    }
}

fn edit_policy(policy: &mut Policy, args: PolicySetArgs) {
    for (field, on) in args.sync {
        policy.fields.entry(field).or_default().sync = on;
    }
    for (field, on) in args.overwrite {
        policy.fields.entry(field).or_default().overwrite = on;
    }
    if let Some(mode) = args.deprovisioning {
        policy.deprovisioning = mode;
    }
    if let Some(switch) = args.invites {
        policy.invites = switch.on();
    }
    if let Some(switch) = args.admin_roles {
        policy.admin_roles = switch.on();
    }
    for value in args.remove_roles {
        policy
            .role_map
            .retain(|name, _| !name.eq_ignore_ascii_case(&value));
    }
    for (value, role) in args.roles {
        policy
            .role_map
            .retain(|name, _| !name.eq_ignore_ascii_case(&value));
        policy.role_map.insert(value, role);
    }
    if let Some(switch) = args.require_names {
        policy.require_names = switch.on();
    }
    if args.clear_group_allowlist {
        policy.group_allowlist.clear();
    }
    add_missing(&mut policy.group_allowlist, args.allow_groups);
    if args.clear_admin_contacts {
        policy.admin_contacts.clear();
    }
    add_missing(&mut policy.admin_contacts, args.admin_contacts);
    if let Some(secs) = args.digest_quiet_secs {
        policy.digest_quiet_secs = secs;
    }
}

fn policy(database_url: &str, command: PolicyCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let policy = match command {
        PolicyCommand::Show { tenant } => {
            let tenant = admin::tenant_by_name(conn, &tenant)?;
            admin::policy(conn, &tenant)?
        }
        PolicyCommand::Set(args) => {
            let tenant = admin::tenant_by_name(conn, &args.tenant)?;
            admin::set_policy(conn, &tenant, |policy| edit_policy(policy, args))?
        }
    };
    println!("{policy}");
    Ok(())
}

/// `--since`: an RFC 3339 time or an age (`30m`, `12h`, `7d`), in the stored format.
fn since(text: &str) -> anyhow::Result<String> {
    if let Some(at) = time::normalize(text) {
        return Ok(at);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number.parse().with_context(|| {
        format!("--since wants an RFC 3339 time or an age like 12h, not {text:?}")
    })?;
    let age = match unit {
        "m" => chrono::Duration::minutes(number),
        "h" => chrono::Duration::hours(number),
        "d" => chrono::Duration::days(number),
        _ => anyhow::bail!("--since ages end in m, h or d, not {text:?}"),
    };
    Ok(time::format(chrono::Utc::now() - age))
}

fn activity(database_url: &str, args: &ActivityArgs) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let tenant = admin::tenant_by_name(conn, &args.tenant)?;
    let since = args.since.as_deref().map(since).transpose()?;
    let events = store::activity::since(&tenant.tenant_id(), conn, since.as_deref())?;
    let rows: Vec<Vec<String>> = match args.summary {
        Some(kind) => {
            let grouping = match kind {
                SummaryKind::Hourly => Grouping::Hourly,
                SummaryKind::Runs => Grouping::Runs(chrono::Duration::minutes(args.run_gap_mins)),
            };
            let summaries = summarize(&events, grouping);
            if let ActivityFormat::Json = args.format {
                println!("{}", serde_json::to_string_pretty(&summaries)?);
                return Ok(());
            }
            std::iter::once(
                [
                    "start",
                    "end",
                    "created",
                    "updated",
                    "deactivated",
                    "deleted",
                    "failed",
                ]
                .map(str::to_owned)
                .to_vec(),
            )
            .chain(summaries.iter().map(|s| {
                vec![
                    s.start.clone(),
                    s.end.clone(),
                    s.created.to_string(),
                    s.updated.to_string(),
                    s.deactivated.to_string(),
                    s.deleted.to_string(),
                    s.failed.to_string(),
                ]
            }))
            .collect()
        }
        None => {
            if let ActivityFormat::Json = args.format {
                println!("{}", serde_json::to_string_pretty(&events)?);
                return Ok(());
            }
            let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            std::iter::once(
                [
                    "time",
                    "token",
                    "client",
                    "operation",
                    "type",
                    "id",
                    "name",
                    "fields",
                    "status",
                    "scimType",
                ]
                .map(str::to_owned)
                .to_vec(),
            )
            .chain(events.iter().map(|e| {
                vec![
                    e.occurred_at.clone(),
                    optional(&e.token_label),
                    e.client.clone(),
                    e.operation.clone(),
                    e.resource_type.clone(),
                    optional(&e.resource_id),
                    optional(&e.resource_name),
                    e.fields_changed.join(" "),
                    e.status.to_string(),
                    optional(&e.scim_type),
                ]
            }))
            .collect()
        }
    };
    match args.format {
        ActivityFormat::Csv => {
            let mut out = csv::Writer::from_writer(std::io::stdout());
            for row in rows {
                out.write_record(row)?;
            }
            out.flush()?;
        }
        _ => {
            for row in rows {
                println!("{}", row.join("\t"));
            }
        }
    }
    Ok(())
}

fn outbox(database_url: &str, tenant: &str) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let tenant = admin::tenant_by_name(conn, tenant)?;
    println!("kind\trecipient\tsubject\tattempts\tstate");
    for email in store::outbox::list(&tenant.tenant_id(), conn)? {
        let state = match (&email.sent_at, &email.failed_at) {
            (Some(at), _) => format!("sent {at}"),
            (None, Some(at)) => format!(
                "gave up {at}: {}",
                email.last_error.as_deref().unwrap_or("")
            ),
            (None, None) => match &email.last_error {
                Some(error) => format!("queued, last error: {error}"),
                None => "queued".to_owned(),
            },
        };
        println!(
            "{}\t{}\t{}\t{}\t{state}",
            email.kind, email.recipient, email.subject, email.attempts
        );
    }
    Ok(())
}

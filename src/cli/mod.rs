//! The `scimd` command line: one file per command group, each holding the
//! `clap` types beside the code that runs them. Commands call the same
//! operator functions (`scimd::admin`) and services the server uses.

mod account;
mod activity;
mod backup;
mod held;
mod member;
mod outbox;
mod policy;
mod serve;
mod subteam;
mod tenant;
mod token;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use scimd::store::StoreError;
use scimd::store::db::{self, DbPool, DbSettings};

/// `--allow-newer-schema`, set once from the command line for every
/// command's `open`.
static ALLOW_NEWER_SCHEMA: AtomicBool = AtomicBool::new(false);

#[derive(Parser)]
#[command(name = "scimd", version, about = "SCIM 2.0 provisioning server")]
struct Cli {
    /// SQLite file path (default) or postgres://… URL.
    #[arg(long, env = "DATABASE_URL", default_value = "scimd.db", global = true)]
    database_url: String,
    /// Run against a database a newer scimd has migrated (refused otherwise:
    /// this binary's queries may not fit its tables).
    #[arg(
        long,
        env = "SCIMD_ALLOW_NEWER_SCHEMA",
        global = true,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    allow_newer_schema: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve(Box<serve::ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants (teams).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Manage a tenant's API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Inspect members and their cards; add members made outside SCIM.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// A tenant's SCIM groups and whether each is a subteam.
    #[command(subcommand)]
    Subteam(subteam::SubteamCommand),
    /// A tenant's provisioning policy.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// What the IdPs did: every SCIM write, or summaries per sync.
    Activity(activity::ActivityArgs),
    /// A tenant's emails (invites, digests): their delivery state, retry, purge.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Removals held by a team's deprovisioning guard: list, approve, reject.
    Held(held::HeldArgs),
    /// A consistent copy of a live SQLite database, made while it serves.
    Backup(backup::BackupArgs),
    /// Console accounts: create, reset a password, disable, list.
    #[command(subcommand)]
    Account(account::AccountCommand),
}

/// `scimd --version`: the binary's version and the database schema it
/// migrates to (the newest embedded migration), e.g. to check an upgrade.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        format!(
            "{} (database schema {})",
            env!("CARGO_PKG_VERSION"),
            db::schema_version()
        )
    })
}

/// Parses the command line and runs the command. A failure is one line on
/// stderr (the error and its causes, `: `-separated) and exit status 1.
pub fn run() -> anyhow::Result<()> {
    // The schema version is known at run time only, so not in the derive.
    let command = Cli::command().version(version()).long_version(version());
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|error| error.exit());
    if let Err(error) = dispatch(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
    Ok(())
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url.as_str();
    ALLOW_NEWER_SCHEMA.store(cli.allow_newer_schema, Ordering::Relaxed);
    // Not a clap value parser: clap would repeat the URL, password included.
    db::check_url(url).map_err(|e| anyhow::anyhow!("--database-url: {e}"))?;
    // Only these may start a database; any other command on a missing file
    // would make an empty one and report nothing found.
    let may_create = matches!(
        cli.command,
        Command::Serve(_)
            | Command::Migrate
            | Command::Tenant(tenant::TenantCommand::Create { .. })
    );
    if !may_create
        && let Some(path) = db::sqlite_file(url)
        && !path.exists()
    {
        anyhow::bail!(
            "no database at {}: point --database-url (or DATABASE_URL) at the existing one \
             (`scimd serve`, `scimd migrate` or `scimd tenant create` make a new one)",
            path.display()
        );
    }
    match cli.command {
        Command::Serve(args) => serve::run(url, *args),
        Command::Migrate => {
            open(url)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Tenant(command) => tenant::run(url, command),
        Command::Token(command) => token::run(url, command),
        Command::Member(command) => member::run(url, command),
        Command::Subteam(command) => subteam::run(url, command),
        Command::Policy(command) => policy::run(url, command),
        Command::Activity(args) => activity::run(url, &args),
        Command::Outbox(command) => outbox::run(url, command),
        Command::Held(args) => held::run(url, args),
        Command::Backup(args) => backup::run(url, &args),
        Command::Account(command) => account::run(url, command),
    }
}

/// A small pool for a one-shot command (migrated first, as `serve` does).
/// What an upgrade renamed or changed is said here, once.
fn open(database_url: &str) -> anyhow::Result<DbPool> {
    // A one-shot command may run as long as its work does (deleting a
    // large team); only the server bounds its statements.
    let settings = DbSettings {
        pool_size: 2,
        statement_timeout: None,
        ..db_settings()
    };
    let pool = db::connect_with(database_url, &settings).map_err(database_error)?;
    for notice in db::take_upgrade_notices(&mut *pool.get()?)? {
        eprintln!("scimd: upgrade: {notice}");
    }
    Ok(pool)
}

/// The database settings every command shares.
fn db_settings() -> DbSettings {
    DbSettings {
        allow_newer_schema: ALLOW_NEWER_SCHEMA.load(Ordering::Relaxed),
        ..DbSettings::default()
    }
}

/// A database that cannot be reached says where it is set.
fn database_error(error: StoreError) -> anyhow::Error {
    match error {
        StoreError::Unavailable(_) => {
            anyhow::anyhow!("{error} (check --database-url or DATABASE_URL)")
        }
        other => other.into(),
    }
}

/// An `on`/`off` flag value.
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

/// `KEY=VALUE`, trimmed.
fn parse_pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    Ok((key.trim().to_owned(), value.trim().to_owned()))
}

/// An age such as `90m`, `12h` or `30d`.
fn parse_age(text: &str) -> Result<chrono::Duration, String> {
    let (number, unit) = text.trim().split_at(text.trim().len().saturating_sub(1));
    let number: i64 = number
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("expected an age like 90m, 12h or 30d, not {text:?}"))?;
    match unit {
        "m" => Ok(chrono::Duration::minutes(number)),
        "h" => Ok(chrono::Duration::hours(number)),
        "d" => Ok(chrono::Duration::days(number)),
        _ => Err(format!("an age ends in m, h or d, not {text:?}")),
    }
}

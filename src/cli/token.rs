//! `scimd token`: a team's API tokens.

use clap::Subcommand;
use scimd::admin;
use scimd::scim::token;

use super::open;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a token; it is printed once and stored only as a hash.
    Issue {
        #[arg(long)]
        tenant: String,
        /// Unique among the team's active tokens.
        #[arg(long, default_value = "default")]
        label: String,
    },
    /// The team's tokens: id, label, lookup prefix (the start of the token,
    /// to match a leaked token to its row), created, last used, revoked.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a token by its id, or by its label with --tenant.
    Revoke {
        id_or_label: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub fn run(database_url: &str, command: TokenCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    match command {
        TokenCommand::Issue { tenant, label } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            let (row, plaintext) = admin::issue_token(conn, &tenant, &label)?;
            eprintln!(
                "token {} ({label}) for tenant {}; it will not be shown again:",
                row.id, tenant.name
            );
            println!("{plaintext}");
        }
        TokenCommand::List { tenant } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            println!("id\tlabel\tprefix\tcreated\tlast used\trevoked");
            for row in scimd::store::tokens::list(&tenant.tenant_id(), conn)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    row.id,
                    row.label,
                    token::shown_prefix(&row.lookup_prefix),
                    row.created_at,
                    row.last_used_at.as_deref().unwrap_or("never"),
                    row.revoked_at.as_deref().unwrap_or("-"),
                );
            }
        }
        TokenCommand::Revoke {
            id_or_label,
            tenant,
        } => {
            let tenant = tenant.map(|t| admin::find_tenant(conn, &t)).transpose()?;
            let id = admin::revoke_token(conn, tenant.as_ref(), &id_or_label)?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}

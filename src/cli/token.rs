//! `scimd token`: a team's API tokens.

use clap::Subcommand;
use scimd::admin;
use scimd::scim::ids::TokenId;

use super::open;

#[derive(Subcommand)]
pub enum TokenCommand {
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

pub fn run(database_url: &str, command: TokenCommand) -> anyhow::Result<()> {
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

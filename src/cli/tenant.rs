//! `scimd tenant`: teams.

use clap::Subcommand;
use scimd::admin;

use super::open;

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a team; names are unique ignoring case.
    Create {
        name: String,
    },
    List,
    /// Rename a team (named by its current name or its id).
    Rename {
        tenant: String,
        new_name: String,
    },
    /// Delete a team and everything it owns: tokens, policy, members, cards,
    /// links, groups, memberships, activity log and queued emails.
    Delete {
        tenant: String,
        /// Required: confirms that all of the team's data goes for good.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(database_url: &str, command: TenantCommand) -> anyhow::Result<()> {
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
        TenantCommand::Rename { tenant, new_name } => {
            let row = admin::find_tenant(conn, &tenant)?;
            admin::rename_tenant(conn, &row, &new_name)?;
            println!(
                "renamed tenant {} ({}) to {}",
                row.name,
                row.id,
                new_name.trim()
            );
        }
        TenantCommand::Delete { tenant, yes } => {
            let row = admin::find_tenant(conn, &tenant)?;
            anyhow::ensure!(
                yes,
                "deleting tenant {} ({}) removes all of its data for good; add --yes to confirm",
                row.name,
                row.id
            );
            admin::delete_tenant(conn, &row)?;
            println!("deleted tenant {} ({})", row.name, row.id);
        }
    }
    Ok(())
}

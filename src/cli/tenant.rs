//! `scimd tenant`: teams.

use clap::Subcommand;
use scimd::admin;

use super::open;

#[derive(Subcommand)]
pub enum TenantCommand {
    Create { name: String },
    List,
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
    }
    Ok(())
}

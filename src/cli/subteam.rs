//! `scimd subteam`: a team's SCIM groups and which are subteams.

use clap::Subcommand;
use scimd::admin;
use scimd::store::subteams;

use super::open;

#[derive(Subcommand)]
pub enum SubteamCommand {
    List {
        #[arg(long)]
        tenant: String,
    },
}

pub fn run(database_url: &str, command: SubteamCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let SubteamCommand::List { tenant } = command;
    let tenant = admin::find_tenant(conn, &tenant)?;
    let counts = subteams::in_team_member_counts(&tenant.tenant_id(), conn)?;
    // members: those in the team (a suspended or unlisted user's membership is dormant).
    println!("id\tdisplay name\texternal id\tmembers\tsubteam");
    for group in subteams::all(&tenant.tenant_id(), conn)? {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            group.id,
            group.display_name,
            group.external_id.as_deref().unwrap_or("-"),
            if group.is_subteam {
                counts.get(&group.id).copied().unwrap_or(0).to_string()
            } else {
                "-".to_owned()
            },
            if group.is_subteam {
                "yes"
            } else {
                "no (outside the allowlist)"
            },
        );
    }
    Ok(())
}

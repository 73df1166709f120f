//! `scimd member`: members and their cards, and members made outside SCIM.

use anyhow::Context;
use clap::Subcommand;
use scimd::admin;
use scimd::scim::ids::MemberId;
use scimd::store::members::{self, UnprovisionedMember};
use scimd::store::subteams;
use serde_json::json;

use super::{open, parse_pair};

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Print a member's card, links, roles and subteams (active and dormant) as JSON.
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

pub fn run(database_url: &str, command: MemberCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    match command {
        MemberCommand::Show { tenant, id } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            let tenant_id = tenant.tenant_id();
            let member_id = MemberId::from_string(id.clone());
            let row = members::find_any(&tenant_id, conn, &member_id)?
                .with_context(|| format!("no member {id} in tenant {}", tenant.name))?;
            let (card, links) = members::card(&tenant_id, conn, &member_id)?.unwrap_or_default();
            let (shown_links, cleared_links): (Vec<_>, Vec<_>) =
                links.iter().partition(|l| l.is_shown());
            let shown_links: Vec<serde_json::Value> = shown_links
                .iter()
                .map(|l| {
                    json!({"kind": l.kind, "value": l.value, "position": l.position,
                           "fromTemplate": l.from_template})
                })
                .collect();
            // Template links whose value the IdP removed: kept in place for
            // the next value, not on the card meanwhile.
            let cleared_links: Vec<serde_json::Value> = cleared_links
                .iter()
                .map(|l| json!({"kind": l.kind, "position": l.position}))
                .collect();
            let subteams: Vec<String> = subteams::groups_of_member(&tenant_id, conn, &member_id)?
                .into_iter()
                .filter(|g| g.is_subteam)
                .map(|g| g.display_name)
                .collect();
            // Subteams count while the member is in the team; otherwise
            // they are dormant, kept as the IdP set them.
            let (subteams, dormant) = if row.in_team {
                (subteams, Vec::new())
            } else {
                (Vec::new(), subteams)
            };
            let shown = json!({
                "id": id,
                "userName": row.user_name,
                "provisioned": row.scim_resource.is_some(),
                "inTeam": row.in_team,
                "teamAdmin": row.team_admin,
                "subteamAdmin": row.subteam_admin,
                "subteams": subteams,
                "dormantSubteams": dormant,
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
                "links": shown_links,
                "clearedTemplateLinks": cleared_links,
            });
            println!("{}", serde_json::to_string_pretty(&shown)?);
        }
        MemberCommand::Add {
            tenant,
            email,
            name,
            template_links,
        } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
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

//! `scimd member`: members and their cards, and members made outside SCIM.

use clap::Subcommand;
use scimd::admin;
use scimd::store::members::{self, MemberFilter, UnprovisionedMember};
use scimd::store::subteams;
use serde_json::json;

use super::{open, parse_pair};

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Print a member's card, links, roles and subteams (active and dormant) as JSON.
    Show {
        #[arg(long)]
        tenant: String,
        /// The member's id, userName or email.
        member: String,
    },
    /// The team's members, a page at a time, in the order they were made.
    List {
        #[arg(long)]
        tenant: String,
        /// Only members with this email (ignoring case).
        #[arg(long, conflicts_with = "user_name")]
        email: Option<String>,
        /// Only the member with this userName (ignoring case).
        #[arg(long)]
        user_name: Option<String>,
        /// Page number, from 1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        per_page: u32,
    },
    /// Emails that more than one member has (from before duplicates were
    /// refused): reported to merge by hand, never merged here.
    Duplicates {
        #[arg(long)]
        tenant: String,
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
        MemberCommand::Show { tenant, member } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            let tenant_id = tenant.tenant_id();
            let row = admin::find_member(conn, &tenant, &member)?;
            let member_id = row.member_id();
            let id = row.id.clone();
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
        MemberCommand::List {
            tenant,
            email,
            user_name,
            page,
            per_page,
        } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            let filter = match (&email, &user_name) {
                (Some(email), _) => MemberFilter::Email(email),
                (None, Some(user_name)) => MemberFilter::UserName(user_name),
                (None, None) => MemberFilter::All,
            };
            let per_page = per_page as usize;
            let rows = members::list_page(
                &tenant.tenant_id(),
                conn,
                filter,
                (page as usize - 1) * per_page,
                per_page,
            )?;
            println!("id\tuserName\temail\tname\tin team\tprovisioned");
            for (row, card_email) in &rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    row.id,
                    row.user_name.as_deref().unwrap_or("-"),
                    card_email.as_deref().unwrap_or("-"),
                    row.display_name.as_deref().unwrap_or("-"),
                    if row.in_team { "yes" } else { "no" },
                    match (&row.scim_resource, &row.deprovisioned_at) {
                        (None, _) => "no (made outside SCIM)".to_owned(),
                        (Some(_), Some(at)) => format!("deleted by SCIM {at}"),
                        (Some(_), None) => "yes".to_owned(),
                    },
                );
            }
            if rows.len() == per_page {
                eprintln!("(more: --page {})", page + 1);
            }
        }
        MemberCommand::Duplicates { tenant } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            let shared = members::shared_emails(&tenant.tenant_id(), conn)?;
            if shared.is_empty() {
                println!("no email is shared by two members of {}", tenant.name);
            }
            for (email, ids) in shared {
                println!("{email}\t{}", ids.join(" "));
            }
        }
    }
    Ok(())
}

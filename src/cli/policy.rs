//! `scimd policy`: a team's provisioning policy.

use clap::Subcommand;
use scimd::admin;
use scimd::scim::card::email_address;
use scimd::scim::policy::{
    CardField, Deprovisioning, Policy, RemovalGuard, TeamRole, parse_removal_guard,
};

use super::{Switch, open, parse_pair};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Print the policy as JSON.
    Show {
        #[arg(long)]
        tenant: String,
    },
    /// Change settings; what is not named stays as it is.
    Set(Box<PolicySetArgs>),
}

#[derive(clap::Args)]
pub struct PolicySetArgs {
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
    /// Only users with this email as userName or primary email become members (repeatable).
    #[arg(long = "allow-user", value_parser = email_address)]
    allow_users: Vec<String>,
    /// Empty the user allowlist first (every user becomes a member).
    #[arg(long)]
    clear_user_allowlist: bool,
    /// Email a digest of additions and removals to this address (repeatable).
    #[arg(long = "admin-contact", value_parser = email_address)]
    admin_contacts: Vec<String>,
    /// Remove every admin contact first.
    #[arg(long)]
    clear_admin_contacts: bool,
    /// Send digests of additions and removals to the admin contacts and the team admins.
    #[arg(long)]
    digests: Option<Switch>,
    /// Hold removals beyond N members (or P% of the team) in one sync run: N, P% or off.
    #[arg(long, value_parser = parse_guard)]
    removal_guard: Option<GuardSetting>,
    /// Minutes without writes that end a sync run (for the removal guard and
    /// `scimd activity --summary runs`).
    #[arg(long)]
    run_gap_mins: Option<u64>,
    /// Seconds of quiet after which a provisioning burst is digested.
    #[arg(long)]
    digest_quiet_secs: Option<u64>,
}

/// `--removal-guard`: a guard, or none (`off`).
#[derive(Clone)]
struct GuardSetting(Option<RemovalGuard>);

fn parse_guard(text: &str) -> Result<GuardSetting, String> {
    parse_removal_guard(text).map(GuardSetting)
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
    if args.clear_user_allowlist {
        policy.user_allowlist.clear();
    }
    add_missing(&mut policy.user_allowlist, args.allow_users);
    if args.clear_admin_contacts {
        policy.admin_contacts.clear();
    }
    add_missing(&mut policy.admin_contacts, args.admin_contacts);
    if let Some(switch) = args.digests {
        policy.digests = switch.on();
    }
    if let Some(GuardSetting(guard)) = args.removal_guard {
        policy.removal_guard = guard;
    }
    if let Some(minutes) = args.run_gap_mins {
        policy.run_gap_mins = minutes;
    }
    if let Some(secs) = args.digest_quiet_secs {
        policy.digest_quiet_secs = secs;
    }
}

pub fn run(database_url: &str, command: PolicyCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let policy = match command {
        PolicyCommand::Show { tenant } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            admin::policy(conn, &tenant)?
        }
        PolicyCommand::Set(args) => {
            let tenant = admin::find_tenant(conn, &args.tenant)?;
            admin::set_policy(conn, &tenant, |policy| edit_policy(policy, *args))?
        }
    };
    println!("{policy}");
    Ok(())
}

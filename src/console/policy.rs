//! Policy: every provisioning setting in one form, a line under each saying
//! what it does. A change is previewed (what it will do to this team's
//! groups and members) before it can be saved.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Section, counted, csrf};
use super::{ConsoleError, ConsoleState, Form, Viewer, see_other};
use crate::admin;
use crate::scim::activity::changed_attributes;
use crate::scim::card::email_address;
use crate::scim::policy::{
    CardField, Deprovisioning, FieldRule, Policy, RemovalGuard, parse_removal_guard,
};
use crate::store::{members, subteams};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/policy", web::get().to(show))
        .route("/teams/{team}/policy", web::post().to(submit));
}

#[derive(Deserialize)]
struct Shown {
    saved: Option<String>,
}

async fn show(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    query: web::Query<Shown>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let for_read = team.clone();
    let policy = state
        .db
        .read(move |conn| Ok(admin::policy(conn, &for_read)?))
        .await?;
    let body = html! {
        h1 { "Policy" }
        @if query.saved.is_some() { p.panel.notice role="status" { "Saved. Every server applies it from its next SCIM request." } }
        (policy_form(&viewer, &team.id, &policy, None))
    };
    Ok(layout::team_page(&viewer, &team, Section::Policy, body))
}

/// What a policy change will do, worked out before it is saved.
struct Preview {
    settings: Vec<String>,
    groups_leaving: Vec<String>,
    groups_joining: Vec<String>,
    users_leaving: usize,
    users_joining: usize,
}

async fn submit(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let form = viewer.checked(form.into_inner())?;
    let for_read = team.clone();
    let current = state
        .db
        .read(move |conn| Ok(admin::policy(conn, &for_read)?))
        .await?;
    let edited = match edited_policy(&current, &form) {
        Ok(policy) => policy,
        Err(problem) => {
            let body = html! {
                h1 { "Policy" }
                p.panel.warning role="alert" { "Not saved: " (problem) }
                (policy_form(&viewer, &team.id, &current, None))
            };
            let mut response = layout::team_page(&viewer, &team, Section::Policy, body);
            *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    if form.get("action") == "save" {
        let actor = viewer.actor();
        let for_write = team.clone();
        state
            .db
            .write(move |conn| {
                Ok(admin::set_policy_as(conn, &for_write, &actor, |policy| {
                    *policy = edited
                })?)
            })
            .await?;
        return Ok(see_other(&format!("/teams/{}/policy?saved=1", team.id)));
    }
    let id = team.tenant_id();
    let (before, after) = (current.clone(), edited.clone());
    let preview = state
        .db
        .read(move |conn| {
            let mut preview = Preview {
                settings: changed_attributes(
                    &before.effective().to_value(),
                    &after.effective().to_value(),
                ),
                groups_leaving: Vec::new(),
                groups_joining: Vec::new(),
                users_leaving: 0,
                users_joining: 0,
            };
            for group in subteams::all(&id, conn)? {
                let was = before.allows_group(&group.display_name, group.external_id.as_deref());
                let will = after.allows_group(&group.display_name, group.external_id.as_deref());
                match (was, will) {
                    (true, false) => preview.groups_leaving.push(group.display_name),
                    (false, true) => preview.groups_joining.push(group.display_name),
                    _ => {}
                }
            }
            if before.user_allowlist != after.user_allowlist {
                for member in members::all_visible(&id, conn)? {
                    let Some(resource) = member
                        .scim_resource
                        .as_deref()
                        .and_then(|r| serde_json::from_str(r).ok())
                    else {
                        continue;
                    };
                    let (was, will) = (before.standing(&resource), after.standing(&resource));
                    match (was.in_team, will.in_team) {
                        (true, false) => preview.users_leaving += 1,
                        (false, true) => preview.users_joining += 1,
                        _ => {}
                    }
                }
            }
            Ok(preview)
        })
        .await?;
    let body = html! {
        h1 { "Policy: preview" }
        div.panel.notice role="status" {
            h2 { "What this change will do" }
            @if preview.settings.is_empty() {
                p { "Nothing: the settings are as they are now." }
            } @else {
                ul {
                    li { "Settings changed: " (preview.settings.join(", ")) }
                    @if !preview.groups_leaving.is_empty() {
                        li { strong { (counted(preview.groups_leaving.len(), "group", "groups")) " will stop being subteams" } ": " (preview.groups_leaving.join(", ")) }
                    }
                    @if !preview.groups_joining.is_empty() {
                        li { strong { (counted(preview.groups_joining.len(), "group", "groups")) " will become subteams" } ": " (preview.groups_joining.join(", ")) }
                    }
                    @if preview.users_leaving > 0 { li { strong { (counted(preview.users_leaving, "member", "members")) " will leave the team" } " (not on the new user allowlist)" } }
                    @if preview.users_joining > 0 { li { strong { (counted(preview.users_joining, "user", "users")) " will join the team" } } }
                    @if preview.groups_leaving.is_empty() && preview.groups_joining.is_empty() && preview.users_leaving == 0 && preview.users_joining == 0 {
                        li { "No group or member changes side now; the new settings apply to the next SCIM writes." }
                    }
                }
            }
        }
        (policy_form(&viewer, &team.id, &edited, Some(&preview)))
    };
    Ok(layout::team_page(&viewer, &team, Section::Policy, body))
}

fn guard_text(guard: Option<RemovalGuard>) -> String {
    match guard {
        None => "off".into(),
        Some(RemovalGuard::Count(n)) => n.to_string(),
        Some(RemovalGuard::Percent(p)) => format!("{p}%"),
    }
}

fn lines(values: &[String]) -> String {
    values.join("\n")
}

/// The form, filled with `policy`. Without a preview it offers "Preview";
/// with one, "Save".
fn policy_form(
    viewer: &Viewer,
    team_id: &str,
    policy: &Policy,
    preview: Option<&Preview>,
) -> Markup {
    let roles: Vec<String> = policy
        .role_map
        .iter()
        .map(|(value, role)| {
            let role = match role {
                crate::scim::policy::TeamRole::TeamAdmin => "team_admin",
                crate::scim::policy::TeamRole::SubteamAdmin => "subteam_admin",
            };
            format!("{value}={role}")
        })
        .collect();
    html! {
        form method="post" action={ "/teams/" (team_id) "/policy" } {
            (csrf(viewer))
            fieldset.panel {
                legend { "Card fields" }
                p.help { "Whether the IdP's value reaches the card when a member is created, and when an existing member is updated (off keeps what the member typed)." }
                table {
                    thead { tr { th scope="col" { "Field" } th scope="col" { "On create" } th scope="col" { "On update" } } }
                    tbody {
                        @for field in CardField::ALL {
                            @let rule = policy.rule(field);
                            tr {
                                td { (field.name()) }
                                td { input type="checkbox" name="sync" value=(field.name()) checked[rule.sync] aria-label={ (field.name()) " on create" }; }
                                td { input type="checkbox" name="overwrite" value=(field.name()) checked[rule.overwrite] aria-label={ (field.name()) " on update" }; }
                            }
                        }
                    }
                }
            }
            fieldset.panel {
                legend { "Members" }
                label for="deprovisioning" { "When the IdP deletes a user"
                    span.help { "deactivate: out of the team and its subteams, data kept, can come back; delete: member, card and links purged for good." } }
                select id="deprovisioning" name="deprovisioning" {
                    option value="deactivate" selected[policy.deprovisioning == Deprovisioning::Deactivate] { "deactivate" }
                    option value="delete" selected[policy.deprovisioning == Deprovisioning::Delete] { "delete" }
                }
                (checkbox("invites", "Email an invite to each new member", "A member created by SCIM gets an email inviting them to their card.", policy.invites))
                (checkbox("require_names", "Require given and family name", "Refuse SCIM users without name.givenName and name.familyName (400).", policy.require_names))
                label for="user_allowlist" { "User allowlist"
                    span.help { "One email per line. When set, only users with one of these as userName or primary email join the team; empty: every user." } }
                textarea id="user_allowlist" name="user_allowlist" { (lines(&policy.user_allowlist)) }
                label for="removal_guard" { "Removal guard"
                    span.help { "Hold removals beyond this many in one sync run for an admin: a number (50), a percentage of the team (10%), or off." } }
                input id="removal_guard" type="text" name="removal_guard" value=(guard_text(policy.removal_guard));
                label for="run_gap_mins" { "Run gap (minutes)"
                    span.help { "Minutes without writes that end a sync run, for the guard and the runs on the overview." } }
                input id="run_gap_mins" type="number" min="1" name="run_gap_mins" value=(policy.run_gap_mins);
            }
            fieldset.panel {
                legend { "Groups and roles" }
                label for="group_allowlist" { "Group allowlist"
                    span.help { "One display name or external id per line. When set, only these groups are subteams; empty: every group is." } }
                textarea id="group_allowlist" name="group_allowlist" { (lines(&policy.group_allowlist)) }
                (checkbox("admin_roles", "Let SCIM roles grant team roles", "A user's roles values map to team_admin or subteam_admin as listed below.", policy.admin_roles))
                label for="roles" { "Role map" span.help { "One VALUE=ROLE per line; ROLE is team_admin or subteam_admin." } }
                textarea id="roles" name="roles" { (lines(&roles)) }
            }
            fieldset.panel {
                legend { "Notifications" }
                (checkbox("digests", "Send digests", "Email who joined and left the team after each burst of provisioning, to the contacts below and the team admins.", policy.digests))
                label for="admin_contacts" { "Admin contacts" span.help { "One email per line: digests and held-removal alerts go here." } }
                textarea id="admin_contacts" name="admin_contacts" { (lines(&policy.admin_contacts)) }
                label for="digest_quiet_secs" { "Digest quiet time (seconds)"
                    span.help { "A burst is digested after this long without writes." } }
                input id="digest_quiet_secs" type="number" min="0" name="digest_quiet_secs" value=(policy.digest_quiet_secs);
            }
            p {
                @if preview.is_some() {
                    button type="submit" name="action" value="save" { "Save these changes" } " "
                    button.secondary type="submit" name="action" value="preview" { "Preview again" } " "
                    a href={ "/teams/" (team_id) "/policy" } { "Discard" }
                } @else {
                    button type="submit" name="action" value="preview" { "Preview changes" }
                }
            }
        }
    }
}

fn checkbox(name: &str, label: &str, help: &str, checked: bool) -> Markup {
    html! {
        label {
            input type="checkbox" name=(name) value="on" checked[checked];
            " " (label)
            span.help { (help) }
        }
    }
}

fn list_field(form: &Form, name: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for line in form
        .get(name)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if !values.iter().any(|v| v.eq_ignore_ascii_case(line)) {
            values.push(line.to_owned());
        }
    }
    values
}

/// The policy the form describes; every setting is in the form, so what
/// it leaves out (an unchecked box) is off.
fn edited_policy(current: &Policy, form: &Form) -> Result<Policy, String> {
    let mut policy = current.clone();
    let sync = form.all("sync");
    let overwrite = form.all("overwrite");
    for field in CardField::ALL {
        policy.fields.insert(
            field,
            FieldRule {
                sync: sync.contains(&field.name()),
                overwrite: overwrite.contains(&field.name()),
            },
        );
    }
    policy.deprovisioning = form.get("deprovisioning").parse()?;
    policy.invites = form.has("invites");
    policy.require_names = form.has("require_names");
    policy.admin_roles = form.has("admin_roles");
    policy.digests = form.has("digests");
    policy.user_allowlist = list_field(form, "user_allowlist")
        .iter()
        .map(|e| email_address(e))
        .collect::<Result<_, _>>()?;
    policy.admin_contacts = list_field(form, "admin_contacts")
        .iter()
        .map(|e| email_address(e))
        .collect::<Result<_, _>>()?;
    policy.group_allowlist = list_field(form, "group_allowlist");
    policy.role_map.clear();
    for line in list_field(form, "roles") {
        let (value, role) = line
            .split_once('=')
            .ok_or_else(|| format!("a role line is VALUE=ROLE, not {line:?}"))?;
        policy
            .role_map
            .insert(value.trim().to_owned(), role.parse()?);
    }
    policy.removal_guard = parse_removal_guard(form.get("removal_guard"))?;
    policy.run_gap_mins = form
        .get("run_gap_mins")
        .parse()
        .ok()
        .filter(|m| *m >= 1)
        .ok_or("the run gap is a whole number of minutes, at least 1")?;
    policy.digest_quiet_secs = form
        .get("digest_quiet_secs")
        .parse()
        .map_err(|_| "the digest quiet time is a whole number of seconds")?;
    // Field rules equal to the default stay implicit, as the CLI leaves them.
    policy
        .fields
        .retain(|_, rule| *rule != FieldRule::default());
    Ok(policy)
}

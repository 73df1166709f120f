//! Teams (operators only): every team at a glance, with a red mark on those
//! that need a look.

use actix_web::{HttpResponse, web};
use maud::html;

use super::layout::{self, when};
use super::{ConsoleError, ConsoleState, Viewer, see_other};
use crate::scim::ScimError;
use crate::scim::activity::{Client, Grouping, LoggedEvent, SyncSummary, summarize};
use crate::scim::time;
use crate::service;
use crate::store::db::DbConnection;
use crate::store::tenants::{self, TenantRow};
use crate::store::{activity, members, subteams, tokens};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams", web::get().to(list));
}

/// A token unused this long gets the team a red mark.
const UNUSED_TOKEN_DAYS: i64 = 30;

/// One team's line.
pub struct TeamFacts {
    pub team: TenantRow,
    pub members: i64,
    pub subteams: usize,
    pub active_tokens: usize,
    /// Active tokens unused (or never used) for `UNUSED_TOKEN_DAYS`.
    pub idle_tokens: usize,
    pub failures_24h: i64,
}

impl TeamFacts {
    pub fn needs_a_look(&self) -> bool {
        self.failures_24h > 0 || self.idle_tokens > 0
    }
}

/// What the teams page and the overview say about a team.
pub fn facts(conn: &mut DbConnection, team: TenantRow) -> Result<TeamFacts, ScimError> {
    let id = team.tenant_id();
    let now = chrono::Utc::now();
    let day_ago = time::format(now - chrono::Duration::hours(24));
    let idle_before = time::format(now - chrono::Duration::days(UNUSED_TOKEN_DAYS));
    let tokens: Vec<_> = tokens::list(&id, conn)?
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .collect();
    let idle_tokens = tokens
        .iter()
        .filter(|t| t.last_used_at.as_deref().unwrap_or(&t.created_at) < idle_before.as_str())
        .count();
    Ok(TeamFacts {
        members: members::in_team_count(&id, conn)?,
        subteams: subteams::all(&id, conn)?
            .iter()
            .filter(|g| g.is_subteam)
            .count(),
        active_tokens: tokens.len(),
        idle_tokens,
        failures_24h: activity::failures_since(&id, conn, &day_ago)?,
        team,
    })
}

/// The sync runs of the team's IdP among `events` (time order), oldest
/// first: changes made in the console are not a sync.
pub fn idp_runs(events: Vec<LoggedEvent>, gap_mins: u64) -> Vec<SyncSummary> {
    let idp: Vec<LoggedEvent> = events
        .into_iter()
        .filter(|e| e.client != Client::Console.as_str())
        .collect();
    let gap = chrono::Duration::minutes(i64::try_from(gap_mins).unwrap_or(10));
    summarize(&idp, Grouping::Runs(gap))
}

/// The team's latest sync run by its IdP within the last 30 days.
fn last_run(conn: &mut DbConnection, team: &TenantRow) -> Result<Option<SyncSummary>, ScimError> {
    let id = team.tenant_id();
    let since = time::format(chrono::Utc::now() - chrono::Duration::days(30));
    let events = activity::since(&id, conn, Some(&since))?;
    let (policy, _) = service::policy::load(&id, conn)?;
    Ok(idp_runs(events, policy.run_gap_mins).pop())
}

/// Writes, failed ones included, of a run.
pub fn run_total(run: &SyncSummary) -> usize {
    run.users_created
        + run.users_adopted
        + run.users_updated
        + run.users_deactivated
        + run.users_reactivated
        + run.users_deleted
        + run.users_held
        + run.groups_created
        + run.groups_updated
        + run.groups_deleted
        + run.failed
}

async fn list(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    if let Some(own) = &viewer.account.tenant_id {
        return Ok(see_other(&format!("/teams/{own}")));
    }
    let teams = state
        .db
        .read(|conn| {
            tenants::list(conn)?
                .into_iter()
                .map(|team| Ok((last_run(conn, &team)?, facts(conn, team)?)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let flagged = teams.iter().filter(|(_, t)| t.needs_a_look()).count();
    Ok(layout::page(
        &viewer,
        "Teams",
        html! {
            h1 { "Teams" }
            p.muted {
                (teams.len()) " teams; "
                @if flagged == 0 { "none needs a look." }
                @else { span.bad { (flagged) " marked" } ": failed writes in the last 24 hours or a token unused for " (UNUSED_TOKEN_DAYS) " days." }
            }
            table {
                thead { tr {
                    th scope="col" { "Team" }
                    th.num scope="col" { "Members" }
                    th.num scope="col" { "Subteams" }
                    th.num scope="col" { "Tokens" }
                    th scope="col" { "Last sync run" }
                    th.num scope="col" { "Failed (24 h)" }
                } }
                tbody {
                    @for (last_run, facts) in &teams {
                        tr.flagged[facts.needs_a_look()] {
                            td {
                                a href={ "/teams/" (facts.team.id) } { (facts.team.name) }
                                @if facts.failures_24h > 0 { span.mark { "failures" } }
                                @if facts.idle_tokens > 0 { span.mark { "token unused " (UNUSED_TOKEN_DAYS) "+ days" } }
                            }
                            td.num { (facts.members) }
                            td.num { (facts.subteams) }
                            td.num { (facts.active_tokens) }
                            td {
                                @match last_run {
                                    None => span.muted { "none in 30 days" },
                                    Some(run) => {
                                        (when(&run.end)) " · " (run.clients.join(", ")) " · "
                                        (run_total(run)) " writes"
                                        @if run.failed > 0 { ", " span.bad { (run.failed) " failed" } }
                                    }
                                }
                            }
                            td.num.bad[facts.failures_24h > 0] { (facts.failures_24h) }
                        }
                    }
                }
            }
        },
    ))
}

//! Subteams: each SCIM group, whether the allowlist makes it a subteam,
//! and how many members of the team are in it.

use actix_web::{HttpResponse, web};
use maud::html;

use super::layout::{self, Section};
use super::{ConsoleError, ConsoleState, Viewer};
use crate::store::subteams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/subteams", web::get().to(list));
}

async fn list(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let id = team.tenant_id();
    let (groups, counts) = state
        .db
        .read(move |conn| {
            Ok((
                subteams::all(&id, conn)?,
                subteams::in_team_member_counts(&id, conn)?,
            ))
        })
        .await?;
    let body = html! {
        h1 { "Subteams" }
        p.muted { "Every group the IdP pushed. A group is a subteam when the policy's group allowlist is empty or names it; members are those in the team." }
        @if groups.is_empty() { p.panel.notice { "The IdP has pushed no groups yet." } }
        @else {
            table {
                thead { tr {
                    th scope="col" { "Group" }
                    th scope="col" { "External id" }
                    th scope="col" { "Subteam" }
                    th.num scope="col" { "Members" }
                } }
                tbody {
                    @for group in &groups {
                        tr {
                            td { (group.display_name) }
                            td { (group.external_id.as_deref().unwrap_or("-")) }
                            td { @if group.is_subteam { "yes" } @else { span.muted { "no (outside the allowlist)" } } }
                            td.num { (counts.get(&group.id).copied().unwrap_or(0)) }
                        }
                    }
                }
            }
        }
        p { a href={ "/teams/" (team.id) "/members" } { "Find members by subteam" } }
    };
    Ok(layout::team_page(&viewer, &team, Section::Subteams, body))
}

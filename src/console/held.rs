//! Held removals: what the mass-deprovisioning guard kept from the member
//! side, to approve or reject, one by one or all at once.

use actix_web::{HttpResponse, web};
use maud::html;

use super::layout::{self, Section, csrf, when};
use super::{ConsoleError, ConsoleState, Viewer, see_other};
use crate::admin;
use crate::scim::policy::{Deprovisioning, RemovalGuard};
use crate::service::guard::Decision;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/held", web::get().to(list))
        .route("/teams/{team}/held", web::post().to(decide));
}

async fn list(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let for_read = team.clone();
    let (held, policy) = state
        .db
        .read(move |conn| {
            let held = admin::held_removals(conn, &for_read)?;
            let policy = admin::policy(conn, &for_read)?;
            Ok((held, policy))
        })
        .await?;
    let action = format!("/teams/{}/held", team.id);
    let body = html! {
        h1 { "Held removals" }
        p.muted {
            "The deprovisioning guard is "
            @match &policy.removal_guard {
                Some(RemovalGuard::Count(n)) => { strong { "on: at most " (n) @if *n == 1 { " removal" } @else { " removals" } " per sync run" } },
                Some(RemovalGuard::Percent(p)) => { strong { "on: at most " (p) "% of the team per sync run" } },
                None => { strong { "off" } },
            }
            ". The IdP already sees these removals as done; the members keep their cards until you decide. "
            "Approving applies the removal (the policy says " @if policy.deprovisioning == Deprovisioning::Delete { "delete" } @else { "deactivate" } "); rejecting keeps the member."
        }
        @if held.is_empty() {
            p.panel.notice { "Nothing is held." }
        } @else {
            form method="post" action=(action) {
                (csrf(&viewer))
                table {
                    thead { tr {
                        th scope="col" { span.visually-hidden { "Choose" } }
                        th scope="col" { "userName" }
                        th scope="col" { "Removal" }
                        th scope="col" { "Held at" }
                        th scope="col" { "Run began" }
                    } }
                    tbody {
                        @for removal in &held {
                            tr {
                                td { input type="checkbox" name="id" value=(removal.id) id={ "held-" (removal.id) } aria-label={ "Choose " (removal.user_name.as_deref().unwrap_or("member")) }; }
                                td { label for={ "held-" (removal.id) } { (removal.user_name.as_deref().unwrap_or("-")) } }
                                td { (removal.kind.as_str()) }
                                td { (when(&removal.held_at)) }
                                td { (when(&removal.run_started_at)) }
                            }
                        }
                    }
                }
                p {
                    button type="submit" name="decision" value="approve" { "Approve chosen" } " "
                    button.secondary type="submit" name="decision" value="reject" { "Reject chosen" } " "
                    button.secondary type="submit" name="decision" value="approve-all" { "Approve all " (held.len()) } " "
                    button.secondary type="submit" name="decision" value="reject-all" { "Reject all " (held.len()) }
                }
            }
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Held, body))
}

async fn decide(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let form = viewer.checked(form.into_inner())?;
    let (decision, all) = match form.get("decision") {
        "approve" => (Decision::Approve, false),
        "reject" => (Decision::Reject, false),
        "approve-all" => (Decision::Approve, true),
        "reject-all" => (Decision::Reject, true),
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "unknown decision {other:?}"
            )));
        }
    };
    let ids = form
        .all("id")
        .into_iter()
        .map(|id| {
            id.parse::<i64>()
                .map_err(|_| ConsoleError::BadRequest(format!("{id:?} is not a held removal")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !all && ids.is_empty() {
        return Err(ConsoleError::BadRequest(
            "choose at least one held removal".into(),
        ));
    }
    let actor = viewer.actor();
    let for_write = team.clone();
    state
        .db
        .write(move |conn| {
            let chosen = (!all).then_some(ids.as_slice());
            Ok(admin::decide_held_as(
                conn, &for_write, chosen, decision, &actor,
            )?)
        })
        .await?;
    Ok(see_other(&format!("/teams/{}/held", team.id)))
}

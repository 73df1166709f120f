//! Failures: the team's failed SCIM writes, grouped by error so forty of
//! the same refusal read as one line, each group opening to its writes.

use actix_web::{HttpResponse, web};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Section, when};
use super::{ConsoleError, ConsoleState, Viewer};
use crate::scim::activity::LoggedEvent;
use crate::scim::time;
use crate::store::activity;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/failures", web::get().to(failures));
}

#[derive(Deserialize)]
struct Window {
    since: Option<String>,
    until: Option<String>,
}

/// Without a window: the last 90 days (what the activity log keeps).
const DEFAULT_DAYS: i64 = 90;

/// Failed writes that read as the same error.
struct Group<'a> {
    status: i32,
    scim_type: Option<&'a str>,
    client: &'a str,
    operation: &'a str,
    resource_type: &'a str,
    detail: Option<&'a str>,
    events: Vec<&'a LoggedEvent>,
}

fn group(failed: &[LoggedEvent]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for event in failed {
        let same = groups.iter_mut().find(|g| {
            g.status == event.status
                && g.scim_type == event.scim_type.as_deref()
                && g.client == event.client
                && g.operation == event.operation
                && g.resource_type == event.resource_type
                && g.detail == event.detail.as_deref()
        });
        match same {
            Some(group) => group.events.push(event),
            None => groups.push(Group {
                status: event.status,
                scim_type: event.scim_type.as_deref(),
                client: &event.client,
                operation: &event.operation,
                resource_type: &event.resource_type,
                detail: event.detail.as_deref(),
                events: vec![event],
            }),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.events.len()));
    groups
}

async fn failures(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    query: web::Query<Window>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let parse = |text: &Option<String>| text.as_deref().and_then(time::normalize);
    let since = parse(&query.since)
        .unwrap_or_else(|| time::format(chrono::Utc::now() - chrono::Duration::days(DEFAULT_DAYS)));
    let until = parse(&query.until);
    let id = team.tenant_id();
    let (from, to) = (since.clone(), until.clone());
    let failed: Vec<LoggedEvent> = state
        .db
        .read(move |conn| Ok(activity::window(&id, conn, Some(&from), to.as_deref())?))
        .await?
        .into_iter()
        .filter(|e| !e.succeeded())
        .rev()
        .collect();
    let groups = group(&failed);
    let body = html! {
        h1 { "Failures" }
        p.muted {
            "Failed SCIM writes from " (when(&since))
            @if let Some(until) = &until { " to " (when(until)) } @else { " until now" }
            ", grouped by error, most frequent first."
            @if query.since.is_some() { " " a href={ "/teams/" (team.id) "/failures" } { "Show the last " (DEFAULT_DAYS) " days" } }
        }
        @if groups.is_empty() {
            p.panel.notice { "No failed writes in this window." }
        }
        @for group in &groups {
            details.panel {
                summary {
                    strong.bad { (group.status) @if let Some(t) = group.scim_type { " " (t) } }
                    " × " (group.events.len()) " from " (group.client) " · "
                    (group.operation) " " (group.resource_type)
                    @if let Some(detail) = group.detail { " · " (detail) }
                }
                table {
                    thead { tr {
                        th scope="col" { "Time" }
                        th scope="col" { "Client" }
                        th scope="col" { "Operation" }
                        th scope="col" { "Resource" }
                        th.num scope="col" { "Status" }
                        th scope="col" { "scimType" }
                        th scope="col" { "Detail" }
                    } }
                    tbody {
                        @for event in &group.events {
                            tr {
                                td { (when(&event.occurred_at)) }
                                td { (event.client) @if let Some(label) = &event.token_label { span.muted { " (" (label) ")" } } }
                                td { (event.operation) }
                                td {
                                    (event.resource_type) " "
                                    (event.resource_name.as_deref().or(event.resource_id.as_deref()).unwrap_or("-"))
                                }
                                td.num { (event.status) }
                                td { (event.scim_type.as_deref().unwrap_or("-")) }
                                td { (event.detail.as_deref().unwrap_or("-")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Failures, body))
}

//! Failures: the team's failed SCIM writes, grouped by error so forty of
//! the same refusal read as one line, each group opening to its writes;
//! and its failed reads, counted per hour and error.

use actix_web::{HttpResponse, web};
use maud::html;

use super::layout::{self, Section, when};
use super::overview::Window;
use super::{ConsoleError, ConsoleState, Viewer};
use crate::scim::activity::LoggedEvent;
use crate::scim::time;
use crate::store::activity;
use crate::store::failed_reads::{self, FailedReads};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/failures", web::get().to(failures));
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

/// Failed reads of one kind across the window's hours.
struct ReadGroup {
    client: String,
    route: String,
    status: i32,
    scim_type: String,
    detail: String,
    count: i64,
    first_hour: String,
    last_hour: String,
}

/// Hourly lines (newest first) summed per kind of error, most frequent first.
fn read_groups(lines: Vec<FailedReads>, until: Option<&str>) -> Vec<ReadGroup> {
    let mut groups: Vec<ReadGroup> = Vec::new();
    for line in lines {
        if until.is_some_and(|until| line.hour.as_str() > until) {
            continue;
        }
        let same = groups.iter_mut().find(|g| {
            g.client == line.client
                && g.route == line.route
                && g.status == line.status
                && g.scim_type == line.scim_type
                && g.detail == line.detail
        });
        match same {
            Some(group) => {
                group.count += line.count;
                group.first_hour = line.hour;
            }
            None => groups.push(ReadGroup {
                first_hour: line.hour.clone(),
                last_hour: line.hour,
                client: line.client,
                route: line.route,
                status: line.status,
                scim_type: line.scim_type,
                detail: line.detail,
                count: line.count,
            }),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

async fn failures(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    query: web::Query<Window>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let (since, until) = query.parsed()?;
    let since = since
        .unwrap_or_else(|| time::format(chrono::Utc::now() - chrono::Duration::days(DEFAULT_DAYS)));
    let id = team.tenant_id();
    let (from, to) = (since.clone(), until.clone());
    let (failed, reads) = state
        .db
        .read(move |conn| {
            let failed = activity::failed_in_window(&id, conn, Some(&from), to.as_deref())?;
            // Counted per hour: the window's first hour counts whole.
            let from_hour = format!("{}:00:00Z", from.get(..13).unwrap_or(&from));
            let reads = failed_reads::since(&id, conn, &from_hour)?;
            Ok((failed, reads))
        })
        .await?;
    // Newest first.
    let failed: Vec<LoggedEvent> = failed.into_iter().rev().collect();
    let groups = group(&failed);
    let reads = read_groups(reads, until.as_deref());
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
        h2 { "Failed reads" }
        p.muted { "Lookups and searches the server refused (a filter it cannot parse, an unknown id), counted per hour rather than one by one." }
        @if reads.is_empty() {
            p.panel.notice { "No failed reads in this window." }
        } @else {
            table {
                thead { tr {
                    th.num scope="col" { "Count" }
                    th scope="col" { "Client" }
                    th scope="col" { "Request" }
                    th.num scope="col" { "Status" }
                    th scope="col" { "scimType" }
                    th scope="col" { "Detail" }
                    th scope="col" { "Hours (UTC)" }
                } }
                tbody {
                    @for read in &reads {
                        tr {
                            td.num.bad { (read.count) }
                            td { (read.client) }
                            td { code { (read.route) } }
                            td.num { (read.status) }
                            td { @if read.scim_type.is_empty() { "-" } @else { (read.scim_type) } }
                            td { (read.detail) }
                            td { (when(&read.first_hour)) @if read.last_hour != read.first_hour { " to " (when(&read.last_hour)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Failures, body))
}

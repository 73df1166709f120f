//! A team's overview: what its IdP did over time (the chart), its sync
//! runs with their counts, and each run's CSV.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Duration;
use maud::html;
use serde::Deserialize;

use super::chart::{self, Buckets};
use super::layout::{self, Section, counted, when};
use super::teams::{facts, idp_runs, run_total};
use super::{ConsoleError, ConsoleState, Viewer};
use crate::scim::activity::{LoggedEvent, write_csv};
use crate::scim::time;
use crate::store::{activity, holds};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}", web::get().to(overview))
        .route("/teams/{team}/activity.csv", web::get().to(csv));
}

#[derive(Deserialize)]
struct Range {
    /// `48h` (per hour, the default) or `90d` (per day).
    range: Option<String>,
}

/// Sync runs listed on the page, newest first.
const RUNS_SHOWN: usize = 20;

async fn overview(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    query: web::Query<Range>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let hourly = query.range.as_deref() != Some("90d");
    let (step, bars) = if hourly {
        (Duration::hours(1), 48)
    } else {
        (Duration::days(1), 90)
    };
    let for_facts = team.clone();
    let (facts, buckets, runs, held) = state
        .db
        .read(move |conn| {
            let id = for_facts.tenant_id();
            let mut buckets = Buckets::ending_now(step, bars);
            // Runs of the last 90 days; the chart needs its own window only.
            let since = time::format(chrono::Utc::now() - Duration::days(90));
            let events = activity::since(&id, conn, Some(&since))?;
            for event in &events {
                buckets.add(event);
            }
            let facts = facts(conn, for_facts)?;
            let (policy, _) = crate::service::policy::load(&id, conn)?;
            let mut runs = idp_runs(events, policy.run_gap_mins);
            runs.reverse();
            runs.truncate(RUNS_SHOWN);
            let held = holds::open(&id, conn)?.len();
            Ok((facts, buckets, runs, held))
        })
        .await?;
    let base = format!("/teams/{}", team.id);
    let failures_href = |from: &str, to: &str| {
        format!(
            "{base}/failures?since={}&until={}",
            urlencode(from),
            urlencode(to)
        )
    };
    let body = html! {
        h1 { "Overview" }
        div.stats {
            div { strong { (facts.members) } "members" }
            div { strong { (facts.subteams) } "subteams" }
            div { strong { (facts.active_tokens) } "active tokens" }
            div {
                strong.bad[facts.failures_24h > 0] { (facts.failures_24h) }
                a href={ (base) "/failures" } { "failed in 24 h" }
            }
        }
        @if held > 0 {
            p.panel.warning { (counted(held, "removal is", "removals are")) " held by the deprovisioning guard. "
                a href={ (base) "/held" } { "Review them" } }
        }
        @if facts.idle_tokens > 0 {
            p.panel.warning { (counted(facts.idle_tokens, "active token has", "active tokens have")) " not been used for 30 days. "
                a href={ (base) "/tokens" } { "Review tokens" } }
        }
        h2 { "What the IdP did" }
        p {
            @if hourly {
                strong { "Per hour, last 48 hours" } " · " a href={ (base) "?range=90d" } { "per day, last 90 days" }
            } @else {
                a href=(base) { "per hour, last 48 hours" } " · " strong { "Per day, last 90 days" }
            }
        }
        (chart::render(&buckets, hourly, failures_href))
        h2 { "Sync runs" }
        @if runs.is_empty() {
            p.muted { "No sync run in the last 90 days. " a href={ (base) "/connect" } { "Connect your IdP" } }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Started" }
                    th scope="col" { "Ended" }
                    th scope="col" { "Client" }
                    th.num scope="col" { "Created" }
                    th.num scope="col" { "Updated" }
                    th.num scope="col" { "Deactivated" }
                    th.num scope="col" { "Deleted" }
                    th.num scope="col" { "Held" }
                    th.num scope="col" { "Groups" }
                    th.num scope="col" { "Failed" }
                    th scope="col" { "Log" }
                } }
                tbody {
                    @for run in &runs {
                        tr.flagged[run.failed > 0] {
                            td { (when(&run.start)) }
                            td { (when(&run.end)) }
                            td { (run.clients.join(", ")) }
                            td.num { (run.users_created + run.users_adopted) }
                            td.num { (run.users_updated + run.users_reactivated) }
                            td.num { (run.users_deactivated) }
                            td.num { (run.users_deleted) }
                            td.num { (run.users_held) }
                            td.num { (run.groups_created + run.groups_updated + run.groups_deleted) }
                            td.num {
                                @if run.failed > 0 {
                                    a.bad href=(failures_href(&run.start, &run.end)) { (run.failed) }
                                } @else { "0" }
                            }
                            td.nowrap {
                                a href={ (base) "/activity.csv?since=" (urlencode(&run.start)) "&until=" (urlencode(&run.end)) }
                                    download { "CSV" span.muted { " (" (counted(run_total(run), "row", "rows")) ")" } }
                            }
                        }
                    }
                }
            }
            p.muted { "A run is writes without a gap longer than the policy's run gap. Each CSV is what "
                code { "scimd activity --tenant " (team.name) " --format csv --since START --until END" } " prints." }
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Overview, body))
}

/// `?since=…&until=…`: a window of time (RFC 3339), either end open.
#[derive(Deserialize)]
pub struct Window {
    pub since: Option<String>,
    pub until: Option<String>,
}

impl Window {
    /// Both ends in the stored time format; a malformed one is refused.
    pub fn parsed(&self) -> Result<(Option<String>, Option<String>), ConsoleError> {
        let stored = |text: &Option<String>| match text {
            None => Ok(None),
            Some(text) => time::normalize(text).map(Some).ok_or_else(|| {
                ConsoleError::BadRequest(format!("{text:?} is not an RFC 3339 time"))
            }),
        };
        Ok((stored(&self.since)?, stored(&self.until)?))
    }
}

/// The team's activity between two times, as `scimd activity --format csv`.
async fn csv(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    query: web::Query<Window>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let (since, until) = query.parsed()?;
    let id = team.tenant_id();
    let events = state
        .db
        .read(move |conn| {
            Ok(activity::window(
                &id,
                conn,
                since.as_deref(),
                until.as_deref(),
            )?)
        })
        .await?;
    let mut body = Vec::new();
    let rows = events.iter().map(LoggedEvent::values);
    write_csv(&LoggedEvent::COLUMNS, rows, &mut body)
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    let name = format!(
        "activity-{}.csv",
        team.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}

/// Percent-encodes a query value (times carry `:` and `+`).
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

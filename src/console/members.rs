//! Members: a searchable, paged list (through the same query engine as
//! `GET /Users`), and a member's page: the card as it will look, its links,
//! subteams and roles, the resource as the IdP last sent it, its history.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Section, counted, when};
use super::overview::urlencode;
use super::{ConsoleError, ConsoleState, Viewer};
use crate::scim::ScimError;
use crate::scim::ids::MemberId;
use crate::scim::list::{ListRequest, Page};
use crate::service::users;
use crate::store::{activity, members, subteams};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/members", web::get().to(list))
        .route("/teams/{team}/members/{member}", web::get().to(show));
}

const PER_PAGE: usize = 25;

#[derive(Deserialize, Default)]
struct Search {
    /// Matched against userName, name and email.
    #[serde(default)]
    q: String,
    /// A subteam's id.
    #[serde(default)]
    subteam: String,
    /// `active`, `inactive` or empty for both.
    #[serde(default)]
    state: String,
    page: Option<usize>,
}

impl Search {
    /// The SCIM filter the search box means, for the same engine `GET /Users` runs.
    fn filter(&self) -> Option<String> {
        let mut parts = Vec::new();
        let q = self.q.trim();
        if !q.is_empty() {
            // A JSON string is a SCIM filter string literal.
            let literal = serde_json::Value::from(q).to_string();
            parts.push(format!(
                "(userName co {literal} or displayName co {literal} or name.formatted co {literal} \
                 or emails.value co {literal})"
            ));
        }
        if !self.subteam.is_empty() {
            let literal = serde_json::Value::from(self.subteam.as_str()).to_string();
            parts.push(format!("groups.value eq {literal}"));
        }
        match self.state.as_str() {
            "active" => parts.push("active eq true".into()),
            "inactive" => parts.push("active eq false".into()),
            _ => {}
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }

    fn query_string(&self, page: usize) -> String {
        format!(
            "?q={}&subteam={}&state={}&page={page}",
            urlencode(&self.q),
            urlencode(&self.subteam),
            urlencode(&self.state)
        )
    }
}

/// The primary (else first) email of a SCIM User.
fn email_of(user: &serde_json::Value) -> Option<&str> {
    let emails = user.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(|p| p.as_bool()) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value")?.as_str())
}

async fn list(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    search: web::Query<Search>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let search = search.into_inner();
    let page = search.page.unwrap_or(1).max(1);
    let filter = search
        .filter()
        .map(|text| {
            scim_filter_parser::parse_filter(&text)
                .map_err(|e| ConsoleError::BadRequest(format!("cannot search for that: {e}")))
        })
        .transpose()?;
    let id = team.tenant_id();
    let base_url = state.scim_url.clone();
    let (listed, groups) = state
        .db
        .read(move |conn| {
            let request = ListRequest {
                page: Page::new(
                    i64::try_from((page - 1) * PER_PAGE + 1).ok(),
                    i64::try_from(PER_PAGE).ok(),
                ),
                sort: None,
                cursor: None,
            };
            let listed = users::list(&id, conn, filter.as_ref(), &request, true, &base_url)?;
            let groups = subteams::all(&id, conn)?;
            Ok::<_, ScimError>((listed, groups))
        })
        .await?;
    let base = format!("/teams/{}/members", team.id);
    let pages = listed.total.div_ceil(PER_PAGE).max(1);
    let body = html! {
        h1 { "Members" }
        form.panel method="get" action=(base) role="search" {
            label for="q" { "Search" span.help { "userName, name or email; part of one is enough" } }
            input id="q" type="search" name="q" value=(search.q);
            label for="subteam" { "Subteam" }
            select id="subteam" name="subteam" {
                option value="" { "Any" }
                @for group in &groups {
                    option value=(group.id) selected[group.id == search.subteam] { (group.display_name) }
                }
            }
            label for="state" { "State" }
            select id="state" name="state" {
                option value="" { "Active and inactive" }
                option value="active" selected[search.state == "active"] { "Active" }
                option value="inactive" selected[search.state == "inactive"] { "Inactive" }
            }
            p { button type="submit" { "Search" } }
        }
        p.muted { (counted(listed.total, "member matches.", "members match.")) }
        table {
            thead { tr {
                th scope="col" { "userName" }
                th scope="col" { "Name" }
                th scope="col" { "Email" }
                th scope="col" { "Active" }
                th scope="col" { "Subteams" }
            } }
            tbody {
                @for user in &listed.users {
                    @let resource: serde_json::Value = user.row.scim_resource.as_deref()
                        .and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
                    tr {
                        td { a href={ (base) "/" (user.row.id) } { (user.row.user_name.as_deref().unwrap_or("-")) } }
                        td { (user.row.display_name.as_deref().unwrap_or("")) }
                        td { (email_of(&resource).unwrap_or("")) }
                        td { @if user.row.active { "yes" } @else { span.bad { "no" } } }
                        td { (user.groups.iter().filter(|g| g.is_subteam).map(|g| g.display_name.as_str()).collect::<Vec<_>>().join(", ")) }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if page > 1 { a href={ (base) (search.query_string(page - 1)) } rel="prev" { "Previous" } }
            span { "Page " (page) " of " (pages) }
            @if page < pages { a href={ (base) (search.query_string(page + 1)) } rel="next" { "Next" } }
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Members, body))
}

/// How many of a member's activity entries the page shows.
const HISTORY_SHOWN: i64 = 50;

async fn show(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (team, member) = path.into_inner();
    let team = viewer.team(&state, &team).await?;
    let id = team.tenant_id();
    let member_id = MemberId::from_string(member);
    let (row, card, groups, history) = state
        .db
        .read(move |conn| {
            let Some(row) = members::find(&id, conn, &member_id)? else {
                return Ok(None);
            };
            let card = members::card(&id, conn, &member_id)?;
            let groups = subteams::groups_of_member(&id, conn, &member_id)?;
            let history = activity::of_resource(&id, conn, member_id.as_str(), HISTORY_SHOWN)?;
            Ok::<_, ScimError>(Some((row, card, groups, history)))
        })
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let resource = row
        .scim_resource
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
    let roles: Vec<String> = resource
        .as_ref()
        .and_then(|r| r.get("roles")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|role| Some(role.get("value")?.as_str()?.to_owned()))
        .collect();
    let (card, links) = card.unwrap_or_default();
    let title = row
        .user_name
        .clone()
        .or_else(|| card.email.clone())
        .unwrap_or_else(|| row.id.clone());
    let body = html! {
        h1 { (title) }
        p {
            @if row.in_team { "In the team" } @else { span.bad { "Not in the team" } }
            " · " @if row.active { "active" } @else { span.bad { "inactive" } }
            @if row.deprovisioned_at.is_some() { " · " span.bad { "deleted by SCIM" } }
            @if row.scim_resource.is_none() { " · made outside SCIM" }
        }
        p {
            "Roles from the IdP: "
            @if roles.is_empty() { span.muted { "none" } } @else { (roles.join(", ")) }
            " · team roles: "
            @if !row.team_admin && !row.subteam_admin { span.muted { "none" } }
            @if row.team_admin { "team admin " }
            @if row.subteam_admin { "subteam admin" }
        }
        h2 { "Card" }
        (card_preview(&card))
        h2 { "Links" }
        @if links.is_empty() {
            p.muted { "No links." }
        } @else {
            table {
                thead { tr { th scope="col" { "Kind" } th scope="col" { "Value" } th scope="col" { "From" } } }
                tbody {
                    @for link in &links {
                        tr {
                            td { (link.kind) }
                            td { @if link.is_shown() { (link.value) } @else { span.muted { "(cleared by the IdP; not shown)" } } }
                            td { @if link.from_template { "card template" } @else { "the IdP" } }
                        }
                    }
                }
            }
        }
        h2 { "Subteams" }
        @let subteams: Vec<_> = groups.iter().filter(|g| g.is_subteam).collect();
        @if subteams.is_empty() { p.muted { "None." } }
        @else {
            ul { @for g in &subteams { li { (g.display_name) @if !row.in_team { span.muted { " (dormant while not in the team)" } } } } }
        }
        @let others: Vec<_> = groups.iter().filter(|g| !g.is_subteam).collect();
        @if !others.is_empty() {
            p.muted { "Also in groups outside the subteam allowlist: "
                (others.iter().map(|g| g.display_name.as_str()).collect::<Vec<_>>().join(", ")) }
        }
        h2 { "History" }
        @if history.is_empty() { p.muted { "No activity recorded." } }
        @else {
            table {
                thead { tr {
                    th scope="col" { "Time" } th scope="col" { "Client" } th scope="col" { "Operation" }
                    th scope="col" { "Changed" } th.num scope="col" { "Status" } th scope="col" { "Detail" }
                } }
                tbody {
                    @for event in &history {
                        tr.flagged[!event.succeeded()] {
                            td { (when(&event.occurred_at)) }
                            td { (event.client) }
                            td { (event.operation) }
                            td { (event.fields_changed.join(", ")) }
                            td.num { (event.status) }
                            td { (event.detail.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
        h2 { "As the IdP last sent it" }
        @match &resource {
            Some(resource) => pre { (serde_json::to_string_pretty(resource).unwrap_or_default()) },
            None => p.muted { "Made outside SCIM: no IdP has sent this member." },
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Members, body))
}

/// The card as the product shows it.
fn card_preview(card: &members::CardRow) -> Markup {
    let name = card.display_name.as_deref().unwrap_or("(no name)");
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    html! {
        div.card {
            @match card.photo_url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
                Some(url) => img src=(url) alt={ "Photo of " (name) };
                None => div.initials aria-hidden="true" { (initials) },
            }
            div {
                p.name { (name) }
                @if let Some(title) = &card.job_title { p { (title) } }
                @if card.company.is_some() || card.department.is_some() {
                    p.muted {
                        (card.company.as_deref().unwrap_or(""))
                        @if card.company.is_some() && card.department.is_some() { " · " }
                        (card.department.as_deref().unwrap_or(""))
                    }
                }
                @if let Some(email) = &card.email { p { a href={ "mailto:" (email) } { (email) } } }
                @if let Some(phone) = &card.phone { p { a href={ "tel:" (phone.replace(' ', "")) } { (phone) } } }
                @if let Some(location) = &card.location { p.muted { (location) } }
            }
        }
    }
}

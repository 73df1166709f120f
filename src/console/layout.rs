//! The page frame every console page shares, its stylesheet and script, and
//! small formatting helpers.

use actix_web::HttpResponse;
use actix_web::http::header;
use maud::{DOCTYPE, Markup, html};

use super::Viewer;
use crate::store::tenants::TenantRow;

/// The sections of a team's pages, in the order of its navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Failures,
    Members,
    Subteams,
    Policy,
    Tokens,
    Held,
    Connect,
}

impl Section {
    const ALL: [Section; 8] = [
        Section::Overview,
        Section::Failures,
        Section::Members,
        Section::Subteams,
        Section::Policy,
        Section::Tokens,
        Section::Held,
        Section::Connect,
    ];

    fn label(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Failures => "Failures",
            Section::Members => "Members",
            Section::Subteams => "Subteams",
            Section::Policy => "Policy",
            Section::Tokens => "Tokens",
            Section::Held => "Held removals",
            Section::Connect => "Connect your IdP",
        }
    }

    /// The section's path under `/teams/{id}`.
    pub fn path(self) -> &'static str {
        match self {
            Section::Overview => "",
            Section::Failures => "/failures",
            Section::Members => "/members",
            Section::Subteams => "/subteams",
            Section::Policy => "/policy",
            Section::Tokens => "/tokens",
            Section::Held => "/held",
            Section::Connect => "/connect",
        }
    }
}

/// A page of a team's section, with the team's navigation.
pub fn team_page(
    viewer: &Viewer,
    team: &TenantRow,
    section: Section,
    body: Markup,
) -> HttpResponse {
    let title = format!("{} · {}", section.label(), team.name);
    let nav = html! {
        nav.team aria-label="Team" {
            @for item in Section::ALL {
                @let href = format!("/teams/{}{}", team.id, item.path());
                @if item == section {
                    a href=(href) aria-current="page" { (item.label()) }
                } @else {
                    a href=(href) { (item.label()) }
                }
            }
        }
    };
    html_response(frame(
        &title,
        Some(viewer),
        html! {
            p.team-name { "Team " strong { (team.name) } }
            (nav)
            (body)
        },
    ))
}

/// A page outside any team (the teams list).
pub fn page(viewer: &Viewer, title: &str, body: Markup) -> HttpResponse {
    html_response(frame(title, Some(viewer), body))
}

/// A page for nobody signed in (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    frame(title, None, body)
}

pub fn html_response(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

fn frame(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · scimd console" }
                link rel="stylesheet" href="/console.css";
                script src="/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "scimd console" }
                    @if let Some(viewer) = viewer {
                        @if viewer.is_operator() {
                            a href="/teams" { "All teams" }
                        }
                        span.who { "Signed in as " strong { (viewer.account.name) } }
                        form.inline method="post" action="/logout" {
                            (csrf(viewer))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The hidden field that carries the session's CSRF token.
pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.session.csrf); }
}

/// `n` and the noun in the number it takes: `1 group`, `3 groups`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A stored time (RFC 3339, UTC) as `2026-11-26 13:05 UTC`.
pub fn when(stored: &str) -> String {
    crate::scim::time::parse(stored)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| stored.to_owned())
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .body(STYLESHEET)
}

pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .body(SCRIPT)
}

/// Progressive enhancement only: copy buttons and confirmations. Every page
/// works without it.
const SCRIPT: &str = r#"document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    });
  }
});
document.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = false; });
"#;

const STYLESHEET: &str = r#":root {
  --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --panel: #f6f8fa;
  --accent: #0b5cad; --bad: #b3261e; --bad-bg: #fdecea; --ok: #1a7f37;
  --c-created: #1a7f37; --c-updated: #0b5cad; --c-deactivated: #9a6700; --c-deleted: #6f42c1; --c-failed: #b3261e;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --panel: #161b22;
    --accent: #6cb6ff; --bad: #ff7b72; --bad-bg: #3b1716; --ok: #56d364;
    --c-created: #56d364; --c-updated: #6cb6ff; --c-deactivated: #e3b341; --c-deleted: #bc8cff; --c-failed: #ff7b72;
  }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
header.top { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--fg); margin-right: auto; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; }
.team-name { margin: .25rem 0; color: var(--muted); }
nav.team { display: flex; flex-wrap: wrap; gap: .25rem; border-bottom: 1px solid var(--line); margin-bottom: 1rem; }
nav.team a { padding: .4rem .75rem; text-decoration: none; border-radius: 6px 6px 0 0; }
nav.team a[aria-current] { background: var(--panel); border: 1px solid var(--line); border-bottom-color: var(--panel); color: var(--fg); font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
.bad { color: var(--bad); font-weight: 600; }
tr.flagged td:first-child { border-left: 4px solid var(--bad); }
.mark { display: inline-block; padding: 0 .4rem; border-radius: 4px; background: var(--bad-bg); color: var(--bad); font-size: .8rem; font-weight: 600; margin-left: .4rem; }
.muted { color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
.panel > h2:first-child { margin-top: 0; }
.notice { border-left: 4px solid var(--accent); }
.warning { border-left: 4px solid var(--bad); }
form.inline { display: inline; margin: 0; }
label { display: block; font-weight: 600; margin-top: .75rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
td label { display: inline; margin: 0; font-weight: 400; }
.help { display: block; font-weight: 400; color: var(--muted); font-size: .85rem; }
input[type=text], input[type=password], input[type=search], input[type=number], select, textarea {
  font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .5rem; max-width: 100%; }
textarea { width: 36rem; min-height: 4.5rem; }
button { font: inherit; padding: .35rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--bg); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; color: var(--accent); padding: 0; text-decoration: underline; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow-x: auto; }
.secret { font-size: 1rem; word-break: break-all; background: var(--panel); padding: .5rem; border-radius: 6px; border: 1px solid var(--line); }
.stats { display: flex; flex-wrap: wrap; gap: 1rem; }
.stats div { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .5rem 1rem; min-width: 8rem; }
.stats strong { display: block; font-size: 1.4rem; }
.chart svg { width: 100%; height: auto; max-width: 60rem; }
.chart .axis, .chart .grid { stroke: var(--line); }
.chart text { fill: var(--muted); font-size: 11px; }
.legend { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; padding: 0; margin: .25rem 0; }
.legend span { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
.s-created { fill: var(--c-created); background: var(--c-created); }
.s-updated { fill: var(--c-updated); background: var(--c-updated); }
.s-deactivated { fill: var(--c-deactivated); background: var(--c-deactivated); }
.s-deleted { fill: var(--c-deleted); background: var(--c-deleted); }
.s-failed { fill: var(--c-failed); background: var(--c-failed); }
.card { display: flex; gap: 1rem; max-width: 30rem; background: var(--panel); border: 1px solid var(--line); border-radius: 12px; padding: 1rem; }
.card img { width: 88px; height: 88px; border-radius: 50%; object-fit: cover; }
.card .initials { width: 88px; height: 88px; border-radius: 50%; display: flex; align-items: center; justify-content: center; font-size: 2rem; background: var(--line); }
.card .name { font-size: 1.25rem; font-weight: 700; }
.card p { margin: .15rem 0; }
.pager { display: flex; gap: 1rem; align-items: center; }
.error-detail { font-size: 1.05rem; }
"#;

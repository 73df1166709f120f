//! Connect your IdP: README's Okta and Entra steps filled in with this
//! server's SCIM URL and the team, and a panel that makes the request
//! Entra's "Test Connection" makes, with a pasted token.

use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use maud::{Markup, html};

use super::layout::{self, Section, csrf};
use super::{ConsoleError, ConsoleState, Viewer};
use crate::store::tenants::TenantRow;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/connect", web::get().to(show))
        .route("/teams/{team}/connect", web::post().to(test));
}

/// How long the test waits for this server's SCIM endpoint.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Body bytes shown from the test's answer.
const BODY_SHOWN: usize = 4_000;

async fn show(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let body = page(&viewer, &state, &team, None);
    Ok(layout::team_page(&viewer, &team, Section::Connect, body))
}

/// What the test request got.
struct Outcome {
    url: String,
    status: Option<u16>,
    millis: u128,
    body: String,
}

async fn test(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let form = viewer.checked(form.into_inner())?;
    let token = form.get("token").to_owned();
    if token.is_empty() {
        return Err(ConsoleError::BadRequest(
            "paste a token to test with".into(),
        ));
    }
    // A name nobody has, as Entra's test asks for.
    let probe = format!(
        "scimd-test-{}@example.invalid",
        uuid::Uuid::new_v4().simple()
    );
    let filter = format!("userName eq \"{probe}\"");
    let url = format!("{}/Users", state.scim_url);
    let started = Instant::now();
    let answer = reqwest::Client::builder()
        .timeout(TEST_TIMEOUT)
        .build()
        .map_err(|e| ConsoleError::Internal(e.into()))?
        .get(&url)
        .query(&[("filter", filter.as_str())])
        .bearer_auth(&token)
        .header("User-Agent", "scimd-console-test-connection")
        .send()
        .await;
    let outcome = match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let pretty = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or(text);
            Outcome {
                url: format!("{url}?filter={filter}"),
                status: Some(status),
                millis: started.elapsed().as_millis(),
                body: pretty.chars().take(BODY_SHOWN).collect(),
            }
        }
        Err(e) => Outcome {
            url: format!("{url}?filter={filter}"),
            status: None,
            millis: started.elapsed().as_millis(),
            body: format!("no answer: {}", with_causes(&e)),
        },
    };
    let body = page(&viewer, &state, &team, Some(&outcome));
    Ok(layout::team_page(&viewer, &team, Section::Connect, body))
}

/// An error and its causes, `: `-separated (reqwest's own message leaves
/// out why: a refused connection, an untrusted certificate).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn page(
    viewer: &Viewer,
    state: &ConsoleState,
    team: &TenantRow,
    outcome: Option<&Outcome>,
) -> Markup {
    let url = &state.scim_url;
    let tokens = format!("/teams/{}/tokens", team.id);
    html! {
        h1 { "Connect your IdP" }
        p { "SCIM base URL (Tenant URL) for team " strong { (team.name) } ": " code id="scim-url" { (url) } " "
            button.secondary type="button" data-copy="scim-url" hidden { "Copy" } }
        p.muted { "Okta and Entra only call https:// URLs with a certificate from a public authority: behind a TLS proxy, start scimd with "
            code { "--public-url https://your.host/api/external/scim" } " so this page shows that URL." }
        section.panel aria-labelledby="test-title" {
            h2 id="test-title" { "Test the connection" }
            p { "Makes the request Entra's " em { "Test Connection" } " makes (a " code { "userName eq" }
                " filter for a random name) against " code { (url) } ". The token is used for this request only and not kept." }
            form method="post" action={ "/teams/" (team.id) "/connect" } {
                (csrf(viewer))
                label for="token" { "Token" span.help { "A token of this team; " a href=(tokens) { "issue one" } " if you have none." } }
                input id="token" type="password" name="token" autocomplete="off" size="60" required;
                p { button type="submit" { "Test connection" } }
            }
            @if let Some(outcome) = outcome {
                @let ok = outcome.status == Some(200);
                div.panel.notice[ok].warning[!ok] role="status" {
                    p {
                        strong { @if ok { "Connected." } @else { "Not connected." } }
                        " GET " code { (outcome.url) } " → "
                        @match outcome.status { Some(s) => strong { (s) }, None => strong { "no answer" } }
                        " in " (outcome.millis) " ms"
                    }
                    pre { (outcome.body) }
                }
            }
        }
        h2 { "Okta" }
        ol {
            li { "Admin Console: " strong { "Applications → Create App Integration → SWA" } " (or an existing app); on " strong { "General" } ", edit " em { "Provisioning" } " and choose " strong { "SCIM" } "." }
            li { strong { "Provisioning → Integration" } ": " strong { "SCIM connector base URL" } " " code { (url) } "; " strong { "Unique identifier field for users" } " " code { "userName" } "; actions " em { "Push New Users, Push Profile Updates, Push Groups" } " (and " em { "Import New Users and Profile Updates" } ")." }
            li { strong { "Authentication Mode" } " " em { "HTTP Header" } "; " strong { "Authorization" } ": a token of team " (team.name) " (" a href=(tokens) { "issue one labelled okta" } "; Okta adds " code { "Bearer " } ")." }
            li { strong { "Test Connector Configuration" } ", then " strong { "Save" } "." }
            li { strong { "Provisioning → To App" } ": enable " em { "Create Users, Update User Attributes, Deactivate Users" } "." }
            li { "Assign people or groups on " strong { "Assignments" } "; push groups on " strong { "Push Groups" } "." }
        }
        h2 { "Microsoft Entra ID" }
        ol {
            li { strong { "Entra admin center → Enterprise applications → New application → Create your own application" } " (a non-gallery app)." }
            li { strong { "Provisioning → Get started" } ", " strong { "Provisioning Mode: Automatic" } "." }
            li { strong { "Admin Credentials" } ": " strong { "Tenant URL" } " " code { (url) } ", " strong { "Secret Token" } ": a token of team " (team.name) " (" a href=(tokens) { "issue one labelled entra" } "). " strong { "Test Connection" } " must succeed (the panel above makes the same request)." }
            li { strong { "Mappings" } ": keep the defaults for users; enable groups (they become subteams). Add " code { "companyName" } " → enterprise " code { "organization" } " for the card's company." }
            li { strong { "Settings → Scope" } ": " em { "Sync only assigned users and groups" } "; assign them under " strong { "Users and groups" } "." }
            li { strong { "Provisioning Status: On" } ", " strong { "Save" } ". The first cycle shows up on the " a href={ "/teams/" (team.id) } { "overview" } " as a sync run." }
        }
    }
}

//! Tokens: the team's SCIM bearer tokens; issue one (its secret shown once,
//! beside the Tenant URL to paste into Okta or Entra) and revoke one.

use actix_web::{HttpResponse, web};
use maud::html;

use super::layout::{self, Section, csrf, when};
use super::{ConsoleError, ConsoleState, Viewer, see_other};
use crate::admin;
use crate::scim::token;
use crate::store::tokens;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/teams/{team}/tokens", web::get().to(list))
        .route("/teams/{team}/tokens", web::post().to(issue))
        .route(
            "/teams/{team}/tokens/{token}/revoke",
            web::get().to(confirm),
        )
        .route(
            "/teams/{team}/tokens/{token}/revoke",
            web::post().to(revoke),
        );
}

async fn list(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let id = team.tenant_id();
    let rows = state
        .db
        .read(move |conn| Ok(tokens::list(&id, conn)?))
        .await?;
    let base = format!("/teams/{}/tokens", team.id);
    let body = html! {
        h1 { "Tokens" }
        p.muted { "The IdP sends one of these as its bearer token. Only a hash is stored: a lost token cannot be shown again, only replaced." }
        table {
            thead { tr {
                th scope="col" { "Label" }
                th scope="col" { "Starts with" }
                th scope="col" { "Created" }
                th scope="col" { "Last used" }
                th scope="col" { "State" }
            } }
            tbody {
                @for row in &rows {
                    tr {
                        td { (row.label) }
                        td { code { (token::shown_prefix(&row.lookup_prefix)) } }
                        td { (when(&row.created_at)) }
                        td { (row.last_used_at.as_deref().map(when).unwrap_or_else(|| "never".into())) }
                        td {
                            @match &row.revoked_at {
                                Some(at) => span.muted { "revoked " (when(at)) },
                                None => a href={ (base) "/" (row.id) "/revoke" } { "Revoke…" },
                            }
                        }
                    }
                }
            }
        }
        h2 { "Issue a token" }
        form.panel method="post" action=(base) {
            (csrf(&viewer))
            label for="label" { "Label" span.help { "Unique among the team's active tokens, e.g. okta or entra-prod" } }
            input id="label" type="text" name="label" required maxlength="64";
            p { button type="submit" { "Issue token" } }
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Tokens, body))
}

async fn issue(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    team: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let team = viewer.team(&state, &team).await?;
    let form = viewer.checked(form.into_inner())?;
    let label = form.get("label").to_owned();
    if label.is_empty() || label.chars().count() > 64 {
        return Err(ConsoleError::BadRequest(
            "a token's label is 1 to 64 characters".into(),
        ));
    }
    let actor = viewer.actor();
    let for_write = team.clone();
    let (row, secret) = state
        .db
        .write(move |conn| Ok(admin::issue_token_as(conn, &for_write, &label, &actor)?))
        .await?;
    let body = html! {
        h1 { "Token issued" }
        div.panel.warning {
            p { strong { "Copy it now: this is the only time it is shown." } }
            p { "Token " strong { (row.label) } ":" }
            p.secret id="secret" { code { (secret) } }
            button.secondary type="button" data-copy="secret" hidden { "Copy token" }
        }
        h2 { "Paste into your IdP" }
        p { "Tenant URL (Okta: " em { "SCIM connector base URL" } "; Entra: " em { "Tenant URL" } "):" }
        p.secret id="tenant-url" { code { (state.scim_url) } }
        button.secondary type="button" data-copy="tenant-url" hidden { "Copy URL" }
        p { "Secret token (Okta: " em { "HTTP Header, Bearer" } "; Entra: " em { "Secret Token" } "): the token above." }
        p { a href={ "/teams/" (team.id) "/tokens" } { "Back to tokens" } " · "
            a href={ "/teams/" (team.id) "/connect" } { "Test the connection" } }
    };
    Ok(layout::team_page(&viewer, &team, Section::Tokens, body))
}

async fn confirm(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (team, token_id) = path.into_inner();
    let team = viewer.team(&state, &team).await?;
    let id = team.tenant_id();
    let row = state
        .db
        .read(move |conn| Ok(tokens::list(&id, conn)?))
        .await?
        .into_iter()
        .find(|row| row.id == token_id && row.revoked_at.is_none())
        .ok_or(ConsoleError::NotFound)?;
    let body = html! {
        h1 { "Revoke token " (row.label) "?" }
        div.panel.warning {
            p { "An IdP using this token (it starts with " code { (token::shown_prefix(&row.lookup_prefix)) } ", last used "
                (row.last_used_at.as_deref().map(when).unwrap_or_else(|| "never".into())) ") is refused from its next request on. This cannot be undone." }
            form method="post" action={ "/teams/" (team.id) "/tokens/" (row.id) "/revoke" } {
                (csrf(&viewer))
                button.danger type="submit" { "Revoke " (row.label) }
                " "
                a href={ "/teams/" (team.id) "/tokens" } { "Cancel" }
            }
        }
    };
    Ok(layout::team_page(&viewer, &team, Section::Tokens, body))
}

async fn revoke(
    viewer: Viewer,
    state: web::Data<ConsoleState>,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let (team, token_id) = path.into_inner();
    let team = viewer.team(&state, &team).await?;
    viewer.checked(form.into_inner())?;
    let actor = viewer.actor();
    let for_write = team.clone();
    state
        .db
        .write(move |conn| Ok(admin::revoke_token_as(conn, &for_write, &token_id, &actor)?))
        .await?;
    Ok(see_other(&format!("/teams/{}/tokens", team.id)))
}

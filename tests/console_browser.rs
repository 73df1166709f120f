//! The console in a real browser: headless Chromium through chromedriver
//! (WebDriver) against the real `scimd` binary, on both backends, each test
//! with a fresh database, its own server and its own browser. axe-core runs
//! on every page the tests visit; a serious or critical violation fails.
//!
//! Screenshots land in target/console-screenshots/<backend>/<scenario>.png;
//! with SCIMD_DOCS_SCREENSHOTS=1 the SQLite run also refreshes
//! docs/console-overview.png and docs/console-member.png (README's
//! pictures; they show the time of the run, so they are not rewritten on
//! every run).
//!
//! Skipped with a message when chromedriver, Chromium or axe-core
//! (`cd tests/browser && npm ci`) is missing, unless CI=true.
#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};

use browser::Browser;
use common::process::{Database, Server, free_port, scimd};
use common::{Backend, ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA};

const OPERATOR: &str = "root";
const OPERATOR_PASSWORD: &str = "correct horse battery";
/// What Entra's provisioning service sends as its User-Agent.
const ENTRA: &str = "Azure AD SCIM Background Service";

/// A server with its console on a port of its own, its database and a
/// browser pointed at the console; `None` when the browser tools or
/// PostgreSQL are missing (and not required).
struct Setup {
    db: Database,
    server: Server,
    browser: Browser,
    console: String,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn new(backend: Backend, extra: &[&str]) -> Option<Setup> {
        Setup::new_with(backend, extra, false).await
    }

    /// With `dark`, the browser prefers a dark colour scheme.
    async fn new_with(backend: Backend, extra: &[&str], dark: bool) -> Option<Setup> {
        browser::tools()?;
        let db = Database::new(backend)?;
        account(&db, &["create", OPERATOR, "--operator"], OPERATOR_PASSWORD);
        let (dir, server, console) = start_console(&db, extra).await;
        let browser = Browser::start(&console, backend, dark).await?;
        Some(Setup {
            db,
            server,
            browser,
            console,
            _dir: dir,
        })
    }

    fn scim(&self) -> String {
        self.server.scim()
    }

    /// The id of team `name`.
    fn team_id(&self, name: &str) -> String {
        let conn = &mut *self.db.pool.get().unwrap();
        scimd::admin::find_tenant(conn, name).unwrap().id
    }

    async fn finish(self) {
        self.browser.close().await;
        self.server.stop_cleanly();
    }
}

/// `scimd serve` on `db` with the console on a free port; its directory,
/// the server and the console's origin.
async fn start_console(db: &Database, extra: &[&str]) -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut args = vec!["--admin-bind", bind.as_str()];
    args.extend_from_slice(extra);
    let server = Server::start(dir.path(), &db.url, &args, &[]).await;
    (dir, server, format!("http://127.0.0.1:{port}"))
}

/// `scimd account ARGS --password-stdin` with `password` on its stdin
/// (no `--password-stdin` for `disable`).
fn account(db: &Database, args: &[&str], password: &str) {
    let mut command = scimd(Path::new("."));
    command
        .arg("--database-url")
        .arg(&db.url)
        .arg("account")
        .args(args);
    if !password.is_empty() {
        command.arg("--password-stdin");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "scimd account {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn entra_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(ENTRA)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Sends a SCIM request as Entra does; (status, JSON body or Null).
async fn scim_call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = entra_client().request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn entra_user(given: &str, family: &str, user_name: &str, title: &str, department: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": uuid::Uuid::new_v4().to_string(),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "title": title,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"type": "work", "primary": true, "value": user_name}],
        ENTERPRISE: {"department": department, "organization": "Contoso"},
    })
}

/// What the Entra-style run made.
struct Run {
    /// Omar, Grace, Linus (Linus deactivated).
    users: Vec<String>,
    /// The 409's `detail`.
    conflict: String,
}

/// A small Entra provisioning cycle: Test Connection, three creates after
/// their lookups, a PATCH, a create of an existing user (409), a group with
/// two members, a deactivation with a string boolean.
async fn entra_run(scim: &str, token: &str) -> Run {
    use reqwest::Method;
    let probe = uuid::Uuid::new_v4();
    let (status, body) = scim_call(
        Method::GET,
        format!("{scim}/Users?filter=userName%20eq%20%22{probe}%22"),
        token,
        None,
    )
    .await;
    assert_eq!((status, &body["totalResults"]), (200, &json!(0)), "{body}");
    let people = [
        (
            "Omar",
            "Haddad",
            "omar.haddad@contoso.example",
            "Analyst",
            "Finance",
        ),
        (
            "Grace",
            "Hopper",
            "grace.hopper@contoso.example",
            "Rear Admiral",
            "Engineering",
        ),
        (
            "Linus",
            "Pauling",
            "linus.pauling@contoso.example",
            "Chemist",
            "Research",
        ),
    ];
    let mut users = Vec::new();
    for (given, family, user_name, title, department) in people {
        let (status, body) = scim_call(
            Method::GET,
            format!("{scim}/Users?filter=userName%20eq%20%22{user_name}%22"),
            token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = scim_call(
            Method::POST,
            format!("{scim}/Users"),
            token,
            Some(entra_user(given, family, user_name, title, department)),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        users.push(body["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = scim_call(
        Method::PATCH,
        format!("{scim}/Users/{}", users[0]),
        token,
        Some(json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "title", "value": "Senior Analyst"},
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+353 1 000 0000"},
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Entra retrying a create it had already made: refused as a duplicate.
    let (status, body) = scim_call(
        Method::POST,
        format!("{scim}/Users"),
        token,
        Some(entra_user(
            "Grace",
            "Hopper",
            "grace.hopper@contoso.example",
            "Rear Admiral",
            "Engineering",
        )),
    )
    .await;
    assert_eq!(
        (status, &body["scimType"]),
        (409, &json!("uniqueness")),
        "{body}"
    );
    let conflict = body["detail"].as_str().unwrap().to_owned();
    let (status, body) = scim_call(
        Method::POST,
        format!("{scim}/Groups"),
        token,
        Some(json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": "Finance",
            "externalId": uuid::Uuid::new_v4().to_string(),
            "members": [{"value": users[0]}, {"value": users[1]}],
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = scim_call(
        Method::PATCH,
        format!("{scim}/Users/{}", users[2]),
        token,
        Some(json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
        ]})),
    )
    .await;
    assert_eq!((status, &body["active"]), (200, &json!(false)), "{body}");
    Run { users, conflict }
}

/// Polls `check` (true: done) for up to `within`.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// README's picture `file`, when this run refreshes them.
fn docs(backend: Backend, file: &str) -> Option<std::path::PathBuf> {
    let refresh = backend == Backend::Sqlite
        && std::env::var_os("SCIMD_DOCS_SCREENSHOTS").is_some_and(|v| v == "1");
    refresh.then(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(file)
    })
}

/// Signing in, a refused password, the sign-in throttle, signing out.
async fn sign_in_is_checked_and_throttled(backend: Backend) {
    let Some(setup) = Setup::new(backend, &[]).await else {
        return;
    };
    let b = &setup.browser;
    b.goto("/teams").await;
    assert_eq!(
        b.path().await,
        "/login",
        "signed out, a page leads to the sign-in"
    );
    b.axe("sign-in").await;
    b.screenshot("sign-in").await;
    // The check itself: axe does see a serious fault put into the page.
    b.client
        .execute(
            "const i = document.createElement('img'); i.src = 'data:,'; document.querySelector('main').appendChild(i);",
            vec![],
        )
        .await
        .unwrap();
    let planted = b.axe_violations("sign-in with an image without alt").await;
    assert!(
        planted.iter().any(|v| v.contains("image-alt")),
        "axe missed an image without alt: {planted:?}"
    );

    b.sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(b.path().await, "/teams");
    assert!(b.text("header.top").await.contains("Signed in as root"));

    // Sign out: the session ends.
    b.click_and_wait("header.top button").await;
    assert_eq!(b.path().await, "/login");
    b.goto("/teams").await;
    assert_eq!(b.path().await, "/login", "signed out");
    b.screenshot("signed-out").await;

    // A wrong password is refused, and the name stays in the form.
    b.sign_in(OPERATOR, "not the password at all").await;
    assert_eq!(b.path().await, "/login");
    assert!(
        b.text("[role=alert]")
            .await
            .contains("do not match an active account"),
        "{}",
        b.body().await
    );
    assert_eq!(
        b.find("#name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(OPERATOR)
    );
    b.axe("sign-in refused").await;
    b.screenshot("sign-in-refused").await;

    // Four more failures use up the account's budget of five: then even the
    // right password waits.
    for _ in 0..4 {
        b.sign_in(OPERATOR, "still not the password").await;
        assert!(b.body().await.contains("do not match"));
    }
    b.sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(b.h1().await, "429 Too Many Requests");
    assert!(
        b.text(".error-detail")
            .await
            .contains("too many failed sign-ins"),
        "{}",
        b.body().await
    );
    b.goto("/teams").await;
    assert_eq!(
        b.path().await,
        "/login",
        "the throttled sign-in made no session"
    );
    b.sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(b.h1().await, "429 Too Many Requests");
    b.axe("throttled (429 page)").await;
    b.screenshot("sign-in-throttled").await;
    setup.finish().await;
}

/// An Entra-style run seen on the teams page, the overview (runs table,
/// chart, the run's CSV = `scimd activity`), failures, members and subteams.
async fn a_provisioning_run_shows_up_everywhere(backend: Backend) {
    let Some(setup) = Setup::new(backend, &[]).await else {
        return;
    };
    let b = &setup.browser;
    let clean_token = setup.db.tenant_with_token("globex", "okta");
    let acme = setup.team_id("acme");
    let run = entra_run(&setup.scim(), &setup.db.token).await;
    // The clean team only reads.
    let (status, _) = scim_call(
        reqwest::Method::GET,
        format!("{}/Users", setup.scim()),
        &clean_token,
        None,
    )
    .await;
    assert_eq!(status, 200);

    b.sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(b.path().await, "/teams");
    // The red mark on the team with a failed write, none on the clean one.
    let rows = b.find_all("main tbody tr").await;
    assert_eq!(rows.len(), 2);
    for row in rows {
        let name = row
            .find(fantoccini::Locator::Css("td a"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marks = row
            .find_all(fantoccini::Locator::Css(".mark"))
            .await
            .unwrap();
        let mut texts = Vec::new();
        for mark in marks {
            texts.push(mark.text().await.unwrap());
        }
        match name.as_str() {
            "acme" => assert_eq!(texts, ["failures"], "acme's marks"),
            "globex" => assert!(texts.is_empty(), "globex's marks: {texts:?}"),
            other => panic!("unexpected team {other}"),
        }
    }
    b.axe("teams").await;
    b.screenshot("teams").await;

    // The overview: the run's counts, the chart, the CSV.
    b.goto(&format!("/teams/{acme}")).await;
    assert_eq!(b.h1().await, "Overview");
    let runs = b.find_all("main table tbody tr").await;
    assert_eq!(runs.len(), 1, "one sync run");
    let mut cells = Vec::new();
    for cell in runs[0]
        .find_all(fantoccini::Locator::Css("td"))
        .await
        .unwrap()
    {
        cells.push(cell.text().await.unwrap());
    }
    // Started, Ended, Client, Created, Updated, Deactivated, Deleted, Held,
    // Groups, Failed, Log.
    assert_eq!(
        cells[3..10],
        ["3", "1", "1", "0", "0", "1", "1"],
        "the run's counts: {cells:?}"
    );
    assert!(
        cells[2].to_lowercase().contains("entra"),
        "client: {cells:?}"
    );
    assert!(
        runs[0]
            .attr("class")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("flagged"),
        "a run with a failure is flagged"
    );
    // The chart: its title, and bars whose tooltips add up to the run.
    assert!(!b.find_all(".chart svg rect.s-created").await.is_empty());
    assert!(!b.find_all(".chart svg rect.s-failed").await.is_empty());
    let svg_title = b
        .client
        .execute(
            "return document.querySelector('.chart svg > title').textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        svg_title.as_str().is_some_and(|t| !t.trim().is_empty()),
        "the chart has a title: {svg_title}"
    );
    let bar_titles = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('.chart svg g title')).map(t => t.textContent);",
            vec![],
        )
        .await
        .unwrap();
    let mut totals = [0u32; 5];
    for title in bar_titles.as_array().unwrap() {
        let text = title.as_str().unwrap();
        let Some((_, counts)) = text.rsplit_once(": ") else {
            continue;
        };
        for (i, part) in counts.split(", ").enumerate().take(5) {
            totals[i] += part
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0);
        }
    }
    // Created: three users and the group; updated: the PATCH.
    assert_eq!(
        totals,
        [4, 1, 1, 0, 1],
        "created, updated, deactivated, deleted, failed"
    );
    b.axe("overview (48 h)").await;
    b.screenshot("overview").await;
    if let Some(path) = docs(backend, "console-overview.png") {
        b.full_page_screenshot(&path, 1600).await;
    }

    // The run's CSV, fetched with the browser's session, is what the CLI prints.
    let link = b.find("main table tbody tr a[download]").await;
    let href = link.attr("href").await.unwrap().unwrap();
    let url = reqwest::Url::parse(&format!("{}{href}", setup.console)).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let (since, until) = (&query["since"], &query["until"]);
    let response = reqwest::Client::new()
        .get(url.clone())
        .header("cookie", b.cookie_header().await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{url}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let from_console = response.bytes().await.unwrap();
    let from_cli = setup.db.cli(&[
        "activity", "--tenant", "acme", "--format", "csv", "--since", since, "--until", until,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&from_console),
        from_cli,
        "the console's CSV and `scimd activity` differ"
    );
    assert_eq!(from_console.as_ref(), from_cli.as_bytes());
    assert!(from_cli.lines().count() >= 8, "{from_cli}");

    b.goto(&format!("/teams/{acme}?range=90d")).await;
    assert!(b.body().await.contains("Per day, last 90 days"));
    b.axe("overview (90 d)").await;
    b.screenshot("overview-90d").await;
    b.goto(&format!("/teams/{acme}")).await;

    // The failure, opened from the run's Failed count.
    b.click_and_wait("main table tbody tr a.bad").await;
    assert!(
        b.path()
            .await
            .starts_with(&format!("/teams/{acme}/failures?since="))
    );
    assert_eq!(b.h1().await, "Failures");
    let summary = b.text("details summary").await;
    assert!(summary.contains("409 uniqueness"), "{summary}");
    assert!(
        summary.contains(&run.conflict),
        "{summary} / {}",
        run.conflict
    );
    b.find("details summary").await.click().await.unwrap();
    let detail_row = b.texts("details tbody tr td").await;
    assert!(detail_row.contains(&"409".to_owned()), "{detail_row:?}");
    assert!(
        detail_row.contains(&"uniqueness".to_owned()),
        "{detail_row:?}"
    );
    assert!(detail_row.contains(&run.conflict), "{detail_row:?}");
    assert!(
        detail_row
            .iter()
            .any(|c| c.contains("grace.hopper@contoso.example")),
        "{detail_row:?}"
    );
    b.axe("failures").await;
    b.screenshot("failures").await;

    // Member search, then the member's page with the card preview.
    b.goto(&format!("/teams/{acme}/members")).await;
    assert!(b.body().await.contains("3 members match."));
    b.axe("members").await;
    b.fill("#q", "haddad").await;
    b.click_and_wait("form[role=search] button").await;
    assert!(b.body().await.contains("1 member matches."));
    let found = b.texts("main table tbody td:first-child").await;
    assert_eq!(found, ["omar.haddad@contoso.example"]);
    b.axe("members (searched)").await;
    b.screenshot("members-search").await;
    b.click_and_wait("main table tbody td:first-child a").await;
    assert_eq!(
        b.path().await,
        format!("/teams/{acme}/members/{}", run.users[0])
    );
    assert_eq!(b.h1().await, "omar.haddad@contoso.example");
    assert_eq!(b.text(".card .name").await, "Omar Haddad");
    let card = b.text(".card").await;
    assert!(card.contains("Senior Analyst"), "{card}");
    let mail = b.find(".card a[href^='mailto:']").await;
    assert_eq!(
        mail.attr("href").await.unwrap().as_deref(),
        Some("mailto:omar.haddad@contoso.example")
    );
    assert!(b.body().await.contains("Finance"), "the subteam is listed");
    b.axe("member").await;
    b.screenshot("member").await;
    if let Some(path) = docs(backend, "console-member.png") {
        b.full_page_screenshot(&path, 1100).await;
    }

    b.goto(&format!("/teams/{acme}/subteams")).await;
    let row = b.texts("main table tbody td").await;
    assert_eq!(row[0], "Finance");
    assert_eq!(row[2], "yes");
    assert_eq!(row[3], "2");
    b.axe("subteams").await;
    b.screenshot("subteams").await;
    setup.finish().await;
}

/// Policy (preview, save, applied to SCIM), tokens (issue, use, revoke),
/// the test-connection panel, and a form without its CSRF token.
async fn policy_tokens_and_connect(backend: Backend) {
    let Some(setup) = Setup::new(backend, &[]).await else {
        return;
    };
    let b = &setup.browser;
    let acme = setup.team_id("acme");
    let scim = setup.scim();
    let token = setup.db.token.clone();
    for group in ["Finance", "Sales"] {
        let (status, body) = scim_call(
            reqwest::Method::POST,
            format!("{scim}/Groups"),
            &token,
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": group})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    b.sign_in(OPERATOR, OPERATOR_PASSWORD).await;

    // Policy: require names and an allowlist of one group, previewed, saved.
    b.goto(&format!("/teams/{acme}/policy")).await;
    assert_eq!(b.h1().await, "Policy");
    b.axe("policy").await;
    let require = b.find("input[name=require_names]").await;
    assert!(!require.is_selected().await.unwrap());
    require.click().await.unwrap();
    b.fill("#group_allowlist", "Finance").await;
    b.click_and_wait("button[value=preview]").await;
    assert_eq!(b.h1().await, "Policy: preview");
    let preview = b.text("[role=status]").await;
    assert!(
        preview.contains("1 group will stop being subteams"),
        "{preview}"
    );
    assert!(preview.contains("Sales"), "{preview}");
    assert!(preview.contains("require_names"), "{preview}");
    b.axe("policy preview").await;
    b.screenshot("policy-preview").await;
    b.click_and_wait("button[value=save]").await;
    assert_eq!(b.path().await, format!("/teams/{acme}/policy?saved=1"));
    assert!(b.text("[role=status]").await.contains("Saved."));
    assert!(
        b.find("input[name=require_names]")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    b.screenshot("policy-saved").await;
    // The next SCIM write follows it.
    let (status, body) = scim_call(
        reqwest::Method::POST,
        format!("{scim}/Users"),
        &token,
        Some(json!({"schemas": [USER_SCHEMA], "userName": "nameless@contoso.example"})),
    )
    .await;
    assert_eq!(status, 400, "a user without names is refused: {body}");
    b.goto(&format!("/teams/{acme}/subteams")).await;
    let subteams = b.texts("main table tbody tr").await;
    assert!(
        subteams
            .iter()
            .any(|r| r.starts_with("Sales") && r.contains("outside the allowlist")),
        "{subteams:?}"
    );

    // Tokens: issue one, use it, revoke it.
    b.goto(&format!("/teams/{acme}/tokens")).await;
    b.axe("tokens").await;
    b.fill("#label", "entra-browser").await;
    b.click_and_wait("form.panel button[type=submit]").await;
    assert_eq!(b.h1().await, "Token issued");
    let secret = b.text("#secret").await.trim().to_owned();
    assert!(secret.len() > 20, "{secret}");
    assert!(b.text("#tenant-url").await.contains("/api/external/scim"));
    b.axe("token issued").await;
    b.screenshot("token-issued").await;
    let (status, _) = scim_call(reqwest::Method::GET, format!("{scim}/Users"), &secret, None).await;
    assert_eq!(status, 200, "the issued token works");

    // The test-connection panel, with the new token and a made-up one.
    b.goto(&format!("/teams/{acme}/connect")).await;
    b.axe("connect").await;
    b.fill("#token", &secret).await;
    b.click_and_wait("main form button[type=submit]").await;
    let outcome = b.text("main [role=status]").await;
    assert!(outcome.contains("Connected."), "{outcome}");
    assert!(outcome.contains("→ 200"), "{outcome}");
    b.axe("connect (200)").await;
    b.screenshot("connect-ok").await;
    b.fill("#token", "scimd_not-a-real-token").await;
    b.click_and_wait("main form button[type=submit]").await;
    let outcome = b.text("main [role=status]").await;
    assert!(outcome.contains("Not connected."), "{outcome}");
    assert!(outcome.contains("→ 401"), "{outcome}");
    b.axe("connect (401)").await;
    b.screenshot("connect-refused").await;

    // Revoke: the confirmation page, then SCIM refuses the token.
    b.goto(&format!("/teams/{acme}/tokens")).await;
    let rows = b.find_all("main table tbody tr").await;
    let mut revoke = None;
    for row in rows {
        if row.text().await.unwrap().starts_with("entra-browser") {
            revoke = Some(row.find(fantoccini::Locator::Css("a")).await.unwrap());
        }
    }
    revoke.expect("the token is listed").click().await.unwrap();
    b.find("button.danger").await;
    assert!(b.path().await.ends_with("/revoke"));
    assert_eq!(b.h1().await, "Revoke token entra-browser?");
    b.axe("revoke confirmation").await;
    b.screenshot("token-revoke").await;
    b.click_and_wait("button.danger").await;
    assert_eq!(b.path().await, format!("/teams/{acme}/tokens"));
    assert!(b.body().await.contains("revoked"));
    let refused = eventually(Duration::from_secs(5), || {
        let (scim, secret) = (scim.clone(), secret.clone());
        async move {
            scim_call(reqwest::Method::GET, format!("{scim}/Users"), &secret, None)
                .await
                .0
                == 401
        }
    })
    .await;
    assert!(refused, "SCIM still takes the revoked token after 5 s");

    // A form posted without its CSRF token is refused.
    b.goto(&format!("/teams/{acme}/tokens")).await;
    b.client
        .execute(
            "document.querySelector('form.panel input[name=csrf]').remove();",
            vec![],
        )
        .await
        .unwrap();
    b.fill("#label", "forged").await;
    b.click_and_wait("form.panel button[type=submit]").await;
    assert_eq!(b.h1().await, "403 Forbidden");
    assert!(b.text(".error-detail").await.contains("this form is stale"));
    b.axe("error page (403)").await;
    b.screenshot("csrf-refused").await;
    b.goto(&format!("/teams/{acme}/tokens")).await;
    assert!(!b.body().await.contains("forged"), "no token was issued");
    setup.finish().await;
}

/// Whether a member is in the team (the member side of a held removal).
fn in_team(db: &Database, id: &str) -> bool {
    use scimd::store::schema::members;
    let conn = &mut *db.pool.get().unwrap();
    members::table
        .filter(members::id.eq(id))
        .select(members::in_team)
        .first(conn)
        .unwrap()
}

/// Removals past the guard held, then approved and rejected in the browser.
async fn held_removals_are_decided_in_the_browser(backend: Backend) {
    let Some(setup) = Setup::new(backend, &[]).await else {
        return;
    };
    let b = &setup.browser;
    let acme = setup.team_id("acme");
    let scim = setup.scim();
    let token = setup.db.token.clone();
    setup
        .db
        .cli(&["policy", "set", "--tenant", "acme", "--removal-guard", "1"]);
    let mut ids = Vec::new();
    for n in 0..4 {
        let user_name = format!("leaver{n}@contoso.example");
        let (status, body) = scim_call(
            reqwest::Method::POST,
            format!("{scim}/Users"),
            &token,
            Some(entra_user(
                "Leaver",
                &n.to_string(),
                &user_name,
                "Clerk",
                "Ops",
            )),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..3] {
        let (status, body) = scim_call(
            reqwest::Method::PATCH,
            format!("{scim}/Users/{id}"),
            &token,
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"}]})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        !in_team(&setup.db, &ids[0]),
        "the first removal went through"
    );
    assert!(in_team(&setup.db, &ids[1]) && in_team(&setup.db, &ids[2]));

    b.sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    b.goto(&format!("/teams/{acme}")).await;
    assert!(b.body().await.contains("2 removals are held"));
    b.goto(&format!("/teams/{acme}/held")).await;
    let held = b.texts("main tbody td:nth-child(2)").await;
    assert_eq!(held, ["leaver1@contoso.example", "leaver2@contoso.example"]);
    b.axe("held").await;
    b.screenshot("held").await;
    // Approve leaver1.
    b.find("main tbody tr:nth-child(1) input[type=checkbox]")
        .await
        .click()
        .await
        .unwrap();
    b.click_and_wait("button[value=approve]").await;
    assert_eq!(b.path().await, format!("/teams/{acme}/held"));
    assert_eq!(
        b.texts("main tbody td:nth-child(2)").await,
        ["leaver2@contoso.example"]
    );
    // Reject leaver2 (clicking its label ticks its box).
    b.find("main tbody tr:nth-child(1) label")
        .await
        .click()
        .await
        .unwrap();
    b.click_and_wait("button[value=reject]").await;
    assert!(
        b.text("main .panel.notice")
            .await
            .contains("Nothing is held.")
    );
    b.screenshot("held-decided").await;

    assert!(!in_team(&setup.db, &ids[1]), "approved: removed");
    assert!(in_team(&setup.db, &ids[2]), "rejected: kept");
    assert!(in_team(&setup.db, &ids[3]), "untouched");
    assert!(
        setup
            .db
            .cli(&["held", "--tenant", "acme"])
            .contains("no held removals")
    );
    // SCIM: the IdP saw every deactivation as done.
    for id in &ids[..3] {
        let (status, body) = scim_call(
            reqwest::Method::GET,
            format!("{scim}/Users/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!((status, &body["active"]), (200, &json!(false)), "{body}");
    }
    setup.finish().await;
}

/// A team admin sees only their team; disabling the account or resetting
/// its password ends its sessions; an idle session ends.
async fn team_admins_and_sessions(backend: Backend) {
    let Some(setup) = Setup::new(backend, &[]).await else {
        return;
    };
    let b = &setup.browser;
    let acme = setup.team_id("acme");
    let other_token = setup.db.tenant_with_token("globex", "okta");
    let globex = setup.team_id("globex");
    let (status, body) = scim_call(
        reqwest::Method::POST,
        format!("{}/Users", setup.scim()),
        &other_token,
        Some(entra_user(
            "Hidden",
            "Person",
            "hidden@globex.example",
            "Spy",
            "Secrets",
        )),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let globex_member = body["id"].as_str().unwrap().to_owned();
    let globex_token = {
        let conn = &mut *setup.db.pool.get().unwrap();
        let tenant = scimd::admin::find_tenant(conn, "globex").unwrap();
        scimd::store::tokens::list(&tenant.tenant_id(), conn).unwrap()[0]
            .id
            .clone()
    };
    account(
        &setup.db,
        &["create", "alice", "--tenant", "acme"],
        "alice's first password",
    );

    b.sign_in("alice", "alice's first password").await;
    assert_eq!(
        b.path().await,
        format!("/teams/{acme}"),
        "a team admin lands on their team"
    );
    b.goto("/teams").await;
    assert_eq!(
        b.path().await,
        format!("/teams/{acme}"),
        "no teams list for a team admin"
    );
    assert!(!b.text("header.top").await.contains("All teams"));
    let pages = [
        String::new(),
        "?range=90d".into(),
        "/activity.csv".into(),
        "/failures".into(),
        "/members".into(),
        format!("/members/{globex_member}"),
        "/subteams".into(),
        "/policy".into(),
        "/tokens".into(),
        format!("/tokens/{globex_token}/revoke"),
        "/held".into(),
        "/connect".into(),
    ];
    for page in &pages {
        b.goto(&format!("/teams/{globex}{page}")).await;
        assert_eq!(
            b.h1().await,
            "404 Not Found",
            "alice opening globex's {page:?}"
        );
        assert!(!b.body().await.contains("hidden@globex.example"));
    }
    b.axe("error page (404)").await;
    b.screenshot("other-team-404").await;
    // Her own team's pages answer.
    for page in &pages[..5] {
        b.goto(&format!("/teams/{acme}{page}")).await;
        if !page.ends_with(".csv") {
            assert_ne!(
                b.h1().await,
                "404 Not Found",
                "alice opening acme's {page:?}"
            );
        }
    }

    // `account disable` ends her open session.
    b.goto(&format!("/teams/{acme}/members")).await;
    assert_eq!(b.h1().await, "Members");
    account(&setup.db, &["disable", "alice"], "");
    b.goto(&format!("/teams/{acme}/members")).await;
    assert_eq!(b.path().await, "/login", "disabled: signed out");
    b.sign_in("alice", "alice's first password").await;
    assert_eq!(
        b.path().await,
        "/login",
        "a disabled account cannot sign in"
    );

    // `reset-password` enables her with a new password and ends sessions.
    account(
        &setup.db,
        &["reset-password", "alice"],
        "alice's second password",
    );
    b.sign_in("alice", "alice's second password").await;
    assert_eq!(b.path().await, format!("/teams/{acme}"));
    account(
        &setup.db,
        &["reset-password", "alice"],
        "alice's third password",
    );
    b.goto(&format!("/teams/{acme}/members")).await;
    assert_eq!(b.path().await, "/login", "reset: signed out");
    b.sign_in("alice", "alice's second password").await;
    assert_eq!(b.path().await, "/login", "the old password is refused");
    b.sign_in("alice", "alice's third password").await;
    assert_eq!(
        b.path().await,
        format!("/teams/{acme}"),
        "the new password works"
    );

    // A second server on the same database whose sessions idle out in 2 s.
    let (_dir, idle_server, idle_console) =
        start_console(&setup.db, &["--console-idle-secs", "2"]).await;
    b.client
        .goto(&format!("{idle_console}/login"))
        .await
        .unwrap();
    b.fill("#name", "alice").await;
    b.fill("#password", "alice's third password").await;
    b.click_and_wait("main form button[type=submit]").await;
    assert_eq!(b.path().await, format!("/teams/{acme}"));
    b.client
        .goto(&format!("{idle_console}/teams/{acme}/members"))
        .await
        .unwrap();
    assert_eq!(b.h1().await, "Members", "used within 2 s: still signed in");
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.client
        .goto(&format!("{idle_console}/teams/{acme}/members"))
        .await
        .unwrap();
    assert_eq!(b.path().await, "/login", "idle for 3 s: signed out");
    b.screenshot("idle-expired").await;
    idle_server.stop_cleanly();
    setup.finish().await;
}

/// The console's dark colours (prefers-color-scheme: dark) pass axe too.
async fn dark_mode_pages_are_accessible(backend: Backend) {
    let Some(setup) = Setup::new_with(backend, &[], true).await else {
        return;
    };
    let b = &setup.browser;
    let acme = setup.team_id("acme");
    let run = entra_run(&setup.scim(), &setup.db.token).await;
    b.sign_in(OPERATOR, OPERATOR_PASSWORD).await;
    let background = b
        .client
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        background,
        json!("rgb(13, 17, 23)"),
        "the dark stylesheet is on"
    );
    b.axe("teams (dark)").await;
    let member = format!("/members/{}", run.users[0]);
    for page in [
        "",
        "?range=90d",
        "/failures",
        "/members",
        member.as_str(),
        "/subteams",
        "/policy",
        "/tokens",
        "/held",
        "/connect",
    ] {
        b.goto(&format!("/teams/{acme}{page}")).await;
        if page == "/failures" {
            b.find("details summary").await.click().await.unwrap();
        }
        if page.is_empty() {
            b.screenshot("overview-dark").await;
        }
        b.axe(&format!("/teams/{{acme}}{page} (dark)")).await;
    }
    b.fill("#token", "scimd_not-a-real-token").await;
    b.click_and_wait("main form button[type=submit]").await;
    assert!(b.text("main [role=status]").await.contains("→ 401"));
    b.axe("connect (401, dark)").await;
    b.goto("/teams/no-such-team").await;
    assert_eq!(b.h1().await, "404 Not Found");
    b.axe("error page (404, dark)").await;
    b.goto(&format!("/teams/{acme}")).await;
    b.click_and_wait("header.top button").await;
    assert_eq!(b.path().await, "/login");
    b.axe("sign-in (dark)").await;
    b.screenshot("sign-in-dark").await;
    setup.finish().await;
}

for_each_backend!(
    sign_in_is_checked_and_throttled,
    a_provisioning_run_shows_up_everywhere,
    policy_tokens_and_connect,
    held_removals_are_decided_in_the_browser,
    team_admins_and_sessions,
    dark_mode_pages_are_accessible,
);

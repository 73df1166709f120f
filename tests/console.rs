//! The console over plain HTTP: who may see what, sessions, CSRF, and that
//! what it shows and changes is what the CLI and SCIM see. (Browser-driven
//! scenarios are in `console_browser.rs`.)
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Backend, TestApp, TestOptions, USER_SCHEMA};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use scimd::admin;
use scimd::console::ConsoleSettings;
use serde_json::json;

const OPERATOR_PASSWORD: &str = "operator password 1";
const ADMIN_PASSWORD: &str = "acme admin password";

/// A browser stand-in: keeps the session cookie, follows no redirects.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

/// What a page answered.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Page {
    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("the page has a form") + marker.len();
        self.body[start..start + 48].to_owned()
    }

    fn signed_out(&self) -> bool {
        self.status == StatusCode::SEE_OTHER && self.location.as_deref() == Some("/login")
    }
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.console.clone().expect("the console runs"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn answer(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.answer(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(format!("{}{path}", self.base)).form(form);
        self.answer(request).await
    }

    async fn sign_in(&mut self, name: &str, password: &str) -> Page {
        self.post("/login", &[("name", name), ("password", password)])
            .await
    }
}

async fn app_with_console(backend: Backend, idle: Duration) -> Option<TestApp> {
    let options = TestOptions {
        console: Some(ConsoleSettings {
            idle,
            ..ConsoleSettings::for_tests()
        }),
        ..TestOptions::default()
    };
    let app = TestApp::spawn_with(backend, options).await?;
    {
        let conn = &mut *app.pool.get().unwrap();
        admin::create_account(conn, "op", None, OPERATOR_PASSWORD).unwrap();
        let acme = admin::find_tenant(conn, "acme").unwrap();
        admin::create_account(conn, "alice", Some(&acme), ADMIN_PASSWORD).unwrap();
    }
    Some(app)
}

fn tenant_id(app: &TestApp, name: &str) -> String {
    admin::find_tenant(&mut app.pool.get().unwrap(), name)
        .unwrap()
        .id
}

async fn create_user(app: &TestApp, user_name: &str) -> String {
    let created = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": user_name,
                    "name": {"givenName": "Ada", "familyName": "Lovelace"},
                    "emails": [{"value": user_name, "primary": true}]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wrong_passwords_are_refused_then_throttled(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(60)).await else {
        return;
    };
    let mut browser = Browser::new(&app);
    for _ in 0..5 {
        let refused = browser.sign_in("alice", "not the password").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.body.contains("do not match"), "{}", refused.body);
    }
    // The account's budget is spent: even its right password waits.
    let throttled = browser.sign_in("alice", ADMIN_PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.body.contains("too many failed sign-ins"));
    assert!(browser.cookie.is_none());
    // Another account from the same address is not held up by alice's.
    let signed_in = browser.sign_in("op", OPERATOR_PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert!(browser.cookie.is_some());
    assert_eq!(browser.get("/teams").await.status, StatusCode::OK);
}

/// Every page of a team, and every form, with `{t}` for its id.
const TEAM_PAGES: [&str; 12] = [
    "/teams/{t}",
    "/teams/{t}?range=90d",
    "/teams/{t}/activity.csv",
    "/teams/{t}/failures",
    "/teams/{t}/members",
    "/teams/{t}/members/{m}",
    "/teams/{t}/subteams",
    "/teams/{t}/policy",
    "/teams/{t}/tokens",
    "/teams/{t}/tokens/{k}/revoke",
    "/teams/{t}/held",
    "/teams/{t}/connect",
];
const TEAM_FORMS: [&str; 5] = [
    "/teams/{t}/policy",
    "/teams/{t}/tokens",
    "/teams/{t}/tokens/{k}/revoke",
    "/teams/{t}/held",
    "/teams/{t}/connect",
];

async fn a_team_admin_gets_404_for_every_page_of_another_team(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(60)).await else {
        return;
    };
    let globex_token = app.tenant_with_token("globex");
    let globex_user = app
        .request_as(
            &globex_token,
            reqwest::Method::POST,
            "/Users",
            Some(&json!({"schemas": [USER_SCHEMA], "userName": "gina@globex.test"})),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acme_user = create_user(&app, "ada@acme.test").await;
    let token_of = |team: &str| {
        let conn = &mut *app.pool.get().unwrap();
        let tenant = admin::find_tenant(conn, team).unwrap();
        scimd::store::tokens::list(&tenant.tenant_id(), conn).unwrap()[0]
            .id
            .clone()
    };
    let (acme, globex) = (tenant_id(&app, "acme"), tenant_id(&app, "globex"));
    let fill = |path: &str, team: &str, member: &str, token: &str| {
        path.replace("{t}", team)
            .replace("{m}", member)
            .replace("{k}", token)
    };
    let mut alice = Browser::new(&app);
    assert_eq!(
        alice.sign_in("alice", ADMIN_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let home = alice.get("/").await;
    assert_eq!(
        home.location.as_deref(),
        Some(format!("/teams/{acme}").as_str())
    );
    // The operators' list sends a team admin to their own team.
    assert_eq!(alice.get("/teams").await.location, home.location);
    let csrf = alice.get(&format!("/teams/{acme}/tokens")).await.csrf();
    for page in TEAM_PAGES {
        let own = fill(page, &acme, &acme_user, &token_of("acme"));
        assert_eq!(alice.get(&own).await.status, StatusCode::OK, "{own}");
        let other = fill(page, &globex, &globex_user, &token_of("globex"));
        let answer = alice.get(&other).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{other}");
        assert!(!answer.body.contains("globex"), "{other}: {}", answer.body);
    }
    for form in TEAM_FORMS {
        let other = fill(form, &globex, &globex_user, &token_of("globex"));
        let answer = alice
            .post(
                &other,
                &[
                    ("csrf", csrf.as_str()),
                    ("label", "x"),
                    ("decision", "reject-all"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{other}");
    }
    // Nothing of globex changed: its one token still works.
    let still = app
        .request_as(&globex_token, reqwest::Method::GET, "/Users", None)
        .await;
    assert_eq!(still.status(), 200);
    // The operator sees both.
    let mut op = Browser::new(&app);
    op.sign_in("op", OPERATOR_PASSWORD).await;
    let teams = op.get("/teams").await;
    assert!(teams.body.contains("acme") && teams.body.contains("globex"));
    let other = fill(TEAM_PAGES[5], &globex, &globex_user, "");
    assert_eq!(op.get(&other).await.status, StatusCode::OK);
}

async fn forms_without_their_csrf_token_are_refused(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(60)).await else {
        return;
    };
    let acme = tenant_id(&app, "acme");
    let mut op = Browser::new(&app);
    op.sign_in("op", OPERATOR_PASSWORD).await;
    let csrf = op.get(&format!("/teams/{acme}/tokens")).await.csrf();
    let tokens = format!("/teams/{acme}/tokens");
    for token in [None, Some("0".repeat(48)), Some(csrf[..47].to_owned())] {
        let mut form = vec![("label", "stolen")];
        if let Some(token) = &token {
            form.push(("csrf", token));
        }
        let refused = op.post(&tokens, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{token:?}");
    }
    for path in [
        format!("/teams/{acme}/policy"),
        format!("/teams/{acme}/held"),
        "/logout".into(),
    ] {
        assert_eq!(
            op.post(&path, &[("action", "save")]).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    // Nothing was issued, and the session still works.
    let page = op.get(&tokens).await;
    assert!(!page.body.contains("stolen"));
    let issued = op
        .post(&tokens, &[("csrf", &csrf), ("label", "okta")])
        .await;
    assert_eq!(issued.status, StatusCode::OK);
    assert!(issued.body.contains("id=\"secret\""));
    // Another session's token is not this one's.
    let mut other = Browser::new(&app);
    other.sign_in("op", OPERATOR_PASSWORD).await;
    assert_eq!(
        other
            .post(&tokens, &[("csrf", &csrf), ("label", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn sessions_end_on_disable_reset_idle_and_sign_out(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(2)).await else {
        return;
    };
    let acme = tenant_id(&app, "acme");
    let overview = format!("/teams/{acme}");
    // Not signed in: to the sign-in page.
    let mut anonymous = Browser::new(&app);
    assert!(anonymous.get(&overview).await.signed_out());

    let mut alice = Browser::new(&app);
    alice.sign_in("alice", ADMIN_PASSWORD).await;
    assert_eq!(alice.get(&overview).await.status, StatusCode::OK);
    app.cli(&["account", "disable", "alice"]);
    assert!(alice.get(&overview).await.signed_out());
    assert_eq!(
        alice.sign_in("alice", ADMIN_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A reset enables the account again, with the new password only; the
    // session signed before it ends.
    let mut op = Browser::new(&app);
    op.sign_in("op", OPERATOR_PASSWORD).await;
    let new_password = "a brand new password";
    let reset = common::cli_output_with_stdin(
        &app.database_url,
        &["account", "reset-password", "op", "--password-stdin"],
        new_password,
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    assert!(op.get(&overview).await.signed_out());
    assert_eq!(
        op.sign_in("op", OPERATOR_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        op.sign_in("op", new_password).await.status,
        StatusCode::SEE_OTHER
    );

    // In use, the session lives on past the idle time; left idle, it ends.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(op.get(&overview).await.status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert!(op.get(&overview).await.signed_out());

    // Signing out ends it too, and the old cookie is not accepted again.
    op.sign_in("op", new_password).await;
    let cookie = op.cookie.clone();
    let csrf = op.get(&overview).await.csrf();
    let out = op.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert!(op.cookie.is_none());
    assert!(op.get(&overview).await.signed_out());
    // The signed cookie itself stays valid until its expiry (it is not
    // stored on the server): what ends it early is an epoch change.
    op.cookie = cookie;
    app.cli(&["account", "disable", "op"]);
    assert!(op.get(&overview).await.signed_out());
}

async fn the_runs_csv_is_what_the_cli_prints(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(60)).await else {
        return;
    };
    let acme = tenant_id(&app, "acme");
    create_user(&app, "ada@acme.test").await;
    create_user(&app, "bob@acme.test").await;
    let duplicate = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "ADA@acme.test"}),
        )
        .await;
    assert_eq!(duplicate.status(), 409);
    let mut op = Browser::new(&app);
    op.sign_in("op", OPERATOR_PASSWORD).await;
    let overview = op.get(&format!("/teams/{acme}")).await;
    assert!(overview.body.contains("<svg"), "the chart is there");
    assert!(overview.body.contains("2 created"), "{}", overview.body);
    let marker = "/activity.csv?since=";
    let at = overview.body.find(marker).expect("a run with its CSV");
    let href_start = overview.body[..at].rfind('"').unwrap() + 1;
    let href_end = at + overview.body[at..].find('"').unwrap();
    let href = overview.body[href_start..href_end].replace("&amp;", "&");
    let csv = op.get(&href).await;
    assert_eq!(csv.status, StatusCode::OK);
    let query = href.split_once('?').unwrap().1;
    let value = |name: &str| {
        let raw = query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap();
        raw.replace("%3A", ":").replace("%2B", "+")
    };
    let printed = app.cli(&[
        "activity",
        "--tenant",
        "acme",
        "--format",
        "csv",
        "--since",
        &value("since"),
        "--until",
        &value("until"),
    ]);
    assert_eq!(csv.body, printed);
    assert_eq!(
        csv.body.lines().count(),
        4,
        "a header and three writes:\n{}",
        csv.body
    );
    assert!(csv.body.contains("409,uniqueness"));
    // The failure is one click away, with its detail.
    let failures = op.get(&format!("/teams/{acme}/failures")).await;
    assert!(
        failures.body.contains("409 uniqueness"),
        "{}",
        failures.body
    );
    assert!(failures.body.contains("is already taken in this team"));
}

async fn console_changes_reach_scim_and_the_activity_log(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(60)).await else {
        return;
    };
    let acme = tenant_id(&app, "acme");
    let mut alice = Browser::new(&app);
    alice.sign_in("alice", ADMIN_PASSWORD).await;
    let tokens = format!("/teams/{acme}/tokens");
    let csrf = alice.get(&tokens).await.csrf();
    let issued = alice
        .post(&tokens, &[("csrf", &csrf), ("label", "entra")])
        .await;
    let start = issued.body.find("scimd_").expect("the secret is shown");
    let secret: String = issued.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let users = app
        .request_as(&secret, reqwest::Method::GET, "/Users", None)
        .await;
    assert_eq!(users.status(), 200);
    // Revoked in the console: refused over SCIM.
    let token_id = {
        let conn = &mut *app.pool.get().unwrap();
        let tenant = admin::find_tenant(conn, "acme").unwrap();
        scimd::store::tokens::list(&tenant.tenant_id(), conn)
            .unwrap()
            .into_iter()
            .find(|t| t.label == "entra")
            .unwrap()
            .id
    };
    let confirm = alice.get(&format!("{tokens}/{token_id}/revoke")).await;
    assert!(confirm.body.contains("Revoke entra"));
    let revoked = alice
        .post(
            &format!("{tokens}/{token_id}/revoke"),
            &[("csrf", &confirm.csrf())],
        )
        .await;
    assert_eq!(revoked.location.as_deref(), Some(tokens.as_str()));
    let refused = app
        .request_as(&secret, reqwest::Method::GET, "/Users", None)
        .await;
    assert_eq!(refused.status(), 401);

    // A policy change is previewed, then saved, then applied by SCIM.
    let policy = format!("/teams/{acme}/policy");
    let form = alice.get(&policy).await;
    assert!(
        !form.body.contains("Save these changes"),
        "a change is previewed first"
    );
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf", ""),
        ("deprovisioning", "deactivate"),
        ("require_names", "on"),
        ("digests", "on"),
        ("removal_guard", "off"),
        ("run_gap_mins", "10"),
        ("digest_quiet_secs", "900"),
        ("roles", "Global Administrator=team_admin"),
    ];
    let csrf = form.csrf();
    fields[0].1 = &csrf;
    let mut preview_fields = fields.clone();
    preview_fields.push(("action", "preview"));
    let preview = alice.post(&policy, &preview_fields).await;
    assert!(
        preview.body.contains("Settings changed: "),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("require_names"));
    assert!(preview.body.contains("Save these changes"));
    let names_optional = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "before@acme.test"}),
        )
        .await;
    assert_eq!(names_optional.status(), 201, "a preview saves nothing");
    let mut save_fields = fields.clone();
    save_fields.push(("action", "save"));
    let saved = alice.post(&policy, &save_fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let refused = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "after@acme.test"}),
        )
        .await;
    assert_eq!(refused.status(), 400);
    // The log names the account for each change.
    let log = app.cli(&["activity", "--tenant", "acme", "--format", "csv"]);
    let by_alice: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("console: alice"))
        .collect();
    assert_eq!(by_alice.len(), 3, "{log}");
    assert!(by_alice[0].contains(",create,Token,") && by_alice[1].contains(",delete,Token,"));
    assert!(by_alice[2].contains(",update,Policy,") && by_alice[2].contains("require_names"));
}

async fn failed_reads_are_counted_per_hour_and_error(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(60)).await else {
        return;
    };
    let acme = tenant_id(&app, "acme");
    for _ in 0..3 {
        let refused = app.get("/Users?filter=userName%20eq").await;
        assert_eq!(refused.status(), 400);
    }
    for id in ["no-such-1", "no-such-2"] {
        assert_eq!(app.get(&format!("/Users/{id}")).await.status(), 404);
    }
    let mut op = Browser::new(&app);
    op.sign_in("op", OPERATOR_PASSWORD).await;
    // Counting runs off the request path: give it a moment.
    let mut page = String::new();
    for _ in 0..50 {
        page = op.get(&format!("/teams/{acme}/failures")).await.body;
        if page.contains(">3</td>") && page.contains(">2</td>") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(page.contains("invalidFilter"), "{page}");
    assert!(page.contains("<td class=\"num bad\">3</td>"), "{page}");
    assert!(page.contains("<td class=\"num bad\">2</td>"), "{page}");
    assert!(page.contains("no such resource"), "{page}");
}

async fn the_connection_test_calls_scim_as_entra_would(backend: Backend) {
    let Some(app) = app_with_console(backend, Duration::from_secs(60)).await else {
        return;
    };
    let acme = tenant_id(&app, "acme");
    let mut alice = Browser::new(&app);
    alice.sign_in("alice", ADMIN_PASSWORD).await;
    let connect = format!("/teams/{acme}/connect");
    let page = alice.get(&connect).await;
    assert!(
        page.body
            .contains(&format!("{}/api/external/scim", app.address)),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let good = alice
        .post(&connect, &[("csrf", &csrf), ("token", &app.token)])
        .await;
    assert!(good.body.contains("Connected."), "{}", good.body);
    assert!(good.body.contains("<strong>200</strong>"));
    assert!(
        good.body.contains("&quot;totalResults&quot;: 0"),
        "{}",
        good.body
    );
    let bad = alice
        .post(
            &connect,
            &[("csrf", &csrf), ("token", "scimd_nottherightone")],
        )
        .await;
    assert!(bad.body.contains("Not connected."), "{}", bad.body);
    assert!(bad.body.contains("<strong>401</strong>"));
}

for_each_backend!(
    the_connection_test_calls_scim_as_entra_would,
    wrong_passwords_are_refused_then_throttled,
    a_team_admin_gets_404_for_every_page_of_another_team,
    forms_without_their_csrf_token_are_refused,
    sessions_end_on_disable_reset_idle_and_sign_out,
    the_runs_csv_is_what_the_cli_prints,
    console_changes_reach_scim_and_the_activity_log,
    failed_reads_are_counted_per_hour_and_error,
);

/// A console port another process holds stops the start, naming the flag;
/// `off` runs without a console; a console stops with the server.
#[tokio::test]
async fn a_console_port_in_use_is_a_start_up_error_naming_admin_bind() {
    let dir = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = format!("127.0.0.1:{}", holder.local_addr().unwrap().port());
    let url = dir.path().join("scimd.db");
    let refused = common::process::scimd(dir.path())
        .arg("--database-url")
        .arg(&url)
        .args(["serve", "--bind", "127.0.0.1:0", "--admin-bind", &taken])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("error: --admin-bind {taken}: cannot listen there")),
        "{stderr}"
    );

    let server = common::process::Server::start(
        dir.path(),
        url.to_str().unwrap(),
        &["--admin-bind", "off"],
        &[],
    )
    .await;
    let output = server.stop_cleanly();
    assert!(
        output.stderr.contains("console off (--admin-bind off)"),
        "{}",
        output.stderr
    );

    // With the console on, SIGTERM stops both listeners and the process exits 0.
    let server = common::process::Server::start(
        dir.path(),
        url.to_str().unwrap(),
        &["--admin-bind", "127.0.0.1:0"],
        &[],
    )
    .await;
    let output = server.stop_cleanly();
    assert!(
        output.stderr.contains("console listening (--admin-bind)"),
        "{}",
        output.stderr
    );
}

/// Over TLS the console shares the SCIM certificate, its session cookie is
/// `Secure`, and the connection test speaks HTTPS to the public URL: here it
/// reports why a self-signed certificate is refused, as an IdP would.
#[tokio::test]
async fn over_tls_the_cookie_is_secure_and_the_connection_test_checks_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let url = dir.path().join("scimd.db");
    let url = url.to_str().unwrap();
    let token = {
        let mut output = String::new();
        for args in [
            &["tenant", "create", "acme"][..],
            &["token", "issue", "--tenant", "acme", "--label", "entra"],
        ] {
            let ran = common::cli_output(url, args);
            assert!(ran.status.success());
            output = String::from_utf8(ran.stdout).unwrap();
        }
        output.trim().to_owned()
    };
    let made = common::cli_output_with_stdin(
        url,
        &["account", "create", "op", "--operator", "--password-stdin"],
        OPERATOR_PASSWORD,
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let console_port = common::process::free_port();
    let admin_bind = format!("127.0.0.1:{console_port}");
    let server = common::process::Server::spawn(
        dir.path(),
        url,
        &[
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
            "--admin-bind",
            &admin_bind,
        ],
        &[],
    );
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let console = format!("https://127.0.0.1:{console_port}");
    let mut signed_in = None;
    for _ in 0..100 {
        if let Ok(answer) = client
            .post(format!("{console}/login"))
            .form(&[("name", "op"), ("password", OPERATOR_PASSWORD)])
            .send()
            .await
        {
            signed_in = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signed_in = signed_in.expect("the console answers over TLS");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let set_cookie = signed_in.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let acme = {
        let pool = scimd::store::db::connect(url, 1).unwrap();
        admin::find_tenant(&mut pool.get().unwrap(), "acme")
            .unwrap()
            .id
    };
    let connect = format!("{console}/teams/{acme}/connect");
    let page = client
        .get(&connect)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let page = Page {
        status: page.status(),
        location: None,
        body: page.text().await.unwrap(),
    };
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!(
        "https://127.0.0.1:{}/api/external/scim",
        server.port
    )));
    let tested = client
        .post(&connect)
        .header(COOKIE, &cookie)
        .form(&[("csrf", page.csrf().as_str()), ("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(tested.contains("Not connected."), "{tested}");
    assert!(tested.contains("invalid peer certificate"), "{tested}");
    server.stop_cleanly();
}

/// `scimd account create` needs a role; without --password-stdin it prints
/// a generated password once, and that password signs in.
#[test]
fn account_create_needs_a_role_and_prints_a_working_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("scimd.db");
    let url = url.to_str().unwrap();
    assert!(
        common::cli_output(url, &["tenant", "create", "acme"])
            .status
            .success()
    );
    let refused = common::cli_output(url, &["account", "create", "kim"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("<--operator|--tenant <TENANT>>"));
    let made = common::cli_output(url, &["account", "create", "Kim", "--tenant", "ACME"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let password = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(password.len() >= 20, "{password:?}");
    let pool = scimd::store::db::connect(url, 1).unwrap();
    let conn = &mut *pool.get().unwrap();
    let account = scimd::store::accounts::find_by_name(conn, "kim")
        .unwrap()
        .expect("names are kept lower-cased");
    assert!(admin::password_accepted(Some(&account), &password));
    assert!(!admin::password_accepted(
        Some(&account),
        "not the password"
    ));
    assert!(!admin::password_accepted(None, &password));
    let listed = String::from_utf8(common::cli_output(url, &["account", "list"]).stdout).unwrap();
    assert!(listed.contains("kim\tacme\t"), "{listed}");
    assert!(!listed.contains(&password), "the list shows no password");
}

/// The per-account sign-in budget lives in the database: failures made on
/// two servers of one deployment add up.
#[tokio::test]
async fn replicas_share_the_sign_in_budget_of_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("scimd.db");
    let url = url.to_str().unwrap();
    assert!(common::cli_output(url, &["migrate"]).status.success());
    let made = common::cli_output_with_stdin(
        url,
        &["account", "create", "op", "--operator", "--password-stdin"],
        OPERATOR_PASSWORD,
    );
    assert!(made.status.success());
    let mut consoles = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let port = common::process::free_port();
        let bind = format!("127.0.0.1:{port}");
        servers.push(
            common::process::Server::start(dir.path(), url, &["--admin-bind", &bind], &[]).await,
        );
        consoles.push(format!("http://127.0.0.1:{port}"));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |console: &str, password: &str| {
        client
            .post(format!("{console}/login"))
            .form(&[("name", "op"), ("password", password)])
            .send()
    };
    for (console, failures) in [(&consoles[0], 3), (&consoles[1], 2)] {
        for _ in 0..failures {
            let refused = sign_in(console, "wrong password!").await.unwrap();
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        }
    }
    // The first server saw only three failures; the account's row has five.
    let throttled = sign_in(&consoles[0], OPERATOR_PASSWORD).await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    for server in servers {
        server.stop_cleanly();
    }
}

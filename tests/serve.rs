//! `scimd serve` as an operator runs it: the real binary with its output
//! redirected (as under systemd or Docker), its logs, the first start's
//! token, and the request id every answer carries.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::process::{Server, scimd};
use common::{TestApp, json};
use serde_json::Value;

const SCIM: &str = "/api/external/scim";

/// The id of tenant `default`, as `scimd tenant list` prints it.
fn default_tenant_id(dir: &Path) -> String {
    let output = scimd(dir).args(["tenant", "list"]).output().unwrap();
    assert!(output.status.success());
    let listing = String::from_utf8(output.stdout).unwrap();
    let line = listing
        .lines()
        .find(|line| line.split('\t').nth(1) == Some("default"))
        .unwrap_or_else(|| panic!("no tenant default in {listing}"));
    line.split('\t').next().unwrap().to_owned()
}

fn token_file(dir: &Path) -> PathBuf {
    dir.join("scimd.db.bootstrap-token")
}

fn read_token(dir: &Path) -> String {
    std::fs::read_to_string(token_file(dir))
        .unwrap()
        .trim()
        .to_owned()
}

/// Every line of a `--log-format json` stream, parsed (each must be JSON).
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

fn with_request_id<'a>(lines: &'a [Value], id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|line| line["fields"]["request_id"] == id)
        .collect()
}

/// The README's first command with its output redirected: the token goes
/// to an owner-only file beside the database, never to stdout or the log,
/// and the log says where it is and which database is in use.
#[tokio::test]
async fn a_first_start_with_redirected_output_writes_the_token_to_an_owner_only_file() {
    let dir = tempfile::tempdir().unwrap();
    // Debug logging: the most a token could leak into.
    let server = Server::start_on_default(dir.path(), &[], &[("RUST_LOG", "debug")]).await;
    let token = read_token(dir.path());
    assert!(token.starts_with("scimd_"), "{token}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(token_file(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "readable only by its owner");
    }
    let client = reqwest::Client::new();
    let url = server.url(&format!("{SCIM}/ServiceProviderConfig"));
    let answer = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let output = server.stop_cleanly();

    assert!(
        output.stdout.is_empty(),
        "nothing on stdout: {:?}",
        output.stdout
    );
    assert!(!output.stderr.contains(&token), "{}", output.stderr);
    let database = dir.path().join("scimd.db");
    assert!(
        output
            .stderr
            .contains(&format!("SQLite {}", database.display())),
        "the log names the database: {}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains(&token_file(dir.path()).display().to_string()),
        "the log names the token's file: {}",
        output.stderr
    );
    assert!(output.stderr.contains("bootstrap"), "{}", output.stderr);
    assert!(
        output.stderr.contains("scimd listening"),
        "{}",
        output.stderr
    );

    // A later start finds the tenant: no new token, and the old file is no obstacle.
    let again = Server::start_on_default(dir.path(), &[], &[])
        .await
        .stop_cleanly();
    assert!(!again.stderr.contains("created tenant"), "{}", again.stderr);
    assert_eq!(read_token(dir.path()), token);
}

/// `--bootstrap-token-file` names the file; one that exists already is
/// refused before any tenant is made, so no token is lost.
#[tokio::test]
async fn the_token_file_can_be_named_and_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken");
    std::fs::write(&taken, "keep me").unwrap();
    let refused = scimd(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--bootstrap-token-file"])
        .arg(&taken)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8(refused.stderr).unwrap();
    let last = message.lines().last().unwrap();
    assert!(last.contains("--bootstrap-token-file"), "{message}");
    assert!(last.contains(&taken.display().to_string()), "{message}");
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "keep me");
    let listing = scimd(dir.path()).args(["tenant", "list"]).output().unwrap();
    assert!(
        listing.stdout.is_empty(),
        "no tenant was made without a place for its token"
    );

    let chosen = dir.path().join("first-token");
    let server = Server::start_on_default(
        dir.path(),
        &[],
        &[("SCIMD_BOOTSTRAP_TOKEN_FILE", chosen.to_str().unwrap())],
    )
    .await;
    let token = std::fs::read_to_string(&chosen).unwrap();
    let answer = reqwest::Client::new()
        .get(server.url(&format!("{SCIM}/ServiceProviderConfig")))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    server.stop_cleanly();
    assert!(!token_file(dir.path()).exists(), "only the named file");
}

/// Issue 15: with output to a pipe, the default `pretty` format writes no
/// colour codes, on either stream, whatever was logged.
#[tokio::test]
async fn logs_to_a_pipe_carry_no_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on_default(dir.path(), &[], &[("SCIMD_ACCESS_LOG", "true")]).await;
    let token = read_token(dir.path());
    let client = reqwest::Client::new();
    for path in ["/ServiceProviderConfig", "/Users?count=1", "/Users/nobody"] {
        let url = server.url(&format!("{SCIM}{path}"));
        client.get(&url).bearer_auth(&token).send().await.unwrap();
        client.get(&url).send().await.unwrap();
    }
    client.get(server.url("/nowhere")).send().await.unwrap();
    let output = server.stop_cleanly();
    assert!(!output.stdout.contains('\x1b'), "no ESC on stdout");
    assert!(
        !output.stderr.as_bytes().contains(&0x1b),
        "no ESC on stderr"
    );
    // The lines that would have been coloured are there: levels, access log, refusals.
    for expected in [
        " INFO ",
        " WARN ",
        "route=/api/external/scim/Users/{id}",
        "status=404",
    ] {
        assert!(
            output.stderr.contains(expected),
            "{expected}: {}",
            output.stderr
        );
    }
}

/// `--access-log`: one line per request, in the log format chosen, with
/// route pattern, method, status, duration, client address and kind, team
/// and request id; never the token, the Authorization header or the query.
#[tokio::test]
async fn the_access_log_has_one_line_per_request_and_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start_on_default(dir.path(), &["--access-log", "--log-format", "json"], &[]).await;
    let token = read_token(dir.path());
    let client = reqwest::Client::new();
    let filter = "userName eq \"ann.secret@example.com\"";
    let answer = client
        .get(server.url(&format!("{SCIM}/Users")))
        .query(&[("filter", filter)])
        .bearer_auth(&token)
        .header("user-agent", "Okta SCIM Client 1.0")
        .header("x-request-id", "okta-list-1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let bogus = "scimd_aaaaaaaaaaaa_bogusbogusbogusbogusbogusbogusbogusbogus";
    let answer = client
        .get(server.url(&format!("{SCIM}/Users")))
        .bearer_auth(bogus)
        .header("user-agent", "Azure AD SCIM Background Service")
        .header("x-request-id", "entra-2")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let output = server.stop_cleanly();
    let team = default_tenant_id(dir.path());

    let lines = json_lines(&output.stderr);
    let access: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "scimd::access")
        .collect();
    // The readiness probes, then the two requests above.
    assert!(access.len() >= 3, "{}", output.stderr);
    let listed = with_request_id(&lines, "okta-list-1");
    assert_eq!(listed.len(), 1, "{}", output.stderr);
    let fields = &listed[0]["fields"];
    assert_eq!(listed[0]["level"], "INFO");
    assert_eq!(fields["route"], "/api/external/scim/Users");
    assert_eq!(fields["method"], "GET");
    assert_eq!(fields["status"], 200);
    assert!(fields["duration_ms"].as_f64().unwrap() >= 0.0, "{fields}");
    assert_eq!(fields["client_addr"], "127.0.0.1");
    assert_eq!(fields["client"], "okta");
    assert_eq!(fields["team"], team.as_str());

    let refused = with_request_id(&lines, "entra-2");
    let access_line = refused
        .iter()
        .find(|line| line["target"] == "scimd::access")
        .unwrap();
    assert_eq!(access_line["fields"]["status"], 401);
    assert_eq!(access_line["fields"]["client"], "entra");
    assert_eq!(
        access_line["fields"]["team"], "-",
        "no team without a token"
    );

    for secret in [
        token.as_str(),
        bogus,
        "Bearer",
        "ann.secret",
        "authorization",
    ] {
        assert!(
            !output
                .stderr
                .to_lowercase()
                .contains(&secret.to_lowercase()),
            "{secret} is logged: {}",
            output.stderr
        );
    }
}

/// Without `--access-log`, a request that fails leaves one line naming its
/// team (by id), route and request id; a create's 409 line names the user
/// it collided with, not the `userName` the client sent.
#[tokio::test]
async fn an_error_line_names_the_team_and_request_but_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on_default(dir.path(), &["--log-format", "json"], &[]).await;
    let token = read_token(dir.path());
    let client = reqwest::Client::new();
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "dana.private@example.com",
    });
    let mut answers = Vec::new();
    for id in ["create-1", "create-2"] {
        let answer = client
            .post(server.url(&format!("{SCIM}/Users")))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .header("x-request-id", id)
            .body(user.to_string())
            .send()
            .await
            .unwrap();
        answers.push(json(answer).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [201, 409]);
    let created_id = answers[0].1["id"].as_str().unwrap().to_owned();
    let missing = client
        .get(server.url(&format!("{SCIM}/Users/no-such-id")))
        .bearer_auth(&token)
        .header("x-request-id", "lookup-3")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let output = server.stop_cleanly();
    let team = default_tenant_id(dir.path());
    let lines = json_lines(&output.stderr);

    assert!(
        with_request_id(&lines, "create-1").is_empty(),
        "a success is not logged without --access-log"
    );
    let conflict = with_request_id(&lines, "create-2");
    assert_eq!(conflict.len(), 1, "{}", output.stderr);
    assert_eq!(conflict[0]["level"], "WARN");
    let fields = &conflict[0]["fields"];
    assert_eq!(fields["status"], 409);
    assert_eq!(fields["scim_type"], "uniqueness");
    assert_eq!(fields["team"], team.as_str());
    assert_eq!(fields["route"], "/api/external/scim/Users");
    assert_eq!(
        fields["resource"],
        created_id.as_str(),
        "the user it collided with"
    );
    assert!(
        !output.stderr.contains("dana.private"),
        "the userName is personal data: {}",
        output.stderr
    );

    let lookup = with_request_id(&lines, "lookup-3");
    assert_eq!(lookup.len(), 1, "{}", output.stderr);
    assert_eq!(lookup[0]["fields"]["resource"], "no-such-id");
    assert_eq!(lookup[0]["fields"]["team"], team.as_str());
}

/// Every scrape of `/metrics` used to log `ERROR NotFound("no such
/// endpoint")`: the unknown-route handler answered before the metrics
/// middleware replaced its answer.
#[tokio::test]
async fn a_metrics_scrape_logs_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on_default(dir.path(), &[], &[("RUST_LOG", "debug")]).await;
    let client = reqwest::Client::new();
    for scrape in 0..3 {
        let answer = client.get(server.url("/metrics")).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        let body = answer.text().await.unwrap();
        assert!(body.contains("scimd_http_requests_total"), "{body}");
        // A scrape is counted once answered, so the second one sees the first.
        if scrape > 0 {
            assert!(
                body.contains("endpoint=\"/metrics\",method=\"GET\",status=\"200\""),
                "{body}"
            );
        }
    }
    let output = server.stop_cleanly();
    for noise in ["ERROR", "WARN scimd::http", "NotFound", "no such endpoint"] {
        assert!(!output.stderr.contains(noise), "{noise}: {}", output.stderr);
    }
}

/// `SCIMD_METRICS_TEAM_LABEL` (as a unit would set it) reaches the
/// provisioning counters: they name the team by id.
#[tokio::test]
async fn the_metrics_team_label_is_set_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start_on_default(dir.path(), &[], &[("SCIMD_METRICS_TEAM_LABEL", "true")]).await;
    let token = read_token(dir.path());
    let client = reqwest::Client::new();
    let answer = client
        .post(server.url(&format!("{SCIM}/Users")))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(common::user_body("ann@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let body = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server.stop_cleanly();
    let team = default_tenant_id(dir.path());
    let series = format!(
        "scimd_provisioning_operations_total{{operation=\"create\",outcome=\"success\",\
         resource_type=\"User\",team=\"{team}\"}} 1"
    );
    assert!(body.lines().any(|line| line == series), "{series}: {body}");
}

fn request_id_of(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// A client's own short id comes back on success and on errors alike.
async fn a_valid_request_id_is_echoed(app: TestApp) {
    let cases = [
        (format!("{SCIM}/ServiceProviderConfig"), true, 200),
        (format!("{SCIM}/ServiceProviderConfig"), false, 401),
        (format!("{SCIM}/Users/no-such-id"), true, 404),
        ("/no/such/route".to_owned(), true, 404),
        ("/healthz".to_owned(), false, 200),
    ];
    for (n, (path, authenticated, status)) in cases.into_iter().enumerate() {
        let id = format!("okta-{n}_a.B");
        let mut request = app
            .client
            .get(format!("{}{path}", app.address))
            .header("x-request-id", &id);
        if authenticated {
            request = request.bearer_auth(&app.token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(request_id_of(&response), id, "{path}");
    }
}

/// Anything but a short token of letters, digits, `-`, `_`, `.` is replaced
/// by a fresh id; a request without one gets one too.
async fn an_invalid_request_id_is_replaced(app: TestApp) {
    let long = "a".repeat(200);
    let mut seen = std::collections::HashSet::new();
    for sent in [
        Some("has space"),
        Some(long.as_str()),
        Some("semi;colon"),
        None,
    ] {
        let mut request = app.client.get(app.url("/Users/no-such-id"));
        if let Some(sent) = sent {
            request = request.header("x-request-id", sent);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let id = request_id_of(&response);
        assert_ne!(Some(id.as_str()), sent);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh UUID: {id}");
        seen.insert(id);
    }
    assert_eq!(seen.len(), 4, "each request its own id");
    let (status, _) = json(app.get("/ServiceProviderConfig").await).await;
    assert_eq!(status, 200);
}

on_both_backends!(
    a_valid_request_id_is_echoed,
    an_invalid_request_id_is_replaced
);

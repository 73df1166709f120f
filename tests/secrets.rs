//! No secrets in logs: the real binary at `RUST_LOG=debug` with
//! `--access-log`, in both log formats, through an Okta-style and an
//! Entra-style provisioning run (creates, a PUT and a PATCH with a
//! password, groups, deactivation, deletes), failing requests that carry
//! passwords, and refused tokens. Nothing it writes on stderr, nor its
//! activity log, holds a token, a token's secret part, an `Authorization`
//! header value or a password.
#![allow(clippy::unwrap_used)]

mod common;

use common::process::{Database, Server};
use common::{Backend, ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA};
use reqwest::Method;
use serde_json::{Value, json};

const OKTA: &str = "Okta SCIM Client 1.0.0";
const ENTRA: &str = "Azure AD SCIM Background Service";

/// A run's client: one server, one token at a time, every request counted.
struct Run<'a> {
    server: &'a Server,
    client: reqwest::Client,
    requests: usize,
    /// Every secret the run sent: none may be logged.
    secrets: Vec<String>,
}

impl Run<'_> {
    /// A fresh secret-looking value, remembered.
    fn secret(&mut self, what: &str) -> String {
        let secret = format!("{what}-{}", uuid::Uuid::new_v4().simple());
        self.secrets.push(secret.clone());
        secret
    }

    async fn send(
        &mut self,
        authorization: &str,
        agent: &str,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.server.scim()))
            .header("authorization", authorization)
            .header("user-agent", agent);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body);
        }
        self.requests += 1;
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn call(
        &mut self,
        token: &str,
        agent: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.send(
            &format!("Bearer {token}"),
            agent,
            method,
            path,
            body.map(Value::to_string),
        )
        .await
    }
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// Okta's life cycle: lookup, create with a password, GET, PUT with a new
/// password, a password PATCH, a pushed group renamed and emptied, the user
/// deactivated and deleted.
async fn okta(run: &mut Run<'_>, token: &str) {
    let user_name = format!("okta.{}@example.com", uuid::Uuid::new_v4().simple());
    let lookup = format!("/Users?filter=userName%20eq%20%22{user_name}%22&startIndex=1&count=100");
    let (status, _) = run.call(token, OKTA, Method::GET, &lookup, None).await;
    assert_eq!(status, 200);
    let password = run.secret("okta-create-password");
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Olive", "familyName": "Okta"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "password": password,
        "active": true,
        "groups": [],
    });
    let (status, user) = run
        .call(token, OKTA, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let (status, _) = run.call(token, OKTA, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    // The same create again: a 409 carrying a password.
    let (status, _) = run
        .call(token, OKTA, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 409);

    let mut replacement = body.clone();
    replacement["password"] = json!(run.secret("okta-put-password"));
    replacement["title"] = json!("Pilot");
    let (status, _) = run
        .call(token, OKTA, Method::PUT, &path, Some(&replacement))
        .await;
    assert_eq!(status, 200);
    let change =
        patch(json!([{"op": "replace", "value": {"password": run.secret("okta-patch-password")}}]));
    let (status, answer) = run
        .call(token, OKTA, Method::PATCH, &path, Some(&change))
        .await;
    assert!([200, 204].contains(&status), "{status} {answer}");

    let group = json!({"schemas": [GROUP_SCHEMA], "displayName": "Okta pilots", "members": [{"value": id}]});
    let (status, group) = run
        .call(token, OKTA, Method::POST, "/Groups", Some(&group))
        .await;
    assert_eq!(status, 201);
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let rename = patch(
        json!([{"op": "replace", "value": {"id": group["id"], "displayName": "Okta flyers"}}]),
    );
    let (status, _) = run
        .call(token, OKTA, Method::PATCH, &group_path, Some(&rename))
        .await;
    assert!([200, 204].contains(&status));
    let empty = patch(json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]));
    let (status, _) = run
        .call(token, OKTA, Method::PATCH, &group_path, Some(&empty))
        .await;
    assert!([200, 204].contains(&status));
    let deactivate = patch(json!([{"op": "replace", "value": {"active": false}}]));
    let (status, _) = run
        .call(token, OKTA, Method::PATCH, &path, Some(&deactivate))
        .await;
    assert_eq!(status, 200);
    let (status, _) = run
        .call(token, OKTA, Method::DELETE, &group_path, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = run.call(token, OKTA, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
}

/// Entra's: the connection test, a create with the enterprise extension and
/// a password, capitalised PATCH ops, a group found by name and given the
/// user, the user disabled with "False", then deleted.
async fn entra(run: &mut Run<'_>, token: &str) {
    let probe = format!(
        "/Users?filter=userName%20eq%20%22{}%22",
        uuid::Uuid::new_v4()
    );
    let (status, _) = run.call(token, ENTRA, Method::GET, &probe, None).await;
    assert_eq!(status, 200);
    let user_name = format!("entra.{}@example.com", uuid::Uuid::new_v4().simple());
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "entra-ext-1",
        "userName": user_name,
        "active": true,
        "displayName": "Ezra Entra",
        "password": run.secret("entra-create-password"),
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"givenName": "Ezra", "familyName": "Entra"},
        ENTERPRISE: {"department": "Ops", "manager": {"value": "someone"}},
    });
    let (status, user) = run
        .call(token, ENTRA, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let update = patch(json!([
        {"op": "Replace", "path": "title", "value": "Engineer"},
        {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Platform"},
    ]));
    let (status, answer) = run
        .call(token, ENTRA, Method::PATCH, &path, Some(&update))
        .await;
    assert_eq!(status, 200, "{answer}");

    let group =
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Entra engineers", "externalId": "g-1"});
    let (status, group) = run
        .call(token, ENTRA, Method::POST, "/Groups", Some(&group))
        .await;
    assert_eq!(status, 201);
    let found =
        "/Groups?filter=displayName%20eq%20%22Entra%20engineers%22&excludedAttributes=members";
    let (status, _) = run.call(token, ENTRA, Method::GET, found, None).await;
    assert_eq!(status, 200);
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let add = patch(json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]));
    let (status, _) = run
        .call(token, ENTRA, Method::PATCH, &group_path, Some(&add))
        .await;
    assert!([200, 204].contains(&status));
    let disable = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let (status, _) = run
        .call(token, ENTRA, Method::PATCH, &path, Some(&disable))
        .await;
    assert_eq!(status, 200);
    let (status, _) = run.call(token, ENTRA, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
}

/// Requests that fail while carrying a password, in every place one can be.
async fn failures(run: &mut Run<'_>, token: &str) {
    // Not JSON, cut off after the password.
    let cut = format!(
        "{{\"schemas\":[\"{USER_SCHEMA}\"],\"userName\":\"cut@example.com\",\"password\":\"{}\"",
        run.secret("cut-off-password")
    );
    let (status, _) = run
        .send(
            &format!("Bearer {token}"),
            OKTA,
            Method::POST,
            "/Users",
            Some(cut),
        )
        .await;
    assert_eq!(status, 400);
    // A password of the wrong type.
    for wrong in [
        json!({"value": run.secret("object-password")}),
        json!([run.secret("array-password")]),
    ] {
        let body =
            json!({"schemas": [USER_SCHEMA], "userName": "typed@example.com", "password": wrong});
        let (status, _) = run
            .call(token, OKTA, Method::POST, "/Users", Some(&body))
            .await;
        assert_eq!(status, 400);
    }
    // A PATCH that fails after setting a password: nothing applies.
    let user_name = format!("fails.{}@example.com", uuid::Uuid::new_v4().simple());
    let body = json!({"schemas": [USER_SCHEMA], "userName": user_name});
    let (status, user) = run
        .call(token, OKTA, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201);
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let failing = patch(json!([
        {"op": "replace", "path": "password", "value": run.secret("patch-then-fail-password")},
        {"op": "frobnicate", "path": "title", "value": "x"},
    ]));
    let (status, _) = run
        .call(token, OKTA, Method::PATCH, &path, Some(&failing))
        .await;
    assert_eq!(status, 400);
    let unknown_op = patch(
        json!([{"op": "frobnicate", "path": "password", "value": run.secret("bad-op-password")}]),
    );
    let (status, _) = run
        .call(token, OKTA, Method::PATCH, &path, Some(&unknown_op))
        .await;
    assert_eq!(status, 400);
    let typed = patch(
        json!([{"op": "replace", "path": "password", "value": [run.secret("patch-array-password")]}]),
    );
    let (status, _) = run
        .call(token, OKTA, Method::PATCH, &path, Some(&typed))
        .await;
    assert_eq!(status, 400);
    // A stale If-Match on a PUT with a password.
    let mut stale = body.clone();
    stale["password"] = json!(run.secret("stale-put-password"));
    let answer = run
        .client
        .put(format!("{}{path}", run.server.scim()))
        .bearer_auth(token)
        .header("if-match", "W/\"999\"")
        .header("content-type", "application/scim+json")
        .body(stale.to_string())
        .send()
        .await
        .unwrap();
    run.requests += 1;
    assert_eq!(answer.status(), 412);
    // Bulk: a create with a password, and one failing with a password.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a",
             "data": {"schemas": [USER_SCHEMA], "userName": format!("bulk.{user_name}"), "password": run.secret("bulk-password")}},
            {"method": "POST", "path": "/Users", "bulkId": "b",
             "data": {"schemas": [USER_SCHEMA], "userName": user_name, "password": run.secret("bulk-409-password")}},
        ],
    });
    let (status, answer) = run
        .call(token, OKTA, Method::POST, "/Bulk", Some(&bulk))
        .await;
    assert_eq!(status, 200, "{answer}");
    // A filter that is not one.
    let (status, _) = run
        .call(
            token,
            OKTA,
            Method::GET,
            "/Users?filter=userName%20eq",
            None,
        )
        .await;
    assert_eq!(status, 400);
}

/// Tokens and headers the server must refuse, each a secret.
async fn refusals(run: &mut Run<'_>, database: &Database, token: &str) {
    let (prefix_part, _) = token.rsplit_once('_').unwrap();
    let wrong_secret = format!("{prefix_part}_{}", "x".repeat(40));
    let revoked = database.cli(&["token", "issue", "--tenant", "acme", "--label", "revoked"]);
    let revoked = revoked.trim().to_owned();
    database.cli(&["token", "revoke", "revoked", "--tenant", "acme"]);
    let garbage = run.secret("not-a-token");
    let basic_credentials = run.secret("basic-credentials");
    let headers = [
        format!("Bearer {wrong_secret}"),
        format!("Bearer {revoked}"),
        format!("Bearer {garbage}"),
        format!("Basic {basic_credentials}"),
        format!("Bearer{token}"),
        token.to_owned(),
    ];
    run.secrets.push(wrong_secret);
    run.secrets.push(revoked.clone());
    run.secrets
        .push(revoked.rsplit_once('_').unwrap().1.to_owned());
    for header in headers {
        let (status, _) = run.send(&header, ENTRA, Method::GET, "/Users", None).await;
        assert_eq!(status, 401, "{header}");
        run.secrets.push(header);
    }
}

async fn provision_and_check_the_log(backend: Backend, format: &str) {
    let Some(database) = Database::new(backend) else {
        return;
    };
    let okta_token = database.token.clone();
    let entra_token = database.tenant_with_token("contoso", "entra");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &database.url,
        &["--access-log", "--log-format", format, "--workers", "2"],
        &[("RUST_LOG", "debug")],
    )
    .await;
    let mut run = Run {
        server: &server,
        client: reqwest::Client::new(),
        requests: 0,
        secrets: Vec::new(),
    };
    okta(&mut run, &okta_token).await;
    entra(&mut run, &entra_token).await;
    failures(&mut run, &okta_token).await;
    refusals(&mut run, &database, &okta_token).await;
    let Run {
        requests,
        mut secrets,
        ..
    } = run;
    let output = server.stop();
    assert!(output.status.success(), "{}", output.stderr);

    for token in [&okta_token, &entra_token] {
        secrets.push(token.clone());
        secrets.push(token.rsplit_once('_').unwrap().1.to_owned());
    }
    let log = output.stderr;
    // The log is the one asked for: debug lines, an access line per request.
    assert!(log.contains("DEBUG"), "debug logging is on");
    let access_lines = log.lines().filter(|l| l.contains("scimd::access")).count();
    assert!(
        access_lines >= requests,
        "{access_lines} access lines for {requests} requests"
    );
    let lowered = log.to_lowercase();
    let leaks: Vec<&str> = log
        .lines()
        .filter(|line| secrets.iter().any(|s| line.contains(s.as_str())))
        .collect();
    assert!(
        leaks.is_empty(),
        "{backend:?}, {format} log: secrets logged:\n{}",
        leaks.join("\n")
    );
    // Header values are among the secrets; these catch one logged whole.
    for header in [
        "bearer scimd_",
        "basic ",
        "authorization:",
        "authorization=",
        "\"authorization\"",
    ] {
        assert!(
            !lowered.contains(header),
            "{backend:?}, {format} log holds {header:?}: {}",
            log.lines()
                .filter(|l| l.to_lowercase().contains(header))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    // The activity log (what `scimd activity` shows) neither.
    let events = database.cli(&[
        "activity", "--tenant", "acme", "--since", "1h", "--format", "json",
    ]);
    assert!(events.contains("\"create\""), "{events}");
    let leaks: Vec<&String> = secrets
        .iter()
        .filter(|s| events.contains(s.as_str()))
        .collect();
    assert!(
        leaks.is_empty(),
        "the activity log holds {leaks:?}: {events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_logs_hold_no_secrets() {
    provision_and_check_the_log(Backend::Sqlite, "pretty").await;
    provision_and_check_the_log(Backend::Sqlite, "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logs_hold_no_secrets() {
    provision_and_check_the_log(Backend::Postgres, "pretty").await;
    provision_and_check_the_log(Backend::Postgres, "json").await;
}

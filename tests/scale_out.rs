//! Scale-out: `scimd serve` processes sharing one PostgreSQL database, each
//! request going to the next one in turn (as a round-robin load balancer
//! does). Uniqueness and lost updates are the database's to prevent, token
//! revocation and policy changes reach every process within their documented
//! bounds, the activity log has one entry per write, and processes started
//! together on an empty database all come up. PostgreSQL only: SQLite is for
//! a single instance (README).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::process::{Database, Server, scimd, server_dirs};
use common::{Backend, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, assert_scim_error, scratch_database};
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Seconds a server trusts a cached token: the README's default.
const RECHECK_SECS: u64 = 2;

/// Two servers on one database, and a client that alternates between them.
struct Cluster {
    database: Database,
    servers: Vec<Server>,
    client: reqwest::Client,
    _dirs: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Option<Cluster> {
        let database = Database::new(Backend::Postgres)?;
        let (root, dirs) = server_dirs(2);
        let recheck = RECHECK_SECS.to_string();
        let args = ["--workers", "2", "--token-recheck-secs", &recheck];
        let mut servers = Vec::new();
        for dir in &dirs {
            servers.push(Server::start(dir, &database.url, &args, &[]).await);
        }
        Some(Cluster {
            database,
            servers,
            client: reqwest::Client::new(),
            _dirs: root,
        })
    }

    /// Request `n` goes to server `n % 2`.
    async fn send(
        &self,
        n: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.send_as(&self.database.token, n, method, path, body)
            .await
    }

    async fn send_as(
        &self,
        token: &str,
        n: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let server = &self.servers[n % self.servers.len()];
        let mut request = self
            .client
            .request(method, format!("{}{path}", server.scim()))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        common::json(request.send().await.unwrap()).await
    }

    /// Sends all at once, alternating servers; answers in request order.
    async fn all_at_once(&self, requests: Vec<(Method, String, Value)>) -> Vec<(u16, Value)> {
        let sends = requests
            .iter()
            .enumerate()
            .map(|(n, (method, path, body))| self.send(n, method.clone(), path, Some(body)));
        futures::future::join_all(sends).await
    }

    /// Tenant `acme`'s activity log entries written with the test's token,
    /// by sequence number.
    fn logged_sequence_numbers(&self) -> Vec<i64> {
        use scimd::store::schema::{provisioning_events as events, tenants};
        let conn = &mut *self.database.pool.get().unwrap();
        let tenant: String = tenants::table
            .filter(tenants::name.eq("acme"))
            .select(tenants::id)
            .first(conn)
            .unwrap();
        events::table
            .filter(events::tenant_id.eq(tenant))
            .filter(events::token_label.eq("test"))
            .order(events::seq.asc())
            .select(events::seq)
            .load(conn)
            .unwrap()
    }

    /// The activity log holds exactly one entry per write request.
    fn assert_one_entry_per_write(&self, writes: usize) {
        let seqs = self.logged_sequence_numbers();
        assert_eq!(seqs.len(), writes, "one entry per write request");
        let distinct: std::collections::BTreeSet<&i64> = seqs.iter().collect();
        assert_eq!(distinct.len(), seqs.len(), "sequence numbers are unique");
        let span = seqs.last().unwrap() - seqs.first().unwrap() + 1;
        eprintln!(
            "activity log: {writes} entries for {writes} write requests, sequence numbers spanning {span}"
        );
    }
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Scale", "familyName": "Out"},
    })
}

fn member_op(op: &str, id: &str) -> Value {
    let operation = if op == "add" {
        json!({"op": "add", "path": "members", "value": [{"value": id}]})
    } else {
        json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")})
    };
    json!({"schemas": [PATCH_OP], "Operations": [operation]})
}

/// 64 creates of one userName, half through each server: one 201, 63
/// `409 uniqueness`, one row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_of_one_user_name_through_two_servers_make_one_user() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let requests = (0..64)
        .map(|_| (Method::POST, "/Users".to_owned(), user("twice@example.com")))
        .collect();
    let answers = cluster.all_at_once(requests).await;
    let created: Vec<usize> = (0..64).filter(|&n| answers[n].0 == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_scim_error(*status, body, 409, Some("uniqueness"));
    }
    use scimd::store::schema::members;
    let conn = &mut *cluster.database.pool.get().unwrap();
    let rows: i64 = members::table
        .filter(members::user_name_lower.eq("twice@example.com"))
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(rows, 1);
    // Both servers find it.
    for n in 0..2 {
        let (_, list) = cluster
            .send(
                n,
                Method::GET,
                "/Users?filter=userName%20eq%20%22twice@example.com%22",
                None,
            )
            .await;
        assert_eq!(list["totalResults"], 1, "{list}");
    }
    cluster.assert_one_entry_per_write(64);
}

/// Membership PATCHes of one group through both servers at once: 64 adds,
/// then 32 removes racing 32 more adds. The group ends with exactly the
/// members added and not removed, and one version per PATCH.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_patches_through_two_servers_lose_no_update() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let requests = (0..96)
        .map(|i| {
            (
                Method::POST,
                "/Users".to_owned(),
                user(&format!("member{i}@example.com")),
            )
        })
        .collect();
    let users: Vec<String> = cluster
        .all_at_once(requests)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let group = json!({"schemas": [GROUP_SCHEMA], "displayName": "busy"});
    let (status, group) = cluster.send(0, Method::POST, "/Groups", Some(&group)).await;
    assert_eq!(status, 201);
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let version = |group: &Value| -> u64 {
        let tag = group["meta"]["version"].as_str().unwrap();
        tag.trim_start_matches("W/\"")
            .trim_end_matches('"')
            .parse()
            .unwrap()
    };
    let first = version(&group);

    let adds = users[..64]
        .iter()
        .map(|id| (Method::PATCH, path.clone(), member_op("add", id)))
        .collect();
    for (status, body) in cluster.all_at_once(adds).await {
        assert_eq!(status, 200, "{body}");
    }
    let (_, after_adds) = cluster.send(1, Method::GET, &path, None).await;
    assert_eq!(after_adds["members"].as_array().unwrap().len(), 64);

    let mixed = users[..32]
        .iter()
        .map(|id| (Method::PATCH, path.clone(), member_op("remove", id)))
        .zip(
            users[64..]
                .iter()
                .map(|id| (Method::PATCH, path.clone(), member_op("add", id))),
        )
        .flat_map(|(remove, add)| [remove, add])
        .collect();
    for (status, body) in cluster.all_at_once(mixed).await {
        assert_eq!(status, 200, "{body}");
    }
    for n in 0..2 {
        let (_, group) = cluster.send(n, Method::GET, &path, None).await;
        let mut members: Vec<&str> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        members.sort_unstable();
        let mut expected: Vec<&str> = users[32..].iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(
            members, expected,
            "exactly the members added and not removed"
        );
        assert_eq!(version(&group), first + 128, "one version per PATCH");
    }
    // The count the group keeps with its row agrees.
    use scimd::store::schema::subteams;
    let conn = &mut *cluster.database.pool.get().unwrap();
    let counted: i64 = subteams::table
        .filter(subteams::id.eq(group["id"].as_str().unwrap()))
        .select(subteams::member_count)
        .first(conn)
        .unwrap();
    assert_eq!(counted, 64);
    cluster.assert_one_entry_per_write(96 + 1 + 128);
}

/// `scimd token revoke` (a process of its own) while both servers have the
/// token cached: each refuses it once `--token-recheck-secs` has passed,
/// and never accepts it again; the tenant's other token keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_by_every_server_within_the_recheck_bound() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let token = cluster
        .database
        .cli(&["token", "issue", "--tenant", "acme", "--label", "doomed"])
        .trim()
        .to_owned();
    for n in 0..2 {
        let (status, _) = cluster
            .send_as(&token, n, Method::GET, "/Users", None)
            .await;
        assert_eq!(status, 200, "the token works on server {n}");
        // Known before the polling below spends this address's budget of
        // failed authentications, which throttles unknown tokens only.
        let (status, _) = cluster.send(n, Method::GET, "/Users", None).await;
        assert_eq!(status, 200, "the other token works on server {n}");
    }
    cluster
        .database
        .cli(&["token", "revoke", "doomed", "--tenant", "acme"]);
    let revoked = Instant::now();
    let bound = revoked + Duration::from_secs(RECHECK_SECS);
    // Each server, polled until past the bound: (sent at, status).
    let mut answers: Vec<Vec<(Instant, u16)>> = vec![Vec::new(), Vec::new()];
    while Instant::now() < bound + Duration::from_millis(600) {
        for (n, seen) in answers.iter_mut().enumerate() {
            let sent = Instant::now();
            let (status, body) = cluster
                .send_as(&token, n, Method::GET, "/Users", None)
                .await;
            // Refused: 401, then 429 once this address has spent its
            // failed-authentication budget polling.
            if status == 429 {
                assert_scim_error(status, &body, 429, None);
            } else if status != 200 {
                assert_scim_error(status, &body, 401, None);
            }
            seen.push((sent, status));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (n, seen) in answers.iter().enumerate() {
        // Scheduling slack: a request sent right at the bound may have been
        // checked a moment before it.
        let late: Vec<u16> = seen
            .iter()
            .filter(|(sent, _)| *sent >= bound + Duration::from_millis(100))
            .map(|(_, status)| *status)
            .collect();
        assert!(!late.is_empty());
        assert!(
            late.iter().all(|&s| s != 200),
            "server {n} after the bound: {late:?}"
        );
        let first_refusal = seen.iter().position(|(_, s)| *s != 200).unwrap();
        assert_eq!(seen[first_refusal].1, 401, "server {n}: {seen:?}");
        assert!(
            seen[first_refusal..].iter().all(|(_, s)| *s != 200),
            "server {n} accepted the token again after refusing it: {seen:?}"
        );
        let refused_after = seen[first_refusal].0.saturating_duration_since(revoked);
        eprintln!("server {n}: revoked token first refused {refused_after:?} after the revocation");
    }
    for n in 0..2 {
        let (status, _) = cluster.send(n, Method::GET, "/Users", None).await;
        assert_eq!(status, 200, "the other token still works");
    }
}

/// `scimd policy set` while both servers have the policy cached: the next
/// write through either follows the new policy, both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_applies_to_the_next_write_on_every_server() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let nameless = |n: usize| json!({"schemas": [USER_SCHEMA], "userName": format!("nameless{n}@example.com")});
    for n in 0..2 {
        let (status, body) = cluster
            .send(
                n,
                Method::POST,
                "/Users",
                Some(&user(&format!("named{n}@example.com"))),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    cluster
        .database
        .cli(&["policy", "set", "--tenant", "acme", "--require-names", "on"]);
    for n in 0..2 {
        let (status, body) = cluster
            .send(n, Method::POST, "/Users", Some(&nameless(n)))
            .await;
        assert_scim_error(status, &body, 400, Some("invalidValue"));
    }
    cluster.database.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--require-names",
        "off",
    ]);
    for n in 0..2 {
        let (status, body) = cluster
            .send(n, Method::POST, "/Users", Some(&nameless(n)))
            .await;
        assert_eq!(status, 201, "server {n}: {body}");
    }
    cluster.assert_one_entry_per_write(6);
}

/// Servers started at the same moment on an empty database (replicas on a
/// first deploy), each in a folder of its own: all come up, exactly one
/// makes tenant `default` and writes its token file, and that token works
/// on every one of them.
async fn servers_start_together_on_an_empty_database(count: usize, migrated: bool) {
    let Some((url, _scratch)) = scratch_database(Backend::Postgres) else {
        return;
    };
    if migrated {
        scimd::store::db::connect(&url, 1).unwrap();
    }
    let (_root, dirs) = server_dirs(count);
    let mut servers: Vec<Server> = dirs
        .iter()
        .map(|dir| Server::spawn(dir, &url, &["--workers", "1"], &[]))
        .collect();
    let mut failures = Vec::new();
    for server in &mut servers {
        if let Err(problem) = server.ready(Duration::from_secs(30)).await {
            failures.push(problem);
        }
    }
    assert!(
        failures.is_empty(),
        "{count} servers at once: {}",
        failures.join("\n\n")
    );
    let token_files: Vec<String> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_to_string(dir.join("scimd.bootstrap-token")).ok())
        .collect();
    assert_eq!(token_files.len(), 1, "one server made tenant default");
    let token = token_files[0].trim();
    let client = reqwest::Client::new();
    for server in &servers {
        let answer = client
            .get(format!("{}/Users", server.scim()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let tenants = tenant_names(Path::new("."), &url);
    assert_eq!(tenants, ["default"]);
    for server in servers {
        let output = server.stop();
        assert!(output.status.success(), "{}", output.stderr);
    }
}

fn tenant_names(dir: &Path, url: &str) -> Vec<String> {
    let output = scimd(dir)
        .args(["--database-url", url, "tenant", "list"])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split('\t').nth(1).map(str::to_owned))
        .collect()
}

/// Migrations take turns across processes (an advisory lock): without it
/// two servers on an empty database collide in `CREATE TABLE` ("duplicate
/// key value violates unique constraint pg_type_typname_nsp_index").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_then_four_servers_start_together_on_an_empty_database() {
    servers_start_together_on_an_empty_database(2, false).await;
    servers_start_together_on_an_empty_database(4, false).await;
}

/// The same once the schema exists: no tenant yet, so every server tries
/// to make tenant `default` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_servers_start_together_on_a_migrated_database_without_tenants() {
    servers_start_together_on_an_empty_database(4, true).await;
}

//! The database misbehaving: processes migrating one database at once, a
//! schema newer than the binary, a database that is down, slow or full.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::process::{Database, Server, scimd, server_dirs};
use common::{Backend, assert_scim_error, scratch_database, user_body};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

/// `scimd migrate` processes started together, each for itself.
fn migrate_at_once(url: &str, count: usize) -> Vec<Output> {
    let children: Vec<_> = (0..count)
        .map(|_| {
            scimd(Path::new("."))
                .args(["--database-url", url, "migrate"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

diesel::table! {
    /// diesel's record of the migrations applied.
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

/// The versions recorded as applied, in order.
fn applied_versions(url: &str) -> Vec<String> {
    let pool = scimd::store::db::connect(url, 1).unwrap();
    let conn = &mut *pool.get().unwrap();
    __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .order(__diesel_schema_migrations::version.asc())
        .load(conn)
        .unwrap()
}

/// Four `scimd migrate` on one empty database: every one succeeds, and each
/// migration is applied once.
fn migrations_take_turns(backend: Backend) {
    let Some((url, _scratch)) = scratch_database(backend) else {
        return;
    };
    for output in migrate_at_once(&url, 4) {
        assert!(
            output.status.success(),
            "{backend:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let folder = match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let versions = applied_versions(&url);
    assert_eq!(
        versions.len(),
        std::fs::read_dir(folder).unwrap().count(),
        "{backend:?}: every migration applied: {versions:?}"
    );
    assert_eq!(
        versions.last().unwrap(),
        &scimd::store::db::schema_version()
    );
}

#[test]
fn four_migrations_at_once_on_one_new_sqlite_file() {
    migrations_take_turns(Backend::Sqlite);
}

#[test]
fn four_migrations_at_once_on_one_empty_postgres_schema() {
    migrations_take_turns(Backend::Postgres);
}

/// A migration no scimd has yet: what a newer binary would have left.
const FUTURE_VERSION: &str = "20991231000099";

/// A database a newer scimd migrated: this one refuses to serve it, naming
/// both schema versions, unless told to go ahead.
fn a_newer_schema_is_refused_unless_allowed(backend: Backend) {
    let Some((url, _scratch)) = scratch_database(backend) else {
        return;
    };
    {
        let pool = scimd::store::db::connect(&url, 1).unwrap();
        diesel::insert_into(__diesel_schema_migrations::table)
            .values(__diesel_schema_migrations::version.eq(FUTURE_VERSION))
            .execute(&mut *pool.get().unwrap())
            .unwrap();
    }
    let binary = scimd::store::db::schema_version();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_root, dirs) = server_dirs(3);

    let mut refused = Server::spawn(&dirs[0], &url, &[], &[]);
    let problem = runtime
        .block_on(refused.ready(Duration::from_secs(20)))
        .unwrap_err();
    assert!(problem.contains("exited"), "{backend:?}: {problem}");
    assert!(
        problem.contains(&format!(
            "the database's schema ({FUTURE_VERSION}) is newer than this scimd's ({binary})"
        )),
        "{backend:?}: {problem}"
    );
    assert!(problem.contains("--allow-newer-schema"), "{problem}");

    for (dir, args, env) in [
        (&dirs[1], &["--allow-newer-schema"][..], &[][..]),
        (
            &dirs[2],
            &[][..],
            &[("SCIMD_ALLOW_NEWER_SCHEMA", "true")][..],
        ),
    ] {
        let mut allowed = Server::spawn(dir, &url, args, env);
        runtime
            .block_on(allowed.ready(Duration::from_secs(20)))
            .unwrap();
        let output = allowed.stop();
        assert!(
            output
                .stderr
                .contains("the database was migrated by a newer scimd"),
            "{backend:?}: {}",
            output.stderr
        );
        assert!(output.stderr.contains(FUTURE_VERSION), "{}", output.stderr);
    }
}

#[test]
fn a_newer_sqlite_schema_is_refused_unless_allowed() {
    a_newer_schema_is_refused_unless_allowed(Backend::Sqlite);
}

#[test]
fn a_newer_postgres_schema_is_refused_unless_allowed() {
    a_newer_schema_is_refused_unless_allowed(Backend::Postgres);
}

/// A TCP forwarder in front of PostgreSQL that can be cut (every connection
/// closed, new ones refused) and restored on the same port: the database
/// going down and coming back, as the server sees it.
struct Proxy {
    port: u16,
    target: SocketAddr,
    forwarding: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        Proxy {
            port,
            target,
            forwarding: Some(tokio::spawn(forward(listener, target))),
        }
    }

    /// Closes every connection and the port.
    async fn cut(&mut self) {
        if let Some(forwarding) = self.forwarding.take() {
            forwarding.abort();
            let _ = forwarding.await;
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.forwarding = Some(tokio::spawn(forward(listener, self.target)));
    }
}

/// Runs until aborted; its connections go with it.
async fn forward(listener: TcpListener, target: SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        connections.spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// The host and port of a `postgres://` URL, and the URL with them replaced.
fn through(url: &str, port: u16) -> (SocketAddr, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    let target = std::net::ToSocketAddrs::to_socket_addrs(&host)
        .unwrap()
        .next()
        .unwrap();
    (target, format!("{scheme}://{user}127.0.0.1:{port}{tail}"))
}

/// A request and how long its answer took.
async fn timed(request: reqwest::RequestBuilder) -> (u16, Value, Option<String>, Duration) {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = common::json(response).await;
    (status, body, retry_after, started.elapsed())
}

/// An answer to send again later: `503` with `Retry-After`, soon enough.
fn assert_unavailable(
    (status, body, retry_after, took): &(u16, Value, Option<String>, Duration),
    detail: &str,
    within: Duration,
) {
    assert_scim_error(*status, body, 503, None);
    assert!(body["detail"].as_str().unwrap().contains(detail), "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert!(*took < within, "answered after {took:?}");
}

/// PostgreSQL going away under a running server: requests are answered
/// `503` within about the configured wait, `/readyz` within a second, and
/// once the database is back both work again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_fails_fast_and_comes_back_without_a_restart() {
    let Some(database) = Database::new(Backend::Postgres) else {
        return;
    };
    let (target, _) = through(&database.url, 0);
    let mut proxy = Proxy::start(target).await;
    let (_, url) = through(&database.url, proxy.port);
    let (_root, dirs) = server_dirs(1);
    let server = Server::start(&dirs[0], &url, &["--workers", "2"], &[]).await;
    let client = reqwest::Client::new();
    let users = || {
        client
            .get(format!("{}/Users", server.scim()))
            .bearer_auth(&database.token)
    };
    let readyz = || client.get(server.url("/readyz"));
    assert_eq!(timed(users()).await.0, 200);

    proxy.cut().await;
    for _ in 0..3 {
        let answer = timed(users()).await;
        eprintln!("database down: /Users {} after {:?}", answer.0, answer.3);
        assert_unavailable(
            &answer,
            "the database is unavailable",
            Duration::from_millis(1500),
        );
        let started = Instant::now();
        let ready = readyz().send().await.unwrap();
        eprintln!(
            "database down: /readyz {} after {:?}",
            ready.status(),
            started.elapsed()
        );
        assert_eq!(ready.status(), 503);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body, _, _) = timed(users()).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not back within 10 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(readyz().send().await.unwrap().status(), 200);
    let created = client
        .post(format!("{}/Users", server.scim()))
        .bearer_auth(&database.token)
        .header("content-type", "application/scim+json")
        .body(user_body("back@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let output = server.stop();
    assert!(output.status.success(), "{}", output.stderr);
}

/// Every pooled connection held by a request stuck behind a lock: the next
/// request is answered `503` after `--db-wait-ms`, while `/readyz`, on a
/// connection of its own, still says the database answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_pool_answers_503_quickly_and_readyz_still_answers() {
    let Some(database) = Database::new(Backend::Postgres) else {
        return;
    };
    let (_root, dirs) = server_dirs(1);
    let server = Server::start(
        &dirs[0],
        &database.url,
        &["--workers", "2", "--pool-size", "1", "--db-wait-ms", "500"],
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let scim = server.scim();
    assert_eq!(
        timed(
            client
                .get(format!("{scim}/Users"))
                .bearer_auth(&database.token)
        )
        .await
        .0,
        200
    );

    let mut holder = database.pool.get().unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE members IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let stuck = tokio::spawn(
        client
            .post(format!("{scim}/Users"))
            .bearer_auth(&database.token)
            .header("content-type", "application/scim+json")
            .body(user_body("stuck@example.com").to_string())
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let answer = timed(
        client
            .get(format!("{scim}/Users"))
            .bearer_auth(&database.token),
    )
    .await;
    eprintln!("pool busy: /Users {} after {:?}", answer.0, answer.3);
    assert_unavailable(
        &answer,
        "no connection within 500 ms",
        Duration::from_millis(1500),
    );
    let started = Instant::now();
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    eprintln!(
        "pool busy: /readyz {} after {:?}",
        ready.status(),
        started.elapsed()
    );
    assert_eq!(ready.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    holder.batch_execute("COMMIT").unwrap();
    assert_eq!(stuck.await.unwrap().unwrap().status(), 201);
}

/// A write stuck behind another connection's lock is answered `503` once
/// `--statement-timeout-ms` has passed (PostgreSQL: `statement_timeout`;
/// SQLite: `busy_timeout` waiting for the write lock), not left hanging or
/// answered 500; once the lock goes, writes work again.
async fn a_write_behind_a_lock_times_out(backend: Backend) {
    let Some(database) = Database::new(backend) else {
        return;
    };
    let (_root, dirs) = server_dirs(1);
    let server = Server::start(
        &dirs[0],
        &database.url,
        &["--workers", "2", "--statement-timeout-ms", "500"],
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let create = |user_name: &str| {
        client
            .post(format!("{}/Users", server.scim()))
            .bearer_auth(&database.token)
            .header("content-type", "application/scim+json")
            .body(user_body(user_name).to_string())
    };
    assert_eq!(timed(create("before@example.com")).await.0, 201);

    let mut holder = database.pool.get().unwrap();
    holder
        .batch_execute(match backend {
            Backend::Postgres => "BEGIN; LOCK TABLE members IN ACCESS EXCLUSIVE MODE;",
            Backend::Sqlite => "BEGIN IMMEDIATE;",
        })
        .unwrap();
    let answer = timed(create("locked@example.com")).await;
    eprintln!("{backend:?} locked: POST {} after {:?}", answer.0, answer.3);
    assert_unavailable(&answer, "statement timeout", Duration::from_millis(2000));
    assert!(answer.3 >= Duration::from_millis(400), "{:?}", answer.3);

    holder.batch_execute("COMMIT").unwrap();
    assert_eq!(timed(create("locked@example.com")).await.0, 201);
    let output = server.stop();
    assert!(output.status.success(), "{}", output.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_write_behind_a_lock_times_out() {
    a_write_behind_a_lock_times_out(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_write_behind_a_lock_times_out() {
    a_write_behind_a_lock_times_out(Backend::Postgres).await;
}

/// A full disk (here SQLite's file capped with `--sqlite-max-size-mb`, which
/// fails a write exactly as a full disk does): creates answer `507` saying
/// so, reads keep answering, and the failures are logged once per interval
/// with a count, as warnings without a backtrace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_writes_507_and_reads_keep_working() {
    let database = Database::new(Backend::Sqlite).unwrap();
    let (_root, dirs) = server_dirs(1);
    let server = Server::start(
        &dirs[0],
        &database.url,
        &[
            "--workers",
            "2",
            "--sqlite-max-size-mb",
            "1",
            "--log-format",
            "json",
        ],
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let scim = server.scim();
    let create = |n: usize| {
        let mut body = user_body(&format!("user{n}@example.com"));
        // Bulk, so the cap is reached in a few hundred creates: an attribute
        // outside the schema has no length limit and is kept as sent.
        body["notes"] = Value::String("x".repeat(2000));
        client
            .post(format!("{scim}/Users"))
            .bearer_auth(&database.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    };
    let mut created = Vec::new();
    let full = loop {
        assert!(created.len() < 2000, "the cap never reached");
        let (status, body, _, _) = timed(create(created.len())).await;
        if status != 201 {
            break (status, body);
        }
        created.push(body["id"].as_str().unwrap().to_owned());
    };
    eprintln!("disk full after {} creates: {}", created.len(), full.1);
    assert_scim_error(full.0, &full.1, 507, None);
    assert!(
        full.1["detail"].as_str().unwrap().contains("disk is full"),
        "{}",
        full.1
    );
    for n in 0..30 {
        let (status, body, _, _) = timed(create(10_000 + n)).await;
        assert_scim_error(status, &body, 507, None);
    }

    let (status, body) = common::json(
        client
            .get(format!("{scim}/Users?count=5"))
            .bearer_auth(&database.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], created.len());
    let (status, _) = common::json(
        client
            .get(format!("{scim}/Users/{}", created[0]))
            .bearer_auth(&database.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Past the interval, the next failure's line counts those left out.
    tokio::time::sleep(scimd::repeats::INTERVAL + Duration::from_millis(200)).await;
    assert_eq!(timed(create(20_000)).await.0, 507);

    let output = server.stop();
    let lines: Vec<Value> = output
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["fields"]["message"] == "request failed" && line["fields"]["status"] == 507
        })
        .collect();
    assert_eq!(failed.len(), 2, "32 failures, two lines: {failed:?}");
    assert_eq!(failed[0]["fields"]["repeated"], 0);
    assert_eq!(failed[1]["fields"]["repeated"], 30, "{:?}", failed[1]);
    assert!(
        !output.stderr.contains("internal error"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("backtrace"), "{}", output.stderr);
}

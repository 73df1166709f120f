//! Crash durability: the real binary under concurrent creates and PATCHes,
//! killed with SIGKILL mid-load and started again on the same database.
//! Every write answered 2xx must be there afterwards, intact; a write that
//! got no answer may or may not be (never half of it); SQLite's file passes
//! `PRAGMA integrity_check`.
//!
//! CI runs a short version (two kills per backend). The soak is the same
//! loop for longer, outside CI:
//!
//! ```sh
//! SCIMD_CRASH_SOAK_SECS=300 cargo test --test crash -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::process::{Database, Server, list_all};
use common::{Backend, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Concurrent clients, each an IdP connection writing its own resources.
const CLIENTS: usize = 16;

/// A user as the test knows it: what was acknowledged, and what was sent
/// without an answer (the server died first), which may or may not be there.
#[derive(Debug, Clone)]
struct KnownUser {
    id: String,
    user_name: String,
    title: Option<String>,
    unanswered_title: Option<String>,
}

/// One client's writes: its users, the users it created without an answer
/// (by userName), its group and the group's members.
#[derive(Debug, Default)]
struct Ledger {
    client: usize,
    users: Vec<KnownUser>,
    unanswered_creates: BTreeSet<String>,
    group_id: String,
    members: BTreeSet<String>,
    unanswered_members: BTreeSet<String>,
    /// Writes answered 2xx, ever.
    acknowledged: u64,
    /// Answers other than 2xx: none are expected.
    unexpected: Vec<String>,
    next: u64,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// How a request ended: answered (status, headers, body if it arrived);
/// refused at connect, so never sent (it cannot have landed); or sent and
/// never answered (it may have landed).
enum Answer {
    Status(u16, reqwest::header::HeaderMap, Option<Value>),
    Refused,
    Lost,
}

async fn send(
    client: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: String,
    body: &Value,
) -> Answer {
    let sent = client
        .request(method, url)
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await;
    match sent {
        // The status line is the acknowledgement: the server answers only
        // after its commit, so the body may be cut off and the write stands.
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.json::<Value>().await.ok();
            Answer::Status(status, headers, body)
        }
        Err(error) if error.is_connect() => Answer::Refused,
        Err(_) => Answer::Lost,
    }
}

/// The id at the end of a `Location` header.
fn location_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let location = headers.get("location")?.to_str().ok()?;
    Some(location.rsplit('/').next()?.to_owned())
}

impl Ledger {
    fn note_unexpected(&mut self, what: &str, status: u16, body: Option<Value>) {
        self.unexpected
            .push(format!("{what}: {status} {}", body.unwrap_or(Value::Null)));
    }

    /// One write, chosen at random: create a user, change a user's title,
    /// or add one of the client's users to its group. `false` once the
    /// server stopped answering.
    async fn step(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        token: &str,
        round: usize,
        rng: &mut StdRng,
    ) -> bool {
        self.next += 1;
        let n = self.next;
        let choice = rng.gen_range(0..10);
        if self.users.is_empty() || choice < 4 {
            let user_name = format!("r{round}-c{}-{n}@crash.example", self.client);
            let body = json!({
                "schemas": [USER_SCHEMA],
                "userName": user_name,
                "name": {"givenName": "Crash", "familyName": format!("Test {n}")},
                "emails": [{"value": user_name, "type": "work", "primary": true}],
            });
            let answer = send(
                client,
                token,
                reqwest::Method::POST,
                format!("{base}/Users"),
                &body,
            )
            .await;
            match answer {
                Answer::Status(201, headers, _) => {
                    let id = location_id(&headers).expect("a 201 carries Location");
                    self.acknowledged += 1;
                    self.users.push(KnownUser {
                        id,
                        user_name,
                        title: None,
                        unanswered_title: None,
                    });
                }
                Answer::Status(status, _, body) => self.note_unexpected("create", status, body),
                Answer::Refused => return false,
                Answer::Lost => {
                    self.unanswered_creates.insert(user_name);
                    return false;
                }
            }
        } else if choice < 8 {
            let index = rng.gen_range(0..self.users.len());
            let title = format!("title {n}");
            let body = json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "title", "value": title}
            ]});
            let url = format!("{base}/Users/{}", self.users[index].id);
            match send(client, token, reqwest::Method::PATCH, url, &body).await {
                Answer::Status(200, _, _) => {
                    self.acknowledged += 1;
                    self.users[index].title = Some(title);
                }
                Answer::Status(status, _, body) => self.note_unexpected("patch", status, body),
                Answer::Refused => return false,
                Answer::Lost => {
                    self.users[index].unanswered_title = Some(title);
                    return false;
                }
            }
        } else {
            let candidates: Vec<&KnownUser> = self
                .users
                .iter()
                .filter(|u| !self.members.contains(&u.id))
                .collect();
            let Some(user) = candidates.get(rng.gen_range(0..candidates.len().max(1))) else {
                return true;
            };
            let id = user.id.clone();
            let body = json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": id}]}
            ]});
            let url = format!("{base}/Groups/{}?excludedAttributes=members", self.group_id);
            match send(client, token, reqwest::Method::PATCH, url, &body).await {
                Answer::Status(200 | 204, _, _) => {
                    self.acknowledged += 1;
                    self.members.insert(id);
                }
                Answer::Status(status, _, body) => self.note_unexpected("member add", status, body),
                Answer::Refused => return false,
                Answer::Lost => {
                    self.unanswered_members.insert(id);
                    return false;
                }
            }
        }
        true
    }
}

/// Each client writes until the server stops answering (or `stop`).
async fn drive(
    ledger: Ledger,
    base: String,
    token: String,
    round: usize,
    stop: Arc<AtomicBool>,
) -> Ledger {
    let mut ledger = ledger;
    let client = http();
    let mut rng = StdRng::seed_from_u64((round * 1000 + ledger.client) as u64);
    while !stop.load(Ordering::Relaxed) {
        if !ledger.step(&client, &base, &token, round, &mut rng).await {
            break;
        }
    }
    ledger
}

/// Checks every acknowledged write against a server started after the
/// kill, then takes what is there as the known state (an unanswered write
/// that landed is durable now, one that did not never will).
async fn verify(server: &Server, database: &Database, ledgers: &mut [Ledger]) -> Verdict {
    let token = &database.token;
    let client = http();
    let base = server.scim();
    let users = list_all(&client, &base, token, "Users").await;
    let mut verdict = Verdict::default();
    let mut expected_names = BTreeSet::new();
    for ledger in ledgers.iter_mut() {
        for user in &mut ledger.users {
            let found = users
                .get(&user.id)
                .unwrap_or_else(|| panic!("acknowledged create of {} lost", user.user_name));
            assert_eq!(found["userName"], user.user_name.as_str(), "{found}");
            assert_eq!(
                found["emails"][0]["value"],
                user.user_name.as_str(),
                "{found}"
            );
            let title = found["title"].as_str().map(str::to_owned);
            match &user.unanswered_title {
                Some(maybe) => {
                    assert!(
                        title == user.title || title.as_ref() == Some(maybe),
                        "{}: title {title:?}, acknowledged {:?}, unanswered {maybe:?}",
                        user.user_name,
                        user.title
                    );
                    verdict.count_unanswered(title.as_ref() == Some(maybe));
                }
                None => assert_eq!(
                    title, user.title,
                    "{}: the last acknowledged PATCH is lost",
                    user.user_name
                ),
            }
            user.title = title;
            user.unanswered_title = None;
            expected_names.insert(user.user_name.clone());
        }
        // Unanswered creates that landed join the known users, whole.
        for user_name in std::mem::take(&mut ledger.unanswered_creates) {
            let found = users
                .iter()
                .find(|(_, u)| u["userName"] == user_name.as_str());
            verdict.count_unanswered(found.is_some());
            if let Some((id, found)) = found {
                assert_eq!(found["emails"][0]["value"], user_name.as_str(), "{found}");
                assert_eq!(found["name"]["givenName"], "Crash", "{found}");
                ledger.users.push(KnownUser {
                    id: id.clone(),
                    user_name: user_name.clone(),
                    title: None,
                    unanswered_title: None,
                });
                expected_names.insert(user_name);
            }
        }
        let group: Value = client
            .get(format!("{base}/Groups/{}", ledger.group_id))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let members: BTreeSet<String> = group["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let lost: Vec<_> = ledger.members.difference(&members).collect();
        assert!(lost.is_empty(), "acknowledged member adds lost: {lost:?}");
        let allowed: BTreeSet<String> = ledger
            .members
            .union(&ledger.unanswered_members)
            .cloned()
            .collect();
        let strays: Vec<_> = members.difference(&allowed).collect();
        assert!(strays.is_empty(), "members nobody added: {strays:?}");
        assert_eq!(
            member_count(database, &ledger.group_id),
            members.len() as i64,
            "the count the group keeps with its row"
        );
        for id in std::mem::take(&mut ledger.unanswered_members) {
            verdict.count_unanswered(members.contains(&id));
        }
        ledger.members = members;
        verdict.checked += ledger.acknowledged;
    }
    let strays: Vec<_> = users
        .values()
        .filter(|u| !expected_names.contains(u["userName"].as_str().unwrap()))
        .collect();
    assert!(strays.is_empty(), "users nobody created: {strays:?}");
    verdict
}

fn member_count(database: &Database, group: &str) -> i64 {
    use scimd::store::schema::subteams;
    let conn = &mut *database.pool.get().unwrap();
    subteams::table
        .filter(subteams::id.eq(group))
        .select(subteams::member_count)
        .first(conn)
        .unwrap()
}

/// What a check after a kill found.
#[derive(Debug, Default)]
struct Verdict {
    /// Acknowledged writes, all found.
    checked: u64,
    /// Writes cut off by the kill that had landed whole, and that had not.
    landed: u64,
    vanished: u64,
}

impl Verdict {
    fn count_unanswered(&mut self, landed: bool) {
        if landed {
            self.landed += 1;
        } else {
            self.vanished += 1;
        }
    }
}

/// SQLite's own check of the file as the kill left it (the WAL replayed by
/// this connection), and its foreign keys.
fn sqlite_integrity(database: &Database) {
    let mut conn = diesel::SqliteConnection::establish(&database.url).unwrap();
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    let lines: Vec<&str> = lines.iter().map(|l| l.integrity_check.as_str()).collect();
    assert_eq!(lines, ["ok"]);
    #[derive(QueryableByName)]
    struct Violation {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table: String,
    }
    let violations: Vec<Violation> = diesel::sql_query("PRAGMA foreign_key_check")
        .load(&mut conn)
        .unwrap();
    let tables: Vec<&str> = violations.iter().map(|v| v.table.as_str()).collect();
    assert!(tables.is_empty(), "foreign keys broken in {tables:?}");
}

/// What one run found after each kill, for the report.
#[derive(Default)]
struct Figures {
    acknowledged_checked: Vec<u64>,
    /// Requests the kill cut off (sent, never answered): landed, vanished.
    cut_off: Vec<(u64, u64)>,
}

/// `kills` rounds of load, each ended by SIGKILL after a load period from
/// `load`, each followed by a restart and a full check.
async fn run(backend: Backend, kills: usize, load: impl Fn(usize) -> Duration) -> Option<Figures> {
    let database = Database::new(backend)?;
    let dir = tempfile::tempdir().unwrap();
    let args = ["--workers", "2", "--log-format", "json"];
    let mut server = Server::start(dir.path(), &database.url, &args, &[]).await;

    // Each client's group, made before the load.
    let client = http();
    let mut ledgers = Vec::new();
    for i in 0..CLIENTS {
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": format!("crash group {i}")});
        let answer = client
            .post(format!("{}/Groups", server.scim()))
            .bearer_auth(&database.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let group: Value = answer.json().await.unwrap();
        ledgers.push(Ledger {
            client: i,
            group_id: group["id"].as_str().unwrap().to_owned(),
            acknowledged: 1,
            ..Ledger::default()
        });
    }

    let mut figures = Figures::default();
    for round in 0..kills {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = ledgers
            .drain(..)
            .map(|ledger| {
                tokio::spawn(drive(
                    ledger,
                    server.scim(),
                    database.token.clone(),
                    round,
                    stop.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(load(round)).await;
        // Mid-load: every client has a request out or about to be.
        let output = server.kill9();
        assert!(
            !output.stderr.contains("panicked"),
            "the server panicked:\n{}",
            output.stderr
        );
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            ledgers.push(
                tokio::time::timeout(Duration::from_secs(60), task)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        let unexpected: Vec<&String> = ledgers.iter().flat_map(|l| &l.unexpected).collect();
        assert!(
            unexpected.is_empty(),
            "answers other than 2xx: {unexpected:?}"
        );

        if backend == Backend::Sqlite {
            sqlite_integrity(&database);
        }
        server = Server::start(dir.path(), &database.url, &args, &[]).await;
        let verdict = verify(&server, &database, &mut ledgers).await;
        figures.acknowledged_checked.push(verdict.checked);
        figures.cut_off.push((verdict.landed, verdict.vanished));
        eprintln!(
            "{backend:?} kill {}: {} acknowledged writes checked; of the {} requests the kill \
             cut off, {} had landed whole and {} not at all",
            round + 1,
            verdict.checked,
            verdict.landed + verdict.vanished,
            verdict.landed,
            verdict.vanished,
        );
    }
    server.stop();
    Some(figures)
}

async fn short_run(backend: Backend) {
    let Some(figures) = run(backend, 2, |_| Duration::from_millis(2500)).await else {
        return;
    };
    assert_eq!(figures.acknowledged_checked.len(), 2);
    // The load did write, and each kill cut requests off mid-flight.
    assert!(
        figures.acknowledged_checked[0] > 100,
        "{:?}",
        figures.acknowledged_checked
    );
    assert!(figures.acknowledged_checked[1] > figures.acknowledged_checked[0]);
    assert!(
        figures
            .cut_off
            .iter()
            .all(|(landed, vanished)| landed + vanished > 0),
        "{:?}",
        figures.cut_off
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_writes_survive_kill_9() {
    short_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_writes_survive_kill_9() {
    short_run(Backend::Postgres).await;
}

/// The soak: kills at random moments 5 to 20 s apart for
/// `SCIMD_CRASH_SOAK_SECS` (default 300) per backend.
async fn soak(backend: Backend) {
    let seconds: u64 = std::env::var("SCIMD_CRASH_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut rng = StdRng::seed_from_u64(seconds);
    // Drawn up front: enough rounds to fill the time.
    let mut loads = Vec::new();
    let mut total = Duration::ZERO;
    while total < Duration::from_secs(seconds) {
        let load = Duration::from_millis(rng.gen_range(5_000..20_000));
        total += load;
        loads.push(load);
    }
    let started = Instant::now();
    let Some(figures) = run(backend, loads.len(), |round| loads[round]).await else {
        return;
    };
    eprintln!(
        "{backend:?} soak: {} kills in {:?}; acknowledged writes checked after each: {:?}; \
         requests cut off by each kill (landed, vanished): {:?}",
        figures.acknowledged_checked.len(),
        started.elapsed(),
        figures.acknowledged_checked,
        figures.cut_off
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: SCIMD_CRASH_SOAK_SECS=300 cargo test --test crash -- --ignored --nocapture"]
async fn sqlite_soak() {
    soak(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: SCIMD_CRASH_SOAK_SECS=300 cargo test --test crash -- --ignored --nocapture"]
async fn postgres_soak() {
    soak(Backend::Postgres).await;
}

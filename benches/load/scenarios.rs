//! The workloads, each as an IdP would send it, identical for every server.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::client::{Api, Budget, Reply, drive, encode};
use crate::report;
use crate::stats::{Better, Figure, Series, ms};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Entra's batch size for group membership changes.
const BATCH: usize = 100;
/// Users per page when listing.
const PAGE: usize = 100;

/// One request of a timed scenario, answered.
type Request = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// What the scenarios share for one server.
pub struct Run {
    pub server: String,
    pub api: Arc<Api>,
    pub users: usize,
    pub concurrency: usize,
    pub duration: Duration,
    pub rounds: usize,
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
}

impl Run {
    pub fn add(&mut self, figure: Figure) {
        report::print_figure(&self.server, &figure);
        self.figures.push(figure);
    }

    fn note(&mut self, note: String) {
        println!("[{}] note: {note}", self.server);
        self.notes.push(note);
    }

    /// A scenario driven by `concurrency` clients for `duration`, one
    /// request per job, reported as a rate with its latencies.
    async fn timed<F>(&mut self, key: &str, label: &str, job: F)
    where
        F: Fn(Arc<Api>, u64) -> Request + Send + Sync + 'static,
    {
        let series = Series::default();
        let api = Arc::clone(&self.api);
        let recorder = series.clone();
        let (done, elapsed) = drive(self.concurrency, Budget::For(self.duration), move |item| {
            let reply = job(Arc::clone(&api), item);
            let recorder = recorder.clone();
            async move { recorder.record(reply.await.latency) }
        })
        .await;
        self.add(Figure::rate(key, label, done, elapsed, &series));
    }
}

fn user_name(i: usize) -> String {
    format!("user{i:06}@example.com")
}

/// A user as Entra ID provisions one: name, work email, title, department, phone.
fn user(i: usize) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": format!("ext-{i:06}"),
        "userName": user_name(i),
        "active": true,
        "displayName": format!("First{i} Last{i}"),
        "name": {"givenName": format!("First{i}"), "familyName": format!("Last{i}")},
        "emails": [{"value": user_name(i), "type": "work", "primary": true}],
        "title": "Engineer",
        "phoneNumbers": [{"value": format!("+1 555 {:07}", i % 10_000_000), "type": "work"}],
        ENTERPRISE: {"department": format!("Department {}", i % 50)},
    })
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

fn filter_path(user_name: &str) -> String {
    format!(
        "/Users?filter={}",
        encode(&format!("userName eq \"{user_name}\""))
    )
}

#[derive(Deserialize)]
struct Count {
    #[serde(rename = "totalResults")]
    total_results: u64,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Members {
    #[serde(default)]
    members: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "totalResults")]
    total_results: u64,
    #[serde(rename = "Resources", default)]
    resources: Vec<IgnoredAny>,
    #[serde(rename = "nextCursor")]
    next_cursor: Option<String>,
}

/// Entra's first sync: for each user a `userName eq` lookup that finds
/// nothing, then the POST. Returns the ids in user order (users whose POST
/// failed are left out, and counted as failures). With `report` false it
/// only seeds the users for the other scenarios.
pub async fn sync(run: &mut Run, report: bool) -> Vec<String> {
    let users = run.users;
    let ids = Arc::new(Mutex::new(vec![None::<String>; users]));
    let (lookups, creates) = (Series::default(), Series::default());
    let job = {
        let (api, ids) = (Arc::clone(&run.api), Arc::clone(&ids));
        let (lookups, creates) = (lookups.clone(), creates.clone());
        move |item: u64| {
            let (api, ids) = (Arc::clone(&api), Arc::clone(&ids));
            let (lookups, creates) = (lookups.clone(), creates.clone());
            async move {
                let i = item as usize;
                let reply = api.get(&filter_path(&user_name(i)), &[200]).await;
                lookups.record(reply.latency);
                if reply.ok
                    && let Some(count) = reply.json::<Count>(&api, "sync lookup")
                    && count.total_results != 0
                {
                    api.fail(format!(
                        "sync lookup of a new user found {}",
                        count.total_results
                    ));
                }
                let reply = api.post("/Users", &user(i), &[201]).await;
                creates.record(reply.latency);
                if reply.ok
                    && let Some(created) = reply.json::<Created>(&api, "POST /Users")
                {
                    ids.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(created.id);
                }
            }
        }
    };
    let (done, elapsed) = drive(run.concurrency, Budget::Count(users as u64), job).await;
    if report {
        run.add(Figure::rate(
            "sync.create",
            "initial sync: POST /Users",
            done,
            elapsed,
            &creates,
        ));
        run.add(
            Figure::rate(
                "sync.lookup",
                "initial sync: userName eq (no match)",
                done,
                elapsed,
                &lookups,
            )
            .not_compared(),
        );
        run.add(Figure::number(
            "sync.total",
            &format!("initial sync: {users} users, total"),
            elapsed.as_secs_f64(),
            "s",
            Better::Lower,
        ));
    } else {
        println!(
            "[{}] seeded {users} users in {:.1} s",
            run.server,
            elapsed.as_secs_f64()
        );
    }
    let ids: Vec<String> = std::mem::take(&mut *ids.lock().unwrap_or_else(|p| p.into_inner()))
        .into_iter()
        .flatten()
        .collect();
    if ids.len() < users {
        run.note(format!("{} of {users} creates failed", users - ids.len()));
    }
    ids
}

/// `userName eq` lookups of random existing users.
pub async fn lookups(run: &mut Run) {
    let users = run.users as u64;
    run.timed(
        "lookups",
        "userName eq (existing user)",
        move |api, item| {
            Box::pin(async move {
                let reply = api
                    .get(&filter_path(&user_name((item % users) as usize)), &[200])
                    .await;
                if reply.ok
                    && let Some(count) = reply.json::<Count>(&api, "lookup")
                    && count.total_results != 1
                {
                    api.fail(format!(
                        "lookup of an existing user found {}",
                        count.total_results
                    ));
                }
                reply
            })
        },
    )
    .await;
}

/// `GET /Users/{id}` of random users.
pub async fn get_by_id(run: &mut Run, ids: &Arc<Vec<String>>) {
    if ids.is_empty() {
        return;
    }
    let ids = Arc::clone(ids);
    run.timed("get", "GET /Users/{id}", move |api, item| {
        let path = format!("/Users/{}", ids[(item % ids.len() as u64) as usize]);
        Box::pin(async move { api.get(&path, &[200]).await })
    })
    .await;
}

/// A page of 100 at a random `startIndex` under load, then one client
/// paging through every user by `startIndex` and by cursor.
pub async fn paging(run: &mut Run) {
    let starts = run.users.saturating_sub(PAGE - 1).max(1) as u64;
    run.timed(
        "page.load",
        "page of 100 users (random startIndex)",
        move |api, item| {
            let path = format!("/Users?startIndex={}&count={PAGE}", 1 + item % starts);
            Box::pin(async move { api.get(&path, &[200]).await })
        },
    )
    .await;

    walk(run, Walk::Index).await;
    walk(run, Walk::Cursor).await;
}

#[derive(Clone, Copy, PartialEq)]
enum Walk {
    Index,
    Cursor,
}

/// One client reads every user, a page of 100 at a time.
async fn walk(run: &mut Run, how: Walk) {
    let (key, name) = match how {
        Walk::Index => ("walk.index", "by startIndex"),
        Walk::Cursor => ("walk.cursor", "by cursor"),
    };
    let api = Arc::clone(&run.api);
    let mut latencies = Vec::new();
    let mut seen = 0u64;
    let mut total = None;
    let mut cursor = Some(String::new());
    let started = Instant::now();
    loop {
        let path = match how {
            Walk::Index => format!("/Users?startIndex={}&count={PAGE}", seen + 1),
            Walk::Cursor => match &cursor {
                Some(cursor) => format!("/Users?cursor={}&count={PAGE}", encode(cursor)),
                None => break,
            },
        };
        let reply = api.get(&path, &[200]).await;
        latencies.push(reply.latency);
        let Some(page) = reply.ok.then(|| reply.json::<Page>(&api, "page")).flatten() else {
            if how == Walk::Cursor && seen == 0 {
                run.note(format!(
                    "no cursor paging: the first page answered {}",
                    reply.status
                ));
                return;
            }
            break;
        };
        let total = *total.get_or_insert(page.total_results);
        seen += page.resources.len() as u64;
        if how == Walk::Cursor && seen < total && page.next_cursor.is_none() && latencies.len() == 1
        {
            run.note("no cursor paging: the first page carried no nextCursor".into());
            return;
        }
        cursor = page.next_cursor;
        if page.resources.is_empty() || (how == Walk::Index && seen >= total) {
            break;
        }
        // A server that never stops paging is a failure, not a hang.
        if latencies.len() as u64 > total / PAGE as u64 + 10 {
            api.fail(format!(
                "paging {name} did not end after {} pages",
                latencies.len()
            ));
            break;
        }
    }
    let elapsed = started.elapsed();
    let total = total.unwrap_or(0);
    if seen != total || total != run.users as u64 {
        api.fail(format!(
            "paging {name} saw {seen} users of totalResults {total} ({} created)",
            run.users
        ));
    }
    // Median of the first and of the last five pages: one page is noisy.
    let median = |pages: &[Duration]| {
        let mut pages = pages.to_vec();
        pages.sort_unstable();
        pages.get(pages.len() / 2).copied().map_or(0.0, ms)
    };
    let edge = latencies.len().min(5);
    let first = median(&latencies[..edge]);
    let last = median(&latencies[latencies.len() - edge..]);
    run.add(
        Figure::number(
            &format!("{key}.total"),
            &format!("all users {name}, one client: total"),
            elapsed.as_secs_f64(),
            "s",
            Better::Lower,
        )
        .compared(),
    );
    run.add(Figure::number(
        &format!("{key}.first"),
        &format!("all users {name}: first pages (median of 5)"),
        first,
        "ms",
        Better::Lower,
    ));
    run.add(Figure::number(
        &format!("{key}.last"),
        &format!("all users {name}: last pages (median of 5)"),
        last,
        "ms",
        Better::Lower,
    ));
}

/// Nightly deltas: `PATCH title` on random users, then `PATCH active false`
/// on random users of the last tenth (the leavers, kept apart so the other
/// users stay active for the membership scenario).
pub async fn delta(run: &mut Run, ids: &Arc<Vec<String>>) {
    if ids.is_empty() {
        return;
    }
    let leavers = (ids.len() / 10).max(1);
    let stayers = (ids.len() - leavers).max(1) as u64;
    let all = Arc::clone(ids);
    run.timed("delta.title", "PATCH title (Replace)", move |api, item| {
        let path = format!("/Users/{}", all[(item % stayers) as usize]);
        let body = patch(
            json!([{"op": "Replace", "path": "title", "value": format!("Title {}", item % 1000)}]),
        );
        Box::pin(async move { api.patch(&path, &body, &[200, 204]).await })
    })
    .await;
    let all = Arc::clone(ids);
    run.timed("delta.active", "PATCH active false", move |api, item| {
        let index = all.len() - leavers + (item % leavers as u64) as usize;
        let path = format!("/Users/{}", all[index]);
        let body = patch(json!([{"op": "Replace", "path": "active", "value": false}]));
        Box::pin(async move { api.patch(&path, &body, &[200, 204]).await })
    })
    .await;
}

/// Group membership: a group of every user, built in Entra's batches of
/// 100, against a group of 10; one member added and removed on each.
pub async fn groups(run: &mut Run, ids: &Arc<Vec<String>>) {
    let api = Arc::clone(&run.api);
    let created = |reply: Reply, what: &str| {
        reply
            .ok
            .then(|| reply.json::<Created>(&api, what))
            .flatten()
            .map(|created| created.id)
    };
    let Some(outsider) = created(
        api.post("/Users", &user(run.users + 1), &[201]).await,
        "POST /Users",
    ) else {
        return;
    };
    let Some(big) = created(
        api.post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Everyone"}),
            &[201],
        )
        .await,
        "POST /Groups",
    ) else {
        return;
    };
    let small_members: Vec<Value> = ids.iter().take(10).map(|id| json!({"value": id})).collect();
    let Some(small) = created(
        api.post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Ten", "members": small_members}),
            &[201],
        )
        .await,
        "POST /Groups",
    ) else {
        return;
    };

    // As Entra sends them: no query parameters. (SCIMMY applies
    // `excludedAttributes=members` to the group it patches and so would drop
    // every other member.)
    let big_path = format!("/Groups/{big}");
    let small_path = format!("/Groups/{small}");

    let batches = Series::default();
    let started = Instant::now();
    let chunks: Vec<&[String]> = ids.chunks(BATCH).collect();
    let mut late = Vec::new();
    for (number, chunk) in chunks.iter().enumerate() {
        let members: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let body = patch(json!([{"op": "Add", "path": "members", "value": members}]));
        let reply = api.patch(&big_path, &body, &[200, 204]).await;
        batches.record(reply.latency);
        if number >= chunks.len() - chunks.len().div_ceil(10) {
            late.push(reply.latency);
        }
    }
    let elapsed = started.elapsed();
    let reply = api
        .get(&format!("{big_path}?attributes=members"), &[200])
        .await;
    if reply.ok
        && let Some(group) = reply.json::<Members>(&api, "GET /Groups/{id}")
        && group.members.len() != ids.len()
    {
        api.fail(format!(
            "the group built from {} users has {} members",
            ids.len(),
            group.members.len()
        ));
    }
    run.add(
        Figure::rate(
            "groups.batch",
            &format!(
                "PATCH add {BATCH} members, building a {}-member group (one client)",
                ids.len()
            ),
            batches.len(),
            elapsed,
            &batches,
        )
        .with_unit("batches/s"),
    );
    late.sort_unstable();
    run.add(Figure::number(
        "groups.batch.late",
        "PATCH add 100 members: median of the last tenth of batches",
        late.get(late.len() / 2).copied().map_or(0.0, ms),
        "ms",
        Better::Lower,
    ));

    let add = patch(json!([{"op": "Add", "path": "members", "value": [{"value": outsider}]}]));
    // The RFC 7644 form: scim2-server refuses Entra's remove-with-value.
    let remove =
        patch(json!([{"op": "Remove", "path": format!("members[value eq \"{outsider}\"]")}]));
    let (big_add, big_remove, small_add, small_remove) = (
        Series::default(),
        Series::default(),
        Series::default(),
        Series::default(),
    );
    let warm_up = 5;
    let budget = run.duration * 3;
    let started = Instant::now();
    let mut rounds = 0;
    // Rounds alternate between the groups so drift affects both alike.
    for round in 0..warm_up + run.rounds {
        for (path, adds, removes) in [
            (&big_path, &big_add, &big_remove),
            (&small_path, &small_add, &small_remove),
        ] {
            let added = api.patch(path, &add, &[200, 204]).await;
            let removed = api.patch(path, &remove, &[200, 204]).await;
            if round >= warm_up {
                adds.record(added.latency);
                removes.record(removed.latency);
            }
        }
        if round >= warm_up {
            rounds += 1;
            if rounds >= 5 && started.elapsed() > budget {
                break;
            }
        }
    }
    if rounds < run.rounds {
        run.note(format!(
            "membership: {rounds} of {} rounds, the rest did not fit in {:.0} s",
            run.rounds,
            budget.as_secs_f64()
        ));
    }
    let size = ids.len();
    let mut median = |key: &str, label: String, series: &Series| {
        let p50 = series.latencies().p50_ms;
        run.add(Figure::number(key, &label, p50, "ms", Better::Lower).compared());
        p50
    };
    let a_big = median(
        "groups.add.big",
        format!("add 1 member, {size}-member group (median)"),
        &big_add,
    );
    let a_small = median(
        "groups.add.small",
        "add 1 member, 10-member group (median)".into(),
        &small_add,
    );
    let r_big = median(
        "groups.remove.big",
        format!("remove 1 member, {size}-member group (median)"),
        &big_remove,
    );
    let r_small = median(
        "groups.remove.small",
        "remove 1 member, 10-member group (median)".into(),
        &small_remove,
    );
    run.add(Figure::number(
        "groups.add.ratio",
        "add 1 member: big ÷ small group",
        a_big / a_small.max(1e-9),
        "×",
        Better::Lower,
    ));
    run.add(Figure::number(
        "groups.remove.ratio",
        "remove 1 member: big ÷ small group",
        r_big / r_small.max(1e-9),
        "×",
        Better::Lower,
    ));
}

/// The ceiling: `/healthz` (no SCIM, no token) where the server has one,
/// and `/ServiceProviderConfig` (a static SCIM answer behind the token).
pub async fn ceiling(run: &mut Run, health: Option<String>) {
    if let Some(url) = health {
        let url = Arc::new(url);
        run.timed("ceiling.healthz", "/healthz", move |api, _| {
            let url = Arc::clone(&url);
            Box::pin(async move { api.get(&url, &[200]).await })
        })
        .await;
    }
    run.timed("ceiling.spc", "GET /ServiceProviderConfig", |api, _| {
        Box::pin(async move { api.get("/ServiceProviderConfig", &[200]).await })
    })
    .await;
}

/// Bodies in the burst, and the size of each (the largest body scimd reads).
const BURST: usize = 64;
const BODY_BYTES: usize = 2 * 1024 * 1024;

/// Memory after a burst of 2 MiB bodies: `BURST` POSTs of a user with
/// thousands of emails and no `userName`, each read and parsed in full and
/// then refused (400), from every client at once. `rss` reads the server's
/// resident memory (KiB); the figure is the ratio to `idle` a second later.
pub async fn bodies(run: &mut Run, idle_kib: u64, rss: impl Fn() -> Option<u64>) {
    let email = |i: usize| json!({"value": format!("someone{i:08}@example.com"), "type": "work"});
    let mut emails = Vec::new();
    let mut size = 0;
    while size < BODY_BYTES - 200 {
        let item = email(emails.len());
        size += item.to_string().len() + 1;
        emails.push(item);
    }
    let body = Arc::new(
        json!({"schemas": [USER], "emails": emails})
            .to_string()
            .into_bytes(),
    );
    let api = Arc::clone(&run.api);
    let (done, _) = drive(run.concurrency, Budget::Count(BURST as u64), move |_| {
        let api = Arc::clone(&api);
        let body = Arc::clone(&body);
        async move {
            api.send(reqwest::Method::POST, "/Users", Some(body.to_vec()), &[400])
                .await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let Some(after) = rss() else {
        return;
    };
    let mib = |kib: u64| kib as f64 / 1024.0;
    run.add(Figure::number(
        "bodies.rss",
        &format!("RSS 1 s after {done} bodies of 2 MiB"),
        mib(after),
        "MiB",
        Better::Lower,
    ));
    run.add(Figure::number(
        "bodies.ratio",
        "that RSS ÷ RSS before the burst",
        after as f64 / idle_kib.max(1) as f64,
        "×",
        Better::Lower,
    ));
}

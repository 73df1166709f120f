//! Scale benchmark (a bench binary, not a test): `cargo bench --bench scale`.
//!
//! Seeds a tenant through the service layer, then measures over real HTTP:
//! - one-member PATCH add/remove on a 100k-member group vs a 10-member group;
//! - `userName eq` lookups per second at the seeded user count;
//! - paging through every user with `count=100` by index.
//!
//! `SCALE_USERS` (default 100000) and `SCALE_DATABASE_URL` (default: a temp
//! SQLite file; a `postgres://` URL benchmarks PostgreSQL, whose database
//! must be empty) change the setup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use reqwest::Client;
use scimd::admin;
use scimd::http::auth::AuthSettings;
use scimd::jobs::JobSettings;
use scimd::scim::activity::{self, Actor};
use scimd::scim::ids::TenantId;
use scimd::scim::policy::Policy;
use scimd::service::{Scope, groups, users};
use scimd::startup::{Application, ServerConfig};
use scimd::store::db;
use serde_json::{Value, json};

fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i:06}@example.com"),
        "name": {"givenName": "User", "familyName": format!("{i}")},
        "emails": [{"value": format!("user{i:06}@example.com"), "type": "work", "primary": true}],
        "title": "Engineer",
    })
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn report(label: &str, samples: &mut [Duration]) -> Duration {
    let median = percentile(samples, 0.5);
    println!(
        "{label:<46} median {:>8.3} ms   p95 {:>8.3} ms   (n={})",
        median.as_secs_f64() * 1e3,
        percentile(samples, 0.95).as_secs_f64() * 1e3,
        samples.len()
    );
    median
}

struct Bench {
    client: Client,
    base: String,
    token: String,
}

impl Bench {
    /// One PATCH; `query` is appended to the URL (e.g. `?excludedAttributes=members`).
    async fn patch_group(&self, group: &str, query: &str, operation: Value) -> Duration {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [operation],
        });
        let started = Instant::now();
        let response = self
            .client
            .patch(format!("{}/Groups/{group}{query}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        response.bytes().await.unwrap();
        assert!(status == 200 || status == 204, "{status}");
        started.elapsed()
    }

    /// Adds then removes `member`, `rounds` times; (add, remove) samples.
    async fn add_remove(
        &self,
        group: &str,
        query: &str,
        member: &str,
        rounds: usize,
    ) -> (Vec<Duration>, Vec<Duration>) {
        let mut adds = Vec::with_capacity(rounds);
        let mut removes = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            adds.push(
                self.patch_group(
                    group,
                    query,
                    json!({"op": "add", "path": "members", "value": [{"value": member}]}),
                )
                .await,
            );
            removes.push(
                self.patch_group(
                    group,
                    query,
                    json!({"op": "remove", "path": format!("members[value eq \"{member}\"]")}),
                )
                .await,
            );
        }
        (adds, removes)
    }
}

#[actix_web::main]
async fn main() {
    let total: usize = std::env::var("SCALE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let scratch = tempfile::tempdir().unwrap();
    let database_url = std::env::var("SCALE_DATABASE_URL")
        .unwrap_or_else(|_| scratch.path().join("bench.db").display().to_string());
    let pool = db::connect(&database_url, 4).unwrap();
    let (tenant, token) = {
        let conn = &mut *pool.get().unwrap();
        let row = admin::create_tenant(conn, "bench").unwrap();
        let token = admin::issue_token(conn, &row, "bench").unwrap().1;
        (row.tenant_id(), token)
    };

    println!(
        "backend: {}",
        if database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let seeding = Instant::now();
    let ids = seed_users(&pool, &tenant, total);
    println!(
        "seeded {total} users in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    if database_url.starts_with("postgres") {
        // What autovacuum does after a table grows by this much (this
        // machine's PostgreSQL runs with autovacuum off): without statistics
        // the planner cannot tell a userName lookup is selective.
        use diesel::connection::SimpleConnection;
        pool.get().unwrap().batch_execute("ANALYZE").unwrap();
    }
    let started = Instant::now();
    let big = seed_group(&pool, &tenant, "everyone", &ids);
    let small = seed_group(&pool, &tenant, "ten", &ids[..10]);
    println!(
        "seeded groups of {} and 10 members in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );

    let app = Application::build(&ServerConfig {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        db: db::DbSettings {
            pool_size: 8,
            ..db::DbSettings::default()
        },
        workers: 2,
        auth: AuthSettings::default(),
        rate_limit: None,
        jobs: JobSettings::default(),
        access_log: false,
        metrics_team_label: false,
        limits: Default::default(),
        tls: None,
        console: None,
    })
    .unwrap();
    let bench = Bench {
        client: Client::new(),
        base: format!("http://127.0.0.1:{}/api/external/scim", app.port()),
        token,
    };
    actix_web::rt::spawn(app.run_until_stopped());

    // A member outside both groups, added and removed again each round.
    let scope = seeding_scope(&tenant);
    let outsider = users::create(
        &scope,
        &mut pool.get().unwrap(),
        users::prepare(scope.policy, user(total)),
    )
    .unwrap()
    .row
    .id;
    // Both groups answer with the same shape (the group without members),
    // so the comparison measures the membership change itself. Rounds
    // alternate between the groups so drift affects both alike.
    let same_shape = "?excludedAttributes=members";
    bench.add_remove(&big, same_shape, &outsider, 20).await; // warm-up
    bench.add_remove(&small, same_shape, &outsider, 20).await;
    let rounds = 300;
    let (mut big_add, mut big_remove, mut small_add, mut small_remove) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (add, remove) = bench.add_remove(&big, same_shape, &outsider, 1).await;
        big_add.extend(add);
        big_remove.extend(remove);
        let (add, remove) = bench.add_remove(&small, same_shape, &outsider, 1).await;
        small_add.extend(add);
        small_remove.extend(remove);
    }
    let (mut plain_add, mut plain_remove) = bench.add_remove(&big, "", &outsider, rounds).await;
    println!("\n== group membership PATCH (HTTP round trip, ?excludedAttributes=members) ==");
    let a_big = report(
        &format!("add one member, {}-member group", ids.len()),
        &mut big_add,
    );
    let a_small = report("add one member, 10-member group", &mut small_add);
    let r_big = report(
        &format!("remove one member, {}-member group", ids.len()),
        &mut big_remove,
    );
    let r_small = report("remove one member, 10-member group", &mut small_remove);
    println!(
        "big/small ratio of medians: add {:.2}, remove {:.2}",
        a_big.as_secs_f64() / a_small.as_secs_f64(),
        r_big.as_secs_f64() / r_small.as_secs_f64()
    );
    println!("-- the same on the big group without query parameters (answers 204) --");
    report("add one member, default response", &mut plain_add);
    report("remove one member, default response", &mut plain_remove);

    println!("\n== userName eq lookups ==");
    lookups(&bench, total, Duration::from_secs(10), 8).await;

    println!("\n== paging all users, count=100, by startIndex ==");
    let started = Instant::now();
    let mut seen = 0;
    let mut start_index = 1;
    loop {
        let page: Value = bench
            .client
            .get(format!(
                "{}/Users?startIndex={start_index}&count=100",
                bench.base
            ))
            .bearer_auth(&bench.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got = page["Resources"].as_array().map_or(0, Vec::len);
        if got == 0 {
            break;
        }
        seen += got;
        start_index += got;
    }
    let elapsed = started.elapsed();
    println!(
        "{seen} users in {:.1} s ({:.0} pages/s)",
        elapsed.as_secs_f64(),
        seen as f64 / 100.0 / elapsed.as_secs_f64()
    );

    println!("\n== paging all users, count=100, by cursor ==");
    let started = Instant::now();
    let mut seen = 0;
    let mut cursor = String::new();
    let mut last_page;
    loop {
        let page_started = Instant::now();
        let page: Value = bench
            .client
            .get(format!("{}/Users", bench.base))
            .query(&[("cursor", cursor.as_str()), ("count", "100")])
            .bearer_auth(&bench.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        last_page = page_started.elapsed();
        seen += page["Resources"].as_array().map_or(0, Vec::len);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{seen} users in {:.1} s ({:.0} pages/s); last page {:.1} ms",
        elapsed.as_secs_f64(),
        seen as f64 / 100.0 / elapsed.as_secs_f64(),
        last_page.as_secs_f64() * 1e3
    );
}

static DEFAULT_POLICY: LazyLock<Policy> = LazyLock::new(Policy::default);
static SEEDER: LazyLock<Actor> = LazyLock::new(|| Actor {
    token_label: "bench".into(),
    client: activity::Client::Other,
});

/// Seeding goes through the service layer as a client with the default policy.
fn seeding_scope(tenant: &TenantId) -> Scope<'_> {
    Scope {
        tenant,
        policy: &DEFAULT_POLICY,
        actor: &SEEDER,
        telemetry: &scimd::telemetry::DETACHED,
    }
}

fn seed_users(pool: &db::DbPool, tenant: &TenantId, total: usize) -> Vec<String> {
    let conn = &mut *pool.get().unwrap();
    (0..total)
        .map(|i| {
            let scope = seeding_scope(tenant);
            users::create(&scope, conn, users::prepare(scope.policy, user(i)))
                .unwrap()
                .row
                .id
        })
        .collect()
}

fn seed_group(pool: &db::DbPool, tenant: &TenantId, name: &str, members: &[String]) -> String {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members,
    });
    let conn = &mut *pool.get().unwrap();
    groups::create(&seeding_scope(tenant), conn, body)
        .unwrap()
        .row
        .id
}

async fn lookups(bench: &Bench, total: usize, duration: Duration, concurrency: usize) {
    let deadline = Instant::now() + duration;
    let workers = (0..concurrency).map(|w| {
        let client = bench.client.clone();
        let base = bench.base.clone();
        let token = bench.token.clone();
        async move {
            let mut done = 0usize;
            let mut i = w * 7919;
            while Instant::now() < deadline {
                i = (i + 104_729) % total;
                let filter = format!("userName eq \"USER{i:06}@example.com\"");
                let page: Value = client
                    .get(format!("{base}/Users"))
                    .query(&[("filter", filter.as_str())])
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(page["totalResults"], 1, "{filter}");
                done += 1;
            }
            done
        }
    });
    let started = Instant::now();
    let done: usize = futures::future::join_all(workers).await.into_iter().sum();
    println!(
        "{done} lookups in {:.1} s with {concurrency} concurrent clients: {:.0} lookups/s",
        started.elapsed().as_secs_f64(),
        done as f64 / started.elapsed().as_secs_f64()
    );
}

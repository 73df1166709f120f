//! Console page weight and server time (a bench binary, not a test):
//! `cargo bench --bench console`.
//!
//! Seeds a team of `CONSOLE_USERS` members (default 10000) through the
//! service layer and 90 days of activity history (the initial import of
//! every member 89 days ago, then each day 1% of the team updated, a few
//! deactivations and failed writes, and hourly updates over the last two
//! days), then signs in to the console over HTTP and times its pages:
//! median and p95 of the whole answer as the client sees it, on loopback,
//! and the bytes of HTML (the chart's SVG is inline) and of the stylesheet.
//! `CONSOLE_DATABASE_URL` (default: a temp SQLite file; an empty
//! `postgres://` database benchmarks PostgreSQL) changes the backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use reqwest::Client;
use reqwest::header::{COOKIE, SET_COOKIE};
use scimd::admin;
use scimd::console::ConsoleSettings;
use scimd::http::auth::AuthSettings;
use scimd::jobs::JobSettings;
use scimd::scim::activity::{Actor, Client as IdpClient};
use scimd::scim::ids::TenantId;
use scimd::scim::policy::Policy;
use scimd::scim::time;
use scimd::service::{Scope, users};
use scimd::startup::{Application, ServerConfig};
use scimd::store::db::{self, write_transaction};
use scimd::store::schema::provisioning_events;
use serde_json::json;

static DEFAULT_POLICY: LazyLock<Policy> = LazyLock::new(Policy::default);
static SEEDER: LazyLock<Actor> = LazyLock::new(|| Actor {
    token_label: "seed".into(),
    client: IdpClient::Entra,
});

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// One synthetic activity entry.
struct Entry {
    at: chrono::DateTime<Utc>,
    operation: &'static str,
    member: usize,
    status: i32,
}

/// The history: what an Entra tenant of `total` people does in 90 days.
fn history(total: usize) -> Vec<Entry> {
    let now = Utc::now();
    let mut entries = Vec::new();
    let import = now - chrono::Duration::days(89);
    for member in 0..total {
        let at = import + chrono::Duration::milliseconds(member as i64 * 200);
        entries.push(Entry {
            at,
            operation: "create",
            member,
            status: 201,
        });
    }
    for day in 0..89i64 {
        let cycle = import + chrono::Duration::days(day + 1);
        for n in 0..total / 100 {
            let member = (day as usize * 97 + n * 13) % total;
            let at = cycle + chrono::Duration::seconds(n as i64 * 2);
            entries.push(Entry {
                at,
                operation: "update",
                member,
                status: 200,
            });
        }
        for n in 0..5 {
            let at = cycle + chrono::Duration::minutes(30 + n);
            let member = (day as usize * 31 + n as usize) % total;
            entries.push(Entry {
                at,
                operation: "deactivate",
                member,
                status: 200,
            });
        }
        for n in 0..3 {
            let at = cycle + chrono::Duration::minutes(40 + n);
            let member = (day as usize * 7 + n as usize) % total;
            entries.push(Entry {
                at,
                operation: "update",
                member,
                status: 412,
            });
        }
    }
    for hour in 0..48i64 {
        for n in 0..20 {
            let at = now - chrono::Duration::hours(hour) - chrono::Duration::minutes(n);
            let member = (hour as usize * 41 + n as usize) % total;
            entries.push(Entry {
                at,
                operation: "update",
                member,
                status: 200,
            });
        }
    }
    entries.sort_by_key(|e| e.at);
    entries
}

#[actix_web::main]
async fn main() {
    let total: usize = std::env::var("CONSOLE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let scratch = tempfile::tempdir().unwrap();
    let database_url = std::env::var("CONSOLE_DATABASE_URL")
        .unwrap_or_else(|_| scratch.path().join("bench.db").display().to_string());
    let pool = db::connect(&database_url, 4).unwrap();
    let tenant = {
        let conn = &mut *pool.get().unwrap();
        let row = admin::create_tenant(conn, "bench").unwrap();
        admin::create_account(conn, "op", None, "bench operator password").unwrap();
        row
    };
    let tenant_id: TenantId = tenant.tenant_id();
    let seeding = Instant::now();
    let ids: Vec<String> = {
        let conn = &mut *pool.get().unwrap();
        let scope = Scope {
            tenant: &tenant_id,
            policy: &DEFAULT_POLICY,
            actor: &SEEDER,
            telemetry: &scimd::telemetry::DETACHED,
        };
        (0..total)
            .map(|i| {
                let user = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("user{i:06}@example.com"),
                    "name": {"givenName": "User", "familyName": format!("{i}")},
                    "emails": [{"value": format!("user{i:06}@example.com"), "primary": true}],
                    "title": "Engineer",
                });
                users::create(&scope, conn, users::prepare(scope.policy, user))
                    .unwrap()
                    .row
                    .id
            })
            .collect()
    };
    let entries = history(total);
    {
        let conn = &mut *pool.get().unwrap();
        write_transaction(conn, |conn| {
            diesel::delete(provisioning_events::table).execute(conn)?;
            for entry in &entries {
                diesel::insert_into(provisioning_events::table)
                    .values((
                        provisioning_events::tenant_id.eq(tenant_id.as_str()),
                        provisioning_events::occurred_at.eq(time::format(entry.at)),
                        provisioning_events::token_label.eq("entra"),
                        provisioning_events::client.eq("entra"),
                        provisioning_events::operation.eq(entry.operation),
                        provisioning_events::resource_type.eq("User"),
                        provisioning_events::resource_id.eq(&ids[entry.member]),
                        provisioning_events::resource_name
                            .eq(format!("user{:06}@example.com", entry.member)),
                        provisioning_events::status.eq(entry.status),
                        provisioning_events::scim_type
                            .eq((entry.status == 412).then_some("preconditionFailed")),
                        provisioning_events::detail.eq((entry.status == 412)
                            .then_some("the resource changed since the ETag the client sent")),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    if database_url.starts_with("postgres") {
        use diesel::connection::SimpleConnection;
        pool.get().unwrap().batch_execute("ANALYZE").unwrap();
    }
    println!(
        "backend: {}; seeded {total} members and {} activity entries over 90 days in {:.1} s",
        if database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        entries.len(),
        seeding.elapsed().as_secs_f64()
    );

    let config = ServerConfig {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        db: db::DbSettings::default(),
        workers: 2,
        auth: AuthSettings::default(),
        rate_limit: None,
        jobs: JobSettings::default(),
        access_log: false,
        metrics_team_label: false,
        limits: Default::default(),
        tls: None,
        console: Some(ConsoleSettings::for_tests()),
    };
    let app = Application::build(&config).unwrap();
    let console = format!("http://127.0.0.1:{}", app.console_port().unwrap());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = client
        .post(format!("{console}/login"))
        .form(&[("name", "op"), ("password", "bench operator password")])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let stylesheet = client
        .get(format!("{console}/console.css"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    println!("stylesheet: {stylesheet} bytes (cached by the browser for an hour)");
    let team = &tenant.id;
    let pages = [
        ("team overview, per hour (48 h)", format!("/teams/{team}")),
        (
            "team overview, per day (90 days)",
            format!("/teams/{team}?range=90d"),
        ),
        ("teams", "/teams".to_owned()),
        ("failures (90 days)", format!("/teams/{team}/failures")),
        ("members, first page", format!("/teams/{team}/members")),
        (
            "members, search",
            format!("/teams/{team}/members?q=user00999"),
        ),
        (
            "member page",
            format!("/teams/{team}/members/{}", ids[total / 2]),
        ),
    ];
    for (label, path) in pages {
        let mut samples = Vec::new();
        let mut bytes = 0;
        for _ in 0..30 {
            let started = Instant::now();
            let answer = client
                .get(format!("{console}{path}"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200, "{path}");
            bytes = answer.bytes().await.unwrap().len();
            samples.push(started.elapsed());
        }
        println!(
            "{label:<36} median {:>7.1} ms   p95 {:>7.1} ms   HTML {:>6} bytes, with the stylesheet {:>6}",
            percentile(&mut samples, 0.5).as_secs_f64() * 1e3,
            percentile(&mut samples, 0.95).as_secs_f64() * 1e3,
            bytes,
            bytes + stylesheet
        );
    }
}

//! `/metrics` beyond the request counters: provisioning writes by operation
//! and outcome (per team only when asked), the outbox and email deliveries,
//! the pool read at each scrape, requests in flight, the process and the
//! build. Values are asserted, not only names.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::smtp::SmtpSink;
use common::{Backend, TestApp, TestOptions, assert_scim_error, json, patch_body, user_body};
use serde_json::json;

async fn scrape(app: &TestApp) -> String {
    let answer = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

/// The value of one series, written exactly as the text format writes it
/// (labels in name order); `None` when there is no such series.
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        Some(rest.parse().unwrap())
    })
}

fn provisioning_lines(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|line| line.starts_with("scimd_provisioning_operations_total{"))
        .collect()
}

/// Two creates, a deactivation, a group, and three writes that fail in
/// different ways: each is counted once, as the activity log records it.
async fn provisioning_writes_are_counted_by_operation_and_outcome(app: TestApp) {
    let ann = app.create_user("ann@acme.example").await;
    app.create_user("bo@acme.example").await;
    let (status, _) = json(
        app.patch(
            &format!("/Users/{ann}"),
            &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    app.create_group("Sales", &[&ann]).await;
    let (status, body) = json(app.post("/Users", &user_body("bo@acme.example")).await).await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    let (status, body) = json(
        app.post(
            "/Users",
            &json!({"schemas": [common::USER_SCHEMA], "name": {"givenName": "No"}}),
        )
        .await,
    )
    .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let (status, body) = json(app.delete("/Users/no-such-user").await).await;
    assert_scim_error(status, &body, 404, None);
    // Reads are not writes: not counted.
    assert_eq!(app.get(&format!("/Users/{ann}")).await.status(), 200);

    let metrics = scrape(&app).await;
    let expected = [
        (
            r#"operation="create",outcome="success",resource_type="User""#,
            2.0,
        ),
        (
            r#"operation="deactivate",outcome="success",resource_type="User""#,
            1.0,
        ),
        (
            r#"operation="create",outcome="success",resource_type="Group""#,
            1.0,
        ),
        (
            r#"operation="create",outcome="409_uniqueness",resource_type="User""#,
            1.0,
        ),
        (
            r#"operation="create",outcome="400_invalidValue",resource_type="User""#,
            1.0,
        ),
        (
            r#"operation="deactivate",outcome="404",resource_type="User""#,
            1.0,
        ),
    ];
    for (labels, count) in expected {
        let series = format!("scimd_provisioning_operations_total{{{labels}}}");
        assert_eq!(value(&metrics, &series), Some(count), "{series}: {metrics}");
    }
    let lines = provisioning_lines(&metrics);
    assert_eq!(lines.len(), expected.len(), "no other series: {lines:?}");
    assert!(
        lines.iter().all(|line| !line.contains("team=")),
        "no team label by default: {lines:?}"
    );
    // The same writes as the activity log holds them.
    let conn = &mut *app.pool.get().unwrap();
    let logged = scimd::store::activity::between(&app.acme(), conn, 0, i64::MAX)
        .unwrap()
        .len();
    assert_eq!(logged, 7);
}

async fn the_team_label_is_added_on_request(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        TestOptions {
            metrics_team_label: true,
            ..TestOptions::default()
        },
    )
    .await
    else {
        return;
    };
    app.create_user("ann@acme.example").await;
    let other = app.tenant_with_token("globex");
    let (status, _) = json(
        app.request_as(
            &other,
            reqwest::Method::POST,
            "/Users",
            Some(&user_body("ann@globex.example")),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = json(app.post("/Users", &user_body("ann@acme.example")).await).await;
    assert_eq!(status, 409);

    let globex = {
        let conn = &mut *app.pool.get().unwrap();
        scimd::admin::find_tenant(conn, "globex")
            .unwrap()
            .tenant_id()
    };
    let acme = app.acme();
    let metrics = scrape(&app).await;
    for (labels, count) in [
        (
            format!(r#"operation="create",outcome="success",resource_type="User",team="{acme}""#),
            1.0,
        ),
        (
            format!(
                r#"operation="create",outcome="409_uniqueness",resource_type="User",team="{acme}""#
            ),
            1.0,
        ),
        (
            format!(r#"operation="create",outcome="success",resource_type="User",team="{globex}""#),
            1.0,
        ),
    ] {
        let series = format!("scimd_provisioning_operations_total{{{labels}}}");
        assert_eq!(value(&metrics, &series), Some(count), "{series}: {metrics}");
    }
    assert_eq!(provisioning_lines(&metrics).len(), 3, "{metrics}");
    assert!(
        !metrics.contains("acme\""),
        "the id, never the name: {metrics}"
    );
}

/// Without SMTP an invite stays queued: the outbox gauges say so at the
/// next scrape.
async fn the_outbox_is_counted_by_state(app: TestApp) {
    let metrics = scrape(&app).await;
    assert_eq!(
        value(&metrics, r#"scimd_outbox_emails{state="queued"}"#),
        Some(0.0)
    );
    app.set_policy(|p| p.invites = true);
    app.create_user("new.hire@acme.example").await;
    app.create_user("second.hire@acme.example").await;
    let metrics = scrape(&app).await;
    assert_eq!(
        value(&metrics, r#"scimd_outbox_emails{state="queued"}"#),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        value(&metrics, r#"scimd_outbox_emails{state="sent"}"#),
        Some(0.0)
    );
    assert_eq!(
        value(&metrics, r#"scimd_outbox_emails{state="failed"}"#),
        Some(0.0)
    );
}

/// On a server nobody has sent a request to, the pool is read at the
/// scrape (it used to read 0 until a request took a connection); the scrape
/// is the one request in flight; process and build figures are there.
async fn an_idle_server_shows_its_pool_process_and_build(app: TestApp) {
    let metrics = scrape(&app).await;
    // `TestApp` opens a pool of 4; r2d2 opens them all at start.
    assert_eq!(
        value(&metrics, "scimd_db_pool_connections"),
        Some(4.0),
        "{metrics}"
    );
    let idle = value(&metrics, "scimd_db_pool_idle_connections").unwrap();
    // The job thread may hold one for a moment.
    assert!((3.0..=4.0).contains(&idle), "{idle}: {metrics}");
    assert_eq!(
        value(&metrics, "scimd_http_requests_in_flight"),
        Some(1.0),
        "this scrape: {metrics}"
    );
    assert_eq!(value(&metrics, "scimd_db_pool_timeouts_total"), Some(0.0));
    let build = format!(
        r#"scimd_build_info{{schema_version="{}",version="{}"}}"#,
        scimd::store::db::schema_version(),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&metrics, &build), Some(1.0), "{metrics}");
    assert!(value(&metrics, "process_resident_memory_bytes").unwrap() > 1_000_000.0);
    assert!(value(&metrics, "process_open_fds").unwrap() >= 5.0);
    assert!(value(&metrics, "process_threads").unwrap() >= 2.0);

    // Requests' waits for a pooled connection are timed. On SQLite requests
    // take none: reads use their worker's connection, writes the writer's.
    let waits = value(&metrics, "scimd_db_pool_wait_seconds_count").unwrap();
    app.create_user("ann@acme.example").await;
    let metrics = scrape(&app).await;
    let waits_after = value(&metrics, "scimd_db_pool_wait_seconds_count").unwrap();
    match app.backend {
        Backend::Postgres => assert!(waits_after > waits, "{metrics}"),
        Backend::Sqlite => assert_eq!(waits_after, waits, "{metrics}"),
    }
}

/// A refused delivery and the retry that succeeds are each counted.
async fn email_deliveries_are_counted_by_outcome(backend: Backend) {
    let sink = SmtpSink::start(1);
    let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
        return;
    };
    app.set_policy(|p| p.invites = true);
    app.create_user("patient@acme.example").await;
    assert_eq!(sink.wait_for(1, Duration::from_secs(15)).len(), 1);
    assert_eq!(sink.refused(), 1);
    // The count follows the send by a moment.
    let mut metrics = scrape(&app).await;
    for _ in 0..50 {
        if value(&metrics, r#"scimd_outbox_emails{state="sent"}"#) == Some(1.0) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        metrics = scrape(&app).await;
    }
    for (outcome, count) in [("retrying", 1.0), ("sent", 1.0)] {
        let series =
            format!(r#"scimd_email_send_attempts_total{{kind="invite",outcome="{outcome}"}}"#);
        assert_eq!(value(&metrics, &series), Some(count), "{series}: {metrics}");
    }
    assert_eq!(
        value(
            &metrics,
            r#"scimd_email_send_attempts_total{kind="invite",outcome="given_up"}"#
        ),
        None
    );
    assert_eq!(
        value(&metrics, r#"scimd_outbox_emails{state="sent"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, r#"scimd_outbox_emails{state="queued"}"#),
        Some(0.0)
    );
}

on_both_backends!(
    provisioning_writes_are_counted_by_operation_and_outcome,
    the_outbox_is_counted_by_state,
    an_idle_server_shows_its_pool_process_and_build,
);

mod options {
    use super::*;

    #[actix_web::test]
    async fn the_team_label_is_added_on_request_sqlite() {
        the_team_label_is_added_on_request(Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn the_team_label_is_added_on_request_postgres() {
        the_team_label_is_added_on_request(Backend::Postgres).await;
    }

    #[actix_web::test]
    async fn email_deliveries_are_counted_by_outcome_sqlite() {
        email_deliveries_are_counted_by_outcome(Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn email_deliveries_are_counted_by_outcome_postgres() {
        email_deliveries_are_counted_by_outcome(Backend::Postgres).await;
    }
}

//! Tenants, tokens, authentication and discovery over HTTP, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Backend, TestApp, TestOptions, assert_scim_error, json};
use diesel::connection::SimpleConnection;
use reqwest::Method;
use scimd::http::auth::AuthSettings;
use scimd::scim::ids::TokenId;
use scimd::store::{db, tokens};
use scimd::{admin, config};

async fn service_provider_config_needs_a_valid_token(app: TestApp) {
    let (status, body) = json(app.get("/ServiceProviderConfig").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert_eq!(body["authenticationSchemes"][0]["type"], "oauthbearertoken");
    // The advertised limits are the enforced ones (one place: `scimd::config`).
    assert_eq!(body["bulk"]["maxOperations"], config::BULK_MAX_OPERATIONS);
    assert_eq!(
        body["bulk"]["maxPayloadSize"],
        config::BULK_MAX_PAYLOAD_BYTES
    );
    assert_eq!(body["filter"]["maxResults"], config::LIST_MAX_RESULTS);
    assert_eq!(body["pagination"]["maxPageSize"], config::LIST_MAX_RESULTS);
    assert_eq!(
        body["pagination"]["defaultPageSize"],
        config::LIST_DEFAULT_COUNT
    );

    let response = app
        .client
        .get(app.url("/ServiceProviderConfig"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer realm=\"scimd\""
    );
    let (status, body) = json(response).await;
    assert_scim_error(status, &body, 401, None);

    for bad in [
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        &format!("Bearer {}x", app.token),
        &format!("Bearer {}", app.token.replace('_', "-")),
    ] {
        let response = app
            .client
            .get(app.url("/ServiceProviderConfig"))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_scim_error(status, &body, 401, None);
    }
}

async fn a_token_with_the_right_prefix_but_wrong_secret_is_refused(app: TestApp) {
    let (prefix, secret) = app.token.rsplit_once('_').unwrap();
    let mut forged_secret: Vec<char> = secret.chars().collect();
    forged_secret[0] = if forged_secret[0] == 'a' { 'b' } else { 'a' };
    let forged = format!("{prefix}_{}", forged_secret.iter().collect::<String>());
    let (status, body) = json(
        app.request_as(&forged, Method::GET, "/ServiceProviderConfig", None)
            .await,
    )
    .await;
    assert_scim_error(status, &body, 401, None);
    // The genuine token still works after the forged attempt.
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
}

fn token_id_of(app: &TestApp, tenant: &str) -> TokenId {
    let conn = &mut app.pool.get().unwrap();
    let tenant = admin::find_tenant(conn, tenant).unwrap();
    let rows = tokens::list(&tenant.tenant_id(), conn).unwrap();
    TokenId::from_string(rows[0].id.clone())
}

async fn revoked_token_is_refused_on_its_next_request(app: TestApp) {
    // The first request verifies with argon2 and fills the cache.
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    let id = token_id_of(&app, "acme");
    admin::revoke_token(&mut app.pool.get().unwrap(), None, id.as_str()).unwrap();
    let (status, body) = json(app.get("/ServiceProviderConfig").await).await;
    assert_scim_error(status, &body, 401, None);
    assert_eq!(body["detail"], "the token has been revoked");
    // Revoking twice is reported, not silently accepted.
    assert!(admin::revoke_token(&mut app.pool.get().unwrap(), None, id.as_str()).is_err());
}

async fn token_use_is_recorded_and_listing_never_shows_the_secret(app: TestApp) {
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    let tenant = admin::find_tenant(&mut app.pool.get().unwrap(), "acme").unwrap();
    // The use is recorded off the request's path, moments after it.
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = tokens::list(&tenant.tenant_id(), &mut app.pool.get().unwrap()).unwrap();
        if rows[0].last_used_at.is_some() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rows.len(), 1);
    assert!(rows[0].last_used_at.is_some(), "recorded within 2 s");
    let secret = app.token.rsplit_once('_').unwrap().1;
    assert!(!rows[0].secret_hash.contains(secret));
    assert!(rows[0].secret_hash.starts_with("$argon2id$"));
}

async fn tokens_of_two_tenants_authenticate_separately(app: TestApp) {
    let other = app.tenant_with_token("globex");
    assert_eq!(
        app.request_as(&other, Method::GET, "/ServiceProviderConfig", None)
            .await
            .status(),
        200
    );
    let id = token_id_of(&app, "globex");
    admin::revoke_token(&mut app.pool.get().unwrap(), None, id.as_str()).unwrap();
    assert_eq!(
        app.request_as(&other, Method::GET, "/ServiceProviderConfig", None)
            .await
            .status(),
        401
    );
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
}

async fn discovery_documents_are_valid_and_located(app: TestApp) {
    let (status, body) = json(app.get("/ResourceTypes").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let names: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["User", "Group"]);
    assert_eq!(
        body["Resources"][0]["meta"]["location"],
        app.url("/ResourceTypes/User")
    );

    let (status, body) = json(app.get("/Schemas").await).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for expected in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:scimd:2.0:Card",
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
        let (status, doc) = json(app.get(&format!("/Schemas/{expected}")).await).await;
        assert_eq!(status, 200);
        assert_eq!(doc["id"], expected);
        assert!(doc["attributes"].as_array().is_some_and(|a| !a.is_empty()));
        assert_eq!(doc["meta"]["resourceType"], "Schema");
    }
    let (status, body) = json(app.get("/Schemas/urn:nope").await).await;
    assert_scim_error(status, &body, 404, None);
}

async fn both_prefixes_and_forwarded_headers_shape_locations(app: TestApp) {
    let response = app
        .client
        .get(format!(
            "{}/api/external/scim/v2/ServiceProviderConfig",
            app.address
        ))
        .bearer_auth(&app.token)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "cards.example.com")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["meta"]["location"],
        "https://cards.example.com/api/external/scim/v2/ServiceProviderConfig"
    );
}

async fn unknown_routes_and_methods_answer_in_scim_form(app: TestApp) {
    let (status, body) = json(app.get("/Nope").await).await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = json(app.delete("/ServiceProviderConfig").await).await;
    assert_scim_error(status, &body, 405, None);
}

async fn health_readiness_and_metrics(app: TestApp) {
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(
        "scimd_http_requests_total{endpoint=\"/api/external/scim/ServiceProviderConfig\",method=\"GET\",status=\"200\"} 1"
    ), "{metrics}");
    assert!(metrics.contains(
        "scimd_http_requests_duration_seconds_count{endpoint=\"/api/external/scim/ServiceProviderConfig\",method=\"GET\",status=\"200\"} 1"
    ), "latencies by route and status: {metrics}");
    assert!(
        metrics.contains("scimd_http_requests_duration_seconds_bucket{"),
        "{metrics}"
    );
    assert!(metrics.contains("scimd_db_pool_connections"), "{metrics}");
    assert!(!metrics.contains(&app.token));
}

async fn migrations_run_from_empty_and_rerun_as_a_no_op(app: TestApp) {
    let conn = &mut app.pool.get().unwrap();
    // `spawn` migrated an empty database; a second run must find nothing to do.
    db::migrate(conn, false).unwrap();
    for table in [
        "tenants",
        "api_tokens",
        "members",
        "member_emails",
        "cards",
        "card_links",
        "subteams",
        "subteam_members",
        "provisioning_events",
    ] {
        conn.batch_execute(&format!("SELECT COUNT(*) FROM {table}"))
            .unwrap_or_else(|e| panic!("table {table} missing: {e}"));
    }
}

on_both_backends!(
    migrations_run_from_empty_and_rerun_as_a_no_op,
    service_provider_config_needs_a_valid_token,
    a_token_with_the_right_prefix_but_wrong_secret_is_refused,
    revoked_token_is_refused_on_its_next_request,
    token_use_is_recorded_and_listing_never_shows_the_secret,
    tokens_of_two_tenants_authenticate_separately,
    discovery_documents_are_valid_and_located,
    both_prefixes_and_forwarded_headers_shape_locations,
    unknown_routes_and_methods_answer_in_scim_form,
    health_readiness_and_metrics,
);

/// With the default recheck interval, a token revoked by another process
/// (the CLI) keeps working at most that long, then stops.
#[actix_web::test]
async fn revocation_from_another_process_takes_effect_within_the_recheck_interval() {
    let recheck = Duration::from_millis(300);
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        TestOptions {
            auth: AuthSettings {
                recheck,
                ..AuthSettings::default()
            },
            ..TestOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    let id = token_id_of(&app, "acme");
    admin::revoke_token(&mut app.pool.get().unwrap(), None, id.as_str()).unwrap();
    actix_web::rt::time::sleep(recheck + Duration::from_millis(50)).await;
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 401);
}

/// Over the per-tenant rate the answer is 429 with Retry-After, per tenant.
#[actix_web::test]
async fn requests_over_the_tenant_rate_get_429_with_retry_after() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        TestOptions {
            rate_limit: Some(3),
            ..TestOptions::default()
        },
    )
    .await
    .unwrap();
    let other = app.tenant_with_token("globex");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let response = app.get("/ServiceProviderConfig").await;
        if response.status() == 429 {
            retry_after = Some(
                response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
            let (status, body) = json(response).await;
            assert_scim_error(status, &body, 429, None);
            statuses.push(429);
        } else {
            statuses.push(response.status().as_u16());
        }
    }
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(
        app.request_as(&other, Method::GET, "/ServiceProviderConfig", None)
            .await
            .status(),
        200,
        "another tenant has its own budget"
    );
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
}

//! `POST .search` (RFC 7644 §3.4.3) on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, assert_scim_error, json, resources};
use serde_json::json;

const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

async fn users_search_takes_a_search_request_body(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    app.create_user("bob@example.com").await;
    let (status, body) = json(
        app.post(
            "/Users/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": "userName sw \"ANN\"",
                    "attributes": ["userName", "name.givenName"], "startIndex": 1, "count": 10}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 1);
    let found = &resources(&body)[0];
    assert_eq!(found["id"], ann.as_str());
    assert_eq!(found["name"], json!({"givenName": "Given"}));
    assert!(found.get("emails").is_none());

    let (status, body) = json(
        app.post(
            "/Users/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": "nope pr"}),
        )
        .await,
    )
    .await;
    assert_scim_error(status, &body, 400, Some("invalidFilter"));
    let (status, body) = json(app.post("/Users/.search", &json!({"schemas": ["x"]})).await).await;
    assert_scim_error(status, &body, 400, Some("invalidSyntax"));
}

async fn groups_and_root_search(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let group = app.create_group("Ops", &[&ann]).await;
    let (_, body) = json(
        app.post(
            "/Groups/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": "displayName eq \"ops\"",
                    "excludedAttributes": ["members"]}),
        )
        .await,
    )
    .await;
    assert_eq!(resources(&body)[0]["id"], group.as_str());
    assert!(resources(&body)[0].get("members").is_none());

    // Root search spans Users then Groups, paged as one list.
    let (status, all) = json(
        app.post(
            "/.search",
            &json!({"schemas": [SEARCH_REQUEST], "count": 2}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["totalResults"], 3);
    let ids: Vec<&str> = resources(&all)
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ann.as_str(), bob.as_str()]);
    let (_, rest) = json(
        app.post(
            "/.search",
            &json!({"schemas": [SEARCH_REQUEST], "startIndex": 3, "count": 2}),
        )
        .await,
    )
    .await;
    let ids: Vec<&str> = resources(&rest)
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [group.as_str()]);
    assert_eq!(resources(&rest)[0]["meta"]["resourceType"], "Group");
    // A filter only Users understand searches only Users.
    let (_, users_only) = json(
        app.post(
            "/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": "userName pr"}),
        )
        .await,
    )
    .await;
    assert_eq!(users_only["totalResults"], 2);
}

on_both_backends!(
    users_search_takes_a_search_request_body,
    groups_and_root_search
);

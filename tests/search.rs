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

async fn get_with_query(
    app: &TestApp,
    path: &str,
    query: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    json(
        app.client
            .get(app.url(path))
            .query(query)
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn user_names(body: &serde_json::Value) -> Vec<String> {
    resources(body)
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

async fn sorting_by_indexed_and_other_attributes(app: TestApp) {
    for (name, title) in [("carol", Some("b")), ("Alice", None), ("bob", Some("a"))] {
        let mut body = common::user_body(&format!("{name}@example.com"));
        if let Some(title) = title {
            body["title"] = json!(title);
        }
        let (status, _) = json(app.post("/Users", &body).await).await;
        assert_eq!(status, 201);
    }
    let sorted = |by: &'static str, order: &'static str| {
        let app = &app;
        async move {
            let (status, body) =
                get_with_query(app, "/Users", &[("sortBy", by), ("sortOrder", order)]).await;
            assert_eq!(status, 200, "{body}");
            user_names(&body)
        }
    };
    assert_eq!(
        sorted("userName", "ascending").await,
        ["Alice@example.com", "bob@example.com", "carol@example.com"],
        "case-insensitive, as userName compares"
    );
    assert_eq!(
        sorted("USERNAME", "descending").await,
        ["carol@example.com", "bob@example.com", "Alice@example.com"]
    );
    // Not indexed: sorted in memory; users without a title come last either way.
    assert_eq!(
        sorted("title", "ascending").await,
        ["bob@example.com", "carol@example.com", "Alice@example.com"]
    );
    assert_eq!(
        sorted("title", "descending").await,
        ["carol@example.com", "bob@example.com", "Alice@example.com"]
    );
    let (status, body) = get_with_query(&app, "/Users", &[("sortBy", "nope")]).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let (_, config) = json(app.get("/ServiceProviderConfig").await).await;
    assert_eq!(config["sort"]["supported"], true);
    assert_eq!(config["pagination"]["cursor"], true);
}

async fn cursor_pages_walk_forward_and_back(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_user(&format!("c{i}@example.com")).await);
    }
    let page_ids = |body: &serde_json::Value| -> Vec<String> {
        resources(body)
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, first) = get_with_query(&app, "/Users", &[("cursor", ""), ("count", "2")]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(page_ids(&first), ids[0..2]);
    assert_eq!(first["totalResults"], 5);
    assert!(first.get("startIndex").is_none());
    assert!(first.get("previousCursor").is_none());
    let next = first["nextCursor"].as_str().unwrap().to_owned();
    let (_, second) = get_with_query(&app, "/Users", &[("cursor", &next), ("count", "2")]).await;
    assert_eq!(page_ids(&second), ids[2..4]);
    let next = second["nextCursor"].as_str().unwrap().to_owned();
    let (_, third) = get_with_query(&app, "/Users", &[("cursor", &next), ("count", "2")]).await;
    assert_eq!(page_ids(&third), ids[4..5]);
    assert!(third.get("nextCursor").is_none());
    let back = second["previousCursor"].as_str().unwrap().to_owned();
    let (_, again) = get_with_query(&app, "/Users", &[("cursor", &back), ("count", "2")]).await;
    assert_eq!(page_ids(&again), ids[0..2]);
    // Filtered in memory (title is not indexed): same contract.
    let (_, filtered) = get_with_query(
        &app,
        "/Users",
        &[
            ("cursor", ""),
            ("count", "2"),
            ("filter", "title pr or userName sw \"c\""),
        ],
    )
    .await;
    assert_eq!(page_ids(&filtered), ids[0..2]);
    assert!(filtered["nextCursor"].is_string());
    let (status, body) = get_with_query(&app, "/Users", &[("cursor", "forged")]).await;
    assert_scim_error(status, &body, 400, Some("invalidCursor"));
    let (status, body) =
        get_with_query(&app, "/Users", &[("cursor", ""), ("sortBy", "userName")]).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
}

/// Paging while the set changes: deletions and inserts between pages never
/// make a cursor walk skip or repeat a user that existed throughout.
async fn cursor_paging_over_a_changing_set(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(app.create_user(&format!("s{i}@example.com")).await);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    let mut round = 0;
    loop {
        let (status, body) =
            get_with_query(&app, "/Users", &[("cursor", &cursor), ("count", "2")]).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(
            resources(&body)
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        // Between pages: delete one user not yet seen and one already seen, add a new one.
        if round == 0 {
            assert_eq!(
                app.delete(&format!("/Users/{}", ids[0])).await.status(),
                204
            );
            assert_eq!(
                app.delete(&format!("/Users/{}", ids[3])).await.status(),
                204
            );
            app.create_user("late@example.com").await;
        }
        round += 1;
        match body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no user twice: {seen:?}");
    for survivor in [&ids[1], &ids[2], &ids[4], &ids[5]] {
        assert!(seen.contains(survivor), "{survivor} skipped: {seen:?}");
    }
    assert!(!seen.contains(&ids[3]), "deleted before its page was read");
}

/// Runs each filter against `path` and compares the `key` of the resources found.
async fn assert_filters(app: &TestApp, path: &str, key: &str, cases: &[(String, Vec<&str>)]) {
    for (filter, expected) in cases {
        let (status, body) = get_with_query(app, path, &[("filter", filter)]).await;
        assert_eq!(status, 200, "{filter}: {body}");
        let found: Vec<&str> = resources(&body)
            .iter()
            .map(|r| r[key].as_str().unwrap())
            .collect();
        assert_eq!(&found, expected, "{filter}");
        assert_eq!(body["totalResults"], expected.len(), "{filter}");
    }
}

/// Every comparison operator on each attribute type we serve: strings with
/// and without caseExact, references, booleans, dateTimes, multi-valued
/// sub-attributes, and Group members.
async fn every_operator_on_every_attribute_type(app: TestApp) {
    let mut ann = common::user_body("ann@example.com");
    ann["externalId"] = json!("EXT-1");
    ann["title"] = json!("Alpha");
    ann["profileUrl"] = json!("https://p.example/ann");
    ann["name"]["givenName"] = json!("Ann");
    let mut bob = common::user_body("bob@example.com");
    bob["externalId"] = json!("ext-2");
    bob["title"] = json!("Beta");
    let mut cy = common::user_body("cy@example.com");
    cy["title"] = json!("Gamma");
    cy["active"] = json!(false);
    let mut created = Vec::new();
    for body in [&ann, &bob, &cy] {
        let (status, user) = json(app.post("/Users", body).await).await;
        assert_eq!(status, 201, "{user}");
        created.push(user);
    }
    let bob_created = created[1]["meta"]["created"].as_str().unwrap().to_owned();
    let case = |filter: &str, names: &[&'static str]| (filter.to_owned(), names.to_vec());
    let (a, b, c) = ("ann@example.com", "bob@example.com", "cy@example.com");
    assert_filters(
        &app,
        "/Users",
        "userName",
        &[
            case(r#"userName ne "ANN@example.com""#, &[b, c]),
            case(r#"userName ew "@EXAMPLE.COM""#, &[a, b, c]),
            case(r#"userName gt "b""#, &[b, c]),
            case(r#"userName ge "bob@example.com""#, &[b, c]),
            case(r#"userName lt "bob@example.com""#, &[a]),
            case(r#"userName le "BOB@example.com""#, &[a, b]),
            // externalId is caseExact: sw/co/ew match case.
            case(r#"externalId sw "EXT""#, &[a]),
            case(r#"externalId sw "ext""#, &[b]),
            case(r#"externalId co "xt""#, &[b]),
            case(r#"externalId ew "-1""#, &[a]),
            case(r#"externalId ne "EXT-1""#, &[b, c]),
            case(r#"externalId gt "ext""#, &[b]),
            case("externalId pr", &[a, b]),
            case(r#"title lt "beta""#, &[a]),
            case(r#"title ge "BETA""#, &[b, c]),
            case(r#"title ne "alpha""#, &[b, c]),
            case(r#"title co "amm""#, &[c]),
            case(r#"name.givenName ew "NN""#, &[a]),
            case(r#"profileUrl sw "https://p.example/""#, &[a]),
            case("profileUrl pr", &[a]),
            case("not (profileUrl pr)", &[b, c]),
            case("active ne true", &[c]),
            case("active eq false", &[c]),
            case(&format!(r#"meta.created ge "{bob_created}""#), &[b, c]),
            case(&format!(r#"meta.created gt "{bob_created}""#), &[c]),
            case(&format!(r#"meta.created lt "{bob_created}""#), &[a]),
            case(&format!(r#"meta.created le "{bob_created}""#), &[a, b]),
            case(
                r#"meta.lastModified lt "2999-01-01T00:00:00+02:00""#,
                &[a, b, c],
            ),
            case(r#"meta.lastModified le "2000-01-01T00:00:00+02:00""#, &[]),
            case("emails[primary eq true]", &[a, b, c]),
            case(r#"emails.value ew "@EXAMPLE.com""#, &[a, b, c]),
            case(r#"emails[value sw "c" or value sw "a"]"#, &[a, c]),
        ],
    )
    .await;

    let ids: Vec<String> = created
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    for (name, external_id, members) in [
        ("Alpha Team", "G-1", vec![json!({"value": ids[0]})]),
        (
            "beta team",
            "g-2",
            vec![json!({"value": ids[1]}), json!({"value": ids[2]})],
        ),
    ] {
        let body = json!({"schemas": [common::GROUP_SCHEMA], "displayName": name,
                          "externalId": external_id, "members": members});
        let (status, group) = json(app.post("/Groups", &body).await).await;
        assert_eq!(status, 201, "{group}");
    }
    let (alpha, beta) = ("Alpha Team", "beta team");
    assert_filters(
        &app,
        "/Groups",
        "displayName",
        &[
            case(r#"displayName sw "ALPHA""#, &[alpha]),
            case(r#"displayName gt "b""#, &[beta]),
            case(r#"displayName ne "alpha team""#, &[beta]),
            case(r#"externalId sw "G""#, &[alpha]),
            case(r#"externalId ew "2""#, &[beta]),
            case(&format!(r#"members.value eq "{}""#, ids[1]), &[beta]),
            case(&format!(r#"members[value eq "{}"]"#, ids[0]), &[alpha]),
            case(&format!(r#"not (members.value eq "{}")"#, ids[0]), &[beta]),
            case("members pr", &[alpha, beta]),
        ],
    )
    .await;
}

/// Checks every deep page of `ids` (all users, in creation order).
async fn assert_index_pages(app: &TestApp, ids: &[String]) {
    for start in [1_usize, 999, 1_000, 1_001, 1_950, 2_001, 2_450, ids.len()] {
        let (status, body) = get_with_query(
            app,
            "/Users",
            &[("startIndex", &start.to_string()), ("count", "100")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["totalResults"], ids.len(), "start {start}");
        let expected: Vec<&str> = ids
            .iter()
            .skip(start - 1)
            .take(100)
            .map(String::as_str)
            .collect();
        let got: Vec<&str> = resources(&body)
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "start {start}");
    }
}

/// Deep `startIndex` pages (past the anchors the server keeps every 1,000
/// members) hold exactly the members at those positions, also right after
/// writes move everyone along.
async fn deep_index_pages_are_exact_and_follow_writes(app: TestApp) {
    let mut ids = app.seed_users(
        (0..2_500)
            .map(|i| common::user_body(&format!("deep{i:04}@example.com")))
            .collect(),
    );
    assert_index_pages(&app, &ids).await;
    // A delete near the front moves every later member one place up; creates
    // add some at the end. The next pages know at once.
    let (status, _) = json(app.delete(&format!("/Users/{}", ids[10])).await).await;
    assert_eq!(status, 204);
    ids.remove(10);
    for last in ["deep-last@example.com", "deeper-last@example.com"] {
        ids.push(app.create_user(last).await);
    }
    assert_index_pages(&app, &ids).await;
}

on_both_backends!(
    deep_index_pages_are_exact_and_follow_writes,
    every_operator_on_every_attribute_type,
    users_search_takes_a_search_request_body,
    groups_and_root_search,
    sorting_by_indexed_and_other_attributes,
    cursor_pages_walk_forward_and_back,
    cursor_paging_over_a_changing_set,
);

//! Races: many requests at once that only one may win. 64 concurrent
//! creates of one userName (exactly, then differing only in case) give one
//! 201 and 63 409s and one row; 64 concurrent writes with `If-Match` on one
//! version give one 200 and 63 412s, and the winner's value is what stays.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, assert_scim_error, json, patch_body, user_body};
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

const RACERS: usize = 64;

/// Sends all requests at once; answers as (status, body), in request order.
async fn all_at_once(
    app: &TestApp,
    requests: Vec<(Method, String, Option<&str>, Value)>,
) -> Vec<(u16, Value)> {
    let sends = requests.into_iter().map(|(method, path, if_match, body)| {
        let mut request = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&app.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string());
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        async move { json(request.send().await.unwrap()).await }
    });
    futures::future::join_all(sends).await
}

/// Exactly one answer has `winner`; every other one is the SCIM error
/// `loser` with `scim_type`. Returns the winner's index.
fn one_winner(answers: &[(u16, Value)], winner: u16, loser: u16, scim_type: Option<&str>) -> usize {
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    let winners: Vec<usize> = (0..answers.len())
        .filter(|&i| statuses[i] == winner)
        .collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != winner) {
        assert_scim_error(*status, body, loser, scim_type);
    }
    winners[0]
}

/// Rows of tenant `acme` in `members` whose lower-cased userName is `lower`,
/// straight from the database.
fn member_rows(app: &TestApp, lower: &str) -> i64 {
    use scimd::store::schema::members;
    let conn = &mut *app.pool.get().unwrap();
    members::table
        .filter(members::tenant_id.eq(app.acme().as_str()))
        .filter(members::user_name_lower.eq(lower))
        .count()
        .get_result(conn)
        .unwrap()
}

async fn create_race(app: &TestApp, user_names: Vec<String>) {
    let lower = user_names[0].to_lowercase();
    let requests = user_names
        .iter()
        .map(|name| (Method::POST, "/Users".to_owned(), None, user_body(name)))
        .collect();
    let answers = all_at_once(app, requests).await;
    let won = one_winner(&answers, 201, 409, Some("uniqueness"));
    assert_eq!(answers[won].1["userName"], user_names[won].as_str());
    assert_eq!(member_rows(app, &lower), 1, "one row");
    let filter = format!("/Users?filter=userName%20eq%20%22{lower}%22");
    let (_, list) = json(app.get(&filter).await).await;
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_eq!(list["Resources"][0]["id"], answers[won].1["id"]);
}

async fn concurrent_creates_of_one_user_name_make_one_user(app: TestApp) {
    create_race(&app, vec!["race@example.com".to_owned(); RACERS]).await;
}

async fn concurrent_creates_differing_only_in_case_make_one_user(app: TestApp) {
    // 64 spellings of one name: bit i of the index upper-cases letter i.
    let base = "casey.race@example";
    let letters: Vec<usize> = base
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphabetic())
        .map(|(i, _)| i)
        .take(6)
        .collect();
    let names: Vec<String> = (0..RACERS)
        .map(|n| {
            let mut name: Vec<char> = base.chars().collect();
            for (bit, &at) in letters.iter().enumerate() {
                if n & (1 << bit) != 0 {
                    name[at] = name[at].to_ascii_uppercase();
                }
            }
            name.into_iter().collect::<String>() + ".com"
        })
        .collect();
    let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), RACERS, "64 different spellings");
    create_race(&app, names).await;
}

/// 64 PUTs of a user, each with its own title and all with the version
/// they read: one lands, the others are refused and change nothing.
async fn concurrent_puts_on_one_version_let_one_through(app: TestApp) {
    let id = app.create_user("put.race@example.com").await;
    let path = format!("/Users/{id}");
    let response = app.get(&path).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let requests = (0..RACERS)
        .map(|i| {
            let mut body = user_body("put.race@example.com");
            body["title"] = json!(format!("title {i}"));
            (Method::PUT, path.clone(), Some(etag.as_str()), body)
        })
        .collect();
    let answers = all_at_once(&app, requests).await;
    let won = one_winner(&answers, 200, 412, None);
    let (_, after) = json(app.get(&path).await).await;
    assert_eq!(after["title"], format!("title {won}"), "{after}");
    assert_eq!(after["meta"]["version"], "W/\"2\"", "one write landed");
    assert_eq!(answers[won].1["meta"]["version"], after["meta"]["version"]);
    assert_eq!(
        app.card("acme", &id).job_title.as_deref(),
        Some(format!("title {won}").as_str()),
        "the card follows the write that won"
    );
}

/// The same with PATCHes of a group's members: the group holds the one
/// member whose add won.
async fn concurrent_patches_on_one_group_version_let_one_through(app: TestApp) {
    let names: Vec<String> = (0..RACERS)
        .map(|i| format!("member{i}@example.com"))
        .collect();
    let ids = app.seed_users(names.iter().map(|n| user_body(n)).collect());
    let group = app.create_group("racing", &[]).await;
    let path = format!("/Groups/{group}");
    let (_, before) = json(app.get(&path).await).await;
    let etag = before["meta"]["version"].as_str().unwrap().to_owned();
    let requests = ids
        .iter()
        .map(|id| {
            let body =
                patch_body(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
            (Method::PATCH, path.clone(), Some(etag.as_str()), body)
        })
        .collect();
    let answers = all_at_once(&app, requests).await;
    let won = one_winner(&answers, 200, 412, None);
    let (_, after) = json(app.get(&path).await).await;
    assert_eq!(after["members"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after["members"][0]["value"], ids[won].as_str());
    assert_ne!(after["meta"]["version"], etag.as_str());
}

on_both_backends!(
    concurrent_creates_of_one_user_name_make_one_user,
    concurrent_creates_differing_only_in_case_make_one_user,
    concurrent_puts_on_one_version_let_one_through,
    concurrent_patches_on_one_group_version_let_one_through,
);

//! `/Bulk` over HTTP on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::{GROUP_SCHEMA, TestApp, USER_SCHEMA, assert_scim_error, json, resources, user_body};
use serde_json::{Value, json};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk(operations: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": operations})
}

async fn bulk_ids_link_a_group_to_users_created_in_the_same_request(app: TestApp) {
    let (status, body) = json(
        app.post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user_body("one@example.com")},
                {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user_body("two@example.com")},
                {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "Both",
                    "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
                {"method": "PATCH", "path": "/Users/bulkId:u2", "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "Second"}]}},
            ])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    let operations = body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = operations
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "201", "201", "200"], "{body}");
    let group_location = operations[2]["location"].as_str().unwrap();
    assert_eq!(operations[2]["bulkId"], "g1");
    let group_path = group_location.split("/api/external/scim").nth(1).unwrap();
    let (_, group) = json(app.get(group_path).await).await;
    let mut members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut created: Vec<&str> = operations[..2]
        .iter()
        .map(|o| o["location"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    created.sort();
    assert_eq!(members, created);
    let (_, users) = json(app.get("/Users?filter=title%20eq%20%22Second%22").await).await;
    assert_eq!(resources(&users)[0]["userName"], "two@example.com");
}

async fn errors_are_reported_per_operation_and_fail_on_errors_stops(app: TestApp) {
    app.create_user("taken@example.com").await;
    let mut request = bulk(json!([
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user_body("taken@example.com")},
        {"method": "DELETE", "path": "/Users/no-such-id"},
        {"method": "POST", "path": "/Users", "bulkId": "late", "data": user_body("late@example.com")},
    ]));
    request["failOnErrors"] = json!(2);
    let (status, body) = json(app.post("/Bulk", &request).await).await;
    assert_eq!(status, 200, "{body}");
    let operations = body["Operations"].as_array().unwrap();
    assert_eq!(operations.len(), 2, "stopped after two errors: {body}");
    assert_eq!(operations[0]["status"], "409");
    assert_eq!(operations[0]["response"]["scimType"], "uniqueness");
    assert_eq!(operations[1]["status"], "404");
    let (_, list) = json(
        app.get("/Users?filter=userName%20eq%20%22late@example.com%22")
            .await,
    )
    .await;
    assert_eq!(list["totalResults"], 0);

    let (_, body) = json(
        app.post(
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "Dangling", "members": [{"value": "bulkId:nope"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user_body("ok@example.com")},
            ])),
        )
        .await,
    )
    .await;
    let operations = body["Operations"].as_array().unwrap();
    assert_eq!(operations[0]["status"], "400");
    assert_eq!(operations[0]["response"]["scimType"], "invalidValue");
    assert_eq!(
        operations[1]["status"], "201",
        "without failOnErrors the rest still runs"
    );
}

async fn limits_are_advertised_and_enforced(app: TestApp) {
    let (_, config) = json(app.get("/ServiceProviderConfig").await).await;
    assert_eq!(config["bulk"]["supported"], true);
    let max_operations = config["bulk"]["maxOperations"].as_u64().unwrap() as usize;
    let max_payload = config["bulk"]["maxPayloadSize"].as_u64().unwrap() as usize;

    let too_many: Vec<Value> = (0..=max_operations)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let (status, body) = json(app.post("/Bulk", &bulk(json!(too_many))).await).await;
    assert_scim_error(status, &body, 413, None);

    let big_user = json!({"schemas": [USER_SCHEMA], "userName": "big@example.com",
                          "nickName": "x".repeat(max_payload)});
    let (status, body) = json(
        app.post(
            "/Bulk",
            &bulk(json!([{"method": "POST", "path": "/Users", "bulkId": "b", "data": big_user}])),
        )
        .await,
    )
    .await;
    assert_scim_error(status, &body, 413, None);
    let (_, list) = json(app.get("/Users").await).await;
    assert_eq!(list["totalResults"], 0);
}

on_both_backends!(
    bulk_ids_link_a_group_to_users_created_in_the_same_request,
    errors_are_reported_per_operation_and_fail_on_errors_stops,
    limits_are_advertised_and_enforced,
);

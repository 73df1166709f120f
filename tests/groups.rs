//! SCIM Groups over HTTP on both backends (issue: Groups → subteams).
#![allow(clippy::unwrap_used)]

mod common;

use common::{GROUP_SCHEMA, TestApp, assert_scim_error, json, patch_body, resources};
use reqwest::Method;
use serde_json::{Value, json};

async fn member_ids(app: &TestApp, group: &str) -> Vec<String> {
    let (status, body) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> = body
        .get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    ids.sort();
    ids
}

async fn patch_group(app: &TestApp, group: &str, operations: Value) -> (u16, Value) {
    json(
        app.patch(&format!("/Groups/{group}"), &patch_body(operations))
            .await,
    )
    .await
}

async fn create_get_and_the_users_groups_view(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    let response = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "externalId": "okta-g1",
                    "members": [{"value": ann}]}),
        )
        .await;
    assert!(response.headers().contains_key("etag"));
    let (status, group) = json(response).await;
    assert_eq!(status, 201, "{group}");
    let id = group["id"].as_str().unwrap();
    assert_eq!(group["meta"]["resourceType"], "Group");
    assert_eq!(group["meta"]["location"], app.url(&format!("/Groups/{id}")));
    assert_eq!(group["externalId"], "okta-g1");
    assert_eq!(
        group["members"],
        json!([{"value": ann, "$ref": app.url(&format!("/Users/{ann}")), "type": "User",
                "display": "ann@example.com"}])
    );
    let (_, user) = json(app.get(&format!("/Users/{ann}")).await).await;
    assert_eq!(
        user["groups"],
        json!([{"value": id, "display": "Sales", "$ref": app.url(&format!("/Groups/{id}")),
                "type": "direct"}])
    );
}

async fn display_name_is_unique_case_insensitively(app: TestApp) {
    app.create_group("Engineering", &[]).await;
    let (status, body) = json(
        app.post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "ENGINEERING"}),
        )
        .await,
    )
    .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
}

async fn unknown_member_ids_are_refused_and_nothing_is_applied(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    let (status, body) = json(
        app.post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Ghosts",
                    "members": [{"value": ann}, {"value": "no-such-user"}]}),
        )
        .await,
    )
    .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(body["detail"].as_str().unwrap().contains("no-such-user"));
    let (_, list) = json(app.get("/Groups").await).await;
    assert_eq!(list["totalResults"], 0, "no half-created group");

    let group = app.create_group("Real", &[]).await;
    let (status, body) = patch_group(
        &app,
        &group,
        json!([
            {"op": "replace", "value": {"displayName": "Renamed"}},
            {"op": "add", "path": "members", "value": [{"value": ann}, {"value": "missing"}]},
        ]),
    )
    .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let (_, after) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert_eq!(after["displayName"], "Real", "the whole PATCH is atomic");
    assert!(after.get("members").is_none());
}

async fn every_membership_patch_form_okta_and_entra_send(app: TestApp) {
    let a = app.create_user("a@example.com").await;
    let b = app.create_user("b@example.com").await;
    let c = app.create_user("c@example.com").await;
    let group = app.create_group("Team", &[]).await;

    let (status, _) = patch_group(
        &app,
        &group,
        json!([{"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(member_ids(&app, &group).await, sorted(&[&a, &b]));

    // Adding an existing member is a no-op, not an error.
    let (status, _) = patch_group(
        &app,
        &group,
        json!([{"op": "Add", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(member_ids(&app, &group).await, sorted(&[&a, &b]));

    let (status, _) = patch_group(
        &app,
        &group,
        json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(member_ids(&app, &group).await, sorted(&[&b]));

    // Entra: remove by value array.
    let (status, _) = patch_group(
        &app,
        &group,
        json!([{"op": "Remove", "path": "members", "value": [{"value": b}]}]),
    )
    .await;
    assert_eq!(status, 200);
    assert!(member_ids(&app, &group).await.is_empty());

    let (status, _) = patch_group(
        &app,
        &group,
        json!([{"op": "Replace", "path": "members", "value": [{"value": b}, {"value": c}]}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(member_ids(&app, &group).await, sorted(&[&b, &c]));

    let (status, _) = patch_group(&app, &group, json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(status, 200);
    assert!(member_ids(&app, &group).await.is_empty());

    // Several ops in one request, applied in order.
    let (status, _) = patch_group(
        &app,
        &group,
        json!([
            {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}, {"value": c}]},
            {"op": "remove", "path": format!("members[value eq \"{b}\"]")},
        ]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(member_ids(&app, &group).await, sorted(&[&a, &c]));
}

async fn rename_by_no_path_replace_and_okta_value_object(app: TestApp) {
    let group = app.create_group("Old", &[]).await;
    let (status, echoed) = patch_group(
        &app,
        &group,
        json!([{"op": "replace", "value": {"id": group, "displayName": "New"}}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(echoed["displayName"], "New");
    let (_, body) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert_eq!(body["displayName"], "New");
    assert_eq!(body["id"], group.as_str());
    let (status, body) = json(
        app.patch(
            &format!("/Groups/{group}?excludedAttributes=members"),
            &patch_body(json!([{"op": "Replace", "path": "displayName", "value": "Newer"}])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "asking for attributes gets the resource back");
    assert_eq!(body["displayName"], "Newer");
}

async fn put_replaces_attributes_and_members(app: TestApp) {
    let a = app.create_user("a@example.com").await;
    let b = app.create_user("b@example.com").await;
    let group = app.create_group("G", &[&a]).await;
    let (status, body) = json(
        app.put(
            &format!("/Groups/{group}"),
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "G2", "members": [{"value": b}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "G2");
    assert_eq!(member_ids(&app, &group).await, vec![b]);
}

async fn deleting_a_group_keeps_its_members(app: TestApp) {
    let a = app.create_user("a@example.com").await;
    let group = app.create_group("Doomed", &[&a]).await;
    assert_eq!(app.delete(&format!("/Groups/{group}")).await.status(), 204);
    let (status, body) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert_scim_error(status, &body, 404, None);
    let (status, user) = json(app.get(&format!("/Users/{a}")).await).await;
    assert_eq!(status, 200);
    assert!(user.get("groups").is_none(), "{user}");
}

async fn deleted_users_leave_every_group_deactivated_ones_stay(app: TestApp) {
    let a = app.create_user("a@example.com").await;
    let b = app.create_user("b@example.com").await;
    let one = app.create_group("One", &[&a, &b]).await;
    let two = app.create_group("Two", &[&a]).await;
    assert_eq!(app.delete(&format!("/Users/{a}")).await.status(), 204);
    assert_eq!(member_ids(&app, &one).await, vec![b.clone()]);
    assert!(member_ids(&app, &two).await.is_empty());
    // Deactivation through `active: false` keeps the IdP's group membership
    // (issue 15, item 8: it used to drop it, and nothing brought it back).
    let (status, _) = json(
        app.patch(
            &format!("/Users/{b}"),
            &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(member_ids(&app, &one).await, vec![b.clone()]);
}

/// The group's ETag and lastModified.
async fn group_version(app: &TestApp, group: &str) -> (String, String) {
    let response = app.get(&format!("/Groups/{group}")).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["version"], etag.as_str());
    (
        etag,
        body["meta"]["lastModified"].as_str().unwrap().to_owned(),
    )
}

async fn get_if_none_match(app: &TestApp, group: &str, etag: &str) -> u16 {
    app.client
        .get(app.url(&format!("/Groups/{group}")))
        .bearer_auth(&app.token)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The ids of the groups a User lists, sorted.
async fn groups_of_user(app: &TestApp, user: &str) -> Vec<String> {
    let (status, body) = json(app.get(&format!("/Users/{user}")).await).await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> = body
        .get("groups")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .map(|g| g["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn member_show(app: &TestApp, id: &str) -> Value {
    serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", id])).unwrap()
}

/// `scimd subteam list`'s member count for a group.
fn subteam_count(app: &TestApp, group: &str) -> String {
    let listing = app.cli(&["subteam", "list", "--tenant", "acme"]);
    assert!(
        listing.starts_with("id\tdisplay name\texternal id\tmembers\tsubteam"),
        "{listing}"
    );
    let line = listing.lines().find(|l| l.starts_with(group)).unwrap();
    line.split('\t').nth(3).unwrap().to_owned()
}

async fn set_active(app: &TestApp, user: &str, operations: Value) {
    let (status, body) = json(
        app.patch(&format!("/Users/{user}"), &patch_body(operations))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn suspension_and_resume_keep_groups_entra_and_okta(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    let bo = app.create_user("bo@example.com").await;
    let sales = app.create_group("Sales", &[&ann, &bo]).await;
    let design = app.create_group("Design", &[&ann]).await;
    let both = sorted(&[&sales, &design]);
    assert_eq!(subteam_count(&app, &sales), "2");

    // Entra: "Replace" with the boolean as a string.
    let entra_suspend = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    let entra_resume = json!([{"op": "Replace", "path": "active", "value": "True"}]);
    let (sales_etag, sales_modified) = group_version(&app, &sales).await;
    set_active(&app, &ann, entra_suspend).await;
    assert_eq!(member_ids(&app, &sales).await, sorted(&[&ann, &bo]));
    assert_eq!(member_ids(&app, &design).await, vec![ann.clone()]);
    assert_eq!(groups_of_user(&app, &ann).await, both);
    assert_eq!(
        group_version(&app, &sales).await,
        (sales_etag.clone(), sales_modified),
        "active alone does not change the member list"
    );
    assert_eq!(get_if_none_match(&app, &sales, &sales_etag).await, 304);
    let shown = member_show(&app, &ann);
    assert_eq!(shown["inTeam"], false);
    assert_eq!(shown["subteams"], json!([]));
    assert_eq!(shown["dormantSubteams"], json!(["Sales", "Design"]));
    assert_eq!(
        subteam_count(&app, &sales),
        "1",
        "a suspended member is not counted"
    );
    assert_eq!(subteam_count(&app, &design), "0");

    set_active(&app, &ann, entra_resume).await;
    assert_eq!(groups_of_user(&app, &ann).await, both);
    let shown = member_show(&app, &ann);
    assert_eq!(shown["inTeam"], true);
    assert_eq!(shown["subteams"], json!(["Sales", "Design"]));
    assert_eq!(shown["dormantSubteams"], json!([]));
    assert_eq!(subteam_count(&app, &sales), "2");
    assert_eq!(group_version(&app, &sales).await.0, sales_etag);

    // Okta: lowercase "replace", a real boolean, no path.
    set_active(
        &app,
        &bo,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(member_ids(&app, &sales).await, sorted(&[&ann, &bo]));
    assert_eq!(groups_of_user(&app, &bo).await, vec![sales.clone()]);
    assert_eq!(member_show(&app, &bo)["dormantSubteams"], json!(["Sales"]));
    assert_eq!(group_version(&app, &sales).await.0, sales_etag);

    // Added to a group while suspended: dormant there too, active on resume.
    let (design_etag, design_modified) = group_version(&app, &design).await;
    let (status, body) = patch_group(
        &app,
        &design,
        json!([{"op": "add", "path": "members", "value": [{"value": bo}]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (etag, modified) = group_version(&app, &design).await;
    assert_ne!(etag, design_etag, "an add moves the version");
    assert_ne!(modified, design_modified);
    assert_eq!(get_if_none_match(&app, &design, &design_etag).await, 200);
    let shown = member_show(&app, &bo);
    assert_eq!(shown["subteams"], json!([]));
    assert_eq!(shown["dormantSubteams"], json!(["Sales", "Design"]));
    assert_eq!(subteam_count(&app, &design), "1");
    set_active(
        &app,
        &bo,
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await;
    let shown = member_show(&app, &bo);
    assert_eq!(shown["subteams"], json!(["Sales", "Design"]));
    assert_eq!(shown["dormantSubteams"], json!([]));
    assert_eq!(subteam_count(&app, &design), "2");

    // A removal moves the version too.
    let (before, _) = group_version(&app, &sales).await;
    let (status, _) = patch_group(
        &app,
        &sales,
        json!([{"op": "remove", "path": format!("members[value eq \"{bo}\"]")}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(group_version(&app, &sales).await.0, before);
    assert_eq!(member_ids(&app, &sales).await, vec![ann.clone()]);

    // A user DELETE takes the user out of its groups and moves their versions.
    let (sales_before, sales_modified) = group_version(&app, &sales).await;
    let (design_before, _) = group_version(&app, &design).await;
    assert_eq!(app.delete(&format!("/Users/{ann}")).await.status(), 204);
    let (sales_after, sales_modified_after) = group_version(&app, &sales).await;
    assert_ne!(sales_after, sales_before);
    assert_ne!(sales_modified_after, sales_modified);
    assert_ne!(group_version(&app, &design).await.0, design_before);
    assert_eq!(get_if_none_match(&app, &sales, &sales_before).await, 200);
    assert_eq!(get_if_none_match(&app, &sales, &sales_after).await, 304);
    assert!(member_ids(&app, &sales).await.is_empty());
    assert_eq!(member_ids(&app, &design).await, vec![bo.clone()]);
}

async fn user_delete_in_delete_mode_moves_group_versions(app: TestApp) {
    app.set_policy(|p| p.deprovisioning = scimd::scim::policy::Deprovisioning::Delete);
    let ann = app.create_user("ann@example.com").await;
    let group = app.create_group("Gone", &[&ann]).await;
    let (before, modified) = group_version(&app, &group).await;
    assert_eq!(app.delete(&format!("/Users/{ann}")).await.status(), 204);
    let (after, modified_after) = group_version(&app, &group).await;
    assert_ne!(after, before);
    assert_ne!(modified_after, modified);
    assert_eq!(get_if_none_match(&app, &group, &before).await, 200);
    assert!(member_ids(&app, &group).await.is_empty());
}

async fn lists_filter_by_display_name_and_skip_members_when_excluded(app: TestApp) {
    let a = app.create_user("a@example.com").await;
    let sales = app.create_group("Sales", &[&a]).await;
    app.create_group("Support", &[]).await;
    let (status, list) = json(
        app.get("/Groups?filter=displayName%20eq%20%22sales%22&excludedAttributes=members")
            .await,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let found = resources(&list);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], sales.as_str());
    assert!(found[0].get("members").is_none());
    let (_, by_member) = json(
        app.get(&format!("/Groups?filter=members.value%20eq%20%22{a}%22"))
            .await,
    )
    .await;
    assert_eq!(by_member["totalResults"], 1);
    let (_, all) = json(app.get("/Groups").await).await;
    assert_eq!(all["totalResults"], 2);
    assert_eq!(resources(&all)[0]["members"][0]["value"], a.as_str());
}

async fn another_tenants_groups_and_users_are_not_found(app: TestApp) {
    let foreign_user = {
        let other = app.tenant_with_token("globex");
        let (status, body) = json(
            app.request_as(
                &other,
                Method::POST,
                "/Users",
                Some(&common::user_body("x@globex.example")),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201);
        let group = app.create_group("Mine", &[]).await;
        let (status, body_get) = json(
            app.request_as(&other, Method::GET, &format!("/Groups/{group}"), None)
                .await,
        )
        .await;
        assert_scim_error(status, &body_get, 404, None);
        let rename = json!({"schemas": [GROUP_SCHEMA], "displayName": "Theirs"});
        let add_self = common::patch_body(
            json!([{"op": "add", "path": "members", "value": [{"value": body["id"]}]}]),
        );
        for (method, request) in [
            (Method::PUT, Some(&rename)),
            (Method::PATCH, Some(&add_self)),
            (Method::DELETE, None),
        ] {
            let (status, error) = json(
                app.request_as(&other, method, &format!("/Groups/{group}"), request)
                    .await,
            )
            .await;
            assert_scim_error(status, &error, 404, None);
        }
        let (_, mine) = json(app.get(&format!("/Groups/{group}")).await).await;
        assert_eq!(mine["displayName"], "Mine", "untouched by the other tenant");
        body["id"].as_str().unwrap().to_owned()
    };
    // A foreign member id is refused in a PATCH too, and nothing is applied.
    let group = app.create_group("Ours", &[]).await;
    let ops = common::patch_body(json!([
        {"op": "replace", "value": {"displayName": "Ours renamed"}},
        {"op": "add", "path": "members", "value": [{"value": foreign_user}]}
    ]));
    let (status, body) = json(app.patch(&format!("/Groups/{group}"), &ops).await).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(
        body["detail"].as_str().unwrap().contains(&foreign_user),
        "{body}"
    );
    let (_, ours) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert_eq!(ours["displayName"], "Ours");
    let (status, body) = json(
        app.post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sneaky", "members": [{"value": foreign_user}]}),
        )
        .await,
    )
    .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
}

async fn patches_on_large_groups_answer_204_without_listing_members(app: TestApp) {
    let limit = scimd::service::groups::PATCH_ECHO_MEMBER_LIMIT;
    let ids = app.seed_users(
        (0..=limit)
            .map(|i| common::user_body(&format!("bulk{i}@example.com")))
            .collect(),
    );
    let refs: Vec<&str> = ids[..limit].iter().map(String::as_str).collect();
    let group = app.create_group("Big", &refs).await;
    let add_last = json!([{"op": "add", "path": "members", "value": [{"value": ids[limit]}]}]);
    let response = app
        .patch(&format!("/Groups/{group}"), &patch_body(add_last))
        .await;
    assert_eq!(response.status(), 204, "{limit} + 1 members: no echo");
    assert!(response.headers().contains_key("etag"));
    assert_eq!(member_ids(&app, &group).await.len(), limit + 1);
    let (status, body) = json(
        app.patch(
            &format!("/Groups/{group}?excludedAttributes=members"),
            &patch_body(
                json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "asked for attributes: echoed without members");
    assert!(body.get("members").is_none());
    assert_eq!(member_ids(&app, &group).await.len(), limit);
}

/// The member count kept with each group matches its members after every
/// kind of membership change, a user's DELETE included.
async fn member_counts_follow_every_membership_change(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(app.create_user(&format!("count{i}@example.com")).await);
    }
    let group = app.create_group("Counted", &[&ids[0], &ids[1]]).await;
    let other = app.create_group("Other", &[&ids[1]]).await;
    let counts = |app: &TestApp| {
        use diesel::prelude::*;
        use scimd::store::schema::{subteam_members, subteams};
        let conn = &mut *app.pool.get().unwrap();
        let kept: Vec<(String, i64)> = subteams::table
            .select((subteams::id, subteams::member_count))
            .load(conn)
            .unwrap();
        kept.into_iter()
            .map(|(id, count)| {
                let real: i64 = subteam_members::table
                    .filter(subteam_members::subteam_id.eq(&id))
                    .count()
                    .get_result(conn)
                    .unwrap();
                (id, count, real)
            })
            .collect::<Vec<_>>()
    };
    let steps = [
        json!([{"op": "add", "path": "members", "value": [{"value": ids[2]}, {"value": ids[0]}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]),
        json!([
            {"op": "add", "path": "members", "value": [{"value": ids[3]}]},
            {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[3])},
        ]),
        json!([{"op": "replace", "path": "members", "value": [{"value": ids[4]}, {"value": ids[5]}, {"value": ids[0]}]}]),
    ];
    for step in steps {
        let (status, _) = json(
            app.patch(&format!("/Groups/{group}"), &patch_body(step))
                .await,
        )
        .await;
        assert_eq!(status, 200);
        for (id, kept, real) in counts(&app) {
            assert_eq!(kept, real, "group {id}");
        }
    }
    let (status, _) = json(app.delete(&format!("/Users/{}", ids[0])).await).await;
    assert_eq!(status, 204);
    let after = counts(&app);
    for (id, kept, real) in &after {
        assert_eq!(kept, real, "group {id}");
    }
    let of = |id: &str| after.iter().find(|(g, ..)| g == id).unwrap().1;
    assert_eq!((of(&group), of(&other)), (2, 1));
}

on_both_backends!(
    member_counts_follow_every_membership_change,
    patches_on_large_groups_answer_204_without_listing_members,
    create_get_and_the_users_groups_view,
    display_name_is_unique_case_insensitively,
    unknown_member_ids_are_refused_and_nothing_is_applied,
    every_membership_patch_form_okta_and_entra_send,
    rename_by_no_path_replace_and_okta_value_object,
    put_replaces_attributes_and_members,
    deleting_a_group_keeps_its_members,
    deleted_users_leave_every_group_deactivated_ones_stay,
    suspension_and_resume_keep_groups_entra_and_okta,
    user_delete_in_delete_mode_moves_group_versions,
    lists_filter_by_display_name_and_skip_members_when_excluded,
    another_tenants_groups_and_users_are_not_found,
);

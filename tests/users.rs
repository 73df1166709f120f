//! SCIM Users over HTTP on both backends (issue: Users → members and cards).
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    ENTERPRISE, TestApp, USER_SCHEMA, assert_scim_error, json, patch_body, resources, user_body,
};
use reqwest::Method;
use serde_json::{Value, json};

async fn create_returns_201_with_location_etag_and_meta(app: TestApp) {
    let response = app.post("/Users", &user_body("ann@example.com")).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let (status, body) = json(response).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, app.url(&format!("/Users/{id}")));
    assert_eq!(body["meta"]["location"], location);
    assert_eq!(body["meta"]["resourceType"], "User");
    assert_eq!(body["meta"]["version"], etag);
    assert!(etag.starts_with("W/\""));
    assert_eq!(body["meta"]["created"], body["meta"]["lastModified"]);
    assert_eq!(body["schemas"][0], USER_SCHEMA);
    assert_eq!(body["userName"], "ann@example.com");
}

async fn get_returns_exactly_what_was_pushed(app: TestApp) {
    let pushed = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "bo@example.com",
        "externalId": "okta-00u1",
        "name": {"givenName": "Bo", "familyName": "Ng", "formatted": "Bo Ng"},
        "displayName": "Bo Ng",
        "title": "Engineer",
        "locale": "en-US",
        "emails": [
            {"value": "bo@example.com", "type": "work", "primary": true},
            {"value": "bo@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
        "active": true,
        ENTERPRISE: {"department": "R&D", "organization": "Acme", "costCenter": "42"}
    });
    let (status, created) = json(app.post("/Users", &pushed).await).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, fetched) = json(app.get(&format!("/Users/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);
    for key in [
        "userName",
        "externalId",
        "name",
        "displayName",
        "title",
        "locale",
        "emails",
        "phoneNumbers",
        "active",
    ] {
        assert_eq!(fetched[key], pushed[key], "{key}");
    }
    assert_eq!(fetched[ENTERPRISE], pushed[ENTERPRISE]);
}

async fn attribute_names_are_case_insensitive_on_input(app: TestApp) {
    let body = json!({
        "SCHEMAS": [USER_SCHEMA],
        "USERNAME": "cy@example.com",
        "Name": {"GIVENNAME": "Cy"},
        "emails": [{"VALUE": "cy@example.com", "Type": "work"}]
    });
    let (status, created) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["userName"], "cy@example.com");
    assert_eq!(created["name"]["givenName"], "Cy");
    assert_eq!(created["emails"][0]["value"], "cy@example.com");
}

async fn user_name_is_unique_case_insensitively(app: TestApp) {
    app.create_user("Jane@X.com").await;
    let (status, body) = json(app.post("/Users", &user_body("jane@x.com")).await).await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    let (_, list) = json(app.get("/Users").await).await;
    assert_eq!(list["totalResults"], 1);
}

async fn etags_and_uniqueness_guard_every_write(app: TestApp) {
    let id = app.create_user("ida@example.com").await;
    app.create_user("taken@example.com").await;
    let path = format!("/Users/{id}");
    let (_, before) = json(app.get(&path).await).await;
    let card_before = app.card("acme", &id);
    let title = patch_body(json!([{"op": "replace", "path": "title", "value": "Boss"}]));
    for (method, body) in [(Method::PATCH, Some(&title)), (Method::DELETE, None)] {
        let mut request = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(&app.token)
            .header("if-match", "W/\"999\"");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let (status, error) = json(request.send().await.unwrap()).await;
        assert_scim_error(status, &error, 412, None);
    }
    // Renaming onto another member's userName, in any case, is a conflict.
    let mut renamed = user_body("TAKEN@example.com");
    renamed["title"] = json!("Renamed");
    let (status, error) = json(app.put(&path, &renamed).await).await;
    assert_scim_error(status, &error, 409, Some("uniqueness"));
    let rename = patch_body(json!([
        {"op": "replace", "path": "title", "value": "Renamed"},
        {"op": "replace", "path": "userName", "value": "Taken@Example.COM"}
    ]));
    let (status, error) = json(app.patch(&path, &rename).await).await;
    assert_scim_error(status, &error, 409, Some("uniqueness"));
    // None of the refused writes changed the resource or the card.
    let (_, after) = json(app.get(&path).await).await;
    assert_eq!(after, before);
    assert_eq!(app.card("acme", &id), card_before);
}

async fn users_locations_follow_forwarded_headers(app: TestApp) {
    let forwarded = |request: reqwest::RequestBuilder| {
        request
            .bearer_auth(&app.token)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "cards.example.com")
    };
    let response = forwarded(app.client.post(app.url("/Users")))
        .header("content-type", "application/scim+json")
        .body(user_body("far@example.com").to_string())
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = json(response).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let expected = format!("https://cards.example.com/api/external/scim/Users/{id}");
    assert_eq!(location, expected);
    assert_eq!(created["meta"]["location"], expected);
    let (_, listed) = json(
        forwarded(app.client.get(app.url("/Users")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resources(&listed)[0]["meta"]["location"], expected);
}

async fn no_path_patch_with_urn_keys_reaches_the_extension_and_card(app: TestApp) {
    let id = app.create_user("urn@example.com").await;
    let ops = json!([{"op": "Replace", "value": {
        format!("{ENTERPRISE}:department"): "Operations",
        format!("{ENTERPRISE}:manager"): "boss-id",
        "name.familyName": "Urn"
    }}]);
    let (status, body) = patch(&app, &id, ops).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[ENTERPRISE]["department"], "Operations");
    assert_eq!(body[ENTERPRISE]["manager"]["value"], "boss-id");
    assert_eq!(body["name"]["familyName"], "Urn");
    assert_eq!(
        app.card("acme", &id).department.as_deref(),
        Some("Operations")
    );
}

async fn concurrent_patches_lose_no_update(app: TestApp) {
    let id = app.create_user("busy@example.com").await;
    let path = format!("/Users/{id}");
    let bodies: Vec<Value> = (0..8)
        .map(|i| {
            patch_body(json!([{"op": "add", "path": "emails",
                               "value": [{"value": format!("alias{i}@example.com"), "type": "other"}]}]))
        })
        .collect();
    let statuses: Vec<u16> = futures::future::join_all(bodies.iter().map(|b| app.patch(&path, b)))
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses, [200; 8]);
    let (_, user) = json(app.get(&path).await).await;
    assert_eq!(user["emails"].as_array().unwrap().len(), 9, "{user}");
    assert_eq!(user["meta"]["version"], "W/\"9\"", "one version per write");
}

async fn concurrent_duplicate_creates_yield_one_member(app: TestApp) {
    let body = user_body("race@example.com");
    let attempts = (0..8).map(|_| app.post("/Users", &body));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    let (_, list) = json(
        app.get("/Users?filter=userName%20eq%20%22race@example.com%22")
            .await,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
}

async fn password_is_accepted_hashed_and_never_returned(app: TestApp) {
    let mut body = user_body("pw@example.com");
    body["password"] = json!("Tr0ub4dor&3");
    let (status, created) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201);
    assert!(created.get("password").is_none());
    let id = created["id"].as_str().unwrap();
    let (_, fetched) = json(
        app.get(&format!("/Users/{id}?attributes=password,userName"))
            .await,
    )
    .await;
    assert!(fetched.get("password").is_none(), "{fetched}");
    let conn = &mut *app.pool.get().unwrap();
    use diesel::prelude::*;
    use scimd::store::schema::members;
    let (hash, resource): (Option<String>, Option<String>) = members::table
        .filter(members::id.eq(id))
        .select((members::password_hash, members::scim_resource))
        .first(conn)
        .unwrap();
    assert!(hash.unwrap().starts_with("$argon2id$"));
    assert!(!resource.unwrap().contains("Tr0ub4dor"));
}

async fn attributes_and_excluded_attributes_shape_responses(app: TestApp) {
    let id = app.create_user("dee@example.com").await;
    let (_, only) = json(app.get(&format!("/Users/{id}?attributes=userName")).await).await;
    assert_eq!(only["userName"], "dee@example.com");
    assert_eq!(only["id"], id.as_str());
    assert!(only.get("name").is_none(), "{only}");
    assert!(only.get("emails").is_none(), "{only}");
    let (_, without) = json(
        app.get(&format!("/Users/{id}?excludedAttributes=emails,name"))
            .await,
    )
    .await;
    assert!(without.get("emails").is_none());
    assert!(without.get("name").is_none());
    assert_eq!(without["userName"], "dee@example.com");
    let (_, list) = json(app.get("/Users?attributes=name.givenName").await).await;
    let first = &resources(&list)[0];
    assert_eq!(first["name"]["givenName"], "Given");
    assert!(first["name"].get("familyName").is_none(), "{first}");
    assert!(first.get("userName").is_none(), "{first}");
}

async fn put_replaces_and_etags_guard_writes(app: TestApp) {
    let id = app.create_user("eve@example.com").await;
    let path = format!("/Users/{id}");
    let response = app.get(&path).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();

    let not_modified = app
        .client
        .get(app.url(&path))
        .bearer_auth(&app.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    let mut replacement = user_body("eve@example.com");
    replacement["title"] = json!("CTO");
    replacement["name"] = json!({"givenName": "Eve"});
    let (status, replaced) = json(app.put(&path, &replacement).await).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["title"], "CTO");
    assert_eq!(replaced["name"], json!({"givenName": "Eve"}));
    assert_ne!(replaced["meta"]["version"], etag.as_str());

    let stale = app
        .client
        .put(app.url(&path))
        .bearer_auth(&app.token)
        .header("if-match", &etag)
        .json(&user_body("eve@example.com"))
        .send()
        .await
        .unwrap();
    let (status, body) = json(stale).await;
    assert_scim_error(status, &body, 412, None);
    let (_, after) = json(app.get(&path).await).await;
    assert_eq!(after["title"], "CTO", "a refused write changes nothing");

    let current = replaced["meta"]["version"].as_str().unwrap();
    let fresh = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&app.token)
        .header("if-match", current)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 204);
}

async fn put_cannot_change_the_id(app: TestApp) {
    let id = app.create_user("fay@example.com").await;
    let mut body = user_body("fay@example.com");
    body["id"] = json!("something-else");
    let (status, replaced) = json(app.put(&format!("/Users/{id}"), &body).await).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["id"], id.as_str());
}

async fn patch(app: &TestApp, id: &str, operations: Value) -> (u16, Value) {
    json(
        app.patch(&format!("/Users/{id}"), &patch_body(operations))
            .await,
    )
    .await
}

async fn patch_add_replace_remove_with_and_without_paths(app: TestApp) {
    let id = app.create_user("gus@example.com").await;
    let (status, body) = patch(
        &app,
        &id,
        json!([
            {"op": "replace", "path": "name.givenName", "value": "Gus"},
            {"op": "add", "path": "title", "value": "Designer"},
            {"op": "add", "value": {"nickName": "G", "name.familyName": "Grey"}},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Design"},
            {"op": "add", "path": "emails", "value": [{"value": "gus@home.example", "type": "home"}]},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"]["givenName"], "Gus");
    assert_eq!(body["name"]["familyName"], "Grey");
    assert_eq!(body["title"], "Designer");
    assert_eq!(body["nickName"], "G");
    assert_eq!(body[ENTERPRISE]["department"], "Design");
    let emails = body["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "add merges into multi-valued: {body}");

    let (status, body) = patch(
        &app,
        &id,
        json!([
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "remove", "path": "title"},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["emails"].as_array().unwrap().len(), 1);
    assert!(body.get("title").is_none());
    let (_, fetched) = json(app.get(&format!("/Users/{id}")).await).await;
    assert_eq!(fetched, body);
}

async fn patch_value_filtered_paths_create_missing_elements(app: TestApp) {
    let id = app.create_user("hal@example.com").await;
    let (status, body) = patch(
        &app,
        &id,
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "hal@new.example"},
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 20 7946 0000"},
            {"op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["emails"][0]["value"], "hal@new.example");
    assert_eq!(body["emails"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["phoneNumbers"],
        json!([{"type": "mobile", "value": "+44 20 7946 0000"}])
    );
    assert_eq!(
        body["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main St"}])
    );
    let card = app.card("acme", &id);
    assert_eq!(card.email.as_deref(), Some("hal@new.example"));
    assert_eq!(card.phone.as_deref(), Some("+44 20 7946 0000"));
    assert_eq!(card.location.as_deref(), Some("1 Main St"));
}

async fn entra_quirks_are_accepted(app: TestApp) {
    let id = app.create_user("ida@example.com").await;
    let (status, body) = patch(
        &app,
        &id,
        json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "mgr-123"},
            {"op": "Replace", "value": {"displayName": "Ida A."}},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(body[ENTERPRISE]["manager"]["value"], "mgr-123");
    assert_eq!(body["displayName"], "Ida A.");
    let (status, body) = patch(
        &app,
        &id,
        json!([
            {"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
            {"op": "replace", "value": {"active": "True"}},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert!(
        body.get(ENTERPRISE)
            .and_then(|e| e.get("manager"))
            .is_none(),
        "{body}"
    );
}

async fn okta_deactivation_by_patch_without_path(app: TestApp) {
    let id = app.create_user("jo@example.com").await;
    let (status, body) = patch(
        &app,
        &id,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    let (_, inactive) = json(app.get("/Users?filter=active%20eq%20false").await).await;
    assert_eq!(inactive["totalResults"], 1);
    let (status, body) = patch(
        &app,
        &id,
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
}

/// A user as pushed without `active` (RFC 7643 gives it no default).
fn without_active(user_name: &str) -> Value {
    let mut body = user_body(user_name);
    body.as_object_mut().unwrap().remove("active");
    body
}

/// `totalResults` and the `active` values of `GET /Users?{query}`.
async fn listed_active(app: &TestApp, query: &str) -> (u64, Vec<Value>) {
    let (status, body) = json(app.get(&format!("/Users?{query}")).await).await;
    assert_eq!(status, 200, "{body}");
    let values = resources(&body)
        .iter()
        .map(|r| r.get("active").cloned().unwrap_or(Value::Null))
        .collect();
    (body["totalResults"].as_u64().unwrap(), values)
}

async fn active_is_always_rendered_as_the_idp_set_it(app: TestApp) {
    // Created without `active`: every representation says true.
    let (status, created) =
        json(app.post("/Users", &without_active("ann@example.com")).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["active"], true, "the write response");
    let ann = created["id"].as_str().unwrap().to_owned();
    let (_, fetched) = json(app.get(&format!("/Users/{ann}")).await).await;
    assert_eq!(fetched["active"], true);
    assert_eq!(
        listed_active(&app, "count=1").await,
        (1, vec![json!(true)]),
        "what Okta's spec test reads"
    );
    let (_, excluded) = json(
        app.get(&format!("/Users/{ann}?excludedAttributes=active"))
            .await,
    )
    .await;
    assert!(excluded.get("active").is_none(), "{excluded}");
    let (_, only) = json(app.get(&format!("/Users/{ann}?attributes=userName")).await).await;
    assert!(only.get("active").is_none(), "{only}");
    let (_, only) = json(app.get(&format!("/Users/{ann}?attributes=active")).await).await;
    assert_eq!(only["active"], true);
    let (_, patched) = json(
        app.patch(
            &format!("/Users/{ann}"),
            &patch_body(json!([{"op": "replace", "path": "title", "value": "Chef"}])),
        )
        .await,
    )
    .await;
    assert_eq!(patched["active"], true);

    // Bulk and .search render it too.
    let (status, bulk) = json(
        app.post(
            "/Bulk",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b",
                                    "data": without_active("bo@example.com")}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{bulk}");
    let bo_location = bulk["Operations"][0]["location"].as_str().unwrap();
    let bo = bo_location.rsplit('/').next().unwrap().to_owned();
    let (_, fetched) = json(app.get(&format!("/Users/{bo}")).await).await;
    assert_eq!(fetched["active"], true);
    let (status, found) = json(
        app.post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName eq \"bo@example.com\""}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(resources(&found)[0]["active"], true);

    // A suspended user renders and filters by the IdP's false.
    let cy = app.create_user("cy@example.com").await;
    patch(
        &app,
        &cy,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    let (_, fetched) = json(app.get(&format!("/Users/{cy}")).await).await;
    assert_eq!(fetched["active"], false);

    // A user outside the user allowlist is not in the team, yet SCIM shows
    // what the IdP pushed.
    app.set_policy(|p| p.user_allowlist = vec!["ann@example.com".into()]);
    let (status, outside) =
        json(app.post("/Users", &without_active("dee@example.com")).await).await;
    assert_eq!(status, 201, "{outside}");
    assert_eq!(outside["active"], true);
    let dee = outside["id"].as_str().unwrap().to_owned();
    let shown: Value =
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", &dee])).unwrap();
    assert_eq!(shown["inTeam"], false);

    // Filters agree with what is rendered, in the database and in memory.
    let everyone = [&ann, &bo, &cy, &dee];
    assert_eq!(listed_active(&app, "filter=active%20eq%20true").await.0, 3);
    assert_eq!(
        listed_active(&app, "filter=active%20eq%20false").await,
        (1, vec![json!(false)])
    );
    let in_memory = "filter=active%20eq%20true%20and%20name.givenName%20eq%20%22Given%22";
    assert_eq!(
        listed_active(&app, in_memory).await,
        (3, vec![json!(true); 3]),
        "the in-memory re-check sees the same active"
    );
    let (not_false, _) = listed_active(
        &app,
        "filter=not%20(active%20eq%20false)%20and%20title%20pr",
    )
    .await;
    assert_eq!(not_false, 1, "only ann has a title");
    let (total, sorted) = listed_active(&app, "sortBy=active&sortOrder=ascending").await;
    assert_eq!(total, everyone.len() as u64);
    assert_eq!(
        sorted,
        [json!(false), json!(true), json!(true), json!(true)]
    );
}

async fn a_failing_patch_changes_nothing(app: TestApp) {
    let id = app.create_user("kim@example.com").await;
    let (_, before) = json(app.get(&format!("/Users/{id}")).await).await;
    let cases = [
        (
            json!({"op": "replace", "path": "emails[type eq", "value": "x"}),
            "invalidPath",
        ),
        (
            json!({"op": "replace", "path": "noSuchAttribute", "value": "x"}),
            "invalidPath",
        ),
        (
            json!({"op": "replace", "path": "id", "value": "x"}),
            "mutability",
        ),
        (
            json!({"op": "replace", "path": "active", "value": "maybe"}),
            "invalidValue",
        ),
        (json!({"op": "remove"}), "noTarget"),
    ];
    for (bad, scim_type) in cases {
        let (status, body) = patch(
            &app,
            &id,
            json!([{"op": "replace", "path": "title", "value": "Changed"}, bad]),
        )
        .await;
        assert_scim_error(status, &body, 400, Some(scim_type));
        let (_, after) = json(app.get(&format!("/Users/{id}")).await).await;
        assert_eq!(after, before, "nothing changed after {bad}");
    }
}

async fn delete_deactivates_hides_and_frees_the_user_name(app: TestApp) {
    let id = app.create_user("lee@example.com").await;
    let response = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(response.status(), 204);
    let (status, body) = json(app.get(&format!("/Users/{id}")).await).await;
    assert_scim_error(status, &body, 404, None);
    let (_, list) = json(app.get("/Users").await).await;
    assert_eq!(list["totalResults"], 0);
    let (status, body) = json(app.delete(&format!("/Users/{id}")).await).await;
    assert_scim_error(status, &body, 404, None);
    // The member's data is kept, out of the team.
    let card = app.card("acme", &id);
    assert_eq!(card.email.as_deref(), Some("lee@example.com"));
    // Provisioned again (any case): the same member is back, not a second one.
    let (status, again) = json(app.post("/Users", &user_body("LEE@example.com")).await).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["userName"], "LEE@example.com");
    assert_eq!(again["meta"]["version"], "W/\"2\"");
    let (status, _) = json(app.get(&format!("/Users/{id}")).await).await;
    assert_eq!(status, 200);
    let (_, list) = json(app.get("/Users").await).await;
    assert_eq!(list["totalResults"], 1);
    let (status, error) = json(app.post("/Users", &user_body("lee@example.com")).await).await;
    assert_scim_error(status, &error, 409, Some("uniqueness"));
}

async fn another_tenants_users_are_not_found(app: TestApp) {
    let id = app.create_user("mo@example.com").await;
    let other = app.tenant_with_token("globex");
    let path = format!("/Users/{id}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(user_body("mo@example.com"))),
        (
            Method::PATCH,
            Some(patch_body(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
        ),
        (Method::DELETE, None),
    ] {
        let (status, error) = json(
            app.request_as(&other, method.clone(), &path, body.as_ref())
                .await,
        )
        .await;
        assert_scim_error(status, &error, 404, None);
    }
    let (_, list) = json(app.request_as(&other, Method::GET, "/Users", None).await).await;
    assert_eq!(list["totalResults"], 0);
    // The same userName is free in the other tenant.
    let (status, _) = json(
        app.request_as(
            &other,
            Method::POST,
            "/Users",
            Some(&user_body("mo@example.com")),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let (_, still) = json(app.get(&path).await).await;
    assert_eq!(still["userName"], "mo@example.com");
}

async fn okta_shaped_user_projects_onto_the_card(app: TestApp) {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": "nia.okta@example.com",
        "name": {"givenName": "Nia", "familyName": "Okafor"},
        "emails": [
            {"primary": false, "value": "nia@home.example", "type": "home"},
            {"primary": true, "value": "nia.okafor@example.com", "type": "work"}
        ],
        "title": "Head of Sales",
        "phoneNumbers": [
            {"value": "+1 555 0101", "type": "work"},
            {"value": "+1 555 0199", "type": "mobile"}
        ],
        "addresses": [{"type": "work", "streetAddress": "500 Market St", "locality": "San Francisco",
                        "region": "CA", "postalCode": "94105", "country": "US"}],
        "photos": [{"value": "https://img.example/nia.png", "type": "photo"}],
        "locale": "en-US",
        "password": "Secret#123",
        "groups": [],
        "active": true
    });
    let (status, created) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201, "{created}");
    let card = app.card("acme", created["id"].as_str().unwrap());
    assert_eq!(card.display_name.as_deref(), Some("Nia Okafor"));
    assert_eq!(card.email.as_deref(), Some("nia.okafor@example.com"));
    assert_eq!(card.job_title.as_deref(), Some("Head of Sales"));
    assert_eq!(card.company, None);
    assert_eq!(card.department, None);
    assert_eq!(card.phone.as_deref(), Some("+1 555 0199"));
    assert_eq!(
        card.location.as_deref(),
        Some("500 Market St, San Francisco, CA 94105, US")
    );
    assert_eq!(
        card.photo_url.as_deref(),
        Some("https://img.example/nia.png")
    );
}

async fn entra_shaped_user_projects_onto_the_card(app: TestApp) {
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "6f9c1c0e-entra",
        "userName": "omar@contoso.example",
        "active": "True",
        "displayName": "Omar Haddad",
        "title": "Analyst",
        "phoneNumbers": [{"type": "work", "value": "+971 4 000 0000"}],
        "addresses": [{"type": "work", "formatted": "Level 3, Gate Village, Dubai"}],
        "name": {"givenName": "Omar", "familyName": "Haddad"},
        ENTERPRISE: {"department": "Finance", "organization": "Contoso", "manager": "boss-id"}
    });
    let (status, created) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["active"], true);
    assert_eq!(created[ENTERPRISE]["manager"]["value"], "boss-id");
    let card = app.card("acme", created["id"].as_str().unwrap());
    assert_eq!(card.display_name.as_deref(), Some("Omar Haddad"));
    // No emails at all: the UPN-shaped userName is the email.
    assert_eq!(card.email.as_deref(), Some("omar@contoso.example"));
    assert_eq!(card.job_title.as_deref(), Some("Analyst"));
    assert_eq!(card.company.as_deref(), Some("Contoso"));
    assert_eq!(card.department.as_deref(), Some("Finance"));
    assert_eq!(card.phone.as_deref(), Some("+971 4 000 0000"));
    assert_eq!(
        card.location.as_deref(),
        Some("Level 3, Gate Village, Dubai")
    );
    assert_eq!(card.photo_url, None);
}

async fn filters_find_users_by_indexed_and_other_attributes(app: TestApp) {
    let ann = app.create_user("Ann@Example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let mut body = user_body("cat@example.com");
    body["externalId"] = json!("EXT-1");
    body["title"] = json!("CEO");
    let (_, cat) = json(app.post("/Users", &body).await).await;
    let cat = cat["id"].as_str().unwrap().to_owned();
    let ids = |body: &Value| -> Vec<String> {
        resources(body)
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for (filter, expected) in [
        (r#"userName eq "ann@example.com""#, vec![ann.clone()]),
        (r#"USERNAME Eq "ANN@EXAMPLE.COM""#, vec![ann.clone()]),
        (r#"externalId eq "EXT-1""#, vec![cat.clone()]),
        (r#"externalId eq "ext-1""#, vec![]),
        (&format!(r#"id eq "{bob}""#), vec![bob.clone()]),
        (r#"emails.value eq "BOB@example.com""#, vec![bob.clone()]),
        (
            r#"emails[type eq "work" and value co "cat"]"#,
            vec![cat.clone()],
        ),
        (r#"title eq "CEO""#, vec![cat.clone()]),
        (
            r#"userName sw "b" or title pr"#,
            vec![bob.clone(), cat.clone()],
        ),
        (r#"not (userName sw "a")"#, vec![bob.clone(), cat.clone()]),
        (
            "active eq true",
            vec![ann.clone(), bob.clone(), cat.clone()],
        ),
        (
            r#"meta.lastModified gt "2000-01-01T00:00:00Z""#,
            vec![ann.clone(), bob.clone(), cat.clone()],
        ),
        (r#"meta.lastModified gt "2999-01-01T00:00:00Z""#, vec![]),
        (r#"userName co "50%_""#, vec![]),
    ] {
        let (status, body) = json(
            app.client
                .get(app.url("/Users"))
                .query(&[("filter", filter)])
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(ids(&body), expected, "{filter}");
        assert_eq!(body["totalResults"], expected.len(), "{filter}");
    }
}

async fn bad_filters_are_invalid_filter_errors(app: TestApp) {
    for filter in [
        r#"noSuchAttr eq "x""#,
        r#"userName eq"#,
        r#"userName eq "x" and"#,
        r#"(userName eq "x""#,
    ] {
        let (status, body) = json(
            app.client
                .get(app.url("/Users"))
                .query(&[("filter", filter)])
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_scim_error(status, &body, 400, Some("invalidFilter"));
    }
}

async fn paging_counts_and_clamps(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_user(&format!("p{i}@example.com")).await);
    }
    let (_, page) = json(app.get("/Users?startIndex=2&count=2").await).await;
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    let got: Vec<&str> = resources(&page)
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[1].as_str(), ids[2].as_str()]);
    let (_, none) = json(app.get("/Users?count=0").await).await;
    assert_eq!(none["totalResults"], 5);
    assert!(resources(&none).is_empty());
    let (_, from_zero) = json(app.get("/Users?startIndex=0&count=1").await).await;
    assert_eq!(resources(&from_zero)[0]["id"], ids[0].as_str());
    let (status, body) = json(app.get("/Users?count=many").await).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
}

async fn malformed_and_invalid_bodies_are_scim_errors(app: TestApp) {
    let response = app
        .client
        .post(app.url("/Users"))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_scim_error(status, &body, 400, Some("invalidSyntax"));
    let (status, body) = json(
        app.post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "name": {"givenName": "No"}}),
        )
        .await,
    )
    .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let mut bad_active = user_body("q@example.com");
    bad_active["active"] = json!("perhaps");
    let (status, body) = json(app.post("/Users", &bad_active).await).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    // application/json bodies are accepted as well (Okta).
    let response = app
        .client
        .post(app.url("/Users"))
        .bearer_auth(&app.token)
        .json(&user_body("json@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

on_both_backends!(
    create_returns_201_with_location_etag_and_meta,
    get_returns_exactly_what_was_pushed,
    attribute_names_are_case_insensitive_on_input,
    user_name_is_unique_case_insensitively,
    concurrent_duplicate_creates_yield_one_member,
    concurrent_patches_lose_no_update,
    etags_and_uniqueness_guard_every_write,
    users_locations_follow_forwarded_headers,
    no_path_patch_with_urn_keys_reaches_the_extension_and_card,
    password_is_accepted_hashed_and_never_returned,
    attributes_and_excluded_attributes_shape_responses,
    put_replaces_and_etags_guard_writes,
    put_cannot_change_the_id,
    patch_add_replace_remove_with_and_without_paths,
    patch_value_filtered_paths_create_missing_elements,
    entra_quirks_are_accepted,
    okta_deactivation_by_patch_without_path,
    active_is_always_rendered_as_the_idp_set_it,
    a_failing_patch_changes_nothing,
    delete_deactivates_hides_and_frees_the_user_name,
    another_tenants_users_are_not_found,
    okta_shaped_user_projects_onto_the_card,
    entra_shaped_user_projects_onto_the_card,
    filters_find_users_by_indexed_and_other_attributes,
    bad_filters_are_invalid_filter_errors,
    paging_counts_and_clamps,
    malformed_and_invalid_bodies_are_scim_errors,
);

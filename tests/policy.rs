//! Provisioning policy per tenant, over HTTP on both backends: each setting
//! on and off, the rules that hold whatever the settings, the activity log,
//! invites and digests through a real SMTP sink.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::smtp::SmtpSink;
use common::{
    ENTERPRISE, GROUP_SCHEMA, TestApp, USER_SCHEMA, assert_scim_error, json, patch_body, user_body,
};
use diesel::prelude::*;
use reqwest::Method;
use scimd::admin;
use scimd::jobs::JobSettings;
use scimd::scim::ids::MemberId;
use scimd::scim::policy::{CardField, Deprovisioning, FieldRule};
use scimd::store::members::UnprovisionedMember;
use scimd::store::schema::{card_links, cards, member_emails, members, subteam_members};
use serde_json::{Value, json};

fn titled(user_name: &str, title: &str) -> Value {
    let mut body = user_body(user_name);
    body["title"] = json!(title);
    body[ENTERPRISE] = json!({"department": "Sales"});
    body["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    body
}

async fn overwrite_off_keeps_the_card_while_scim_shows_the_idp_value(app: TestApp) {
    app.set_policy(|p| {
        p.fields.insert(
            CardField::JobTitle,
            FieldRule {
                sync: true,
                overwrite: false,
            },
        );
    });
    let id = {
        let (status, body) = json(
            app.post("/Users", &titled("ann@example.com", "Engineer"))
                .await,
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        app.card("acme", &id).job_title.as_deref(),
        Some("Engineer"),
        "sync on"
    );
    let (status, body) = json(
        app.put(
            &format!("/Users/{id}"),
            &titled("ann@example.com", "Director"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, fetched) = json(app.get(&format!("/Users/{id}")).await).await;
    assert_eq!(
        fetched["title"], "Director",
        "the stored SCIM resource follows the IdP"
    );
    assert_eq!(
        app.card("acme", &id).job_title.as_deref(),
        Some("Engineer"),
        "overwrite off"
    );
    // The same through PATCH; fields whose overwrite is on still follow.
    let ops = json!([{"op": "replace", "path": "title", "value": "VP"},
                     {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Legal"}]);
    let (status, body) = json(app.patch(&format!("/Users/{id}"), &patch_body(ops)).await).await;
    assert_eq!(status, 200, "{body}");
    let card = app.card("acme", &id);
    assert_eq!(card.job_title.as_deref(), Some("Engineer"));
    assert_eq!(card.department.as_deref(), Some("Legal"));
}

async fn overwrite_on_by_default_and_sync_off_skips_creation(app: TestApp) {
    let id = {
        let (_, body) = json(
            app.post("/Users", &titled("bo@example.com", "Engineer"))
                .await,
        )
        .await;
        body["id"].as_str().unwrap().to_owned()
    };
    app.put(
        &format!("/Users/{id}"),
        &titled("bo@example.com", "Director"),
    )
    .await;
    assert_eq!(
        app.card("acme", &id).job_title.as_deref(),
        Some("Director"),
        "default: overwrite"
    );

    app.set_policy(|p| {
        p.fields.insert(
            CardField::Department,
            FieldRule {
                sync: false,
                overwrite: true,
            },
        );
    });
    let (_, body) = json(
        app.post("/Users", &titled("cy@example.com", "Engineer"))
            .await,
    )
    .await;
    let id = body["id"].as_str().unwrap().to_owned();
    let card = app.card("acme", &id);
    assert_eq!(card.department, None, "sync off: not applied on create");
    assert_eq!(card.job_title.as_deref(), Some("Engineer"));
    let ops =
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Ops"}]);
    app.patch(&format!("/Users/{id}"), &patch_body(ops)).await;
    assert_eq!(
        app.card("acme", &id).department.as_deref(),
        Some("Ops"),
        "overwrite on"
    );
}

fn rows_for_member(app: &TestApp, id: &str) -> [i64; 5] {
    let conn = &mut *app.pool.get().unwrap();
    [
        members::table
            .filter(members::id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        cards::table
            .filter(cards::member_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        card_links::table
            .filter(card_links::member_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        member_emails::table
            .filter(member_emails::member_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        subteam_members::table
            .filter(subteam_members::member_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
    ]
}

async fn delete_mode_leaves_no_rows_behind(app: TestApp) {
    app.set_policy(|p| p.deprovisioning = Deprovisioning::Delete);
    let id = app.create_user("gone@example.com").await;
    app.create_group("Team A", &[&id]).await;
    assert_eq!(rows_for_member(&app, &id), [1, 1, 1, 1, 1]);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status(), 204);
    assert_eq!(rows_for_member(&app, &id), [0, 0, 0, 0, 0]);
    let (status, body) = json(app.get(&format!("/Users/{id}")).await).await;
    assert_scim_error(status, &body, 404, None);
    // The userName is free again.
    app.create_user("gone@example.com").await;
}

async fn deactivate_mode_keeps_data_and_active_false_never_deletes(app: TestApp) {
    let kept = app.create_user("kept@example.com").await;
    app.create_group("Team B", &[&kept]).await;
    assert_eq!(app.delete(&format!("/Users/{kept}")).await.status(), 204);
    assert_eq!(
        rows_for_member(&app, &kept),
        [1, 1, 1, 1, 0],
        "data kept, out of subteams"
    );

    app.set_policy(|p| p.deprovisioning = Deprovisioning::Delete);
    let id = app.create_user("paused@example.com").await;
    app.create_group("Team C", &[&id]).await;
    let ops = json!([{"op": "Replace", "value": {"active": "False"}}]);
    let (status, body) = json(app.patch(&format!("/Users/{id}"), &patch_body(ops)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(
        rows_for_member(&app, &id),
        [1, 1, 1, 1, 1],
        "active false deactivates only; the group membership stays (dormant)"
    );
}

async fn required_names_on_and_off(app: TestApp) {
    let nameless = json!({"schemas": [USER_SCHEMA], "userName": "solo@example.com",
                          "name": {"givenName": "Solo"}});
    let (status, body) = json(app.post("/Users", &nameless).await).await;
    assert_eq!(status, 201, "off: accepted {body}");

    app.set_policy(|p| p.require_names = true);
    let mut second = nameless.clone();
    second["userName"] = json!("duo@example.com");
    let (status, body) = json(app.post("/Users", &second).await).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("name.familyName") && !detail.contains("givenName"),
        "{detail}"
    );

    // A PATCH that removes a required name is refused and changes nothing.
    let id = app.create_user("full@example.com").await;
    let ops = json!([{"op": "remove", "path": "name.givenName"}]);
    let (status, body) = json(app.patch(&format!("/Users/{id}"), &patch_body(ops)).await).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    assert!(
        body["detail"].as_str().unwrap().contains("name.givenName"),
        "{body}"
    );
    let (_, fetched) = json(app.get(&format!("/Users/{id}")).await).await;
    assert_eq!(fetched["name"]["givenName"], "Given");

    app.set_policy(|p| p.require_names = false);
    let (status, _) = json(app.post("/Users", &second).await).await;
    assert_eq!(status, 201, "the next request after a change follows it");
}

async fn admin_roles_map_when_on_and_change_nothing_when_off(app: TestApp) {
    let with_roles = |user_name: &str, roles: Value| {
        let mut body = user_body(user_name);
        body["roles"] = roles;
        body
    };
    let roles = json!([{"value": "Global Administrator", "primary": true}]);
    let (_, body) = json(
        app.post("/Users", &with_roles("off@example.com", roles.clone()))
            .await,
    )
    .await;
    let off_id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body["roles"][0]["value"], "Global Administrator",
        "roles are stored"
    );
    let shown: Value =
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", &off_id])).unwrap();
    assert_eq!(
        (
            shown["teamAdmin"].as_bool(),
            shown["subteamAdmin"].as_bool()
        ),
        (Some(false), Some(false))
    );

    app.set_policy(|p| p.admin_roles = true);
    let (_, body) = json(
        app.post("/Users", &with_roles("admin@example.com", roles))
            .await,
    )
    .await;
    let admin_id = body["id"].as_str().unwrap().to_owned();
    let groups_admin = json!([{"value": "groups administrator"}]);
    let (_, body) = json(
        app.post("/Users", &with_roles("lead@example.com", groups_admin))
            .await,
    )
    .await;
    let lead_id = body["id"].as_str().unwrap().to_owned();
    app.create_group("Design", &[&lead_id]).await;
    let show = |id: &str| -> Value {
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", id])).unwrap()
    };
    let admin = show(&admin_id);
    assert_eq!(
        (
            admin["teamAdmin"].as_bool(),
            admin["subteamAdmin"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let lead = show(&lead_id);
    assert_eq!(
        (lead["teamAdmin"].as_bool(), lead["subteamAdmin"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(
        lead["subteams"],
        json!(["Design"]),
        "subteam admin of the member's subteams"
    );

    // Losing the role in the IdP takes the team role away.
    let ops = json!([{"op": "remove", "path": "roles"}]);
    app.patch(&format!("/Users/{admin_id}"), &patch_body(ops))
        .await;
    assert_eq!(show(&admin_id)["teamAdmin"], false);
}

async fn group_allowlist_keeps_other_groups_out_of_subteams(app: TestApp) {
    app.set_policy(|p| p.group_allowlist = vec!["Sales".into(), "ext-ops".into()]);
    let member = app.create_user("gia@example.com").await;
    let sales = app.create_group("Sales", &[&member]).await;
    let engineering = app.create_group("Engineering", &[&member]).await;
    let ops_body =
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Operations", "externalId": "ext-ops"});
    let (status, body) = json(app.post("/Groups", &ops_body).await).await;
    assert_eq!(status, 201, "{body}");
    let operations = body["id"].as_str().unwrap().to_owned();
    // The IdP sees every group as it pushed it.
    let (status, body) = json(app.get(&format!("/Groups/{engineering}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["members"][0]["value"], member);
    let listing = app.cli(&["subteam", "list", "--tenant", "acme"]);
    let is_subteam = |id: &str| {
        listing
            .lines()
            .find(|l| l.starts_with(id))
            .map(|l| l.ends_with("\tyes"))
            .unwrap()
    };
    assert!(is_subteam(&sales));
    assert!(!is_subteam(&engineering));
    assert!(is_subteam(&operations), "allowed by external id");
    let shown: Value =
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", &member])).unwrap();
    assert_eq!(shown["subteams"], json!(["Sales"]));

    // Emptying the allowlist makes every group a subteam again.
    app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--clear-group-allowlist",
    ]);
    let shown: Value =
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", &member])).unwrap();
    assert_eq!(shown["subteams"], json!(["Sales", "Engineering"]));
}

fn add_outside_member(app: &TestApp, email: &str, links: &[(&str, &str)]) -> MemberId {
    let conn = &mut *app.pool.get().unwrap();
    let tenant = admin::find_tenant(conn, "acme").unwrap();
    let links: Vec<(String, String)> = links
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    admin::add_member(
        conn,
        &tenant,
        &UnprovisionedMember {
            email,
            display_name: Some("Dashboard Dana"),
            template_links: &links,
        },
    )
    .unwrap()
}

fn member_count(app: &TestApp) -> i64 {
    let conn = &mut *app.pool.get().unwrap();
    members::table
        .filter(members::tenant_id.eq(app.acme().as_str()))
        .count()
        .get_result(conn)
        .unwrap()
}

async fn create_adopts_a_member_made_outside_scim(app: TestApp) {
    let existing = add_outside_member(
        &app,
        "dana@acme.example",
        &[
            ("email", "name@acme.example"),
            ("phone", "+1 000 0000"),
            ("url", "https://acme.example"),
        ],
    );
    assert_eq!(member_count(&app), 1);
    let mut body = user_body("dana.okta@acme.example");
    body["emails"] = json!([{"value": "Dana@Acme.example", "type": "work", "primary": true}]);
    body["phoneNumbers"] = json!([{"value": "+1 555 0199", "type": "mobile"}]);
    let (status, created) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["id"],
        existing.as_str(),
        "the existing member was adopted"
    );
    assert_eq!(member_count(&app), 1, "no second member");
    let (status, fetched) = json(app.get(&format!("/Users/{existing}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["userName"], "dana.okta@acme.example");

    // Template links updated in place, not duplicated; other links untouched.
    let shown: Value =
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", existing.as_str()]))
            .unwrap();
    let links = shown["links"].as_array().unwrap();
    assert_eq!(links.len(), 3, "{shown}");
    assert_eq!(
        links[0],
        json!({"kind": "email", "value": "Dana@Acme.example", "position": 0, "fromTemplate": true})
    );
    assert_eq!(
        links[1],
        json!({"kind": "phone", "value": "+1 555 0199", "position": 1, "fromTemplate": true})
    );
    assert_eq!(links[2]["value"], "https://acme.example");
    assert_eq!(shown["card"]["name"], "Given Family");

    // Created twice: the second is a uniqueness conflict, not a second member.
    let (status, again) = json(app.post("/Users", &body).await).await;
    assert_scim_error(status, &again, 409, Some("uniqueness"));
    assert_eq!(member_count(&app), 1);
}

async fn adoption_follows_sync_rules_and_card_without_links_gets_them(app: TestApp) {
    app.set_policy(|p| {
        p.fields.insert(
            CardField::Name,
            FieldRule {
                sync: false,
                overwrite: true,
            },
        );
    });
    let existing = add_outside_member(&app, "eli@acme.example", &[]);
    let (status, created) = json(app.post("/Users", &user_body("eli@acme.example")).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], existing.as_str());
    let shown: Value =
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", existing.as_str()]))
            .unwrap();
    assert_eq!(
        shown["card"]["name"], "Dashboard Dana",
        "name sync off: the team's name stays"
    );
    assert_eq!(
        shown["links"],
        json!([{"kind": "email", "value": "eli@acme.example", "position": 0, "fromTemplate": false}])
    );
    // A different userName with another SCIM member's email is a new member;
    // a SCIM member's userName taken again is still 409.
    let (status, _) = json(app.post("/Users", &user_body("fay@acme.example")).await).await;
    assert_eq!(status, 201);
    let (status, body) = json(app.post("/Users", &user_body("FAY@acme.example")).await).await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));
    assert_eq!(member_count(&app), 2);
}

/// Invites in the outbox, as (member id, recipient), in queueing order.
fn invites(app: &TestApp) -> Vec<(String, String)> {
    use scimd::store::schema::outbox;
    let conn = &mut *app.pool.get().unwrap();
    outbox::table
        .filter(outbox::tenant_id.eq(app.acme().as_str()))
        .filter(outbox::kind.eq("invite"))
        .order(outbox::seq.asc())
        .select((outbox::member_id.assume_not_null(), outbox::recipient))
        .load(conn)
        .unwrap()
}

fn show(app: &TestApp, id: &str) -> Value {
    serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", id])).unwrap()
}

async fn adopted_members_get_the_invite_once(app: TestApp) {
    app.set_policy(|p| p.invites = true);
    let existing = add_outside_member(&app, "dana@acme.example", &[]);
    let mut body = user_body("dana.okta@acme.example");
    body["emails"] = json!([{"value": "Dana@Acme.example", "type": "work", "primary": true}]);
    let (status, created) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], existing.as_str(), "adopted");
    assert_eq!(
        invites(&app),
        [(existing.to_string(), "Dana@Acme.example".to_owned())],
        "the adopted member is invited at the email the sync matched"
    );
    // Deprovisioned and provisioned again: the same member, already invited.
    assert_eq!(
        app.delete(&format!("/Users/{existing}")).await.status(),
        204
    );
    let (status, again) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["id"], existing.as_str());
    assert_eq!(invites(&app).len(), 1, "no second invite");
    // With invites off, an adoption queues nothing.
    app.set_policy(|p| p.invites = false);
    add_outside_member(&app, "eli@acme.example", &[]);
    let (status, _) = json(app.post("/Users", &user_body("eli@acme.example")).await).await;
    assert_eq!(status, 201);
    assert_eq!(invites(&app).len(), 1);
}

/// Runs the CLI expecting it to refuse; returns stderr.
fn cli_refuses(app: &TestApp, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
        .arg("--database-url")
        .arg(&app.database_url)
        .args(args)
        .output()
        .unwrap();
    assert!(!output.status.success(), "scimd {args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

fn policy_events(app: &TestApp) -> Vec<(String, String)> {
    let conn = &mut *app.pool.get().unwrap();
    scimd::store::activity::since(&app.acme(), conn, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.token_label.as_deref() == Some("policy") && e.resource_type == "User")
        .map(|e| (e.operation, e.resource_name.unwrap_or_default()))
        .collect()
}

/// The settings each `policy set` changed, as the activity log names them.
fn policy_changes(app: &TestApp) -> Vec<Vec<String>> {
    let conn = &mut *app.pool.get().unwrap();
    scimd::store::activity::since(&app.acme(), conn, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.resource_type == "Policy")
        .map(|e| e.fields_changed)
        .collect()
}

async fn user_allowlist_pilots_a_few_people(app: TestApp) {
    let refused = cli_refuses(
        &app,
        &["policy", "set", "--tenant", "acme", "--allow-user", "bo"],
    );
    assert!(refused.contains("not an email address"), "{refused}");
    let set = app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--allow-user",
        "Ann@Corp.example",
        "--invites",
        "on",
        "--sync",
        "job_title=off",
    ]);
    let shown: Value = serde_json::from_str(&set).unwrap();
    assert_eq!(shown["user_allowlist"], json!(["Ann@Corp.example"]));
    let shown: Value =
        serde_json::from_str(&app.cli(&["policy", "show", "--tenant", "acme"])).unwrap();
    assert_eq!(shown["user_allowlist"], json!(["Ann@Corp.example"]));
    let outside = add_outside_member(
        &app,
        "dana@corp.example",
        &[
            ("email", "old@corp.example"),
            ("url", "https://corp.example"),
        ],
    );

    // Listed (case-insensitively): a member with card and invite.
    let ann = app.create_user("ann@corp.example").await;
    assert_eq!(show(&app, &ann)["inTeam"], true);
    assert_eq!(rows_for_member(&app, &ann)[..2], [1, 1]);
    // Not listed: served over SCIM as pushed, but no card, no invite.
    let (status, bo_body) =
        json(app.post("/Users", &titled("bo@corp.example", "Chef")).await).await;
    assert_eq!(status, 201, "{bo_body}");
    let bo = bo_body["id"].as_str().unwrap().to_owned();
    let (_, fetched) = json(app.get(&format!("/Users/{bo}")).await).await;
    assert_eq!(
        (&fetched["title"], &fetched["active"]),
        (&json!("Chef"), &json!(true))
    );
    assert_eq!(show(&app, &bo)["inTeam"], false);
    assert_eq!(rows_for_member(&app, &bo)[1], 0, "no card");
    // Not listed: adopts nobody.
    let mut dana_body = user_body("dana.okta@corp.example");
    dana_body["emails"] = json!([{"value": "dana@corp.example", "type": "work", "primary": true}]);
    let (status, created) = json(app.post("/Users", &dana_body).await).await;
    assert_eq!(status, 201, "{created}");
    let dana = created["id"].as_str().unwrap().to_owned();
    assert_ne!(dana, outside.as_str());
    assert_eq!(member_count(&app), 4);
    assert_eq!(
        invites(&app),
        [(ann.clone(), "ann@corp.example".to_owned())]
    );
    // A group may hold an unlisted user; the subteam does not count it.
    let sales = app.create_group("Sales", &[&ann, &bo]).await;
    let (_, group) = json(app.get(&format!("/Groups/{sales}")).await).await;
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    assert_eq!(show(&app, &bo)["dormantSubteams"], json!(["Sales"]));
    let bo_etag = app.get(&format!("/Users/{bo}")).await.headers()["etag"].clone();

    // Listing them re-sorts them: bo becomes a member from the stored
    // resource (sync rules as on a create), dana adopts the outside member.
    app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--allow-user",
        "bo@corp.example",
        "--allow-user",
        "dana@corp.example",
    ]);
    let shown = show(&app, &bo);
    assert_eq!(shown["inTeam"], true);
    assert_eq!(shown["subteams"], json!(["Sales"]));
    assert_eq!(
        shown["card"]["jobTitle"],
        Value::Null,
        "job_title sync is off"
    );
    assert_eq!(shown["card"]["department"], "Sales");
    assert_eq!(
        app.get(&format!("/Users/{bo}")).await.headers()["etag"],
        bo_etag,
        "the SCIM side did not change"
    );
    let shown = show(&app, &dana);
    assert_eq!(shown["inTeam"], true);
    assert_eq!(
        shown["links"],
        json!([
            {"kind": "email", "value": "dana@corp.example", "position": 0, "fromTemplate": true},
            {"kind": "url", "value": "https://corp.example", "position": 1, "fromTemplate": true}
        ]),
        "the outside member's card and template links are the user's now"
    );
    assert_eq!(member_count(&app), 3, "the outside member's row is gone");
    assert_eq!(
        invites(&app),
        [
            (ann.clone(), "ann@corp.example".to_owned()),
            (bo.clone(), "bo@corp.example".to_owned()),
            (dana.clone(), "dana@corp.example".to_owned()),
        ]
    );
    assert_eq!(
        policy_events(&app),
        [
            ("create".to_owned(), "bo@corp.example".to_owned()),
            ("adopt".to_owned(), "dana.okta@corp.example".to_owned()),
        ]
    );

    // Unlisted again: out of the team, card kept, subteams dormant.
    app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--clear-user-allowlist",
        "--allow-user",
        "ann@corp.example",
    ]);
    let shown = show(&app, &bo);
    assert_eq!(shown["inTeam"], false);
    assert_eq!(shown["subteams"], json!([]));
    assert_eq!(shown["dormantSubteams"], json!(["Sales"]));
    assert_eq!(shown["card"]["department"], "Sales", "card kept");
    let (_, fetched) = json(app.get(&format!("/Users/{bo}")).await).await;
    assert_eq!(fetched["active"], true, "SCIM still shows the IdP's value");
    assert_eq!(show(&app, &dana)["inTeam"], false);
    assert_eq!(policy_events(&app).len(), 4);
    assert_eq!(policy_events(&app)[2].0, "deactivate");
    assert_eq!(policy_events(&app)[3].0, "deactivate");
    // Each `policy set` is in the log too, naming what it changed.
    assert_eq!(
        policy_changes(&app),
        [
            vec!["fields", "invites", "user_allowlist"],
            vec!["user_allowlist"],
            vec!["user_allowlist"]
        ]
    );

    // While unlisted, a rename onto the list makes the user a member.
    let ops = json!([{"op": "replace", "value": {"userName": "eve@corp.example",
                      "emails": [{"value": "eve@corp.example", "primary": true}]}}]);
    app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--allow-user",
        "eve@corp.example",
    ]);
    let (status, body) = json(app.patch(&format!("/Users/{bo}"), &patch_body(ops)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(show(&app, &bo)["inTeam"], true);
    assert_eq!(show(&app, &bo)["card"]["email"], "eve@corp.example");

    // An empty list lets everyone in again; nobody is invited twice.
    app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--clear-user-allowlist",
    ]);
    assert_eq!(show(&app, &dana)["inTeam"], true);
    assert_eq!(policy_events(&app).last().unwrap().0, "reactivate");
    assert_eq!(invites(&app).len(), 3);
}

async fn activity_log_records_every_write_with_client_and_outcome(app: TestApp) {
    let okta = |method: Method, path: &str, body: Option<&Value>| {
        let mut request = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&app.token)
            .header("user-agent", "Okta SCIM Client 1.0.0");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        request.send()
    };
    let (_, created) = json(
        okta(Method::POST, "/Users", Some(&user_body("log@example.com")))
            .await
            .unwrap(),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = json(
        okta(Method::POST, "/Users", Some(&user_body("LOG@example.com")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    let ops = patch_body(json!([{"op": "replace", "path": "title", "value": "Chef"}]));
    okta(Method::PATCH, &format!("/Users/{id}"), Some(&ops))
        .await
        .unwrap();
    let deactivate = patch_body(json!([{"op": "replace", "value": {"active": false}}]));
    okta(Method::PATCH, &format!("/Users/{id}"), Some(&deactivate))
        .await
        .unwrap();
    app.create_group("Logged", &[]).await;
    app.get(&format!("/Users/{id}")).await; // reads are not logged

    let events = {
        let conn = &mut *app.pool.get().unwrap();
        scimd::store::activity::since(&app.acme(), conn, None).unwrap()
    };
    let summary: Vec<(&str, &str, &str, i32, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.client.as_str(),
                e.operation.as_str(),
                e.resource_type.as_str(),
                e.status,
                e.scim_type.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("okta", "create", "User", 201, None),
            ("okta", "create", "User", 409, Some("uniqueness")),
            ("okta", "update", "User", 200, None),
            ("okta", "deactivate", "User", 200, None),
            ("other", "create", "Group", 201, None),
        ]
    );
    assert_eq!(events[0].token_label.as_deref(), Some("test"));
    assert_eq!(events[0].resource_id.as_deref(), Some(id.as_str()));
    assert_eq!(events[1].resource_name.as_deref(), Some("LOG@example.com"));
    assert_eq!(events[2].fields_changed, ["title"]);
    assert_eq!(events[3].fields_changed, ["active"]);
    assert_eq!(events[4].resource_name.as_deref(), Some("Logged"));

    // The CLI: every write as CSV, and a per-run summary.
    let csv = app.cli(&["activity", "--tenant", "acme", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[0].starts_with("time,token,client,operation"), "{csv}");
    assert!(
        lines[2].contains(",okta,create,User,")
            && lines[2].ends_with(
                ",409,uniqueness,\"userName \"\"LOG@example.com\"\" is already taken in this team\""
            ),
        "the failure keeps the detail its client got: {csv}"
    );
    let runs: Value = serde_json::from_str(&app.cli(&[
        "activity",
        "--tenant",
        "acme",
        "--since",
        "1h",
        "--summary",
        "runs",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(
        (
            &runs[0]["users_created"],
            &runs[0]["users_updated"],
            &runs[0]["users_deactivated"],
            &runs[0]["groups_created"],
            &runs[0]["failed"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1), &json!(1)),
        "users and groups counted apart: {runs}"
    );
    assert_eq!(runs[0]["clients"], json!(["okta", "other"]));

    // The table: aligned columns, no tabs.
    let table = app.cli(&["activity", "--tenant", "acme"]);
    assert!(!table.contains('\t'), "{table}");
    let header = table.lines().next().unwrap();
    let status_column = header.find("status").unwrap();
    let conflict = table.lines().find(|l| l.contains("uniqueness")).unwrap();
    assert_eq!(
        conflict.find("409"),
        Some(status_column),
        "values line up under their header:\n{table}"
    );
    let output = common::cli_output(
        &app.database_url,
        &["activity", "--tenant", "acme", "--run-gap-mins", "5"],
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--run-gap-mins only applies to --summary runs")
    );
}

async fn group_writes_log_who_was_added_and_removed(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(app.create_user(&format!("m{i}@acme.example")).await);
    }
    let group = app.create_group("Logged", &[&ids[7]]).await;
    let added: Vec<Value> = ids[..7].iter().map(|id| json!({"value": id})).collect();
    let ops = patch_body(json!([
        {"op": "add", "path": "members", "value": added},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[7])},
        // Re-adding a member already added changes nothing.
        {"op": "add", "path": "members", "value": [{"value": ids[0]}]},
    ]));
    let (status, _) = json(app.patch(&format!("/Groups/{group}"), &ops).await).await;
    assert_eq!(status, 200);
    let bad = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}]));
    let (status, _) = json(app.patch(&format!("/Groups/{group}"), &bad).await).await;
    assert_eq!(status, 400);

    let events = {
        let conn = &mut *app.pool.get().unwrap();
        scimd::store::activity::since(&app.acme(), conn, None).unwrap()
    };
    let created = &events[8];
    assert_eq!(
        created.detail.as_deref(),
        Some(format!("added 1: {} (m7@acme.example)", ids[7]).as_str())
    );
    let patched = &events[9];
    assert_eq!(patched.fields_changed, ["members"]);
    let detail = patched.detail.as_deref().unwrap();
    assert!(
        detail.starts_with(&format!("added 7: {} (m0@acme.example), ", ids[0])),
        "{detail}"
    );
    assert!(detail.contains(" and 2 more; removed 1: "), "{detail}");
    assert!(
        detail.ends_with(&format!("{} (m7@acme.example)", ids[7])),
        "{detail}"
    );
    let failed = &events[10];
    assert_eq!(
        (failed.status, failed.scim_type.as_deref()),
        (400, Some("invalidValue"))
    );
    assert_eq!(
        failed.detail.as_deref(),
        Some("no such user in this team: nobody")
    );
}

async fn old_activity_is_pruned(app: TestApp) {
    // Entries older than the retention go at the job's first pass; recent ones stay.
    let recent = app.create_user("recent@example.com").await;
    let database_url = app.database_url.clone();
    let conn = &mut *app.pool.get().unwrap();
    diesel::insert_into(scimd::store::schema::provisioning_events::table)
        .values((
            scimd::store::schema::provisioning_events::tenant_id.eq(app.acme().as_str()),
            scimd::store::schema::provisioning_events::occurred_at
                .eq("2020-01-01T00:00:00.000000Z"),
            scimd::store::schema::provisioning_events::client.eq("other"),
            scimd::store::schema::provisioning_events::operation.eq("create"),
            scimd::store::schema::provisioning_events::resource_type.eq("User"),
            scimd::store::schema::provisioning_events::status.eq(201),
        ))
        .execute(conn)
        .unwrap();
    let jobs = scimd::jobs::spawn(
        scimd::store::db::connect(&database_url, 1).unwrap(),
        JobSettings {
            activity_retention: Duration::from_secs(24 * 3600),
            poll: Duration::from_millis(50),
            ..JobSettings::default()
        },
        std::sync::Arc::new(scimd::telemetry::Telemetry::new(false).unwrap()),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let remaining = loop {
        let remaining = scimd::store::activity::since(&app.acme(), conn, None).unwrap();
        if remaining.len() == 1 || std::time::Instant::now() > deadline {
            break remaining;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    jobs.stop();
    assert_eq!(remaining.len(), 1, "{remaining:?}");
    assert_eq!(remaining[0].resource_id.as_deref(), Some(recent.as_str()));
}

on_both_backends!(
    overwrite_off_keeps_the_card_while_scim_shows_the_idp_value,
    overwrite_on_by_default_and_sync_off_skips_creation,
    delete_mode_leaves_no_rows_behind,
    deactivate_mode_keeps_data_and_active_false_never_deletes,
    required_names_on_and_off,
    admin_roles_map_when_on_and_change_nothing_when_off,
    group_allowlist_keeps_other_groups_out_of_subteams,
    create_adopts_a_member_made_outside_scim,
    adoption_follows_sync_rules_and_card_without_links_gets_them,
    activity_log_records_every_write_with_client_and_outcome,
    group_writes_log_who_was_added_and_removed,
    old_activity_is_pruned,
    adopted_members_get_the_invite_once,
    user_allowlist_pilots_a_few_people,
);

/// Tests that need the server's jobs talking to an SMTP sink.
mod mail {
    use super::*;
    use common::Backend;

    fn outbox_len(app: &TestApp) -> usize {
        let conn = &mut *app.pool.get().unwrap();
        scimd::store::outbox::list(&app.acme(), conn).unwrap().len()
    }

    async fn invites_arrive_once_even_when_the_request_is_retried(backend: Backend) {
        let sink = SmtpSink::start(0);
        let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
            return;
        };
        app.create_user("before@example.com").await;
        app.set_policy(|p| p.invites = true);
        let body = user_body("new.hire@example.com");
        let (status, _) = json(app.post("/Users", &body).await).await;
        assert_eq!(status, 201);
        let (status, _) = json(app.post("/Users", &body).await).await;
        assert_eq!(status, 409, "the retry is a conflict");
        let received = sink.wait_for(1, Duration::from_secs(10));
        // Give a duplicate every chance to show up before asserting there is none.
        std::thread::sleep(Duration::from_millis(600));
        let received_after = sink.received();
        assert_eq!(received.len(), 1, "{received:?}");
        assert_eq!(received_after.len(), 1, "{received_after:?}");
        assert_eq!(received[0].recipients, ["new.hire@example.com"]);
        assert!(
            received[0]
                .data
                .contains("Subject: Your acme business card is ready"),
            "{}",
            received[0].data
        );
        assert_eq!(outbox_len(&app), 1, "nothing queued while invites were off");
    }

    async fn invites_are_retried_after_a_transient_smtp_failure(backend: Backend) {
        let sink = SmtpSink::start(2);
        let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
            return;
        };
        app.set_policy(|p| p.invites = true);
        app.create_user("patient@example.com").await;
        let received = sink.wait_for(1, Duration::from_secs(15));
        assert_eq!(received.len(), 1, "delivered after the refusals");
        assert_eq!(sink.refused(), 2);
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(sink.received().len(), 1, "and only once");
        let conn = &mut *app.pool.get().unwrap();
        let row = &scimd::store::outbox::list(&app.acme(), conn).unwrap()[0];
        assert_eq!(row.attempts, 3);
        assert!(row.sent_at.is_some());
    }

    async fn digest_follows_a_settled_burst(backend: Backend) {
        let sink = SmtpSink::start(0);
        let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
            return;
        };
        app.create_user("before.digest@example.com").await;
        app.set_policy(|p| {
            p.admin_contacts = vec!["it@acme.example".into()];
            p.digest_quiet_secs = 1;
        });
        let ann = app.create_user("ann@acme.example").await;
        app.create_user("bo@acme.example").await;
        app.delete(&format!("/Users/{ann}")).await;
        let received = sink.wait_for(1, Duration::from_secs(15));
        assert_eq!(received.len(), 1, "{received:?}");
        let digest = &received[0];
        assert_eq!(digest.recipients, ["it@acme.example"]);
        assert!(
            digest
                .data
                .contains("acme: 2 added, 1 removed by provisioning"),
            "{}",
            digest.data
        );
        assert!(digest.data.contains("bo@acme.example"), "{}", digest.data);
        assert!(
            !digest.data.contains("before.digest"),
            "only activity after contacts were set"
        );
        // No new activity, no new digest.
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(sink.received().len(), 1);
    }

    /// A user the IdP makes a team admin (Entra's Global Administrator role).
    async fn create_team_admin(app: &TestApp, user_name: &str) -> String {
        let mut body = user_body(user_name);
        body["roles"] = json!([{"value": "Global Administrator"}]);
        let (status, body) = json(app.post("/Users", &body).await).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    fn digests_to(received: &[common::smtp::Mail], recipient: &str) -> Vec<String> {
        received
            .iter()
            .filter(|m| m.recipients.iter().any(|r| r == recipient))
            .map(|m| m.data.clone())
            .collect()
    }

    async fn team_admins_get_digests_without_contacts_and_no_backlog_after_upgrade(
        backend: Backend,
    ) {
        let sink = SmtpSink::start(0);
        let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
            return;
        };
        app.set_policy(|p| p.admin_roles = true);
        create_team_admin(&app, "dana@acme.example").await;
        app.create_user("old.hire@acme.example").await;
        // The upgrade that made team admins recipients, replayed on this team's history.
        let upgrade = match backend {
            Backend::Sqlite => include_str!(
                "../migrations/sqlite/2026-11-26-000007_digest_cursors_for_every_team/up.sql"
            ),
            Backend::Postgres => include_str!(
                "../migrations/postgres/2026-11-26-000007_digest_cursors_for_every_team/up.sql"
            ),
        };
        {
            let conn = &mut *app.pool.get().unwrap();
            diesel::delete(scimd::store::schema::digest_cursors::table)
                .execute(conn)
                .unwrap();
            diesel::connection::SimpleConnection::batch_execute(conn, upgrade).unwrap();
        }
        app.set_policy(|p| p.digest_quiet_secs = 1);
        app.create_user("new.hire@acme.example").await;
        let received = sink.wait_for(1, Duration::from_secs(15));
        assert_eq!(received.len(), 1, "{received:?}");
        assert_eq!(received[0].recipients, ["dana@acme.example"]);
        let digest = &received[0].data;
        assert!(digest.contains("acme: 1 added, 0 removed"), "{digest}");
        assert!(digest.contains("new.hire@acme.example"), "{digest}");
        assert!(!digest.contains("old.hire"), "no backlog: {digest}");
    }

    async fn digests_go_once_to_each_contact_and_admin_and_can_be_switched_off(backend: Backend) {
        let sink = SmtpSink::start(0);
        let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
            return;
        };
        app.set_policy(|p| p.admin_roles = true);
        let dana = create_team_admin(&app, "dana@acme.example").await;
        app.set_policy(|p| {
            p.admin_contacts = vec!["it@acme.example".into(), "DANA@acme.example".into()];
            p.digest_quiet_secs = 1;
        });
        app.create_user("ann@acme.example").await;
        let received = sink.wait_for(2, Duration::from_secs(15));
        std::thread::sleep(Duration::from_millis(600));
        let received_after = sink.received();
        assert_eq!(received.len(), 2, "{received:?}");
        assert_eq!(
            received_after.len(),
            2,
            "one digest per address: {received_after:?}"
        );
        assert_eq!(digests_to(&received, "it@acme.example").len(), 1);
        assert_eq!(digests_to(&received, "DANA@acme.example").len(), 1);

        app.cli(&["policy", "set", "--tenant", "acme", "--digests", "off"]);
        app.create_user("bo@acme.example").await;
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(sink.received().len(), 2, "digests off: nothing sent");

        // Back on, with the admin out of the team: only the contact left.
        let (status, _) = json(
            app.patch(
                &format!("/Users/{dana}"),
                &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200);
        app.cli(&[
            "policy",
            "set",
            "--tenant",
            "acme",
            "--digests",
            "on",
            "--clear-admin-contacts",
            "--admin-contact",
            "it@acme.example",
        ]);
        app.create_user("cy@acme.example").await;
        let received = sink.wait_for(3, Duration::from_secs(15));
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(sink.received().len(), 3, "{received:?}");
        assert_eq!(received[2].recipients, ["it@acme.example"]);
        assert!(
            received[2].data.contains("cy@acme.example"),
            "{}",
            received[2].data
        );
        assert!(
            !received[2].data.contains("bo@acme.example"),
            "{}",
            received[2].data
        );
    }

    for_each_backend!(
        invites_arrive_once_even_when_the_request_is_retried,
        invites_are_retried_after_a_transient_smtp_failure,
        digest_follows_a_settled_burst,
        team_admins_get_digests_without_contacts_and_no_backlog_after_upgrade,
        digests_go_once_to_each_contact_and_admin_and_can_be_switched_off
    );
}

/// Issue 15, item 9: the card's email and phone links follow their fields
/// when the IdP removes a value.
mod links {
    use super::*;

    /// The member's links as stored, every one (cleared template slots too).
    fn stored_links(app: &TestApp, id: &str) -> Vec<Value> {
        let conn = &mut *app.pool.get().unwrap();
        let (_, links) =
            scimd::store::members::card(&app.acme(), conn, &MemberId::from_string(id.to_owned()))
                .unwrap()
                .expect("member has a card");
        links
            .into_iter()
            .map(|l| {
                json!({"kind": l.kind, "value": l.value, "position": l.position,
                       "fromTemplate": l.from_template})
            })
            .collect()
    }

    fn link(kind: &str, value: &str, position: i32, from_template: bool) -> Value {
        json!({"kind": kind, "value": value, "position": position, "fromTemplate": from_template})
    }

    fn shown(app: &TestApp, id: &str) -> Value {
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", id])).unwrap()
    }

    /// A User whose `userName` is not an email address (no email fallback).
    fn contact_body(user_name: &str, email: Option<&str>, phone: Option<&str>) -> Value {
        let mut body = json!({
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "name": {"givenName": "Dana", "familyName": "Lee"},
            "active": true,
        });
        if let Some(email) = email {
            body["emails"] = json!([{"value": email, "type": "work", "primary": true}]);
        }
        if let Some(phone) = phone {
            body["phoneNumbers"] = json!([{"value": phone, "type": "mobile"}]);
        }
        body
    }

    async fn ok(response: reqwest::Response) -> Value {
        let (status, body) = json(response).await;
        assert_eq!(status / 100, 2, "{body}");
        body
    }

    fn remove(path: &str) -> Value {
        patch_body(json!([{"op": "remove", "path": path}]))
    }

    const MOBILE: &str = "phoneNumbers[type eq \"mobile\"]";

    async fn removed_values_take_appended_links_with_them(app: TestApp) {
        let created = ok(app
            .post(
                "/Users",
                &contact_body("dana.lee", Some("dana@acme.example"), Some("+1 555 0199")),
            )
            .await)
        .await;
        let id = created["id"].as_str().unwrap();
        let path = format!("/Users/{id}");
        assert_eq!(
            stored_links(&app, id),
            [
                link("email", "dana@acme.example", 0, false),
                link("phone", "+1 555 0199", 1, false)
            ]
        );

        // PATCH remove of the phone: field and appended link go.
        ok(app.patch(&path, &remove(MOBILE)).await).await;
        let card = app.card("acme", id);
        assert_eq!(card.phone, None);
        assert_eq!(card.email.as_deref(), Some("dana@acme.example"));
        assert_eq!(
            stored_links(&app, id),
            [link("email", "dana@acme.example", 0, false)]
        );

        // A phone sent again is appended again.
        let add = patch_body(json!([{"op": "add", "path": "phoneNumbers",
            "value": [{"value": "+1 555 0123", "type": "mobile"}]}]));
        ok(app.patch(&path, &add).await).await;
        assert_eq!(
            stored_links(&app, id)[1],
            link("phone", "+1 555 0123", 1, false)
        );

        // PUT without phoneNumbers: the same.
        ok(app
            .put(
                &path,
                &contact_body("dana.lee", Some("dana@acme.example"), None),
            )
            .await)
        .await;
        assert_eq!(app.card("acme", id).phone, None);
        assert_eq!(
            stored_links(&app, id),
            [link("email", "dana@acme.example", 0, false)]
        );

        // PATCH remove of the emails (no email-shaped userName to fall back on).
        ok(app.patch(&path, &remove("emails")).await).await;
        assert_eq!(app.card("acme", id).email, None);
        assert_eq!(stored_links(&app, id), Vec::<Value>::new());

        // PUT without emails, on a member that has one again.
        ok(app
            .put(
                &path,
                &contact_body("dana.lee", Some("dana@acme.example"), None),
            )
            .await)
        .await;
        assert_eq!(stored_links(&app, id).len(), 1);
        ok(app.put(&path, &contact_body("dana.lee", None, None)).await).await;
        assert_eq!(app.card("acme", id).email, None);
        assert_eq!(stored_links(&app, id), Vec::<Value>::new());
        assert_eq!(shown(&app, id)["links"], json!([]));
    }

    async fn removed_values_clear_template_links_in_place(app: TestApp) {
        let id = app
            .cli(&[
                "member",
                "add",
                "--tenant",
                "acme",
                "--email",
                "dana@acme.example",
                "--template-link",
                "email=name@acme.example",
                "--template-link",
                "phone=+1 000 0000",
                "--template-link",
                "url=https://acme.example",
            ])
            .trim()
            .to_owned();
        let adopted = ok(app
            .post(
                "/Users",
                &contact_body("dana.okta", Some("dana@acme.example"), Some("+1 555 0199")),
            )
            .await)
        .await;
        assert_eq!(adopted["id"], id.as_str(), "adopted");
        let path = format!("/Users/{id}");
        let url = link("url", "https://acme.example", 2, true);
        assert_eq!(
            stored_links(&app, &id),
            [
                link("email", "dana@acme.example", 0, true),
                link("phone", "+1 555 0199", 1, true),
                url.clone()
            ]
        );

        // PATCH remove of the phone: the template link keeps its place, empty,
        // and the card does not show it.
        ok(app.patch(&path, &remove(MOBILE)).await).await;
        assert_eq!(app.card("acme", &id).phone, None);
        assert_eq!(
            stored_links(&app, &id),
            [
                link("email", "dana@acme.example", 0, true),
                link("phone", "", 1, true),
                url.clone()
            ]
        );
        let member = shown(&app, &id);
        assert_eq!(
            member["links"],
            json!([link("email", "dana@acme.example", 0, true), url.clone()])
        );
        assert_eq!(
            member["clearedTemplateLinks"],
            json!([{"kind": "phone", "position": 1}])
        );

        // A phone sent again refills the template link in place.
        let replace = patch_body(json!([{"op": "replace", "path": "phoneNumbers",
            "value": [{"value": "+1 555 0123", "type": "mobile"}]}]));
        ok(app.patch(&path, &replace).await).await;
        assert_eq!(
            stored_links(&app, &id),
            [
                link("email", "dana@acme.example", 0, true),
                link("phone", "+1 555 0123", 1, true),
                url.clone()
            ]
        );
        assert_eq!(shown(&app, &id)["clearedTemplateLinks"], json!([]));

        // PUT without phoneNumbers and emails: both template links emptied.
        ok(app.put(&path, &contact_body("dana.okta", None, None)).await).await;
        let card = app.card("acme", &id);
        assert_eq!((card.email, card.phone), (None, None));
        assert_eq!(
            stored_links(&app, &id),
            [
                link("email", "", 0, true),
                link("phone", "", 1, true),
                url.clone()
            ]
        );
        assert_eq!(shown(&app, &id)["links"], json!([url.clone()]));

        // Values sent again refill both in place; nothing is appended.
        ok(app
            .put(
                &path,
                &contact_body(
                    "dana.okta",
                    Some("dana.lee@acme.example"),
                    Some("+1 555 0177"),
                ),
            )
            .await)
        .await;
        assert_eq!(
            stored_links(&app, &id),
            [
                link("email", "dana.lee@acme.example", 0, true),
                link("phone", "+1 555 0177", 1, true),
                url
            ]
        );
    }

    async fn template_value_stays_when_the_idp_never_sent_one(app: TestApp) {
        let id = app
            .cli(&[
                "member",
                "add",
                "--tenant",
                "acme",
                "--email",
                "eve@acme.example",
                "--template-link",
                "phone=+1 000 0000",
            ])
            .trim()
            .to_owned();
        ok(app
            .post(
                "/Users",
                &contact_body("eve.okta", Some("eve@acme.example"), None),
            )
            .await)
        .await;
        let title = patch_body(json!([{"op": "replace", "path": "title", "value": "CFO"}]));
        ok(app.patch(&format!("/Users/{id}"), &title).await).await;
        assert_eq!(
            stored_links(&app, &id),
            [
                link("phone", "+1 000 0000", 0, true),
                link("email", "eve@acme.example", 1, false)
            ],
            "the template's own phone is not a value the IdP removed"
        );
    }

    async fn overwrite_off_keeps_fields_and_links(app: TestApp) {
        app.set_policy(|p| {
            for field in [CardField::Phone, CardField::Email] {
                p.fields.insert(
                    field,
                    FieldRule {
                        sync: true,
                        overwrite: false,
                    },
                );
            }
        });
        // One member with template links, one with appended ones.
        let templated = app
            .cli(&[
                "member",
                "add",
                "--tenant",
                "acme",
                "--email",
                "gil@acme.example",
                "--template-link",
                "email=name@acme.example",
                "--template-link",
                "phone=+1 000 0000",
            ])
            .trim()
            .to_owned();
        ok(app
            .post(
                "/Users",
                &contact_body("gil.okta", Some("gil@acme.example"), Some("+1 555 0101")),
            )
            .await)
        .await;
        let appended = ok(app
            .post(
                "/Users",
                &contact_body("hal.okta", Some("hal@acme.example"), Some("+1 555 0102")),
            )
            .await)
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (id, user_name, email, phone, from_template) in [
            (
                templated.as_str(),
                "gil.okta",
                "gil@acme.example",
                "+1 555 0101",
                true,
            ),
            (
                appended.as_str(),
                "hal.okta",
                "hal@acme.example",
                "+1 555 0102",
                false,
            ),
        ] {
            let path = format!("/Users/{id}");
            ok(app.patch(&path, &remove(MOBILE)).await).await;
            ok(app.put(&path, &contact_body(user_name, None, None)).await).await;
            let card = app.card("acme", id);
            assert_eq!(card.email.as_deref(), Some(email));
            assert_eq!(card.phone.as_deref(), Some(phone));
            assert_eq!(
                stored_links(&app, id),
                [
                    link("email", email, 0, from_template),
                    link("phone", phone, 1, from_template)
                ]
            );
        }
    }

    async fn removed_emails_fall_back_to_an_email_shaped_user_name(app: TestApp) {
        // Entra: the UPN is the userName; the work email is removed.
        let mut body = contact_body(
            "omar@contoso.example",
            Some("omar.haddad@contoso.example"),
            None,
        );
        body["emails"][0]["primary"] = json!(false);
        let created = ok(app.post("/Users", &body).await).await;
        let id = created["id"].as_str().unwrap();
        let entra_remove = patch_body(json!([
            {"op": "Remove", "path": "emails[type eq \"work\"]"}
        ]));
        ok(app.patch(&format!("/Users/{id}"), &entra_remove).await).await;
        assert_eq!(
            app.card("acme", id).email.as_deref(),
            Some("omar@contoso.example")
        );
        assert_eq!(
            stored_links(&app, id),
            [link("email", "omar@contoso.example", 0, false)]
        );
        // The same through a template link.
        let templated = app
            .cli(&[
                "member",
                "add",
                "--tenant",
                "acme",
                "--email",
                "lina@contoso.example",
                "--template-link",
                "email=name@contoso.example",
            ])
            .trim()
            .to_owned();
        let mut body = contact_body(
            "lina.upn@contoso.example",
            Some("lina@contoso.example"),
            None,
        );
        body["emails"][0]["primary"] = json!(true);
        ok(app.post("/Users", &body).await).await;
        ok(app
            .put(
                &format!("/Users/{templated}"),
                &contact_body("lina.upn@contoso.example", None, None),
            )
            .await)
        .await;
        assert_eq!(
            stored_links(&app, &templated),
            [link("email", "lina.upn@contoso.example", 0, true)]
        );
    }

    async fn orphaned_links_are_cleaned_by_the_migration_and_the_next_write(app: TestApp) {
        let with_phone = |name: &str| contact_body(name, None, Some("+1 555 0199"));
        let mut ids = Vec::new();
        for name in ["ivy", "jon", "kai"] {
            let created = ok(app.post("/Users", &with_phone(name)).await).await;
            ids.push(created["id"].as_str().unwrap().to_owned());
        }
        let templated = app
            .cli(&[
                "member",
                "add",
                "--tenant",
                "acme",
                "--email",
                "lou@acme.example",
                "--template-link",
                "phone=+1 000 0000",
            ])
            .trim()
            .to_owned();
        // Before the fix, a removed phone left the card's field empty and its
        // link in place: make that state for ivy and jon.
        {
            let conn = &mut *app.pool.get().unwrap();
            diesel::update(cards::table.filter(cards::member_id.eq_any(&ids[..2])))
                .set(cards::phone.eq(None::<String>))
                .execute(conn)
                .unwrap();
        }
        let phone = link("phone", "+1 555 0199", 0, false);
        for id in &ids {
            assert_eq!(stored_links(&app, id), std::slice::from_ref(&phone));
        }
        // The migration's statement (it ran on the empty database at startup).
        {
            use diesel::connection::SimpleConnection;
            let up = match app.backend {
                common::Backend::Sqlite => include_str!(
                    "../migrations/sqlite/2026-11-26-000011_orphaned_card_links/up.sql"
                ),
                common::Backend::Postgres => include_str!(
                    "../migrations/postgres/2026-11-26-000011_orphaned_card_links/up.sql"
                ),
            };
            app.pool.get().unwrap().batch_execute(up).unwrap();
        }
        assert_eq!(stored_links(&app, &ids[0]), Vec::<Value>::new());
        assert_eq!(stored_links(&app, &ids[1]), Vec::<Value>::new());
        assert_eq!(stored_links(&app, &ids[2]), [phone], "field set: kept");
        assert_eq!(
            stored_links(&app, &templated),
            [link("phone", "+1 000 0000", 0, true)],
            "template links are not orphans"
        );

        // An orphan the migration did not see goes on the member's next write.
        let created = ok(app.post("/Users", &contact_body("max", None, None)).await).await;
        let id = created["id"].as_str().unwrap();
        {
            let conn = &mut *app.pool.get().unwrap();
            diesel::insert_into(card_links::table)
                .values((
                    card_links::member_id.eq(id),
                    card_links::tenant_id.eq(app.acme().as_str()),
                    card_links::kind.eq("phone"),
                    card_links::value.eq("+1 555 0100"),
                    card_links::position.eq(0),
                    card_links::from_template.eq(false),
                ))
                .execute(conn)
                .unwrap();
        }
        let title = patch_body(json!([{"op": "replace", "path": "title", "value": "CTO"}]));
        ok(app.patch(&format!("/Users/{id}"), &title).await).await;
        assert_eq!(stored_links(&app, id), Vec::<Value>::new());
    }

    on_both_backends!(
        removed_values_take_appended_links_with_them,
        removed_values_clear_template_links_in_place,
        template_value_stays_when_the_idp_never_sent_one,
        overwrite_off_keeps_fields_and_links,
        removed_emails_fall_back_to_an_email_shaped_user_name,
        orphaned_links_are_cleaned_by_the_migration_and_the_next_write,
    );
}

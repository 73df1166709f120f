//! The mass-deprovisioning guard (issue 19), over HTTP on both backends:
//! removals past a team's guard are held (the IdP sees its change, the
//! member stays), the admins get one email, and `scimd held` approves or
//! rejects; the IdP taking a removal back ends its hold.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::smtp::SmtpSink;
use common::{Backend, TestApp, json, patch_body, user_body};
use diesel::prelude::*;
use scimd::scim::policy::{Deprovisioning, RemovalGuard};
use scimd::store::holds::{Held, HeldKind};
use scimd::store::schema::{members, provisioning_events, subteam_members};
use serde_json::{Value, json};

const HELD_SUBJECT: &str = "removals held by the deprovisioning guard";

/// Whether the member is in the team (the member side, not SCIM's `active`).
fn in_team(app: &TestApp, id: &str) -> Option<bool> {
    let conn = &mut *app.pool.get().unwrap();
    members::table
        .filter(members::id.eq(id))
        .select(members::in_team)
        .first(conn)
        .optional()
        .unwrap()
}

fn subteam_rows(app: &TestApp, id: &str) -> i64 {
    let conn = &mut *app.pool.get().unwrap();
    subteam_members::table
        .filter(subteam_members::member_id.eq(id))
        .count()
        .get_result(conn)
        .unwrap()
}

fn held(app: &TestApp) -> Vec<Held> {
    let conn = &mut *app.pool.get().unwrap();
    let tenant = scimd::admin::find_tenant(conn, "acme").unwrap();
    scimd::admin::held_removals(conn, &tenant).unwrap()
}

/// The operations the activity log holds for a user, oldest first.
fn logged_operations(app: &TestApp, id: &str) -> Vec<String> {
    let conn = &mut *app.pool.get().unwrap();
    scimd::store::activity::since(&app.acme(), conn, None)
        .unwrap()
        .into_iter()
        .filter(|event| event.resource_id.as_deref() == Some(id))
        .map(|event| event.operation)
        .collect()
}

/// Entra's way of deactivating: `Replace` with a string boolean.
async fn deactivate(app: &TestApp, id: &str) {
    let body = patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let (status, body) = json(app.patch(&format!("/Users/{id}"), &body).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false, "the IdP reads back its change");
}

async fn delete(app: &TestApp, id: &str) {
    let status = app.delete(&format!("/Users/{id}")).await.status().as_u16();
    assert_eq!(status, 204);
}

async fn get_status(app: &TestApp, id: &str) -> u16 {
    app.get(&format!("/Users/{id}")).await.status().as_u16()
}

async fn create_users(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        ids.push(app.create_user(&format!("{prefix}{n}@acme.example")).await);
    }
    ids
}

fn held_emails(sink: &SmtpSink) -> Vec<common::smtp::Mail> {
    sink.received()
        .into_iter()
        .filter(|mail| mail.data.contains(HELD_SUBJECT))
        .collect()
}

async fn removals_up_to_the_limit_all_go_through(backend: Backend) {
    let sink = SmtpSink::start(0);
    let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
        return;
    };
    let shown = app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--removal-guard",
        "3",
        "--admin-contact",
        "it@acme.example",
    ]);
    assert!(shown.contains(r#""removal_guard": {"#), "{shown}");
    let ids = create_users(&app, "user", 6).await;
    deactivate(&app, &ids[0]).await;
    deactivate(&app, &ids[1]).await;
    delete(&app, &ids[2]).await;
    for id in &ids[..3] {
        assert_eq!(in_team(&app, id), Some(false), "{id} left the team");
    }
    for id in &ids[3..] {
        assert_eq!(in_team(&app, id), Some(true));
    }
    assert!(held(&app).is_empty());
    assert!(
        app.cli(&["held", "--tenant", "acme"])
            .contains("no held removals")
    );
    // Give an email every chance to be sent before asserting there is none.
    std::thread::sleep(Duration::from_millis(800));
    assert!(held_emails(&sink).is_empty());
}

/// A user the IdP makes a team admin (Entra's Global Administrator role).
async fn create_team_admin(app: &TestApp, user_name: &str) -> String {
    let mut body = user_body(user_name);
    body["roles"] = json!([{"value": "Global Administrator"}]);
    let (status, body) = json(app.post("/Users", &body).await).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn a_count_guard_holds_exactly_the_excess_and_emails_the_admins_once(backend: Backend) {
    let sink = SmtpSink::start(0);
    let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
        return;
    };
    app.set_policy(|p| {
        p.removal_guard = Some(RemovalGuard::Count(2));
        p.admin_contacts = vec!["it@acme.example".into()];
        p.admin_roles = true;
    });
    create_team_admin(&app, "dana@acme.example").await;
    let ids = create_users(&app, "user", 8).await;
    for id in &ids[..3] {
        deactivate(&app, id).await;
    }
    for id in &ids[3..5] {
        delete(&app, id).await;
    }
    // Two removals went through; the other three are held.
    assert_eq!(in_team(&app, &ids[0]), Some(false));
    assert_eq!(in_team(&app, &ids[1]), Some(false));
    for id in &ids[2..5] {
        assert_eq!(in_team(&app, id), Some(true), "{id} is held in the team");
    }
    let held = held(&app);
    let held_members: Vec<String> = held.iter().map(|h| h.member_id.to_string()).collect();
    assert_eq!(held_members, ids[2..5]);
    let kinds: Vec<HeldKind> = held.iter().map(|h| h.kind).collect();
    assert_eq!(
        kinds,
        [HeldKind::Deactivate, HeldKind::Delete, HeldKind::Delete]
    );
    // The SCIM side shows what the IdP did, so it does not send it again.
    let (status, body) = json(app.get(&format!("/Users/{}", ids[2])).await).await;
    assert_eq!((status, &body["active"]), (200, &Value::Bool(false)));
    assert_eq!(get_status(&app, &ids[3]).await, 404);
    assert_eq!(logged_operations(&app, &ids[2]), ["create", "held"]);
    assert_eq!(logged_operations(&app, &ids[0]), ["create", "deactivate"]);
    let listing = app.cli(&["held", "--tenant", "acme"]);
    assert_eq!(
        listing.lines().count(),
        4,
        "a header and three holds:\n{listing}"
    );
    assert!(listing.contains("user3@acme.example"), "{listing}");

    // One email per admin for the run, however many removals it held.
    let received = sink.wait_for(2, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(600));
    let emails = held_emails(&sink);
    assert_eq!(emails.len(), 2, "{received:?}");
    let mut recipients: Vec<&str> = emails
        .iter()
        .flat_map(|mail| mail.recipients.iter().map(String::as_str))
        .collect();
    recipients.sort_unstable();
    assert_eq!(recipients, ["dana@acme.example", "it@acme.example"]);
    // Undo quoted-printable's soft line breaks.
    let text = emails[0].data.replace("=\r\n", "");
    assert!(
        text.contains("scimd held approve --tenant \"acme\" --all"),
        "{text}"
    );
}

async fn a_percentage_guard_counts_the_team_as_the_run_began(backend: Backend) {
    let sink = SmtpSink::start(0);
    let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
        return;
    };
    // Ten members from a sync long past.
    let old = app.seed_users(
        (0..10)
            .map(|n| user_body(&format!("old{n}@acme.example")))
            .collect(),
    );
    {
        let conn = &mut *app.pool.get().unwrap();
        diesel::update(provisioning_events::table)
            .set(provisioning_events::occurred_at.eq("2026-01-05T09:00:00.000000Z"))
            .execute(conn)
            .unwrap();
    }
    app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--removal-guard",
        "20%",
    ]);
    // This run adds five (the base stays 10: 20% is 2 removals) ...
    create_users(&app, "new", 5).await;
    // ... and removes four.
    delete(&app, &old[0]).await;
    deactivate(&app, &old[1]).await;
    delete(&app, &old[2]).await;
    deactivate(&app, &old[3]).await;
    assert_eq!(in_team(&app, &old[0]), Some(false));
    assert_eq!(in_team(&app, &old[1]), Some(false));
    let held_members: Vec<String> = held(&app).iter().map(|h| h.member_id.to_string()).collect();
    assert_eq!(held_members, old[2..4]);
    assert_eq!(in_team(&app, &old[2]), Some(true));
    assert_eq!(in_team(&app, &old[3]), Some(true));
}

async fn approve_and_reject_do_what_they_say(backend: Backend) {
    let sink = SmtpSink::start(0);
    let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
        return;
    };
    app.set_policy(|p| {
        p.removal_guard = Some(RemovalGuard::Count(0));
        p.deprovisioning = Deprovisioning::Delete;
    });
    let ids = create_users(&app, "user", 4).await;
    let members: Vec<&str> = ids.iter().map(String::as_str).collect();
    let group = app.create_group("Sales", &members).await;
    deactivate(&app, &ids[0]).await;
    delete(&app, &ids[1]).await;
    delete(&app, &ids[2]).await;
    deactivate(&app, &ids[3]).await;
    let held = held(&app);
    assert_eq!(held.len(), 4);
    let (status, body) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [ids[0].as_str(), ids[3].as_str()],
        "deleted users left the group's SCIM view"
    );

    // Rejected: the member stays, and Okta's next PUT repeating
    // `active: false` does not take it out after all.
    let rejected = app.cli(&[
        "held",
        "reject",
        "--tenant",
        "acme",
        &held[0].id.to_string(),
    ]);
    assert!(
        rejected.starts_with("rejected 1 held removals"),
        "{rejected}"
    );
    assert_eq!(in_team(&app, &ids[0]), Some(true));
    let mut again = user_body("user0@acme.example");
    again["active"] = json!(false);
    let (status, _) = json(app.put(&format!("/Users/{}", ids[0]), &again).await).await;
    assert_eq!(status, 200);
    assert_eq!(in_team(&app, &ids[0]), Some(true));
    assert_eq!(self::held(&app).len(), 3, "nothing new held");

    // A held DELETE approved in delete mode purges.
    let approved = app.cli(&[
        "held",
        "approve",
        "--tenant",
        "acme",
        &held[1].id.to_string(),
    ]);
    assert!(
        approved.starts_with("approved 1 held removals"),
        "{approved}"
    );
    assert_eq!(in_team(&app, &ids[1]), None, "purged");

    // In deactivate mode a held DELETE deactivates and leaves its subteams;
    // a held deactivation only deactivates (its subteams wait, dormant).
    app.set_policy(|p| p.deprovisioning = Deprovisioning::Deactivate);
    let approved = app.cli(&["held", "approve", "--tenant", "acme", "--all"]);
    assert!(
        approved.starts_with("approved 2 held removals"),
        "{approved}"
    );
    assert_eq!(in_team(&app, &ids[2]), Some(false));
    assert_eq!(subteam_rows(&app, &ids[2]), 0);
    assert_eq!(in_team(&app, &ids[3]), Some(false));
    assert_eq!(subteam_rows(&app, &ids[3]), 1);
    assert!(self::held(&app).is_empty());

    assert_eq!(
        logged_operations(&app, &ids[0]),
        ["create", "held", "rejected", "update"]
    );
    assert_eq!(
        logged_operations(&app, &ids[2]),
        ["create", "held", "approved"]
    );
    assert_eq!(
        logged_operations(&app, &ids[3]),
        ["create", "held", "approved"]
    );
    // Unknown ids are refused, and nothing is decided.
    let output = common::cli_output(
        &app.database_url,
        &["held", "approve", "--tenant", "acme", "999"],
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no held removal 999"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn the_idp_taking_a_removal_back_ends_its_hold(backend: Backend) {
    let sink = SmtpSink::start(0);
    let Some(app) = TestApp::spawn_mailing(backend, &sink).await else {
        return;
    };
    app.set_policy(|p| p.removal_guard = Some(RemovalGuard::Count(0)));
    let ids = create_users(&app, "user", 2).await;
    let group = app.create_group("Sales", &[ids[1].as_str()]).await;

    deactivate(&app, &ids[0]).await;
    assert_eq!(held(&app).len(), 1);
    let body = patch_body(json!([{"op": "replace", "value": {"active": true}}]));
    let (status, _) = json(app.patch(&format!("/Users/{}", ids[0]), &body).await).await;
    assert_eq!(status, 200);
    assert!(held(&app).is_empty(), "active: true ends the hold");
    assert_eq!(in_team(&app, &ids[0]), Some(true));

    delete(&app, &ids[1]).await;
    assert_eq!(get_status(&app, &ids[1]).await, 404);
    let (_, body) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert!(
        body["members"].as_array().is_none_or(Vec::is_empty),
        "{body}"
    );
    // Created again: the same member, back in its group.
    let (status, body) = json(app.post("/Users", &user_body("user1@acme.example")).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], ids[1].as_str());
    assert!(held(&app).is_empty(), "the POST ends the hold");
    assert_eq!(in_team(&app, &ids[1]), Some(true));
    let (_, body) = json(app.get(&format!("/Groups/{group}")).await).await;
    assert_eq!(body["members"][0]["value"], ids[1].as_str(), "{body}");
    let conn = &mut *app.pool.get().unwrap();
    let events = scimd::store::activity::since(&app.acme(), conn, None).unwrap();
    let taken_back = events
        .iter()
        .filter(|e| e.detail.as_deref().is_some_and(|d| d.contains("took back")))
        .count();
    assert_eq!(taken_back, 2, "both writes say they took a removal back");
}

for_each_backend!(
    removals_up_to_the_limit_all_go_through,
    a_count_guard_holds_exactly_the_excess_and_emails_the_admins_once,
    a_percentage_guard_counts_the_team_as_the_run_began,
    approve_and_reject_do_what_they_say,
    the_idp_taking_a_removal_back_ends_its_hold,
);

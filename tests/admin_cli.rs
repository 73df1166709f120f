//! The operator's CLI through the real binary, on both backends: tenants,
//! tokens, the outbox, and what an upgrade does to data the new rules refuse.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestApp, cli_output, json, scratch_database};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use reqwest::Method;
use scimd::admin;
use scimd::store::schema::{
    api_tokens, members, outbox, provisioning_events, subteams, tenant_policies,
};
use serde_json::{Value, json};

/// The binary's (success, stdout, stderr).
fn run(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = cli_output(database_url, args);
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn tenant_id(app: &TestApp, name: &str) -> String {
    admin::find_tenant(&mut app.pool.get().unwrap(), name)
        .unwrap()
        .id
}

async fn tenants_are_unique_ignoring_case_renamed_and_deleted(app: TestApp) {
    let url = app.database_url.clone();
    let (ok, _, err) = run(&url, &["tenant", "create", "ACME"]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&url, &["tenant", "create", "  "]);
    assert!(!ok);
    assert!(err.contains("must not be empty"), "{err}");

    let id = tenant_id(&app, "acme");
    app.set_policy(|p| p.invites = true);
    app.cli(&["tenant", "rename", "Acme", "Acme Corp"]);
    let listed = app.cli(&["tenant", "list"]);
    assert!(listed.contains(&format!("{id}\tAcme Corp\t")), "{listed}");
    // Named by its id or by its name in any case.
    app.cli(&["token", "list", "--tenant", &id]);
    app.cli(&["token", "list", "--tenant", "ACME CORP"]);
    let (ok, _, err) = run(&url, &["token", "list", "--tenant", "acme"]);
    assert!(!ok);
    assert!(
        err.contains("no tenant with the name or id \"acme\""),
        "{err}"
    );

    let user = app.create_user("ann@acme.example").await;
    app.create_group("Sales", &[&user]).await;
    assert_eq!(app.get("/Users").await.status(), 200);

    assert!(
        rows_of(&app, &id).iter().all(|&n| n > 0),
        "{:?}",
        rows_of(&app, &id)
    );
    let (ok, _, err) = run(&url, &["tenant", "delete", "acme corp"]);
    assert!(!ok, "deleting needs --yes");
    assert!(err.contains("--yes"), "{err}");
    app.cli(&["tenant", "delete", "acme corp", "--yes"]);
    assert_eq!(app.get("/Users").await.status(), 401);
    assert_eq!(rows_of(&app, &id), [0, 0, 0, 0, 0, 0]);
}

/// The tenant's rows in tokens, members, groups, activity, policies, outbox.
fn rows_of(app: &TestApp, id: &str) -> [i64; 6] {
    let conn = &mut *app.pool.get().unwrap();
    [
        api_tokens::table
            .filter(api_tokens::tenant_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        members::table
            .filter(members::tenant_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        subteams::table
            .filter(subteams::tenant_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        provisioning_events::table
            .filter(provisioning_events::tenant_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        tenant_policies::table
            .filter(tenant_policies::tenant_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
        outbox::table
            .filter(outbox::tenant_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap(),
    ]
}

async fn token_labels_are_unique_among_active_tokens_and_revocable_by_label(app: TestApp) {
    let url = app.database_url.clone();
    let token = app.cli(&["token", "issue", "--tenant", "acme", "--label", "okta"]);
    let token = token.trim();
    let (ok, _, err) = run(
        &url,
        &["token", "issue", "--tenant", "acme", "--label", "okta"],
    );
    assert!(!ok);
    assert!(
        err.contains("already has an active token labelled \"okta\""),
        "{err}"
    );

    // The listing shows the token's public start, enough to match a leak.
    let listed = app.cli(&["token", "list", "--tenant", "acme"]);
    let (lookup, _) = token.rsplit_once('_').unwrap();
    assert!(
        listed.contains(&format!("\tokta\t{lookup}_…\t")),
        "{listed}"
    );
    assert!(!listed.contains(token), "never the secret");

    let as_okta = |method| app.request_as(token, method, "/Users", None);
    assert_eq!(as_okta(Method::GET).await.status(), 200);
    let (ok, _, err) = run(&url, &["token", "revoke", "okta"]);
    assert!(!ok, "a label needs its tenant");
    assert!(err.contains("no active token \"okta\""), "{err}");
    app.cli(&["token", "revoke", "okta", "--tenant", "acme"]);
    let (status, _) = json(as_okta(Method::GET).await).await;
    assert_eq!(status, 401);

    // A revoked token's label is free again; revoking by id still works.
    app.cli(&["token", "issue", "--tenant", "acme", "--label", "okta"]);
    let listed = app.cli(&["token", "list", "--tenant", "acme"]);
    let active_okta = listed
        .lines()
        .find(|line| line.contains("\tokta\t") && line.ends_with("\t-"))
        .unwrap();
    let id = active_okta.split('\t').next().unwrap();
    app.cli(&["token", "revoke", id]);
    let (ok, _, _) = run(&url, &["token", "revoke", id]);
    assert!(!ok, "revoking twice is reported");
}

async fn outbox_lists_retries_and_purges(app: TestApp) {
    app.set_policy(|p| p.invites = true);
    app.create_user("ann@acme.example").await;
    app.create_user("bo@acme.example").await;
    app.create_user("cy@acme.example").await;
    let listed = app.cli(&["outbox", "list", "--tenant", "acme"]);
    let ids: Vec<i64> = listed
        .lines()
        .skip(1)
        .map(|line| line.split('\t').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{listed}");
    assert!(listed.contains("\tqueued, next attempt 20"), "{listed}");

    // One given up on, one sent long ago, one sent just now.
    let long_ago = "2020-01-01T00:00:00.000000Z";
    {
        let conn = &mut *app.pool.get().unwrap();
        let row = |seq| outbox::table.filter(outbox::seq.eq(seq));
        diesel::update(row(ids[0]))
            .set((outbox::failed_at.eq(long_ago), outbox::attempts.eq(8)))
            .execute(conn)
            .unwrap();
        diesel::update(row(ids[1]))
            .set(outbox::sent_at.eq(long_ago))
            .execute(conn)
            .unwrap();
        diesel::update(row(ids[2]))
            .set(outbox::sent_at.eq(scimd::scim::time::now()))
            .execute(conn)
            .unwrap();
    }
    let listed = app.cli(&["outbox", "list", "--tenant", "acme"]);
    assert!(listed.contains(&format!("gave up {long_ago}")), "{listed}");

    let given_up = ids[0].to_string();
    app.cli(&["outbox", "retry", "--tenant", "acme", &given_up]);
    let listed = app.cli(&["outbox", "list", "--tenant", "acme"]);
    let line = listed
        .lines()
        .find(|l| l.starts_with(&format!("{given_up}\t")))
        .unwrap();
    assert!(line.contains("queued, next attempt"), "{line}");
    let sent = ids[1].to_string();
    let (ok, _, err) = run(
        &app.database_url,
        &["outbox", "retry", "--tenant", "acme", &sent],
    );
    assert!(!ok, "a sent email is not retried");
    assert!(err.contains("no unsent email"), "{err}");

    let (ok, _, err) = run(
        &app.database_url,
        &["outbox", "purge", "--tenant", "acme", "--older-than", "30d"],
    );
    assert!(!ok);
    assert!(err.contains("--sent, --failed"), "{err}");
    let said = app.cli(&[
        "outbox",
        "purge",
        "--tenant",
        "acme",
        "--sent",
        "--older-than",
        "30d",
    ]);
    assert!(said.contains("purged 1 emails"), "{said}");
    let conn = &mut *app.pool.get().unwrap();
    let left: Vec<i64> = outbox::table
        .select(outbox::seq)
        .order(outbox::seq)
        .load(conn)
        .unwrap();
    assert_eq!(left, [ids[0], ids[2]], "only the old sent email went");
}

async fn members_are_found_listed_and_never_duplicated_by_email(app: TestApp) {
    let url = app.database_url.clone();
    let (ok, _, err) = run(
        &url,
        &[
            "member",
            "add",
            "--tenant",
            "acme",
            "--email",
            "not-an-email",
        ],
    );
    assert!(!ok);
    assert!(err.contains("is not an email address"), "{err}");
    let dana = app.cli(&[
        "member",
        "add",
        "--tenant",
        "acme",
        "--email",
        "dana@acme.example",
    ]);
    let dana = dana.trim();
    let (ok, _, err) = run(
        &url,
        &[
            "member",
            "add",
            "--tenant",
            "acme",
            "--email",
            " Dana@Acme.example",
        ],
    );
    assert!(!ok, "one person, one member");
    assert!(
        err.contains(&format!("already the email of member {dana}")),
        "{err}"
    );
    let ann = app.create_user("ann@acme.example").await;

    // Show by id, userName or email, in any case.
    for reference in [ann.as_str(), "ANN@acme.example"] {
        let shown: Value =
            serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", reference]))
                .unwrap();
        assert_eq!(shown["id"], ann.as_str());
    }
    let shown: Value = serde_json::from_str(&app.cli(&[
        "member",
        "show",
        "--tenant",
        "acme",
        "DANA@acme.example",
    ]))
    .unwrap();
    assert_eq!(shown["id"], dana);
    assert_eq!(shown["provisioned"], false);

    // Listed a page at a time, or by email or userName.
    let (ok, first_page, more) = run(
        &url,
        &["member", "list", "--tenant", "acme", "--per-page", "1"],
    );
    assert!(ok);
    assert_eq!(first_page.lines().count(), 2, "{first_page}");
    assert!(
        first_page.lines().nth(1).unwrap().starts_with(dana),
        "{first_page}"
    );
    assert!(more.contains("--page 2"), "{more}");
    let second = app.cli(&[
        "member",
        "list",
        "--tenant",
        "acme",
        "--per-page",
        "1",
        "--page",
        "2",
    ]);
    assert!(second.lines().nth(1).unwrap().starts_with(&ann), "{second}");
    let by_email = app.cli(&[
        "member",
        "list",
        "--tenant",
        "acme",
        "--email",
        "ANN@ACME.example",
    ]);
    assert_eq!(by_email.lines().count(), 2, "{by_email}");
    assert!(
        by_email.contains(&format!("{ann}\tann@acme.example\tann@acme.example\t")),
        "{by_email}"
    );
    let by_user_name = app.cli(&[
        "member",
        "list",
        "--tenant",
        "acme",
        "--user-name",
        "nobody@x.example",
    ]);
    assert_eq!(by_user_name.lines().count(), 1, "{by_user_name}");

    // A duplicate from before the rule is reported, never merged.
    assert!(
        app.cli(&["member", "duplicates", "--tenant", "acme"])
            .contains("no email is shared")
    );
    let twin = "twin-of-dana";
    {
        let conn = &mut *app.pool.get().unwrap();
        let tenant = tenant_id(&app, "acme");
        diesel::connection::SimpleConnection::batch_execute(
            conn,
            &format!(
                "INSERT INTO members (id, tenant_id, active, created_at, updated_at, version, in_team) \
                 VALUES ('{twin}', '{tenant}', TRUE, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1, TRUE); \
                 INSERT INTO member_emails (member_id, tenant_id, value_lower) VALUES ('{twin}', '{tenant}', 'dana@acme.example');"
            ),
        )
        .unwrap();
    }
    let duplicates = app.cli(&["member", "duplicates", "--tenant", "acme"]);
    assert_eq!(
        duplicates.trim(),
        format!("dana@acme.example\t{dana} {twin}")
    );
    let (ok, _, err) = run(
        &url,
        &["member", "show", "--tenant", "acme", "dana@acme.example"],
    );
    assert!(!ok);
    assert!(err.contains("names 2 members"), "{err}");
    let shown: Value =
        serde_json::from_str(&app.cli(&["member", "show", "--tenant", "acme", twin])).unwrap();
    assert_eq!(shown["id"], twin, "an id is never ambiguous");
}

async fn policy_shows_every_field_rule_and_refuses_bad_contacts(app: TestApp) {
    let shown: Value =
        serde_json::from_str(&app.cli(&["policy", "show", "--tenant", "acme"])).unwrap();
    let fields = shown["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 8, "{shown}");
    assert_eq!(
        fields["job_title"],
        json!({"sync": true, "overwrite": true})
    );
    let (ok, _, err) = run(
        &app.database_url,
        &[
            "policy",
            "set",
            "--tenant",
            "acme",
            "--admin-contact",
            "it at acme",
        ],
    );
    assert!(!ok);
    assert!(err.contains("is not an email address"), "{err}");
    let set: Value = serde_json::from_str(&app.cli(&[
        "policy",
        "set",
        "--tenant",
        "acme",
        "--overwrite",
        "phone=off",
        "--admin-contact",
        "it@acme.example",
    ]))
    .unwrap();
    assert_eq!(
        set["fields"]["phone"],
        json!({"sync": true, "overwrite": false})
    );
    assert_eq!(
        set["fields"]["email"],
        json!({"sync": true, "overwrite": true})
    );
    assert_eq!(set["admin_contacts"], json!(["it@acme.example"]));
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// The first migration with the uniqueness rules for tenant names and token labels.
const UNIQUE_NAMES: &str = "20261126000008";

/// Brings a database to the schema before `UNIQUE_NAMES`, as an older
/// binary left it. (A macro: each embedded source is a constant that a
/// migration run consumes.)
macro_rules! migrate_before_unique_names {
    ($conn:expr, $source:expr) => {
        while let Some(next) = $conn.pending_migrations($source).unwrap().first() {
            if next.name().version().to_string().as_str() >= UNIQUE_NAMES {
                break;
            }
            $conn.run_next_migration($source).unwrap();
        }
    };
}

const OLD_DATA: &str = "
    INSERT INTO tenants (id, name, created_at) VALUES
        ('11111111-aaaa', 'acme', '2026-01-01T00:00:00.000000Z'),
        ('22222222-bbbb', 'ACME', '2026-01-02T00:00:00.000000Z'),
        ('33333333-cccc', '', '2026-01-03T00:00:00.000000Z');
    INSERT INTO api_tokens (id, tenant_id, label, lookup_prefix, secret_hash, created_at) VALUES
        ('t1aaaaaa-0001', '11111111-aaaa', 'okta', 'AAAAAAAAAAA1', 'x', '2026-01-01T00:00:00.000000Z'),
        ('t2bbbbbb-0002', '11111111-aaaa', 'okta', 'AAAAAAAAAAA2', 'x', '2026-01-02T00:00:00.000000Z');
";

fn upgrade_renames_what_the_new_rules_refuse(backend: Backend) {
    let Some((url, _scratch)) = scratch_database(backend) else {
        return;
    };
    match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(&url).unwrap();
            migrate_before_unique_names!(conn, SQLITE_MIGRATIONS);
            diesel::connection::SimpleConnection::batch_execute(&mut conn, OLD_DATA).unwrap();
        }
        Backend::Postgres => {
            let mut conn = PgConnection::establish(&url).unwrap();
            migrate_before_unique_names!(conn, POSTGRES_MIGRATIONS);
            diesel::connection::SimpleConnection::batch_execute(&mut conn, OLD_DATA).unwrap();
        }
    }
    let (ok, listed, said) = run(&url, &["tenant", "list"]);
    assert!(ok, "the upgrade never fails on old duplicates: {said}");
    assert!(listed.contains("11111111-aaaa\tacme\t"), "{listed}");
    assert!(
        listed.contains("22222222-bbbb\tACME-22222222\t"),
        "{listed}"
    );
    assert!(
        listed.contains("33333333-cccc\ttenant-33333333\t"),
        "{listed}"
    );
    assert!(
        said.contains("upgrade: tenant 22222222-bbbb renamed from \"ACME\" to \"ACME-22222222\""),
        "{said}"
    );
    assert!(
        said.contains("renamed from \"\" to \"tenant-33333333\""),
        "{said}"
    );
    assert!(
        said.contains("token t2bbbbbb-0002 of tenant 11111111-aaaa relabelled from \"okta\" to \"okta-t2bbbbbb\""),
        "{said}"
    );
    // Said once, then the rules hold.
    let (_, _, said_again) = run(&url, &["tenant", "list"]);
    assert!(!said_again.contains("upgrade:"), "{said_again}");
    let (ok, _, _) = run(&url, &["tenant", "create", "Acme"]);
    assert!(!ok);
}

#[test]
fn upgrade_renames_what_the_new_rules_refuse_sqlite() {
    upgrade_renames_what_the_new_rules_refuse(Backend::Sqlite);
}

#[test]
fn upgrade_renames_what_the_new_rules_refuse_postgres() {
    upgrade_renames_what_the_new_rules_refuse(Backend::Postgres);
}

on_both_backends!(
    tenants_are_unique_ignoring_case_renamed_and_deleted,
    token_labels_are_unique_among_active_tokens_and_revocable_by_label,
    outbox_lists_retries_and_purges,
    members_are_found_listed_and_never_duplicated_by_email,
    policy_shows_every_field_rule_and_refuses_bad_contacts,
);

//! The database misbehaving: processes migrating one database at once, a
//! schema newer than the binary, a database that is down, slow or full.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::process::{Server, scimd, server_dirs};
use common::{Backend, scratch_database};
use diesel::prelude::*;

/// `scimd migrate` processes started together, each for itself.
fn migrate_at_once(url: &str, count: usize) -> Vec<Output> {
    let children: Vec<_> = (0..count)
        .map(|_| {
            scimd(Path::new("."))
                .args(["--database-url", url, "migrate"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

diesel::table! {
    /// diesel's record of the migrations applied.
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

/// The versions recorded as applied, in order.
fn applied_versions(url: &str) -> Vec<String> {
    let pool = scimd::store::db::connect(url, 1).unwrap();
    let conn = &mut *pool.get().unwrap();
    __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .order(__diesel_schema_migrations::version.asc())
        .load(conn)
        .unwrap()
}

/// Four `scimd migrate` on one empty database: every one succeeds, and each
/// migration is applied once.
fn migrations_take_turns(backend: Backend) {
    let Some((url, _scratch)) = scratch_database(backend) else {
        return;
    };
    for output in migrate_at_once(&url, 4) {
        assert!(
            output.status.success(),
            "{backend:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let folder = match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let versions = applied_versions(&url);
    assert_eq!(
        versions.len(),
        std::fs::read_dir(folder).unwrap().count(),
        "{backend:?}: every migration applied: {versions:?}"
    );
    assert_eq!(
        versions.last().unwrap(),
        &scimd::store::db::schema_version()
    );
}

#[test]
fn four_migrations_at_once_on_one_new_sqlite_file() {
    migrations_take_turns(Backend::Sqlite);
}

#[test]
fn four_migrations_at_once_on_one_empty_postgres_schema() {
    migrations_take_turns(Backend::Postgres);
}

/// A migration no scimd has yet: what a newer binary would have left.
const FUTURE_VERSION: &str = "20991231000099";

/// A database a newer scimd migrated: this one refuses to serve it, naming
/// both schema versions, unless told to go ahead.
fn a_newer_schema_is_refused_unless_allowed(backend: Backend) {
    let Some((url, _scratch)) = scratch_database(backend) else {
        return;
    };
    {
        let pool = scimd::store::db::connect(&url, 1).unwrap();
        diesel::insert_into(__diesel_schema_migrations::table)
            .values(__diesel_schema_migrations::version.eq(FUTURE_VERSION))
            .execute(&mut *pool.get().unwrap())
            .unwrap();
    }
    let binary = scimd::store::db::schema_version();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_root, dirs) = server_dirs(3);

    let mut refused = Server::spawn(&dirs[0], &url, &[], &[]);
    let problem = runtime
        .block_on(refused.ready(Duration::from_secs(20)))
        .unwrap_err();
    assert!(problem.contains("exited"), "{backend:?}: {problem}");
    assert!(
        problem.contains(&format!(
            "the database's schema ({FUTURE_VERSION}) is newer than this scimd's ({binary})"
        )),
        "{backend:?}: {problem}"
    );
    assert!(problem.contains("--allow-newer-schema"), "{problem}");

    for (dir, args, env) in [
        (&dirs[1], &["--allow-newer-schema"][..], &[][..]),
        (
            &dirs[2],
            &[][..],
            &[("SCIMD_ALLOW_NEWER_SCHEMA", "true")][..],
        ),
    ] {
        let mut allowed = Server::spawn(dir, &url, args, env);
        runtime
            .block_on(allowed.ready(Duration::from_secs(20)))
            .unwrap();
        let output = allowed.stop();
        assert!(
            output
                .stderr
                .contains("the database was migrated by a newer scimd"),
            "{backend:?}: {}",
            output.stderr
        );
        assert!(output.stderr.contains(FUTURE_VERSION), "{}", output.stderr);
    }
}

#[test]
fn a_newer_sqlite_schema_is_refused_unless_allowed() {
    a_newer_schema_is_refused_unless_allowed(Backend::Sqlite);
}

#[test]
fn a_newer_postgres_schema_is_refused_unless_allowed() {
    a_newer_schema_is_refused_unless_allowed(Backend::Postgres);
}

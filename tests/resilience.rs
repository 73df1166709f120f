//! The database misbehaving: processes migrating one database at once, a
//! schema newer than the binary, a database that is down, slow or full.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::process::scimd;
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

/// The versions recorded as applied, in order, duplicates kept.
fn applied_versions(url: &str) -> Vec<String> {
    diesel::table! {
        __diesel_schema_migrations (version) {
            version -> Text,
        }
    }
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

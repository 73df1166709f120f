//! scimd itself: the release binary, a fresh database, a tenant and a token
//! made with the CLI, then `scimd serve`.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

use super::{Server, Storage, free_port, run};

/// The binary the bench profile built (optimised like a release build).
const SCIMD: &str = env!("CARGO_BIN_EXE_scimd");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A schema made for one run in an existing PostgreSQL database; dropped
/// when this value is.
pub struct PostgresSchema {
    admin_url: String,
    name: String,
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

impl PostgresSchema {
    fn create(admin_url: &str) -> anyhow::Result<PostgresSchema> {
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        connect(admin_url)?.batch_execute(&format!("CREATE SCHEMA {name}"))?;
        Ok(PostgresSchema {
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// The URL scimd gets: the same database, with this schema first on the search path.
    fn url(&self) -> String {
        let separator = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.admin_url, self.name
        )
    }

    /// Tables, indexes and TOAST of every table in the schema.
    pub fn size(&self) -> anyhow::Result<u64> {
        let size: Size = diesel::sql_query(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS bytes \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind = 'r'",
        )
        .bind::<Text, _>(&self.name)
        .get_result(&mut connect(&self.admin_url)?)?;
        Ok(u64::try_from(size.bytes).unwrap_or(0))
    }

    /// What autovacuum would soon do after a bulk load: gather the
    /// statistics the planner needs to see that a `userName` lookup is
    /// selective. Done only when autovacuum is off (as on the development
    /// machines); returns a note saying so.
    pub fn analyze_if_no_autovacuum(&self) -> anyhow::Result<Option<String>> {
        let conn = &mut connect(&self.admin_url)?;
        let setting: Name =
            diesel::sql_query("SELECT setting AS name FROM pg_settings WHERE name = 'autovacuum'")
                .get_result(conn)?;
        if setting.name == "on" {
            return Ok(None);
        }
        let tables: Vec<Name> =
            diesel::sql_query("SELECT tablename AS name FROM pg_tables WHERE schemaname = $1")
                .bind::<Text, _>(&self.name)
                .load(conn)?;
        for table in tables {
            // Names from the catalogue, quoted; no client input.
            conn.batch_execute(&format!(
                "ANALYZE \"{}\".\"{}\"",
                self.name,
                table.name.replace('"', "\"\"")
            ))?;
        }
        Ok(Some(
            "autovacuum is off on this PostgreSQL: ANALYZE ran after the initial sync, as autovacuum would".into(),
        ))
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        match connect(&self.admin_url) {
            Ok(mut conn) => {
                if let Err(error) =
                    conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                {
                    eprintln!("could not drop schema {}: {error}", self.name);
                }
            }
            Err(error) => eprintln!("could not drop schema {}: {error}", self.name),
        }
    }
}

fn connect(url: &str) -> anyhow::Result<PgConnection> {
    PgConnection::establish(url).with_context(|| format!("connecting to {url}"))
}

/// Starts scimd on a fresh database, with a tenant and a token made through its CLI.
pub fn start(backend: Backend, postgres_url: &str, logs: &Path) -> anyhow::Result<Server> {
    let scratch = tempfile::tempdir()?;
    let (database_url, storage) = match backend {
        Backend::Sqlite => {
            let path = scratch.path().join("scimd.db");
            (path.display().to_string(), Storage::Sqlite(path))
        }
        Backend::Postgres => {
            let schema = PostgresSchema::create(postgres_url)?;
            (schema.url(), Storage::Postgres(schema))
        }
    };
    let cli = |args: &[&str]| {
        run(Command::new(SCIMD)
            .arg("--database-url")
            .arg(&database_url)
            .args(args))
    };
    cli(&["tenant", "create", "bench"])?;
    let token = cli(&["token", "issue", "--tenant", "bench", "--label", "bench"])?
        .trim()
        .to_owned();
    let port = free_port()?;
    let log = logs.join(format!("scimd-{}.log", backend.label().to_lowercase()));
    let child = Server::spawn(
        Command::new(SCIMD)
            .arg("--database-url")
            .arg(&database_url)
            .arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--admin-bind", "off"]),
        &log,
    )?;
    Ok(Server {
        name: format!("scimd ({})", backend.label()),
        is_scimd: true,
        base: format!("http://127.0.0.1:{port}/api/external/scim/v2"),
        token,
        health: Some(format!("http://127.0.0.1:{port}/healthz")),
        storage,
        log,
        child,
        _scratch: Some(scratch),
    })
}

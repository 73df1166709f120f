//! Connection handling: one diesel model over SQLite and PostgreSQL, the
//! backend picked from the URL scheme (never by trial, since SQLite accepts
//! any string as a file name).

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::{ConnectionError, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::store::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// `sqlite://path`, `sqlite:path` and a bare path all name a SQLite file.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url)?;
                // diesel prepares every statement once per connection. A generic
                // plan made while a table was small (e.g. the start of a large
                // import, before autovacuum's next ANALYZE) can scan a partial
                // index of the whole tenant for a lookup by id; planning each
                // execution with its values costs microseconds and never does.
                conn.batch_execute("SET plan_cache_mode = force_custom_plan")
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Postgres(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.url))?;
                // Per-connection settings: SQLite does not persist these in the file.
                // LIKE must match case as PostgreSQL's does: case-insensitive
                // attributes are compared through lower-cased columns already.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledDb = PooledConnection<ConnectionManager>;

/// Opens a pool and brings the schema up to date.
pub fn connect(url: &str, pool_size: u32) -> Result<DbPool, StoreError> {
    let backend = Backend::from_url(url);
    let manager = ConnectionManager {
        url: url.to_owned(),
        backend,
    };
    let pool = Pool::builder()
        .max_size(pool_size)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut conn = pool
        .get()
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    migrate(&mut conn)?;
    Ok(pool)
}

pub fn migrate(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => {
            // WAL persists in the file: readers never block the writer.
            c.batch_execute("PRAGMA journal_mode = WAL;")?;
            c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ())
        }
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

/// The notes migrations left for the operator (e.g. duplicates renamed by
/// an upgrade), removed as they are read so each is shown once.
pub fn take_upgrade_notices(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    use crate::store::schema::upgrade_notices;
    write_transaction(conn, |conn| {
        let notices: Vec<(i64, String)> = upgrade_notices::table
            .order(upgrade_notices::seq.asc())
            .select((upgrade_notices::seq, upgrade_notices::message))
            .load(conn)?;
        if let Some((last, _)) = notices.last() {
            diesel::delete(upgrade_notices::table.filter(upgrade_notices::seq.le(last)))
                .execute(conn)?;
        }
        Ok(notices.into_iter().map(|(_, message)| message).collect())
    })
}

/// Runs `f` in one write transaction. On SQLite it is `BEGIN IMMEDIATE`, so
/// the write lock is taken up front and waits on `busy_timeout` instead of
/// failing when a read transaction would have to upgrade.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return conn.transaction(f);
    }
    if let DbConnection::Sqlite(c) = conn {
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    }
    let outcome = f(conn);
    let DbConnection::Sqlite(c) = conn else {
        unreachable!("backend checked above")
    };
    match outcome {
        Ok(value) => match AnsiTransactionManager::commit_transaction(c) {
            Ok(()) => Ok(value),
            Err(commit_err) => {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                Err(commit_err.into())
            }
        },
        Err(err) => {
            AnsiTransactionManager::rollback_transaction(c)?;
            Err(err)
        }
    }
}

/// Runs a statement on the concrete connection, for the statements
/// `MultiConnection` cannot dispatch (multi-row inserts).
macro_rules! on_concrete_connection {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::db::DbConnection::Postgres($c) => $body,
            $crate::store::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_concrete_connection;

/// r2d2's error type, re-exported for callers that map pool failures.
pub type PoolError = r2d2::PoolError;

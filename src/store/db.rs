//! Connection handling: one diesel model over SQLite and PostgreSQL, the
//! backend picked from the URL scheme (never by trial, since SQLite accepts
//! any string as a file name).

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::sqlite::Sqlite;
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

/// Refuses a URL of another database (`mysql://…`), which SQLite would
/// otherwise take for a file name.
pub fn check_url(url: &str) -> Result<Backend, String> {
    if let Some((scheme, _)) = url.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "sqlite" | "postgres" | "postgresql"
        )
    {
        return Err(format!(
            "unsupported database URL scheme {scheme:?}: use a file path, sqlite://… or postgres://…"
        ));
    }
    Ok(Backend::from_url(url))
}

/// The SQLite file a URL names; `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if Backend::from_url(url) != Backend::Sqlite {
        return None;
    }
    let path = sqlite_path(url);
    (path != ":memory:" && !path.is_empty())
        .then(|| std::path::absolute(path).unwrap_or_else(|_| path.into()))
}

/// The database as it may be logged: the SQLite file's absolute path, or the
/// PostgreSQL URL without its password.
pub fn describe(url: &str) -> String {
    if let Some(path) = sqlite_file(url) {
        return format!("SQLite {}", path.display());
    }
    if Backend::from_url(url) == Backend::Sqlite {
        return format!("SQLite {url}");
    }
    let (head, query) = url.split_once('?').unwrap_or((url, ""));
    let (scheme, rest) = head.split_once("://").unwrap_or(("postgres", head));
    let rest = match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}@{host}"),
            None => rest.to_owned(),
        },
        None => rest.to_owned(),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && !key.to_ascii_lowercase().contains("password")
        })
        .collect();
    if kept.is_empty() {
        format!("PostgreSQL {scheme}://{rest}")
    } else {
        format!("PostgreSQL {scheme}://{rest}?{}", kept.join("&"))
    }
}

/// libpq's messages span lines (a cause, then a hint): one line for a log or
/// a terminal.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Pool connection failures after start: one warning each, through
/// `tracing` (r2d2's default handler logs each at ERROR through `log`).
#[derive(Debug)]
struct WarnOnError;

impl r2d2::HandleError<ConnectionError> for WarnOnError {
    fn handle_error(&self, error: ConnectionError) {
        let error = one_line(&error.to_string());
        // The pool retries a connection many times a second while the
        // database is down.
        if let Some(repeated) = crate::repeats::admit(&error) {
            tracing::warn!(%error, repeated, "database connection failed");
        }
    }
}

pub struct ConnectionManager {
    url: String,
    backend: Backend,
    /// The bound on one statement (PostgreSQL) or on waiting for SQLite's
    /// write lock; `None` for the migrating connection, which may wait for
    /// another process's migrations and runs migrations of any length.
    statement_timeout: Option<Duration>,
    /// SQLite: the cap on the file's size in MiB (0: none); not for the
    /// migrating connection.
    sqlite_max_size_mb: u64,
}

/// How long a SQLite connection without a statement bound (migrating, or
/// a one-shot command's) waits for another connection's write lock.
const SQLITE_UNBOUNDED_WAIT: Duration = Duration::from_secs(60);

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
                if let Some(timeout) = self.statement_timeout {
                    diesel::sql_query("SELECT set_config('statement_timeout', $1, false)")
                        .bind::<diesel::sql_types::Text, _>(format!("{}ms", timeout.as_millis()))
                        .execute(&mut conn)
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                }
                Ok(DbConnection::Postgres(conn))
            }
            Backend::Sqlite => Ok(DbConnection::Sqlite(open_sqlite(
                &self.url,
                self.statement_timeout.unwrap_or(SQLITE_UNBOUNDED_WAIT),
                self.sqlite_max_size_mb,
            )?)),
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

/// A SQLite connection with the settings SQLite keeps per connection, not
/// in the file:
/// - `busy_timeout`: how long a statement waits for another connection's
///   lock (another process's write) before failing as busy;
/// - `synchronous = FULL`: with WAL, a commit is synced to disk before it
///   returns, so an acknowledged write survives power loss, not only a
///   crash of the process (group commit pays one sync per batch);
/// - LIKE matches case as PostgreSQL's does (case-insensitive attributes are
///   compared through lower-cased columns already);
/// - a page cache of 16 MiB, so a team's indexes stay in memory;
/// - temporary files in memory: each request's savepoint in a group commit
///   keeps the pages it changes in a sub-journal, which would otherwise be
///   a file written page by page;
/// - a WAL file cut back to 64 MiB whenever it starts over, so a burst of
///   writes does not leave it large for good.
pub fn open_sqlite(
    url: &str,
    busy_timeout: Duration,
    max_size_mb: u64,
) -> Result<SqliteConnection, ConnectionError> {
    let mut conn = SqliteConnection::establish(sqlite_path(url))?;
    // A PRAGMA takes no bound parameter; this is a number from our settings.
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {};",
        busy_timeout.as_millis()
    ))
    .map_err(ConnectionError::CouldntSetupConfiguration)?;
    if max_size_mb > 0 {
        cap_sqlite_size(&mut conn, max_size_mb)
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
    }
    conn.batch_execute(
        "PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = FULL; PRAGMA case_sensitive_like = ON; \
         PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY; \
         PRAGMA journal_size_limit = 67108864;",
    )
    .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// SQLite's `max_page_count` (kept per connection, not in the file): a
/// write that would grow the file past `max_size_mb` fails as a full disk.
fn cap_sqlite_size(conn: &mut SqliteConnection, max_size_mb: u64) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct PageSize {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        page_size: i64,
    }
    let PageSize { page_size } =
        diesel::sql_query("SELECT page_size FROM pragma_page_size()").get_result(conn)?;
    let pages = max_size_mb.saturating_mul(1 << 20) / u64::try_from(page_size.max(1)).unwrap_or(1);
    // A PRAGMA takes no bound parameter; this is a number from our settings.
    conn.batch_execute(&format!("PRAGMA max_page_count = {pages};"))
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledDb = PooledConnection<ConnectionManager>;

/// Seconds libpq may take to reach the server (its minimum is 2), so an
/// address that drops packets fails as fast as a closed port and holds none
/// of the pool's connecting threads for long.
const CONNECT_TIMEOUT_SECS: u32 = 5;

/// `url` with libpq's `connect_timeout`, unless it sets one.
fn with_connect_timeout(url: &str, backend: Backend) -> String {
    match backend {
        Backend::Postgres if !url.contains("connect_timeout=") => {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}connect_timeout={CONNECT_TIMEOUT_SECS}")
        }
        _ => url.to_owned(),
    }
}

/// How a process uses its database.
#[derive(Debug, Clone)]
pub struct DbSettings {
    pub pool_size: u32,
    /// How long a request waits for a pooled connection before it is
    /// answered 503: short, so a database that is down fails fast.
    pub wait: Duration,
    /// The bound on one statement (PostgreSQL `statement_timeout`) and on
    /// waiting for another connection's lock (SQLite `busy_timeout`).
    /// `None`: a one-shot command, which may take as long as its work does
    /// (PostgreSQL: no bound; SQLite: a minute's wait for the lock).
    pub statement_timeout: Option<Duration>,
    /// SQLite: the cap on the database file's size in MiB, past which
    /// writes fail as on a full disk (0: none).
    pub sqlite_max_size_mb: u64,
    /// Start even when the database was migrated by a newer scimd (its
    /// schema has migrations this binary does not know), with a warning.
    pub allow_newer_schema: bool,
}

impl DbSettings {
    /// SQLite's `busy_timeout` under these settings.
    pub fn sqlite_busy_timeout(&self) -> Duration {
        self.statement_timeout.unwrap_or(SQLITE_UNBOUNDED_WAIT)
    }
}

impl Default for DbSettings {
    fn default() -> Self {
        DbSettings {
            pool_size: 8,
            wait: Duration::from_millis(1000),
            statement_timeout: Some(Duration::from_millis(5000)),
            sqlite_max_size_mb: 0,
            allow_newer_schema: false,
        }
    }
}

/// `connect_with` the default settings and `pool_size` connections (the
/// CLI's one-shot commands, tests).
pub fn connect(url: &str, pool_size: u32) -> Result<DbPool, StoreError> {
    connect_with(
        url,
        &DbSettings {
            pool_size,
            ..DbSettings::default()
        },
    )
}

/// Brings the schema up to date and opens a pool. The migrating connection
/// is made first, alone: a wrong address or a missing database fails at
/// once with its cause, rather than after the pool's time-out, and waiting
/// for another process's migrations is not bounded by it either.
pub fn connect_with(url: &str, settings: &DbSettings) -> Result<DbPool, StoreError> {
    let backend = check_url(url).map_err(StoreError::Unavailable)?;
    let with_timeout = with_connect_timeout(url, backend);
    let migrating = ConnectionManager {
        url: with_timeout.clone(),
        backend,
        statement_timeout: None,
        sqlite_max_size_mb: 0,
    };
    let mut first = migrating.connect().map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot connect to {}: {}",
            describe(url),
            one_line(&e.to_string())
        ))
    })?;
    migrate(&mut first, settings.allow_newer_schema)?;
    let pool = Pool::builder()
        .max_size(settings.pool_size)
        .connection_timeout(settings.wait)
        .error_handler(Box::new(WarnOnError))
        // Fills itself in the background: the first connection proved the
        // address, and a request waits `wait` at most for one.
        .build_unchecked(ConnectionManager {
            url: with_timeout,
            backend,
            statement_timeout: settings.statement_timeout,
            sqlite_max_size_mb: settings.sqlite_max_size_mb,
        });
    Ok(pool)
}

/// One connection, made when asked for and kept while it works, for
/// `/readyz`: a busy request pool does not make the instance look down.
/// Failures are not logged here; the probe's answer says them.
pub fn probe(url: &str, within: Duration) -> Result<DbPool, StoreError> {
    let backend = check_url(url).map_err(StoreError::Unavailable)?;
    Pool::builder()
        .max_size(1)
        .min_idle(Some(0))
        .connection_timeout(within)
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build(ConnectionManager {
            url: with_connect_timeout(url, backend),
            backend,
            statement_timeout: Some(within),
            sqlite_max_size_mb: 0,
        })
        .map_err(|e| StoreError::Unavailable(one_line(&e.to_string())))
}

/// The PostgreSQL advisory lock every scimd process takes around its
/// migrations; the key is an arbitrary constant ("scimd" in ASCII).
const MIGRATION_LOCK: &str = "SELECT pg_advisory_lock(495589092708)";
const MIGRATION_UNLOCK: &str = "SELECT pg_advisory_unlock(495589092708)";

/// Brings the schema up to date. Processes starting together (replicas on a
/// first deploy) take turns: on PostgreSQL behind a session advisory lock,
/// on SQLite inside one `BEGIN IMMEDIATE` transaction (the file's write
/// lock, waited for on `busy_timeout`). Whoever comes second finds nothing
/// left to do. A database a newer scimd has migrated is refused, unless
/// `allow_newer_schema`: this binary's queries may not fit its tables.
pub fn migrate(conn: &mut DbConnection, allow_newer_schema: bool) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(_) => migrate_sqlite(conn, allow_newer_schema),
        DbConnection::Postgres(c) => {
            c.batch_execute(MIGRATION_LOCK)?;
            let result = migrate_locked(c, POSTGRES_MIGRATIONS, allow_newer_schema);
            // A pooled connection must not keep the lock (it would also go
            // with the connection, were this to fail).
            c.batch_execute(MIGRATION_UNLOCK)?;
            result
        }
    }
}

/// SQLite: WAL mode (it persists in the file: readers never block the
/// writer), then the migrations in one write transaction. A process that
/// starts on a new file while another migrates it can be told "locked" at
/// once, without the busy handler (switching the journal mode needs the file
/// to itself): it waits and tries again, and then finds nothing to do.
fn migrate_sqlite(conn: &mut DbConnection, allow_newer_schema: bool) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = (|| {
            let DbConnection::Sqlite(c) = &mut *conn else {
                unreachable!("called for SQLite only")
            };
            c.batch_execute("PRAGMA journal_mode = WAL;")?;
            write_transaction(conn, |conn| {
                let DbConnection::Sqlite(c) = conn else {
                    unreachable!("called for SQLite only")
                };
                migrate_locked(c, SQLITE_MIGRATIONS, allow_newer_schema)
            })
        })();
        match attempt {
            Err(StoreError::Query(diesel::result::Error::DatabaseError(_, info)))
                if info.message() == "database is locked"
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            outcome => return outcome,
        }
    }
}

/// Checks the recorded schema against this binary's, then runs what is pending.
fn migrate_locked<DB, C>(
    conn: &mut C,
    migrations: EmbeddedMigrations,
    allow_newer_schema: bool,
) -> Result<(), StoreError>
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: MigrationSource<DB>,
{
    let newest_applied = conn
        .applied_migrations()
        .map_err(|e| StoreError::Migration(e.to_string()))?
        .into_iter()
        .map(|version| version.to_string())
        .max();
    let binary = schema_version();
    if let Some(database) = newest_applied.filter(|applied| *applied > binary) {
        if !allow_newer_schema {
            return Err(StoreError::NewerSchema { database, binary });
        }
        tracing::warn!(
            database_schema = %database,
            binary_schema = %binary,
            "the database was migrated by a newer scimd; running against it anyway \
             (--allow-newer-schema)"
        );
    }
    conn.run_pending_migrations(migrations)
        .map(|_| ())
        .map_err(|e| StoreError::Migration(e.to_string()))
}

/// The newest migration's version in one backend's embedded set.
fn newest_version<DB: diesel::backend::Backend>(
    migrations: &dyn MigrationSource<DB>,
) -> Option<String> {
    migrations
        .migrations()
        .ok()?
        .iter()
        .map(|migration| migration.name().version().to_string())
        .max()
}

/// The schema this binary brings a database to: the newest embedded
/// migration's version (both backends' sets end at the same one), as
/// diesel records it in `__diesel_schema_migrations`.
pub fn schema_version() -> String {
    let newest = newest_version::<Sqlite>(&SQLITE_MIGRATIONS)
        .into_iter()
        .chain(newest_version::<Pg>(&POSTGRES_MIGRATIONS))
        .max();
    newest.unwrap_or_else(|| "none".to_owned())
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
/// failing when a read transaction would have to upgrade. Inside a
/// transaction already open (the group-commit writer's batch) it is a
/// savepoint: `f`'s changes go, or stay, together.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(c) = conn else {
        return conn.transaction(f);
    };
    let open = AnsiTransactionManager::transaction_manager_status_mut(c)
        .transaction_depth()?
        .is_some();
    if open {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
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

#[cfg(test)]
mod tests {
    use super::{
        Backend, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, check_url, describe, newest_version,
        schema_version, sqlite_file,
    };
    use diesel::pg::Pg;
    use diesel::sqlite::Sqlite;

    #[test]
    fn both_backends_end_at_the_schema_version() {
        let version = schema_version();
        assert_eq!(version.len(), 14, "{version}");
        assert!(version.bytes().all(|b| b.is_ascii_digit()), "{version}");
        assert_eq!(
            newest_version::<Sqlite>(&SQLITE_MIGRATIONS),
            Some(version.clone())
        );
        assert_eq!(newest_version::<Pg>(&POSTGRES_MIGRATIONS), Some(version));
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_taken() {
        assert_eq!(check_url("scimd.db"), Ok(Backend::Sqlite));
        assert_eq!(check_url("sqlite:///var/lib/scimd.db"), Ok(Backend::Sqlite));
        assert_eq!(check_url("postgresql://h/db"), Ok(Backend::Postgres));
        for url in ["mysql://root@h/db", "http://h/db", "mariadb://h"] {
            let message = check_url(url).unwrap_err();
            assert!(
                message.contains("unsupported database URL scheme"),
                "{message}"
            );
            assert!(message.contains("postgres://"), "{message}");
        }
    }

    #[test]
    fn a_described_url_has_no_password() {
        assert_eq!(
            describe("postgres://scimd:s3cret@db.example.com:5433/scimd?sslmode=require"),
            "PostgreSQL postgres://scimd@db.example.com:5433/scimd?sslmode=require"
        );
        assert_eq!(
            describe("postgresql://db/scimd?user=a&password=s3cret"),
            "PostgreSQL postgresql://db/scimd?user=a"
        );
        assert!(describe("scimd.db").ends_with("/scimd.db"));
        assert!(describe("scimd.db").starts_with("SQLite /"));
    }

    #[test]
    fn sqlite_files_are_absolute() {
        assert!(sqlite_file("sqlite://x.db").is_some_and(|p| p.is_absolute()));
        assert_eq!(sqlite_file(":memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use diesel::connection::SimpleConnection;

use crate::http::auth::{AuthTenant, Authenticator};
use crate::http::metrics::ServerMetrics;
use crate::http::rate_limit::RateLimiter;
use crate::repeats;
use crate::scim::ScimError;
use crate::scim::activity::{Actor, Client};
use crate::scim::policy::Policy;
use crate::service::Scope;
use crate::service::policy::PolicyCache;
use crate::store::db::{DbConnection, DbPool, open_sqlite};
use crate::store::positions::{self, PositionCache};
use crate::store::writer::Writer;
use crate::telemetry::Telemetry;

/// Where a request's database work runs.
///
/// On SQLite, reads run right on the HTTP worker thread, on a connection
/// that thread keeps (no hop to another thread and back, prepared statements
/// stay warm; in WAL mode a read never waits for a writer), and writes queue
/// for the group-commit writer. On PostgreSQL, whose queries cross the
/// network, both run on the blocking pool with a pooled connection.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    metrics: Arc<ServerMetrics>,
    /// SQLite: the database's URL, which keys each thread's read connection.
    sqlite_url: Option<Arc<str>>,
    /// SQLite: how long a read connection waits for a lock.
    busy_timeout: Duration,
    /// SQLite: the cap on the file's size in MiB (0: none).
    max_size_mb: u64,
    /// SQLite: the one writer every write goes through.
    writer: Option<Writer>,
    /// PostgreSQL: `/readyz`'s own connection.
    probe: Option<DbPool>,
}

/// How long `/readyz` gives the database to answer.
pub const READY_WITHIN: Duration = Duration::from_secs(1);

/// A worker's own read connection to a SQLite database, with what it
/// remembers of the teams it has listed.
struct Reader {
    conn: DbConnection,
    positions: PositionCache,
}

thread_local! {
    /// This thread's read connection to each SQLite database it has read.
    static READERS: RefCell<HashMap<Arc<str>, Reader>> = RefCell::new(HashMap::new());
}

impl Db {
    /// A PostgreSQL database: reads and writes on `pool`, `/readyz` on `probe`.
    pub fn new(pool: DbPool, probe: DbPool, metrics: Arc<ServerMetrics>) -> Self {
        Db {
            pool,
            metrics,
            sqlite_url: None,
            busy_timeout: Duration::ZERO,
            max_size_mb: 0,
            writer: None,
            probe: Some(probe),
        }
    }

    /// A SQLite database: reads on each worker's own connection, writes
    /// through `writer`.
    pub fn sqlite(
        pool: DbPool,
        metrics: Arc<ServerMetrics>,
        url: &str,
        writer: Writer,
        (busy_timeout, max_size_mb): (Duration, u64),
    ) -> Self {
        Db {
            pool,
            metrics,
            sqlite_url: Some(Arc::from(url)),
            busy_timeout,
            max_size_mb,
            writer: Some(writer),
            probe: None,
        }
    }

    /// Whether the database answers within `READY_WITHIN`. On PostgreSQL
    /// on a connection of its own, so requests holding every pooled
    /// connection do not make the instance look down; on SQLite a read
    /// never waits for the writer.
    pub async fn ping(&self) -> Result<(), ScimError> {
        let Some(probe) = self.probe.clone() else {
            return self.read(|conn| Ok(conn.batch_execute("SELECT 1")?)).await;
        };
        let check = web::block(move || -> Result<(), ScimError> {
            let mut conn = probe.get().map_err(|e| {
                tracing::debug!(error = %e, "readiness probe: no connection");
                ScimError::database_unavailable()
            })?;
            Ok(conn.batch_execute("SELECT 1")?)
        });
        match actix_web::rt::time::timeout(READY_WITHIN, check).await {
            Ok(answered) => answered.map_err(ScimError::internal)?,
            Err(_) => Err(ScimError::ServiceUnavailable(format!(
                "the database did not answer within {} ms",
                READY_WITHIN.as_millis()
            ))),
        }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Whether writes go through the group-commit writer (SQLite).
    pub fn has_writer(&self) -> bool {
        self.writer.is_some()
    }

    /// Runs read-only work (it may write nothing that must not be lost).
    pub async fn read<T, F>(&self, work: F) -> Result<T, ScimError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ScimError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.sqlite_url {
            Some(url) => READERS.with(|readers| {
                let mut readers = readers.borrow_mut();
                let reader = match readers.entry(url.clone()) {
                    Entry::Occupied(open) => open.into_mut(),
                    Entry::Vacant(slot) => slot.insert(Reader {
                        conn: DbConnection::Sqlite(
                            open_sqlite(url, self.busy_timeout, self.max_size_mb).map_err(|e| {
                                tracing::warn!(error = %e, "cannot open a read connection");
                                ScimError::database_unavailable()
                            })?,
                        ),
                        positions: PositionCache::default(),
                    }),
                };
                let Reader { conn, positions } = reader;
                positions::with_cache(positions, || work(conn))
            }),
            None => self.pooled(work).await,
        }
    }

    /// Runs work that writes: in the writer's next batch on SQLite (answered
    /// after its commit), on a pooled connection on PostgreSQL.
    pub async fn write<T, F>(&self, work: F) -> Result<T, ScimError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ScimError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => {
                // The writer thread logs inside the request's span (its request id).
                let span = tracing::Span::current();
                writer
                    .write(move |conn| span.in_scope(|| work(conn)))
                    .await
                    .map_err(ScimError::from)?
            }
            None => self.pooled(work).await,
        }
    }

    /// On the blocking pool, with a pooled connection.
    async fn pooled<T, F>(&self, work: F) -> Result<T, ScimError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ScimError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let metrics = self.metrics.clone();
        // The blocking thread logs inside the request's span (its request id).
        let span = tracing::Span::current();
        web::block(move || {
            let _entered = span.enter();
            let mut conn = metrics.checkout(&pool).map_err(|e| {
                if let Some(repeated) = repeats::admit("database pool exhausted or unreachable") {
                    tracing::warn!(error = %e, repeated, "database pool exhausted or unreachable");
                }
                ScimError::ServiceUnavailable(format!(
                    "the database is unavailable: no connection within {} ms; retry later",
                    pool.connection_timeout().as_millis()
                ))
            })?;
            work(&mut conn)
        })
        .await
        .map_err(ScimError::internal)?
    }
}

pub struct AppState {
    pub db: Db,
    pub auth: Authenticator,
    /// `None`: no per-tenant request limit.
    pub rate_limit: Option<RateLimiter>,
    pub policies: Arc<PolicyCache>,
    /// The counters SCIM writes are counted in.
    pub telemetry: Arc<Telemetry>,
}

impl AppState {
    /// Runs a SCIM write whose pure part (`prepare`: normalising, hashing a
    /// password) needs only the team's policy. On SQLite that part runs
    /// here, on the HTTP worker, or on the blocking pool when it `hashes`, so
    /// the one writer spends its time on the database alone; on PostgreSQL
    /// it runs with the rest in one closure.
    pub async fn write_prepared<P, T, Prep, F>(
        &self,
        req: &HttpRequest,
        auth: AuthTenant,
        (prepare, hashes): (Prep, bool),
        work: F,
    ) -> Result<T, ScimError>
    where
        Prep: FnOnce(&Policy) -> P + Send + 'static,
        P: Send + 'static,
        F: FnOnce(&Scope<'_>, &mut DbConnection, P) -> Result<T, ScimError> + Send + 'static,
        T: Send + 'static,
    {
        if !self.db.has_writer() {
            return self
                .write(req, auth, move |scope, conn| {
                    let prepared = prepare(scope.policy);
                    work(scope, conn, prepared)
                })
                .await;
        }
        let tenant = auth.tenant_id.clone();
        let policies = self.policies.clone();
        let policy = self
            .db
            .read(move |conn| policies.current(&tenant, conn))
            .await?;
        let for_prepare = policy.clone();
        let prepared = if hashes {
            web::block(move || prepare(&for_prepare))
                .await
                .map_err(ScimError::internal)?
        } else {
            prepare(&for_prepare)
        };
        self.write_under(req, auth, Some(policy), move |scope, conn| {
            work(scope, conn, prepared)
        })
        .await
    }

    /// Runs a SCIM write in one blocking closure, under the tenant's current
    /// policy, logged as made by this request's token and client.
    pub async fn write<T, F>(
        &self,
        req: &HttpRequest,
        auth: AuthTenant,
        work: F,
    ) -> Result<T, ScimError>
    where
        F: FnOnce(&Scope<'_>, &mut DbConnection) -> Result<T, ScimError> + Send + 'static,
        T: Send + 'static,
    {
        self.write_under(req, auth, None, work).await
    }

    /// `write`, under `policy` when the caller has it already.
    async fn write_under<T, F>(
        &self,
        req: &HttpRequest,
        auth: AuthTenant,
        policy: Option<Arc<Policy>>,
        work: F,
    ) -> Result<T, ScimError>
    where
        F: FnOnce(&Scope<'_>, &mut DbConnection) -> Result<T, ScimError> + Send + 'static,
        T: Send + 'static,
    {
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let actor = Actor {
            token_label: auth.token_label,
            client: Client::from_user_agent(user_agent),
        };
        let policies = self.policies.clone();
        let telemetry = self.telemetry.clone();
        let tenant = auth.tenant_id;
        self.db
            .write(move |conn| {
                let policy = match policy {
                    Some(policy) => policy,
                    None => policies.current(&tenant, conn)?,
                };
                let scope = Scope {
                    tenant: &tenant,
                    policy: &policy,
                    actor: &actor,
                    telemetry: &telemetry,
                };
                work(&scope, conn)
            })
            .await
    }
}

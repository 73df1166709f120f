use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, web};

use crate::http::auth::{AuthTenant, Authenticator};
use crate::http::metrics::ServerMetrics;
use crate::http::rate_limit::RateLimiter;
use crate::scim::ScimError;
use crate::scim::activity::{Actor, Client};
use crate::service::Scope;
use crate::service::policy::PolicyCache;
use crate::store::db::{DbConnection, DbPool};
use crate::telemetry::Telemetry;

/// Runs blocking diesel work off the async workers: one closure per request,
/// holding one pooled connection.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    metrics: Arc<ServerMetrics>,
}

impl Db {
    pub fn new(pool: DbPool, metrics: Arc<ServerMetrics>) -> Self {
        Db { pool, metrics }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    pub async fn run<T, F>(&self, work: F) -> Result<T, ScimError>
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
                tracing::warn!(error = %e, "database pool exhausted or unreachable");
                ScimError::ServiceUnavailable
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
            .run(move |conn| {
                let policy = policies.current(&tenant, conn)?;
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

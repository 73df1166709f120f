use std::sync::Arc;

use actix_web::web;

use crate::http::auth::Authenticator;
use crate::http::metrics::PoolGauges;
use crate::http::rate_limit::RateLimiter;
use crate::scim::ScimError;
use crate::store::db::{DbConnection, DbPool};

/// Runs blocking diesel work off the async workers: one closure per request,
/// holding one pooled connection.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    gauges: Arc<PoolGauges>,
}

impl Db {
    pub fn new(pool: DbPool, gauges: Arc<PoolGauges>) -> Self {
        Db { pool, gauges }
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
        let gauges = self.gauges.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(|e| {
                tracing::warn!(error = %e, "database pool exhausted or unreachable");
                ScimError::ServiceUnavailable
            })?;
            gauges.observe(&pool.state());
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
}

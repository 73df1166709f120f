//! Prometheus metrics: request counts and latencies by route pattern and
//! status (actix-web-prom), plus database pool usage.

use actix_web::HttpResponse;
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use diesel::r2d2::State;
use prometheus::{IntGauge, Registry};

pub struct PoolGauges {
    connections: IntGauge,
    idle: IntGauge,
}

impl PoolGauges {
    pub fn observe(&self, state: &State) {
        self.connections.set(i64::from(state.connections));
        self.idle.set(i64::from(state.idle_connections));
    }
}

/// `GET /metrics`: the middleware writes the body. Without this route the
/// request reached the unknown-route handler first, and its `404` error,
/// though replaced by the metrics, was logged on every scrape.
pub async fn scrape() -> HttpResponse {
    HttpResponse::Ok().finish()
}

pub fn build() -> anyhow::Result<(PrometheusMetrics, PoolGauges)> {
    let registry = Registry::new();
    let connections = IntGauge::new(
        "scimd_db_pool_connections",
        "Database connections currently open in the pool",
    )?;
    let idle = IntGauge::new(
        "scimd_db_pool_idle_connections",
        "Open database connections not checked out by a request",
    )?;
    registry.register(Box::new(connections.clone()))?;
    registry.register(Box::new(idle.clone()))?;
    let middleware = PrometheusMetricsBuilder::new("scimd")
        .registry(registry)
        .endpoint("/metrics")
        // Unmatched paths would otherwise make one label value per URL typed.
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("metrics setup failed: {e}"))?;
    Ok((middleware, PoolGauges { connections, idle }))
}

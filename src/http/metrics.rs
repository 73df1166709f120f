//! Prometheus metrics. actix-web-prom counts requests and their latencies by
//! route pattern and status, and renders the registry on `GET /metrics`;
//! this module adds the pool, outbox, in-flight, process and build figures,
//! and registers the service and job counters (`crate::telemetry`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use crate::http::state::AppState;
use crate::store::db::{self, DbPool, PoolError, PooledDb};
use crate::store::outbox;
use crate::telemetry::Telemetry;

/// How long a scrape waits for a connection to count the outbox; past it
/// the outbox gauges keep their last values rather than hold up the scrape.
const OUTBOX_CONNECTION_WAIT: Duration = Duration::from_millis(250);
/// How long a scrape waits for the outbox count itself.
const OUTBOX_REFRESH_LIMIT: Duration = Duration::from_secs(1);

/// The server's own figures beside actix-web-prom's request metrics.
pub struct ServerMetrics {
    connections: IntGauge,
    idle: IntGauge,
    pool_wait: Histogram,
    pool_timeouts: IntCounter,
    outbox: IntGaugeVec,
    in_flight: IntGauge,
}

impl ServerMetrics {
    /// A request's connection from the pool: the wait is timed, and a pool
    /// that gave none within its time-out is counted.
    pub fn checkout(&self, pool: &DbPool) -> Result<PooledDb, PoolError> {
        let started = Instant::now();
        let conn = pool.get();
        self.pool_wait.observe(started.elapsed().as_secs_f64());
        if conn.is_err() {
            self.pool_timeouts.inc();
        }
        conn
    }

    /// The gauge of requests being served, for the request middleware.
    pub fn in_flight(&self) -> IntGauge {
        self.in_flight.clone()
    }

    fn observe_pool(&self, pool: &DbPool) {
        let state = pool.state();
        self.connections.set(i64::from(state.connections));
        self.idle.set(i64::from(state.idle_connections));
    }

    /// Counts the outbox if a connection comes quickly (blocking).
    fn refresh_outbox(&self, pool: &DbPool) {
        let depth = pool
            .get_timeout(OUTBOX_CONNECTION_WAIT)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| outbox::depth(&mut conn).map_err(|e| e.to_string()));
        match depth {
            Ok(depth) => {
                for (state, count) in [
                    ("queued", depth.queued),
                    ("sent", depth.sent),
                    ("failed", depth.failed),
                ] {
                    self.outbox.with_label_values(&[state]).set(count);
                }
            }
            Err(error) => tracing::debug!(%error, "metrics: outbox not counted this scrape"),
        }
    }
}

/// `GET /metrics`: refreshes what is read rather than counted (the pool,
/// the outbox), then the middleware writes the body. Without this route the
/// request reached the unknown-route handler first, and its `404` error,
/// though replaced by the metrics, was logged on every scrape.
pub async fn scrape(state: web::Data<AppState>, metrics: web::Data<ServerMetrics>) -> HttpResponse {
    let pool = state.db.pool().clone();
    // Before the outbox takes a connection, so an idle pool reads as idle.
    metrics.observe_pool(&pool);
    let metrics = metrics.into_inner();
    let refresh = web::block(move || metrics.refresh_outbox(&pool));
    if actix_web::rt::time::timeout(OUTBOX_REFRESH_LIMIT, refresh)
        .await
        .is_err()
    {
        tracing::debug!("metrics: the outbox count took too long; served without it");
    }
    HttpResponse::Ok().finish()
}

/// The registry behind `/metrics`: actix-web-prom's request metrics, the
/// counters of `telemetry`, and this module's figures.
pub fn build(telemetry: &Telemetry) -> anyhow::Result<(PrometheusMetrics, Arc<ServerMetrics>)> {
    let registry = Registry::new();
    let metrics = ServerMetrics {
        connections: IntGauge::new(
            "scimd_db_pool_connections",
            "Database connections open in the pool, read at each scrape",
        )?,
        idle: IntGauge::new(
            "scimd_db_pool_idle_connections",
            "Open database connections no request holds, read at each scrape",
        )?,
        pool_wait: Histogram::with_opts(
            HistogramOpts::new(
                "scimd_db_pool_wait_seconds",
                "Time a request waited for a database connection",
            )
            .buckets(vec![
                0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )?,
        pool_timeouts: IntCounter::new(
            "scimd_db_pool_timeouts_total",
            "Requests answered 503 because no database connection came within the pool's time-out",
        )?,
        outbox: IntGaugeVec::new(
            Opts::new(
                "scimd_outbox_emails",
                "Emails in the outbox of every team by state (queued, sent, failed: given up), \
                 counted at each scrape",
            ),
            &["state"],
        )?,
        in_flight: IntGauge::new(
            "scimd_http_requests_in_flight",
            "Requests being served, this scrape included",
        )?,
    };
    registry.register(Box::new(metrics.connections.clone()))?;
    registry.register(Box::new(metrics.idle.clone()))?;
    registry.register(Box::new(metrics.pool_wait.clone()))?;
    registry.register(Box::new(metrics.pool_timeouts.clone()))?;
    registry.register(Box::new(metrics.outbox.clone()))?;
    registry.register(Box::new(metrics.in_flight.clone()))?;
    telemetry.register(&registry)?;
    let build_info = IntGaugeVec::new(
        Opts::new(
            "scimd_build_info",
            "Always 1: the binary's version and the database schema version it migrates to",
        ),
        &["version", "schema_version"],
    )?;
    build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION"), db::schema_version().as_str()])
        .set(1);
    registry.register(Box::new(build_info))?;
    // Resident memory, open files, threads, CPU (`process_*`): Linux only.
    #[cfg(target_os = "linux")]
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    let middleware = PrometheusMetricsBuilder::new("scimd")
        .registry(registry)
        .endpoint("/metrics")
        // Unmatched paths would otherwise make one label value per URL typed.
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("metrics setup failed: {e}"))?;
    Ok((middleware, Arc::new(metrics)))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::build;
    use crate::store::db;
    use crate::telemetry::Telemetry;

    /// A scrape never waits on a busy pool for the outbox: it keeps the
    /// last count and goes on.
    #[test]
    fn a_busy_pool_skips_the_outbox_count_quickly() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("scimd.db").display().to_string();
        let pool = db::connect(&url, 1).unwrap();
        let (_, metrics) = build(&Telemetry::new(false).unwrap()).unwrap();
        let queued = metrics.outbox.with_label_values(&["queued"]);
        queued.set(7);
        metrics.refresh_outbox(&pool);
        assert_eq!(queued.get(), 0, "counted when a connection is free");

        queued.set(7);
        let held = pool.get().unwrap();
        let started = Instant::now();
        metrics.refresh_outbox(&pool);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(queued.get(), 7, "the last count is kept");
        drop(held);
    }
}

//! Latency samples and the figures a run reports.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// Latencies of one kind of request, shared by the concurrent clients.
#[derive(Clone, Default)]
pub struct Series(Arc<Mutex<Vec<Duration>>>);

impl Series {
    pub fn record(&self, latency: Duration) {
        self.lock().push(latency);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn latencies(&self) -> Latencies {
        let mut samples = self.lock().clone();
        samples.sort_unstable();
        Latencies::of_sorted(&samples)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Duration>> {
        // A client that panicked left whole samples behind; keep them.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latencies {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latencies {
    fn of_sorted(samples: &[Duration]) -> Latencies {
        if samples.is_empty() {
            return Latencies::default();
        }
        // Nearest rank: the smallest sample at or above the given share.
        let rank = |p: f64| {
            let index = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            ms(samples[index])
        };
        Latencies {
            count: samples.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            p999_ms: rank(0.999),
            max_ms: ms(samples[samples.len() - 1]),
        }
    }
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
}

/// One reported number. `key` is the same for every server so the tables
/// can line them up; `latencies` rides along with throughput figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub key: String,
    pub label: String,
    pub value: f64,
    pub unit: &'static str,
    pub better: Better,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latencies: Option<Latencies>,
    /// Whether the peer ratio table lists it.
    #[serde(skip)]
    pub compared: bool,
}

impl Figure {
    /// Requests (or operations) per second over a run, with its latencies.
    pub fn rate(
        key: &str,
        label: &str,
        operations: usize,
        elapsed: Duration,
        series: &Series,
    ) -> Figure {
        Figure {
            key: key.to_owned(),
            label: label.to_owned(),
            value: operations as f64 / elapsed.as_secs_f64().max(1e-9),
            unit: "req/s",
            better: Better::Higher,
            latencies: Some(series.latencies()),
            compared: true,
        }
    }

    pub fn number(
        key: &str,
        label: &str,
        value: f64,
        unit: &'static str,
        better: Better,
    ) -> Figure {
        Figure {
            key: key.to_owned(),
            label: label.to_owned(),
            value,
            unit,
            better,
            latencies: None,
            compared: false,
        }
    }

    pub fn compared(mut self) -> Figure {
        self.compared = true;
        self
    }

    pub fn not_compared(mut self) -> Figure {
        self.compared = false;
        self
    }

    pub fn with_unit(mut self, unit: &'static str) -> Figure {
        self.unit = unit;
        self
    }
}

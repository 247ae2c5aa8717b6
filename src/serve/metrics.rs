//! The service's metrics, written in the Prometheus text exposition format
//! (version 0.0.4) by hand.
//!
//! Why not the `prometheus` or `metrics-exporter-prometheus` crate: the
//! service has a fixed, small set of series (five latency histograms, three
//! counters, three gauges) known at compile time. Lock-free atomics and a
//! sixty-line writer cover it; the crates would add a registry, global
//! state, and (for the exporter) its own HTTP stack to a binary that already
//! has one.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::stream::StoreStats;

/// Upper bounds (seconds) of the latency histograms' buckets: 10 µs to 5 s.
pub const BUCKETS: [f64; 13] = [
    1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.1, 1.0, 5.0,
];

/// A latency histogram with the fixed [`BUCKETS`] (lock-free).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            cum += c.load(Ordering::Relaxed);
            let le = BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |b| format!("{b}"));
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cum}");
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 * 1e-9;
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cum}");
    }
}

/// Every series `GET /metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Embedding texts (items, route and route-set queries).
    pub embed: Histogram,
    /// Clustering a batch (`insert_batch`: validation, log write, updates).
    pub cluster: Histogram,
    /// Reading a group's clusters with their heroes (`GET …/clusters`).
    pub hero: Histogram,
    /// `POST /route` (after embedding).
    pub route: Histogram,
    /// `POST /routes/match` (after embedding).
    pub routes_match: Histogram,
    /// Items newly stored (retries of stored items are not counted).
    pub items_ingested: AtomicU64,
    /// Batches accepted.
    pub batches: AtomicU64,
    /// Error responses by status: 400, 401, 404, 409, 413/other 4xx, 5xx.
    errors: [AtomicU64; 6],
}

const ERROR_CLASSES: [&str; 6] = ["400", "401", "404", "409", "4xx", "5xx"];

/// The slot of `status` in [`ERROR_CLASSES`].
fn error_class(status: u16) -> usize {
    match status {
        400 | 401 | 404 | 409 => [400, 401, 404, 409]
            .iter()
            .position(|&c| c == status)
            .unwrap_or(4),
        402..=499 => 4,
        _ => 5,
    }
}

impl Metrics {
    /// Counts one error response with HTTP status `status` (≥ 400).
    pub fn count_error(&self, status: u16) {
        self.errors[error_class(status)].fetch_add(1, Ordering::Relaxed);
    }

    /// Error responses counted with status `status` (its class for other 4xx / 5xx).
    pub fn errors(&self, status: u16) -> u64 {
        self.errors[error_class(status)].load(Ordering::Relaxed)
    }

    /// The exposition text, with the store's current counts as gauges.
    ///
    /// ```
    /// use aurora_router::serve::Metrics;
    /// use aurora_router::stream::{ClusterStore, StreamParams};
    ///
    /// let m = Metrics::default();
    /// m.route.observe(std::time::Duration::from_micros(20));
    /// let store = ClusterStore::in_memory("toy", 2, StreamParams::new().check().unwrap()).unwrap();
    /// let text = m.render(&store.stats());
    /// assert!(text.contains("aurora_route_seconds_bucket{endpoint=\"route\",le=\"0.00005\"} 1"));
    /// assert!(text.contains("aurora_store_groups 0"));
    /// ```
    pub fn render(&self, stats: &StoreStats) -> String {
        let mut out = String::with_capacity(8192);
        let hist = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} histogram");
        };
        hist(
            &mut out,
            "aurora_embed_seconds",
            "Time to embed the texts of one request.",
        );
        self.embed.write(&mut out, "aurora_embed_seconds", "");
        hist(
            &mut out,
            "aurora_cluster_seconds",
            "Time to validate, log and cluster one batch of items.",
        );
        self.cluster.write(&mut out, "aurora_cluster_seconds", "");
        hist(
            &mut out,
            "aurora_hero_seconds",
            "Time to read one group's clusters with their heroes.",
        );
        self.hero.write(&mut out, "aurora_hero_seconds", "");
        hist(
            &mut out,
            "aurora_route_seconds",
            "Time to route one embedding (route: LLM router; routes_match: route set).",
        );
        self.route
            .write(&mut out, "aurora_route_seconds", "endpoint=\"route\"");
        self.routes_match.write(
            &mut out,
            "aurora_route_seconds",
            "endpoint=\"routes_match\"",
        );
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {v}");
        };
        counter(
            &mut out,
            "aurora_items_ingested_total",
            "Items newly stored through POST /groups/{id}/items.",
            self.items_ingested.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "aurora_batches_total",
            "Item batches accepted.",
            self.batches.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP aurora_errors_total Error responses, by status (4xx/5xx: the other codes)."
        );
        let _ = writeln!(out, "# TYPE aurora_errors_total counter");
        for (i, class) in ERROR_CLASSES.iter().enumerate() {
            let v = self.errors[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "aurora_errors_total{{status=\"{class}\"}} {v}");
        }
        let gauge = |out: &mut String, name: &str, help: &str, v: usize| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {v}");
        };
        gauge(
            &mut out,
            "aurora_store_groups",
            "Groups in the store.",
            stats.groups,
        );
        gauge(
            &mut out,
            "aurora_store_items",
            "Items in the store (clustered and pending).",
            stats.items,
        );
        gauge(
            &mut out,
            "aurora_store_clusters",
            "Clusters in the store.",
            stats.clusters,
        );
        gauge(
            &mut out,
            "aurora_store_pending",
            "Items waiting in pending pools.",
            stats.pending,
        );
        out
    }
}

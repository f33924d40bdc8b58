//! The feed's counters, in Prometheus' text format beside the delivery counters
//! (`GET /metrics`): alerts received, routed, unrouted, kept out of windows, skipped (by
//! source and reason), batches and their latency, and each file source's lag.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A source's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// The source's name.
    pub source: String,
}

/// A skipped record's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkipLabel {
    /// The source's name.
    pub source: String,
    /// `ossec_sources::SkipReason::as_str`.
    pub reason: String,
}

/// The feed's counters.
pub struct FeedCounters {
    registry: Registry,
    /// Alerts read from a source.
    pub received: Family<SourceLabel, Counter>,
    /// Alerts that matched a route.
    pub routed: Family<SourceLabel, Counter>,
    /// Alerts that matched no route.
    pub unrouted: Family<SourceLabel, Counter>,
    /// Routed alerts not kept: older than the window, or already in it (same id).
    pub not_kept: Family<SkipLabel, Counter>,
    /// Records a source could not read.
    pub skipped: Family<SkipLabel, Counter>,
    /// Batches committed.
    pub batches: Counter,
    /// Batches that failed and were tried again.
    pub failed_batches: Counter,
    /// Seconds from a batch's first alert received to its commit.
    pub batch_seconds: Histogram,
    /// Bytes of a file source not yet committed.
    pub file_lag_bytes: Family<SourceLabel, Gauge>,
}

impl Default for FeedCounters {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ctpd_ossec");
        let received = Family::default();
        let routed = Family::default();
        let unrouted = Family::default();
        let not_kept = Family::default();
        let skipped = Family::default();
        let batches = Counter::default();
        let failed_batches = Counter::default();
        let batch_seconds = Histogram::new([0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]);
        let file_lag_bytes = Family::default();
        registry.register("alerts_received", "Alerts read from a source", received.clone());
        registry.register("alerts_routed", "Alerts that matched a route", routed.clone());
        registry.register("alerts_unrouted", "Alerts that matched no route", unrouted.clone());
        registry.register(
            "alerts_not_kept",
            "Routed alerts left out of the window: too_old, or duplicate (same id)",
            not_kept.clone(),
        );
        registry.register("records_skipped", "Records a source could not read, by reason", skipped.clone());
        registry.register("batches", "Batches of results committed", batches.clone());
        registry.register("failed_batches", "Batches that failed and were tried again", failed_batches.clone());
        registry.register(
            "batch_seconds",
            "Seconds from a batch's first alert received to its commit",
            batch_seconds.clone(),
        );
        registry.register("file_lag_bytes", "Bytes of a followed file not yet committed", file_lag_bytes.clone());
        FeedCounters {
            registry,
            received,
            routed,
            unrouted,
            not_kept,
            skipped,
            batches,
            failed_batches,
            batch_seconds,
            file_lag_bytes,
        }
    }
}

impl FeedCounters {
    /// The counters in the OpenMetrics text format, without the final `# EOF` (they follow
    /// the delivery counters in one exposition).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode_registry(&mut text, &self.registry).expect("writing to a String");
        text
    }
}

/// A label of `source`.
pub fn source(name: &str) -> SourceLabel {
    SourceLabel { source: name.to_owned() }
}

/// Labels of `source` and `reason`.
pub fn skip(name: &str, reason: &str) -> SkipLabel {
    SkipLabel { source: name.to_owned(), reason: reason.to_owned() }
}

//! Counters of the delivery worker, exposed in Prometheus' text format (`GET /metrics`,
//! `routes/prometheus.rs`) and summarized in the server's log.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::target::Channel;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: &'static str,
}

/// Deliveries sent, retried and failed, per channel.
pub struct DeliveryCounters {
    registry: Registry,
    sent: Family<ChannelLabel, Counter>,
    retried: Family<ChannelLabel, Counter>,
    failed: Family<ChannelLabel, Counter>,
    /// Sum of the three counters when the log last summarized them.
    last_logged: AtomicU64,
}

impl Default for DeliveryCounters {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ctpd_deliveries");
        let sent = Family::<ChannelLabel, Counter>::default();
        let retried = Family::<ChannelLabel, Counter>::default();
        let failed = Family::<ChannelLabel, Counter>::default();
        registry.register("sent", "Notifications acknowledged by their receiver", sent.clone());
        registry.register("retried", "Failed attempts that will be tried again", retried.clone());
        registry.register("failed", "Notifications whose last attempt failed", failed.clone());
        // Every channel appears from the start, at 0, so that rates and alerts work at once.
        for channel in [Channel::Xmpp, Channel::Webhook] {
            let label = ChannelLabel { channel: channel.as_str() };
            let _ = sent.get_or_create(&label);
            let _ = retried.get_or_create(&label);
            let _ = failed.get_or_create(&label);
        }
        DeliveryCounters { registry, sent, retried, failed, last_logged: AtomicU64::new(0) }
    }
}

impl DeliveryCounters {
    /// A notification was delivered.
    pub fn sent(&self, channel: Channel) {
        self.sent.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    }

    /// An attempt failed and will be retried.
    pub fn retried(&self, channel: Channel) {
        self.retried.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    }

    /// The last attempt failed.
    pub fn failed(&self, channel: Channel) {
        self.failed.get_or_create(&ChannelLabel { channel: channel.as_str() }).inc();
    }

    /// One counter's value.
    pub fn count(&self, kind: &str, channel: Channel) -> u64 {
        let family = match kind {
            "sent" => &self.sent,
            "retried" => &self.retried,
            _ => &self.failed,
        };
        family.get_or_create(&ChannelLabel { channel: channel.as_str() }).get()
    }

    /// The Prometheus (OpenMetrics) text exposition of every counter.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }

    /// Logs the counters if they changed since the last call.
    pub fn log_summary(&self) {
        let channels = [Channel::Xmpp, Channel::Webhook];
        let total: u64 =
            channels.iter().map(|&c| self.count("sent", c) + self.count("retried", c) + self.count("failed", c)).sum();
        if self.last_logged.swap(total, Ordering::Relaxed) == total {
            return;
        }
        for channel in channels {
            tracing::info!(
                channel = channel.as_str(),
                sent = self.count("sent", channel),
                retried = self.count("retried", channel),
                failed = self.count("failed", channel),
                "notification deliveries"
            );
        }
    }
}

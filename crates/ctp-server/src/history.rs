//! Retention of the result history (issue 15): entries older than an age, and those beyond
//! a count per measurement, are pruned at start and then every hour. What the history is
//! and how it is read: `ctp_store::Store::history` and `routes::history`.

use std::sync::Arc;
use std::time::Duration;

use ctp_model::Timestamp;
use ctp_store::Store;

/// How long and how much history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRetention {
    /// Entries older than this go; `None`: no age limit.
    pub max_age: Option<Duration>,
    /// Only the newest this many entries of each measurement stay; `None`: no count limit.
    pub max_results_per_measurement: Option<u64>,
}

impl Default for HistoryRetention {
    /// 400 days (the 90-day bars, a year's audit and some), 100 000 entries per measurement
    /// (a result a minute for over 69 days).
    fn default() -> Self {
        HistoryRetention {
            max_age: Some(Duration::from_secs(400 * 86_400)),
            max_results_per_measurement: Some(100_000),
        }
    }
}

/// How often the history is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl HistoryRetention {
    /// Prunes once, now; returns how many entries went.
    pub async fn prune(&self, store: &dyn Store, now: Timestamp) -> ctp_store::StoreResult<u64> {
        if self.max_age.is_none() && self.max_results_per_measurement.is_none() {
            return Ok(0);
        }
        let epoch = Timestamp::from_millis(0).expect("the epoch");
        // Without an age limit, nothing is older than the epoch.
        let before = self.max_age.map_or(epoch, |age| {
            let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
            Timestamp::from_millis(now.millis().saturating_sub(age)).unwrap_or(epoch).max(epoch)
        });
        store.prune_history(before, self.max_results_per_measurement.unwrap_or(u64::MAX / 2)).await
    }

    /// Prunes at start, then every hour, for ever.
    pub async fn run(self, store: Arc<dyn Store>) {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            match self.prune(store.as_ref(), Timestamp::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned the result history"),
                Err(e) => tracing::warn!(error = %e, "cannot prune the result history"),
            }
        }
    }
}

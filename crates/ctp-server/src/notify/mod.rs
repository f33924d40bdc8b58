//! Notifications (4.2.7): the delivery worker of the outbox.
//!
//! When a trigger fires, the store writes a delivery job in the transaction of the log
//! entry. The worker claims due jobs (leasing them, so that another instance or a crash
//! cannot lose them), sends each to its trigger's `notification` URI — an XMPP chat
//! message or a signed webhook, whose body is the log entry's JSON exactly as
//! `GET {CtpBase}/logs/{id}` returns it — and records the outcome: delivered, retried with
//! exponential backoff, or failed after the last attempt (administrators may retry it).
//! A webhook the address policy refuses ([`policy`]) fails at once: no retry could deliver
//! it until an operator changes the policy, and then an administrator retries it.
//!
//! Attempts run with bounded concurrency per receiving host and in all ([`dispatch`]), so
//! that one tenant's slow or hanging receivers cannot delay another tenant's notifications.

pub mod counters;
mod dispatch;
pub mod policy;
pub mod target;
pub mod webhook;
pub mod xmpp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ctp_model::resources::Kind;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{DeliveryOutcome, DueDelivery, Store};
use tokio::sync::{mpsc, Notify};

use crate::context::link;
use crate::encode;
pub use counters::DeliveryCounters;
use dispatch::{Dispatch, Step};
use policy::{Refusal, WebhookPolicy};
use target::{Channel, Target};
use webhook::WebhookSender;
use xmpp::{XmppSender, XmppSettings};

/// What the API and the worker share: a wake-up call for new jobs and the counters.
#[derive(Default)]
pub struct Outbox {
    wake: Notify,
    /// Deliveries sent, retried and failed.
    pub counters: DeliveryCounters,
}

impl Outbox {
    /// Tells the worker that new jobs may be due (after a push that wrote log entries).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Settings of the delivery worker.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// `{CtpBase}` of the links in notifications.
    pub link_base: String,
    /// Attempts before a job is kept as failed.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Time allowed for one attempt (webhook request, XMPP acknowledgement).
    pub attempt_timeout: Duration,
    /// Attempts in flight at the same time, in all.
    pub concurrency: usize,
    /// Attempts in flight at the same time to one host (see [`Target::host_key`]).
    pub per_host_concurrency: usize,
    /// Where webhooks may go.
    pub webhook_policy: WebhookPolicy,
    /// How long delivered jobs stay listed before they are pruned.
    pub retention: Duration,
    /// ctpd's XMPP account, if notifications go over XMPP.
    pub xmpp: Option<XmppSettings>,
}

impl NotifySettings {
    /// Default settings for links under `link_base`.
    pub fn new(link_base: String) -> NotifySettings {
        NotifySettings {
            link_base,
            max_attempts: 10,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(10),
            concurrency: 64,
            per_host_concurrency: 4,
            webhook_policy: WebhookPolicy::default(),
            retention: Duration::from_secs(7 * 24 * 3600),
            xmpp: None,
        }
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Installs ring as rustls' process-wide cryptography, once; every HTTPS client of the
/// process (webhooks, and tests' clients) needs it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why an attempt did not deliver, and whether another attempt could.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptError {
    /// What happened, recorded as the job's `lastError`.
    pub message: String,
    /// No later attempt can deliver (a target that is invalid or refused by the policy):
    /// the job fails at once instead of being retried.
    pub permanent: bool,
}

impl AttemptError {
    /// A target the address policy refuses.
    pub fn refused(refusal: Refusal) -> AttemptError {
        AttemptError { message: format!("refused: {refusal}"), permanent: true }
    }
}

impl From<String> for AttemptError {
    /// A failure another attempt may not meet.
    fn from(message: String) -> AttemptError {
        AttemptError { message, permanent: false }
    }
}

impl From<&str> for AttemptError {
    /// A failure another attempt may not meet.
    fn from(message: &str) -> AttemptError {
        AttemptError::from(message.to_owned())
    }
}

struct Senders {
    webhook: WebhookSender,
    xmpp: Option<XmppSender>,
}

/// A claimed job and its parsed target.
struct Job {
    due: DueDelivery,
    target: Result<Target, String>,
}

/// Tells the worker that an attempt ended, even if its task panicked.
struct Finished {
    done: mpsc::UnboundedSender<(String, Instant)>,
    key: String,
    started: Instant,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let _ = self.done.send((std::mem::take(&mut self.key), self.started));
    }
}

/// Runs the delivery worker until `shutdown` completes; attempts in flight then finish
/// (or are taken up again at the next start).
pub async fn run(
    store: Arc<dyn Store>,
    outbox: Arc<Outbox>,
    settings: NotifySettings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let senders = Arc::new(Senders {
        webhook: WebhookSender::new(settings.attempt_timeout, settings.webhook_policy.clone())?,
        xmpp: match settings.xmpp.clone() {
            Some(xmpp) => Some(
                XmppSender::start(xmpp, settings.attempt_timeout)
                    .map_err(|e| format!("cannot start the XMPP connection: {e}"))?,
            ),
            None => None,
        },
    });
    let settings = Arc::new(settings);
    store.release_claims(Timestamp::now()).await.map_err(|e| e.to_string())?;
    let mut dispatch = Dispatch::new(settings.per_host_concurrency, settings.concurrency, settings.attempt_timeout);
    let (done, mut finished) = mpsc::unbounded_channel::<(String, Instant)>();
    // A claimed job is due again if its attempt has not been recorded by then: it may wait
    // for a slot of its host for up to about two attempt times (see `dispatch`), then run.
    let lease = settings.attempt_timeout * 3 + Duration::from_secs(5);
    let mut housekeeping = tokio::time::interval(Duration::from_secs(60));
    tokio::pin!(shutdown);
    loop {
        while let Ok((key, started)) = finished.try_recv() {
            dispatch.finished(&key, started, Instant::now());
        }
        let room = dispatch.room();
        let now = Timestamp::now();
        let lease_end = Instant::now() + lease;
        let due = if room == 0 {
            Vec::new()
        } else {
            match store.claim_deliveries(now, after(now, lease), room).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox");
                    Vec::new()
                }
            }
        };
        let claimed_all = room > 0 && due.len() == room;
        let mut deferred = Vec::new();
        for due in due {
            let target = Target::parse(&due.delivery.target);
            let key = target.as_ref().map(Target::host_key).unwrap_or_default();
            if let Some((job, wait)) = dispatch.admit(key, Job { due, target }, lease_end, Instant::now()) {
                tracing::debug!(delivery = %job.due.delivery.id, ?wait, "the receiving host is busy; job deferred");
                deferred.push((job.due.delivery.id, after(now, wait)));
            }
        }
        while let Some(step) = dispatch.next(Instant::now(), settings.attempt_timeout) {
            match step {
                Step::Start { key, job, started } => {
                    let finished = Finished { done: done.clone(), key, started };
                    let (store, outbox, settings, senders) =
                        (Arc::clone(&store), Arc::clone(&outbox), Arc::clone(&settings), Arc::clone(&senders));
                    tokio::spawn(async move {
                        attempt(&*store, &outbox, &settings, &senders, job, finished).await;
                    });
                }
                Step::Release(job) => deferred.push((job.due.delivery.id, Timestamp::now())),
            }
        }
        if !deferred.is_empty() {
            tokio::spawn(defer(Arc::clone(&store), deferred));
        }
        if claimed_all {
            continue; // more may be due
        }
        let wait = match store.next_delivery_time().await {
            Ok(Some(next)) if room > 0 => {
                Duration::from_millis(next.millis().saturating_sub(Timestamp::now().millis()).max(0) as u64)
            }
            _ => Duration::from_secs(1),
        }
        // Polls now and then also for jobs written by other instances.
        .min(Duration::from_secs(1));
        tokio::select! {
            _ = &mut shutdown => break,
            _ = outbox.wake.notified() => {}
            Some((key, started)) = finished.recv() => dispatch.finished(&key, started, Instant::now()),
            _ = tokio::time::sleep(wait) => {}
            _ = housekeeping.tick() => {
                outbox.counters.log_summary();
                prune(&*store, &settings).await;
            }
        }
    }
    // Jobs still waiting for a slot are due again at once (for another instance, or the
    // next start); attempts in flight record their outcome.
    let waiting: Vec<_> =
        dispatch.drain_waiting().into_iter().map(|job| (job.due.delivery.id, Timestamp::now())).collect();
    let deadline = tokio::time::Instant::now() + settings.attempt_timeout;
    let _ = tokio::time::timeout_at(deadline, defer(Arc::clone(&store), waiting)).await;
    while dispatch.in_flight() > 0 {
        match tokio::time::timeout_at(deadline, finished.recv()).await {
            Ok(Some((key, started))) => dispatch.finished(&key, started, Instant::now()),
            _ => break,
        }
    }
    outbox.counters.log_summary();
    Ok(())
}

/// Hands claimed jobs back to the store, each due at its time, without an attempt.
async fn defer(store: Arc<dyn Store>, jobs: Vec<(ResourceId, Timestamp)>) {
    let now = Timestamp::now();
    let writes = jobs.iter().map(|(id, at)| store.finish_delivery(id, DeliveryOutcome::Deferred { at: *at }, now));
    for (result, (id, _)) in futures_util::future::join_all(writes).await.into_iter().zip(&jobs) {
        if let Err(e) = result {
            tracing::warn!(delivery = %id, error = %e, "cannot defer a job; it is due again when its lease ends");
        }
    }
}

fn after(now: Timestamp, wait: Duration) -> Timestamp {
    Timestamp::from_millis(now.millis().saturating_add(wait.as_millis() as i64)).unwrap_or(now)
}

async fn prune(store: &dyn Store, settings: &NotifySettings) {
    let before = Timestamp::from_millis(Timestamp::now().millis() - settings.retention.as_millis() as i64);
    if let Some(before) = before {
        match store.prune_deliveries(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned delivered notification jobs"),
            Err(e) => tracing::warn!(error = %e, "cannot prune delivered notification jobs"),
        }
    }
}

/// The subject of an XMPP message carrying a drill's log entry (tag `drill`), so that a
/// chat client shows what it is before its JSON body.
pub const DRILL_SUBJECT: &str = "CTP DRILL - this is a drill, not an alert";

/// Sends one job and records the outcome; its slot is free again (`finished`) as soon as
/// the receiver has answered, before the outcome is written.
async fn attempt(
    store: &dyn Store,
    outbox: &Outbox,
    settings: &NotifySettings,
    senders: &Senders,
    job: Job,
    finished: Finished,
) {
    let Job { due: DueDelivery { delivery, log, webhook_secret }, target } = job;
    let log_url = link(&settings.link_base, Kind::Log, &log.id);
    let channel = target.as_ref().map(Target::channel).unwrap_or(Channel::Webhook);
    let handed_over = Timestamp::now();
    let sent = match target {
        Err(e) => Err(AttemptError { message: e, permanent: true }),
        Ok(target) => {
            let body = match serde_json::to_string(&encode::log_entry(&settings.link_base, &log)) {
                Ok(body) => body,
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode a log entry");
                    return;
                }
            };
            match target {
                Target::Webhook(url) => senders.webhook.send(&url, &log_url, body, webhook_secret.as_deref()).await,
                Target::Xmpp(to) => match &senders.xmpp {
                    Some(xmpp) => {
                        let subject =
                            log.tags.iter().any(|t| t == ctp_store::rules::DRILL_TAG).then_some(DRILL_SUBJECT);
                        xmpp.send(to, log_url.clone(), subject, body).await.map_err(AttemptError::from)
                    }
                    None => Err("ctpd has no XMPP account configured (--xmpp-jid)".into()),
                },
            }
        }
    };
    drop(finished);
    let now = Timestamp::now();
    let attempts = delivery.attempts + 1;
    let outcome = match sent {
        Ok(()) => {
            outbox.counters.sent(channel);
            tracing::debug!(delivery = %delivery.id, log = %log_url, channel = channel.as_str(), "notification delivered");
            DeliveryOutcome::Delivered { handed_over }
        }
        Err(AttemptError { message: error, permanent: true }) => {
            outbox.counters.failed(channel);
            tracing::error!(delivery = %delivery.id, %attempts, %error, "notification failed; no attempt can deliver it");
            DeliveryOutcome::Failed { error }
        }
        Err(AttemptError { message: error, .. }) if attempts >= settings.max_attempts => {
            outbox.counters.failed(channel);
            tracing::error!(delivery = %delivery.id, %attempts, %error, "notification failed after its last attempt");
            DeliveryOutcome::Failed { error }
        }
        Err(AttemptError { message: error, .. }) => {
            outbox.counters.retried(channel);
            let wait = settings.backoff(attempts);
            tracing::warn!(delivery = %delivery.id, %attempts, ?wait, %error, "notification attempt failed; will retry");
            DeliveryOutcome::Retry { at: after(now, wait), error }
        }
    };
    if let Err(e) = store.finish_delivery(&delivery.id, outcome, now).await {
        tracing::error!(delivery = %delivery.id, error = %e, "cannot record a delivery attempt; it will be retried");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_bound() {
        let mut settings = NotifySettings::new("http://localhost/api/1.0/".into());
        settings.initial_backoff = Duration::from_millis(100);
        settings.max_backoff = Duration::from_millis(500);
        let waits: Vec<u64> = (1..=6).map(|a| settings.backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500, 500]);
        assert_eq!(settings.backoff(u32::MAX), Duration::from_millis(500));
    }
}

//! The feed's one task: it takes what the sources read, routes each alert into its
//! measurement's window, and commits every changed window as a result, with the file
//! positions, in one transaction per batch. Whatever arrives while a batch commits goes
//! into the next one: a lone alert is pushed at once, a burst costs one push per
//! measurement per commit. Windows also move with time: when the oldest alert of a window
//! ages out, the window is pushed again without it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ctp_model::resources::Measurement;
use ctp_model::{check_result, Column, ResourceId, Timestamp};
use ctp_store::{FeedPosition, Push, StoreError};
use ossec_alerts::Alert;
use ossec_sources::{Arrival, Position, Skipped};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::config::OssecConfig;
use super::counters::{self, FeedCounters};
use super::routing::Router;
use super::window::{alert_time, Offered, Window};
use super::{setup, INTAKE_SOURCE};
use crate::context::AppState;

/// Skipped records logged per arrival (all are counted).
const LOGGED_SKIPS: usize = 5;

/// Most alerts taken into one batch (the rest waits for the next).
const MAX_BATCH_ALERTS: usize = 50_000;

/// Alerts posted to the HTTP intake, answered once committed.
struct Submission {
    alerts: Vec<Alert>,
    done: oneshot::Sender<Result<(), String>>,
}

/// A running feed: what the HTTP intake, `/metrics` and the status call use.
pub struct Feed {
    /// The counters.
    pub counters: FeedCounters,
    /// The routes.
    pub router: Router,
    status: Mutex<BTreeMap<String, SourceStatus>>,
    intake: mpsc::Sender<Submission>,
    /// Whether the HTTP intake is served.
    pub intake_enabled: bool,
}

/// What the feed knows of one source (`GET {base}ossec/status`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// `file`, `syslog` or `intake`.
    pub kind: &'static str,
    /// The file followed (file sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The committed position (file sources): the file read, its byte offset and line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionStatus>,
    /// Alerts read.
    pub alerts: u64,
    /// Records skipped.
    pub skipped: u64,
    /// The time of the newest alert read (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_alert_time: Option<String>,
    /// When the source's last alert was received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_received: Option<String>,
}

/// A committed file position.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionStatus {
    /// The file being read (the followed path, or a rotated copy being finished).
    pub path: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Bytes committed.
    pub offset: u64,
    /// The line there.
    pub line: u64,
    /// Bytes written after it and not yet committed (of this file and the current one).
    pub lag_bytes: u64,
}

/// The addresses the syslog receivers listen on (ephemeral ports resolved).
#[derive(Debug, Clone, Default)]
pub struct Started {
    /// (source, udp, tcp).
    pub syslog: Vec<(String, Option<std::net::SocketAddr>, Option<std::net::SocketAddr>)>,
}

impl Feed {
    /// Each source's status.
    pub fn status(&self) -> BTreeMap<String, SourceStatus> {
        self.status.lock().expect("status lock").clone()
    }

    /// Hands posted alerts to the feed; completes when they are committed (or the feed
    /// failed to commit them).
    pub async fn submit(&self, alerts: Vec<Alert>) -> Result<(), String> {
        let (done, committed) = oneshot::channel();
        self.intake.send(Submission { alerts, done }).await.map_err(|_| "the feed has stopped".to_owned())?;
        committed.await.map_err(|_| "the feed has stopped".to_owned())?
    }

    /// Counts what a source (whose status entry `start` made) read.
    fn note_arrival(&self, source: &str, alerts: &[Alert], skipped: &[Skipped]) {
        if let Some(entry) = self.status.lock().expect("status lock").get_mut(source) {
            entry.alerts += alerts.len() as u64;
            entry.skipped += skipped.len() as u64;
            if let Some(newest) = alerts.iter().map(|a| a.time.as_str()).max() {
                if entry.last_alert_time.as_deref().is_none_or(|t| t < newest) {
                    entry.last_alert_time = Some(newest.to_owned());
                }
                entry.last_received = Some(Timestamp::now().to_string());
            }
        }
        self.counters.received.get_or_create(&counters::source(source)).inc_by(alerts.len() as u64);
        for skip in skipped {
            self.counters.skipped.get_or_create(&counters::skip(source, skip.reason.as_str())).inc();
        }
        // Each skipped record is counted; the log names the first few of an arrival, so that a
        // sender of garbage cannot flood it.
        for skip in skipped.iter().take(LOGGED_SKIPS) {
            tracing::warn!(source, origin = %skip.origin, reason = skip.reason.as_str(), "alert record skipped: {}", skip.detail);
        }
        if skipped.len() > LOGGED_SKIPS {
            tracing::warn!(
                source,
                more = skipped.len() - LOGGED_SKIPS,
                "more alert records skipped (counted in /metrics)"
            );
        }
    }
}

/// Starts the feed of `config` on the server's state: finds the routes' measurements
/// (an error when one is missing: `ctpd ossec setup` makes them), rebuilds the windows from
/// their current results, and starts the sources from their stored positions.
pub async fn start(state: &AppState, config: OssecConfig) -> Result<(Arc<Feed>, Started), String> {
    config.check()?;
    let store = &state.store;
    let router = setup::router(store, &config).await?;
    let now = Timestamp::now();
    let span = (config.window * 1000.0) as i64;
    let mut windows: HashMap<ResourceId, Window> = HashMap::new();
    let mut formats: HashMap<ResourceId, Vec<Column>> = HashMap::new();
    for route in &router.routes {
        if windows.contains_key(&route.measurement) {
            continue;
        }
        let measurement = store.measurement(&route.measurement).await.map_err(|e| e.chain())?;
        let metric = store.metric(&measurement.metric_id).await.map_err(|e| e.chain())?;
        for column in ["time", "level"] {
            if !metric.result_format.iter().any(|c| c.name == column) {
                return Err(format!("route {:?}: its measurement's metric has no {column:?} column", route.name));
            }
        }
        let mut window = Window::default();
        for alert in current_alerts(&measurement) {
            let at = alert_time(&alert, now);
            window.offer(alert, at, now.millis(), span, config.max_rows);
        }
        windows.insert(route.measurement.clone(), window);
        formats.insert(route.measurement.clone(), metric.result_format);
    }
    let positions: HashMap<String, FeedPosition> =
        store.feed_positions().await.map_err(|e| e.chain())?.into_iter().map(|p| (p.source.clone(), p)).collect();

    let (arrivals_tx, arrivals) = mpsc::channel::<Arrival>(64);
    let (intake, submissions) = mpsc::channel::<Submission>(256);
    let mut status = BTreeMap::new();
    let mut started = Started::default();
    let mut file_paths = HashMap::new();
    for file in &config.file {
        let mut source = ossec_sources::file::FileSource::new(Arc::from(file.name.as_str()), file.path.clone());
        source.format = file.format.as_deref().and_then(ossec_alerts::Format::from_name);
        source.rotated = file.rotated.clone();
        if let Some(poll) = file.poll_ms {
            source.poll = Duration::from_millis(poll.max(1));
        }
        let start = positions.get(&file.name).map(|p| Position {
            path: p.path.clone().into(),
            fingerprint: p.fingerprint.clone(),
            offset: p.offset,
            line: p.line,
        });
        status.insert(
            file.name.clone(),
            SourceStatus {
                kind: "file",
                path: Some(file.path.display().to_string()),
                position: start.as_ref().map(|p| position_status(p, &file.path)),
                ..Default::default()
            },
        );
        file_paths.insert(file.name.clone(), file.path.clone());
        let tx = arrivals_tx.clone();
        let name = file.name.clone();
        tokio::spawn(async move {
            if let Err(e) = ossec_sources::file::follow(source, start, tx).await {
                tracing::error!(source = %name, error = %e, "the alert file source stopped");
            }
        });
    }
    for syslog in &config.syslog {
        let mut source = ossec_sources::syslog::SyslogSource::new(syslog.name.as_str());
        source.udp = syslog.udp;
        source.tcp = syslog.tcp;
        source.allow = syslog
            .allow
            .iter()
            .map(|n| {
                crate::notify::policy::parse_network(n).map_err(|e| format!("ossec.syslog {:?}: {e}", syslog.name))
            })
            .collect::<Result<_, _>>()?;
        let bound =
            ossec_sources::syslog::bind(source).await.map_err(|e| format!("ossec.syslog {:?}: {e}", syslog.name))?;
        started.syslog.push((syslog.name.clone(), bound.udp_addr(), bound.tcp_addr()));
        status.insert(syslog.name.clone(), SourceStatus { kind: "syslog", ..Default::default() });
        let tx = arrivals_tx.clone();
        let name = syslog.name.clone();
        tokio::spawn(async move {
            if let Err(e) = bound.run(tx).await {
                tracing::error!(source = %name, error = %e, "the syslog source stopped");
            }
        });
    }
    drop(arrivals_tx);
    if config.intake {
        status.insert(INTAKE_SOURCE.to_owned(), SourceStatus { kind: "intake", ..Default::default() });
    }
    let feed = Arc::new(Feed {
        counters: FeedCounters::default(),
        router,
        status: Mutex::new(status),
        intake,
        intake_enabled: config.intake,
    });
    for name in config.file.iter().map(|f| &f.name).chain(config.syslog.iter().map(|s| &s.name)) {
        let _ = feed.counters.received.get_or_create(&counters::source(name));
    }
    let pipeline = Pipeline {
        state: state.clone(),
        feed: Arc::clone(&feed),
        span,
        cap: config.max_rows,
        windows,
        formats,
        file_paths,
        dirty: BTreeSet::new(),
        positions: BTreeMap::new(),
        waiting: Vec::new(),
        first_received: None,
    };
    tokio::spawn(pipeline.run(arrivals, submissions));
    Ok((feed, started))
}

/// The alerts of a measurement's current result (rows that are not alerts are dropped).
fn current_alerts(measurement: &Measurement) -> Vec<Alert> {
    let Some(raw) = &measurement.result else { return Vec::new() };
    let Ok(result) = serde_json::from_str::<serde_json::Value>(raw) else { return Vec::new() };
    let rows = result.get("value").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    rows.iter().filter_map(Alert::from_json).collect()
}

fn position_status(position: &Position, followed: &std::path::Path) -> PositionStatus {
    let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut lag = size(&position.path).saturating_sub(position.offset);
    if position.path != followed {
        lag += size(followed);
    }
    PositionStatus {
        path: position.path.display().to_string(),
        fingerprint: position.fingerprint.clone(),
        offset: position.offset,
        line: position.line,
        lag_bytes: lag,
    }
}

/// The feed task's state.
struct Pipeline {
    state: AppState,
    feed: Arc<Feed>,
    span: i64,
    cap: usize,
    windows: HashMap<ResourceId, Window>,
    formats: HashMap<ResourceId, Vec<Column>>,
    file_paths: HashMap<String, std::path::PathBuf>,
    /// Measurements whose window changed since the last commit.
    dirty: BTreeSet<ResourceId>,
    /// Positions to commit, by source.
    positions: BTreeMap<String, Position>,
    /// Intake callers waiting for the commit.
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
    first_received: Option<Instant>,
}

impl Pipeline {
    async fn run(mut self, mut arrivals: mpsc::Receiver<Arrival>, mut submissions: mpsc::Receiver<Submission>) {
        let mut arrivals_open = true;
        loop {
            let deadline = self.next_expiry();
            tokio::select! {
                arrival = arrivals.recv(), if arrivals_open => match arrival {
                    Some(arrival) => self.take_arrival(arrival),
                    None => arrivals_open = false,
                },
                submission = submissions.recv() => match submission {
                    Some(submission) => self.take_submission(submission),
                    None => return,
                },
                _ = sleep_until_millis(deadline) => {}
            }
            // Everything that came while the last batch committed joins this one.
            let mut taken = 0;
            while taken < MAX_BATCH_ALERTS {
                if let Ok(arrival) = arrivals.try_recv() {
                    taken += arrival.alerts.len().max(1);
                    self.take_arrival(arrival);
                } else if let Ok(submission) = submissions.try_recv() {
                    taken += submission.alerts.len().max(1);
                    self.take_submission(submission);
                } else {
                    break;
                }
            }
            let now = Timestamp::now().millis();
            for (id, window) in &mut self.windows {
                if window.expire(now, self.span) {
                    self.dirty.insert(id.clone());
                }
            }
            self.commit().await;
        }
    }

    fn next_expiry(&self) -> Option<i64> {
        self.windows.values().filter_map(|w| w.next_expiry(self.span)).min()
    }

    fn take_arrival(&mut self, arrival: Arrival) {
        self.feed.note_arrival(&arrival.source, &arrival.alerts, &arrival.skipped);
        self.route(&arrival.source, arrival.alerts);
        if let Some(position) = arrival.position {
            self.positions.insert(arrival.source.to_string(), position);
        }
    }

    fn take_submission(&mut self, submission: Submission) {
        self.feed.note_arrival(INTAKE_SOURCE, &submission.alerts, &[]);
        self.route(INTAKE_SOURCE, submission.alerts);
        self.waiting.push(submission.done);
    }

    fn route(&mut self, source: &str, alerts: Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        self.first_received.get_or_insert_with(Instant::now);
        let received = Timestamp::now();
        let label = counters::source(source);
        for alert in alerts {
            let Some(index) = self.feed.router.route(&alert) else {
                self.feed.counters.unrouted.get_or_create(&label).inc();
                continue;
            };
            self.feed.counters.routed.get_or_create(&label).inc();
            let measurement = &self.feed.router.routes[index].measurement;
            let Some(window) = self.windows.get_mut(measurement) else { continue };
            let at = alert_time(&alert, received);
            match window.offer(alert, at, received.millis(), self.span, self.cap) {
                Offered::Kept => {
                    self.dirty.insert(measurement.clone());
                }
                Offered::Duplicate => {
                    self.feed.counters.not_kept.get_or_create(&counters::skip(source, "duplicate")).inc();
                }
                Offered::TooOld => {
                    self.feed.counters.not_kept.get_or_create(&counters::skip(source, "too_old")).inc();
                }
            }
        }
    }

    /// Commits the changed windows and the positions; tries again (after a pause) until it
    /// succeeds, dropping the windows of measurements that no longer take results.
    async fn commit(&mut self) {
        if self.dirty.is_empty() && self.positions.is_empty() && self.waiting.is_empty() {
            return;
        }
        let mut pause = Duration::from_millis(100);
        loop {
            match self.try_commit().await {
                Ok(()) => break,
                Err(message) => {
                    self.feed.counters.failed_batches.inc();
                    tracing::error!("the OSSEC feed could not commit a batch (tried again in {pause:?}): {message}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.feed.counters.batches.inc();
        if let Some(first) = self.first_received.take() {
            self.feed.counters.batch_seconds.observe(first.elapsed().as_secs_f64());
        }
        for done in self.waiting.drain(..) {
            let _ = done.send(Ok(()));
        }
    }

    async fn try_commit(&mut self) -> Result<(), String> {
        let now = Timestamp::now();
        let mut pushes: Vec<Push> = Vec::with_capacity(self.dirty.len());
        let mut gone = Vec::new();
        for id in &self.dirty {
            let measurement = match self.state.store.measurement(id).await {
                Ok(measurement) => measurement,
                Err(StoreError::NotFound(..)) => {
                    gone.push(id.clone());
                    continue;
                }
                Err(e) => return Err(e.chain()),
            };
            if ctp_store::checks::accepts_results(&measurement).is_err() {
                gone.push(id.clone());
                continue;
            }
            let text = self.windows[id].result_text(now);
            let checked = check_result(&text, &self.formats[id], now).map_err(|e| format!("measurement {id}: {e}"))?;
            let push = crate::push::evaluate_ahead(&self.state, &measurement, checked, now)
                .await
                .map_err(|e| format!("measurement {id}: {}", e.message))?;
            pushes.push(push);
        }
        for id in gone {
            tracing::error!(measurement = %id, "an OSSEC route's measurement was deleted or does not take results: its alerts are dropped until it is back");
            self.dirty.remove(&id);
            if let Some(window) = self.windows.get_mut(&id) {
                *window = Window::default();
            }
        }
        let positions: Vec<FeedPosition> = self
            .positions
            .iter()
            .map(|(source, p)| FeedPosition {
                source: source.clone(),
                path: p.path.display().to_string(),
                fingerprint: p.fingerprint.clone(),
                offset: p.offset,
                line: p.line,
                update_time: now,
            })
            .collect();
        let outcomes = self.state.store.push_results(pushes, positions, now).await.map_err(|e| e.chain())?;
        if outcomes.iter().any(|o| !o.logs.is_empty()) {
            self.state.outbox.wake();
        }
        self.dirty.clear();
        // The files' sizes are read before the status is locked.
        let committed: Vec<(String, PositionStatus)> = std::mem::take(&mut self.positions)
            .into_iter()
            .filter_map(|(source, p)| self.file_paths.get(&source).map(|f| (source, position_status(&p, f))))
            .collect();
        let mut status = self.feed.status.lock().expect("status lock");
        for (source, position) in committed {
            self.feed.counters.file_lag_bytes.get_or_create(&counters::source(&source)).set(position.lag_bytes as i64);
            if let Some(entry) = status.get_mut(&source) {
                entry.position = Some(position);
            }
        }
        Ok(())
    }
}

async fn sleep_until_millis(deadline: Option<i64>) {
    match deadline {
        Some(at) => {
            let wait = (at - Timestamp::now().millis()).max(0) as u64;
            tokio::time::sleep(Duration::from_millis(wait)).await
        }
        None => std::future::pending().await,
    }
}

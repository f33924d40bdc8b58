//! Conditions that read the clock, re-evaluated by it (issue 13). A condition that uses
//! `timeUTC("now")` (known from its compiled form: `Condition::reads_clock`) can change
//! outcome with no new result: a freshness objective `timeUTC("now") - timeUTC(updateTime) <
//! 3600` goes false when the agent falls silent. Every tick, the store hands over the
//! measurements watched for such conditions that are due ([`ctp_store::Store::claim_clock_work`]);
//! their clock-reading conditions are evaluated on the current result at the tick's time, on
//! a blocking thread, and the store applies the outcomes by the rules of a push
//! ([`ctp_store::Store::apply_clock_round`]), in one transaction per round of at most
//! [`ROUND_SIZE`] measurements. Measurements found without such a condition stop being
//! watched, so a server without any pays one indexed query per tick.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ctp_model::{ConditionCache, Evaluations, Timestamp};
use ctp_store::{ClockItem, ClockRound, ClockWork};

use crate::context::AppState;

/// Most measurements evaluated in one round (one transaction).
pub const ROUND_SIZE: usize = 5_000;

/// Where the timer reads the time: the system clock, or one a test sets.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until it is set (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> ManualClock {
        ManualClock(Mutex::new(now))
    }

    /// Moves it by `seconds` (forward when positive).
    pub fn advance(&self, seconds: f64) {
        let mut now = self.0.lock().expect("clock lock");
        *now = Timestamp::from_millis(now.millis() + (seconds * 1000.0) as i64).expect("a representable time");
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Rounds (transactions).
    pub rounds: usize,
    /// Measurements whose clock-reading conditions were evaluated.
    pub evaluated: usize,
    /// Measurements found without a clock-reading condition, no longer watched.
    pub unwatched: usize,
    /// Log entries written (alerts and error entries).
    pub logs: usize,
}

/// One tick at the state's clock: every due measurement, in rounds; they are due again one
/// `tick` later.
pub async fn tick(state: &AppState, tick: Duration) -> Result<TickReport, String> {
    let now = state.clock.now();
    let next = Timestamp::from_millis(now.millis() + tick.as_millis() as i64).unwrap_or(now);
    let mut report = TickReport::default();
    loop {
        let work = state.store.claim_clock_work(now, next, ROUND_SIZE).await.map_err(|e| e.chain())?;
        let claimed = work.len();
        if claimed == 0 {
            break;
        }
        let cache = Arc::clone(&state.conditions);
        let round = tokio::task::spawn_blocking(move || build_round(&cache, work, now))
            .await
            .map_err(|e| format!("evaluating a clock round failed: {e}"))?;
        report.rounds += 1;
        report.evaluated += round.items.len();
        report.unwatched += round.unwatch.len();
        let logs = state.store.apply_clock_round(round, now).await.map_err(|e| e.chain())?;
        if !logs.is_empty() {
            state.outbox.wake();
        }
        report.logs += logs.len();
        if claimed < ROUND_SIZE {
            break;
        }
    }
    Ok(report)
}

/// Which conditions of the claimed measurements read the clock, and their outcomes at `now`.
fn build_round(cache: &Arc<ConditionCache>, work: Vec<ClockWork>, now: Timestamp) -> ClockRound {
    // A condition that does not compile (it did when it was set) is not the clock's business.
    let reads_clock = |source: &str| cache.get(source).is_ok_and(|c| c.reads_clock());
    let mut round = ClockRound::default();
    for ClockWork { measurement, triggers } in work {
        let objective = measurement.objective.as_ref().filter(|o| reads_clock(&o.condition));
        let clocked: Vec<_> = triggers.iter().filter(|t| reads_clock(&t.evaluated.condition)).collect();
        if objective.is_none() && clocked.is_empty() {
            round.unwatch.push(measurement.id);
            continue;
        }
        // Without a result there is nothing to evaluate yet (the objective is "false"); it
        // stays watched.
        let Some(value) = measurement.result.as_deref().and_then(|raw| serde_json::from_str(raw).ok()) else {
            continue;
        };
        let sources = objective
            .map(|o| o.condition.as_str())
            .into_iter()
            .chain(clocked.iter().map(|t| t.evaluated.condition.as_str()));
        let evaluations = Evaluations::ahead(Arc::clone(cache), sources, &value, now.seconds());
        round.items.push(ClockItem {
            measurement_id: measurement.id,
            objective: objective.is_some(),
            triggers: clocked.iter().map(|t| t.id.clone()).collect(),
            evaluations: Arc::new(evaluations),
        });
    }
    round
}

/// Ticks every `every` until the process ends; a failed tick is logged and the next one
/// tries again.
pub async fn run(state: AppState, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match tick(&state, every).await {
            Ok(report) if report.logs > 0 || report.unwatched > 0 => tracing::debug!(?report, "clock tick"),
            Ok(_) => {}
            Err(e) => tracing::error!("a clock tick failed (tried again at the next): {e}"),
        }
    }
}

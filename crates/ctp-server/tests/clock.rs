//! Conditions that read the clock, re-evaluated by the timer (issue 13), with a clock the
//! test controls (`ctp_server::timer::ManualClock`) and ticks the test runs
//! (`ctp_server::timer::tick`), on the backend under test: silence makes a freshness
//! objective false and fires a freshness trigger (with its outbox job), by the rules of a
//! push (guard time, error entries); conditions without `now` are never touched; two
//! instances on one store evaluate each due condition once.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use ctp_model::Timestamp;
use ctp_server::notify::policy::WebhookPolicy;
use ctp_server::timer::{self, ManualClock, TickReport};
use ctp_server::{AppState, ServerConfig};
use ctp_test_support::{api_path, link, Client, TestServer, Tree};
use serde_json::{json, Value};

const TICK: Duration = Duration::from_secs(10);
const FRESH: &str = r#"timeUTC("now") - timeUTC(updateTime) < 600"#;
const SILENT: &str = r#"timeUTC("now") - timeUTC(updateTime) > 600"#;

struct World {
    server: TestServer,
    clock: Arc<ManualClock>,
    tree: Tree,
    agent: Client,
    customer: Client,
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let config = ServerConfig {
        webhook_policy: WebhookPolicy { allow_private: true, ..WebhookPolicy::default() },
        ..ServerConfig::default()
    };
    let server = TestServer::start_with_clock(config, clock.clone()).await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let agent = server.client(&server.account(&["role:agent", "tenant:a"]).await);
    let customer = server.client(&server.account(&["role:user", "tenant:a"]).await);
    World { server, clock, tree, agent, customer }
}

impl World {
    fn measurement(&self) -> String {
        api_path(&link(&self.tree.measurement))
    }

    async fn push(&self, level: i64) {
        let result = json!({"result": {"value": [{"level": level}], "updateTime": self.clock.now_text()}});
        let (status, body) = self.agent.put(&format!("{}?x=result", self.measurement()), result).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn set_objective(&self, condition: &str) {
        let (status, body) = self
            .server
            .admin()
            .put(&format!("{}?x=objective", self.measurement()), json!({"objective": {"condition": condition}}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn trigger(&self, condition: &str, guard_time: f64) -> String {
        let created = self
            .customer
            .create(
                &format!("{}/triggers", api_path(&link(&self.tree.view))),
                json!({"name": "silence", "measurement": link(&self.tree.measurement), "condition": condition,
                       "notification": "http://127.0.0.1:9/hook", "guardTime": guard_time}),
            )
            .await;
        api_path(&link(&created))
    }

    async fn tick(&self) -> TickReport {
        timer::tick(&self.server.state, TICK).await.expect("a tick")
    }

    async fn get(&self, path: &str) -> Value {
        self.server.admin().get_ok(path).await
    }

    async fn logs(&self) -> Vec<Value> {
        let logs = self.get(&format!("{}/logs", api_path(&link(&self.tree.view)))).await;
        logs["collection"].as_array().cloned().unwrap_or_default()
    }
}

trait ClockText {
    fn now_text(&self) -> String;
}

impl ClockText for ManualClock {
    fn now_text(&self) -> String {
        ctp_server::timer::Clock::now(self).to_string()
    }
}

#[tokio::test]
async fn silence_makes_a_freshness_objective_false_and_fires_a_freshness_trigger() {
    let w = world().await;
    w.set_objective(FRESH).await;
    w.push(3).await;
    let trigger = w.trigger(SILENT, 3600.0).await;
    let pushed = w.get(&w.measurement()).await;
    assert_eq!(pushed["objective"]["status"], "true");

    // While results are fresh, a tick changes nothing and writes nothing.
    w.clock.advance(300.0);
    let report = w.tick().await;
    assert_eq!((report.evaluated, report.logs), (1, 0), "{report:?}");
    assert_eq!(w.get(&w.measurement()).await["objective"], pushed["objective"], "an unchanged status is not rewritten");

    // Silent for more than 600 s: within one tick, the objective is false and the trigger fires.
    w.clock.advance(301.0);
    let silent_at = ctp_server::timer::Clock::now(&*w.clock);
    let report = w.tick().await;
    assert_eq!(report.logs, 1, "{report:?}");
    let measurement = w.get(&w.measurement()).await;
    assert_eq!(measurement["objective"]["status"], "false");
    assert_eq!(measurement["objective"]["statusUpdateTime"], silent_at.to_string(), "the time of the change");
    let fired = w.get(&trigger).await;
    assert_eq!(fired["status"], "true");
    let logs = w.logs().await;
    assert_eq!(logs.len(), 1);
    let entry = w.get(&api_path(logs[0]["link"].as_str().unwrap())).await;
    assert_eq!(entry["result"]["value"][0]["level"], 3, "the entry carries the current result: {entry}");
    let jobs = w.get("deliveries").await;
    assert_eq!(jobs["collectionLength"], 1, "a notification job in the outbox: {jobs}");

    // Within the guard time, no new alert though still silent; after it, another.
    w.clock.advance(600.0);
    assert_eq!(w.tick().await.logs, 0);
    w.clock.advance(3001.0);
    assert_eq!(w.tick().await.logs, 1, "the guard time passed and the condition still holds");
    assert_eq!(w.logs().await.len(), 2);

    // A new result makes it fresh again: the push evaluates it, and the timer agrees.
    w.push(4).await;
    assert_eq!(w.get(&w.measurement()).await["objective"]["status"], "true");
    w.clock.advance(10.0);
    assert_eq!(w.tick().await.logs, 0);
    assert_eq!(w.get(&w.measurement()).await["objective"]["status"], "true");
}

#[tokio::test]
async fn conditions_without_now_are_never_touched_by_the_timer() {
    let w = world().await;
    w.push(8).await;
    let trigger = w.trigger("value[0].level >= 7", 0.0).await;
    let before = (w.get(&w.measurement()).await, w.get(&trigger).await, w.logs().await.len());
    w.clock.advance(60.0);
    let report = w.tick().await;
    assert_eq!((report.evaluated, report.unwatched), (0, 1), "found without a clock-reading condition: {report:?}");
    w.clock.advance(60.0);
    assert_eq!(w.tick().await, TickReport::default(), "no longer watched: nothing claimed");
    let after = (w.get(&w.measurement()).await, w.get(&trigger).await, w.logs().await.len());
    assert_eq!(before, after, "statuses, their times and the logs are untouched");
    // A clock-reading objective set later is watched again.
    w.set_objective(FRESH).await;
    w.clock.advance(700.0);
    let report = w.tick().await;
    assert_eq!(report.evaluated, 1, "{report:?}");
    assert_eq!(w.get(&w.measurement()).await["objective"]["status"], "false");
}

#[tokio::test]
async fn an_error_of_a_clock_condition_is_logged_once() {
    let w = world().await;
    w.push(3).await;
    w.trigger(r#"timeUTC("now") - timeUTC(value[0].missing.field) > 1"#, 0.0).await;
    // The trigger's creation evaluated it already: the error entry is there.
    let first = w.logs().await.len();
    assert_eq!(first, 1);
    for _ in 0..3 {
        w.clock.advance(20.0);
        assert_eq!(w.tick().await.logs, 0, "an error sticks: the trigger must be replaced");
    }
    assert_eq!(w.logs().await.len(), first);
}

#[tokio::test]
async fn two_instances_on_one_store_evaluate_each_condition_once() {
    let w = world().await;
    w.set_objective(FRESH).await;
    w.push(3).await;
    w.trigger(SILENT, 0.0).await;
    // A second instance: its own connection to the store (its own pool on PostgreSQL), the
    // same clock.
    let mut other = AppState::new(w.server.location.open().await, ServerConfig::default());
    other.clock = w.clock.clone();
    w.clock.advance(601.0);
    let (a, b) = tokio::join!(timer::tick(&w.server.state, TICK), timer::tick(&other, TICK));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.evaluated + b.evaluated, 1, "{a:?} {b:?}");
    assert_eq!(a.logs + b.logs, 1);
    assert_eq!(w.logs().await.len(), 1, "the trigger fired once");
}

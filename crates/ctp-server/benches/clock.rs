//! What a tick of the clock timer costs (issue 13, item 2): 100 000 measurements (built through
//! the store's import, on the backend under test), of which 10 000 carry a freshness objective
//! (`timeUTC("now") - timeUTC(updateTime) < 600`) and 90 000 an objective without `now`. Figures:
//! process CPU time and wall time of one tick, (1) the first (it finds the 90 000 without a
//! clock-reading condition and stops watching them), (2) steady ticks while all are fresh
//! (nothing written), (3) the tick where all 10 000 go stale (10 000 statuses written), and,
//! the reference measured in the same run, (4) a tick on the same store once no measurement
//! reads the clock. Run with `scripts/bench-clock`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ctp_model::resources::{Header, MeasurementState};
use ctp_model::{check_result, Column, ConditionCache, ResourceId, Timestamp, ValueType};
use ctp_server::timer::{self, ManualClock};
use ctp_server::{AppState, ServerConfig};
use ctp_store::{NewAsset, NewAttribute, NewMeasurement, NewMetric, NewView};
use ctp_test_support::StoreLocation;

const MEASUREMENTS: usize = 100_000;
const FRESHNESS: usize = 10_000;
const TICK: Duration = Duration::from_secs(10);

fn cpu_seconds() -> f64 {
    // utime + stime of the whole process, in clock ticks (100 per second), from /proc.
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat.rsplit_once(')').expect("a stat line").1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

async fn measured(state: &AppState, what: &str) -> timer::TickReport {
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    let report = timer::tick(state, TICK).await.expect("a tick");
    println!(
        "{what:<58} cpu {:>7.3} s  wall {:>7.3} s  evaluated {:>6}  unwatched {:>6}  rounds {}",
        cpu_seconds() - cpu,
        wall.elapsed().as_secs_f64(),
        report.evaluated,
        report.unwatched,
        report.rounds
    );
    report
}

fn header(name: &str) -> Header {
    Header { name: name.into(), annotation: String::new() }
}

#[tokio::main]
async fn main() {
    let now = Timestamp::now();
    let conditions = Arc::new(ConditionCache::default());
    // A template: one measurement of each kind, exported, then copied into a dump.
    let template = StoreLocation::new().await;
    let store = template.open().await;
    let view = store.create_view(None, NewView { header: header("view"), ..NewView::default() }).await.unwrap();
    let asset =
        store.create_asset(&view.id, NewAsset { header: header("asset"), ..NewAsset::default() }).await.unwrap();
    let attribute = store
        .create_attribute(&asset.id, NewAttribute { header: header("a"), ..NewAttribute::default() })
        .await
        .unwrap();
    let columns = vec![Column { name: "level".into(), value_type: ValueType::Number }];
    let metric = store
        .create_metric(NewMetric { header: header("m"), result_format: columns.clone(), ..NewMetric::default() })
        .await
        .unwrap();
    let result = format!(r#"{{"value": [{{"level": 1}}], "updateTime": "{now}"}}"#);
    for objective in [r#"timeUTC("now") - timeUTC(updateTime) < 600"#, "value[0].level < 10"] {
        store
            .create_measurement(
                &attribute.id,
                NewMeasurement {
                    header: header("x"),
                    metric_id: metric.id.clone(),
                    objective: Some(objective.into()),
                    result: Some(check_result(&result, &columns, now).unwrap()),
                    triggers_allowed: true,
                    user_activated: false,
                    state: MeasurementState::Activated,
                    access_tags: None,
                    signed_results_required: false,
                },
                now,
                &conditions,
            )
            .await
            .unwrap();
    }
    let mut dump = store.export().await.unwrap();
    let table = dump.tables.iter_mut().find(|t| t.name == "measurements").unwrap();
    let id_column = table.columns.iter().position(|c| c == "id").unwrap();
    let (fresh, plain) = (table.rows[0].clone(), table.rows[1].clone());
    table.rows = (0..MEASUREMENTS)
        .map(|i| {
            let mut row = if i % (MEASUREMENTS / FRESHNESS) == 0 { fresh.clone() } else { plain.clone() };
            row[id_column] = serde_json::Value::String(ResourceId::generate().to_string());
            row
        })
        .collect();
    for table in dump.tables.iter_mut().filter(|t| t.name == "clock_watch") {
        table.rows.clear(); // the import watches what it must
    }
    let location = StoreLocation::new().await;
    let store = location.open().await;
    let began = Instant::now();
    store.import(dump).await.unwrap();
    println!(
        "{MEASUREMENTS} measurements ({FRESHNESS} with a freshness objective) imported in {:.1} s",
        began.elapsed().as_secs_f64()
    );

    let clock = Arc::new(ManualClock::new(now));
    let mut state = AppState::new(store, ServerConfig::default());
    state.clock = clock.clone();
    clock.advance(10.0);
    measured(&state, "1. first tick (finds 90 000 without now)").await;
    for _ in 0..3 {
        clock.advance(10.0);
        measured(&state, "2. steady tick, 10 000 fresh (nothing written)").await;
    }
    clock.advance(600.0);
    measured(&state, "3. the tick where 10 000 go stale (10 000 writes)").await;
    clock.advance(10.0);
    measured(&state, "2'. steady tick, 10 000 stale").await;

    // The reference: the same store once nothing reads the clock.
    let reference = StoreLocation::new().await;
    let store = reference.open().await;
    let mut dump = state.store.export().await.unwrap();
    for table in dump.tables.iter_mut().filter(|t| t.name == "measurements") {
        let condition = table.columns.iter().position(|c| c == "objective_condition").unwrap();
        for row in &mut table.rows {
            row[condition] = serde_json::Value::String("value[0].level < 10".into());
        }
    }
    store.import(dump).await.unwrap();
    let mut none = AppState::new(store, ServerConfig::default());
    none.clock = clock.clone();
    clock.advance(10.0);
    measured(&none, "4. reference, no condition reads the clock: first tick").await;
    clock.advance(10.0);
    measured(&none, "4. reference, no condition reads the clock: steady tick").await;
}

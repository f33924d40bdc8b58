//! The contract of `ctp_store::Store` that every backend honours. Its tests are in `tests/`
//! and run against an `Arc<dyn Store>` of the backend under test, opened by
//! `ctp_test_support::StoreLocation` (SQLite by default, PostgreSQL with
//! `CTPD_TEST_BACKEND=postgres` and `CTPD_TEST_POSTGRES_URL`); this library holds the
//! fixture they start from.

use std::sync::Arc;

use ctp_model::resources::{Header, MeasurementState};
use ctp_model::{check_result, Column, ConditionCache, Evaluations, ResourceId, Timestamp, ValueType};
use ctp_store::{LogFilter, NewAsset, NewAttribute, NewMeasurement, NewMetric, NewTrigger, NewView, Store};
use ctp_test_support::StoreLocation;

/// A store of the backend under test with one service view (tagged `account:c1`), asset,
/// attribute, metric (one number column, `level`) and measurement (objective `level < 10`).
pub struct Fixture {
    /// The location.
    pub location: StoreLocation,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The conditions.
    pub conditions: Arc<ConditionCache>,
    /// The view.
    pub view: ResourceId,
    /// The asset.
    pub asset: ResourceId,
    /// The attribute.
    pub attribute: ResourceId,
    /// The metric.
    pub metric: ResourceId,
    /// The measurement.
    pub measurement: ResourceId,
}

/// A time `seconds` after the fixture's epoch.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000 + seconds * 1000).unwrap()
}

/// A header with this name.
pub fn named(name: &str) -> Header {
    Header { name: name.into(), annotation: String::new() }
}

/// The metric's result format: one number column, `level`.
pub fn columns() -> Vec<Column> {
    vec![Column { name: "level".into(), value_type: ValueType::Number }]
}

/// A new fixture; its measurement is user-activated (and then deactivated) or pending.
pub async fn fixture(user_activated: bool) -> Fixture {
    let location = StoreLocation::new().await;
    let store = location.open().await;
    let view = store
        .create_view(
            None,
            NewView {
                header: named("glucose cloud"),
                provider: "Acme".into(),
                access_tags: Some(vec!["account:c1".into()]),
                ..NewView::default()
            },
        )
        .await
        .unwrap();
    let asset = store.create_asset(&view.id, NewAsset { header: named("api"), ..NewAsset::default() }).await.unwrap();
    let attribute = store
        .create_attribute(&asset.id, NewAttribute { header: named("intrusions"), ..NewAttribute::default() })
        .await
        .unwrap();
    let metric = store
        .create_metric(NewMetric { header: named("ossec-level"), result_format: columns(), ..NewMetric::default() })
        .await
        .unwrap();
    let conditions = Arc::new(ConditionCache::default());
    let measurement = store
        .create_measurement(
            &attribute.id,
            NewMeasurement {
                header: named("max level"),
                metric_id: metric.id.clone(),
                objective: Some("value[0].level < 10".into()),
                result: None,
                triggers_allowed: true,
                user_activated,
                state: if user_activated { MeasurementState::Deactivated } else { MeasurementState::Pending },
                access_tags: None,
                signed_results_required: false,
            },
            at(0),
            &conditions,
        )
        .await
        .unwrap();
    Fixture {
        location,
        store,
        conditions,
        view: view.id,
        asset: asset.id,
        attribute: attribute.id,
        metric: metric.id,
        measurement: measurement.id,
    }
}

/// A result of one row with this `level`, pushed at `time`.
pub fn level(level: i64, time: Timestamp) -> ctp_model::CheckedResult {
    check_result(&format!(r#"{{"value": [{{"level": {level}}}]}}"#), &columns(), time).unwrap()
}

impl Fixture {
    /// Outcomes evaluated in the push's transaction (none ahead).
    pub fn evaluations(&self) -> Arc<Evaluations> {
        Arc::new(Evaluations::none(Arc::clone(&self.conditions)))
    }

    /// A trigger on the measurement, created at `now`.
    pub async fn trigger(&self, condition: &str, guard_time: f64, now: Timestamp) -> ResourceId {
        let new = NewTrigger {
            header: named("alert"),
            measurement_id: self.measurement.clone(),
            condition: condition.into(),
            notification: String::new(),
            guard_time,
            tags: vec!["severity:high".into()],
            owner_id: None,
            owner_tags: vec!["*".into()],
        };
        self.store.create_trigger(&self.view, new, now, self.evaluations()).await.unwrap().0.id
    }

    /// Pushes a level; returns how many log entries it wrote.
    pub async fn push(&self, value: i64, now: Timestamp) -> usize {
        self.store.push_result(&self.measurement, level(value, now), now, self.evaluations()).await.unwrap().logs.len()
    }

    /// How many log entries the service view has.
    pub async fn log_count(&self) -> u64 {
        self.store.logs(Some(&self.view), &LogFilter::default(), None).await.unwrap().0
    }
}

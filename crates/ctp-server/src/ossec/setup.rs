//! `ctpd ossec setup` and the feed's start: the metric of alert windows, and for each
//! route its measurement under the service view, asset and attribute the configuration
//! names. Setup creates what is missing (and finds what exists, so running it twice
//! changes nothing); the feed only finds.

use std::sync::Arc;

use ctp_model::resources::{MeasurementState, Member};
use ctp_model::{ConditionCache, ResourceId, ValueType};
use ctp_store::{NewAsset, NewAttribute, NewMeasurement, NewMetric, NewView, Store, StoreError, StoreResult};

use super::config::OssecConfig;
use super::routing::{Route, Router};
use crate::demo::{columns, header, parameter};

/// The name of the metric of alert windows.
pub const METRIC_NAME: &str = "ossec-alerts";

/// What setup did: each resource's id and whether it was created now.
#[derive(Debug, Clone, Default)]
pub struct SetupReport {
    /// (kind, name, id, created).
    pub resources: Vec<(&'static str, String, ResourceId, bool)>,
}

/// The metric's columns: `ossec_alerts::COLUMNS`, `level` and `rule` numbers.
pub fn result_format() -> Vec<ctp_model::Column> {
    let spec: Vec<(&str, ValueType)> = ossec_alerts::COLUMNS
        .iter()
        .map(|name| (*name, if matches!(*name, "level" | "rule") { ValueType::Number } else { ValueType::String }))
        .collect();
    columns(&spec)
}

fn named<'a>(members: &'a [Member], name: &str) -> Option<&'a Member> {
    members.iter().find(|m| m.name == name)
}

/// The attribute holding the routes' measurements (under the configured service view and
/// asset), when it exists.
async fn find_attribute(store: &Arc<dyn Store>, config: &OssecConfig) -> StoreResult<Option<ResourceId>> {
    let setup = &config.setup;
    let Some(view) = named(&store.service_views().await?, &setup.service_view).map(|m| m.id.clone()) else {
        return Ok(None);
    };
    let Some(asset) = named(&store.assets(&view).await?, &setup.asset).map(|m| m.id.clone()) else {
        return Ok(None);
    };
    Ok(named(&store.attributes(&asset).await?, &setup.attribute).map(|m| m.id.clone()))
}

/// The routes of the configuration with their measurements; an error names a route whose
/// measurement does not exist (run `ctpd ossec setup`) or a bad pattern.
pub async fn router(store: &Arc<dyn Store>, config: &OssecConfig) -> Result<Router, String> {
    let attribute = find_attribute(store, config).await.map_err(|e| e.chain())?;
    let in_attribute = match &attribute {
        Some(attribute) => store.measurements(attribute).await.map_err(|e| e.chain())?,
        None => Vec::new(),
    };
    let mut routes = Vec::new();
    for route in &config.route {
        let measurement = match &route.measurement {
            Some(id) => {
                let id =
                    ResourceId::parse(id).map_err(|e| format!("route {:?}: measurement {id:?}: {e}", route.name))?;
                store.measurement(&id).await.map_err(|e| format!("route {:?}: {}", route.name, e.chain()))?;
                id
            }
            None => named(&in_attribute, &route.name).map(|m| m.id.clone()).ok_or_else(|| {
                format!(
                    "route {:?} has no measurement of that name under {:?} / {:?} / {:?}: run `ctpd ossec setup`",
                    route.name, config.setup.service_view, config.setup.asset, config.setup.attribute
                )
            })?,
        };
        routes.push(Route::compile(route, measurement)?);
    }
    Ok(Router { routes })
}

/// Creates what is missing: the metric, the service view, asset and attribute, and a
/// measurement per route that has no `measurement` id.
pub async fn setup(
    store: &Arc<dyn Store>,
    conditions: &Arc<ConditionCache>,
    config: &OssecConfig,
) -> StoreResult<SetupReport> {
    let mut report = SetupReport::default();
    let setup = &config.setup;
    let metric = match named(&store.metrics().await?, METRIC_NAME) {
        Some(metric) => report_found(&mut report, "metric", METRIC_NAME, metric.id.clone()),
        None => {
            let metric = store
                .create_metric(NewMetric {
                    header: header(METRIC_NAME, "OSSEC/Wazuh alerts of a window: one row per alert, oldest first"),
                    base_metric: "https://ctpd.example/metrics/ossec-alerts".into(),
                    parameters: vec![
                        parameter("window_seconds", serde_json::json!(config.window)),
                        parameter("max_rows", serde_json::json!(config.max_rows)),
                    ],
                    result_format: result_format(),
                    access_tags: None,
                    signed_results_required: false,
                })
                .await?;
            report_created(&mut report, "metric", METRIC_NAME, metric.id)
        }
    };
    let view = match named(&store.service_views().await?, &setup.service_view) {
        Some(view) => report_found(&mut report, "service view", &setup.service_view, view.id.clone()),
        None => {
            let view = store
                .create_view(
                    None,
                    NewView {
                        header: header(&setup.service_view, "intrusion alerts of OSSEC/Wazuh"),
                        provider: setup.provider.clone(),
                        service_class: None,
                        access_tags: Some(setup.access_tags.clone()),
                    },
                )
                .await?;
            report_created(&mut report, "service view", &setup.service_view, view.id)
        }
    };
    let asset = match named(&store.assets(&view).await?, &setup.asset) {
        Some(asset) => report_found(&mut report, "asset", &setup.asset, asset.id.clone()),
        None => {
            let asset = store
                .create_asset(
                    &view,
                    NewAsset {
                        header: header(&setup.asset, "the manager collecting the agents' alerts"),
                        asset_class: None,
                        access_tags: None,
                    },
                )
                .await?;
            report_created(&mut report, "asset", &setup.asset, asset.id)
        }
    };
    let attribute = match named(&store.attributes(&asset).await?, &setup.attribute) {
        Some(attribute) => report_found(&mut report, "attribute", &setup.attribute, attribute.id.clone()),
        None => {
            let attribute = store
                .create_attribute(
                    &asset,
                    NewAttribute { header: header(&setup.attribute, "alerts per route"), access_tags: None },
                )
                .await?;
            report_created(&mut report, "attribute", &setup.attribute, attribute.id)
        }
    };
    let measurements = store.measurements(&attribute).await?;
    for route in config.route.iter().filter(|r| r.measurement.is_none()) {
        if let Some(found) = named(&measurements, &route.name) {
            report_found(&mut report, "measurement", &route.name, found.id.clone());
            continue;
        }
        if let Some(objective) = &setup.objective {
            conditions.get(objective).map_err(|e| StoreError::Invalid(format!("setup.objective: {e}")))?;
        }
        let measurement = store
            .create_measurement(
                &attribute,
                NewMeasurement {
                    header: header(&route.name, "alerts routed here by ctpd's OSSEC/Wazuh feed"),
                    metric_id: metric.clone(),
                    objective: setup.objective.clone(),
                    result: None,
                    triggers_allowed: true,
                    user_activated: false,
                    state: MeasurementState::Pending,
                    access_tags: None,
                    signed_results_required: false,
                },
                ctp_model::Timestamp::now(),
                conditions,
            )
            .await?;
        report_created(&mut report, "measurement", &route.name, measurement.id);
    }
    Ok(report)
}

fn report_found(report: &mut SetupReport, kind: &'static str, name: &str, id: ResourceId) -> ResourceId {
    report.resources.push((kind, name.to_owned(), id.clone(), false));
    id
}

fn report_created(report: &mut SetupReport, kind: &'static str, name: &str, id: ResourceId) -> ResourceId {
    report.resources.push((kind, name.to_owned(), id.clone(), true));
    id
}

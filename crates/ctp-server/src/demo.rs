//! The demo data set of `ctpd serve --demo`: the cloud of a medical-device vendor that runs a
//! continuous glucose-monitoring service (an API endpoint, a patient-data store, a
//! mobile-app backend), its security measurements with objectives and first results, a
//! user-activated vulnerability scan, a dependency on its IaaS provider, and a customer
//! (a hospital), a monitoring agent and their tokens.

use std::sync::Arc;

use ctp_model::resources::{Header, Kind, MeasurementState, Ref};
use ctp_model::{
    check_result, Column, ConditionCache, Evaluations, MeasurementParameter, ResourceId, Timestamp, ValueType,
};
use ctp_store::{
    NewAccount, NewAsset, NewAttribute, NewMeasurement, NewMetric, NewTrigger, NewView, Store, StoreResult,
};

use crate::auth::{generate_token, generate_webhook_secret, token_hash};

/// The tag of the demo customer's resources.
pub const CUSTOMER_TAG: &str = "customer:st-mary-hospital";
/// The tag of the resources the demo provider's agent may push to.
pub const PROVIDER_TAG: &str = "provider:acme-diabetes-care";
/// The name of the demo service view, which marks a store as seeded.
pub const SERVICE_VIEW_NAME: &str = "GlucoCloud continuous glucose monitoring";

/// What was seeded, for the start-up message.
#[derive(Debug, Clone)]
pub struct DemoData {
    /// The service view.
    pub service_view: ResourceId,
    /// The intrusion-alert measurement (a good one to push to).
    pub intrusion_measurement: ResourceId,
    /// A fresh token of the customer account (`role:user`).
    pub customer_token: String,
    /// A fresh token of the agent account (`role:agent`).
    pub agent_token: String,
}

pub(crate) fn header(name: &str, annotation: &str) -> Header {
    Header { name: name.into(), annotation: annotation.into() }
}

pub(crate) fn columns(spec: &[(&str, ValueType)]) -> Vec<Column> {
    spec.iter().map(|(name, value_type)| Column { name: (*name).into(), value_type: *value_type }).collect()
}

pub(crate) fn parameter(name: &str, value: serde_json::Value) -> MeasurementParameter {
    let value_type = match &value {
        serde_json::Value::Bool(_) => ValueType::Boolean,
        serde_json::Value::Number(_) => ValueType::Number,
        _ => ValueType::String,
    };
    MeasurementParameter { name: name.into(), value_type, value }
}

/// One measurement to seed: attribute, metric, objective, first result.
struct Planned {
    attribute: &'static str,
    metric: usize,
    name: &'static str,
    objective: &'static str,
    result: Option<serde_json::Value>,
    user_activated: bool,
}

/// Seeds the demo data set (once: a store that has it already is left as it is) and gives
/// the demo customer and agent new tokens.
pub async fn seed(store: &Arc<dyn Store>, conditions: &Arc<ConditionCache>) -> StoreResult<DemoData> {
    let customer_token = generate_token();
    let agent_token = generate_token();
    store
        .ensure_account(NewAccount {
            id: ResourceId::parse("demo-customer").expect("valid id"),
            header: header("St Mary's Hospital (demo customer)", "a hospital using GlucoCloud"),
            account_tags: vec!["role:user".into(), CUSTOMER_TAG.into(), "account:demo-customer".into()],
            access_tags: vec!["role:admin".into()],
            token_hash: token_hash(&customer_token),
            webhook_secret: generate_webhook_secret(),
        })
        .await?;
    store
        .ensure_account(NewAccount {
            id: ResourceId::parse("demo-agent").expect("valid id"),
            header: header("Acme monitoring agent (demo)", "pushes GlucoCloud measurement results"),
            account_tags: vec!["role:agent".into(), PROVIDER_TAG.into(), "account:demo-agent".into()],
            access_tags: vec!["role:admin".into()],
            token_hash: token_hash(&agent_token),
            webhook_secret: generate_webhook_secret(),
        })
        .await?;

    for member in store.service_views().await? {
        if member.name == SERVICE_VIEW_NAME {
            let intrusion_measurement = find_intrusion_measurement(store, &member.id).await?;
            return Ok(DemoData { service_view: member.id, intrusion_measurement, customer_token, agent_token });
        }
    }
    let tags = Some(vec![CUSTOMER_TAG.to_owned(), PROVIDER_TAG.to_owned()]);
    let metrics = seed_metrics(store).await?;
    let view = store
        .create_view(
            None,
            NewView {
                header: header(SERVICE_VIEW_NAME, "Cloud service storing and processing CGM readings of patients"),
                provider: "Acme Diabetes Care".into(),
                service_class: None,
                access_tags: tags.clone(),
            },
        )
        .await?;
    store
        .create_view(
            Some(&Ref { kind: Kind::ServiceView, id: view.id.clone() }),
            NewView {
                header: header("ExampleCloud IaaS eu-west-1", "compute and block storage hosting GlucoCloud"),
                provider: "ExampleCloud".into(),
                service_class: Some("iaas".into()),
                access_tags: None,
            },
        )
        .await?;

    let now = Timestamp::now();
    let update_time = now.to_string();
    let assets = [
        ("api.glucocloud.example", "REST API endpoint receiving readings from devices and apps"),
        ("patient-data-store", "PostgreSQL cluster holding patients' glucose readings (eu-west-1)"),
        ("mobile-backend", "sync service of the iOS and Android apps"),
    ];
    let mut intrusion_measurement = None;
    for (asset_index, (asset_name, asset_annotation)) in assets.iter().enumerate() {
        let asset = store
            .create_asset(
                &view.id,
                NewAsset { header: header(asset_name, asset_annotation), asset_class: None, access_tags: None },
            )
            .await?;
        for planned in planned_measurements(asset_index, &update_time) {
            let attribute = store
                .create_attribute(&asset.id, NewAttribute { header: header(planned.attribute, ""), access_tags: None })
                .await?;
            let (metric_id, metric_columns) = &metrics[planned.metric];
            // Availability has a past: a month of daily results (issue 15's history and bars).
            let past = planned.attribute == "availability";
            let created = if past { days_before(now, HISTORY_DAYS) } else { now };
            let measurement = store
                .create_measurement(
                    &attribute.id,
                    NewMeasurement {
                        header: header(planned.name, ""),
                        metric_id: metric_id.clone(),
                        objective: Some(planned.objective.into()),
                        result: None,
                        triggers_allowed: true,
                        user_activated: planned.user_activated,
                        state: if planned.user_activated {
                            MeasurementState::Deactivated
                        } else {
                            MeasurementState::Pending
                        },
                        access_tags: None,
                        signed_results_required: false,
                    },
                    created,
                    conditions,
                )
                .await?;
            let push = |result: serde_json::Value, time: Timestamp| {
                let measurement_id = measurement.id.clone();
                async move {
                    let checked = check_result(&result.to_string(), metric_columns, time)
                        .map_err(|e| ctp_store::StoreError::Invalid(format!("demo result: {e}")))?;
                    let evaluations = Arc::new(Evaluations::none(Arc::clone(conditions)));
                    store.push_result(&measurement_id, checked, time, evaluations).await.map(drop)
                }
            };
            if past {
                for (time, percentage) in availability_history(now, asset_index) {
                    push(
                        serde_json::json!({"value": [{"percentage": percentage}], "updateTime": time.to_string()}),
                        time,
                    )
                    .await?;
                }
            }
            if let Some(result) = planned.result {
                push(result, now).await?;
            }
            if planned.attribute == "intrusion alerts" && intrusion_measurement.is_none() {
                intrusion_measurement = Some(measurement.id.clone());
                store
                    .create_trigger(
                        &view.id,
                        NewTrigger {
                            header: header("high-level intrusion alert", "OSSEC/Wazuh alert of level 10 or more"),
                            measurement_id: measurement.id.clone(),
                            condition: "select(\"level\", value).max() >= 10".into(),
                            notification: String::new(),
                            guard_time: 300.0,
                            tags: vec!["severity:high".into(), "source:ossec".into()],
                            owner_id: Some(ResourceId::parse("demo-customer").expect("valid id")),
                            owner_tags: vec!["role:user".into(), CUSTOMER_TAG.into()],
                        },
                        now,
                        Arc::new(Evaluations::none(Arc::clone(conditions))),
                    )
                    .await?;
            }
        }
    }
    Ok(DemoData {
        service_view: view.id,
        intrusion_measurement: intrusion_measurement.expect("the API asset has intrusion alerts"),
        customer_token,
        agent_token,
    })
}

async fn find_intrusion_measurement(store: &Arc<dyn Store>, view_id: &ResourceId) -> StoreResult<ResourceId> {
    for asset in store.assets(view_id).await? {
        for attribute in store.attributes(&asset.id).await? {
            if attribute.name == "intrusion alerts" {
                if let Some(first) = store.measurements(&attribute.id).await?.into_iter().next() {
                    return Ok(first.id);
                }
            }
        }
    }
    Err(ctp_store::StoreError::Invalid("the demo service view has no intrusion-alert measurement".into()))
}

/// The demo metrics, with their ids and result columns, in the order `planned_measurements` uses.
async fn seed_metrics(store: &Arc<dyn Store>) -> StoreResult<Vec<(ResourceId, Vec<Column>)>> {
    use serde_json::json;
    use ValueType::{Number, String as Text};
    let definitions = vec![
        (
            "availability",
            "Share of successful requests over the period (CSA CCM BCR-11)",
            vec![parameter("period", json!("month")), parameter("max_response_ms", json!(2000))],
            columns(&[("percentage", Number)]),
        ),
        (
            "encryption-strength-at-rest",
            "Cipher and key length protecting stored data",
            vec![],
            columns(&[("algorithm", Text), ("key_length", Number)]),
        ),
        (
            "tls-strength",
            "Protocol and symmetric key length negotiated by the endpoint",
            vec![parameter("probe", json!("testssl.sh"))],
            columns(&[("protocol", Text), ("tls_symmetric_key_length", Number)]),
        ),
        (
            "intrusion-alerts",
            "OSSEC/Wazuh alerts of the last hour: one row per alert",
            vec![parameter("window_seconds", json!(3600)), parameter("min_level", json!(3))],
            columns(&[("level", Number), ("rule", Number), ("description", Text), ("agent", Text)]),
        ),
        (
            "patch-level",
            "Security updates pending on the hosts",
            vec![],
            columns(&[("pending_security_updates", Number), ("oldest_pending_days", Number)]),
        ),
        (
            "vulnerability-scan",
            "Findings of an authenticated scan, one row per CVE",
            vec![parameter("scanner", json!("OpenVAS")), parameter("authenticated", json!(true))],
            columns(&[("cve", Text), ("cvss", Number)]),
        ),
    ];
    let mut metrics = Vec::new();
    for (name, annotation, parameters, result_format) in definitions {
        let metric = store
            .create_metric(NewMetric {
                header: header(name, annotation),
                base_metric: format!("https://ctpd.example/metrics/{name}"),
                parameters,
                result_format: result_format.clone(),
                access_tags: None,
                signed_results_required: false,
            })
            .await?;
        metrics.push((metric.id, result_format));
    }
    Ok(metrics)
}

/// How many days of past results the demo's availability measurements have.
const HISTORY_DAYS: i64 = 30;

fn days_before(now: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_millis(now.millis() - days * 86_400_000).unwrap_or(now)
}

/// A month of daily availability results of an asset, each with its time: mostly above the
/// objective (99.9 %), with two bad days, so that the dashboard's bars and shares have
/// something to show.
fn availability_history(now: Timestamp, asset_index: usize) -> Vec<(Timestamp, f64)> {
    let bad_days = [[6, 19], [11, 25], [3, 27]][asset_index.min(2)];
    (0..HISTORY_DAYS)
        .map(|day| {
            let time = days_before(now, HISTORY_DAYS - day);
            let percentage =
                if bad_days.contains(&day) { 99.62 + day as f64 / 100.0 } else { 99.93 + (day % 5) as f64 / 100.0 };
            (time, (percentage * 100.0).round() / 100.0)
        })
        .collect()
}

/// The objective of the demo's first intrusion measurement: no alert of level 10 or more,
/// and a result less than 2 minutes old.
pub const SILENCE_IS_AN_ALERT: &str =
    "select(\"level\", value).max() < 10 && timeUTC(\"now\") - timeUTC(updateTime) < 120";

fn planned_measurements(asset_index: usize, update_time: &str) -> Vec<Planned> {
    use serde_json::json;
    let availability = [99.97, 99.95, 99.99][asset_index.min(2)];
    let mut planned = vec![
        Planned {
            attribute: "availability",
            metric: 0,
            name: "monthly availability",
            objective: "value[0].percentage >= 99.9",
            result: Some(json!({"value": [{"percentage": availability}], "updateTime": update_time})),
            user_activated: false,
        },
        Planned {
            attribute: "intrusion alerts",
            metric: 3,
            name: "OSSEC alerts, last hour",
            // The first asset's also needs news: silence for 2 minutes is an alert (issue 13).
            objective: if asset_index == 0 { SILENCE_IS_AN_ALERT } else { "select(\"level\", value).max() < 10" },
            result: Some(json!({"value": [
                {"level": 5, "rule": 5715, "description": "sshd: authentication success.", "agent": "api-1"},
                {"level": 7, "rule": 5712, "description": "sshd: brute force trying to get access to the system.", "agent": "api-2"}
            ], "updateTime": update_time})),
            user_activated: false,
        },
        Planned {
            attribute: "patch level",
            metric: 4,
            name: "pending security updates",
            objective: "value[0].pending_security_updates == 0 || value[0].oldest_pending_days < 7",
            result: Some(
                json!({"value": [{"pending_security_updates": 2, "oldest_pending_days": 3}], "updateTime": update_time}),
            ),
            user_activated: false,
        },
    ];
    match asset_index {
        0 => planned.push(Planned {
            attribute: "TLS strength",
            metric: 2,
            name: "TLS of the public endpoint",
            objective:
                "value[0].tls_symmetric_key_length >= 128 && matchRegexp(\"^TLSv1\\\\.[23]$\", value[0].protocol)",
            result: Some(
                json!({"value": [{"protocol": "TLSv1.3", "tls_symmetric_key_length": 256}], "updateTime": update_time}),
            ),
            user_activated: false,
        }),
        1 => {
            planned.push(Planned {
                attribute: "encryption strength at rest",
                metric: 1,
                name: "disk encryption",
                objective: "value[0].key_length >= 256",
                result: Some(
                    json!({"value": [{"algorithm": "AES-XTS", "key_length": 512}], "updateTime": update_time}),
                ),
                user_activated: false,
            });
            planned.push(Planned {
                attribute: "vulnerabilities",
                metric: 5,
                name: "on-demand vulnerability scan",
                objective: "value.length == 0 || select(\"cvss\", value).max() < 7",
                result: None,
                user_activated: true,
            });
        }
        _ => {}
    }
    planned
}

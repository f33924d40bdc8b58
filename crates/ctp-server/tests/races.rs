//! Concurrent deletes and pushes on one subtree: every answer is a success, a 404 or a 409
//! (never a 5xx, which a deadlock between a push and a deletion would give if the store
//! let it through), and afterwards the store is consistent: what was deleted is gone with
//! everything below it, what remains is readable from every collection that lists it,
//! and no log entry or notification job of a deleted service view or dependency is left.
//!
//! Runs on SQLite, and on PostgreSQL with `CTPD_TEST_BACKEND=postgres`, where the store's
//! transactions really run at once.

use std::collections::HashSet;
use std::time::Duration;

use ctp_test_support::{id_of, link, Client, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Tasks pushing results, and pushes each.
const PUSHERS: usize = 8;
const PUSHES: usize = 20;

/// An attribute's link and those of its measurements.
type AttributeLinks = (String, Vec<String>);

/// A service view and what is below it: assets, their attributes and those attributes'
/// measurements, each with one trigger that notifies every result.
struct Subtree {
    view: String,
    assets: Vec<(String, Vec<AttributeLinks>)>,
    triggers: Vec<String>,
}

impl Subtree {
    /// Builds, under `view`, `assets` assets of two attributes of two measurements each.
    async fn build(admin: &Client, view: String, metric: &str, assets: usize) -> Subtree {
        let mut tree = Subtree { view, assets: Vec::new(), triggers: Vec::new() };
        for a in 0..assets {
            let asset = link(&admin.create(&format!("{}/assets", tree.view), json!({"name": format!("a{a}")})).await);
            let mut attributes = Vec::new();
            for b in 0..2 {
                let attribute =
                    link(&admin.create(&format!("{asset}/attributes"), json!({"name": format!("b{b}")})).await);
                let mut measurements = Vec::new();
                for m in 0..2 {
                    let measurement = link(
                        &admin
                            .create(
                                &format!("{attribute}/measurements"),
                                json!({"name": format!("m{m}"), "metric": metric, "createTrigger": true}),
                            )
                            .await,
                    );
                    let trigger = admin
                        .create(
                            &format!("{}/triggers", tree.view),
                            json!({"measurement": measurement, "condition": "value[0].level >= 0", "guardTime": 0,
                                   "notification": "https://hooks.invalid/ctp"}),
                        )
                        .await;
                    tree.triggers.push(link(&trigger));
                    measurements.push(measurement);
                }
                attributes.push((attribute, measurements));
            }
            tree.assets.push((asset, attributes));
        }
        tree
    }

    fn measurements(&self) -> impl Iterator<Item = &String> {
        self.assets.iter().flat_map(|(_, attributes)| attributes.iter().flat_map(|(_, m)| m))
    }
}

/// A request's outcome, for the assertion's message.
type Answer = (String, StatusCode, Value);

async fn push(agent: &Client, measurement: &str, level: usize) -> Answer {
    let (status, body) =
        agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": level}]}})).await;
    (format!("PUT {measurement}?x=result"), status, body)
}

async fn delete(admin: &Client, resource: &str) -> Answer {
    let (status, body) = admin.delete(resource).await;
    (format!("DELETE {resource}"), status, body)
}

/// The links of a collection's members, which must be all of them.
async fn members(client: &Client, collection: &str) -> Vec<String> {
    let body = client.get_ok(collection).await;
    assert_eq!(body["collectionLength"], body["returnedLength"], "{collection}: {body}");
    body["collection"].as_array().unwrap().iter().map(|m| m["link"].as_str().unwrap().to_owned()).collect()
}

async fn assert_gone(client: &Client, resource: &str) {
    let (status, body) = client.get(resource).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{resource} was deleted: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deletes_and_pushes_on_one_subtree_leave_no_5xx_and_a_consistent_store() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let agent = server.client(&server.account(&["role:agent", "customer:r"]).await);
    let metric = link(
        &admin
            .create(
                "metrics",
                json!({"name": "level", "baseMetric": "https://example.org/level",
                       "resultFormat": [{"name": "level", "type": "number"}]}),
            )
            .await,
    );
    // `kept` loses some attributes, a measurement, a trigger, an asset and its dependencies;
    // `doomed` is deleted whole.
    let view = json!({"name": "kept", "provider": "Acme", "accessTags": ["customer:r"]});
    let kept_view = link(&admin.create("serviceViews", view.clone()).await);
    let kept = Subtree::build(&admin, kept_view.clone(), &metric, 3).await;
    let dependency = link(&admin.create(&format!("{kept_view}/dependencies"), json!({"name": "IaaS"})).await);
    let nested = link(&admin.create(&format!("{dependency}/dependencies"), json!({"name": "PaaS"})).await);
    let doomed_view = link(&admin.create("serviceViews", view).await);
    let doomed = Subtree::build(&admin, doomed_view.clone(), &metric, 2).await;

    // A first result everywhere, so that every trigger has a log entry and a job to lose.
    let everywhere: Vec<String> = kept.measurements().chain(doomed.measurements()).cloned().collect();
    for measurement in &everywhere {
        assert_eq!(push(&agent, measurement, 1).await.1, StatusCode::OK);
    }
    let doomed_logs = members(&admin, &format!("{doomed_view}/logs")).await;
    let doomed_deliveries: Vec<String> = admin.get_ok("deliveries").await["collection"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| id_of(&d["scope"]) == id_of(&json!(doomed_view)))
        .map(|d| d["self"].as_str().unwrap().to_owned())
        .collect();
    assert!(!doomed_logs.is_empty() && !doomed_deliveries.is_empty());

    // What the deleters take, in order: from `kept`, an attribute, a measurement, a
    // trigger, an asset and the dependency; and `doomed` whole. Two of them twice at once.
    let (asset0, attributes0) = &kept.assets[0];
    let (asset1, _) = &kept.assets[1];
    let (attribute2, measurements2) = &kept.assets[2].1[0];
    let kept_measurement = &kept.assets[2].1[1].1[0];
    let deleted_attribute = &attributes0[0].0;
    let deleted_measurement = &measurements2[0];
    let deleted_trigger = &kept.triggers[kept.triggers.len() - 1];
    let deletions: Vec<Vec<String>> = vec![
        vec![deleted_attribute.clone(), deleted_measurement.clone(), asset1.clone()],
        vec![deleted_trigger.clone(), dependency.clone(), deleted_attribute.clone()],
        vec![doomed.assets[0].1[0].0.clone(), doomed_view.clone()],
        vec![doomed_view.clone()],
    ];

    let start = std::sync::Arc::new(tokio::sync::Barrier::new(PUSHERS + deletions.len()));
    let mut tasks = Vec::new();
    for pusher in 0..PUSHERS {
        let (agent, start, everywhere) = (agent.clone(), start.clone(), everywhere.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut answers = Vec::new();
            for n in 0..PUSHES {
                answers.push(push(&agent, &everywhere[(pusher * 7 + n * 3) % everywhere.len()], n).await);
            }
            answers
        }));
    }
    for (deleter, resources) in deletions.into_iter().enumerate() {
        let (admin, start) = (admin.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut answers = Vec::new();
            for resource in resources {
                tokio::time::sleep(Duration::from_millis(5 + 7 * deleter as u64)).await;
                answers.push(delete(&admin, &resource).await);
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.expect("a task ends"));
    }
    let acceptable = [StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::NOT_FOUND, StatusCode::CONFLICT];
    let wrong: Vec<&Answer> = answers.iter().filter(|(_, status, _)| !acceptable.contains(status)).collect();
    assert!(wrong.is_empty(), "{} of {} answers were not 2xx, 404 or 409: {wrong:?}", wrong.len(), answers.len());
    let pushed = answers.iter().filter(|(what, status, _)| what.starts_with("PUT") && *status == StatusCode::OK);
    assert!(pushed.count() > 0, "some pushes reached a measurement");

    // Gone, with everything below.
    let mut gone = vec![doomed_view.clone(), dependency.clone(), nested, asset1.clone(), deleted_attribute.clone()];
    gone.extend([deleted_measurement.clone(), deleted_trigger.clone()]);
    gone.extend(doomed.measurements().chain(&doomed.triggers).cloned());
    gone.extend(doomed.assets.iter().flat_map(|(asset, attributes)| {
        std::iter::once(asset.clone()).chain(attributes.iter().map(|(attribute, _)| attribute.clone()))
    }));
    gone.extend(
        kept.assets[1].1.iter().flat_map(|(attribute, measurements)| {
            std::iter::once(attribute.clone()).chain(measurements.iter().cloned())
        }),
    );
    gone.extend(attributes0[0].1.iter().cloned());
    gone.extend(doomed_logs.iter().chain(&doomed_deliveries).cloned());
    for resource in &gone {
        assert_gone(&admin, resource).await;
    }

    // What remains is readable wherever it is listed, and takes results.
    let views = members(&admin, "serviceViews").await;
    assert_eq!(views, std::slice::from_ref(&kept_view));
    assert!(members(&admin, &format!("{kept_view}/dependencies")).await.is_empty());
    let assets = members(&admin, &format!("{kept_view}/assets")).await;
    assert_eq!(assets, [asset0.clone(), kept.assets[2].0.clone()]);
    let mut measurements = HashSet::new();
    for asset in &assets {
        admin.get_ok(asset).await;
        for attribute in members(&admin, &format!("{asset}/attributes")).await {
            admin.get_ok(&attribute).await;
            for measurement in members(&admin, &format!("{attribute}/measurements")).await {
                admin.get_ok(&measurement).await;
                assert_eq!(push(&agent, &measurement, 2).await.1, StatusCode::OK, "{measurement} takes results");
                measurements.insert(measurement);
            }
        }
    }
    let expected: HashSet<String> = kept.measurements().filter(|m| !gone.contains(m)).cloned().collect();
    assert_eq!(measurements, expected);
    assert!(measurements.contains(kept_measurement));
    assert_eq!(members(&admin, &format!("{attribute2}/measurements")).await.len(), 1);
    let triggers = members(&admin, &format!("{kept_view}/triggers")).await;
    assert_eq!(triggers.len(), measurements.len() - 1, "one per measurement left, less the deleted one");
    for trigger in triggers {
        let trigger = admin.get_ok(&trigger).await;
        assert!(measurements.contains(trigger["measurement"].as_str().unwrap()), "{trigger}");
    }
    for entry in members(&admin, &format!("{kept_view}/logs")).await {
        assert_eq!(admin.get_ok(&entry).await["scope"], json!(kept_view));
    }
    for delivery in admin.get_ok("deliveries").await["collection"].as_array().unwrap() {
        let delivery = admin.get_ok(delivery["self"].as_str().unwrap()).await;
        assert_eq!(delivery["scope"], json!(kept_view), "{delivery}");
        admin.get_ok(delivery["logEntry"].as_str().unwrap()).await;
    }
}
